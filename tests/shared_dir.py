"""Where the project's shared folder (seeds, references, real cases) is, for the tests.

``$ECTOCALC_SHARED``, else ``../shared`` beside the checkout, else ``/work/shared`` (a clone made
elsewhere, e.g. in a temporary folder, still finds it). Tests that need it skip, saying so, only
where none of these exists.
"""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [Path(p) for p in (os.environ.get("ECTOCALC_SHARED"),) if p] + [
    Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]

SHARED = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[-1])
REAL = SHARED / "cases" / "real"
SEEDS = SHARED / "seeds"
