"""Importing an upload into the record in the background: a case file, FHIR Bundle or CT.

Shared by the import page and ``POST /api/patients/import``. The upload is copied to a private
temporary folder (size-limited), its kind is decided from its bytes, and:

* a case file or FHIR Bundle is checked for size (413) and queued
  (:meth:`~ectocalc.web._jobs.JobRunner.submit_case`, one at a time, the rest wait in line); the
  job puts it into the record with :func:`ectocalc.record.add_files` (a file that fails
  validation adds nothing, and the job fails with one line; a patient whose identifier is
  recorded with another sex or birth date is refused unless the form's ``merge`` is true);
* a CT ``.zip`` is checked and unpacked into a new scan folder and queued for quantification
  (:class:`~ectocalc.web._jobs.JobRunner`); the patient is the form's ``patient_id``, else the
  DICOM PatientID.

A refused upload leaves nothing behind: no record change, no scan folder, no temporary file
(a queued case's private copy is removed when its job ends).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from ectocalc.web._jobs import Job, Progress
from ectocalc.web._middleware import BodyTooLarge
from ectocalc.web._security import Session
from ectocalc.web._state import WebState
from ectocalc.web._uploads import (
    CASE_SUFFIXES,
    UploadRefused,
    case_suffix,
    unpack_zip,
    upload_kind,
)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_PATIENT_ID = re.compile(r"^[\w.\-:]{1,64}$")


@dataclass(frozen=True)
class Imported:
    """The outcome of one import."""

    kind: str
    """``case`` or ``ct_zip``."""
    status: str
    """``queued``: the job says how it ends."""
    job: Job
    patients: list[str] = field(default_factory=list)
    """The CT's patient (a case's patients are known when its job is done)."""

    def as_json(self) -> dict[str, Any]:
        """The API answer."""
        return {"kind": self.kind, "status": self.status, "patients": self.patients,
                "job": {"id": self.job.id, "status_url": f"/api/jobs/{self.job.id}"}}


def safe_filename(name: str | None) -> str:
    """A harmless file name for an uploaded file (its folder parts dropped).

    Examples
    --------
    >>> safe_filename("../../etc/passwd"), safe_filename("my case.yaml"), safe_filename(None)
    ('passwd', 'my_case.yaml', 'upload')
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).strip("._")
    return cleaned[:100] or "upload"


async def read_form(request: Request) -> tuple[UploadFile, dict[str, str]]:
    """The multipart ``file`` and the short text fields of an import request.

    Raises
    ------
    UploadRefused
        Not multipart, no ``file``, or the body passed the size limit (413).
    """
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    except BodyTooLarge:
        raise UploadRefused("upload too large", status=413) from None
    except Exception:  # malformed multipart
        raise UploadRefused("expected a multipart form with a file field", status=400) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        await form.close()
        raise UploadRefused("choose a file to import", status=400)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return upload, fields


async def _save(upload: UploadFile, target: Path, limit: int) -> bytes:
    """Copy the upload to ``target`` (at most ``limit`` bytes); returns its first bytes."""
    size, head = 0, b""
    with open(target, "xb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise UploadRefused("upload too large", status=413)
            if len(head) < 4096:
                head += chunk[: 4096 - len(head)]
            out.write(chunk)
    return head


def _dicom_header(folder: Path) -> tuple[str | None, Date | None]:
    """PatientID and StudyDate of the first DICOM file found in ``folder``."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True,
                                 specific_tags=["PatientID", "StudyDate"])
        except (InvalidDicomError, OSError, ValueError):
            continue
        patient = str(ds.get("PatientID", "") or "").strip() or None
        try:
            study = Date.fromisoformat(str(ds.get("StudyDate", "") or "").strip())
        except ValueError:
            study = None
        return patient, study
    return None, None


def _patient_field(fields: dict[str, str]) -> str | None:
    value = fields.get("patient_id", "").strip()
    if value and not _PATIENT_ID.match(value):
        raise UploadRefused("patient id: letters, digits and . _ - : only (at most 64)")
    return value or None


def _merge_field(fields: dict[str, str]) -> bool:
    value = fields.get("merge", "").strip().lower()
    if value not in {"", "true", "false", "on", "1", "0"}:
        raise UploadRefused("merge: expected true or false")
    return value in {"true", "on", "1"}


def _date_field(fields: dict[str, str]) -> Date | None:
    value = fields.get("study_date", "").strip()
    try:
        return Date.fromisoformat(value) if value else None
    except ValueError:
        raise UploadRefused("study date: expected YYYY-MM-DD") from None


async def import_upload(web: WebState, session: Session, upload: UploadFile,
                        fields: dict[str, str]) -> Imported:
    """Queue one upload for import (case or CT); see the module notes.

    Raises
    ------
    UploadRefused
        Too large, of an unknown kind, or an unsafe zip (a case that fails validation fails
        its job instead).
    """
    from starlette.concurrency import run_in_threadpool

    patient_id = _patient_field(fields)
    study_date = _date_field(fields)
    merge = _merge_field(fields)
    web.data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=web.data_dir, prefix=".upload-"))
    queued = False
    try:
        name = safe_filename(upload.filename)
        raw = tmp / name
        head = await _save(upload, raw, web.config.max_upload_bytes)
        if upload_kind(head, name) == "ct_zip":
            return await run_in_threadpool(_import_ct, web, session, raw, patient_id,
                                           study_date)
        imported = _queue_case(web, session, raw, head, patient_id, merge)
        queued = True
        return imported
    finally:
        if not queued:  # a queued case's folder belongs to its job
            shutil.rmtree(tmp, ignore_errors=True)


def _queue_case(web: WebState, session: Session, raw: Path, head: bytes,
                patient_id: str | None, merge: bool) -> Imported:
    from ectocalc.record import add_files, audit

    if raw.stat().st_size > web.config.max_case_bytes:
        raise UploadRefused("case file too large", status=413)
    if not raw.name.lower().endswith(CASE_SUFFIXES):
        raw = raw.rename(raw.with_name(raw.name + case_suffix(head, raw.name)))
    if (not raw.name.lower().endswith(".json")
            and raw.stat().st_size > web.config.max_yaml_bytes):
        raise UploadRefused(f"YAML case file too large (at most "
                            f"{web.config.max_yaml_bytes // 2**20} MB; JSON may be larger)",
                            status=413)

    def task(progress: Progress) -> tuple[str, tuple[str, ...]]:
        progress("reading the case", 0, 0)
        (result,) = add_files(web.store, [raw], patient_id=patient_id, read_scan_paths=False,
                              merge=merge)
        if result.status == "failed":
            raise UploadRefused(str(result.error), status=409 if result.conflict else 422)
        for pid in result.patients:
            audit(web.store, session.username, "import", patient_id=pid,
                  detail=f"{raw.name}: {result.status}")
        return result.status, tuple(result.patients)

    job = web.jobs.submit_case(task, folder=raw.parent, username=session.username)
    return Imported(kind="case", status="queued", job=job)


def _import_ct(web: WebState, session: Session, archive: Path, patient_id: str | None,
               study_date: Date | None) -> Imported:
    from ectocalc.record import audit

    scan_dir = web.scans_dir / secrets.token_hex(12)
    scan_dir.mkdir(parents=True)
    try:
        unpack_zip(archive, scan_dir / "dicom", limits=web.config.zip_limits)
        dicom_patient, dicom_date = _dicom_header(scan_dir / "dicom")
        patient_id = patient_id or dicom_patient
        study_date = dicom_date or study_date
        if patient_id is None:
            raise UploadRefused("the CT has no readable DICOM PatientID: give the patient id")
        if not _PATIENT_ID.match(patient_id):
            raise UploadRefused("the DICOM PatientID is not a usable id: give the patient id")
        (scan_dir / "meta.json").write_text(json.dumps({"patient_id": patient_id}))
    except BaseException:
        shutil.rmtree(scan_dir, ignore_errors=True)
        raise
    job = web.jobs.submit(scan_dir=scan_dir, patient_id=patient_id,
                          username=session.username, study_date=study_date)
    audit(web.store, session.username, "import_ct", patient_id=patient_id,
          detail=f"queued job {job.id}")
    return Imported(kind="ct_zip", status="queued", patients=[patient_id], job=job)
