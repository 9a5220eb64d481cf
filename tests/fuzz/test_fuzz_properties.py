"""Property-based fuzzing (hypothesis): generated case files and bundles meet the contract,
and the error line is always one safe line."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import fuzzlib
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ectocalc.errors import MAX_LINE, InputError, one_line

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
           | st.dates(min_value=date(1, 1, 1)))
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                        max_leaves=8)
numbers = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**400), 10**400)
           | st.sampled_from([0, 9.5, 2.4, 610, 64.66, 1e-9, 1e300]) | st.booleans()
           | st.text(max_size=5))
labs = st.fixed_dictionaries({"value": numbers}, optional={
    "analyte": st.sampled_from(["calcium", "phosphate", "pth", "creatinine", "albumin",
                                "cystatin_c", "magnesium", "bogus", ""]) | st.text(max_size=8),
    "loinc": st.sampled_from(["17861-6", "2777-1", "2731-8", "0000-0", "98979-8"]),
    "unit": st.sampled_from(["mg/dL", "mmol/L", "pg/mL", "pmol/L", "g/L", "umol/L", "kg", ""]),
    "date": st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)) | st.text(max_size=10),
    "reference_range": st.lists(numbers, min_size=0, max_size=3),
    "comparator": st.sampled_from(["<", "<=", ">=", ">", "ad", "", "~"]),
})
patients = st.fixed_dictionaries({}, optional={
    "age_years": numbers, "sex": st.sampled_from(["female", "male", "other", ""]),
    "birth_date": st.dates(min_value=date(1, 1, 1)), "id": st.text(max_size=300),
    "pregnant": st.booleans() | numbers, "height_cm": numbers,
})
findings = st.fixed_dictionaries({"site": st.sampled_from(
    ["coronary arteries", "right shoulder", "skin of the forearm", "", "kidney"])}, optional={
    "size_mm": numbers, "agatston": numbers, "vessels": numbers, "modality": st.sampled_from(
        ["ct", "xray", "pet"]), "pain": st.sampled_from(["none", "severe", "extreme"]),
    "kauppila": st.dictionaries(st.sampled_from(["L1", "L2", "L5"]),
                                st.lists(numbers, max_size=3), max_size=2),
})
cases = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=20) | numbers, "date": st.dates(min_value=date(1, 1, 1)),
    "patient": patients, "labs": st.lists(labs, max_size=5),
    "conditions": st.lists(st.fixed_dictionaries({}, optional={
        "text": st.text(max_size=40), "code": st.sampled_from(["N18.6", "N18.4", "E83.52", "x"]),
        "system": st.sampled_from(["icd10cm", "snomed", "loinc"])}), max_size=3),
    "medications": st.lists(st.fixed_dictionaries({"text": st.text(max_size=30)}), max_size=3),
    "findings": st.lists(findings, max_size=3),
    "version": st.sampled_from([1, 2, True]), "extra": anything,
})


def _run(name: str, text: str) -> fuzzlib.Outcome:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        args = ["assess", str(path), "--format", "json"]
        return fuzzlib.judge(name, args, *fuzzlib.run_cli(args, timeout=60))


def _dump(case: dict[str, Any], suffix: str) -> str:
    if suffix == "yaml":
        return yaml.safe_dump(case, allow_unicode=True)
    return json.dumps(case, default=str)


@SETTINGS
@given(case=cases, suffix=st.sampled_from(["yaml", "json"]))
def test_generated_case_files_meet_the_contract(case: dict[str, Any], suffix: str) -> None:
    outcome = _run(f"case.{suffix}", _dump(case, suffix))
    assert not outcome.failed, (outcome.verdict, outcome.detail)


observations = st.fixed_dictionaries({
    "resourceType": st.just("Observation"),
    "status": st.sampled_from(["final", "amended", "cancelled", "bogus"]),
    "code": st.fixed_dictionaries({"coding": st.lists(st.fixed_dictionaries({
        "system": st.sampled_from(["http://loinc.org", "urn:local"]),
        "code": st.sampled_from(["17861-6", "2160-0", "2731-8", "3094-0", "85354-9", ""])}),
        max_size=2)}),
}, optional={
    "valueQuantity": st.fixed_dictionaries({}, optional={
        "value": numbers, "unit": st.sampled_from(["mg/dL", "pg/mL", "kg"]),
        "comparator": st.sampled_from(["<", "<=", ">=", ">", "ad", "x"]),
        "system": st.sampled_from(["http://unitsofmeasure.org", "urn:other"])}),
    "effectiveDateTime": st.sampled_from(["2026-01-01", "2099-01-01", "2026-02", "bad"]),
    "dataAbsentReason": st.just({"coding": [{"code": "error"}]}),
    "component": st.just([{"code": {"text": "systolic"}}]),
})
fhir_patients = st.fixed_dictionaries({"resourceType": st.just("Patient")}, optional={
    "id": st.sampled_from(["p1", "p2"]), "gender": st.sampled_from(["female", "male", "x"]),
    "birthDate": st.sampled_from(["1955-06-05", "2030-01-01", "1800-01-01", "1955"]),
    "identifier": st.lists(st.fixed_dictionaries({"value": st.text(max_size=5)}), max_size=2),
})
bundles = st.fixed_dictionaries({
    "resourceType": st.just("Bundle"),
    "type": st.sampled_from(["collection", "document", "transaction", "searchset", "x"]),
    "entry": st.lists(st.fixed_dictionaries({"resource": observations | fhir_patients
                                             | st.just({"resourceType": "Foo"})}),
                      max_size=5),
}, optional={"timestamp": st.sampled_from(["2026-01-02T00:00:00Z", "2020-01-01", "bad"])})


@SETTINGS
@given(bundle=bundles)
def test_generated_bundles_meet_the_contract(bundle: dict[str, Any]) -> None:
    outcome = _run("bundle.json", json.dumps(bundle, default=str))
    assert not outcome.failed, (outcome.verdict, outcome.detail)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(source=st.text(), field=st.text(), message=st.text() | st.text().map(repr))
def test_an_error_is_one_bounded_line(source: str, field: str, message: str) -> None:
    line = str(InputError(source, field, message))
    assert "\n" not in line and "\r" not in line
    assert len(line) <= MAX_LINE + 12 * 80
    assert one_line(line) == line  # already safe: escaping is idempotent on its output
