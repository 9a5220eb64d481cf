"""Writing command output: stdout, or a file written whole or not at all.

``--out`` is checked before the analysis runs (:func:`check_out`, :func:`check_out_dir`), so
a path that cannot be written, or that names an input, costs nothing and overwrites nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from ectocalc.errors import InputError
from ectocalc.io.files import atomic_write


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_writable_folder(folder: Path, out: Path, option: str) -> None:
    """Refuse ``out`` unless a file can be created in ``folder`` (tried, not guessed)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ectocalc-probe-"):
            pass
    except OSError as error:
        raise InputError(out, option, f"cannot write in folder {folder}: "
                         f"{error.strerror or error}") from None


def check_out(out: Path | None, *, inputs: Sequence[Path] = (), option: str = "--out") -> None:
    """Refuse an ``--out`` FILE that cannot be written, or that is one of the ``inputs``.

    Raises
    ------
    InputError
        ``out`` is a folder, a pipe or device, an input file, or its folder is missing or
        not writable.
    """
    if out is None:
        return
    if out.is_dir():
        raise InputError(out, option, "is a folder; give a file name")
    if out.exists() and not out.is_file():
        raise InputError(out, option, "is not a regular file")
    if any(_same_file(out, Path(given)) for given in inputs):
        raise InputError(out, option, "is an input file: it would be overwritten; "
                         "give another name")
    if not out.parent.is_dir():
        raise InputError(out, option, f"folder {out.parent} does not exist")
    _check_writable_folder(out.parent, out, option)


def check_out_dir(out_dir: Path | None, *, inputs: Sequence[Path] = (),
                  option: str = "--out") -> None:
    """Refuse an output FOLDER that is a file, an input, or lies in an unwritable folder.

    A missing folder is fine (it is created) when its nearest existing parent is writable.
    """
    if out_dir is None:
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, option, "is a file, not a folder")
    if any(_same_file(out_dir, Path(given)) for given in inputs):
        raise InputError(out_dir, option, "is an input: outputs would be mixed with it; "
                         "give another folder")
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(out_dir, option, f"{existing} is a file, not a folder")
    _check_writable_folder(existing, out_dir, option)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all; a bad path is an :class:`InputError`."""
    check_out(path)
    try:
        atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise InputError(path, "--out", f"cannot write: {error.strerror}") from None


def emit(text: str, out: Path | None) -> None:
    """Print to stdout, or write to ``out`` and say where on stderr."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)


AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", metavar="DATE",
    help="Assess as known on DATE (YYYY-MM-DD): what is dated later is left out.")]
"""``--as-of DATE``, the same for every command (:func:`ectocalc.assess.as_of_date` reads it,
imported by the command: the CLI module stays light)."""
