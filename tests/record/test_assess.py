"""``record assess``: the case as known on a date; same result as assessing the file; FHIR out."""

from __future__ import annotations

import json
from datetime import date as Date
from pathlib import Path
from typing import Any

from record_helpers import EXAMPLE

from ectocalc import service
from ectocalc.io.fhir_out import assessment_bundle
from ectocalc.record import add_files, assess_patient, case_for
from ectocalc.record._store import Store

PROVENANCE = {"case_id", "source", "input_digest"}


def _comparable(assessment: Any) -> dict[str, Any]:
    """The assessment without where it came from (file name, case id, digest of the input as
    read)."""
    return assessment.model_dump(mode="json", exclude=PROVENANCE)


def test_record_assessment_equals_the_file_assessment(store: Store) -> None:
    visit = EXAMPLE / "visit-2025-03-01.yaml"
    add_files(store, [visit])
    case = service.read_case(visit)
    direct = service.assess_case(case, as_of=case.date)
    recorded = assess_patient(store, "MRN-0042", as_of=Date(2025, 3, 1))
    assert _comparable(recorded) == _comparable(direct)
    egfr = recorded.derived.egfr_ml_min_1_73m2
    assert egfr is not None and round(egfr, 2) == 27.21


def test_as_of_leaves_out_later_results(store: Store) -> None:
    add_files(store, sorted(EXAMPLE.glob("visit-*.yaml")))
    case = case_for(store, "MRN-0042", Date(2025, 6, 1))
    assert sorted({str(lab.date) for lab in case.labs}) == ["2024-03-01", "2025-03-01"]
    assert case.patient.age_years == 65 + 92 / 365.2425  # stated age + elapsed time
    latest = assess_patient(store, "MRN-0042", as_of=Date(2025, 6, 1))
    phosphate = next(lab for lab in latest.labs if lab.analyte == "phosphate")
    assert (phosphate.canonical_value, str(phosphate.date)) == (4.9, "2025-03-01")
    earliest = case_for(store, "MRN-0042", Date(2024, 3, 1))
    assert {str(lab.date) for lab in earliest.labs} == {"2024-03-01"}


def test_fhir_bundle_is_valid_and_labs_round_trip(store: Store, db_url: str, tmp_path: Path,
                                                  run_cli) -> None:
    add_files(store, sorted(EXAMPLE.glob("visit-*.yaml")))
    result = run_cli("record", "assess", "MRN-0042", "--as-of", "2026-03-01", "--db", db_url,
                     "--format", "fhir")
    assert result.code == 0
    bundle = json.loads(result.stdout)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("DiagnosticReport") == 1 and kinds[0] == "Patient"
    by_code = {c["code"]: r for r in resources for c in r.get("code", {}).get("coding", [])}
    egfr = by_code["98979-8"]  # CKD-EPI 2021 creatinine
    creatinine = by_code["2160-0"]
    assert egfr["valueQuantity"]["value"] == 19.72
    assert egfr["derivedFrom"] == [{"reference": f"urn:uuid:{creatinine['id']}"}]
    corrected = by_code["29265-6"]
    assert len(corrected["derivedFrom"]) == 2
    path = tmp_path / "bundle.json"
    path.write_text(result.stdout)
    back = service.read_case(path)
    labs = {(lab.analyte, round(lab.canonical_value, 4)) for lab in back.labs}
    recorded = assess_patient(store, "MRN-0042", as_of=Date(2026, 3, 1), save=False)
    assessment_labs = {(lab.analyte, round(lab.canonical_value, 4)) for lab in recorded.labs}
    assert labs == assessment_labs and len(labs) == 5
    assert back.patient.id == "MRN-0042" and back.patient.sex == "female"


def test_fhir_scan_observations_use_dicom_codes() -> None:
    from ectocalc.model.scan import ScanResult

    scan = ScanResult.model_validate(json.loads((EXAMPLE / "scan-2026-03-05.json").read_text()))
    assessment = service.assess_case(service.read_case(EXAMPLE / "visit-2026-03-01.yaml"),
                                     scans=[])
    assessment = assessment.model_copy(update={"imaging": [scan]})
    bundle = assessment_bundle(assessment, patient_id="MRN-0042")
    observations = [e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"]
    dcm = {c["code"]: o for o in observations for c in o["code"].get("coding", [])
           if c["system"] == "http://dicom.nema.org/resources/ontology/DCM"}
    assert set(dcm) == {"112058", "122660", "122661"}
    assert dcm["112058"]["valueQuantity"]["value"] == 180.2
    assert dcm["112058"]["method"]["coding"][0]["code"] == "112055"
    assert dcm["122660"]["valueQuantity"]["code"] == "mm3"


def test_assess_cli_prints_fhir(run_cli) -> None:
    result = run_cli("assess", str(EXAMPLE / "visit-2024-03-01.yaml"), "--format", "fhir")
    assert result.code == 0 and json.loads(result.stdout)["resourceType"] == "Bundle"
