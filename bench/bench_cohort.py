"""Benchmark of ``ectocalc cohort`` on Dask against calling the service directly.

One cohort of phantom CT scans (each item a manifest row naming one of a few cached phantom
series, 512 × 512 × 120 by default) is processed three ways in the same run:

1. direct: ``service.quantify_scan(path, out_dir=...)`` for each item, one after the other,
   in this process (after one warm-up call): the baseline;
2. ``run_cohort`` on a local cluster of 1 worker; 3. the same on 2 workers (each run into a
   fresh output folder, so nothing is reused).

Reported: the speed-up of 2 workers over 1 (goal >= 1.8x); the per-item overhead of the Dask
path over the direct calls (goal < 5 %): interleaved (one cohort task's round trip on a
1-worker cluster and one direct call, alternating on the same series, medians), in the steady
state (the time per item between the
first and the last completion on 1 worker vs the direct time per item) and for the whole run
(``(t_1 worker - t_direct) / t_direct``, with cluster start-up, imports on the worker, content
digests, manifest, tables and summary), by wall clock and by CPU time (the driver's plus the
workers' user + system time, which other work on the machine disturbs less); and the peak
resident memory of each worker process (sampled every 0.25 s with psutil), also as a multiple
of one volume in memory. Usage::

    .venv/bin/python bench/bench_cohort.py                  # 40 items of 512 x 512 x 120
    .venv/bin/python bench/bench_cohort.py --quick          # 20 items of 256 x 256 x 60
    .venv/bin/python bench/bench_cohort.py --write-readme   # also update bench/README.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from _readme import verdict, write_block

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
START, END = "<!-- cohort-results:start -->", "<!-- cohort-results:end -->"
SIZES = {  # name: (rows, columns, slices, pixel spacing mm, slice increment mm, items)
    "full": (512, 512, 120, 0.4, 1.5, 40),
    "quick": (256, 256, 60, 0.7, 3.0, 20),
}
SERIES = 4
"""Distinct phantom series (seeds); the items name them in turn."""
TARGETS = {"speedup": 1.8, "overhead": 0.05}


def _write_phantom(out: Path, **size: float) -> None:
    from ectocalc.datasets import write_phantom

    write_phantom(out, anatomy=False, **size)


def cohort_manifest(size: str, items: int) -> Path:
    """A manifest CSV of ``items`` rows over :data:`SERIES` cached phantom series."""
    rows, columns, slices, spacing, increment, _ = SIZES[size]
    folders = []
    for seed in range(SERIES):
        out = RESULTS / f"cohort_{rows}x{columns}x{slices}_seed{seed}"
        if len(list((out / "dicom").glob("*.dcm"))) != slices:
            print(f"generating {out.name} ...", flush=True)
            _write_phantom(out, rows=rows, columns=columns, slices=slices,
                           pixel_spacing_mm=spacing, slice_increment_mm=increment, seed=seed)
        folders.append(out / "dicom")
    manifest = RESULTS / f"cohort_{size}_{items}.csv"
    manifest.write_text("id,case,scan\n" + "".join(
        f"item{n:03d},,{folders[n % SERIES]}\n" for n in range(items)))
    return manifest


class WorkerMonitor:
    """Peak RSS and CPU time of the Dask worker processes (descendants), sampled in a thread."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.peaks: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self._workers: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval_s,), daemon=True)

    def _find(self) -> None:
        for child in psutil.Process().children(recursive=True):
            if child.pid not in self._workers:
                try:
                    if "spawn_main" in " ".join(child.cmdline()):
                        self._workers[child.pid] = child
                except psutil.Error:
                    continue

    def worker_cpu(self) -> float:
        """User + system seconds of the worker processes so far (sampled now)."""
        self._find()
        for pid, process in self._workers.items():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    self.cpu[pid] = times.user + times.system
                    self.peaks[pid] = max(self.peaks.get(pid, 0), process.memory_info().rss)
            except psutil.Error:
                continue
        return sum(self.cpu.values())

    def _sample(self, interval_s: float) -> None:
        while not self._stop.is_set():
            self.worker_cpu()
            time.sleep(interval_s)

    def __enter__(self) -> WorkerMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_direct(manifest: Path, work: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the direct service calls over the manifest's scans.

    Measured after one warm-up call (imports done), in this process.
    """
    from ectocalc import service

    scans = [line.split(",")[2] for line in manifest.read_text().splitlines()[1:]]
    service.quantify_scan(scans[0], out_dir=work / "warm-up")
    start, cpu = time.perf_counter(), time.process_time()
    for n, scan in enumerate(scans):
        service.quantify_scan(scan, out_dir=work / f"direct-{n}")
    return time.perf_counter() - start, time.process_time() - cpu


def run_dask(manifest: Path, work: Path, workers: int) -> dict:
    """Seconds, steady per-item seconds, worker peak RSS (bytes), failures of a fresh run.

    The steady per-item time is the time between the first and the last item's completion
    over the items in between: the run without its fixed costs (cluster start, imports on
    the workers, the first item, tables and summary).
    """
    from ectocalc.cohort import ClusterOptions, discover_items, run_cohort

    items = discover_items([manifest])
    out = work / f"dask-{workers}"
    completions: list[tuple[float, float]] = []

    with WorkerMonitor() as monitor:
        def progress(event: str, done: int, failed: int, skipped: int, remaining: int) -> None:
            if event == "item":
                completions.append((time.perf_counter(), monitor.worker_cpu()))

        start, cpu = time.perf_counter(), time.process_time()
        result = run_cohort(items, out, cluster=ClusterOptions(workers=workers),
                            progress=progress)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    (first, first_cpu), (last, last_cpu) = completions[0], completions[-1]
    return {"seconds": seconds, "failed": len(result.failed),
            "cpu": cpu + sum(monitor.cpu.values()), "driver_cpu": cpu,
            "steady_per_item": (last - first) / (len(completions) - 1),
            "steady_cpu_per_item": (last_cpu - first_cpu) / (len(completions) - 1),
            "peak_rss": sorted(monitor.peaks.values(), reverse=True)[:workers]}


def run_interleaved(manifest: Path, work: Path, repeats: int) -> dict:
    """Median wall seconds per item: direct call vs one cohort task on a 1-worker cluster.

    The two alternate, item after item, on the same series (the task's round trip: submit,
    run the service on the worker, write the item folder, marker and row, return), so that
    other work on the machine weighs on both alike.
    """
    from ectocalc import service
    from ectocalc.cohort._run import ClusterOptions, _Cluster
    from ectocalc.cohort._task import Task, run_task

    scan = manifest.read_text().splitlines()[1].split(",")[2]
    direct, dask = [], []
    with _Cluster(ClusterOptions(workers=1)) as cluster:
        client = cluster.client()
        for n in range(repeats + 1):  # the first of each is a warm-up
            task = Task(id=f"ab{n}", kind="scan", case=None, scan=scan,
                        items_dir=str(work / "ab"), convention="agatston-1990",
                        deidentify=False, marker={"digest": "-", "stamp": "-"})
            start = time.perf_counter()
            client.submit(run_task, task, pure=False).result()
            dask.append(time.perf_counter() - start)
            start = time.perf_counter()
            service.quantify_scan(scan, out_dir=work / f"ab-direct-{n}")
            direct.append(time.perf_counter() - start)
    return {"direct": statistics.median(direct[1:]), "dask": statistics.median(dask[1:]),
            "repeats": repeats}


def table(size: str, t: dict) -> str:
    rows, columns, slices, spacing, increment, _ = SIZES[size]
    speedup = t["dask_1"] / t["dask_2"]
    overhead = (t["dask_1"] - t["direct"]) / t["direct"]
    direct_item = t["direct"] / t["items"]
    steady = (t["steady_1"] - direct_item) / direct_item
    cpu_overhead = (t["cpu_1"] - t["direct_cpu"]) / t["direct_cpu"]
    ab = t["interleaved"]
    interleaved = (ab["dask"] - ab["direct"]) / ab["direct"]
    direct_cpu_item = t["direct_cpu"] / t["items"]
    steady_cpu = (t["steady_cpu_1"] - direct_cpu_item) / direct_cpu_item
    volume_mb = rows * columns * slices * 2 / 1e6

    peak = max(t["peak_rss_2"] or [0]) / 1e6
    return "\n".join([
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work on the machine slows every column).",
        f"Cohort: {t['items']} scans ({rows} x {columns} x {slices}, {spacing} mm pixels, "
        f"{increment} mm slices, {volume_mb:.0f} MB in memory each; {SERIES} distinct series "
        f"named in turn), each written with its SEG, SR, CSV and overlays.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| direct service calls, one process | {t['direct']:.1f} s "
        f"({t['direct'] / t['items']:.2f} s per item) | baseline |",
        f"| cohort, 1 worker | {t['dask_1']:.1f} s | |",
        f"| cohort, 2 workers | {t['dask_2']:.1f} s | |",
        f"| speed-up, 2 workers vs 1, whole run | {speedup:.2f}x | >= {TARGETS['speedup']}x: "
        f"{verdict(speedup >= TARGETS['speedup'])} |",
        f"| speed-up, 2 workers vs 1, steady state (time between completions) | "
        f"{t['steady_1'] / t['steady_2']:.2f}x | >= {TARGETS['speedup']}x: "
        f"{verdict(t['steady_1'] / t['steady_2'] >= TARGETS['speedup'])} |",
        f"| per-item overhead of the Dask path, interleaved (one cohort task round trip "
        f"{ab['dask']:.3f} s vs the direct call {ab['direct']:.3f} s, alternating, median "
        f"of {ab['repeats']}) | {interleaved * 100:.1f} % | < {TARGETS['overhead'] * 100:.0f} "
        f"%: {verdict(interleaved < TARGETS['overhead'])} |",
        f"| per-item overhead of the Dask path, 1 worker, steady state (between the first "
        f"and last completions: {t['steady_1']:.2f} s per item vs {direct_item:.2f} s "
        f"direct) | {steady * 100:.1f} % | < {TARGETS['overhead'] * 100:.0f} %: "
        f"{verdict(steady < TARGETS['overhead'])} |",
        f"| overhead of the whole run, 1 worker vs direct, wall clock (cluster start, worker "
        f"imports, digests, tables, summary included) | {overhead * 100:.1f} % | reported |",
        f"| per-item overhead, CPU time, 1 worker, steady state (worker CPU between the first "
        f"and last completions: {t['steady_cpu_1']:.2f} s per item vs {direct_cpu_item:.2f} s "
        f"direct) | {steady_cpu * 100:.1f} % | < {TARGETS['overhead'] * 100:.0f} %: "
        f"{verdict(steady_cpu < TARGETS['overhead'])} |",
        f"| overhead of the whole run, CPU time, 1 worker vs direct (driver "
        f"{t['driver_cpu_1']:.1f} s incl. content digests, in-process scheduler and this "
        f"monitor, + workers {t['cpu_1'] - t['driver_cpu_1']:.1f} s incl. start-up and "
        f"imports, vs {t['direct_cpu']:.1f} s) | {cpu_overhead * 100:.1f} % | reported |",
        f"| peak RSS per worker (2 workers) | {peak:.0f} MB ({peak / volume_mb:.1f}x one "
        f"volume) | reported |",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 items of 256 x 256 x 60")
    parser.add_argument("--items", type=int, help="number of items (default by size)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="alternations of the interleaved per-item comparison")
    parser.add_argument("--write-readme", action="store_true",
                        help="replace the cohort results block of bench/README.md")
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    items = args.items or SIZES[size][5]
    RESULTS.mkdir(exist_ok=True)
    manifest = cohort_manifest(size, items)
    work = Path(tempfile.mkdtemp(prefix="bench-cohort-"))
    try:
        times: dict = {"items": items}
        times["direct"], times["direct_cpu"] = run_direct(manifest, work)
        for workers in (1, 2):
            run = run_dask(manifest, work, workers)
            if run["failed"]:
                raise SystemExit(f"{run['failed']} items failed; see {work}")
            times[f"dask_{workers}"], times[f"peak_rss_{workers}"] = (run["seconds"],
                                                                      run["peak_rss"])
            times[f"steady_{workers}"] = run["steady_per_item"]
            times[f"cpu_{workers}"] = run["cpu"]
            times[f"driver_cpu_{workers}"] = run["driver_cpu"]
            times[f"steady_cpu_{workers}"] = run["steady_cpu_per_item"]
            print(f"{workers} worker(s): {run['seconds']:.1f} s", flush=True)
        times["interleaved"] = run_interleaved(manifest, work, args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(size, times)
    print(text)
    (RESULTS / f"bench_cohort_{size}.json").write_text(json.dumps(times, indent=2))
    if args.write_readme:
        write_block(text, start=START, end=END)


if __name__ == "__main__":
    main()
