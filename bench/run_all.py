"""``./run bench``: every benchmark of ``bench/``, one row per goal ending in meets or misses.

Runs, one after the other in fresh processes, the CT scan (``bench_scan.py``), assessment
throughput (``bench_assess.py``), patient record (``bench_record.py``), web
(``bench_web.py``), cohort (``bench_cohort.py``) and cold-start (``cold_start.py``)
benchmarks. Each measures its subject beside its baseline in the same run (see each script);
this collects the rows that end in ``meets`` or ``misses`` and prints them together, with the
load average before and after (the machine is shared: load slows both columns of a row, and
can still make a goal miss). Usage::

    .venv/bin/python bench/run_all.py                  # the full benchmarks (tens of minutes)
    .venv/bin/python bench/run_all.py --quick          # small sizes, few repetitions (about a
                                                   # minute on an idle 2-core machine)
    .venv/bin/python bench/run_all.py --write-readme   # each script updates its block of
                                                   # bench/README.md, and the summary block
    .venv/bin/python bench/run_all.py --only cold_start,assess
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _readme import write_block

HERE = Path(__file__).resolve().parent
START, END = "<!-- all:start -->", "<!-- all:end -->"
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (script, full arguments, --quick arguments)
    "cold_start": ("cold_start.py", [], ["--quick"]),
    "assess": ("bench_assess.py", [], ["--seconds", "3"]),
    "scan": ("bench_scan.py", [], ["--quick", "--repeats", "2"]),
    "record": ("bench_record.py", [], ["--quick"]),
    "web": ("bench_web.py", [], ["--quick"]),
    "cohort": ("bench_cohort.py", [], ["--quick", "--items", "4", "--repeats", "1"]),
}
_VERDICT = re.compile(r"\b(meets|misses)\s*\|?\s*$")


def goal_rows(output: str) -> list[str]:
    """The lines of a benchmark's output that end in ``meets`` or ``misses`` (table rows).

    Examples
    --------
    >>> goal_rows("x\\n| a | 1.2x | <= 2x: meets |\\nb | 3x | misses\\n")
    ['a | 1.2x | <= 2x: meets', 'b | 3x | misses']
    """
    return [line.strip().strip("|").strip() for line in output.splitlines()
            if _VERDICT.search(line)]


def run(name: str, quick: bool, write_readme: bool) -> tuple[list[str], float, str]:
    """Run one benchmark; its goal rows, its wall time, and its error output if it failed."""
    script, full, quick_args = BENCHES[name]
    command = [sys.executable, str(HERE / script), *(quick_args if quick else full)]
    if write_readme:
        command.append("--write-readme")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent,
                          check=False)
    seconds = time.perf_counter() - start
    error = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]
    return goal_rows(done.stdout), seconds, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--write-readme", action="store_true",
                        help="each benchmark updates its README block; and the summary")
    parser.add_argument("--only", help="comma-separated names: " + ",".join(BENCHES))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(BENCHES)}")
    load_before = os.getloadavg()[0]
    lines = ["benchmark | goal (subject, baseline, ratio, target) | verdict", "---|---|---"]
    print(lines[0], flush=True)
    failed = False
    for name in names:
        rows, seconds, error = run(name, args.quick, args.write_readme)
        if error:
            failed = True
            row = f"{name} | did not finish ({seconds:.0f} s): {error} | misses"
            print(row, flush=True)
            lines.append(row)
        for text in rows:
            body, _, word = text.rpartition(" ")
            row = f"{name} | {body.rstrip(' |:')} | {word}"
            print(row, flush=True)
            lines.append(row)
    load_after = os.getloadavg()[0]
    head = (f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {'--quick' if args.quick else 'full'}"
            f", {os.cpu_count()} cores; load average {load_before:.1f} before, "
            f"{load_after:.1f} after (other work on the machine slows both columns).")
    print(head)
    if args.write_readme and not args.only:
        write_block("\n".join([head, "", *lines]), start=START, end=END)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
