"""Reliability of ``record add``: killed at random points, each file is wholly in or out; two
processes adding to one record at once both succeed. Real subprocesses, real databases."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from record_helpers import case_text
from sqlalchemy import func, select

from ectocalc.record import add_files, open_store
from ectocalc.record._schema import LabRow, PatientRow, SourceRow

LABS = [("calcium", 9.4, "mg/dL"), ("phosphate", 4.1, "mg/dL"), ("albumin", 4.0, "g/dL"),
        ("creatinine", 1.1, "mg/dL"), ("pth", 55, "pg/mL"), ("magnesium", 2.0, "mg/dL")]
COMMAND = [sys.executable, "-m", "ectocalc", "record", "add"]


def _files(folder: Path, prefix: str, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{prefix}-{index:03d}.yaml"
        path.write_text(case_text(f"{prefix}-{index:03d}", "2026-01-10", LABS))
        paths.append(path)
    return paths


def _state(url: str, prefix: str) -> tuple[dict[str, int], set[str]]:
    """Lab rows per patient of this round, and the round's patients that have a source row."""
    store = open_store(url)
    try:
        with store.session() as session:
            labs = dict(session.execute(
                select(PatientRow.key, func.count(LabRow.id)).outerjoin(
                    LabRow, LabRow.patient_id == PatientRow.id).where(
                    PatientRow.key.like(f"{prefix}-%")).group_by(PatientRow.key)).all())
            sourced = set(session.scalars(select(PatientRow.key).join(
                SourceRow, SourceRow.patient_id == PatientRow.id).where(
                PatientRow.key.like(f"{prefix}-%"))))
    finally:
        store.dispose()
    return labs, sourced


def _settled_state(url: str, prefix: str) -> tuple[dict[str, int], set[str]]:
    """:func:`_state` once the server has finished what the killed client had sent.

    A PostgreSQL backend completes a COMMIT that reached it even when its client dies a moment
    later: read until two reads half a second apart agree (SQLite has no server: one read).
    """
    state = _state(url, prefix)
    for _ in range(20 if url.startswith("postgresql") else 0):
        time.sleep(0.5)
        again = _state(url, prefix)
        if again == state:
            break
        state = again
    return state


@pytest.mark.timeout(900)
def test_killed_add_leaves_every_file_wholly_in_or_out(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(20261130)
    partial_rounds = 0
    for round_ in range(20):
        prefix = f"K{round_:02d}"
        files = _files(tmp_path / prefix, prefix, 40)
        process = subprocess.Popen([*COMMAND, *map(str, files), "--db", db_url],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert process.stdout is not None
        if round_ % 2:  # anywhere from start-up (opening, migrating) on
            delay = rng.uniform(0.1, 2.0)
        else:  # once the first file is in: while the others are being written
            process.stdout.readline()
            delay = rng.uniform(0.0, 0.5)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
        process.communicate()
        labs, sourced = _settled_state(db_url, prefix)
        # wholly in: the patient, its source and all six results; wholly out: none of them
        assert all(count == len(LABS) for count in labs.values()), (round_, labs)
        assert set(labs) == sourced, round_
        partial_rounds += 0 < len(labs) < len(files)
        # the record is intact: adding the same files again puts in exactly the missing ones
        store = open_store(db_url)
        statuses = [r.status for r in add_files(store, files)]
        store.dispose()
        assert statuses.count("unchanged") == len(labs), (statuses, _state(db_url, prefix))
        assert statuses.count("added") == len(files) - len(labs)
        assert _state(db_url, prefix)[0] == {f"{prefix}-{i:03d}": len(LABS) for i in range(40)}
    print(f"{partial_rounds} of 20 kills landed while files were being added")


@pytest.mark.timeout(600)
def test_two_processes_add_to_one_record_at_once(db_url: str, tmp_path: Path) -> None:
    first = _files(tmp_path / "a", "A", 20)
    second = _files(tmp_path / "b", "B", 20)
    processes = [subprocess.Popen([*COMMAND, *map(str, files), "--db", db_url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for files in (first, second)]
    outputs = [process.communicate(timeout=500) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert all(out.count("added: ") == 20 for out, _ in outputs)
    assert len(_state(db_url, "A")[0]) == 20 and len(_state(db_url, "B")[0]) == 20
