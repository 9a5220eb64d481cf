"""``record add``: case files, FHIR Bundles and scan results; idempotent; bad files add nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from record_helpers import EXAMPLE, case_text
from sqlalchemy import func, select

from ectocalc.record import add_files
from ectocalc.record._schema import IdentifierRow, LabRow, PatientRow, ScanRow, SourceRow
from ectocalc.record._store import Store


def _count(store: Store, table: Any) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_example_visits_go_in_once(store: Store) -> None:
    files = sorted(EXAMPLE.glob("visit-*.yaml"))
    assert [r.status for r in add_files(store, files)] == ["added"] * 3
    counts = _count(store, PatientRow), _count(store, LabRow), _count(store, SourceRow)
    assert counts == (1, 15, 3)
    assert [r.status for r in add_files(store, files)] == ["unchanged"] * 3
    assert _count(store, LabRow) == 15


def test_same_content_in_another_format_changes_nothing(store: Store, tmp_path: Path) -> None:
    import yaml

    visit = EXAMPLE / "visit-2024-03-01.yaml"
    as_json = tmp_path / "visit.json"
    as_json.write_text(json.dumps(yaml.safe_load(visit.read_text()), default=str))
    assert add_files(store, [visit])[0].status == "added"
    assert add_files(store, [as_json])[0].status == "unchanged"
    assert _count(store, LabRow) == 5


def test_a_bad_file_adds_nothing_the_others_go_in(store: Store, db_url: str, tmp_path: Path,
                                                   run_cli) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(case_text("P-1", "2026-01-10", [("phosphate", 5.1, "mg/dL")]))
    bad = tmp_path / "bad.yaml"  # first lab fine, second impossible: nothing of it may go in
    bad.write_text(case_text("P-2", "2026-01-10", [("calcium", 9.5, "mg/dL"),
                                                   ("phosphate", 500, "mg/dL")]))
    result = run_cli("record", "add", str(good), str(bad), "--db", db_url)
    assert result.code == 2
    assert f"error: {bad}: labs[1].value" in result.stderr
    assert f"(failed: {bad})" in result.stderr and f"added: {good}" in result.stdout
    with store.session() as session:
        assert list(session.scalars(select(PatientRow.key))) == ["P-1"]
        assert session.scalar(select(func.count()).select_from(LabRow)) == 1


def test_undated_case_is_refused(store: Store, tmp_path: Path) -> None:
    case = tmp_path / "undated.yaml"
    case.write_text("patient: {id: P-9, age_years: 50, sex: male}\n"
                    "labs: [{analyte: calcium, value: 9.5, unit: mg/dL}]\n")
    result = add_files(store, [case])[0]
    assert result.status == "failed" and "date" in (result.error or "")
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("date: 2026-01-01\npatient: {age_years: 50, sex: male}\n")
    assert "patient.id" in (add_files(store, [nameless])[0].error or "")


def _observation(ref: str, loinc: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": ref}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                              "code": unit}}


def two_patient_bundle(kind: str) -> dict[str, Any]:
    """A Bundle with two patients (urn:uuid references, as in a transaction)."""
    entries = []
    for n, (mrn, phosphate) in enumerate((("MRN-A", 5.5), ("MRN-B", 3.1))):
        url = f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"
        entries.append({"fullUrl": url, "resource": {
            "resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.3", "value": mrn}],
            "gender": "female", "birthDate": "1960-05-01"}})
        entries.append({"fullUrl": f"urn:uuid:10000000-0000-4000-8000-00000000000{n}",
                        "resource": _observation(url, "2777-1", phosphate, "mg/dL",
                                                 "2026-01-10")})
    if kind == "transaction":
        for entry in entries:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    if kind == "searchset":
        for entry in entries:
            entry["search"] = {"mode": "match"}
    return {"resourceType": "Bundle", "type": kind, "timestamp": "2026-01-11T09:00:00Z",
            "entry": entries}


@pytest.mark.parametrize("kind", ["transaction", "collection", "searchset"])
def test_bundle_with_two_patients_is_split(store: Store, tmp_path: Path, kind: str) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(two_patient_bundle(kind)))
    result = add_files(store, [bundle])[0]
    assert (result.status, result.patients) == ("added", ["MRN-A", "MRN-B"])
    with store.session() as session:
        rows = session.execute(select(PatientRow.key, LabRow.canonical_value).join(
            LabRow, LabRow.patient_id == PatientRow.id).order_by(PatientRow.key)).all()
        identifiers = set(session.execute(select(IdentifierRow.system, IdentifierRow.value)))
    assert [tuple(r) for r in rows] == [("MRN-A", 5.5), ("MRN-B", 3.1)]
    assert ("urn:oid:1.2.3", "MRN-A") in identifiers
    assert add_files(store, [bundle])[0].status == "unchanged"


def test_bundle_entry_of_unknown_patient_is_refused(store: Store, tmp_path: Path) -> None:
    document = two_patient_bundle("collection")
    document["entry"][3]["resource"]["subject"] = {"reference": "Patient/elsewhere"}
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(document))
    result = add_files(store, [bundle])[0]
    assert result.status == "failed"
    assert "entry[3].resource.subject" in (result.error or "")
    assert _count(store, PatientRow) == 0


def test_scan_result_needs_a_patient(store: Store) -> None:
    scan = EXAMPLE / "scan-2024-03-05.json"
    failed = add_files(store, [scan])[0]
    assert failed.status == "failed" and "--patient" in (failed.error or "")
    assert add_files(store, [scan], patient_id="MRN-0042")[0].status == "added"
    assert add_files(store, [scan], patient_id="MRN-0042")[0].status == "unchanged"
    with store.session() as session:
        row = session.scalar(select(ScanRow))
    assert row is not None
    assert (row.agatston, row.kvp, row.slice_increment_mm, row.convention) == (
        100.0, 120.0, 3.0, "agatston-1990")
    assert row.study_instance_uid == "2.25.318465209345712009381"
    assert row.series_instance_uid == "2.25.318465209345712009382"


def test_a_case_file_listing_a_ct_records_the_quantified_scan(store: Store,
                                                              tmp_path: Path) -> None:
    """``scans[]`` in a case file are quantified by ``record add`` (the same result as
    ``ectocalc scan``), stored once, dated from the case when the reference has no date."""
    from ectocalc import service
    from ectocalc.datasets import write_phantom

    write_phantom(tmp_path / "ph", rows=96, columns=96, slices=24, pixel_spacing_mm=0.8,
                  slice_increment_mm=3.0, seed=5, anatomy=False)
    case = tmp_path / "visit.yaml"
    case.write_text("date: 2026-03-01\npatient: {id: MRN-CT, age_years: 60, sex: male}\n"
                    "scans:\n  - {path: ph/dicom}\n")
    (result,) = add_files(store, [case])
    assert (result.status, result.patients) == ("added", ["MRN-CT"])
    with store.session() as session:
        rows = session.scalars(select(ScanRow)).all()
        assert len(rows) == 1
        stored = rows[0].result
    direct = service.quantify_scan(tmp_path / "ph" / "dicom")
    assert direct.agatston > 0
    assert stored["agatston"] == pytest.approx(direct.agatston)
    expected = direct.study_date.isoformat() if direct.study_date else "2026-03-01"
    assert stored["study_date"] == expected
    (again,) = add_files(store, [case])
    assert again.status == "unchanged"
    assert _count(store, ScanRow) == 1


def test_a_split_bundle_names_the_original_entries() -> None:
    """Skipped entries and each result's input_ref point into the Bundle as sent, not into
    the patient's part of it."""
    from ectocalc.record._fhir_split import split_bundle

    document = two_patient_bundle("collection")
    document["entry"].append({"resource": _observation(
        "urn:uuid:00000000-0000-4000-8000-000000000001", "3094-0", 18, "mg/dL", "2026-01-10")})
    parts = {part.key: part.case for part in split_bundle(document, source="b.json")}
    (phosphate,) = parts["MRN-B"].labs
    assert phosphate.input_ref == "entry[3].resource"
    assert parts["MRN-B"].skipped and parts["MRN-B"].skipped[0].startswith("entry[4] ")
    assert parts["MRN-A"].labs[0].input_ref == "entry[1].resource" and not parts["MRN-A"].skipped
