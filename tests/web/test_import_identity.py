"""Patient identity through the web import (loopback TestClient, bounded): a same-identifier
conflict answers 409 unless merge=true, ids with reserved characters are reachable, malformed
CT zips and failed CT jobs answer one line without the server's paths."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import WebEnv, import_case, sign_in

from synthea import needs_synthea, patient_of, slim_bundle


def _import(client: TestClient, csrf: str, name: str, content: bytes, **fields: str) -> Any:
    return client.post("/api/patients/import", files={"file": (name, content)}, data=fields,
                       headers={"X-CSRF-Token": csrf})


def _bundle(prefix: str, value: str) -> bytes:
    bundle = slim_bundle(prefix, observations=2)
    patient_of(bundle)["identifier"] = [{"system": "urn:hospital-a", "value": value}]
    return json.dumps(bundle).encode()


@needs_synthea
def test_conflict_fails_the_job_and_merge_true_files_it(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    first = import_case(app_client, csrf, "a.json", _bundle("Clarine_O'Keefe", "100234"))
    assert (first["state"], first["outcome"], first["patients"]) == ("done", "added",
                                                                     ["100234"])
    other = _bundle("Louis_Maggio", "100234")
    refused = import_case(app_client, csrf, "b.json", other)
    assert refused["state"] == "failed" and refused["patients"] == []
    assert "another sex and birth date" in refused["error"] and "\n" not in refused["error"]
    assert app_client.get("/api/patients/100234").json()["patient"]["sex"] == "female"
    assert _import(app_client, csrf, "b.json", other, merge="maybe").status_code == 422
    merged = import_case(app_client, csrf, "b.json", other, merge="true")
    assert (merged["state"], merged["patients"]) == ("done", ["100234"])
    assert app_client.get("/api/patients/100234").json()["patient"]["sex"] == "male"


@needs_synthea
def test_an_id_with_reserved_characters_is_reachable(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    pid = "ward/7?#% 100234"
    assert import_case(app_client, csrf, "a.json", _bundle("Louis_Maggio", pid))[
        "patients"] == [pid]
    encoded = quote(pid, safe="")
    assert f'href="/patients/{encoded}"' in app_client.get("/patients").text
    page = app_client.get(f"/patients/{encoded}")
    assert page.status_code == 200
    assert f'href="/patients/{encoded}/record.json"' in page.text
    assert app_client.get(f"/patients/{encoded}/record.json").json()["patient"]["id"] == pid
    assert app_client.get(f"/api/patients/{encoded}").json()["patient"]["id"] == pid
    assert app_client.get(f"/api/patients/{encoded}/assessment").status_code == 200
    assert app_client.get("/patients/ward").status_code == 404  # not a prefix match


def _zip(entries: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in entries:
            zf.writestr(name, b"DICM" * 64)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the zip is malformed on purpose
@pytest.mark.parametrize(("entries", "words"), [
    (["a.dcm", "a.dcm"], "two entries named 'a.dcm'"),
    (["a", "a/b.dcm"], "'a' is a file and a folder"),
    (["a/b.dcm", "a"], "'a' is a file and a folder"),
    ([".", "b.dcm"], "names the folder itself"),
    (["x" * 300 + ".dcm"], "name too long"),
])
def test_malformed_zips_are_refused_in_one_line(web_env: WebEnv, app_client: TestClient,
                                                entries: list[str], words: str) -> None:
    csrf = sign_in(app_client, "doc")
    answer = _import(app_client, csrf, "ct.zip", _zip(entries), patient_id="P-1")
    assert answer.status_code == 422
    assert words in answer.text and str(web_env.data_dir) not in answer.text
    assert not list((web_env.data_dir / "scans").glob("*"))  # nothing left behind


def test_a_failed_ct_job_does_not_show_the_servers_path(web_env: WebEnv,
                                                        app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    answer = _import(app_client, csrf, "ct.zip", _zip(["slices/1.dcm"]), patient_id="P-1")
    assert answer.status_code == 202
    job: dict[str, Any] = {}
    for _ in range(300):
        job = app_client.get(answer.json()["job"]["status_url"]).json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["state"] == "failed"
    assert job["error"] and str(Path(web_env.data_dir).resolve()) not in job["error"]
    assert str(web_env.data_dir) not in job["error"] and "\n" not in job["error"]
