"""Long structured-mutation fuzzing run of ``ectocalc assess`` and ``ectocalc scan``.

The same mutators and contract check as the test suite's bounded run
(``tests/fuzz/fuzzlib.py``), over many more inputs: each input is built from a seeded random
generator (kind + seed reproduce it), run in this process through ``ectocalc.cli.main`` with
stdout/stderr captured at the Python and file-descriptor levels and a per-input timeout, and
judged: exit 0 with one JSON document, or exit 2 with one ``error:`` line; anything else is a
failure (internal error, hang, extra output, a partial file after a refusal).

Usage::

    .venv/bin/python bench/fuzz_long.py                        # 10,000 inputs
    .venv/bin/python bench/fuzz_long.py --minutes 60           # as many as an hour allows
    .venv/bin/python bench/fuzz_long.py --total 2000 --start 50000
    .venv/bin/python bench/fuzz_long.py --write-readme         # also update bench/README.md

Failures go to ``bench/results/fuzz_failures.json`` (kind, seed, verdict, arguments, output);
rebuild one with ``fuzzlib.fuzz_one(kind, seed, folder)``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fuzz"))

import fuzzlib  # noqa: E402

SHARE = {"yaml": 0.2, "json": 0.2, "fhir": 0.2, "dicom": 0.15, "zip": 0.12, "nifti": 0.13}
"""Share of the inputs by kind (sums to 1)."""
README = HERE / "README.md"
START, END = "<!-- fuzz:start -->", "<!-- fuzz:end -->"


def run(total: int, start: int, timeout: int, *, stop_after: float | None = None,
        checkpoint: Path | None = None) -> dict:
    """Fuzz ``total`` inputs (seeds from ``start``), the kinds interleaved so that a run
    stopped early (``stop_after`` seconds) still covers every kind; counts by kind and
    verdict, and the failures. The summary so far is written to ``checkpoint`` every 100
    inputs."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in SHARE}
    failures: list[dict] = []
    began = time.monotonic()
    plan = sorted(((seed / (total * share), kind, start + seed) for kind, share in SHARE.items()
                   for seed in range(round(total * share))))

    def summary() -> dict:
        return {"counts": {k: dict(v) for k, v in counts.items()}, "failures": failures,
                "seconds": round(time.monotonic() - began), "start": start,
                "planned": len(plan), "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "python": platform.python_version()}

    for done, (_, kind, seed) in enumerate(plan, 1):
        if stop_after is not None and time.monotonic() - began > stop_after:
            break
        with tempfile.TemporaryDirectory(prefix="ectocalc-fuzz-") as folder:
            outcome = fuzzlib.fuzz_one(kind, seed, Path(folder), timeout=timeout)
        counts[kind][outcome.verdict] += 1
        if outcome.failed:
            failures.append({"kind": kind, "seed": seed, "verdict": outcome.verdict,
                             "detail": outcome.detail, "args": outcome.args,
                             "stderr": outcome.stderr})
        if done % 100 == 0:
            print(f"{done} inputs, {time.monotonic() - began:.0f} s, "
                  f"{len(failures)} failures", flush=True)
            if checkpoint is not None:
                checkpoint.write_text(json.dumps(summary(), indent=1))
    return summary()


def table(summary: dict) -> str:
    """The README section: counts by kind and verdict, and the failures by signature."""
    verdicts = sorted({v for c in summary["counts"].values() for v in c},
                      key=lambda v: (v not in {"ok", "refused"}, v))
    done = sum(sum(c.values()) for c in summary["counts"].values())
    lines = [f"Run {summary['when']}, Python {summary['python']}, seeds from "
             f"{summary['start']}: {done} of {summary['planned']} planned inputs in "
             f"{summary['seconds']} s (one process, on a 2-core machine shared with other "
             "work).", "",
             "| kind | inputs | " + " | ".join(verdicts) + " |",
             "|---|---:|" + "---:|" * len(verdicts)]
    for kind, counts in summary["counts"].items():
        lines.append(f"| {kind} | {sum(counts.values())} | "
                     + " | ".join(str(counts.get(v, 0)) for v in verdicts) + " |")
    signatures = Counter(
        f"{f['kind']} {f['verdict']}: "
        f"{re.sub(r'/tmp/[^ :]+', '<file>', f['detail']).splitlines()[0][:90]}"
        .strip() for f in summary["failures"])
    if signatures:
        lines += ["", "Failures by signature (first 90 characters; all in "
                  "`bench/results/fuzz_failures.json`):", ""]
        lines += [f"- {n} × {signature}" for signature, n in signatures.most_common(15)]
    return "\n".join(lines)


def _write_readme(section: str) -> None:
    text = README.read_text()
    block = f"{START}\n{section}\n{END}"
    if START in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Long fuzzing run (`fuzz_long.py`)\n\n" + (
            "Structured mutation of case files, FHIR bundles, DICOM series, zips and NIfTI "
            "headers (see the module docstring). Verdicts: `ok` = exit 0 with one JSON "
            "document; `refused` = exit 2 with one `error:` line; anything else breaks the "
            "contract.\n\n" + block + "\n")
    README.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--start", type=int, default=10_000,
                        help="first seed (the test suite's bounded run uses seeds from 0)")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per input")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this long (the inputs done so far are reported)")
    parser.add_argument("--write-readme", action="store_true")
    options = parser.parse_args()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    summary = run(options.total, options.start, options.timeout,
                  stop_after=options.minutes * 60 if options.minutes else None,
                  checkpoint=results / "fuzz_failures.json")
    (results / "fuzz_failures.json").write_text(json.dumps(summary, indent=1))
    section = table(summary)
    print(section)
    if options.write_readme:
        _write_readme(section)


if __name__ == "__main__":
    main()
