"""Route tests: sessions, roles, CSRF, escaping, uploads, downloads and the audit log."""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from starlette.routing import Mount, Route
from tests.web.conftest import PASSWORDS, WebEnv, import_case, sign_in, wait_job

from ectocalc.record import audit_entries, list_patients, open_store
from ectocalc.web._middleware import CSP

CASE = """\
id: web-case-1
date: 2026-10-01
patient: {id: MRN-WEB-1, age_years: 67, sex: female}
labs:
  - {analyte: calcium, value: 9.6, unit: mg/dL, date: 2026-04-01}
  - {analyte: phosphate, value: 6.9, unit: mg/dL, date: 2026-04-01}
  - {analyte: calcium, value: 9.4, unit: mg/dL, date: 2026-10-01}
  - {analyte: albumin, value: 3.6, unit: g/dL, date: 2026-10-01}
  - {analyte: phosphate, value: 7.8, unit: mg/dL, date: 2026-10-01}
  - {analyte: creatinine, value: 6.5, unit: mg/dL, date: 2026-10-01}
  - {analyte: pth, value: 610, unit: pg/mL, date: 2026-10-01}
conditions:
  - {text: "end-stage renal disease on hemodialysis", code: N18.6, system: icd10cm}
"""
XSS = "<script>alert('x')</script>"
XSS_CASE = (CASE.replace("MRN-WEB-1", "MRN-XSS")
            + f'findings:\n  - {{site: "{XSS} femoral arteries", modality: xray}}\n')

PUBLIC = {"/healthz", "/", "/signin", "/api/login", "/types.css", "/static"}


def _import(client: TestClient, csrf: str | None, name: str, content: bytes,
            **fields: str) -> object:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post("/api/patients/import", files={"file": (name, content)}, data=fields,
                       headers=headers)


def _patients(env: WebEnv) -> list[str]:
    store = open_store(env.db_url)
    try:
        return [p["id"] for p in list_patients(store)]
    finally:
        store.dispose()


def _nothing_stored(env: WebEnv) -> None:
    assert _patients(env) == []
    scans = env.data_dir / "scans"
    assert not scans.exists() or not any(scans.iterdir())
    assert not any(p.name.startswith(".upload-") for p in env.data_dir.glob("*"))


def _concrete(path: str) -> str:
    return (path.replace("{patient_id}", "MRN-WEB-1").replace("{scan_id}", "0" * 24)
            .replace("{name}", "seg.dcm").replace("{index}", "0").replace("{job_id}", "j")
            .replace("{service_id}", "ectocalc-patient-view"))


def test_healthz_needs_no_session(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}


def _routes(routes: list[object]) -> list[object]:
    """Every route, with those of included routers (FastAPI keeps them nested)."""
    found: list[object] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found.extend(_routes(inner.routes) if inner is not None else [route])
    return found


def test_every_route_needs_a_session(app_client: TestClient) -> None:
    checked = 0
    for route in _routes(app_client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount) or not isinstance(route, Route) or route.path in PUBLIC:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            answer = app_client.request(method, _concrete(route.path))
            checked += 1
            if route.path.startswith(("/api/", "/cds-services")) or \
                    route.path == "/openapi.json":  # CDS Hooks: the EHR's JWT, not a session
                assert answer.status_code == 401, (method, route.path)
            else:
                assert answer.status_code == 303, (method, route.path)
                assert answer.headers["location"].startswith("/?next=")
    assert checked >= 20


def test_sign_in_page_and_form(app_client: TestClient) -> None:
    page = app_client.get("/?next=/patients/MRN-WEB-1")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text
    token = app_client.cookies["ectocalc_login"]
    wrong = app_client.post("/signin", data={"username": "doc", "password": "nope",
                                             "csrf_token": token})
    assert wrong.status_code == 401
    ok = app_client.post("/signin", data={"username": "doc", "password": PASSWORDS["doc"],
                                          "csrf_token": token, "next": "/patients/MRN-WEB-1"})
    assert ok.status_code == 303 and ok.headers["location"] == "/patients/MRN-WEB-1"
    assert app_client.get("/api/patients").status_code == 200
    home = app_client.get("/")
    assert home.status_code == 200 and "<h1>Patients</h1>" in home.text


def test_sign_in_form_needs_its_token_and_refuses_open_redirects(
        app_client: TestClient) -> None:
    app_client.get("/")
    refused = app_client.post("/signin", data={"username": "doc",
                                               "password": PASSWORDS["doc"]})
    assert refused.status_code == 403
    token = app_client.cookies["ectocalc_login"]
    ok = app_client.post("/signin", data={"username": "doc", "password": PASSWORDS["doc"],
                                          "csrf_token": token, "next": "//evil.example/x"})
    assert ok.headers["location"] == "/patients"


def test_session_cookie_flags(web_env: WebEnv) -> None:
    with web_env.client() as client:
        answer = client.post("/api/login", json={"username": "doc",
                                                 "password": PASSWORDS["doc"]})
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    with TestClient(web_env.client().app, base_url="https://testserver") as client:
        answer = client.post("/api/login", json={"username": "doc",
                                                 "password": PASSWORDS["doc"]})
        assert "secure" in answer.headers["set-cookie"].lower()


def test_login_is_throttled(app_client: TestClient) -> None:
    for _ in range(5):
        bad = app_client.post("/api/login", json={"username": "doc", "password": "wrong"})
        assert bad.status_code == 401
    right = app_client.post("/api/login", json={"username": "doc",
                                                "password": PASSWORDS["doc"]})
    assert right.status_code == 429
    sign_in(app_client, "viv")  # another user from the same address is not locked out


def test_logout_ends_the_session(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    assert app_client.post("/api/logout").status_code == 403  # no CSRF header
    assert app_client.get("/api/patients").status_code == 200
    assert app_client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert app_client.get("/api/patients").status_code == 401


def test_import_refused_without_csrf(web_env: WebEnv, app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    assert _import(app_client, None, "case.yaml", CASE.encode()).status_code == 403
    assert _import(app_client, csrf + "x", "case.yaml", CASE.encode()).status_code == 403
    form = app_client.post("/import", files={"file": ("case.yaml", CASE.encode())})
    assert form.status_code == 403
    _nothing_stored(web_env)


def test_viewer_reads_but_cannot_import(web_env: WebEnv, app_client: TestClient) -> None:
    doc_csrf = sign_in(app_client, "doc")
    assert import_case(app_client, doc_csrf, "case.yaml", CASE.encode())["state"] == "done"
    csrf = sign_in(app_client, "viv")
    assert app_client.get("/api/patients").json()[0]["id"] == "MRN-WEB-1"
    assert app_client.get("/api/patients/MRN-WEB-1").status_code == 200
    assert app_client.get("/patients/MRN-WEB-1").status_code == 200
    other = CASE.replace("MRN-WEB-1", "MRN-WEB-2").encode()
    assert _import(app_client, csrf, "case.yaml", other).status_code == 403
    assert app_client.get("/import").status_code == 403
    form = app_client.post("/import", files={"file": ("case.yaml", other)},
                           data={"csrf_token": csrf})
    assert form.status_code == 403
    assert _patients(web_env) == ["MRN-WEB-1"]
    assert 'href="/import"' not in app_client.get("/patients").text


def test_case_import_and_patient_api(web_env: WebEnv, app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    answer = _import(app_client, csrf, "case.yaml", CASE.encode())
    assert answer.status_code == 202  # queued: the job says how it ends
    body = answer.json()
    assert (body["kind"], body["status"], body["patients"]) == ("case", "queued", [])
    assert body["job"]["status_url"] == f"/api/jobs/{body['job']['id']}"
    job = wait_job(app_client, body["job"]["id"])
    assert (job["kind"], job["state"], job["outcome"], job["patients"], job["error"]) == (
        "case", "done", "added", ["MRN-WEB-1"], None)
    again = import_case(app_client, csrf, "case.yaml", CASE.encode())
    assert (again["state"], again["outcome"]) == ("done", "unchanged")
    show = app_client.get("/api/patients/MRN-WEB-1").json()
    assert show["patient"]["id"] == "MRN-WEB-1"
    assert [p["value"] for p in show["series"]["phosphate"]] == [6.9, 7.8]
    assert show["trends"]["phosphate"]["direction"] == "rising"
    assessment = app_client.get("/api/patients/MRN-WEB-1/assessment").json()
    assert assessment["derived"]["ckd_stage"] == "G5D"
    assert assessment["mechanism"]["primary"] == "metastatic"
    assert app_client.get("/api/patients/NOPE").status_code == 404
    assert app_client.get("/patients/NOPE").status_code == 404


def test_import_page_shows_the_job_then_links_to_the_patient(web_env: WebEnv,
                                                             app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    form = app_client.post("/import", files={"file": ("case.yaml", CASE.encode())},
                           data={"csrf_token": csrf})
    assert form.status_code == 200
    job_id = re.search(r'id="job-([\w-]+)"', form.text)[1]  # type: ignore[index]
    assert f'hx-get="/jobs/{job_id}"' in form.text or "Case added" in form.text
    assert wait_job(app_client, job_id)["state"] == "done"
    done = app_client.get(f"/jobs/{job_id}")
    assert "Case added for" in done.text and 'href="/patients/MRN-WEB-1"' in done.text
    assert "hx-get" not in done.text  # finished: no more polling
    assert _patients(web_env) == ["MRN-WEB-1"]
    assert not any(p.name.startswith(".upload-") for p in web_env.data_dir.glob("*"))


def test_invalid_case_adds_nothing(web_env: WebEnv, app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    bad = CASE.replace("value: 7.8", "value: -7.8")
    job = import_case(app_client, csrf, "bad.yaml", bad.encode())
    assert job["state"] == "failed" and job["patients"] == []
    assert job["error"].startswith("bad.yaml") and "\n" not in job["error"]
    assert str(web_env.data_dir) not in job["error"]
    page = app_client.get(f"/jobs/{job['id']}")
    assert "Case import failed: bad.yaml" in page.text and 'href="/patients/' not in page.text
    _nothing_stored(web_env)


def test_an_uploaded_case_naming_server_paths_is_refused(web_env: WebEnv,
                                                          app_client: TestClient) -> None:
    """A case's ``scans[]`` would make the server read its own files: refused, nothing added."""
    csrf = sign_in(app_client, "doc")
    listed = CASE + "scans:\n  - {path: /etc}\n"
    job = import_case(app_client, csrf, "scan-paths.yaml", listed.encode())
    assert job["state"] == "failed"
    assert "paths to CTs are not read from an uploaded case" in job["error"]
    _nothing_stored(web_env)


def test_case_text_is_escaped_and_csp_set(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    assert import_case(app_client, csrf, "xss.yaml", XSS_CASE.encode())["state"] == "done"
    page = app_client.get("/patients/MRN-XSS")
    assert page.status_code == 200
    assert XSS not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert page.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "unsafe-eval" not in CSP
    assert "<script>" not in page.text.replace('<script type="application/json"', "")


def test_patient_list_search_and_sort(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    import_case(app_client, csrf, "a.yaml", CASE.encode())
    quiet = ("id: q\ndate: 2026-10-01\npatient: {id: MRN-QUIET, age_years: 40, sex: male}\n"
             "labs:\n  - {analyte: calcium, value: 9.4, unit: mg/dL}\n")
    import_case(app_client, csrf, "b.yaml", quiet.encode())
    page = app_client.get("/patients", params={"q": "quiet", "sort": "id"})
    assert "MRN-QUIET" in page.text and "MRN-WEB-1" not in page.text
    partial = app_client.get("/patients", params={"q": "mrn"},
                             headers={"HX-Request": "true", "HX-Target": "patient-table"})
    assert "<html" not in partial.text and "MRN-WEB-1" in partial.text


def test_patient_page_shows_assessment_and_is_audited(web_env: WebEnv,
                                                      app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    import_case(app_client, csrf, "case.yaml", CASE.encode())
    page = app_client.get("/patients/MRN-WEB-1")
    assert "Mechanism — primary: Metastatic calcification" in page.text
    strip = page.text.split('class="strip"')[1].split("</section>")[0]
    # CASE's latest results (2026-10-01): phosphate 7.8 mg/dL (typical adult range 2.5-4.5:
    # high), PTH 610 pg/mL (15-65: high), calcium 9.4 mg/dL (8.6-10.2: normal)
    assert re.search(r'data-series="phosphate".*?<b>7\.8</b> mg/dL <abbr[^>]*>H</abbr>', strip,
                     re.S)
    assert re.search(r'data-series="pth".*?<b>610</b> pg/mL <abbr[^>]*>H</abbr>', strip, re.S)
    assert re.search(r'data-series="calcium".*?<b>9\.4</b> mg/dL\s*<small>2026-10-01', strip,
                     re.S)
    assert "CKD G5D" in strip  # on haemodialysis
    assert page.text.count("<h2>Alerts</h2>") == 1  # record and assessment alerts merged
    assert 'title="hyperphosphatemia">Hyperphosphataemia</span>' in page.text
    assert "[check]" not in page.text and "Seed:" not in page.text
    assert 'id="trend-data"' in page.text
    data = page.text.split('id="trend-data">')[1].split("</script>")[0]
    phosphate = next(s for s in json.loads(data) if s["name"] == "phosphate")
    assert phosphate["y"] == [6.9, 7.8] and phosphate["unit"] == "mg/dL"
    store = open_store(web_env.db_url)
    try:
        actions = [(e.username, e.action) for e in audit_entries(store, patient_id="MRN-WEB-1")]
    finally:
        store.dispose()
    assert ("doc", "view_patient") in actions and ("doc", "import") in actions


def test_access_log_has_no_patient_ids(app_client: TestClient,
                                       caplog: pytest.LogCaptureFixture) -> None:
    csrf = sign_in(app_client, "doc")
    import_case(app_client, csrf, "case.yaml", CASE.encode())
    with caplog.at_level(logging.INFO, logger="ectocalc.web.access"):
        app_client.get("/patients/MRN-WEB-1")
        app_client.get("/api/patients/MRN-WEB-1")
    lines = [r.getMessage() for r in caplog.records if r.name == "ectocalc.web.access"]
    assert "GET /patients/{patient_id} 200" in " ".join(lines)
    assert not any("MRN-WEB-1" in line for line in lines)


def test_downloads(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    import_case(app_client, csrf, "case.yaml", CASE.encode())
    pdf = app_client.get("/patients/MRN-WEB-1/report.pdf")
    assert pdf.content.startswith(b"%PDF-") and pdf.headers["content-type"] == "application/pdf"
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages]
    assert len(pages) >= 3
    first = " ".join(pages[0].split())
    assert "Summary — patient MRN-WEB-1" in first and "Key values (latest)" in first
    assert "Intact PTH 610 pg/mL H" in first or "PTH 610 pg/mL H" in first
    assert "Monitoring due" in first and "Plan" in first
    assert all(f"Page {i} / {len(pages)}" in " ".join(t.split())
               for i, t in enumerate(pages, start=1))
    assert not any("[check]" in t or "Seed:" in t for t in pages)
    html = app_client.get("/patients/MRN-WEB-1/report.html")
    assert "attachment" in html.headers["content-disposition"]
    assert "script-src" not in html.headers["content-security-policy"]
    assert "Mechanism — primary: Metastatic calcification" in html.text
    assessment = app_client.get("/patients/MRN-WEB-1/assessment.json").json()
    assert assessment["mechanism"]["primary"] == "metastatic"
    record = app_client.get("/patients/MRN-WEB-1/record.json").json()
    assert record["patient"]["id"] == "MRN-WEB-1"
    bundle = app_client.get("/patients/MRN-WEB-1/fhir.json").json()
    assert bundle["resourceType"] == "Bundle"


def _zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_zip_with_parent_entries_is_refused(web_env: WebEnv, app_client: TestClient,
                                            tmp_path: Path) -> None:
    csrf = sign_in(app_client, "doc")
    evil = _zip({"dicom/ok.dcm": b"x" * 10, "../../escaped.txt": b"pwned"})
    answer = _import(app_client, csrf, "ct.zip", evil, patient_id="MRN-Z")
    assert answer.status_code == 422 and "outside the archive" in answer.json()["detail"]
    assert not (web_env.data_dir.parent / "escaped.txt").exists()
    assert not (web_env.data_dir / "escaped.txt").exists()
    _nothing_stored(web_env)


def test_zip_bomb_is_refused(web_env: WebEnv, app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    bomb = _zip({"dicom/a.dcm": b"\0" * (16 * 2**20)}, compression=zipfile.ZIP_DEFLATED)
    answer = _import(app_client, csrf, "ct.zip", bomb, patient_id="MRN-Z")
    assert answer.status_code == 422 and "zip bomb" in answer.json()["detail"]
    _nothing_stored(web_env)


def test_oversized_upload_is_refused(web_env: WebEnv, app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    big = b"id: x\n" + b"#" * web_env.config.max_upload_bytes
    answer = _import(app_client, csrf, "big.yaml", big)
    assert answer.status_code == 413
    _nothing_stored(web_env)


def test_unknown_file_kind_is_refused(web_env: WebEnv, app_client: TestClient) -> None:
    csrf = sign_in(app_client, "doc")
    answer = _import(app_client, csrf, "scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert answer.status_code == 415
    _nothing_stored(web_env)


def test_openapi_documents_the_contract(app_client: TestClient) -> None:
    sign_in(app_client, "doc")
    paths = app_client.get("/openapi.json").json()["paths"]
    assert {"/api/login", "/api/logout", "/api/patients", "/api/patients/{patient_id}",
            "/api/patients/{patient_id}/assessment", "/api/patients/import"} <= set(paths)
    docs = app_client.get("/docs")
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "<script>" not in docs.text


def test_fhir_bundle_import(app_client: TestClient) -> None:
    bundle_path = Path(__file__).parents[2] / "examples" / "cases" / "ckd4-fhir.json"
    bundle = json.loads(bundle_path.read_text())
    patient = next(e["resource"] for e in bundle["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    expected = (patient.get("identifier") or [{}])[0].get("value") or patient["id"]
    csrf = sign_in(app_client, "doc")
    job = import_case(app_client, csrf, "bundle.json", bundle_path.read_bytes())
    assert (job["state"], job["patients"]) == ("done", [expected]), job["error"]
    labs = app_client.get(f"/api/patients/{expected}").json()["series"]
    assert labs  # the Bundle's Observations became series
