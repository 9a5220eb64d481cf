"""Benchmark of the pure assessment core: assessments per minute on one core, chemistry included.

Every example case and clinical vignette without a CT (``examples/cases``, ``examples/vignettes``)
is read once; then :func:`ectocalc.assess.assess` runs over them in turn, in this process, for a
fixed time after a warm-up (knowledge loaded, lexicon and rule conditions compiled, PHREEQC
database loaded). Cases whose labs allow it get their PHREEQC saturation indices, as in
``ectocalc assess``. Reading files and rendering are not timed (the service layer adds them).

Also timed: one ``chemistry`` section alone (PHREEQC runs, database already loaded), which the
test suite used to assert a wall-clock limit on.

Usage::

    .venv/bin/python bench/bench_assess.py                  # 20 s of assessments
    .venv/bin/python bench/bench_assess.py --seconds 5
    .venv/bin/python bench/bench_assess.py --write-readme   # also update bench/README.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ectocalc import service
from ectocalc.assess import assess
from ectocalc.chemistry import serum_chemistry

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
START, END = "<!-- assess:start -->", "<!-- assess:end -->"
TARGET_PER_MINUTE = 10_000


def _cases() -> list:
    paths = sorted([*(ROOT / "examples" / "cases").glob("*.*"),
                    *(ROOT / "examples" / "vignettes").glob("*.yaml")])
    cases = [service.read_case(p) for p in paths]
    return [c for c in cases if not c.scans]


def _rate(cases: list, knowledge: object, seconds: float) -> float:
    """Assessments per minute of this process's CPU time, over ``seconds`` of it (whole passes).

    CPU time, not wall-clock time: on a shared machine the process may wait for a core, and
    the figure is per core.
    """
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for case in cases:
            assess(case, knowledge=knowledge)
        done += len(cases)
    return done / (time.process_time() - start) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()

    knowledge = service.default_knowledge()
    cases = _cases()
    with_chemistry = [c for c in cases
                      if serum_chemistry(c, knowledge=knowledge).section is not None]
    for case in cases:  # warm-up: compiled lexicon and conditions, PHREEQC database
        assess(case, knowledge=knowledge)
    rate = _rate(cases, knowledge, args.seconds)
    chemistry_rate = _rate(with_chemistry, knowledge, args.seconds / 2)
    chemistry_ms = statistics.median(_time_ms(lambda c=c: serum_chemistry(c, knowledge=knowledge))
                                     for c in with_chemistry for _ in range(5))
    status = "meets" if rate >= TARGET_PER_MINUTE else "misses"
    chemistry_status = "meets" if chemistry_rate >= TARGET_PER_MINUTE else "misses"
    load = os.getloadavg()[0]
    machine = platform.processor() or platform.machine()
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine},"
        f" {os.cpu_count()} cores, Python {platform.python_version()}; load average {load:.1f}"
        " at the end.",
        f"Cases: {len(cases)} examples and vignettes without CT, {len(with_chemistry)} of them "
        f"with a chemistry section; {args.seconds:g} s of CPU time in whole passes after a "
        "warm-up, one process (rates per second of CPU time of this process).",
        "",
        "| measure | ectocalc | target |",
        "|---|---|---|",
        f"| assessments per minute per core (`assess`, chemistry included) | {rate:,.0f} "
        f"({60_000 / rate:.2f} ms each) | >= {TARGET_PER_MINUTE:,}: {status} |",
        f"| the same, only the cases with a chemistry section | {chemistry_rate:,.0f} "
        f"({60_000 / chemistry_rate:.2f} ms each) | >= {TARGET_PER_MINUTE:,}: {chemistry_status} |",
        f"| one chemistry section (PHREEQC, database loaded), median | {chemistry_ms:.2f} ms | "
        f"{chemistry_ms / (60_000 / rate):.2f}x one whole assessment |",
    ]
    print("\n".join(lines))
    if args.write_readme:
        text = README.read_text()
        block = f"{START}\n" + "\n".join(lines) + f"\n{END}"
        if START in text:
            head, _, rest = text.partition(START)
            text = head + block + rest.partition(END)[2]
        else:
            text = text.rstrip() + "\n\n## Assessment throughput\n\n" + block + "\n"
        README.write_text(text)


def _time_ms(run: object) -> float:
    start = time.process_time()
    run()  # type: ignore[operator]
    return (time.process_time() - start) * 1000


if __name__ == "__main__":
    sys.exit(main())
