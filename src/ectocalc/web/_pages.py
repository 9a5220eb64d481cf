"""The HTML pages: patient list, patient page, downloads, import, CT viewer and slices."""

from __future__ import annotations

import math
import re
from datetime import date as Date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup

from ectocalc import service
from ectocalc.model.display import for_display
from ectocalc.model.scan import ScanResult
from ectocalc.render import label, scale_rows
from ectocalc.web._app import page, safe_next, signin_page
from ectocalc.web._auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Refused,
    SignedIn,
    check_csrf,
    state,
)
from ectocalc.web._imports import import_upload, read_form
from ectocalc.web._patients import (
    SORT_KEYS,
    PatientData,
    ScanLink,
    SortKey,
    UnknownPatient,
    scan_id_of,
    scan_patient,
)
from ectocalc.web._security import Session
from ectocalc.web._templates import render_page
from ectocalc.web._viewer import TYPE_COLOURS, WINDOWS, render_slice

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
_SCAN_ID = re.compile(r"^[0-9a-f]{24}$")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""The downloaded HTML report is self-contained: its own inline styles, no scripts."""


def _audit(request: Request, session: Session, action: str, patient_id: str | None = None,
           detail: str = "") -> None:
    from ectocalc.record import audit

    audit(state(request).store, session.username, action, patient_id=patient_id, detail=detail)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _download_name(patient_id: str, suffix: str) -> str:
    """``ectocalc-<id><suffix>`` with only harmless characters in the id."""
    return "ectocalc-" + re.sub(r"[^A-Za-z0-9._-]", "_", patient_id)[:64] + suffix


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/")
def home(request: Request, next: str | None = None,
         q: Annotated[str, Query(max_length=100)] = "", sort: str = "alerts",
         page_number: Annotated[int, Query(alias="page", ge=1)] = 1) -> Response:
    """The sign-in page, or the patient list once signed in (contract §6)."""
    from fastapi.responses import RedirectResponse

    session = state(request).sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return signin_page(request, next=next)
    if next:
        return RedirectResponse(safe_next(next), status_code=303)
    return patients_page(request, session, q=q, sort=sort, page_number=page_number)


@router.get("/patients")
def patients_page(request: Request, session: SignedIn,
                  q: Annotated[str, Query(max_length=100)] = "", sort: str = "alerts",
                  page_number: Annotated[int, Query(alias="page", ge=1)] = 1) -> HTMLResponse:
    """The patient list: search by id, sort by alerts or overdue monitoring."""
    from ectocalc.web._revisions import patient_revisions

    web = state(request)
    chosen: SortKey = sort if sort in SORT_KEYS else "alerts"
    revisions = patient_revisions(web.store)
    selected, pending = web.patients.table(revisions, query=q, sort=chosen)
    pages = max(1, math.ceil(len(selected) / PAGE_SIZE))
    number = min(page_number, pages)
    _audit(request, session, "list_patients")
    context: dict[str, Any] = dict(
        q=q, sort=chosen, page=number, pages=pages, total=len(selected), pending=pending,
        rows=selected[(number - 1) * PAGE_SIZE:number * PAGE_SIZE], active="patients")
    if _is_htmx(request) and request.headers.get("HX-Target") == "patient-table":
        return page(request, "_patient_table.html.j2", **context)
    return page(request, "patients.html.j2", **context)


def _patient(request: Request, session: Session, patient_id: str, action: str) -> PatientData:
    data = state(request).patients.get(patient_id)
    _audit(request, session, action, patient_id)
    return data


def _trend_series(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's series as uPlot data: x in Unix seconds, y values, one chart each."""
    from datetime import UTC, datetime

    charts = []
    for name, points in view.get("series", {}).items():
        dated = [p for p in points if p.get("date") and isinstance(p.get("value"), int | float)]
        if not dated:
            continue
        x = [datetime.combine(Date.fromisoformat(str(p["date"])[:10]), datetime.min.time(),
                              tzinfo=UTC).timestamp() for p in dated]
        unit = next((p["unit"] for p in dated if p.get("unit")), "")
        charts.append({"name": name, "label": label(name),
                       "unit": unit or ("Agatston" if name == "cac_agatston" else ""),
                       "x": x, "y": [p["value"] for p in dated],
                       "flags": [p.get("flag") or "" for p in dated]})
    return charts


def _trend_notes(view: dict[str, Any]) -> list[str]:
    """The rules, methods and sources behind the record's trends, each once."""
    notes: dict[str, None] = {}
    for facts in view.get("trends", {}).values():
        for key, value in (facts or {}).items():
            if value and key.endswith(("_rule", "_method", "_source")):
                notes[str(value)] = None
    return list(notes)


KEY_SERIES = ("calcium", "phosphate", "pth", "egfr")
"""The header strip's latest values (record series names), in reading order."""
_FLAG_MARK = {"low": "L", "high": "H", "critical_low": "LL", "critical_high": "HH"}


def key_values(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest calcium, phosphate, PTH and eGFR of a ``record show`` view, as reported
    (the record rounds its series), each with its date, H/L flag mark and reference range.

    Examples
    --------
    >>> view = {"series": {"pth": [{"date": "2026-04-01", "value": 400, "unit": "pg/mL"},
    ...     {"date": "2026-10-01", "value": 610, "unit": "pg/mL", "flag": "high"}]}}
    >>> [(k["name"], k["value"], k["mark"], k["date"]) for k in key_values(view)]
    [('pth', 610, 'H', '2026-10-01')]
    """
    found = []
    for name in KEY_SERIES:
        dated = [p for p in view.get("series", {}).get(name, [])
                 if p.get("date") and isinstance(p.get("value"), int | float)]
        if not dated:
            continue
        last = max(dated, key=lambda p: str(p["date"]))
        flag = last.get("flag") or ""
        found.append({"name": name, "value": last["value"], "unit": last.get("unit") or "",
                      "comparator": last.get("comparator") or "",
                      "date": str(last["date"])[:10], "flag": flag,
                      "mark": _FLAG_MARK.get(flag, ""),
                      "reference_range": last.get("reference_range")})
    return found


def merged_alerts(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's and the assessment's alerts (``record show`` holds both), worst first."""
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(view.get("alerts", []), key=lambda a: rank.get(str(a.get("severity")), 3))


def _summary_context(view: dict[str, Any]) -> dict[str, Any]:
    """What the header strip and the PDF's summary page show."""
    from ectocalc.model.display import age_words

    age = view.get("patient", {}).get("age_years")
    alerts = merged_alerts(view)
    return {"age": None if age is None else age_words(age), "key_values": key_values(view),
            "alerts": alerts, "critical": [a for a in alerts if a.get("severity") == "critical"]}


def _patient_body(request: Request, patient_id: str, data: PatientData) -> Markup:
    """The patient page's main content, rendered once per record revision."""

    def render() -> str:
        web = state(request)
        scans = [ScanLink(result=r, scan_id=scan_id_of(r, web.scans_dir))
                 for r in data.assessment.imaging]
        return render_page(
            # The report section shows the assessment as the HTML report does: rounded.
            "_patient_body.html.j2", pid=patient_id, view=data.view,
            a=for_display(data.assessment),
            trends=_trend_series(data.view), trend_notes=_trend_notes(data.view), scans=scans,
            alerts_shown=True, **_summary_context(data.view))

    return Markup(data.memo("body", render))


@router.get("/patients/{patient_id:path}/report.html")
def report_html(request: Request, patient_id: str,
                session: SignedIn) -> Response:
    """The clinician HTML report (self-contained)."""
    data = _patient(request, session, patient_id, "download_report_html")
    html = service.render_assessment(data.assessment, format="html")
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": REPORT_CSP,
                             **_attachment(_download_name(patient_id, ".html"))})


@router.get("/patients/{patient_id:path}/report.pdf")
def report_pdf(request: Request, patient_id: str,
               session: SignedIn) -> Response:
    """The clinician report as PDF (WeasyPrint): a one-page summary (key values, alerts, plan,
    monitoring due), trends as images, progression and monitoring, then the evidence (the
    clinician report's sections); report date, patient and page numbers on every page."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    from ectocalc.model.display import for_display
    from ectocalc.record._render import trend_figures
    data = _patient(request, session, patient_id, "download_report_pdf")
    # a trend needs two results: one value is in the summary and the evidence already
    drawn = {**data.view, "series": {name: points for name, points in data.view["series"].items()
                                     if len(points) >= 2}}
    html = render_page(
        "report_pdf.html.j2", pid=patient_id, view=data.view,
        a=for_display(data.assessment), scales=scale_rows(data.assessment.scales),
        figures=trend_figures(drawn, labels={n: label(n) for n in drawn["series"]}),
        alerts_shown=True, **_summary_context(data.view))
    pdf = HTML(string=html, base_url=None).write_pdf()
    return Response(pdf, media_type="application/pdf",
                    headers=_attachment(_download_name(patient_id, ".pdf")))


@router.get("/patients/{patient_id:path}/assessment.json")
def assessment_json(request: Request, patient_id: str,
                    session: SignedIn) -> Response:
    """The assessment JSON (contract §3)."""
    data = _patient(request, session, patient_id, "download_assessment_json")
    return Response(service.render_assessment(data.assessment, format="json"),
                    media_type="application/json",
                    headers=_attachment(_download_name(patient_id, "-assessment.json")))


@router.get("/patients/{patient_id:path}/record.json")
def record_json(request: Request, patient_id: str,
                session: SignedIn) -> Response:
    """The ``record show`` JSON (contract §5)."""
    import json

    data = _patient(request, session, patient_id, "download_record_json")
    return Response(json.dumps(data.view, indent=2), media_type="application/json",
                    headers=_attachment(_download_name(patient_id, "-record.json")))


@router.get("/patients/{patient_id:path}/fhir.json")
def fhir_json(request: Request, patient_id: str,
              session: SignedIn) -> Response:
    """The assessment as a FHIR R4 Bundle."""
    import json

    from ectocalc.io.fhir_out import assessment_bundle

    data = _patient(request, session, patient_id, "download_fhir")
    bundle = assessment_bundle(data.assessment, patient_id=patient_id)
    return Response(json.dumps(bundle, indent=2, default=str), media_type="application/fhir+json",
                    headers=_attachment(_download_name(patient_id, "-fhir.json")))


def _scan_dir(request: Request, patient_id: str, scan_id: str) -> Path:
    """The folder of one imported CT of this patient (404 otherwise)."""
    folder = state(request).scans_dir / scan_id
    if (not _SCAN_ID.match(scan_id) or not (folder / "out" / "scan.json").exists()
            or scan_patient(folder) != patient_id):
        raise UnknownPatient(patient_id)
    return folder


_SCAN_FILES = {"seg.dcm": "application/dicom", "sr.dcm": "application/dicom",
               "lesions.csv": "text/csv"}


@router.get("/patients/{patient_id:path}/scans/{scan_id}/{name}")
def scan_file(request: Request, patient_id: str, scan_id: str, name: str,
              session: SignedIn) -> Response:
    """DICOM SEG, DICOM SR or the lesion CSV of an imported CT."""
    if name not in _SCAN_FILES:
        raise UnknownPatient(patient_id)
    path = _scan_dir(request, patient_id, scan_id) / "out" / name
    if not path.exists():
        raise UnknownPatient(patient_id)
    _audit(request, session, "download_scan_file", patient_id, name)
    return FileResponse(path, media_type=_SCAN_FILES[name],
                        filename=_download_name(patient_id, f"-{scan_id[:8]}-{name}"))


@router.get("/patients/{patient_id:path}/scans/{scan_id}")
def viewer_page(request: Request, patient_id: str, scan_id: str,
                session: SignedIn) -> HTMLResponse:
    """The axial slice viewer with the calcification overlay, lesions and scores."""
    folder = _scan_dir(request, patient_id, scan_id)
    result = ScanResult.model_validate_json((folder / "out" / "scan.json").read_text())
    count = int(result.acquisition.get("shape", [0])[0] or 0) or max(
        (s for lesion in result.lesions for s in lesion.slices), default=0) + 1
    first = next((lesion.slices[len(lesion.slices) // 2] for lesion in
                  sorted(result.lesions, key=lambda x: -x.agatston) if lesion.slices), count // 2)
    _audit(request, session, "view_scan", patient_id, scan_id)
    conventions = result.conventions or [{
        "convention": result.convention, "agatston": result.agatston,
        "volume_mm3": result.volume_mm3, "mass_mg": result.mass_mg,
        "lesion_count": len(result.lesions)}]
    return page(request, "viewer.html.j2", pid=patient_id, sid=scan_id, result=result,
                count=count, start=first, windows=WINDOWS, colours=TYPE_COLOURS,
                conventions=conventions, active="patients")


@router.get("/patients/{patient_id:path}/scans/{scan_id}/slices/{index}.png")
def slice_png(request: Request, patient_id: str, scan_id: str, index: int, session: SignedIn,
              window: str = "soft_tissue", overlay: bool = True) -> Response:
    """One axial slice, windowed, with the calcification overlay coloured by type (each
    slice read is audited: an image of the patient is a read of the patient)."""
    folder = _scan_dir(request, patient_id, scan_id)
    stack = state(request).stacks.get(folder)
    if window not in WINDOWS or not 0 <= index < stack.count:
        raise UnknownPatient(patient_id)
    _audit(request, session, "view_scan_slice", patient_id, f"{scan_id} slice {index}")
    png = render_slice(stack, index, window=window, overlay=overlay)
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=600"})


# after the patient's sub-pages: an id may hold "/" (its links encode it as %2F, which the
# server decodes), so the page of the id "a/b" is /patients/a%2Fb
@router.get("/patients/{patient_id:path}")
def patient_page(request: Request, patient_id: str, session: SignedIn) -> HTMLResponse:
    """One patient: assessment, monitoring, trends and scans."""
    data = _patient(request, session, patient_id, "view_patient")
    return page(request, "patient.html.j2", pid=patient_id,
                body=_patient_body(request, patient_id, data),
                jobs=state(request).jobs.for_patient(patient_id), active="patients")


@router.get("/import")
def import_page(request: Request, session: SignedIn) -> HTMLResponse:
    """The import form (clinicians only)."""
    if not session.can_write:
        raise Refused("viewers may read but not import")
    return page(request, "import.html.j2", active="import",
                max_mb=state(request).config.max_upload_bytes // 2**20)


@router.post("/import")
async def import_submit(request: Request,
                        session: SignedIn) -> Response:
    """Queue a case file, FHIR Bundle or CT zip from the form; the page shows its progress."""
    if not session.can_write:
        raise Refused("viewers may read but not import")
    upload, fields = await read_form(request)
    try:
        check_csrf(session, fields.get(CSRF_FIELD))
        imported = await import_upload(state(request), session, upload, fields)
    finally:
        await upload.close()
    return page(request, "import.html.j2", imported=imported, active="import",
                max_mb=state(request).config.max_upload_bytes // 2**20)


@router.get("/jobs/{job_id}")
def job_partial(request: Request, job_id: str,
                session: SignedIn) -> HTMLResponse:
    """Progress of an import (polled by htmx until it finishes)."""
    job = state(request).jobs.get(job_id)
    if job is None:
        raise UnknownPatient(job_id)
    return page(request, "_job.html.j2", job=job)
