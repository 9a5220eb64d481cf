"""The examples in the imaging docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["anatomy", "conventions", "detect", "findings", "io_dicom", "io_nifti", "load",
           "measure", "scan"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"ectocalc.imaging.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_cli_docstring_examples() -> None:
    module = importlib.import_module("ectocalc.cli.scan")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
