"""ectocalc: ectopic calcification toolkit.

Clinical case assessment (labs, history, genetics, findings -> explained differential and plan)
and CT calcium quantification. Decision support, never a diagnosis.

Importing the package is cheap: ``__version__`` is read from the installed metadata
(``importlib.metadata``, about 0.1 s of imports) the first time it is asked for.
"""

from __future__ import annotations

__version__: str  # looked up on first use, by __getattr__

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``ectocalc.__version__``: the installed distribution's version, cached after first use."""
    if name != "__version__":
        raise AttributeError(f"module 'ectocalc' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("ectocalc")
    except PackageNotFoundError:  # running from a source tree that was not installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
