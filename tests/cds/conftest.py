"""The tests act as the EHR: a real EC P-384 key signs the JWTs, its JWK Set is served over HTTP
on 127.0.0.1 (a small http.server thread), and the same server stands in for the EHR's FHIR
server where a test needs one. No FHIR server can be installed here from the registries, so
that part is a test double serving FHIR search results (searchset Bundles, paged with
``link`` ``next``) and it says so.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from ectocalc.cds import trust_issuer
from ectocalc.web import WebConfig, create_app
from ectocalc.web._cds import CdsState

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
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
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


@pytest.fixture(scope="session")
def loopback() -> Iterator[Loopback]:
    served = Loopback()
    server = _server(served)
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def ehr_key() -> ECKey:
    """The EHR's signing key (EC P-384, ES384) and its public JWK Set on the loopback server."""
    return ECKey.generate_key("P-384", parameters={"kid": KID, "alg": "ES384", "use": "sig"})


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


@pytest.fixture
def ehr(tmp_path: Path, ehr_key: ECKey, loopback: Loopback) -> Iterator[Ehr]:
    loopback.routes["/jwks.json"] = {"keys": [ehr_key.as_dict(private=False)]}
    trust_file = tmp_path / "cds-trust.json"
    trust_issuer(trust_file, ISS, loopback.url("/jwks.json"),
                 jku=(loopback.url("/jwks-rotated.json"),))
    app = create_app(WebConfig(db_url=f"sqlite:///{tmp_path / 'record.db'}",
                               data_dir=tmp_path / "web"))
    app.state.cds = CdsState(trust_file=trust_file)
    with TestClient(app, base_url=BASE) as client:
        yield Ehr(client=client, key=ehr_key, loopback=loopback, trust_file=trust_file)
