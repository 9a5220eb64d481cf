"""``ectocalc cohort`` as real processes: killed midway and rerun, on a real Dask scheduler with
two workers, and de-identified."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pydicom
import pytest

if TYPE_CHECKING:
    from conftest import Cohort

BIN = Path(sys.executable).parent
ECTOCALC = [str(BIN / "ectocalc")]


def attempts(out: Path) -> dict[str, int]:
    with sqlite3.connect(out / "manifest.sqlite") as db:
        return dict(db.execute("SELECT id, attempts FROM items"))


def done_ids(out: Path) -> set[str]:
    items = out / "items"
    return {p.name for p in items.iterdir() if (p / "DONE").is_file()} if items.is_dir() \
        else set()


def _group_gone(group: int, wait_s: float = 20.0) -> bool:
    """True once no process of ``group`` is left (else they are killed: False)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)
    return False


def test_killed_run_resumes_without_redoing_done_items(cohort_source: Cohort, tmp_path: Path,
                                                       skip_if_settings_changed) -> None:
    manifest = tmp_path / "many.csv"
    rows = [f"k{n},,{cohort_source.scans['ph-a']}" for n in range(1, 9)]
    manifest.write_text("id,case,scan\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    command = [*ECTOCALC, "cohort", str(manifest), "--out", str(out), "--workers", "1"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.monotonic() + 120
    while len(done_ids(out)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert _group_gone(run.pid), "worker processes outlived the killed run"
    before = done_ids(out)
    assert 2 <= len(before) < 8, "the run must be killed midway"
    assert not (out / "cohort.csv").exists()
    markers = {i: (out / "items" / i / "DONE").stat().st_mtime_ns for i in before}
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "8 done, 0 failed" in rerun.stderr
    skip_if_settings_changed(out / "items" / sorted(before)[0],
                             out / "items" / sorted({f"k{n}" for n in range(1, 9)} - before)[0])
    counts = attempts(out)
    assert {i: counts[i] for i in before} == dict.fromkeys(before, 1)
    assert all(counts[f"k{n}"] == 2 for n in range(1, 9) if f"k{n}" not in before)
    assert {i: (out / "items" / i / "DONE").stat().st_mtime_ns for i in before} == markers
    assert not [p for p in (out / "items").iterdir() if p.name.startswith(".")]
    assert len(pq.read_table(out / "cohort.parquet")) == 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A real ``dask scheduler`` and two single-thread ``dask worker`` processes on loopback."""
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = (tmp_path / "dask.log").open("w")
    processes = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-dashboard"],
                                  stdout=logs, stderr=logs, start_new_session=True)]
    try:
        for _ in range(2):
            processes.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--local-directory", str(tmp_path / "dask-worker")],
                stdout=logs, stderr=logs, start_new_session=True))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


def test_real_scheduler_gives_the_same_table(cohort_source: Cohort, cohort_run: tuple,
                                             dask_cluster: str, tmp_path: Path) -> None:
    inputs = [cohort_source.root / "scans", cohort_source.cases["ct-linked"],
              cohort_source.cases["bad-case"]]
    out = tmp_path / "remote"
    run = subprocess.run([*ECTOCALC, "cohort", *map(str, inputs), "--out", str(out),
                          "--scheduler", dask_cluster], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1, run.stderr  # the broken items fail there too
    remote = pq.read_table(out / "cohort.parquet").to_pylist()
    local = {row["id"]: row for row in pq.read_table(cohort_run[0] / "cohort.parquet")
             .to_pylist()}
    assert len(remote) == 8
    for row in remote:
        expected = local[row["id"]]
        assert {k: v for k, v in row.items() if k != "knowledge_version"} == \
            {k: expected.get(k) for k in row if k != "knowledge_version"}


def test_deidentified_outputs_hold_no_ids_names_or_birth_dates(
        cohort_source: Cohort, tmp_path: Path, skip_if_settings_changed) -> None:
    bundle = json.loads(cohort_source.cases["ckd4-fhir"].read_text())
    patient = bundle["entry"][0]["resource"]
    patient |= {"name": [{"family": "Zyxwvut", "given": ["Quentina"]}],
                "identifier": [{"system": "urn:mrn", "value": "MRN-778899"}]}
    named = tmp_path / "in" / "jane-zyxwvut.json"
    named.parent.mkdir()
    named.write_text(json.dumps(bundle))
    inputs = [named, cohort_source.cases["ckd4"], cohort_source.scans["ph-a"],
              cohort_source.root / "scans" / "broken-truncated"]
    out = tmp_path / "out"
    run = subprocess.run([*ECTOCALC, "cohort", *map(str, inputs), "--out", str(out),
                          "--deidentify", "--workers", "2"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1, run.stderr
    secrets = ["jane-zyxwvut", "Zyxwvut", "Quentina", "MRN-778899", "1955-04-12", "19550412",
               "PHANTOM", "ph-a", "broken-truncated", "ckd4", str(named.parent),
               str(cohort_source.root)]
    rows = pq.read_table(out / "cohort.parquet").to_pylist()
    assert len(rows) == 4 and all(row["id"].startswith("h-") for row in rows)
    assert sorted(row["status"] for row in rows) == ["done", "done", "done", "failed"]
    values = json.dumps(rows) + run.stdout + run.stderr
    with sqlite3.connect(out / "manifest.sqlite") as db:
        values += json.dumps(db.execute("SELECT * FROM items").fetchall())
    files = [p for p in out.rglob("*") if p.is_file()]
    for path in files:
        values += str(path.relative_to(out)) + "\n"
        if path.suffix in (".csv", ".json", ".html") or path.name in ("DONE",):
            values += path.read_text(encoding="utf-8")
        elif path.suffix == ".dcm":
            dataset = pydicom.dcmread(path)
            assert "PatientBirthDate" not in dataset
            values += f"{dataset.PatientName}|{dataset.PatientID}|{dataset}"
    assert any(p.suffix == ".dcm" for p in files)
    leaked = [secret for secret in secrets if secret in values]
    assert not leaked
    failed = next(row["id"] for row in rows if row["status"] == "failed")
    done = [row["id"] for row in rows if row["status"] == "done"]
    shutil.copytree(out / "items" / done[0], tmp_path / "first")  # its marker before the rerun
    rerun = subprocess.run([*ECTOCALC, "cohort", *map(str, inputs), "--out", str(out),
                            "--deidentify", "--workers", "1"], capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 1
    skip_if_settings_changed(tmp_path / "first", out / "items" / done[0])
    counts = attempts(out)  # same salt (DIR/salt), same ids: the done items are reused
    assert (counts[failed], [counts[i] for i in done]) == (2, [1, 1, 1])
