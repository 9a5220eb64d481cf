"""Helpers of the CDS tests, which act as the EHR: a real EC P-384 key signs the JWTs, its JWK
Set is served over HTTP on 127.0.0.1 (a small http.server thread), and the same server stands in
for the EHR's FHIR server where a test needs one. No FHIR server can be installed here from the
registries, so that part is a test double serving FHIR search results (searchset Bundles, paged
with ``link`` ``next``) and it says so.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

ISS = "https://ehr.example.org"
BASE = "http://testserver"
KID = "ehr-key-1"


@dataclass
class Loopback:
    """A tiny HTTP server on 127.0.0.1: JSON documents by path (and query), requests logged."""

    routes: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _server(loopback: Loopback) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            loopback.requests.append((self.path, self.headers.get("Authorization")))
            body = loopback.routes.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@dataclass
class Ehr:
    """Signs CDS Hooks JWTs as the trusted EHR would, and calls the service."""

    client: TestClient
    key: ECKey
    loopback: Loopback
    trust_file: Path

    def token(self, path: str, *, header: dict[str, Any] | None = None,
              key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISS, "aud": BASE + path, "exp": now + 300, "iat": now,
                   "jti": str(uuid.uuid4()), "tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2",
                   **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        head = {"alg": "ES384", "typ": "JWT", "kid": KID, **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        return jwt.encode(head, payload, key or self.key, algorithms=[head["alg"]])

    def call(self, service: str, body: dict[str, Any], **token: Any) -> Any:
        path = f"/cds-services/{service}"
        return self.client.post(path, json=body, headers={
            "Authorization": f"Bearer {self.token(path, **token)}"})
