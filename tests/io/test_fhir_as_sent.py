"""FHIR as EHRs send it: real bundles from /work/shared/cases and bundles of the same kinds.

What the assessment cannot use is skipped and listed; comparators stay with their values;
medicationReference is resolved; every Bundle type loads; a refusal names entry and element.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ectocalc.errors import InputError
from ectocalc.io.case_file import load_case
from shared_dir import REAL

UNSUPPORTED = REAL / "05_fhir_unsupported_loinc"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="shared real cases not mounted")

PATIENT = {"resourceType": "Patient", "id": "pat-1", "gender": "female",
           "birthDate": "1955-06-05",
           "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-77"}]}


def _obs(code: str, value: float | None, unit: str = "mg/dL", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": "2026-01-01T09:00:00Z", **extra}
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit,
                                     "system": "http://unitsofmeasure.org", "code": unit}
    return resource


def _bundle(*resources: dict[str, Any], kind: str = "collection",
            **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "timestamp": "2026-01-02T00:00:00Z",
            "entry": [{"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                       "resource": copy.deepcopy(r)}
                      for i, r in enumerate(resources)], **extra}


def _load(tmp_path: Path, bundle: dict[str, Any]):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return load_case(path)


def _refusal(tmp_path: Path, bundle: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as caught:
        _load(tmp_path, bundle)
    return caught.value


@needs_real
@pytest.mark.parametrize(("name", "skipped"), [
    ("minimal_bun_creatinine.json",
     ["entry[1] Observation 3094-0 'Urea nitrogen [Mass/volume] in Serum or Plasma': "
      "not in the analyte catalogue"]),
    ("minimal_lab_egfr_98979-8.json", ["entry[2] Observation 98979-8"]),
    ("minimal_bp_panel_creatinine.json",
     ["entry[2] Observation 85354-9 'Blood pressure panel with all children optional': "
      "a panel of components"]),
    ("dataabsent_calcium.json", ["entry[3] Observation 17861-6"]),
])
def test_real_minimal_bundles_skip_and_list(name: str, skipped: list[str]) -> None:
    case = load_case(UNSUPPORTED / name)
    assert [(lab.analyte, lab.value, lab.unit) for lab in case.labs
            if lab.analyte == "creatinine"] == [("creatinine", 1.88, "mg/dL")]
    assert len(case.skipped) == len(skipped)
    for line, start in zip(case.skipped, skipped, strict=True):
        assert line.startswith(start)
    assert case.patient.id == "6D367230"  # Patient.identifier[0].value
    assert case.patient.age_years == pytest.approx(70.58, abs=0.005)  # at 2026-01-01


@needs_real
def test_real_data_absent_reason_is_named() -> None:
    case = load_case(UNSUPPORTED / "dataabsent_calcium.json")
    assert [lab.value for lab in case.labs if lab.analyte == "calcium"] == [9.1]
    assert case.skipped[0].endswith("no value (dataAbsentReason error)")


@needs_real
def test_real_comparator_is_kept_and_shown(run_cli) -> None:
    case = load_case(UNSUPPORTED / "comparator_pth.json")
    pth = next(lab for lab in case.labs if lab.analyte == "pth")
    assert (pth.comparator, pth.value, pth.unit) == ("<", 3.0, "pg/mL")
    doc = json.loads(run_cli("assess", UNSUPPORTED / "comparator_pth.json", "-f", "json").stdout)
    report = next(lab for lab in doc["labs"] if lab["analyte"] == "pth")
    assert (report["comparator"], report["value"], report["flag"]) == ("<", 3.0, "low")
    text = run_cli("assess", UNSUPPORTED / "comparator_pth.json", "-f", "text").stdout
    assert "< 3 pg/mL" in text


@needs_real
def test_real_care_bundle_assesses_and_lists_what_it_did_not_use(run_cli) -> None:
    result = run_cli("assess", UNSUPPORTED / "carebundle_ckd3.json", "-f", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"calcium", "albumin", "creatinine", "alkaline_phosphatase",
            "urine_albumin_creatinine_ratio"} <= {lab["analyte"] for lab in doc["labs"]}
    skipped = doc["skipped_inputs"]
    # the 22 Observations outside the catalogue: one line, each code once with its entry
    outside = [s for s in skipped if "not in the analyte catalogue" in s]
    assert len(outside) == 1 and outside[0].startswith("Observation, 22 entries: ")
    assert "3094-0 'Urea nitrogen [Mass/volume] in Serum or Plasma' (entry[13])" in outside[0]
    assert "98979-8 'Glomerular filtration rate" in outside[0]  # the laboratory's eGFR
    assert "(entry[15])" in outside[0] and "and 10 other codes" in outside[0]
    assert any(s.startswith("entry[40] Observation 85354-9") and "panel of components" in s
               for s in skipped)
    assert skipped[-1] == "not read: 1 Practitioner, 1 Encounter, 5 DiagnosticReport"
    assert doc["derived"]["egfr_equation"].startswith("CKD-EPI 2021")  # ours, not the lab's
    text = run_cli("assess", UNSUPPORTED / "carebundle_ckd3.json").stdout
    assert "Inputs not used" in text and "3094-0" in text
    html = run_cli("assess", UNSUPPORTED / "carebundle_ckd3.json", "-f", "html").stdout
    assert "<h2>Inputs not used</h2>" in html
    assert "3094-0 &#39;Urea nitrogen [Mass/volume] in Serum or Plasma&#39; (entry[13])" in html


@needs_real
def test_real_ips_document_resolves_medication_reference(run_cli) -> None:
    path = REAL / "10_fhir_ips_medication_reference" / "ips_be_bundle01.json"
    case = load_case(path)
    assert [(m.text, m.present) for m in case.medications] == [("aspirin", True)]
    assert case.patient.id == "etpatient0001" and case.patient.sex == "female"
    assert case.patient.age_years == pytest.approx(38.0, abs=0.01)  # at Bundle.timestamp
    assert case.id == "IPS-examples-Bundle-01"
    assert run_cli("assess", path, "-f", "json").code == 0


def test_medication_reference_contained_bundled_and_display(tmp_path: Path) -> None:
    med = {"resourceType": "Medication", "id": "m1", "code": {"coding": [{
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "855332",
        "display": "warfarin sodium 5 MG Oral Tablet"}]}}
    contained = {"resourceType": "MedicationStatement", "status": "active",
                 "contained": [{**med, "id": "c1"}],
                 "medicationReference": {"reference": "#c1"},
                 "subject": {"reference": "Patient/pat-1"}}
    bundled = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
               "medicationReference": {"reference": "Medication/m1"},
               "subject": {"reference": "Patient/pat-1"}}
    by_url = {**bundled, "medicationReference": {
        "reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}}
    display = {**bundled, "medicationReference": {"reference": "Medication/absent",
                                                  "display": "calcitriol"}}
    nothing = {**bundled, "medicationReference": {"reference": "Medication/absent"}}
    case = _load(tmp_path, _bundle(PATIENT, med, contained, bundled, by_url, display, nothing))
    assert [(m.text, m.code, m.system) for m in case.medications] == [
        ("warfarin sodium 5 MG Oral Tablet", "855332", "rxnorm")] * 3 + [
        ("calcitriol", None, None)]
    assert case.skipped == ["entry[6] MedicationRequest: the medication is not identified "
                            "(no text, coding, resolvable reference or display)"]


@pytest.mark.parametrize("kind", ["collection", "transaction", "searchset", "document",
                                  "batch"])
def test_every_bundle_type_loads(tmp_path: Path, kind: str) -> None:
    resources: list[dict[str, Any]] = [PATIENT, _obs("17861-6", 9.4)]
    if kind == "document":
        resources.insert(0, {"resourceType": "Composition", "status": "final",
                             "type": {"coding": [{"system": "http://loinc.org",
                                                  "code": "60591-5"}]},
                             "date": "2026-01-02", "author": [{"display": "x"}],
                             "title": "Patient summary"})
    if kind == "searchset":
        resources.append({"resourceType": "OperationOutcome", "issue": [
            {"severity": "information", "code": "informational"}]})
    bundle = _bundle(*resources, kind=kind)
    if kind in {"transaction", "batch"}:
        for entry in bundle["entry"]:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    case = _load(tmp_path, bundle)
    assert [(lab.analyte, lab.value) for lab in case.labs] == [("calcium", 9.4)]
    assert case.patient.id == "MRN-77"
    not_read = {"document": ["not read: 1 Composition"],
                "searchset": ["not read: 1 OperationOutcome"]}
    assert case.skipped == not_read.get(kind, [])


def test_synthea_blood_codes_are_catalogued(tmp_path: Path) -> None:
    case = _load(tmp_path, _bundle(PATIENT, _obs("49765-1", 9.2), _obs("38483-4", 1.3),
                                   _obs("6298-4", 4.1, "mmol/L"), _obs("2947-0", 140, "mmol/L"),
                                   _obs("2069-3", 104, "mmol/L"), _obs("20565-8", 24, "mmol/L"),
                                   _obs("33914-3", 52, "mL/min/{1.73_m2}")))
    assert [lab.analyte for lab in case.labs] == [
        "calcium", "creatinine", "potassium", "sodium", "chloride", "bicarbonate"]
    assert case.skipped == ["entry[7] Observation 33914-3: not in the analyte catalogue"]


def test_patient_identity_falls_back_to_id(tmp_path: Path) -> None:
    patient = {k: v for k, v in PATIENT.items() if k != "identifier"}
    assert _load(tmp_path, _bundle(patient)).patient.id == "pat-1"


@pytest.mark.parametrize("comparator", ["<", "<=", ">=", ">"])
def test_comparators_kept(tmp_path: Path, comparator: str) -> None:
    obs = _obs("2731-8", 3, "pg/mL")
    obs["valueQuantity"]["comparator"] = comparator
    lab = _load(tmp_path, _bundle(PATIENT, obs)).labs[0]
    assert (lab.comparator, lab.value) == (comparator, 3.0)


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda b: b["entry"][1]["resource"]["valueQuantity"].update(comparator="ad"),
     "entry[1].resource.valueQuantity.comparator", "'ad' is not one of <, <=, >=, >"),
    (lambda b: b["entry"].append({"resource": {**PATIENT, "identifier": [{"value": "B"}]}}),
     "entry[2].resource", "a second Patient (the first is entry[0].resource)"),
    (lambda b: b["entry"][0]["resource"].update(birthDate="2030-01-01"),
     "entry[0].resource.birthDate", "2030-01-01 is after the bundle's date 2026-01-02"),
    (lambda b: b["entry"][0]["resource"].update(birthDate="1800-01-01"),
     "entry[0].resource.birthDate", "more than 130 years before"),
    (lambda b: b["entry"][1]["resource"].update(effectiveDateTime="2099-01-01"),
     "entry[1].resource.effectiveDateTime", "2099-01-01 is after Bundle.timestamp 2026-01-02"),
    (lambda b: b["entry"].append({"resource": {"resourceType": "Foo", "id": "x"}}),
     "entry[2].resource.resourceType", "'Foo' is not a FHIR R4 resource type"),
    (lambda b: b["entry"][0]["resource"].update(contained=[{"resourceType": "Bar"}]),
     "entry[0].resource.contained[0].resourceType", "'Bar' is not a FHIR R4 resource type"),
])
def test_refusals_name_the_fhir_element(tmp_path: Path, change, field: str,
                                        words: str) -> None:
    bundle = _bundle(PATIENT, _obs("17861-6", 9.4))
    change(bundle)
    error = _refusal(tmp_path, bundle)
    assert (error.field, words in error.message) == (field, True), str(error)


def test_same_patient_twice_is_one_patient(tmp_path: Path) -> None:
    case = _load(tmp_path, _bundle(PATIENT, _obs("17861-6", 9.4), PATIENT))
    assert case.patient.id == "MRN-77"


def test_observations_without_usable_value_are_listed(tmp_path: Path) -> None:
    coded = {**_obs("72166-2", None), "valueCodeableConcept": {"text": "Never smoker"}}
    local = {**_obs("17861-6", 9.0), "code": {"coding": [{"system": "urn:local", "code": "CA"}],
                                              "text": "Calcium"}}
    cancelled = {**_obs("17861-6", 12.0), "status": "cancelled"}
    panel = {**_obs("55284-4", None), "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
         "valueQuantity": {"value": 150, "unit": "mm[Hg]"}}]}
    absent = {**_obs("2777-1", None), "dataAbsentReason": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        "code": "not-performed"}]}}
    bun = _obs("6299-2", 18)
    case = _load(tmp_path, _bundle(PATIENT, coded, local, cancelled, panel, absent, bun))
    assert case.labs == []
    assert case.skipped == [
        "entry[1] Observation 72166-2: no numeric value (valueQuantity)",
        "entry[2] Observation 'Calcium': no LOINC code",
        "entry[3] Observation 17861-6: status cancelled",
        "entry[4] Observation 55284-4: a panel of components (e.g. blood pressure), not read",
        "entry[5] Observation 2777-1: no value (dataAbsentReason not-performed)",
        "entry[6] Observation 6299-2: not in the analyte catalogue",
    ]


@pytest.mark.parametrize(("status", "current"), [
    ("resolved", False), ("inactive", False), ("remission", False), ("active", True)])
def test_condition_clinical_status_past_is_not_current(tmp_path: Path, status: str,
                                                       current: bool) -> None:
    """A Condition whose clinicalStatus is resolved, inactive or in remission is history: a
    resolved hypercalcaemia is not evidence for a current one."""
    from ectocalc.knowledge import load_knowledge
    from ectocalc.reasoning.concepts import recognise

    condition = {"resourceType": "Condition", "subject": {"reference": "Patient/pat-1"},
                 "clinicalStatus": {"coding": [{
                     "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                     "code": status}]},
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                      "code": "E83.52"}], "text": "Hypercalcemia"}}
    case = _load(tmp_path, _bundle(PATIENT, condition))
    (read,) = case.conditions
    assert read.past is not current
    mentions = [m for m in recognise(case, knowledge=load_knowledge())
                if m.id == "hypercalcaemia"]
    assert mentions and all(m.present is current for m in mentions)


def test_25_hydroxyvitamin_d3_code_is_read_as_25ohd(tmp_path: Path) -> None:
    case = _load(tmp_path, _bundle(PATIENT, _obs("1989-3", 14.0, "ng/mL")))
    assert [(lab.analyte, lab.value) for lab in case.labs] == [("vitamin_d_25oh", 14.0)]
