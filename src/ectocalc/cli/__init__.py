"""Command line: ``ectocalc assess``, ``ectocalc scan``, ``ectocalc phantom``.

Each sub-command lives in its own module and registers itself on :data:`app`. Bad input
(:class:`~ectocalc.errors.InputError`) becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys

import typer

from ectocalc import __version__
from ectocalc.errors import InputError

app = typer.Typer(
    name="ectocalc",
    help="Ectopic calcification: assess a patient case, quantify calcification on CT.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ectocalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Decision support for ectopic calcification; never a diagnosis."""


# Sub-commands register themselves on `app` when imported.
from ectocalc.cli import assess as _assess  # noqa: E402,F401
from ectocalc.cli import phantom as _phantom  # noqa: E402,F401
from ectocalc.cli import scan as _scan  # noqa: E402,F401


def main() -> None:
    """Entry point: run the app, turning input errors into one line and exit 2."""
    try:
        app()
    except InputError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except Exception as error:  # a bug, not bad input: still no traceback unless asked
        if os.environ.get("ECTOCALC_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(error).__name__}: {error} (set ECTOCALC_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(1)
