"""Who a file is about, as EHRs define it (real Synthea shapes changed at run time): an
identifier is (system, value); two people are never merged without --merge; a result whose
subject is another patient is never filed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date as Date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ectocalc.record import Store, add_files, patient_view
from ectocalc.record._schema import LabRow, PatientRow, SourceRow
from synthea import needs_synthea, patient_of, slim_bundle, values

pytestmark = needs_synthea


def _file(tmp_path: Path, name: str, bundle: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    return path


def _with_identifier(prefix: str, system: str | None, value: str,
                     observations: int = 2) -> dict[str, Any]:
    """A Synthea patient's slim Bundle whose Patient has only this one identifier."""
    bundle = slim_bundle(prefix, observations=observations)
    patient_of(bundle)["identifier"] = [{"value": value, **({"system": system} if system else {})}]
    return bundle


def _rows(store: Store) -> dict[str, tuple[str | None, Date | None, list[float]]]:
    with store.session() as session:
        patients = session.scalars(select(PatientRow)).all()
        return {p.key: (p.sex, p.birth_date, sorted(session.scalars(
            select(LabRow.value).where(LabRow.patient_id == p.id)))) for p in patients}


def _count(store: Store, table: Any) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_same_value_at_two_hospitals_is_two_patients(store: Store, tmp_path: Path) -> None:
    a = _with_identifier("Louis_Maggio", "urn:hospital-a", "100234")
    b = _with_identifier("Clarine_O'Keefe", "urn:hospital-b", "100234")
    results = add_files(store, [_file(tmp_path, "a.json", a), _file(tmp_path, "b.json", b)])
    assert [(r.status, r.patients) for r in results] == [
        ("added", ["100234"]), ("added", ["urn:hospital-b|100234"])]
    assert _rows(store) == {
        "100234": ("male", Date(1976, 1, 16), values(a)),
        "urn:hospital-b|100234": ("female", Date(1951, 11, 25), values(b))}
    assert patient_view(store, "urn:hospital-b|100234")["patient"]["identifiers"] == [
        {"system": "urn:hospital-b", "value": "100234"}]
    # hospital B's next file goes to hospital B's patient, never to hospital A's
    later = _with_identifier("Clarine_O'Keefe", "urn:hospital-b", "100234", observations=4)
    assert add_files(store, [_file(tmp_path, "b2.json", later)])[0].patients == [
        "urn:hospital-b|100234"]
    assert _rows(store)["100234"][2] == values(a)


def test_same_identifier_other_sex_and_birth_date_is_refused_unless_merge(
        store: Store, tmp_path: Path) -> None:
    first = _with_identifier("Clarine_O'Keefe", "urn:hospital-a", "100234")
    assert add_files(store, [_file(tmp_path, "a.json", first)])[0].status == "added"
    before = (_rows(store), _count(store, SourceRow))
    louis = _with_identifier("Louis_Maggio", "urn:hospital-a", "100234")
    other = _file(tmp_path, "other.json", louis)
    (refused,) = add_files(store, [other])
    assert (refused.status, refused.conflict) == ("failed", True)
    assert "another sex and birth date" in (refused.error or "")
    assert "--merge" in (refused.error or "") and "\n" not in (refused.error or "")
    assert (_rows(store), _count(store, SourceRow)) == before  # nothing written
    (merged,) = add_files(store, [other], merge=True)
    assert (merged.status, merged.patients) == ("added", ["100234"])
    sex, birth, labs = _rows(store)["100234"]
    assert (sex, birth) == ("male", Date(1976, 1, 16))  # the merged file's, as the latest
    assert labs == sorted(values(first) + values(louis))


def test_a_bare_patient_id_from_elsewhere_does_not_overwrite_sex_and_age(
        store: Store, tmp_path: Path) -> None:
    def bare(prefix: str) -> dict[str, Any]:
        bundle = slim_bundle(prefix, observations=2)
        patient = patient_of(bundle)
        del patient["identifier"]
        patient["id"] = "p1"
        for entry in bundle["entry"][1:]:
            entry["resource"]["subject"] = {"reference": "Patient/p1"}
        return bundle

    assert add_files(store, [_file(tmp_path, "a.json", bare("Clarine_O'Keefe"))])[0].patients \
        == ["p1"]
    (refused,) = add_files(store, [_file(tmp_path, "b.json", bare("Louis_Maggio"))])
    assert refused.conflict
    assert _rows(store)["p1"][:2] == ("female", Date(1951, 11, 25))


def test_wrong_subject_observation_is_not_filed(store: Store, tmp_path: Path) -> None:
    bundle = slim_bundle("Clarine_O'Keefe", observations=3)
    bundle["entry"][2]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    (result,) = add_files(store, [_file(tmp_path, "b.json", bundle)])
    assert result.status == "failed"
    assert "entry[2].resource.subject" in (result.error or "")
    assert (_count(store, PatientRow), _count(store, LabRow)) == (0, 0)


def test_ids_with_a_slash_are_kept_and_page_names_refused(store: Store, tmp_path: Path) -> None:
    kept = _with_identifier("Louis_Maggio", "urn:ward", "ward/7 100234")
    assert add_files(store, [_file(tmp_path, "k.json", kept)])[0].patients == ["ward/7 100234"]
    assert patient_view(store, "ward/7 100234")["patient"]["sex"] == "male"
    shadow = _with_identifier("Louis_Maggio", "urn:ward", "ward/7/report.html")
    (refused,) = add_files(store, [_file(tmp_path, "s.json", shadow)])
    assert refused.status == "failed" and "page of the web application" in (refused.error or "")


def test_cli_refuses_a_conflict_in_one_line_and_merges_on_request(run_cli: Any,
                                                                  tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    first = _file(tmp_path, "a.json", _with_identifier("Clarine_O'Keefe", "urn:h", "100234"))
    other = _file(tmp_path, "b.json", _with_identifier("Louis_Maggio", "urn:h", "100234"))
    assert run_cli("record", "add", "--db", db, first).code == 0
    refused = run_cli("record", "add", "--db", db, other)
    assert refused.code == 2
    assert [line for line in refused.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {other}: patient: the record's patient '100234' has another sex and birth "
        "date: two people with one identifier? Nothing was added; if they are one person, add "
        "the file again with --merge (web: merge=true)"]
    assert run_cli("record", "add", "--db", db, "--merge", other).code == 0
    numeric = slim_bundle("Louis_Maggio", observations=1)
    patient_of(numeric)["identifier"][0]["value"] = 100234
    failed = run_cli("record", "add", "--db", db, _file(tmp_path, "n.json", numeric))
    assert failed.code == 2 and "identifier[0].value: must be a string" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_two_patients_of_one_bundle_with_one_identifier_are_not_merged(
        store: Store, tmp_path: Path) -> None:
    clarine = _with_identifier("Clarine_O'Keefe", "urn:h", "100234")
    louis = _with_identifier("Louis_Maggio", "urn:h", "100234")
    both = {**clarine, "entry": clarine["entry"] + louis["entry"]}
    (result,) = add_files(store, [_file(tmp_path, "both.json", both)])
    assert (result.status, result.conflict) == ("failed", True)
    assert _count(store, PatientRow) == 0
