"""The Python API for notebooks: top-level names, lazily imported, and pandas tables."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date as Date
from pathlib import Path

import pandas as pd
import pytest

import ectocalc
from ectocalc.errors import InputError
from ectocalc.knowledge import Knowledge

REPO = Path(__file__).resolve().parents[2]
CKD4 = REPO / "examples" / "cases" / "ckd4.yaml"
RECORD = REPO / "examples" / "record"


def test_import_ectocalc_loads_nothing_else() -> None:
    code = ("import json, sys, ectocalc; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ectocalc'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == ["ectocalc", "ectocalc._version"]
    assert {"assess", "load_case", "quantify", "Record", "load_knowledge"} <= set(dir(ectocalc))


def test_top_level_assess_is_the_service_assessment() -> None:
    from ectocalc import service

    by_path = ectocalc.assess(CKD4, as_of="2026-09-15")
    by_case = ectocalc.assess(ectocalc.load_case(CKD4), as_of=Date(2026, 9, 15))
    expected = service.assess_file(CKD4, as_of=Date(2026, 9, 15))
    assert by_path == by_case == expected
    assert by_path.derived.ckd_stage == "G4"
    import ectocalc.assess as core  # the core module stays importable and patchable

    assert callable(ectocalc.assess) and core.known_on(None, None)
    assert ectocalc.assess(CKD4).derived.ckd_stage == "G4"


def test_a_bad_as_of_is_one_clear_error() -> None:
    with pytest.raises(InputError, match=r"as_of: not a date \(YYYY-MM-DD\): '2026-02-30'"):
        ectocalc.assess(CKD4, as_of="2026-02-30")


def test_load_knowledge_is_the_packaged_bundle() -> None:
    knowledge = ectocalc.load_knowledge()
    assert isinstance(knowledge, Knowledge)
    assert ectocalc.assess(CKD4, knowledge=knowledge).knowledge_version == knowledge.version


def test_assessment_to_frame() -> None:
    frame = ectocalc.assess(CKD4).to_frame()
    labs = frame[frame.section == "lab"].set_index("quantity")
    # ckd4.yaml: phosphate 5.1 mg/dL against the laboratory's 2.5-4.5; calcium 8.4 vs 8.6-10.2
    assert (labs.loc["phosphate", "value"], labs.loc["phosphate", "flag"]) == (5.1, "high")
    assert (labs.loc["calcium", "reference_low"], labs.loc["calcium", "flag"]) == (8.6, "low")
    derived = frame[frame.section == "derived"].set_index("quantity")
    # albumin 33 g/L = 3.3 g/dL: 8.4 + 0.8 x (4.0 - 3.3) = 8.96 mg/dL, at full precision
    assert derived.loc["corrected_calcium_mg_dl", "value"] == pytest.approx(8.96, abs=1e-9)
    assert derived.loc["corrected_calcium_mg_dl", "unit"] == "mg/dL"


def test_scan_lesions_frame(tmp_path: Path) -> None:
    from ectocalc.datasets import write_phantom

    write_phantom(tmp_path / "ph", anatomy=False, rows=128, columns=128, slices=20)
    scan = ectocalc.quantify(tmp_path / "ph" / "dicom")
    frame = scan.lesions_frame()
    assert len(frame) == len(scan.lesions) > 0
    assert frame.agatston.sum() == pytest.approx(sum(x.agatston for x in scan.lesions))
    assert frame.z_mm.tolist() == [x.centroid_mm[2] for x in scan.lesions]
    assert set(frame.type) <= {"vascular", "periarticular", "cutaneous", "visceral",
                               "soft_tissue"}


def test_record_series_frame_agrees_with_the_view(tmp_path: Path) -> None:
    files = [*sorted(RECORD.glob("visit-*.yaml")), *sorted(RECORD.glob("scan-*.json"))]
    with ectocalc.Record(f"sqlite:///{tmp_path / 'r.db'}") as record:
        assert [r.status for r in record.add(files, patient_id="MRN-0042")] == ["added"] * 5
        frame = record.series_frame("MRN-0042", as_of="2026-11-30")
        assessment = record.assess("MRN-0042", as_of="2026-11-30")
        assert [p["id"] for p in record.patients()] == ["MRN-0042"]
    assert pd.api.types.is_datetime64_any_dtype(frame.date)
    phosphate = frame[frame.series == "phosphate"]
    # 4.2 and 4.9 mg/dL, then 1.81 mmol/L = 5.6056 mg/dL; adult range 2.5-4.5
    assert phosphate.value.round(4).tolist() == [4.2, 4.9, 5.6056]
    assert phosphate.flag.tolist() == ["normal", "high", "high"]
    cac = frame[frame.series == "cac_agatston"]
    assert cac.value.tolist() == [100.0, 180.2] and set(cac.unit) == {"Agatston"}
    latest = frame[frame.series == "egfr"].iloc[-1]
    assert latest.value == assessment.derived.egfr_ml_min_1_73m2
