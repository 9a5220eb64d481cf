"""Shared fixtures: run the command line in-process, exactly as the console script does."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ectocalc.cli import main


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            ) -> Callable[..., CliResult]:
    """Call ``ectocalc ARGS...`` through :func:`ectocalc.cli.main` and capture its output."""

    def run(*args: str | Path) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["ectocalc", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
