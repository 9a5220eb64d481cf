"""ASGI middleware: security headers, request body limit, proxy headers, an access log without PHI.

* Every response gets a Content-Security-Policy that allows only this server's own scripts,
  styles and images (no inline script, no ``eval``), plus ``nosniff``, no referrer, no framing,
  and ``no-store`` caching for everything but the vendored static files.
* A request body larger than the limit is refused with 413 before the application reads it
  (declared ``Content-Length``), or as soon as the streamed bytes pass it.
* ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed only when the connection comes
  from a configured proxy (:class:`ProxyHeaders`); from anyone else they are ignored, so a
  client cannot pick the address its sign-in attempts are counted under.
* The access log names the route *template* (``/patients/{patient_id}``), never the path,
  so patient ids do not reach server logs; uvicorn's own access log is switched off.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
"""The Content-Security-Policy of every page (reports downloaded as HTML get their own)."""

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

access_log = logging.getLogger("ectocalc.web.access")


class _HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests (:meth:`http`) and passes the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def security_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The hardening headers a response to ``path`` that already has ``headers`` lacks."""
    names = {k.lower() for k, _ in headers}
    extra = [(k, v) for k, v in _HEADERS if k not in names]
    if b"content-security-policy" not in names:
        extra.append((b"content-security-policy", CSP.encode()))
    if not path.startswith("/static/") and b"cache-control" not in names:
        extra.append((b"cache-control", b"no-store"))
    return extra


class SecurityHeaders(_HttpMiddleware):
    """Add the CSP and hardening headers (a route may set its own CSP first)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                message["headers"] = headers + security_headers(scope["path"], headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(given: Iterable[str]) -> tuple[Network, ...]:
    """Parse trusted proxy addresses or networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``).

    Raises
    ------
    ValueError
        A value that is neither (naming it).

    Examples
    --------
    >>> [str(n) for n in proxy_networks(["127.0.0.1", " 10.0.0.0/8 ", ""])]
    ['127.0.0.1/32', '10.0.0.0/8']
    """
    networks = []
    for item in given:
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{item.strip()!r} is not an IP address or network") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class ProxyHeaders(_HttpMiddleware):
    """Take the client address and scheme from a trusted proxy's ``X-Forwarded-*`` headers.

    Only when the peer is one of ``trusted``: the client is the right-most address of
    ``X-Forwarded-For`` that is not itself a trusted proxy (addresses further left were
    written by the client and prove nothing). From any other peer the headers are ignored.
    """

    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...]) -> None:
        super().__init__(app)
        self.trusted = trusted

    def _is_trusted(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in net for net in self.trusted)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.trusted and client and self._is_trusted(client[0]):
            headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            hops = [h.strip() for h in headers.get(b"x-forwarded-for", "").split(",")]
            hops = [h for h in hops if _address(h) is not None]
            while hops and self._is_trusted(hops[-1]):
                hops.pop()
            scope = dict(scope)
            if hops:
                scope["client"] = (str(_address(hops[-1])), 0)
            proto = headers.get(b"x-forwarded-proto", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class BodyLimit(_HttpMiddleware):
    """Refuse request bodies over ``max_bytes`` with 413 (JSON for ``/api``, text otherwise)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = "upload too large"
        if scope["path"].startswith("/api/"):
            payload = json.dumps({"detail": body}).encode()
            kind = b"application/json"
        else:
            payload, kind = body.encode(), b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", kind),
                                (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)


class AccessLog(_HttpMiddleware):
    """One log line per request: method, route template, status, milliseconds."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or "(unmatched)"
            access_log.info("%s %s %s %.0fms", scope["method"], template, status["code"],
                            1000 * (time.perf_counter() - start))
