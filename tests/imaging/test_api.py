"""The public imaging API: every advertised name resolves, and nothing heavy loads early."""

from __future__ import annotations

import subprocess
import sys

import ectocalc.imaging


def test_every_public_name_resolves() -> None:
    for name in ectocalc.imaging.__all__:
        assert getattr(ectocalc.imaging, name) is not None, name
    assert ectocalc.imaging.analyse.__module__ == "ectocalc.imaging.scan"


def test_importing_the_package_loads_no_imaging_stack() -> None:
    code = ("import sys, ectocalc, ectocalc.imaging\n"
            "print([m for m in ('numpy', 'pydicom', 'highdicom', 'nibabel', 'cc3d', 'scipy')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
