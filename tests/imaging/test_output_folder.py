"""``scan --out DIR`` writes each run as one folder: all of its files or none (issue 10)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ct_builders import write_series
from test_real_inputs import trunk_hu

from ectocalc.datasets import write_phantom
from ectocalc.errors import InputError
from ectocalc.imaging import quantify
from ectocalc.imaging.io.load import input_digest
from ectocalc.imaging.writers import overlay


@pytest.fixture(scope="module")
def small_ct(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_series(tmp_path_factory.mktemp("ct") / "ct", trunk_hu(), pixel_mm=1.0)


def complete(out: Path) -> dict:
    """The manifest of a complete output folder (every listed file present, JSON readable)."""
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted([*manifest["files"],
                                                            "manifest.json"])
    json.loads((out / "scan.json").read_text())
    return manifest


def test_rerun_replaces_the_whole_folder_and_names_its_input(small_ct: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    quantify(small_ct, out_dir=out)
    first = complete(out)
    (out / "slice_999.png").write_bytes(b"left from an older run")
    result = quantify(small_ct, out_dir=out, convention="comp2comp")
    second = complete(out)
    assert not (out / "slice_999.png").exists()
    assert second["run_id"] != first["run_id"] and second["convention"] == "comp2comp"
    assert second["input_sha256"] == input_digest(small_ct) == first["input_sha256"]
    assert result.outputs["json"] == str(out / "scan.json")
    assert not list(tmp_path.glob(".out.ectocalc-*"))  # no staging folder left


def test_a_failing_writer_fails_the_run_and_keeps_the_previous_folder(
        small_ct: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    quantify(small_ct, out_dir=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(overlay, "write_overlays", broken)
    with pytest.raises(InputError, match=r"overlay_png.*disk full.*nothing was written"):
        quantify(small_ct, out_dir=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".out.ectocalc-*"))


def test_out_that_is_or_holds_the_input_is_refused(small_ct: Path, tmp_path: Path) -> None:
    for out in (small_ct, small_ct.parent, small_ct / "results"):
        with pytest.raises(InputError, match="overlaps the input"):
            quantify(small_ct, out_dir=out)


def test_someone_elses_folder_is_never_replaced(small_ct: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="not written by ectocalc"):
        quantify(small_ct, out_dir=out)
    assert (out / "notes.txt").read_text() == "keep"


def test_kill_9_leaves_the_previous_or_the_new_complete_folder(tmp_path: Path) -> None:
    """A real ``ectocalc scan --out`` process killed at random moments, 20 times."""
    write_phantom(tmp_path / "ph", rows=96, columns=96, slices=12, pixel_spacing_mm=1.8,
                  anatomy=False)
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from ectocalc.cli import main; main()", "scan",
               str(tmp_path / "ph" / "dicom"), "--out", str(out), "--format", "json"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    full = time.perf_counter() - start
    runs = set()
    rng = random.Random(0)
    for _ in range(20):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        time.sleep(rng.uniform(0.3, 1.1) * full)
        process.send_signal(signal.SIGKILL)
        process.wait()
        runs.add(complete(out)["run_id"])  # never missing, never mixed
    assert len(runs) >= 1
    subprocess.run(command, check=True, capture_output=True, env=env)
    assert not list(tmp_path.glob(".out.ectocalc-*"))  # the killed runs' leftovers removed
