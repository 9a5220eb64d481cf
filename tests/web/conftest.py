"""Web fixtures: an app on a temporary SQLite record with a clinician and a viewer."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ectocalc.record import create_user, open_store
from ectocalc.web import WebConfig, ZipLimits, create_app, hash_password

EXAMPLES = Path(__file__).parents[2] / "examples" / "cases"
PASSWORDS = {"doc": "clinician-pass-1", "viv": "viewer-pass-1"}
MAX_UPLOAD = 8 * 2**20


@dataclass
class WebEnv:
    """One application on its own record and data folder."""

    config: WebConfig
    db_url: str
    data_dir: Path

    def client(self) -> TestClient:
        """A client that does not follow redirects (tests check them)."""
        return TestClient(create_app(self.config), follow_redirects=False)


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with argon2-cffi's cheapest parameters: a check in about a millisecond
    instead of 64 MiB and a quarter second, so the sign-in tests make dozens of them quickly.
    ``test_units.test_passwords_are_salted_argon2id`` checks the production parameters."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from ectocalc.web import _security

    hasher = PasswordHasher.from_parameters(CHEAPEST)
    monkeypatch.setattr(_security, "_HASHER", hasher)
    monkeypatch.setattr(_security, "_DUMMY_HASH", hasher.hash("not a password"))


@pytest.fixture
def web_env(tmp_path: Path) -> WebEnv:
    url = f"sqlite:///{tmp_path / 'record.db'}"
    store = open_store(url)
    create_user(store, "doc", "clinician", hash_password(PASSWORDS["doc"]))
    create_user(store, "viv", "viewer", hash_password(PASSWORDS["viv"]))
    store.dispose()
    config = WebConfig(db_url=url, data_dir=tmp_path / "web", max_upload_bytes=MAX_UPLOAD,
                       zip_limits=ZipLimits(max_entries=500, max_unpacked_bytes=64 * 2**20))
    return WebEnv(config=config, db_url=url, data_dir=tmp_path / "web")


def sign_in(client: TestClient, user: str) -> str:
    """Sign in through the API; returns the CSRF token."""
    answer = client.post("/api/login", json={"username": user, "password": PASSWORDS[user]})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf_token"])


def wait_job(client: TestClient, job_id: str) -> dict[str, Any]:
    """Poll ``/api/jobs/{job_id}`` until the import is done or failed; returns the job."""
    for _ in range(600):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("import job did not finish")


def import_case(client: TestClient, csrf: str, name: str, content: bytes,
                **fields: str) -> dict[str, Any]:
    """Import a case file or Bundle through the API: queued (202), then its finished job."""
    answer = client.post("/api/patients/import", files={"file": (name, content)}, data=fields,
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["kind"] == "case" and body["status"] == "queued"
    return wait_job(client, body["job"]["id"])


@pytest.fixture
def app_client(web_env: WebEnv) -> Iterator[TestClient]:
    with web_env.client() as client:
        yield client


@pytest.fixture(scope="session")
def phantom_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled CT phantom's DICOM series as a .zip (what a clinician uploads)."""
    from ectocalc.datasets import write_phantom

    folder = tmp_path_factory.mktemp("phantom")
    write_phantom(folder / "ph", anatomy=False)
    archive = folder / "phantom-ct.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((folder / "ph" / "dicom").iterdir()):
            zf.write(path, f"dicom/{path.name}")
    return archive
