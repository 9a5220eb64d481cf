"""Benchmark of ``ectocalc scan`` against plain baselines on a 512 × 512 × 300 CT series.

Measured side by side in one run, each a median over repetitions:

1. loading: ``ectocalc.imaging.load.load_ct`` vs a plain sequential ``pydicom.dcmread`` of the
   same files into a list (also shown: the same read with each slice's pixels decoded);
2. analysis: ``ectocalc.imaging.scan.analyse`` (``quantify`` minus loading and writing) vs one
   numpy threshold-and-count pass ``(hu >= 130).sum()`` over the same volume;
3. peak memory of loading + analysis in a fresh subprocess, as a multiple of the volume's
   size in memory (``hu.nbytes``): peak resident-set growth over the RSS after imports
   (Linux ``VmHWM`` reset through ``/proc/self/clear_refs``) and the tracemalloc peak.

The series is generated once by :func:`ectocalc.imaging.phantom.write_phantom` and cached under
``bench/results/`` (git-ignored). Usage::

    .venv/bin/python bench/bench_scan.py            # 512 x 512 x 300, 5 repetitions
    .venv/bin/python bench/bench_scan.py --quick    # 256 x 256 x 60
    .venv/bin/python bench/bench_scan.py --write-readme   # also update bench/README.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pydicom

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SIZES = {  # name: (rows, columns, slices, pixel spacing mm, slice increment mm)
    "full": (512, 512, 300, 0.4, 1.0),
    "quick": (256, 256, 60, 0.7, 3.0),
}
TARGETS = {"load": 1.0, "analysis": 3.0, "memory": 3.0}


def series_dir(size: str) -> Path:
    """The cached phantom series of ``size``, generated on first use."""
    rows, columns, slices, spacing, increment = SIZES[size]
    out = RESULTS / f"phantom_{rows}x{columns}x{slices}"
    dicom = out / "dicom"
    if len(list(dicom.glob("*.dcm"))) != slices:
        from ectocalc.imaging.phantom import write_phantom

        print(f"generating {rows}x{columns}x{slices} phantom in {out} ...", flush=True)
        write_phantom(out, rows=rows, columns=columns, slices=slices,
                      pixel_spacing_mm=spacing, slice_increment_mm=increment, anatomy=False)
    return dicom


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run`` over ``repeats`` calls (after one untimed warm-up)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_times(dicom: Path, repeats: int) -> dict[str, float]:
    """Median times (s) of the loader, analysis and their baselines, interleaved per stage."""
    from ectocalc.imaging.load import load_ct
    from ectocalc.imaging.scan import analyse

    files = sorted(dicom.glob("*.dcm"))
    times = {
        "pydicom_read": median_seconds(lambda: [pydicom.dcmread(f) for f in files], repeats),
        "pydicom_read_decode": median_seconds(
            lambda: [pydicom.dcmread(f).pixel_array for f in files], repeats),
        "load_ct": median_seconds(lambda: load_ct(dicom), repeats),
    }
    volume = load_ct(dicom)
    times["numpy_threshold_count"] = median_seconds(lambda: int((volume.hu >= 130).sum()),
                                                    repeats)
    times["analyse"] = median_seconds(lambda: analyse(volume), repeats)
    times["volume_mb"] = volume.hu.nbytes / 1e6
    times["lesions"] = len(analyse(volume).result.lesions)
    return times


MEMORY_PROBE = """
import json, sys, tracemalloc
from pathlib import Path
from ectocalc.imaging.load import load_ct
from ectocalc.imaging.scan import analyse

def status_kb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

mode, path = sys.argv[1], sys.argv[2]
if mode == "tracemalloc":
    tracemalloc.start()
else:
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = status_kb("VmRSS")
volume = load_ct(path)
analysis = analyse(volume)
out = {"nbytes": volume.hu.nbytes}
if mode == "tracemalloc":
    out["peak"] = tracemalloc.get_traced_memory()[1]
else:
    out["peak"] = status_kb("VmHWM") - before
print(json.dumps(out))
"""


def bench_memory(dicom: Path) -> dict[str, float]:
    """Peak memory of load + analyse in fresh subprocesses, as multiples of ``hu.nbytes``."""
    result = {}
    for mode in ("rss", "tracemalloc"):
        completed = subprocess.run([sys.executable, "-c", MEMORY_PROBE, mode, str(dicom)],
                                   check=True, capture_output=True, text=True)
        probe = json.loads(completed.stdout.strip().splitlines()[-1])
        result[f"{mode}_multiple"] = probe["peak"] / probe["nbytes"]
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {__import__('numpy').__version__}, pydicom {pydicom.__version__}")


def table(size: str, repeats: int, t: dict[str, float], memory: dict[str, float]) -> str:
    rows, columns, slices, spacing, increment = SIZES[size]
    load_ratio = t["load_ct"] / t["pydicom_read"]
    analysis_ratio = t["analyse"] / t["numpy_threshold_count"]

    def verdict(value: float, target: float) -> str:
        return "meets" if value <= target else "misses"

    return "\n".join([
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work on the machine slows both columns).",
        f"Series: {rows} x {columns} x {slices} phantom ({spacing} mm pixels, {increment} mm "
        f"slices, {t['volume_mb']:.0f} MB in memory, {t['lesions']:.0f} lesions found); "
        f"median of {repeats} runs after a warm-up, page cache warm.",
        "",
        "| stage | ectocalc | baseline | ratio | target |",
        "|---|---|---|---|---|",
        f"| load | `load_ct` {t['load_ct']:.2f} s | `dcmread` list {t['pydicom_read']:.2f} s "
        f"(with pixel decode {t['pydicom_read_decode']:.2f} s) | {load_ratio:.2f}x "
        f"({t['load_ct'] / t['pydicom_read_decode']:.2f}x vs decode) | <= 1x: "
        f"{verdict(load_ratio, TARGETS['load'])} |",
        f"| analysis | `analyse` {t['analyse']:.2f} s | `(hu >= 130).sum()` "
        f"{t['numpy_threshold_count']:.3f} s | {analysis_ratio:.1f}x | <= 3x: "
        f"{verdict(analysis_ratio, TARGETS['analysis'])} |",
        f"| peak memory, load + analysis | RSS growth {memory['rss_multiple']:.2f}x, "
        f"tracemalloc {memory['tracemalloc_multiple']:.2f}x the volume | volume "
        f"{t['volume_mb']:.0f} MB | {memory['rss_multiple']:.2f}x | <= 3x: "
        f"{verdict(memory['rss_multiple'], TARGETS['memory'])} |",
    ])


def write_readme(text: str) -> None:
    readme = README.read_text()
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 x 256 x 60 series")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true",
                        help="replace the results block of bench/README.md")
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    dicom = series_dir(size)
    times = bench_times(dicom, args.repeats)
    memory = bench_memory(dicom)
    text = table(size, args.repeats, times, memory)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_{size}.json").write_text(json.dumps({**times, **memory}, indent=2))
    if args.write_readme:
        write_readme(text)


if __name__ == "__main__":
    main()
