"""``--token`` reaches the server as a bearer token; a bad URL is one line (no server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest


class _Refusing(BaseHTTPRequestHandler):
    """Records the Authorization header of each request and answers 401."""

    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        _Refusing.seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Refusing.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    server.shutdown()
    server.server_close()


def test_token_is_sent_as_bearer(run_cli, refusing: str, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    run = run_cli("pacs", "scan", refusing, "--study", "1.2.3", "--token", "t0k3n")
    assert run.code == 2 and "HTTP 401" in run.stderr and run.stderr.count("\n") == 1
    assert _Refusing.seen == ["Bearer t0k3n"]


def test_not_a_url_is_one_line(run_cli) -> None:
    run = run_cli("pacs", "scan", "pacs.example/dicom-web", "--study", "1.2.3")
    assert run.code == 2 and "http(s)" in run.stderr and run.stderr.count("\n") == 1
