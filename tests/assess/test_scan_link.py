"""A case's CT is quantified and its lesions join the findings before reasoning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ectocalc.datasets import write_phantom


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phantom")
    write_phantom(out, seed=3)
    return out


def test_case_scan_lesions_join_the_assessment(run_cli, phantom_dir: Path,
                                               tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(
        "patient: {age_years: 58, sex: male}\n"
        "labs: [{analyte: calcium, value: 9.4, unit: mg/dL},"
        " {analyte: phosphate, value: 3.6, unit: mg/dL}]\n"
        f"scans: [{{path: {phantom_dir / 'dicom'}, date: 2026-10-02}}]\n")
    result = run_cli("assess", case, "--format", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    truth = json.loads((phantom_dir / "truth.json").read_text())
    nodules = [o for o in truth["objects"] if o["kind"] == "skin_nodule"]
    (scan,) = doc["imaging"]
    assert scan["convention"] == "agatston-1990"
    cutaneous = [lesion for lesion in scan["lesions"] if lesion["type"] == "cutaneous"]
    assert len(cutaneous) == len(nodules)
    # The CT lesions reach the reasoning: cutaneous and soft-tissue types are reported.
    type_ids = {t["id"] for t in doc["types"]}
    assert {"cutaneous", "soft_tissue"} <= type_ids
    assert any("ct" in " ".join(t["evidence"]).lower() for t in doc["types"])


def test_missing_scan_path_is_named(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("scans: [{path: nowhere/ct}]\n")
    result = run_cli("assess", case)
    assert result.code == 2
    assert result.stderr.startswith(f"error: {case}: scans[0].path: ")
