"""Benchmark of reading a large YAML case: PyYAML's C loader (libyaml) against its pure-Python
loader, both refusing duplicate keys exactly as :mod:`ectocalc.io.case_file` does.

First ``ectocalc.record.add_files`` of a case of ``--add-mb`` MB (the web's YAML limit: parse,
validation of every lab, the record write) on a temporary SQLite record, in the fresh process,
with its resident-set growth. Then the parse: the case is the shape of the issue-25 attack,
one patient with a 17 MB list of lab results in block style (``bench/results/large-case-*.yaml``,
written once, git-ignored); each loader parses it ``--repeat`` times in turn (with the tree
check that both share); reported are the median times and the ratio pure/C.

Not part of the test suite. Usage::

    .venv/bin/python bench/bench_yaml.py                 # import 1 MB, parse 17 MB 3 times
    .venv/bin/python bench/bench_yaml.py --mb 2 --add-mb 1 --repeat 1
    .venv/bin/python bench/bench_yaml.py --write-readme  # also update bench/README.md
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from _readme import write_block

from ectocalc.io import case_file

RESULTS = Path(__file__).with_name("results")
LAB = "  - {{analyte: {a}, value: {v}, unit: {u}, date: {d}}}\n"
ANALYTES = (("calcium", 9.4, "mg/dL"), ("phosphate", 4.1, "mg/dL"),
            ("creatinine", 1.3, "mg/dL"), ("pth", 88.0, "pg/mL"), ("albumin", 3.9, "g/dL"))


def write_case(path: Path, megabytes: float) -> Path:
    """A valid case file of about ``megabytes`` MB: one patient, many dated lab results."""
    if path.exists() and abs(path.stat().st_size / 2**20 - megabytes) < 0.5:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    day, size, i = date(1990, 1, 1), 0, 0
    lines = ["id: large-case\n", "date: 2026-01-01\n",
             "patient: {id: LARGE-1, age_years: 60, sex: female}\n", "labs:\n"]
    while size < megabytes * 2**20:
        analyte, value, unit = ANALYTES[i % len(ANALYTES)]
        line = LAB.format(a=analyte, v=round(value + (i % 7) * 0.1, 1), u=unit,
                          d=(day + timedelta(days=(i // len(ANALYTES)) % 13000)).isoformat())
        lines.append(line)
        size += len(line)
        i += 1
    path.write_text("".join(lines))
    return path


def _pure_loader() -> type:
    """The case reader's duplicate-key loader on PyYAML's pure-Python parser."""
    return type("PureCaseLoader", (case_file.UniqueKeys, yaml.SafeLoader), {})


def _parse(text: str, loader: type) -> float:
    start = time.perf_counter()
    document = yaml.load(text, Loader=loader)
    case_file.check_tree(document, "bench")
    return time.perf_counter() - start


def _add(path: Path) -> tuple[float, float]:
    """``add_files`` of the case on a fresh record: seconds, and peak RSS in MiB."""
    from ectocalc.record import add_files, open_store

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/r.db")
        try:
            start = time.perf_counter()
            (result,) = add_files(store, [path])
            seconds = time.perf_counter() - start
        finally:
            store.dispose()
    assert result.status == "added", result.error
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=17.0, help="size of the parsed case")
    parser.add_argument("--add-mb", type=float, default=1.0,
                        help="size of the imported case (the web's YAML limit)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    added_path = write_case(RESULTS / f"large-case-{args.add_mb:g}mb.yaml", args.add_mb)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    added, peak = _add(added_path)
    imported = (f"`record.add_files` of a {added_path.stat().st_size / 2**20:.1f} MB YAML case "
                "(the web's YAML limit; parse, validation of every lab, record write, C loader): "
                f"{added:.1f} s, resident set {before:.0f} → {peak:.0f} MiB.")
    print(imported, flush=True)
    path = write_case(RESULTS / f"large-case-{args.mb:g}mb.yaml", args.mb)
    text = path.read_text()
    pure_loader, c_loader = _pure_loader(), case_file._CaseYamlLoader
    pure, fast = [], []
    for _ in range(args.repeat):
        pure.append(_parse(text, pure_loader))
        fast.append(_parse(text, c_loader))
    size = path.stat().st_size / 2**20
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"PyYAML {yaml.__version__} (libyaml "
        f"{'yes' if yaml.__with_libyaml__ else 'no'}); {args.repeat} alternating repetitions, "
        f"medians, wall time on a shared machine (load average {os.getloadavg()[0]:.1f}).",
        "",
        "case | parse + tree check, pure-Python loader | with the C loader | ratio",
        "---|---|---|---",
        f"{size:.1f} MB YAML, {text.count(chr(10)) - 4:,} labs | "
        f"{statistics.median(pure):.1f} s | {statistics.median(fast):.1f} s | "
        f"{statistics.median(pure) / statistics.median(fast):.1f}x faster",
    ]
    lines += ["", imported]
    print("\n".join(lines), flush=True)
    if args.write_readme:
        write_block("\n".join(lines), start="<!-- yaml:start -->", end="<!-- yaml:end -->")


if __name__ == "__main__":
    main()
