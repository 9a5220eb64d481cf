"""Unit tests: zip unpacking rules, slice rendering, sessions and throttling."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ectocalc.web._security import (
    SessionStore,
    SignInThrottle,
    Throttled,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from ectocalc.web._uploads import UploadRefused, ZipLimits, unpack_zip, upload_kind
from ectocalc.web._viewer import (
    TYPE_COLOURS,
    SliceStack,
    read_stack,
    render_slice,
    save_stack,
    window_lut,
)


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def test_unpack_writes_only_inside(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("dicom/1.dcm", b"a" * 100), ("dicom/sub/2.dcm", b"b")])
    assert unpack_zip(archive, tmp_path / "out") == 2
    assert (tmp_path / "out" / "dicom" / "sub" / "2.dcm").read_bytes() == b"b"


@pytest.mark.parametrize("name", ["../x.dcm", "/etc/x.dcm", "a/../../x.dcm", "C:/x.dcm",
                                  "..\\x.dcm"])
def test_unpack_refuses_escaping_names(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "a.zip", [("ok.dcm", b"a"), (name, b"x")])
    with pytest.raises(UploadRefused, match="outside the archive"):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unpack_refuses_links(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("dicom/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip(tmp_path / "a.zip", [(link, b"/etc/passwd")])
    with pytest.raises(UploadRefused, match="link"):
        unpack_zip(archive, tmp_path / "out")


def test_unpack_refuses_bombs_and_counts(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "b.zip", [("a.dcm", b"\0" * 2**20)])
    with pytest.raises(UploadRefused, match="zip bomb"):
        unpack_zip(bomb, tmp_path / "out")
    many = _zip(tmp_path / "m.zip", [(f"{i}.dcm", b"x") for i in range(4)])
    with pytest.raises(UploadRefused, match="more than 3 entries"):
        unpack_zip(many, tmp_path / "out", limits=ZipLimits(max_entries=3))
    big = _zip(tmp_path / "g.zip", [("a.dcm", bytes(range(256)) * 40)])
    with pytest.raises(UploadRefused, match="allowed size"):
        unpack_zip(big, tmp_path / "out", limits=ZipLimits(max_unpacked_bytes=5000))
    assert not (tmp_path / "out").exists()


def test_unpack_refuses_non_zip(tmp_path: Path) -> None:
    fake = tmp_path / "f.zip"
    fake.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UploadRefused, match="not a readable zip"):
        unpack_zip(fake, tmp_path / "out")


def test_upload_kind_from_bytes() -> None:
    assert upload_kind(b'{"resourceType": "Bundle"}', "whatever.bin") == "case"
    with pytest.raises(UploadRefused):
        upload_kind(b"id: x\n", "case.txt")  # YAML only with a YAML/JSON name
    with pytest.raises(UploadRefused):
        upload_kind(b"\xff\xfe\x00binary", "case.yaml")


def _stack() -> SliceStack:
    hu = np.full((3, 8, 8), 40, dtype=np.int16)
    hu[1, 2:4, 2:4] = 600
    types = np.zeros_like(hu, dtype=np.uint8)
    types[1, 2:4, 2:4] = 2
    return SliceStack(hu=hu, types=types, type_names=("vascular", "cutaneous"),
                      z_mm=np.array([0.0, 3.0, 6.0]))


def test_window_lut_maps_the_window_to_grey() -> None:
    lut = window_lut(300, 1600)  # -500 .. 1100 HU
    assert lut[-500 + 32768] == 0 and lut[1100 + 32768] == 255 and lut[300 + 32768] == 128


def test_render_slice_colours_by_type() -> None:
    stack = _stack()
    rgb = np.asarray(Image.open(io.BytesIO(render_slice(stack, 1))).convert("RGB"))
    grey = np.asarray(Image.open(io.BytesIO(render_slice(stack, 1, overlay=False))))
    assert grey.ndim == 2 and grey[0, 0] == 128  # 40 HU is the soft-tissue window centre
    assert grey[2, 2] == 255
    expected = np.rint(0.45 * 255 + 0.55 * np.array(TYPE_COLOURS["cutaneous"]))
    assert rgb[2, 2].tolist() == expected.astype(int).tolist()
    assert rgb[0, 0].tolist() == [128, 128, 128]
    with pytest.raises(IndexError):
        render_slice(stack, 3)


def test_stack_round_trip(tmp_path: Path) -> None:
    stack = _stack()
    save_stack(stack, tmp_path / "v.npz")
    back = read_stack(tmp_path / "v.npz")
    assert back.type_names == stack.type_names
    assert np.array_equal(back.hu, stack.hu) and np.array_equal(back.types, stack.types)


def test_sessions_expire_when_idle() -> None:
    store = SessionStore(idle_s=0.0)
    session = store.create("ana", "clinician")
    assert store.get(session.token) is None


def test_throttle_counts_attempts_in_flight_per_pair_and_address() -> None:
    throttle = SignInThrottle(pair_attempts=2, address_attempts=3, clock=lambda: 0.0)
    held = [throttle.reserve("ana", "10.0.0.1"), throttle.reserve("ana", "10.0.0.1")]
    with pytest.raises(Throttled):  # two reserved, none settled yet: the pair is full
        throttle.reserve("ana", "10.0.0.1")
    throttle.reserve("bob", "10.0.0.1")  # the address's third
    with pytest.raises(Throttled):
        throttle.reserve("cy", "10.0.0.1")
    for attempt in held:
        throttle.settle(attempt, ok=None)  # not checked (busy): the slots come back
    throttle.reserve("ana", "10.0.0.1")


def test_throttle_slows_an_account_down_and_never_locks_it() -> None:
    now = [0.0]
    throttle = SignInThrottle(pair_attempts=100, account_free=3, max_delay_s=30,
                              clock=lambda: now[0])
    for i in range(3):
        throttle.settle(throttle.reserve("victor", f"10.0.0.{i}"), ok=False)
    first = throttle.reserve("victor", "10.9.9.9")  # the 4th goes through, then a 1 s pause
    with pytest.raises(Throttled) as waited:
        throttle.reserve("victor", "10.9.9.8")
    assert waited.value.retry_after == 1
    throttle.settle(first, ok=False)
    for _ in range(20):  # a botnet keeps failing, one attempt each time the pause ends
        now[0] += 31
        throttle.settle(throttle.reserve("victor", "10.9.9.7"), ok=False)
    with pytest.raises(Throttled) as waited:
        throttle.reserve("victor", "192.168.1.5")
    assert waited.value.retry_after <= 30  # the real user waits at most 30 s, not 15 min
    now[0] += 30
    throttle.settle(throttle.reserve("victor", "192.168.1.5"), ok=True)
    throttle.reserve("victor", "192.168.1.5")  # a success ends the slow-down


@pytest.mark.parametrize(("password", "problem"), [
    ("12345678", "at least 15"), (" " * 20, "only spaces"), ("123456789012345", "guess"),
    ("Password1234567", "guess"), ("aaaaaaaaaaaaaaaa", "guess"), ("qwertyuiopasdfgh", "guess"),
    ("passwordpassword", "guess"), ("victor-victor-victor", "user name"),
    ("x" * 257, "at most 256")])
def test_password_policy_refuses(password: str, problem: str) -> None:
    assert problem in (password_problem(password, "Victor") or "")


def test_password_policy_accepts_long_phrases_of_any_characters() -> None:
    for password in ("plum orchard at dusk", "ünïcödé pässwörd ✓✓", "Victo r is fine ok",
                     "correct horse battery staple " * 8):
        assert password_problem(password, "victor") is None, password


def test_passwords_are_salted_argon2id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the production parameters, not the tests' quick ones
    first, second = hash_password("pw-123456"), hash_password("pw-123456")
    assert first != second and first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(second, "pw-123456") and not verify_password(None, "pw-123456")
    assert not needs_rehash(first) and needs_rehash("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$"
                                                     "aGFzaGhhc2hoYXNoaGFzaA")


def test_case_jobs_run_one_at_a_time_and_the_next_waits_in_line(tmp_path: Path) -> None:
    """A second case import is queued behind the first (never refused), and a refused case
    fails its job with one line naming the upload, never the server's folder."""
    import threading
    import time

    from ectocalc.web._jobs import JobRunner, Progress

    release, started = threading.Event(), threading.Event()

    def slow(progress: Progress) -> tuple[str, tuple[str, ...]]:
        started.set()
        release.wait()
        return "added", ("P-1",)

    def refused(progress: Progress) -> tuple[str, tuple[str, ...]]:
        raise UploadRefused(f"{tmp_path}/b/case.yaml: labs[0].value:\nmust be positive")

    runner = JobRunner(lambda job, folder: None)
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = runner.submit_case(slow, folder=tmp_path / "a", username="doc")
        started.wait()
        second = runner.submit_case(refused, folder=tmp_path / "b", username="doc")
        assert runner.get(first.id).state == "running"  # type: ignore[union-attr]
        assert runner.get(second.id).state == "queued"  # type: ignore[union-attr]
        release.set()
        for _ in range(500):  # the queued one runs once the first is done
            if runner.get(second.id).finished:  # type: ignore[union-attr]
                break
            time.sleep(0.01)
    finally:
        runner.shutdown()
    done, failed = runner.get(first.id), runner.get(second.id)
    assert done is not None and failed is not None
    assert (done.state, done.outcome, done.patients, done.patient_id) == (
        "done", "added", ("P-1",), "P-1")
    assert (failed.state, failed.error) == (
        "failed", "case.yaml: labs[0].value:; must be positive")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_shutdown_drops_queued_jobs_and_their_uploads(tmp_path: Path) -> None:
    """A case still waiting when the server stops leaves no copy of the upload behind."""
    import threading

    from ectocalc.web._jobs import JobRunner, Progress

    release, started = threading.Event(), threading.Event()

    def slow(progress: Progress) -> tuple[str, tuple[str, ...]]:
        started.set()
        release.wait()
        return "added", ("P-1",)

    import time

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "case.yaml").write_text("id: x\n")
    runner = JobRunner(lambda job, folder: None)
    runner.submit_case(slow, folder=tmp_path / "a", username="doc")
    started.wait()
    waiting = runner.submit_case(slow, folder=tmp_path / "b", username="doc")
    pool = runner._pools["case"]

    def release_once_stopping() -> None:  # the running one finishes after shutdown began
        while not pool._shutdown:  # type: ignore[attr-defined]
            time.sleep(0.005)
        with pool._shutdown_lock:  # type: ignore[attr-defined]  # held while it cancels
            release.set()

    threading.Thread(target=release_once_stopping).start()
    runner.shutdown()
    assert runner.get(waiting.id).state == "queued"  # type: ignore[union-attr]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
