"""The attack of issue 25, rerun against the app on loopback: each asserts the outcome.

Parallel wrong passwords, forged proxy headers, look-alike user names, lockout by strangers,
weak passwords, errors that would leak headers or paths, unaudited CT slice reads and uploads
too large. Loops are bounded; nothing here is timed (speed and memory under attack are measured
by ``bench/bench_signin.py``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import MAX_UPLOAD, PASSWORDS, WebEnv, sign_in

from ectocalc.record import audit_entries, create_user, get_user, open_store
from ectocalc.web import hash_password
from ectocalc.web._security import SignInThrottle

ADMIN_PASSWORD = "amber lantern over quiet water"


def _login(client: TestClient, user: str, password: str,
           headers: dict[str, str] | None = None) -> int:
    return client.post("/api/login", json={"username": user, "password": password},
                       headers=headers or {}).status_code


def _client(env: WebEnv, address: str = "127.0.0.1", **kwargs: object) -> TestClient:
    """A client of a new app, connecting from ``address`` (the peer the server sees); enter
    it (``with``) to run the app's start-up and shut-down."""
    return TestClient(env.client().app, follow_redirects=False, client=(address, 50000),
                      **kwargs)  # type: ignore[arg-type]


def _peer(client: TestClient, address: str) -> TestClient:
    """Another client of the same running app, from another address."""
    return TestClient(client.app, follow_redirects=False, client=(address, 50000))


def _audited(env: WebEnv) -> list[tuple[str, str, str | None, str]]:
    store = open_store(env.db_url)
    try:
        return [(e.username, e.action, e.patient_id, e.detail)
                for e in audit_entries(store, limit=1000)]
    finally:
        store.dispose()


def test_parallel_wrong_passwords_get_no_more_checks_than_sequential_ones(
        web_env: WebEnv) -> None:
    with _client(web_env) as client:
        with ThreadPoolExecutor(24) as pool:
            codes = list(pool.map(lambda _: _login(client, "doc", "wrong guess"), range(24)))
        web = client.app.state.web  # type: ignore[attr-defined]
        # attempts are reserved before hashing: 5 per (account, address), however parallel
        assert sorted(codes) == [401] * 5 + [429] * 19
        assert web.checks.evaluated == 5
        assert _login(client, "doc", PASSWORDS["doc"]) == 429  # still throttled here ...
        assert web.checks.evaluated == 5
        # ... but the account is not locked
        assert _login(_peer(client, "10.1.2.3"), "doc", PASSWORDS["doc"]) == 200


def test_forwarded_for_is_ignored_from_untrusted_peers(web_env: WebEnv) -> None:
    with _client(web_env) as client:
        codes = [_login(client, "doc", "wrong guess", {"X-Forwarded-For": f"203.0.113.{i}"})
                 for i in range(6)]
        assert codes == [401] * 5 + [429]  # every attempt counted against 127.0.0.1
        answer = client.post("/api/login", headers={"X-Forwarded-Proto": "https"},
                             json={"username": "viv", "password": PASSWORDS["viv"]})
        assert "secure" not in answer.headers["set-cookie"].lower()


def test_forwarded_for_is_believed_from_a_configured_proxy(web_env: WebEnv) -> None:
    from dataclasses import replace

    env = replace(web_env, config=replace(web_env.config, trusted_proxies=("127.0.0.1",)))
    with _client(env) as proxy:
        # the right-most address the proxy saw is the client; what the client wrote is not
        codes = [_login(proxy, "doc", "wrong guess",
                        {"X-Forwarded-For": f"6.6.6.6, 198.51.100.{i % 2}"}) for i in range(10)]
        assert codes == [401] * 10  # two clients, five failures each: no pair is full
        assert _login(proxy, "doc", "wrong guess", {"X-Forwarded-For": "198.51.100.1"}) == 429
        answer = proxy.post("/api/login", json={"username": "viv",
                                                "password": PASSWORDS["viv"]},
                            headers={"X-Forwarded-For": "198.51.100.7",
                                     "X-Forwarded-Proto": "https"})
        assert answer.status_code == 200 and "secure" in answer.headers["set-cookie"].lower()
    with pytest.raises(Exception, match="not an IP address"):
        replace(web_env, config=replace(web_env.config, trusted_proxies=("proxy.lan",))).client()


def test_user_names_ignore_case(web_env: WebEnv) -> None:
    from ectocalc.errors import InputError

    store = open_store(web_env.db_url)
    try:
        create_user(store, "Alice", "viewer", hash_password(ADMIN_PASSWORD))
        with pytest.raises(InputError, match="already exists"):
            create_user(store, "alice", "clinician", hash_password("x"))
    finally:
        store.dispose()
    with _client(web_env) as client:
        assert _login(client, "ALICE", ADMIN_PASSWORD) == 200
        assert client.get("/patients").status_code == 200
        assert "Alice <small>(viewer)" in client.get("/patients").text


def test_an_older_hash_is_upgraded_at_sign_in(web_env: WebEnv) -> None:
    from argon2 import PasswordHasher

    store = open_store(web_env.db_url)
    try:
        older = PasswordHasher(time_cost=2, memory_cost=64, parallelism=1)  # not the current
        create_user(store, "old", "viewer", older.hash(ADMIN_PASSWORD))
        with _client(web_env) as client:
            assert _login(client, "old", ADMIN_PASSWORD) == 200
        user = get_user(store, "old")
    finally:
        store.dispose()
    assert user is not None and hash_password("x").split("$")[3] == user.password_hash.split(
        "$")[3]  # now with the current parameters
    assert ("old", "password_rehashed", None, "old") in _audited(web_env)


def test_strangers_cannot_lock_a_real_user_out(web_env: WebEnv) -> None:
    with _client(web_env) as client:
        for name in ("VICTOR", "d0c", "doc2", "mallory", "Doc "):
            for _ in range(3):
                assert _login(client, name, "wrong guess") == 401
        # 15 failures on names that are not doc's: doc signs in from the same address
        assert _login(client, "doc", PASSWORDS["doc"]) == 200
        # failures on doc's own name from many addresses slow doc down, never lock doc out
        now = [0.0]
        client.app.state.web.throttle = SignInThrottle(  # type: ignore[attr-defined]
            pair_attempts=5, account_free=3, max_delay_s=30, clock=lambda: now[0])
        codes = [_login(_peer(client, f"198.51.100.{i}"), "doc", "wrong guess")
                 for i in (0, 0, 1, 1, 2, 2)]
        assert codes == [401, 401, 401, 401, 429, 429]  # the 4th failure starts a pause
        real = _peer(client, "192.0.2.10")
        paused = real.post("/api/login", json={"username": "doc",
                                               "password": PASSWORDS["doc"]})
        assert paused.status_code == 429 and paused.headers["Retry-After"] == "1"
        now[0] += 1  # the pause ends: the real user is in, and the pause forgotten
        assert _login(real, "doc", PASSWORDS["doc"]) == 200


@pytest.fixture
def admin(web_env: WebEnv) -> WebEnv:
    store = open_store(web_env.db_url)
    try:
        create_user(store, "root", "admin", hash_password(ADMIN_PASSWORD))
    finally:
        store.dispose()
    return web_env


def _as_admin(client: TestClient) -> str:
    answer = client.post("/api/login", json={"username": "root", "password": ADMIN_PASSWORD})
    assert answer.status_code == 200
    return str(answer.json()["csrf_token"])


@pytest.mark.parametrize(("name", "password", "why"), [
    ("ana", "12345678", "at least 15 characters"),
    ("ana", " " * 15, "only spaces"),
    ("ana", "123456789012345", "too easy to guess"),
    ("ana", "ana-ana-ana-ana-ana", "user name"),
    ("Doc", "plum orchard at dusk", "already exists"),
])
def test_weak_passwords_and_taken_names_are_refused(admin: WebEnv, name: str, password: str,
                                                    why: str) -> None:
    with _client(admin) as client:
        csrf = _as_admin(client)
        answer = client.post("/users/add", data={"username": name, "role": "viewer",
                                                 "password": password, "csrf_token": csrf})
        assert answer.status_code == 422 and why in answer.text
    store = open_store(admin.db_url)
    try:
        assert name == "Doc" or get_user(store, name) is None
    finally:
        store.dispose()


def test_admin_manages_users_and_every_change_is_audited(admin: WebEnv) -> None:
    with _client(admin) as client:
        csrf = _as_admin(client)
        doc = _peer(client, "10.0.0.5")
        sign_in(doc, "doc")
        assert doc.get("/users").status_code == 403  # clinicians do not manage users
        form = {"csrf_token": csrf, "username": "doc"}
        assert client.post("/users/disable", data={**form, "csrf_token": "x"}).status_code == 403
        assert client.post("/users/disable", data=form).status_code == 303
        assert doc.get("/api/patients").status_code == 401  # doc's session ended
        assert _login(doc, "doc", PASSWORDS["doc"]) == 403  # and doc cannot sign in
        assert client.post("/users/enable", data=form).status_code == 303
        new = "granite meadow in april"
        assert client.post("/users/password", data={**form, "password": new}).status_code == 303
        assert _login(doc, "doc", PASSWORDS["doc"]) == 401 and _login(doc, "doc", new) == 200
        assert client.post("/users/add", data={"csrf_token": csrf, "username": "Nina",
                                               "role": "viewer", "password": new + " too"}
                           ).status_code == 303
        assert client.post("/users/remove", data={**form, "username": "nina"}).status_code == 303
        own = client.post("/users/remove", data={**form, "username": "ROOT"})
        assert own.status_code == 422 and "your own account" in own.text
        mine = client.post("/users/password", data={**form, "username": "root",
                                                    "password": "slate harbour at first light"})
        assert mine.status_code == 303
        from ectocalc.web import _auth
        client.app.state.web.sessions.get(  # type: ignore[attr-defined]
            client.cookies["ectocalc_session"]).checked_at -= 2 * _auth.RECHECK_S
        page = client.get("/users").text  # still signed in after the re-check
        assert "doc" in page and "Nina" not in page and new not in page
    changes = [(who, action, detail) for who, action, _, detail in _audited(admin)
               if action.startswith("user_")]
    assert changes == [("root", "user_password_reset", "root"),
                       ("root", "user_removed", "Nina"), ("root", "user_added", "Nina (viewer)"),
                       ("root", "user_password_reset", "doc"), ("root", "user_enabled", "doc"),
                       ("root", "user_disabled", "doc")]


def test_errors_carry_the_security_headers_and_no_server_paths(
        web_env: WebEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    import ectocalc.record

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError(f"disk full at {web_env.data_dir}/secret.db")

    import ectocalc.web._revisions

    monkeypatch.setattr(ectocalc.record, "list_patients", broken)
    monkeypatch.setattr(ectocalc.web._revisions, "patient_revisions", broken)
    with _client(web_env, raise_server_exceptions=False) as client:
        sign_in(client, "doc")
        answers = {
            500: client.get("/api/patients"),
            404: client.get("/no/such/page"),
            422: client.post("/api/login", json={"username": ""}),
            401: client.post("/api/login", json={"username": "doc", "password": "nope"}),
        }
        broken_page = client.get("/patients")
    assert {code: a.status_code for code, a in answers.items()} == {c: c for c in answers}
    assert broken_page.status_code == 500 and "Something went wrong" in broken_page.text
    for answer in [*answers.values(), broken_page]:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert str(web_env.data_dir) not in answer.text and "secret.db" not in answer.text
    assert answers[500].json() == {"detail": "internal error"}


def test_ct_slice_reads_are_audited(web_env: WebEnv, phantom_zip: Path) -> None:
    import zipfile

    from ectocalc.web._viewer import CACHE_FILE, load_stack, save_stack

    # an imported CT as the import leaves it (quantification itself is test_ct's business):
    # the phantom's real DICOM series, its patient, a written result, the viewer's slice cache
    scan = web_env.data_dir / "scans" / ("ab" * 12)
    with zipfile.ZipFile(phantom_zip) as zf:
        zf.extractall(scan)
    (scan / "out").mkdir()
    (scan / "out" / "scan.json").write_text("{}")
    (scan / "meta.json").write_text(json.dumps({"patient_id": "ECTOCALC-PHANTOM-0"}))
    save_stack(load_stack(scan / "dicom", None), scan / CACHE_FILE)
    with _client(web_env) as client:
        sign_in(client, "doc")
        for index in (0, 3):
            png = client.get(f"/patients/ECTOCALC-PHANTOM-0/scans/{scan.name}/slices/{index}.png")
            assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    reads = [(who, pid, detail) for who, action, pid, detail in _audited(web_env)
             if action == "view_scan_slice"]
    assert reads == [("doc", "ECTOCALC-PHANTOM-0", f"{scan.name} slice 3"),
                     ("doc", "ECTOCALC-PHANTOM-0", f"{scan.name} slice 0")]


def test_big_uploads_are_refused_with_one_line(web_env: WebEnv) -> None:
    from dataclasses import replace

    web_env = replace(web_env, config=replace(web_env.config, max_case_bytes=2**20,
                                               max_yaml_bytes=2**19))
    with _client(web_env) as client:
        csrf = sign_in(client, "doc")
        too_big = client.post("/api/patients/import", headers={"X-CSRF-Token": csrf},
                              files={"file": ("big.yaml", b"#" * (MAX_UPLOAD + 1))})
        case = b"id: big\nlabs:\n" + b"  - {analyte: calcium, value: 9.5, unit: mg/dL}\n" * (
            web_env.config.max_case_bytes // 46 + 1)
        big_case = client.post("/api/patients/import", headers={"X-CSRF-Token": csrf},
                               files={"file": ("case.yaml", case)})
        yaml_case = client.post("/api/patients/import", headers={"X-CSRF-Token": csrf},
                                files={"file": ("case.yaml", case[: 2**20 - 100])})
    for answer, words in ((too_big, "upload too large"), (big_case, "case file too large"),
                          (yaml_case, "YAML case file too large")):
        assert answer.status_code == 413
        detail = json.loads(answer.text)["detail"]
        assert words in detail and "\n" not in detail
    store = open_store(web_env.db_url)
    try:
        from ectocalc.record import list_patients

        assert list_patients(store) == []  # nothing was added
    finally:
        store.dispose()
