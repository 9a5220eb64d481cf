"""CDS Hooks 2.0 routes (contract §8): discovery, service calls and feedback.

Every call carries the EHR's JWT (:mod:`ectocalc.web._cds_auth`); without an acceptable one the
answer is 401. A call's data come from ``prefetch`` when given, else from FHIR searches against
``fhirServer`` with the bearer token of ``fhirAuthorization`` (``link`` ``next`` followed, on
the same server only); without either, 412 as the specification asks. The data are read by the
project's FHIR reader into one case, assessed once (:func:`ectocalc.service.assess_case`, with
the CT scans the record holds for the patient), and the cards are made from that assessment.
Calls and feedback are appended to the record's audit log (no patient data in server logs).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ectocalc import cds, service
from ectocalc.errors import InputError
from ectocalc.knowledge import Knowledge
from ectocalc.web._auth import state
from ectocalc.web._cds_auth import CdsAuth, CdsUnauthorized

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
log = logging.getLogger("ectocalc.web.cds")
MAX_PAGES = 50
"""Search pages followed per prefetch key (a whole-life record is a few thousand results)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of this server's clock the EHR's results may be stamped."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Body):
    access_token: str
    token_type: str = "Bearer"


class HookRequest(_Body):
    """A CDS Hooks 2.0 request body."""

    hook: str
    hookInstance: str
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class OverrideReason(_Body):
    reason: dict[str, Any] | None = None
    userComment: str | None = None


class Feedback(_Body):
    card: str
    outcome: str = Field(pattern="^(accepted|overridden)$")
    acceptedSuggestions: list[dict[str, Any]] = Field(default_factory=list)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str


class FeedbackBody(_Body):
    feedback: list[Feedback]


@dataclass
class CdsState:
    """The trusted issuers (re-read when the trust file changes) and the JWT checker."""

    trust_file: Path
    auth: CdsAuth = field(default_factory=lambda: CdsAuth(issuers={}))
    _mtime: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def checker(self) -> CdsAuth:
        """The JWT checker with the issuers of the trust file as it is now."""
        with self._lock:
            mtime = self.trust_file.stat().st_mtime if self.trust_file.exists() else None
            if mtime != self._mtime:
                self.auth.issuers = cds.read_trust(self.trust_file)
                self._mtime = mtime
        return self.auth


class _Precondition(Exception):
    """The data a service needs cannot be had (412)."""


def _cds_state(request: Request) -> CdsState:
    app_state = request.app.state
    if getattr(app_state, "cds", None) is None:
        app_state.cds = CdsState(trust_file=cds.default_trust_file())
    found: CdsState = app_state.cds
    return found


def _base_url(request: Request) -> str:
    configured = os.environ.get("ECTOCALC_PUBLIC_URL")
    return (configured or str(request.base_url)).rstrip("/")


def _authenticate(request: Request, *paths: str) -> dict[str, Any]:
    base = _base_url(request)
    return _cds_state(request).checker().verify(
        request.headers.get("Authorization"), tuple(base + path for path in paths))


def _unauthorized(error: CdsUnauthorized) -> JSONResponse:
    log.info("CDS call refused: %s", error)
    return JSONResponse({"detail": "not authenticated"}, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer realm="cds-services"'})


def _bad_body(error: ValidationError) -> JSONResponse:
    """400 naming the first field of the request body at fault."""
    first = error.errors()[0]
    where = ".".join(str(x) for x in first["loc"])
    return JSONResponse({"detail": f"request body: {where}: {first['msg']}"}, status_code=400)


def _knowledge(request: Request) -> Knowledge:
    """The knowledge bundle this application judges with (its configured one, else packaged)."""
    return state(request).config.knowledge or service.default_knowledge()


@router.get("", responses={401: {}})
def discover(request: Request) -> Response:
    """CDS Hooks discovery: the services and their prefetch templates."""
    try:
        _authenticate(request, "/cds-services")
    except CdsUnauthorized as error:
        return _unauthorized(error)
    return JSONResponse(cds.discovery(_knowledge(request)))


@router.post("/{service_id}", responses={400: {}, 401: {}, 404: {}, 412: {}, 422: {}})
async def call(service_id: str, request: Request) -> Response:
    """Call a service: ``{"cards": [...]}``."""
    try:
        claims = _authenticate(request, f"/cds-services/{service_id}")
    except CdsUnauthorized as error:
        return _unauthorized(error)
    if service_id not in cds.SERVICES:
        return JSONResponse({"detail": "no such CDS service"}, status_code=404)
    try:
        body = HookRequest.model_validate_json(await request.body())
    except ValidationError as error:
        return _bad_body(error)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_answer, request, service_id, body, str(claims["iss"]))


def _answer(request: Request, service_id: str, body: HookRequest, client: str) -> Response:
    from ectocalc import record

    hook = cds.SERVICES[service_id][0]
    if body.hook != hook:
        return JSONResponse({"detail": f"{service_id} answers the {hook} hook"},
                            status_code=400)
    patient = body.context.get("patientId")
    if not isinstance(patient, str) or not patient:
        return JSONResponse({"detail": "context.patientId is required"}, status_code=400)
    knowledge = _knowledge(request)
    now = datetime.now(UTC)
    try:
        parts = _gather(body, cds.prefetch_templates(knowledge))
    except _Precondition as error:
        return JSONResponse({"detail": str(error)}, status_code=412)
    given = parts.get("patient")
    if isinstance(given, dict) and given.get("id") not in (None, patient):
        return JSONResponse({"detail": "prefetch patient: not the Patient of "
                                       "context.patientId"}, status_code=422)
    try:  # a result stamped a little ahead of this server's clock is still read
        case = service.read_bundle(cds.bundle_of(parts, timestamp=now + CLOCK_SKEW),
                                   source=f"CDS {hook} data")
    except InputError as error:
        return JSONResponse({"detail": str(error)}, status_code=422)
    today = now.date()
    web = state(request)
    key = case.patient.id or patient
    assessment = service.assess_case(case, knowledge=knowledge, as_of=today,
                                     scans=record.scans_for(web.store, key, today))
    context = cds.CardContext(base_url=_base_url(request), patient_id=key,
                              not_used=assessment.skipped_inputs)
    if hook == "patient-view":
        last: dict[str, Any] = {}
        for lab in case.labs:
            if lab.date is not None and lab.date <= today:
                last[lab.analyte] = max(lab.date, last.get(lab.analyte, lab.date))
        due = record.monitoring_due(assessment.monitoring, last, today,
                                    record.record_rules(knowledge))
        cards = cds.patient_view_cards(assessment, context, knowledge=knowledge,
                                       monitoring_due=due)
    else:
        drafts = cds.draft_orders(body.context.get("draftOrders"))
        selected = body.context.get("selections")
        if hook == "order-select" and isinstance(selected, list):
            drafts = [d for d in drafts if d.reference in selected]
        findings = cds.check_orders(drafts, case, assessment, knowledge=knowledge)
        cards = cds.order_cards(findings, context, knowledge=knowledge)
    record.audit(web.store, client[:100], "cds_call", patient_id=key,
                 detail=f"{service_id} hookInstance={body.hookInstance[:100]} "
                        f"cards={len(cards)}")
    return JSONResponse({"cards": cards})


def _gather(body: HookRequest, templates: dict[str, str]) -> dict[str, Any]:
    """Each prefetch key's data: as prefetched, else searched on ``fhirServer``."""
    given = body.prefetch or {}
    parts: dict[str, Any] = {}
    for key, template in templates.items():
        if key in given:
            parts[key] = given[key]
            continue
        if body.fhirServer is None or body.fhirAuthorization is None:
            raise _Precondition(f"prefetch {key!r} missing and no fhirServer with "
                                "fhirAuthorization to search")
        parts[key] = fhir_get(body.fhirServer, cds.fill(template, body.context),
                              body.fhirAuthorization.access_token)
    return parts


def fhir_get(server: str, relative: str, token: str) -> Any:
    """A FHIR read or search on ``server`` with the bearer ``token``; a search's pages are
    followed (``link`` ``next``, same server only) into one ``searchset`` Bundle.

    Raises
    ------
    _Precondition
        The server refuses, cannot be reached, or sends what is not FHIR JSON.
    """
    base = server.rstrip("/") + "/"
    origin = urlsplit(base)[:2]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    url: str | None = urljoin(base, relative)
    entries: list[Any] = []
    try:
        with httpx.Client(timeout=20.0, headers=headers, follow_redirects=False) as client:
            for _ in range(MAX_PAGES):
                assert url is not None
                response = client.get(url)
                if response.status_code == 404 and relative.startswith("Patient/"):
                    raise _Precondition("the FHIR server has no such Patient")
                response.raise_for_status()
                page = response.json()
                if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
                    return page  # a read: the resource itself
                entries.extend(page.get("entry") or [])
                url = next((link.get("url") for link in page.get("link") or []
                            if isinstance(link, dict) and link.get("relation") == "next"),
                           None)
                if url is None:
                    break
                if urlsplit(url)[:2] != origin:
                    raise _Precondition("a next-page link leaves the FHIR server")
            else:
                raise _Precondition(f"more than {MAX_PAGES} pages of search results")
    except (httpx.HTTPError, ValueError) as error:
        raise _Precondition(f"FHIR server: {type(error).__name__}") from None
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


@router.post("/{service_id}/feedback", responses={400: {}, 401: {}, 404: {}})
async def feedback(service_id: str, request: Request) -> Response:
    """Feedback on cards (accepted suggestions, overrides): appended to the audit log."""
    try:
        claims = _authenticate(request, f"/cds-services/{service_id}/feedback",
                               f"/cds-services/{service_id}")
    except CdsUnauthorized as error:
        return _unauthorized(error)
    if service_id not in cds.SERVICES:
        return JSONResponse({"detail": "no such CDS service"}, status_code=404)
    try:
        body = FeedbackBody.model_validate_json(await request.body())
    except ValidationError as error:
        return _bad_body(error)
    from ectocalc.record import audit

    store = state(request).store
    for item in body.feedback:
        reason = (item.overrideReason.reason or {}) if item.overrideReason else {}
        accepted = ",".join(str(s.get("id")) for s in item.acceptedSuggestions)
        detail = (f"{service_id} card={item.card[:80]} outcome={item.outcome}"
                  + (f" accepted={accepted[:200]}" if accepted else "")
                  + (f" reason={str(reason.get('code'))[:80]}" if reason.get("code") else "")
                  + f" at={item.outcomeTimestamp[:40]}")
        audit(store, str(claims["iss"])[:100], "cds_feedback", detail=detail)
    return Response(status_code=200)
