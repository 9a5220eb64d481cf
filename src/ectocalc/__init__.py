"""ectocalc: ectopic calcification toolkit.

Clinical case assessment (labs, history, genetics, findings -> explained differential and plan)
and CT calcium quantification. Decision support, never a diagnosis.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ectocalc")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
