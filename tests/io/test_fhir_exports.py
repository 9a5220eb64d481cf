"""FHIR as EHRs export it: the 28 Synthea whole-life Bundles (decades of results, panels,
several results a day, Claims and Encounters by the hundred) are read and assessed without
error; what cannot be used is listed once per kind and reason with its count; same-moment
duplicates from overlapping panels are a conflict only when their values differ."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from ectocalc import service
from ectocalc.knowledge import load_knowledge
from ectocalc.model import Assessment, Case
from shared_dir import SHARED

SYNTHEA = SHARED / "fhir" / "synthea-r4"
BUNDLES = sorted(SYNTHEA.glob("*.json")) if SYNTHEA.is_dir() else []
pytestmark = pytest.mark.skipif(not BUNDLES, reason="shared Synthea Bundles missing")


@cache
def _entries(path: Path) -> list[dict]:
    return [e["resource"] for e in json.loads(path.read_text())["entry"]]


@cache
def _draws(path: Path) -> list[tuple[str, str, float]]:
    """(analyte, instant, value) of each catalogued Observation with a quantity."""
    catalogue = load_knowledge().analytes
    analyte_of = {code: entry.id for entry in catalogue.analytes.values() for code in entry.loinc}
    draws = []
    for r in _entries(path):
        if r["resourceType"] != "Observation" or "valueQuantity" not in r:
            continue
        analyte = next((analyte_of[c["code"]] for c in r["code"]["coding"]
                        if c["code"] in analyte_of), None)
        if analyte is not None:
            draws.append((analyte, r["effectiveDateTime"], r["valueQuantity"]["value"]))
    return draws


@cache
def _assessed(path: Path) -> tuple[Case, Assessment]:
    """Read and assess once per Bundle (both tests below use them)."""
    case = service.read_case(path)
    return case, service.assess_case(case, scans=[])


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name.split("_")[0])
def test_every_synthea_bundle_is_read_and_assessed(path: Path) -> None:
    resources = _entries(path)
    case, assessment = _assessed(path)
    # every Observation with a catalogue LOINC and a quantity is read, a repeat of the same
    # draw (same analyte, instant and value from an overlapping panel) once
    usable = _draws(path)
    assert len(case.labs) == len(set(usable))
    # the skipped list: a handful of lines, each kind and reason once, counts adding up
    skipped = assessment.skipped_inputs
    assert 0 < len(skipped) <= 12, skipped
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    counted = 0
    for line in skipped:
        grouped = re.match(r"Observation, (\d+) entries: ", line)
        counted += int(grouped.group(1)) if grouped else line.startswith("entry[")
    assert counted == len(observations) - len(set(usable))
    reasons = [re.sub(r"^Observation, \d+ entries: ", "", line).split(":")[0]
               for line in skipped if line.startswith("Observation, ")]
    assert len(set(reasons)) == len(reasons)
    not_read = skipped[-1]
    kinds = defaultdict(int)
    for r in resources:
        if r["resourceType"] not in {"Patient", "Observation", "Condition",
                                     "MedicationRequest", "MedicationStatement", "Medication"}:
            kinds[r["resourceType"]] += 1
    assert not_read == "not read: " + ", ".join(f"{n} {k}" for k, n in kinds.items())


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name.split("_")[0])
def test_same_moment_duplicates_are_conflicts_only_when_they_differ(path: Path) -> None:
    """Overlapping panels (a Basic Metabolic Panel and a Comprehensive one drawn together)
    report the same analyte at the same moment: agreeing values are one result, differing
    values are a visible conflict."""
    catalogue = load_knowledge().analytes
    analyte_of = {code: entry.id for entry in catalogue.analytes.values() for code in entry.loinc}
    moments: dict[tuple[str, str], set[float]] = defaultdict(set)
    for r in _entries(path):
        if r["resourceType"] != "Observation" or "valueQuantity" not in r:
            continue
        analyte = next((analyte_of[c["code"]] for c in r["code"]["coding"]
                        if c["code"] in analyte_of), None)
        if analyte is not None:
            moments[(analyte, r["effectiveDateTime"])].add(r["valueQuantity"]["value"])
    differing = sum(len(values) > 1 for values in moments.values())
    conflicts = [a for a in _assessed(path)[1].alerts if a.id == "lab_conflict"]
    assert len(conflicts) == differing


def test_overlapping_panels_that_agree_are_one_result_and_no_conflict() -> None:
    """Coleman Ortiz's record holds same-moment repeats from overlapping panels: each draw is
    read once (a repeat would count twice towards "persistently high"), the repeats are
    listed, and nothing is a conflict."""
    path = next(p for p in BUNDLES if p.name.startswith("Coleman_Ortiz"))
    draws = _draws(path)
    repeats = len(draws) - len(set(draws))
    assert repeats > 0
    case, assessment = _assessed(path)
    assert len({(lab.analyte, lab.taken_at, lab.value) for lab in case.labs}) == len(case.labs)
    line = next(s for s in case.skipped if "the same result at the same moment" in s)
    assert line.startswith(f"Observation, {repeats} entries: " if repeats > 1 else "entry[")
    assert not [a for a in assessment.alerts if a.id == "lab_conflict"]


@pytest.mark.parametrize("name", ["Fabian_Murray", "Louis_Maggio"])
def test_record_add_takes_a_whole_life_bundle(run_cli, tmp_path: Path, name: str) -> None:
    path = next(p for p in BUNDLES if p.name.startswith(name))
    db = f"sqlite:///{tmp_path / 'record.db'}"
    added = run_cli("record", "add", path, "--db", db)
    assert added.code == 0, added.stderr
    patient = next(r for r in _entries(path) if r["resourceType"] == "Patient")
    key = patient["identifier"][0]["value"]
    shown = run_cli("record", "show", key, "--db", db, "--format", "json")
    assert shown.code == 0, shown.stderr
    creatinine = [r for r in _entries(path) if r["resourceType"] == "Observation"
                  and any(c["code"] == "38483-4" for c in r["code"]["coding"])]
    series = json.loads(shown.stdout)["series"]
    moments = {r["effectiveDateTime"][:10] for r in creatinine}
    assert len(series.get("creatinine", [])) >= len(moments) > 0
    again = run_cli("record", "add", path, "--db", db)
    assert again.code == 0


def test_differing_results_of_one_moment_are_not_acute_kidney_injury() -> None:
    """Renea Quigley's last creatinines come from two panels of one moment with different
    values (a conflict); no earlier creatinine is within 7 days, so KDIGO's AKI criteria
    (a rise of 0.3 mg/dL in 48 h, 1.5 x in 7 days) cannot be met."""
    path = next(p for p in BUNDLES if p.name.startswith("Renea_Quigley"))
    creatinine = sorted((datetime.fromisoformat(r["effectiveDateTime"]),
                         r["valueQuantity"]["value"]) for r in _entries(path)
                        if r["resourceType"] == "Observation"
                        and {c["code"] for c in r["code"]["coding"]} & {"38483-4", "2160-0"})
    last = creatinine[-1][0]
    at_last = {v for when, v in creatinine if when == last}
    earlier = [when for when, _ in creatinine if when < last]
    assert len(at_last) == 2 and (last - max(earlier)).days > 7
    assessment = _assessed(path)[1]
    assert assessment.derived.acute_kidney_injury is None
    assert "acute_kidney_injury" not in {a.id for a in assessment.alerts}
    assert any(a.id == "lab_conflict" and a.message.startswith("Creatinine")
               for a in assessment.alerts)
