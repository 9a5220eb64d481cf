"""Benchmark of ``ectocalc scan`` against plain baselines on a 512 × 512 × 300 CT series.

Measured side by side in one run, each a median over repetitions:

1. loading: ``ectocalc.imaging.load.load_ct`` vs a plain sequential pydicom read of the same
   files: ``pydicom.dcmread`` of each file plus its pixel data into an array
   (``[dcmread(f).pixel_array for f in files]``, the baseline of the target); also shown, the
   header-and-bytes read without decoding (``[dcmread(f) for f in files]``);
2. analysis: ``ectocalc.imaging.scan.analyse`` (``quantify`` minus loading and writing) vs one
   numpy threshold-and-count pass ``(hu >= 130).sum()`` over the same volume, with the time
   of each stage of ``analyse`` (body mask, bone, contrast check, candidates and labelling,
   measures, typing, label map) measured by running the stages one after the other;
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
    runs = [stage_times(volume) for _ in range(repeats + 1)][1:]
    for stage in runs[0]:
        times[f"stage_{stage}"] = statistics.median(run[stage] for run in runs)
    return times


STAGES = {
    "body": "body mask: largest 6-connected component > -300 HU (slab-wise), holes filled",
    "bone": "bone: 26-connected dense components (slab-wise), bone tests and dilation in "
            "their boxes",
    "contrast": "contrast check: opacified-lumen search (shortcut when too few band voxels)",
    "candidates": "candidates: dense voxels above the threshold outside bone (from the bone "
                  "stage's dense voxels)",
    "labelling": "labelling: 2D scoring pieces per slice box, size rule, 3D lesions on their "
                 "bounding box",
    "measures": "measures: volume, mass, peak, Agatston pieces, diameters",
    "typing": "typing: skin depth around each lesion, type and region",
    "label_map": "label map: uint16 lesion ids painted on the CT grid",
}


def stage_times(volume) -> dict[str, float]:
    """Seconds per stage of one ``analyse`` (default convention), the stages run in turn."""
    import numpy as np

    from ectocalc.imaging.conventions import factor_thresholds, get_convention
    from ectocalc.imaging.detect import body_mask, bone_and_dense, find_opacified_lumen, zeros
    from ectocalc.imaging.measure import _kept_flat, measure_flat
    from ectocalc.imaging.scan import _type_all

    hu, spacing = volume.hu, (volume.slice_increment_mm, *volume.pixel_spacing_mm)
    thresholds = factor_thresholds(volume.kvp)[0]
    convention = get_convention("agatston-1990")
    out: dict[str, float] = {}

    def timed(stage: str, run: Callable[[], object]):
        start = time.perf_counter()
        value = run()
        out[stage] = time.perf_counter() - start
        return value

    body = timed("body", lambda: body_mask(hu))
    bone, dense = timed("bone", lambda: bone_and_dense(hu, threshold_hu=thresholds[0],
                                                       spacing_mm=spacing, body=body))
    timed("contrast", lambda: find_opacified_lumen(hu, spacing_mm=spacing, body=body, bone=bone,
                                                   dense=(thresholds[0], dense)))
    keyword = {"pixel_spacing_mm": volume.pixel_spacing_mm,
               "increment_mm": volume.slice_increment_mm}

    def candidates_of():
        keep = hu.ravel()[dense] >= thresholds[0]
        keep &= ~bone.ravel()[dense]
        return dense[keep]

    candidates = timed("candidates", candidates_of)
    timed("labelling", lambda: _kept_flat(hu.shape, candidates, convention=convention,
                                          **keyword))
    start = time.perf_counter()
    measures = measure_flat(hu, candidates, convention=convention,
                            factor_thresholds_hu=thresholds,
                            thickness_mm=volume.slice_thickness_mm, affine=volume.affine,
                            **keyword)
    # measure_flat labels again: the measures are its time minus the labelling's.
    out["measures"] = max(time.perf_counter() - start - out["labelling"], 0.0)
    timed("typing", lambda: _type_all(measures, body=body, spacing_mm=spacing, anatomy=None,
                                      names=None))

    def label_map():
        labels = zeros(hu.shape, np.uint16)
        labels.ravel()[measures.flat] = measures.ids
        return labels

    timed("label_map", label_map)
    return out


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
    load_ratio = t["load_ct"] / t["pydicom_read_decode"]
    analysis_ratio = t["analyse"] / t["numpy_threshold_count"]

    def verdict(value: float, target: float) -> str:
        return "meets" if value <= target else "misses"

    floor = t["numpy_threshold_count"]
    stages = [f"| {STAGES[k]} | {t[f'stage_{k}']:.3f} s | {t[f'stage_{k}'] / floor:.1f}x |"
              for k in STAGES if f"stage_{k}" in t]
    total = sum(t[f"stage_{k}"] for k in STAGES if f"stage_{k}" in t)
    breakdown = ["", "Stages of `analyse` (run one after the other, median of the runs; the "
                 "sum differs a little from the whole call):", "",
                 "| stage | time | x one numpy pass |", "|---|---|---|", *stages,
                 f"| sum of the stages | {total:.3f} s | {total / floor:.1f}x |"]
    return "\n".join([
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work on the machine slows both columns).",
        f"Series: {rows} x {columns} x {slices} phantom ({spacing} mm pixels, {increment} mm "
        f"slices, {t['volume_mb']:.0f} MB in memory, {t['lesions']:.0f} lesions found); "
        f"median of {repeats} runs after a warm-up, page cache warm.",
        "",
        "| stage | ectocalc | baseline | ratio | target |",
        "|---|---|---|---|---|",
        f"| load | `load_ct` {t['load_ct']:.3f} s | `dcmread` + `pixel_array` per file "
        f"{t['pydicom_read_decode']:.3f} s (without decoding {t['pydicom_read']:.3f} s) | "
        f"{load_ratio:.2f}x ({t['load_ct'] / t['pydicom_read']:.2f}x vs no decoding) | <= 1x: "
        f"{verdict(load_ratio, TARGETS['load'])} |",
        f"| analysis | `analyse` {t['analyse']:.3f} s | `(hu >= 130).sum()` "
        f"{t['numpy_threshold_count']:.3f} s | {analysis_ratio:.1f}x | <= 3x: "
        f"{verdict(analysis_ratio, TARGETS['analysis'])} |",
        f"| peak memory, load + analysis | RSS growth {memory['rss_multiple']:.2f}x, "
        f"tracemalloc {memory['tracemalloc_multiple']:.2f}x the volume | volume "
        f"{t['volume_mb']:.0f} MB | {memory['rss_multiple']:.2f}x | <= 3x: "
        f"{verdict(memory['rss_multiple'], TARGETS['memory'])} |",
        *breakdown,
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
