"""Writing command output: stdout, or a file written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import typer

from ectocalc.errors import InputError
from ectocalc.io.files import atomic_write


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all; a bad path is an :class:`InputError`."""
    if path.is_dir():
        raise InputError(path, "--out", "is a folder; give a file name")
    if not path.parent.is_dir():
        raise InputError(path, "--out", f"folder {path.parent} does not exist")
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
