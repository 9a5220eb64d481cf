"""Putting files into the record: validate the whole file first, then one transaction per file.

Each patient's content gets a digest (SHA-256 of its validated content in canonical JSON), so
adding the same content again — even re-saved as YAML instead of JSON — changes nothing.

Which recorded patient a file is about (:func:`_match`): an identifier is (system, value), as
EHRs define it. A FHIR Patient's identifiers with a system match only the same system and
value; a case file's ``patient.id``, a bare ``Patient.id`` or an identifier without system
matches the patient whose record id is that value. The record id is the first identifier's
value; when that value already names a patient known under another system (MRN 100234 at
hospital A and at hospital B), the newcomer's record id is ``system|value`` (FHIR's token
notation). A match whose sex or birth date differs from the recorded one is refused
(:class:`PatientConflict`) and nothing of the file is written, unless the caller says
``merge``: then the file is filed under the recorded patient and its sex and birth date are
kept as the latest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import date as Date
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ectocalc.errors import InputError
from ectocalc.io.errors import located
from ectocalc.model.case import Case
from ectocalc.model.scan import ScanResult
from ectocalc.record._schema import (
    ConditionRow,
    FindingRow,
    GeneticRow,
    IdentifierRow,
    LabRow,
    MedicationRow,
    PatientRow,
    ScanRow,
    SourceRow,
)
from ectocalc.record._store import Store

Status = Literal["added", "unchanged", "failed"]
_SCAN_KEYS = {"convention", "threshold_hu", "agatston", "lesions"}
_SCAN_LINKS = ("patient_id", "study_instance_uid", "series_instance_uid")
_RETRIES = 3


_RESERVED_ID = re.compile(
    r"/(?:scans(?:/.*)?|report\.html|report\.pdf|assessment(?:\.json)?|record\.json|"
    r"fhir\.json)$", re.DOTALL)
"""Endings of a record id that the web's patient pages would take for one of their sub-pages
(``/patients/{id}/report.html``): such an id would be unreachable, so it is refused."""
MAX_KEY = 200


class PatientConflict(InputError):
    """The file's patient has a recorded patient's identifier but another sex or birth date."""


@dataclass(frozen=True)
class AddResult:
    """What happened to one file: ``added``, ``unchanged`` (already recorded) or ``failed``."""

    path: str
    status: Status
    patients: list[str] = field(default_factory=list)
    error: str | None = None
    conflict: bool = False
    """Failed because the identifier is a recorded patient's with another sex or birth date."""


@dataclass(frozen=True)
class _CaseItem:
    key: str
    identifiers: list[tuple[str, str]]
    case: Case
    kind: Literal["case", "fhir"]


@dataclass(frozen=True)
class _ScanItem:
    key: str
    scan: ScanResult
    study_uid: str | None
    series_uid: str | None


_Item = _CaseItem | _ScanItem


def add_files(store: Store, paths: Sequence[str | Path], *, patient_id: str | None = None,
              progress: Callable[[AddResult], None] | None = None,
              read_scan_paths: bool = True, merge: bool = False) -> list[AddResult]:
    """Add case files, FHIR Bundles and scan results, each file in its own transaction.

    A file that fails validation adds nothing and is reported ``failed`` with the reason; the
    other files still go in.

    Parameters
    ----------
    store : Store
    paths : sequence of path
    patient_id : str, optional
        The patient of scan results (and Bundles) that carry no patient id.
    progress : callable, optional
        Called with each file's :class:`AddResult` as soon as its transaction has ended.
    read_scan_paths : bool
        Quantify the CTs a case file lists in ``scans[]``. False for files from elsewhere (a web
        upload): a case naming server paths is refused rather than read.
    merge : bool
        File a patient under the recorded patient with the same identifier even when the sex or
        birth date differ (the user says they are one person); else that file is refused.
    """
    results = []
    for path in paths:
        path = Path(path)
        try:
            items = read_items(path, patient_id=patient_id, read_scan_paths=read_scan_paths)
            status, keys = _write(store, items, file_digest=_file_digest(path), name=path.name,
                                  source=str(path), merge=merge)
        except InputError as error:
            result = AddResult(str(path), "failed", error=str(error),
                               conflict=isinstance(error, PatientConflict))
        else:
            result = AddResult(str(path), status, patients=keys)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise InputError(path, "", f"cannot read file: {error.strerror}") from None


def add_case(store: Store, case: Case, *, name: str = "case", merge: bool = False) -> Status:
    """Add one validated case (it needs ``patient.id``); returns ``added`` or ``unchanged``.

    Raises
    ------
    PatientConflict
        The recorded patient of that id has another sex or birth date (and not ``merge``).
    """
    item = _case_item(case, case.source or name)
    return _write(store, [item], file_digest=content_digest(item), name=name,
                  source=case.source or name, merge=merge)[0]


def add_scan(store: Store, scan: ScanResult, *, patient_id: str, name: str = "scan") -> Status:
    """Add one quantified scan (it needs ``study_date``) to ``patient_id``'s record."""
    item = _scan_item(scan, source=scan.source or name, key=patient_id, links={})
    return _write(store, [item], file_digest=content_digest(item), name=name,
                  source=scan.source or name, merge=False)[0]


def read_items(path: Path, *, patient_id: str | None = None,
               read_scan_paths: bool = True) -> list[_Item]:
    """Read and validate a whole file into record items (nothing is written).

    Raises
    ------
    InputError
        Naming the file and the field at fault.
    """
    from ectocalc.io.case_file import case_from_mapping, read_document

    source = str(path)
    document = read_document(path)
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        from ectocalc.record._fhir_split import split_bundle

        parts = split_bundle(document, source=source, patient_id=patient_id)
        return [_case_item(part.case, source, key=part.key, identifiers=part.identifiers,
                           kind="fhir") for part in parts]
    if isinstance(document, dict) and set(document) >= _SCAN_KEYS:
        links = {key: document.pop(key) for key in _SCAN_LINKS if key in document}
        try:
            scan = ScanResult.model_validate(document)
        except ValidationError as error:
            raise located(error, source) from None
        key = links.get("patient_id") or scan.acquisition.get("patient_id") or patient_id
        if not isinstance(key, str) or not key:
            raise InputError(source, "patient_id", "the scan names no patient: give --patient ID")
        return [_scan_item(scan, source=source, key=key, links=links)]
    case = case_from_mapping(document, source=source)
    item = _case_item(case, source)
    if case.scans and not read_scan_paths:
        raise InputError(source, "scans[0].path", "paths to CTs are not read from an uploaded "
                                                  "case: import the CT itself (a DICOM .zip)")
    return [item, *_listed_scans(case, key=item.key)]


def _listed_scans(case: Case, *, key: str) -> list[_ScanItem]:
    """The CTs a case file lists (``scans[]``), quantified now and recorded as scans of the
    patient (a scan without its own date takes the case date)."""
    from ectocalc import service

    items = []
    for ref, scan in zip(case.scans, service.quantify_case_scans(case), strict=True):
        if scan.study_date is None:
            scan = scan.model_copy(update={"study_date": ref.date or case.date})
        items.append(_scan_item(scan, source=case.source or "case", key=key, links={}))
    return items


def _case_item(case: Case, source: str, *, key: str | None = None,
               identifiers: list[tuple[str, str]] | None = None,
               kind: Literal["case", "fhir"] = "case") -> _CaseItem:
    key = key or case.patient.id
    if not key:
        raise InputError(source, "patient.id", "the record needs the patient's id")
    usable_key(key, source=source, field="patient.id")
    if recorded_on(case) is None:
        raise InputError(source, "date", "the record needs the case 'date' (or dated results)")
    if case.date is None:
        undated = next((i for i, lab in enumerate(case.labs) if lab.date is None), None)
        if undated is not None:
            raise InputError(source, f"labs[{undated}].date",
                             "undated result and no case 'date': the record needs a date")
    return _CaseItem(key=key, identifiers=identifiers or [("", key)], case=case, kind=kind)


def _scan_item(scan: ScanResult, *, source: str, key: str, links: dict[str, Any]) -> _ScanItem:
    usable_key(key, source=source, field="patient_id")
    if scan.study_date is None:
        raise InputError(source, "study_date", "the record needs the scan's date")

    def uid(name: str) -> str | None:
        value = links.get(name) or scan.acquisition.get(name)
        return str(value) if value else None

    return _ScanItem(key=key, scan=scan, study_uid=uid("study_instance_uid"),
                     series_uid=uid("series_instance_uid"))


def usable_key(key: str, *, source: str, field: str) -> str:
    """A record id that fits the record and can be reached at ``/patients/{id}``.

    Raises
    ------
    InputError
        Longer than 200 characters, or ending like one of a patient's web sub-pages
        (``.../report.html``, ``.../scans/...``).
    """
    if len(key) > MAX_KEY:
        raise InputError(source, field, f"a record id is at most {MAX_KEY} characters")
    if _RESERVED_ID.search(key):
        raise InputError(source, field, f"{key[:80]!r} ends like a page of the web "
                         "application (e.g. '/report.html', '/scans/...'): not usable as a "
                         "record id")
    return key


def recorded_on(case: Case) -> Date | None:
    """The case's date: its ``date``, else its patient's reference date, else latest result."""
    dated = [lab.date for lab in case.labs if lab.date is not None]
    return case.date or case.patient.date or (max(dated) if dated else None)


def content_digest(item: _Item) -> str:
    """SHA-256 of an item's validated content (file name and paths left out)."""
    if isinstance(item, _CaseItem):
        content: dict[str, Any] = {"case": item.case.model_dump(mode="json", exclude={"source"})}
        if any(system for system, _ in item.identifiers):  # the same value at two hospitals
            content["identifiers"] = sorted(item.identifiers)
    else:
        content = {"scan": item.scan.model_dump(mode="json", exclude={"source", "outputs"}),
                   "uids": [item.study_uid, item.series_uid]}
    canonical = json.dumps({"patient": item.key, **content}, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _write(store: Store, items: list[_Item], *, file_digest: str, name: str, source: str,
           merge: bool) -> tuple[Status, list[str]]:
    """All items of one file in one transaction; retried when a concurrent writer collided.

    Returns the status and the record ids the items were filed under.
    """
    digests = [content_digest(item) for item in items]
    for attempt in range(_RETRIES):
        try:
            with store.session(write=True) as session:
                keys, new = [], []
                first: dict[int, Case] = {}  # per patient, the file's first case about them
                for item, digest in zip(items, digests, strict=True):
                    recorded = session.scalar(select(PatientRow.key).join(
                        SourceRow, SourceRow.patient_id == PatientRow.id).where(
                        SourceRow.digest == digest))
                    if recorded is not None:
                        keys.append(recorded)
                        continue
                    patient = _match(session, item, source=source, merge=merge)
                    if isinstance(item, _CaseItem) and not merge:  # two Patients, one identifier
                        earlier = first.setdefault(patient.id, item.case).patient
                        _check_same_person(patient.key, earlier.sex, earlier.birth_date,
                                           item.case, source)
                    keys.append(patient.key)
                    if not _same_file(session, patient, file_digest):
                        new.append((patient, item, digest))
                for patient, item, digest in new:  # after all checks: one file's items
                    _insert(session, patient, item, digest=digest, file_digest=file_digest,
                            name=name)
            return ("added" if new else "unchanged"), list(dict.fromkeys(keys))
        except IntegrityError:  # another process added the same patient or content meanwhile
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _same_file(session: Session, patient: PatientRow, file_digest: str) -> bool:
    """The same file bytes are already recorded for this patient (so a file added under an
    older ectocalc, whose validated form may differ, stays unchanged)."""
    same_file = select(SourceRow.id).where(SourceRow.file_digest == file_digest,
                                           SourceRow.patient_id == patient.id)
    return session.scalar(same_file.limit(1)) is not None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _match(session: Session, item: _Item, *, source: str, merge: bool) -> PatientRow:
    """The recorded patient an item is about (created when new), with its identifiers added.

    Raises
    ------
    PatientConflict
        The identifiers name two recorded patients, or the matched patient has another sex or
        birth date (unless ``merge``).
    """
    identifiers = item.identifiers if isinstance(item, _CaseItem) else [("", item.key)]
    qualified = [(system, value) for system, value in identifiers if system]
    owners = set(session.scalars(select(IdentifierRow.patient_id).where(or_(*(
        and_(IdentifierRow.system == system, IdentifierRow.value == value)
        for system, value in qualified))))) if qualified else set()
    if len(owners) > 1:
        keys = sorted(session.scalars(select(PatientRow.key).where(PatientRow.id.in_(owners))))
        raise PatientConflict(source, "identifier", f"the identifiers belong to {len(keys)} "
                              f"recorded patients ({', '.join(map(repr, keys))}): nothing "
                              "was added")
    key = item.key
    patient = session.get(PatientRow, min(owners)) if owners else \
        session.scalar(select(PatientRow).where(PatientRow.key == key))
    issued = [system for system, value in qualified if value == key]
    if patient is not None and not owners and issued:
        issuers = set(session.scalars(select(IdentifierRow.system).where(
            IdentifierRow.patient_id == patient.id, IdentifierRow.value == key,
            IdentifierRow.system != "")))
        if issuers and not issuers & set(issued):
            # the same value issued by another system: another person, keyed system|value
            key = usable_key(f"{issued[0]}|{key}", source=source, field="identifier")
            patient = session.scalar(select(PatientRow).where(PatientRow.key == key))
    if patient is None:
        patient = PatientRow(key=key, created_at=_now())
        session.add(patient)
        session.flush()
    elif isinstance(item, _CaseItem) and not merge:
        _check_same_person(patient.key, patient.sex, patient.birth_date, item.case, source)
    for system, value in identifiers:
        exists = session.scalar(select(IdentifierRow.id).where(
            IdentifierRow.system == system, IdentifierRow.value == value))
        if exists is None:
            session.add(IdentifierRow(patient_id=patient.id, system=system, value=value))
    return patient


def _check_same_person(key: str, sex: str | None, birth_date: Date | None, case: Case,
                       source: str) -> None:
    """Refuse a case whose patient's sex or birth date differ from those known for ``key``."""
    given = case.patient
    differs = [name for name, new, old in (("sex", given.sex, sex),
                                          ("birth date", given.birth_date, birth_date))
               if new is not None and old is not None and new != old]
    if differs:
        raise PatientConflict(source, "patient", f"the record's patient {key!r} has "
                              f"another {' and '.join(differs)}: two people with one "
                              "identifier? Nothing was added; if they are one person, add "
                              "the file again with --merge (web: merge=true)")


def _insert(session: Session, patient: PatientRow, item: _Item, *, digest: str,
            file_digest: str, name: str) -> None:
    if isinstance(item, _ScanItem):
        _insert_scan(session, patient, item, digest=digest, file_digest=file_digest, name=name)
        return
    case = item.case
    day = recorded_on(case)
    assert day is not None  # checked by _case_item
    given = case.patient.model_dump(exclude_none=True, exclude={"id"})
    state = {"patient": given, "risk_factors": case.risk_factors.model_dump(exclude_none=True),
             "case_id": case.id}
    source = SourceRow(patient_id=patient.id, digest=digest, file_digest=file_digest,
                       kind=item.kind, name=name[:500], recorded_on=day,
                       state=json.loads(json.dumps(state, default=str)), added_at=_now())
    session.add(source)
    session.flush()
    patient.sex = case.patient.sex or patient.sex
    patient.birth_date = case.patient.birth_date or patient.birth_date
    patient.race_ethnicity = case.patient.race_ethnicity or patient.race_ethnicity
    common = {"patient_id": patient.id, "source_id": source.id}
    rows: list[Any] = []
    for position, lab in enumerate(case.labs):
        low, high = lab.reference_range or (None, None)
        rows.append(LabRow(**common, position=position, analyte=lab.analyte, loinc=lab.loinc,
                           value=lab.value, comparator=lab.comparator, unit=lab.unit,
                           canonical_value=lab.canonical_value,
                           canonical_unit=lab.canonical_unit,
                           effective_at=lab.taken_at
                           or datetime.combine(lab.date or day, datetime.min.time()),
                           timed=lab.taken_at is not None, input_ref=lab.input_ref,
                           resource_id=lab.resource_id,
                           reference_low=low, reference_high=high))
    dated = {**common, "recorded_on": day}
    for position, condition in enumerate(case.conditions):
        rows.append(ConditionRow(**dated, position=position, text=condition.text,
                                 code=condition.code, system=condition.system,
                                 present=condition.present, past=condition.past,
                                 input_ref=condition.input_ref,
                                 resource_id=condition.resource_id))
    for position, medication in enumerate(case.medications):
        rows.append(MedicationRow(**dated, position=position, text=medication.text,
                                  code=medication.code, system=medication.system,
                                  present=medication.present, input_ref=medication.input_ref,
                                  resource_id=medication.resource_id))
    for position, gene in enumerate(case.genetics):
        rows.append(GeneticRow(**dated, position=position, gene=gene.gene,
                               zygosity=gene.zygosity, classification=gene.classification,
                               variant=gene.variant))
    for position, finding in enumerate(case.findings):
        rows.append(FindingRow(**dated, position=position, site=finding.site,
                               data=finding.model_dump(mode="json", exclude_none=True)))
    session.add_all(rows)


def _insert_scan(session: Session, patient: PatientRow, item: _ScanItem, *, digest: str,
                 file_digest: str, name: str) -> None:
    scan = item.scan
    assert scan.study_date is not None  # checked by _scan_item
    source = SourceRow(patient_id=patient.id, digest=digest, file_digest=file_digest,
                       kind="scan", name=name[:500], recorded_on=scan.study_date, state={},
                       added_at=_now())
    session.add(source)
    session.flush()
    session.add(ScanRow(
        patient_id=patient.id, source_id=source.id, study_date=scan.study_date,
        study_instance_uid=item.study_uid, series_instance_uid=item.series_uid, kvp=scan.kvp,
        slice_increment_mm=scan.slice_increment_mm, convention=scan.convention,
        agatston=scan.agatston, volume_mm3=scan.volume_mm3, mass_mg=scan.mass_mg,
        result=scan.model_dump(mode="json"),
    ))
