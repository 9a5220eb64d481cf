"""A CT imported through the API: background quantification, viewer, slices, SEG/SR/CSV."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.web.conftest import WebEnv, sign_in, wait_job

from ectocalc.web._viewer import TYPE_COLOURS


@pytest.fixture
def imported(web_env: WebEnv, app_client: TestClient, phantom_zip: Path) -> tuple[str, str]:
    """The phantom imported for its DICOM PatientID; returns (patient id, scan id)."""
    csrf = sign_in(app_client, "doc")
    answer = app_client.post("/api/patients/import",
                             files={"file": ("phantom-ct.zip", phantom_zip.read_bytes())},
                             headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["kind"] == "ct_zip" and body["patients"] == ["ECTOCALC-PHANTOM-0"]
    job = wait_job(app_client, body["job"]["id"])
    assert job["state"] == "done", job["error"]
    (scan_dir,) = (web_env.data_dir / "scans").iterdir()
    return "ECTOCALC-PHANTOM-0", scan_dir.name


def test_ct_import_records_the_scan(web_env: WebEnv, app_client: TestClient,
                                    imported: tuple[str, str]) -> None:
    pid, sid = imported
    truth = json.loads((web_env.data_dir / "scans" / sid / "out" / "scan.json").read_text())
    show = app_client.get(f"/api/patients/{pid}").json()
    assert [p["value"] for p in show["series"]["cac_agatston"]] == [truth["agatston"]]
    assert show["series"]["cac_agatston"][0]["date"] == "2026-01-01"  # DICOM StudyDate
    page = app_client.get(f"/patients/{pid}")
    assert f"/patients/{pid}/scans/{sid}" in page.text


def test_viewer_page_and_slices(web_env: WebEnv, app_client: TestClient,
                                imported: tuple[str, str]) -> None:
    pid, sid = imported
    result = json.loads((web_env.data_dir / "scans" / sid / "out" / "scan.json").read_text())
    viewer = app_client.get(f"/patients/{pid}/scans/{sid}")
    assert viewer.status_code == 200
    for convention in result["conventions"]:
        assert convention["convention"] in viewer.text
    lesion = max(result["lesions"], key=lambda x: x["volume_mm3"])
    index = lesion["slices"][len(lesion["slices"]) // 2]
    assert f'data-slice="{index}"' in viewer.text
    base = f"/patients/{pid}/scans/{sid}/slices/{index}.png"
    with_overlay = Image.open(io.BytesIO(app_client.get(base).content))
    plain = Image.open(io.BytesIO(app_client.get(base, params={"overlay": "0"}).content))
    assert with_overlay.size == plain.size == (256, 256)
    colour = np.array(TYPE_COLOURS[lesion["type"]], dtype=float)
    rgb = np.asarray(with_overlay.convert("RGB"), dtype=float)
    grey = np.asarray(plain.convert("RGB"), dtype=float)
    tinted = np.abs(rgb - grey).sum(axis=2) > 30
    assert tinted.sum() > 10  # the lesion is coloured ...
    shift = (rgb[tinted] - grey[tinted]).mean(axis=0)
    assert np.argmax(shift) == np.argmax(colour - colour.mean())  # ... in its type's colour
    assert app_client.get(f"/patients/{pid}/scans/{sid}/slices/9999.png").status_code == 404
    bad_window = app_client.get(base, params={"window": "nope"})
    assert bad_window.status_code == 404


def test_scan_downloads(app_client: TestClient, imported: tuple[str, str]) -> None:
    pid, sid = imported
    for name in ("seg.dcm", "sr.dcm"):
        answer = app_client.get(f"/patients/{pid}/scans/{sid}/{name}")
        assert answer.content[128:132] == b"DICM"
    csv = app_client.get(f"/patients/{pid}/scans/{sid}/lesions.csv").text
    assert csv.splitlines()[0].startswith("id,type,region")
    other = app_client.get(f"/patients/SOMEONE-ELSE/scans/{sid}/seg.dcm")
    assert other.status_code == 404


def test_unreadable_ct_fails_visibly_and_leaves_nothing(web_env: WebEnv,
                                                       app_client: TestClient) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("dicom/1.dcm", b"not a dicom file at all" * 10)
    csrf = sign_in(app_client, "doc")
    no_id = app_client.post("/api/patients/import", files={"file": ("ct.zip", buffer.getvalue())},
                            headers={"X-CSRF-Token": csrf})
    assert no_id.status_code == 422 and "PatientID" in no_id.json()["detail"]
    answer = app_client.post("/api/patients/import",
                             files={"file": ("ct.zip", buffer.getvalue())},
                             data={"patient_id": "MRN-CT-X"}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 202
    job = wait_job(app_client, answer.json()["job"]["id"])
    assert job["state"] == "failed" and job["error"]
    assert not any((web_env.data_dir / "scans").iterdir())
    assert app_client.get("/api/patients").json() == []
