"""Write an output folder as one unit: all of a run's files, or none of them.

The files are written into a fresh hidden folder next to the target, with a ``manifest.json``
naming the run and its input; the folder then takes the target's place in one step (Linux
``renameat2(RENAME_EXCHANGE)``, else two renames). A rerun therefore never mixes old SEG or
PNG files with a new ``scan.json``, a killed run leaves the previous complete folder (or
nothing), and a failed writer leaves the previous folder untouched.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ectocalc.errors import InputError
from ectocalc.io.files import atomic_write

MANIFEST = "manifest.json"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where unsupported."""
    try:
        rename = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    return rename(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "--out", "exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise InputError(out_dir, "--out", "folder is not empty and was not written by "
                         "ectocalc (no manifest.json); give a new or empty folder")


def replace_folder(out_dir: Path, fill: Callable[[Path], list[str]], *,
                   manifest: dict[str, Any]) -> None:
    """Create or replace ``out_dir`` with the files ``fill(staging)`` writes.

    Parameters
    ----------
    out_dir : Path
        The target folder: absent, empty, or a previous ectocalc output (with a manifest).
    fill : callable
        Writes the run's files into the staging folder it is given and returns their names
        (relative to it). Any exception leaves ``out_dir`` as it was.
    manifest : dict
        Facts about the run (input, digest, ...); a run id, the time and the files are added.

    Raises
    ------
    InputError
        ``out_dir`` is a file or someone else's folder, or cannot be created.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "run"
    >>> replace_folder(out, lambda d: [(d / "a.txt").write_text("1") and "a.txt"],
    ...                manifest={"input": "ct"})
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'manifest.json']
    """
    out_dir = Path(os.path.abspath(out_dir))
    _check_target(out_dir)
    prefix = f".{out_dir.name}.ectocalc-"
    _remove_abandoned(out_dir.parent, prefix)
    prefix += f"{os.getpid()}-"
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
    except OSError as error:
        raise InputError(out_dir, "--out", f"cannot create: {error.strerror}") from None
    try:
        files = fill(staging)
        record = {**manifest, "run_id": uuid.uuid4().hex,
                  "written_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                  "files": sorted(files)}
        atomic_write(staging / MANIFEST,
                     lambda tmp: tmp.write_text(json.dumps(record, indent=2), encoding="utf-8"))
        if out_dir.is_dir() and _exchange(staging, out_dir):
            pass  # staging now holds the previous folder, removed below
        elif out_dir.is_dir():
            previous = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
            os.replace(out_dir, previous / "old")
            os.replace(staging, out_dir)
            staging = previous
        else:
            os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_abandoned(parent: Path, prefix: str) -> None:
    """Remove staging folders left by killed runs (their process, named in the folder name,
    is gone); those of runs still going are left alone."""
    for stale in parent.glob(prefix + "*"):
        pid = stale.name[len(prefix):].partition("-")[0]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(stale, ignore_errors=True)
        except (ValueError, OSError):  # not ours to judge, or alive (PermissionError)
            continue
