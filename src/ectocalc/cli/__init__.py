"""Command line: ``ectocalc assess``, ``ectocalc scan``, ``ectocalc phantom``.

Each sub-command lives in its own module and registers itself on :data:`app`. Bad input
(:class:`~ectocalc.errors.InputError`) becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from ectocalc import __version__
from ectocalc.errors import InputError, one_line

app = typer.Typer(
    name="ectocalc",
    help="Ectopic calcification: assess a patient case, quantify calcification on CT.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: Rich's help formatter costs ~0.6 s of imports
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
from ectocalc.cli import cds as _cds  # noqa: E402,F401
from ectocalc.cli import cohort as _cohort  # noqa: E402,F401
from ectocalc.cli import pacs as _pacs  # noqa: E402,F401
from ectocalc.cli import phantom as _phantom  # noqa: E402,F401
from ectocalc.cli import record as _record  # noqa: E402,F401
from ectocalc.cli import scan as _scan  # noqa: E402,F401
from ectocalc.cli import serve as _serve  # noqa: E402,F401
from ectocalc.cli import user as _user  # noqa: E402,F401

_SELF_PRINTING_LOGGERS = ("nibabel",)
"""Libraries that attach their own stderr handler at import (nibabel.global does)."""


def _quiet_libraries() -> None:
    """Route library warnings (pydicom, numpy, ...) and log records away from stderr.

    Warnings go to the ``py.warnings`` logger and the root logger gets a handler that drops
    records, so stderr carries only this program's own lines (contract: one error line).
    Code that records warnings itself (``warnings.catch_warnings(record=True)``) still sees
    them. ``ECTOCALC_DEBUG=1`` leaves both as Python sets them.
    """
    logging.captureWarnings(True)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    for name in _SELF_PRINTING_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def main() -> None:
    """Entry point: run the app; bad input and bad arguments become one line and exit 2."""
    debug = bool(os.environ.get("ECTOCALC_DEBUG"))
    if not debug:
        _quiet_libraries()
    try:
        code = app(standalone_mode=False)
    except InputError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.exceptions.TyperException as error:  # click's errors, as Typer vendors them
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()  # type: ignore[attr-defined]  # bare `ectocalc`: the help
        else:
            ctx = getattr(error, "ctx", None)
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            # Click lays out its own messages over lines ("Choose from:\n\tclinician,"): one
            # line of words, not escaped layout.
            message = " ".join(error.format_message().split())
            typer.echo(f"error: {one_line(message)}{hint}", err=True)
        sys.exit(getattr(error, "exit_code", 2))
    except Exception as error:  # a bug, not bad input: still no traceback unless asked
        if debug:
            raise
        typer.echo(f"internal error: {type(error).__name__}: {one_line(str(error))} "
                   "(set ECTOCALC_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
