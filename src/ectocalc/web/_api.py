"""The JSON API under ``/api`` (contract §6), documented by OpenAPI at ``/docs``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ectocalc import service
from ectocalc.web._auth import ApiWriter, SignedIn, state
from ectocalc.web._imports import import_upload, read_form
from ectocalc.web._patients import UnknownPatient
from ectocalc.web._security import Session

router = APIRouter(prefix="/api", responses={401: {"description": "not signed in"}})


def _audit(request: Request, session: Session, action: str,
           patient_id: str | None = None) -> None:
    from ectocalc.record import audit

    audit(state(request).store, session.username, action, patient_id=patient_id)


@router.get("/patients", tags=["patients"])
def api_patients(request: Request,
                 session: SignedIn) -> list[dict[str, Any]]:
    """The patients in the record (id, sex, number of results and scans, last result date)."""
    from ectocalc.record import list_patients

    _audit(request, session, "api_list_patients")
    return list_patients(state(request).store)


@router.get("/patients/{patient_id:path}/assessment", tags=["patients"],
            responses={404: {"description": "no such patient"}})
def api_assessment(request: Request, patient_id: str, session: SignedIn) -> Response:
    """The assessment from everything recorded up to today (contract §3)."""
    data = state(request).patients.get(patient_id)
    _audit(request, session, "api_assessment", patient_id)
    body = data.memo("assessment.json",
                     lambda: service.render_assessment(data.assessment, format="json"))
    return Response(body, media_type="application/json")


@router.get("/patients/{patient_id:path}", tags=["patients"],
            responses={404: {"description": "no such patient"}})
def api_patient(request: Request, patient_id: str, session: SignedIn) -> Response:
    """One patient over time: the ``record show`` JSON (contract §5)."""
    data = state(request).patients.get(patient_id)
    _audit(request, session, "api_view_patient", patient_id)
    return Response(data.memo("view.json", lambda: json.dumps(data.view)),
                    media_type="application/json")


_IMPORT_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "case file (JSON/YAML), FHIR R4 Bundle, or CT .zip"},
        "patient_id": {"type": "string", "description": "CT only: default DICOM PatientID"},
        "study_date": {"type": "string", "format": "date",
                       "description": "CT only: used when the CT has no StudyDate"},
        "merge": {"type": "boolean", "description": "case only: file the patient under the "
                  "recorded patient with the same identifier even if sex or birth date "
                  "differ (else 409)"}}}}}}}


@router.post("/patients/import", tags=["patients"], status_code=202, openapi_extra=_IMPORT_BODY,
             responses={
    202: {"description": "queued: poll the job (a case or Bundle that fails validation, or "
                         "whose identifier is a recorded patient's with another sex or birth "
                         "date, fails its job; send merge=true if they are one person)"},
    403: {"description": "viewer, or missing X-CSRF-Token"},
    413: {"description": "upload too large"}, 415: {"description": "unknown file kind"},
    422: {"description": "unsafe zip, or a bad form field"}})
async def api_import(request: Request,
                     session: ApiWriter) -> JSONResponse:
    """Queue a case file, FHIR Bundle or CT ``.zip`` of one series for import (202).

    Multipart form: ``file``; for a CT optionally ``patient_id`` (default: DICOM PatientID)
    and ``study_date`` (used when the CT has none); for a case ``merge=true`` files it under
    the recorded patient with the same identifier even if sex or birth date differ (else its
    job fails). The answer names the job; ``GET /api/jobs/{id}`` says how it ends.
    Needs the ``X-CSRF-Token`` header. The session and role are checked before the body is
    read.
    """
    upload, fields = await read_form(request)
    try:
        imported = await import_upload(state(request), session, upload, fields)
    finally:
        await upload.close()
    return JSONResponse(imported.as_json(), status_code=202)


@router.get("/jobs/{job_id}", tags=["patients"], responses={404: {"description": "no such job"}})
def api_job(request: Request, job_id: str,
            _: SignedIn) -> dict[str, Any]:
    """Progress of an import: ``state`` queued, running, done or failed.

    ``kind`` is ``ct`` or ``case``; a done case names its ``patients`` and its ``outcome``
    (``added`` or ``unchanged``); a failed job's ``error`` is one line.
    """
    job = state(request).jobs.get(job_id)
    if job is None:
        raise UnknownPatient(job_id)
    return {"id": job.id, "kind": job.kind, "patient_id": job.patient_id,
            "patients": list(job.patients), "outcome": job.outcome, "state": job.state,
            "stage": job.stage, "done": job.done, "total": job.total, "error": job.error}
