"""Make ``fuzzlib`` importable by the fuzz tests (and by bench/fuzz_long.py, which adds it)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
