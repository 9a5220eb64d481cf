"""Case files and FHIR bundles: what loads, what is refused and how it is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ectocalc.errors import InputError
from ectocalc.io.case_file import load_case

CASES = Path(__file__).resolve().parents[2] / "examples" / "cases"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fhir_bundle_and_case_file_give_the_same_case() -> None:
    fhir = load_case(CASES / "ckd4-fhir.json")
    yaml_case = load_case(CASES / "ckd4.yaml")
    assert (fhir.id, yaml_case.id) == ("ckd4-fhir", "ckd4")
    where = {"source": True, "id": True, "labs": {"__all__": {"input_ref"}}}  # file-specific
    assert fhir.model_dump(exclude=where) == yaml_case.model_dump(exclude=where)
    assert fhir.patient.id == "p1"  # Patient.id: the bundle gives no Patient.identifier
    assert fhir.patient.age_years == pytest.approx(71.43, abs=0.01)
    assert [c.system for c in fhir.conditions] == ["icd10cm", "snomed"]


def test_age_from_birth_date() -> None:
    case = load_case(CASES / "ckd4.yaml")
    assert case.patient.age_years == pytest.approx((2026 - 1955) + (156 / 365.2425), abs=0.01)


@pytest.mark.parametrize(
    ("name", "text", "field", "words"),
    [
        ("bad.yaml", "patient: {age_years: 60, sex: male\nlabs: []\n", "", "malformed YAML"),
        ("bad.json", '{"patient": {"age_years": 60,}}', "", "malformed JSON"),
        ("list.yaml", "- 1\n- 2\n", "", "must be a mapping"),
        ("sex.yaml", "patient: {age_years: 60, sex: unknown}\n", "patient.sex",
         "'female' or 'male'"),
        ("extra.yaml", "patient: {age_years: 60, sex: male}\nweight: 80\n", "weight",
         "unknown field"),
        ("labkey.yaml", "labs: [{analyte: calcium, value: 9, unit: mg/dL, units: x}]\n",
         "labs[0].units", "unknown field"),
        ("novalue.yaml", "labs: [{analyte: calcium, unit: mg/dL}]\n", "labs[0].value", "missing"),
        ("pain.yaml", "findings: [{site: shoulder, pain: extreme}]\n", "findings[0].pain",
         "Input should be"),
        ("size.yaml", "findings: [{site: shoulder, size_mm: -3}]\n", "findings[0].size_mm",
         "greater than 0"),
        ("date.yaml", "labs: [{analyte: calcium, value: 9, unit: mg/dL, date: yesterday}]\n",
         "labs[0].date", "not a date"),
        ("version.yaml", "version: 2\n", "version", "unsupported case version"),
        ("txt.txt", "patient: {}\n", "", "expected a .json, .yaml or .yml"),
    ],
)
def test_bad_case_files(tmp_path: Path, name: str, text: str, field: str, words: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(InputError) as caught:
        load_case(path)
    assert caught.value.source == str(path)
    assert caught.value.field == field
    assert words in caught.value.message


def _bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-01-01T00:00:00Z",
            "entry": [{"resource": r} for r in resources]}


PATIENT = {"resourceType": "Patient", "id": "x", "gender": "male", "birthDate": "1966-01-01"}


def _observation(code: str, value: object, unit: str = "mg/dL") -> dict:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": unit,
                              "system": "http://unitsofmeasure.org", "code": unit}}


@pytest.mark.parametrize(
    ("resources", "field", "words"),
    [
        ((PATIENT, _observation("17861-6", 1, "kg")), "entry[1].resource.valueQuantity.code",
         "not convertible"),
        ((PATIENT, _observation("17861-6", 95)), "entry[1].resource.valueQuantity.value",
         "physiologically impossible"),
        ((PATIENT, {"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "17861-6"}]},
                    "valueQuantity": {"value": "abc"}}),
         "entry[1].resource.valueQuantity.value", ""),
    ],
)
def test_bad_fhir_bundles(tmp_path: Path, resources: tuple[dict, ...], field: str,
                          words: str) -> None:
    path = _write(tmp_path, "bundle.json", json.dumps(_bundle(*resources)))
    with pytest.raises(InputError) as caught:
        load_case(path)
    assert caught.value.field == field
    assert words in caught.value.message


def test_fhir_statuses(tmp_path: Path) -> None:
    refuted = {"resourceType": "Condition", "subject": {"reference": "Patient/x"},
               "verificationStatus": {"coding": [{
                   "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                   "code": "refuted"}]},
               "code": {"text": "chronic kidney disease"}}
    not_taken = {"resourceType": "MedicationStatement", "status": "not-taken",
                 "subject": {"reference": "Patient/x"},
                 "medicationCodeableConcept": {"text": "warfarin"}}
    cancelled = {**_observation("17861-6", 12.0), "status": "cancelled"}
    path = _write(tmp_path, "b.json", json.dumps(_bundle(PATIENT, refuted, not_taken, cancelled)))
    case = load_case(path)
    assert [c.present for c in case.conditions] == [False]
    assert [m.present for m in case.medications] == [False]
    assert case.labs == []
    assert case.patient.age_years == pytest.approx(60.0, abs=0.01)
