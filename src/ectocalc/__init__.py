"""ectocalc: ectopic calcification toolkit.

Clinical case assessment (labs, history, genetics, findings -> explained differential and plan)
and CT calcium quantification. Decision support, never a diagnosis.

Importing the package is cheap (the command line's ``--help`` pays only for what it uses): the
version is a constant of ``ectocalc/_version.py``, which is also the packaging metadata's source.
"""

from ectocalc._version import VERSION as __version__

__all__ = ["__version__"]
