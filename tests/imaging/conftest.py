"""Session fixtures of the CT quantification tests: the bundled phantom, written once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ectocalc.datasets import write_phantom


@pytest.fixture(scope="session")
def scan_phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled phantom (default size), written once for all imaging tests."""
    out = tmp_path_factory.mktemp("scan_phantom")
    write_phantom(out)
    return out


@pytest.fixture(scope="session")
def scan_truth(scan_phantom: Path) -> dict:
    return json.loads((scan_phantom / "truth.json").read_text())
