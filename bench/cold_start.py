"""Cold start of the command line: fresh processes against ``python -c 'import numpy'``.

Each subject is a new ``ectocalc`` process (the installed entry script when it sits beside
this Python, else ``python -m ectocalc``): ``--help``, ``--version`` and ``assess`` of an
example case as text. The baseline, ``python -c 'import numpy'``, runs alternately with them in
the same run, after one warm-up of each (so the page cache is warm for both); the ratio of a
goal is the median of the per-repetition ratios of wall times, which keeps the load of the
shared machine on both sides. Usage::

    .venv/bin/python bench/cold_start.py                  # 7 repetitions
    .venv/bin/python bench/cold_start.py --quick          # 3 repetitions
    .venv/bin/python bench/cold_start.py --write-readme   # also update bench/README.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _readme import verdict, write_block

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "examples" / "cases" / "ckd4.yaml"
START, END = "<!-- cold-start:start -->", "<!-- cold-start:end -->"
BASELINE = [sys.executable, "-c", "import numpy"]
GOALS = (("--help", ["--help"], 1.3), ("--version", ["--version"], 1.3),
         ("assess CASE --format text", ["assess", str(CASE), "--format", "text"], 2.0))
"""(label, arguments, target multiple of the baseline): issue 23 item 3."""


def _ectocalc() -> list[str]:
    script = Path(sys.executable).with_name("ectocalc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ectocalc"]


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(repeats: int) -> list[dict[str, float | str]]:
    """Per goal: median subject and baseline wall times and the median per-repetition ratio."""
    entry = _ectocalc()
    rows = []
    for label, args, target in GOALS:
        command = [*entry, *args]
        _wall(BASELINE), _wall(command)  # warm-up: page cache, .pyc files
        subject, baseline, ratios = [], [], []
        for _ in range(repeats):
            b, s = _wall(BASELINE), _wall(command)
            baseline.append(b)
            subject.append(s)
            ratios.append(s / b)
        rows.append({"goal": label, "subject": statistics.median(subject),
                     "baseline": statistics.median(baseline),
                     "ratio": statistics.median(ratios), "target": target})
    return rows


def table(rows: list[dict[str, float | str]], repeats: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load:.1f} at the end; {repeats} "
        "alternating repetitions after a warm-up, wall times (medians).",
        "",
        "goal | ectocalc | baseline `python -c 'import numpy'` | ratio | target | verdict",
        "---|---|---|---|---|---",
    ]
    for row in rows:
        ratio, target = float(row["ratio"]), float(row["target"])
        lines.append(f"cold `ectocalc {row['goal']}` | {float(row['subject']):.3f} s | "
                     f"{float(row['baseline']):.3f} s | {ratio:.2f}x | <= {target:g}x | "
                     f"{verdict(ratio <= target)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions")
    parser.add_argument("--repeats", type=int, help="repetitions (default 7, 3 with --quick)")
    parser.add_argument("--write-readme", action="store_true",
                        help="replace the cold-start block of bench/README.md")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    text = table(measure(repeats), repeats)
    print(text)
    if args.write_readme:
        write_block(text, start=START, end=END)


if __name__ == "__main__":
    main()
