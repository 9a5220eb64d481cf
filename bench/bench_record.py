"""Benchmark of the patient record (``ectocalc record``): scaling of ``show`` and batch ``add``.

1. ``record show`` of one patient on a record of 10,000 patients × 50 results, against the
   same patient on a record of 10 patients (target: within 2×; the indexes make the query
   cost independent of the record's size). The large record is filled with bulk inserts of
   rows shaped exactly as ``record add`` writes them (10 visits × 5 results per patient); the
   patient shown is added through ``add_files`` in both records.
2. ``record add`` of N case files in one process against one ``ectocalc record add`` process
   per file (target: ≥ 10× faster). The one-process-per-file side is timed on a sample of
   files and extrapolated to N (stated in the output).

Not part of the test suite. Usage::

    .venv/bin/python bench/bench_record.py                  # SQLite, 10,000 patients, N=1000
    .venv/bin/python bench/bench_record.py --quick          # 1,000 patients, N=200
    .venv/bin/python bench/bench_record.py --write-readme   # also update bench/README.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from ectocalc.record import add_files, open_store, patient_view
from ectocalc.record._schema import IdentifierRow, LabRow, PatientRow, SourceRow

VISITS = 10
LABS = (("creatinine", 1.4, "mg/dL", 0.05), ("phosphate", 4.4, "mg/dL", 0.1),
        ("calcium", 9.3, "mg/dL", 0.02), ("albumin", 3.9, "g/dL", -0.01),
        ("pth", 80.0, "pg/mL", 6.0))
SHOWN = "BENCH-SHOWN"
README = Path(__file__).with_name("README.md")


def _case(patient: str, day: date, visit: int) -> str:
    labs = "\n".join(f"  - {{analyte: {name}, value: {round(base + step * visit, 3)}, "
                     f"unit: {unit}}}" for name, base, unit, step in LABS)
    return (f"date: {day.isoformat()}\npatient: {{id: {patient}, age_years: {60 + visit}, "
            f"sex: female}}\nlabs:\n{labs}\n")


def _visit_files(folder: Path, patient: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for visit in range(VISITS):
        path = folder / f"{patient}-{visit}.yaml"
        path.write_text(_case(patient, date(2017, 1, 15) + timedelta(days=365 * visit), visit))
        paths.append(path)
    return paths


def _bulk_fill(url: str, patients: int) -> None:
    """``patients`` × 10 visits × 5 results, inserted in bulk (rows as ``record add`` writes)."""
    store = open_store(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    chunk = 500
    with store.session(write=True) as session:
        for start in range(0, patients, chunk):
            keys = [f"P{n:06d}" for n in range(start, min(start + chunk, patients))]
            session.execute(insert(PatientRow), [
                {"key": key, "sex": "female", "created_at": now} for key in keys])
            ids = dict(session.execute(select(PatientRow.key, PatientRow.id).where(
                PatientRow.key.in_(keys))).all())
            session.execute(insert(IdentifierRow), [
                {"patient_id": ids[key], "system": "", "value": key} for key in keys])
            sources = []
            for key in keys:
                for visit in range(VISITS):
                    day = date(2017, 1, 15) + timedelta(days=365 * visit)
                    sources.append({
                        "patient_id": ids[key], "digest": f"{key}-{visit}".ljust(64, "0"),
                        "file_digest": f"{key}-{visit}".ljust(64, "1"), "kind": "case",
                        "name": f"{key}-{visit}.yaml", "recorded_on": day,
                        "state": {"patient": {"age_years": 60 + visit, "sex": "female"},
                                  "risk_factors": {}, "case_id": None}, "added_at": now})
            session.execute(insert(SourceRow), sources)
            source_ids = session.execute(select(SourceRow.id, SourceRow.patient_id,
                                                SourceRow.recorded_on).where(
                SourceRow.patient_id.in_(list(ids.values())))).all()
            labs = []
            for source_id, patient_id, day in source_ids:
                visit = (day - date(2017, 1, 15)).days // 365
                for position, (name, base, unit, step) in enumerate(LABS):
                    value = round(base + step * visit, 3)
                    labs.append({"patient_id": patient_id, "source_id": source_id,
                                 "position": position, "analyte": name, "loinc": None,
                                 "value": value, "unit": unit, "canonical_value": value,
                                 "canonical_unit": unit,
                                 "effective_at": datetime.combine(day, datetime.min.time())})
            session.execute(insert(LabRow), labs)
    store.dispose()


def _time_show(url: str, repeats: int) -> float:
    store = open_store(url)
    patient_view(store, SHOWN)  # warm-up: imports, knowledge, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        patient_view(store, SHOWN)
        times.append(time.perf_counter() - start)
    store.dispose()
    return statistics.median(times)


def bench_show(work: Path, url_for: dict[str, str], patients: int, repeats: int) -> dict:
    shown = _visit_files(work / "shown", SHOWN)
    results = {}
    for label, count in (("small", 10), ("large", patients)):
        url = url_for[label]
        start = time.perf_counter()
        _bulk_fill(url, count - 1)
        store = open_store(url)
        assert all(r.status == "added" for r in add_files(store, shown))
        store.dispose()
        results[f"{label}_fill_s"] = time.perf_counter() - start
        results[f"{label}_show_s"] = _time_show(url, repeats)
    results["ratio"] = results["large_show_s"] / results["small_show_s"]
    return results


def bench_add(work: Path, url: str, count: int, sample: int) -> dict:
    folder = work / "add"
    folder.mkdir()
    files = []
    for index in range(count):
        path = folder / f"A{index:05d}.yaml"
        path.write_text(_case(f"A{index:05d}", date(2026, 1, 10), 0))
        files.append(path)
    command = [sys.executable, "-m", "ectocalc", "record", "add"]
    env = {**os.environ, "ECTOCALC_DB": url}
    subprocess.run([*command, str(files[0])], env=env, check=True, capture_output=True)
    start = time.perf_counter()  # one process for the rest
    subprocess.run([*command, *map(str, files[1:count - sample])], env=env, check=True,
                   capture_output=True)
    batch = (time.perf_counter() - start) / (count - 1 - sample) * count
    start = time.perf_counter()  # one process per file, on the last `sample` files
    for path in files[count - sample:]:
        subprocess.run([*command, str(path)], env=env, check=True, capture_output=True)
    per_file = (time.perf_counter() - start) / sample * count
    return {"n": count, "sample": sample, "batch_s": batch, "per_file_s": per_file,
            "speedup": per_file / batch}


def _report(show: dict, add: dict, patients: int, backend: str) -> str:
    load = os.getloadavg()[0]
    return "\n".join([
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.processor() or 'CPU'}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {backend}; load average "
        f"{load:.1f} at the end (other work on the machine slows every column).",
        "",
        "| measure | subject | baseline | ratio | target |",
        "|---|---|---|---|---|",
        f"| `record show` of one patient (50 results) | {patients:,} patients x 50 results: "
        f"{show['large_show_s']:.3f} s | 10 patients: {show['small_show_s']:.3f} s | "
        f"{show['ratio']:.2f}x | <= 2x: {'meets' if show['ratio'] <= 2 else 'misses'} |",
        f"| `record add` of {add['n']:,} case files | one process: {add['batch_s']:.1f} s "
        f"(measured on {add['n'] - 1 - add['sample']:,} files, scaled to {add['n']:,}) | one "
        f"process per file: {add['per_file_s']:.1f} s (measured on {add['sample']} files, "
        f"extrapolated to {add['n']:,}) | {add['speedup']:.1f}x faster | >= 10x: "
        f"{'meets' if add['speedup'] >= 10 else 'misses'} |",
        "",
        f"Filling the large record in bulk took {show['large_fill_s']:.1f} s. `record show` "
        "includes the assessment as of today (a constant cost in both columns), median of the "
        "repetitions after a warm-up.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    patients, count, sample = (1_000, 200, 10) if args.quick else (10_000, 1_000, 20)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url_for = {"small": f"sqlite:///{work / 'small.db'}",
                   "large": f"sqlite:///{work / 'large.db'}"}
        show = bench_show(work, url_for, patients, repeats=7)
        add = bench_add(work, f"sqlite:///{work / 'add.db'}", count, sample)
    text = _report(show, add, patients, "SQLite (WAL)")
    print(text)
    if args.write_readme:
        body = README.read_text()
        start, end = "<!-- record:start -->", "<!-- record:end -->"
        section = f"{start}\n{text}\n{end}"
        if start in body:
            body = body[:body.index(start)] + section + body[body.index(end) + len(end):]
        else:
            body += ("\n## Patient record (`bench_record.py`)\n\n"
                     "`record show` scaling with the record's size, and batch `record add` "
                     "against one process per file (see the script's docstring).\n\n"
                     + section + "\n")
        README.write_text(body)


if __name__ == "__main__":
    main()
