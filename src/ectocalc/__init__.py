"""ectocalc: ectopic calcification toolkit.

Clinical case assessment (labs, history, genetics, findings -> explained differential and plan)
and CT calcium quantification. Decision support, never a diagnosis.

The Python API (:mod:`ectocalc.api`) is at the top level and imported only when first used, so
``import ectocalc`` stays cheap (the command line's ``--help`` pays only for what it uses):
:func:`ectocalc.assess`, :func:`ectocalc.load_case`, :func:`ectocalc.quantify`,
:class:`ectocalc.Record` and :func:`ectocalc.load_knowledge` (docs/api.md). The version is a
constant of ``ectocalc/_version.py``, which is also the packaging metadata's source.

Examples
--------
>>> import ectocalc
>>> a = ectocalc.assess(ectocalc.load_case("examples/cases/ckd4.yaml"))
>>> a.derived.ckd_stage
'G4'
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ectocalc._version import VERSION as __version__

_API = ("Record", "assess", "load_case", "load_knowledge", "quantify")

__all__ = ["Record", "__version__", "assess", "load_case", "load_knowledge", "quantify"]


def __getattr__(name: str) -> Any:
    """The API names, imported on first use (PEP 562).

    ``ectocalc.assess`` is also the core's module (:mod:`ectocalc.assess`): once that module
    is imported it is the attribute, and calling it calls :func:`ectocalc.api.assess`.
    """
    if name == "assess":
        return import_module("ectocalc.assess")
    if name in _API:
        value = getattr(import_module("ectocalc.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ectocalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
