"""The command line starts without its heavy machinery (issue 23 item 3).

Each check runs in a fresh interpreter and looks at ``sys.modules``: what a command does not
use must not be imported. Outcomes only; the times are in ``bench/cold_start.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("highdicom", "pydicom", "phreeqpython", "sqlalchemy", "alembic", "dask",
         "distributed", "matplotlib", "weasyprint", "fastapi", "uvicorn", "nibabel", "scipy",
         "cc3d", "pyarrow", "rich", "pydantic", "numpy", "yaml", "importlib.metadata")
"""Top-level packages that ``--help``/``--version`` must not load (the case, knowledge and
imaging models, CT stack, record, web and cohort machinery, Rich's consoles)."""

ASSESS_HEAVY = ("highdicom", "pydicom", "sqlalchemy", "alembic", "dask", "distributed",
                "matplotlib", "weasyprint", "fastapi", "uvicorn", "nibabel", "cc3d", "pyarrow")
"""What ``ectocalc assess CASE --format text`` does not need (its text is laid out by Rich)."""

EXAMPLE_CASE = Path(__file__).resolve().parents[2] / "examples" / "cases" / "ckd4.yaml"

_PROBE = """
import json, sys
sys.argv = ["ectocalc", *json.loads(sys.argv[1])]
from ectocalc.cli import main
try:
    main()
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} | {m for m in sys.modules
                if m == "importlib.metadata"})
print(json.dumps(loaded), file=sys.stderr)
"""


def _loaded(*args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_import_of_the_cli_loads_no_heavy_module() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", "import sys, json, ectocalc.cli; print(json.dumps(sorted("
                               "sys.modules)))"],
        env=env, capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(done.stdout))
    assert {m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY} == set()


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("record", "--help"),
                                  ("cohort", "--help"), ("scan", "--help")])
def test_help_and_version_load_no_heavy_module(args: tuple[str, ...]) -> None:
    allowed = set()
    if len(args) > 1:  # Typer 0.29 coerces the parent's options through pydantic
        allowed = {"pydantic", "importlib.metadata"}  # TypeAdapters (its plugin loader)
    assert _loaded(*args) & set(HEAVY) - allowed == set()


def test_assess_loads_neither_the_ct_record_web_nor_cohort_stack() -> None:
    assert EXAMPLE_CASE.is_file()
    loaded = _loaded("assess", str(EXAMPLE_CASE), "--format", "text")
    assert "pydantic" in loaded  # the probe sees what the command used
    assert loaded & set(ASSESS_HEAVY) == set()
