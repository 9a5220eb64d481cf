"""The FastAPI application: wiring, error answers, sign-in and sign-out, health, API docs."""

from __future__ import annotations

import gc
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ectocalc import __version__
from ectocalc.model.scan import ScanResult
from ectocalc.record import Store, UserRow
from ectocalc.web._auth import (
    SESSION_COOKIE,
    NotSignedIn,
    Refused,
    SignedIn,
    check_csrf,
    cookie_secure,
    state,
)
from ectocalc.web._jobs import Finish, Job, JobRunner
from ectocalc.web._middleware import (
    AccessLog,
    BodyLimit,
    ProxyHeaders,
    SecurityHeaders,
    proxy_networks,
    security_headers,
)
from ectocalc.web._patients import PatientCache, UnknownPatient
from ectocalc.web._security import (
    Busy,
    PasswordChecks,
    Session,
    Throttled,
    credential_tag,
    hash_password,
    needs_rehash,
    same_token,
)
from ectocalc.web._state import WebConfig, WebState, default_data_dir
from ectocalc.web._templates import render_page
from ectocalc.web._uploads import UploadRefused
from ectocalc.web._viewer import CACHE_FILE, TYPE_COLOURS, load_stack, save_stack

LOGIN_COOKIE = "ectocalc_login"
"""Pre-session token of the sign-in form (double-submit CSRF protection of the form)."""

log = logging.getLogger("ectocalc.web")


class Credentials(BaseModel):
    """``POST /api/login`` body."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class CsrfAnswer(BaseModel):
    """``POST /api/login`` answer: send ``csrf_token`` back as ``X-CSRF-Token``."""

    csrf_token: str


def is_api(request: Request) -> bool:
    """Requests answered with JSON errors rather than pages."""
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def page(request: Request, name: str, *, status: int = 200, **context: object) -> HTMLResponse:
    """An HTML page for the signed-in user (or the sign-in page)."""
    session = state(request).sessions.get(request.cookies.get(SESSION_COOKIE))
    return HTMLResponse(render_page(name, session=session, version=__version__, **context),
                        status_code=status)


def signin_page(request: Request, *, next: str | None, error: str | None = None,
                status: int = 200) -> Response:
    """The sign-in form, with its pre-session CSRF token (cookie and hidden field)."""
    import secrets

    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "signin.html.j2", status=status, login_token=token,
                    next=next, error=error)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=cookie_secure(request), path="/")
    return response


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


def _record_scan(store: Store) -> Finish:
    """The job runner's last step: put the quantified scan into the record."""

    def finish(job: Job, scan_dir: Path) -> None:
        from ectocalc.errors import InputError
        from ectocalc.io.files import atomic_write
        from ectocalc.record import add_scan, audit

        written = scan_dir / "out" / "scan.json"
        result = ScanResult.model_validate_json(written.read_text())
        if result.study_date is None:
            if job.fallback_date is None:
                raise InputError("CT", "StudyDate", "the CT has no study date: give one")
            result = result.model_copy(update={"study_date": job.fallback_date})
            text = result.model_dump_json(indent=2)
            atomic_write(written, lambda tmp: tmp.write_text(text))
        # the viewer's slice cache, built now so the first look at the scan is quick
        save_stack(load_stack(scan_dir / "dicom", scan_dir / "out" / "seg.dcm"),
                   scan_dir / CACHE_FILE)
        add_scan(store, result, patient_id=job.patient_id, name="CT import")
        audit(store, job.username, "scan_added", patient_id=job.patient_id,
              detail=scan_dir.name)

    return finish


def create_app(config: WebConfig | None = None) -> FastAPI:
    """Build the web application on the record of ``config.db_url``.

    Raises
    ------
    InputError
        The record cannot be opened, or a trusted proxy is not an address or network.
    """
    from ectocalc.errors import InputError
    from ectocalc.record import open_store

    config = config or WebConfig()
    try:
        proxies = proxy_networks(config.trusted_proxies)
    except ValueError as error:
        raise InputError("serve", "--trusted-proxy", str(error)) from None
    store = open_store(config.db_url)
    web = WebState(config=config, store=store,
                   data_dir=(config.data_dir or default_data_dir()).resolve(),
                   jobs=JobRunner(_record_scan(store)),
                   patients=PatientCache(store, knowledge=config.knowledge),
                   checks=PasswordChecks(workers=config.password_workers))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        web.patients.warm()
        # the objects of start-up (knowledge base, templates, modules) live as long as the
        # server: kept out of the cyclic collector, a full collection under load stays short
        gc.freeze()
        yield
        web.patients.stop()
        web.jobs.shutdown()
        web.checks.shutdown()
        store.dispose()

    app = FastAPI(title="ectocalc", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None,
                  description="Ectopic calcification decision support: the patient record "
                              "and assessments. Sign in with POST /api/login; send the "
                              "returned csrf_token as X-CSRF-Token on every POST.")
    app.state.web = web
    app.add_middleware(BodyLimit, max_bytes=config.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    app.add_middleware(ProxyHeaders, trusted=proxies)
    static = files("ectocalc.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    _error_answers(app)
    _sign_in_routes(app)

    from ectocalc.web._api import router as api_router
    from ectocalc.web._cds import router as cds_router
    from ectocalc.web._pages import router as page_router
    from ectocalc.web._users import router as users_router

    app.include_router(api_router)
    app.include_router(cds_router)
    app.include_router(page_router)
    app.include_router(users_router)
    return app


def _error_answers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        if is_api(request):
            return JSONResponse({"detail": error.reason}, status_code=403)
        return page(request, "error.html.j2", status=403, title="Not allowed",
                    message=error.reason)

    @app.exception_handler(UnknownPatient)
    async def unknown(request: Request, _: UnknownPatient) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "no such patient"}, status_code=404)
        return page(request, "error.html.j2", status=404, title="Not found",
                    message="There is no such patient in the record.")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        # answered by Starlette's outermost error middleware, outside SecurityHeaders: the
        # hardening headers are added here; the message (which may quote a server path or
        # patient data) is not shown, only logged by type and place
        log.error("internal error: %s\n%s", type(error).__name__,
                  "".join(traceback.format_tb(error.__traceback__)))
        if is_api(request):
            response: Response = JSONResponse({"detail": "internal error"}, status_code=500)
        else:
            response = HTMLResponse(render_page(
                "error.html.j2", session=None, version=__version__, title="Something went wrong",
                message="The server could not answer this request; it has been logged."),
                status_code=500)
        response.raw_headers.extend(security_headers(request.url.path, response.raw_headers))
        return response

    @app.exception_handler(UploadRefused)
    async def upload_refused(request: Request, error: UploadRefused) -> Response:
        if is_api(request):
            return JSONResponse({"detail": str(error)}, status_code=error.status)
        return page(request, "import.html.j2", status=error.status, error=str(error),
                    active="import", max_mb=state(request).config.max_upload_bytes // 2**20)


def _sign_in_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        # async: answered on the event loop, never queued behind threads busy with work
        return {"status": "ok"}

    @app.get("/types.css", include_in_schema=False)
    def type_colours() -> Response:
        css = "".join(f".swatch-{t}{{background:rgb{rgb}}}\n" for t, rgb in TYPE_COLOURS.items())
        return Response(css, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})

    async def _attempt(request: Request, username: str, password: str) -> Session | None:
        """Check a password (reserved with the throttle first); start a session on success.

        Raises
        ------
        Throttled, Busy
            Refused before any check.
        Refused
            The password is right but the account is disabled.
        """
        from ectocalc.record import user_key

        web = state(request)
        address = request.client.host if request.client else "-"
        attempt = web.throttle.reserve(user_key(username)[:100], address)
        ok: bool | None = None
        try:
            user = await web.checks.run(_check_password, web, username, password)
            ok = user is not None
        finally:
            web.throttle.settle(attempt, ok=ok)
        if user is None:
            return None
        if user.disabled:
            raise Refused("this account is disabled; ask an administrator")
        return web.sessions.create(user.username, user.role,
                                   credential=credential_tag(user.password_hash))

    def _set_cookie(request: Request, response: Response, session: Session) -> None:
        response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="lax",
                            secure=cookie_secure(request), path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/")

    @app.post("/api/login", tags=["session"], responses={401: {}, 403: {}, 429: {}, 503: {}})
    async def api_login(body: Credentials, request: Request) -> Response:
        """Sign in; sets the session cookie and returns the CSRF token for later calls."""
        try:
            session = await _attempt(request, body.username, body.password)
        except Throttled as throttled:
            return JSONResponse({"detail": "too many failed sign-ins; try again in "
                                           f"{throttled.retry_after} s"}, status_code=429,
                                headers={"Retry-After": str(throttled.retry_after)})
        except Busy:
            return JSONResponse({"detail": "busy; try again in a second"}, status_code=503,
                                headers={"Retry-After": "1"})
        if session is None:
            return JSONResponse({"detail": "wrong user name or password"}, status_code=401)
        response = JSONResponse(CsrfAnswer(csrf_token=session.csrf_token).model_dump())
        _set_cookie(request, response, session)
        return response

    @app.post("/api/logout", tags=["session"], status_code=204, responses={401: {}, 403: {}})
    def api_logout(request: Request, session: SignedIn) -> Response:
        """End the session (needs ``X-CSRF-Token``)."""
        check_csrf(session, request.headers.get("X-CSRF-Token"))
        return _sign_out(request, session, Response(status_code=204))

    def _sign_out(request: Request, session: Session, response: Response) -> Response:
        from ectocalc.record import audit

        web = state(request)
        web.sessions.drop(session.token)
        audit(web.store, session.username, "logout")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request, username: Annotated[str, Form(max_length=100)],
               password: Annotated[str, Form(max_length=1000)],
               csrf_token: Annotated[str, Form()] = "",
               next: Annotated[str, Form()] = "") -> Response:
        if not same_token(request.cookies.get(LOGIN_COOKIE, ""), csrf_token) or not csrf_token:
            return signin_page(request, next=next, status=403,
                                error="The sign-in form expired; please try again.")
        try:
            session = await _attempt(request, username, password)
        except Throttled as throttled:
            return signin_page(request, next=next, status=429,
                               error="Too many failed sign-ins; try again in "
                                     f"{_wait_words(throttled.retry_after)}.")
        except Busy:
            return signin_page(request, next=next, status=503,
                               error="The server is busy; please try again in a second.")
        if session is None:
            return signin_page(request, next=next, status=401,
                                error="Wrong user name or password.")
        response = RedirectResponse(safe_next(next), status_code=303)
        _set_cookie(request, response, session)
        return response

    @app.post("/signout", include_in_schema=False)
    def signout(request: Request, session: SignedIn,
                csrf_token: Annotated[str, Form()] = "") -> Response:
        check_csrf(session, csrf_token)
        return _sign_out(request, session, RedirectResponse("/", status_code=303))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request, _: SignedIn) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, _: SignedIn) -> HTMLResponse:
        return page(request, "docs.html.j2")


def _check_password(web: WebState, username: str, password: str) -> UserRow | None:
    """Look the user up, check the password, audit the outcome; the user when it is right.

    Runs on the password pool's threads (:meth:`PasswordChecks.run`). A hash made with older
    parameters is re-made now that the password is known.
    """
    from ectocalc.record import audit, get_user, set_password_hash

    user = get_user(web.store, username)
    if not web.checks.check(user.password_hash if user else None, password) or user is None:
        audit(web.store, username, "login_failed")
        return None
    if user.disabled:
        audit(web.store, user.username, "login_refused_disabled")
    elif needs_rehash(user.password_hash):
        user = set_password_hash(web.store, user.username, hash_password(password),
                                 by=user.username, action="password_rehashed")
    if not user.disabled:
        audit(web.store, user.username, "login")
    return user


def _wait_words(seconds: int) -> str:
    """``45`` → "45 seconds", ``600`` → "10 minutes" (rounded up)."""
    return f"{seconds} seconds" if seconds < 120 else f"{-(-seconds // 60)} minutes"


__all__ = ["WebConfig", "create_app"]
