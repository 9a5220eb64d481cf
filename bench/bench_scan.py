"""Benchmark of ``ectocalc scan`` against plain baselines on a 512 × 512 × 300 CT series.

One row per goal, each ending in ``meets`` or ``misses``; subject and baseline are timed in
the same run, interleaved repetition by repetition, and each ratio is the median of the
per-repetition ratios (robust to the load of a shared machine drifting during the run), in
CPU time of the process (:data:`clock`):

1. load: ``ectocalc.imaging.load_ct`` vs a plain sequential pydicom read of the same files,
   ``[dcmread(f).pixel_array for f in files]`` (also shown: the read without decoding);
2. analysis: ``ectocalc.imaging.analyse`` (``quantify`` minus loading and writing) vs one
   numpy threshold-and-count pass ``(hu >= 130).sum()`` over the same volume;
3. analysis at 600 slices (linear in slices): the same on the series stacked with its mirror
   image (600 slices, continuous at the junction, every object twice);
4. outputs: writing the ``--out`` folder (CSV, SEG, SR, PNG overlays, scan.json and the
   folder manifest with the input digest) vs the analysis itself;
5. peak memory of loading + analysis in a fresh subprocess, as a multiple of the volume's
   size in memory (``hu.nbytes``): resident-set growth over the RSS after imports (Linux
   ``VmHWM`` reset through ``/proc/self/clear_refs``) and the tracemalloc peak.

Also shown: the time of each stage of ``analyse`` and of each output file, and a cold
``ectocalc scan`` (a fresh process: imports, loading, analysis, JSON).

The series is generated once by :func:`ectocalc.datasets.write_phantom` and cached under
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
from _readme import verdict, write_block

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SIZES = {  # name: (rows, columns, slices, pixel spacing mm, slice increment mm)
    "full": (512, 512, 300, 0.4, 1.0),
    "quick": (256, 256, 60, 0.7, 3.0),
}
clock = time.process_time
"""The timer: CPU time of this process (user + system, page faults included). The pipeline is
single-threaded and reads from a warm page cache, so on an idle machine this is its wall
time; on the shared 2-core machine wall times swing with the other jobs (bench/README.md)."""
TARGETS = {"load": 1.0, "analysis": 3.0, "analysis_600": 3.5, "outputs": 1.0, "memory": 3.0}


def series_dir(size: str) -> Path:
    """The cached phantom series of ``size``, generated on first use."""
    rows, columns, slices, spacing, increment = SIZES[size]
    out = RESULTS / f"phantom_{rows}x{columns}x{slices}"
    dicom = out / "dicom"
    if len(list(dicom.glob("*.dcm"))) != slices:
        from ectocalc.datasets import write_phantom

        print(f"generating {rows}x{columns}x{slices} phantom in {out} ...", flush=True)
        write_phantom(out, rows=rows, columns=columns, slices=slices,
                      pixel_spacing_mm=spacing, slice_increment_mm=increment, anatomy=False)
    return dicom


def paired(subject: Callable[[], object], baseline: Callable[[], object], repeats: int
           ) -> tuple[float, float, float]:
    """Median times (s) of ``subject`` and ``baseline`` run alternately ``repeats`` times
    (after one untimed warm-up of each), and the median of the per-repetition ratios."""
    subject()
    baseline()
    pairs = []
    for _ in range(repeats):
        times = []
        for run in (baseline, subject):
            start = clock()
            run()
            times.append(clock() - start)
        pairs.append(times)
    base = [b for b, _ in pairs]
    sub = [a for _, a in pairs]
    return (statistics.median(sub), statistics.median(base),
            statistics.median(a / b for b, a in pairs))


def mirrored(volume):
    """The volume stacked with its mirror image along z: twice the slices, same anatomy."""
    import dataclasses

    import numpy as np

    return dataclasses.replace(volume, hu=np.concatenate([volume.hu, volume.hu[::-1]]))


def write_outputs(volume, analysis, out_dir: Path, source: Path) -> None:
    """``quantify``'s writing step (a fresh copy of the result each time: writing annotates
    it)."""
    import dataclasses

    from ectocalc.imaging.scan import _write_outputs

    fresh = dataclasses.replace(analysis, result=analysis.result.model_copy(deep=True))
    _write_outputs(volume, fresh, out_dir, source=source)


def bench_times(dicom: Path, repeats: int) -> dict[str, float]:
    """Times (s) and ratios of each subject and its baseline, measured pairwise."""
    from ectocalc.imaging import load_ct

    files = sorted(dicom.glob("*.dcm"))
    t: dict[str, float] = {}
    t["load_ct"], t["pydicom_read_decode"], t["load_ratio"] = paired(
        lambda: load_ct(dicom), lambda: [pydicom.dcmread(f).pixel_array for f in files],
        repeats)
    _, t["pydicom_read"], t["load_ratio_no_decoding"] = paired(
        lambda: load_ct(dicom), lambda: [pydicom.dcmread(f) for f in files], repeats)
    volume = load_ct(dicom)
    t.update(bench_analysis(volume, dicom, repeats))
    double = mirrored(volume)
    del volume
    t.update(bench_analysis(double, None, repeats, suffix="_600"))
    t["slices_600"] = double.hu.shape[0]
    return t


def bench_analysis(volume, dicom: Path | None, repeats: int, suffix: str = ""
                   ) -> dict[str, float]:
    """Analysis vs one threshold pass and its stages; with ``dicom``, the outputs too."""
    import tempfile

    from ectocalc.imaging import analyse

    t: dict[str, float] = {}
    t[f"analyse{suffix}"], t[f"numpy_threshold_count{suffix}"], t[f"analysis{suffix}_ratio"] = \
        paired(lambda: analyse(volume), lambda: int((volume.hu >= 130).sum()), repeats)
    stage = "stage600_" if suffix else "stage_"
    runs = [stage_times(volume) for _ in range(repeats + 1)][1:]
    for key in runs[0]:
        t[f"{stage}{key}"] = statistics.median(run[key] for run in runs)
    if dicom is None:
        return t
    analysis = analyse(volume)
    t["volume_mb"] = volume.hu.nbytes / 1e6
    t["lesions"] = len(analysis.result.lesions)
    with tempfile.TemporaryDirectory() as tmp:
        t["outputs"], t["outputs_analyse"], t["outputs_ratio"] = paired(
            lambda: write_outputs(volume, analysis, Path(tmp) / "out", dicom),
            lambda: analyse(volume), repeats)
        runs = [output_times(volume, analysis, Path(tmp), dicom) for _ in range(repeats)]
    for key in runs[0]:
        t[f"output_{key}"] = statistics.median(run[key] for run in runs)
    return t


def output_times(volume, analysis, tmp: Path, source: Path) -> dict[str, float]:
    """Seconds per output file (each writer on its own), and the folder manifest's digest of
    the input files."""
    import dataclasses

    from ectocalc.imaging.io.load import input_digest
    from ectocalc.imaging.scan import _writers

    fresh = dataclasses.replace(analysis, result=analysis.result.model_copy(deep=True))
    folder = tmp / "stages"
    folder.mkdir(exist_ok=True)
    out = {}
    start = clock()
    _ = fresh.labels  # painted on first use: here, not inside the first writer
    out["labels"] = clock() - start
    for key, write in _writers(volume, fresh):
        start = clock()
        write(folder)
        out[key] = clock() - start
    start = clock()
    input_digest(source)
    out["digest"] = clock() - start
    return out


OUTPUTS = {
    "labels": "lesion label map (uint16 ids on the CT grid, painted for the writers)",
    "csv": "lesions.csv",
    "seg": "seg.dcm: DICOM SEG (highdicom; frames holding segments only)",
    "sr": "sr.dcm: TID 1500 SR (highdicom)",
    "overlay_png": "overlay PNGs: axial slices by density factor and the axial MIP",
    "digest": "folder manifest: SHA-256 of the input files",
}


def cold_scan(dicom: Path) -> float:
    """Wall time of ``ectocalc scan DICOM --format json`` in a fresh process (page cache
    warm): imports, loading, analysis and the JSON."""
    command = [str(Path(sys.executable).parent / "ectocalc"), "scan", str(dicom),
               "--format", "json"]
    subprocess.run(command, check=True, capture_output=True)  # warm the page cache
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


STAGES = {
    "body": "body mask: largest 6-connected component > -300 HU and its holes, on row runs",
    "bone": "bone: 26-connected dense components on row runs, bone tests and dilation in "
            "their boxes",
    "contrast": "contrast check: opacified-lumen search (eroded band on row runs; shortcut "
                "when too few band voxels)",
    "candidates": "candidates: dense voxels above the threshold outside bone (from the bone "
                  "stage's dense voxels)",
    "noise": "noise test: local noise SD around each candidate region, peak against "
             "threshold + k SD (and the rejected specks counted as lesions)",
    "labelling": "labelling: 2D scoring pieces per slice box, size rule, 3D lesions on their "
                 "bounding box",
    "measures": "measures: volume, mass, peak, Agatston pieces, diameters",
    "typing": "typing: skin depth around each lesion, type and region",
}


def stage_times(volume) -> dict[str, float]:
    """Seconds per stage of one ``analyse`` (default convention), the stages run in turn."""
    import numpy as np

    from ectocalc.imaging import body_mask, factor_thresholds, find_opacified_lumen, get_convention

    # The stage split needs the pipeline's internal steps (white-box profiling).
    from ectocalc.imaging.bodymodel import build_body_model
    from ectocalc.imaging.detect import bone_and_dense
    from ectocalc.imaging.measure import _kept_flat, count_lesions, measure_flat
    from ectocalc.imaging.noise import reject_noise
    from ectocalc.imaging.scan import _type_all

    hu, spacing = volume.hu, (volume.slice_increment_mm, *volume.pixel_spacing_mm)
    thresholds = factor_thresholds(volume.kvp)[0]
    convention = get_convention("agatston-1990")
    out: dict[str, float] = {}

    def timed(stage: str, run: Callable[[], object]):
        start = clock()
        value = run()
        out[stage] = clock() - start
        return value

    body = timed("body", lambda: body_mask(hu))
    bone, dense = timed("bone", lambda: bone_and_dense(hu, threshold_hu=thresholds[0],
                                                       spacing_mm=spacing, body=body))
    model = timed("anatomy", lambda: build_body_model(
        hu, body=body, bone=bone, threshold_hu=thresholds[0],
        pixel_spacing_mm=volume.pixel_spacing_mm, increment_mm=volume.slice_increment_mm))
    timed("contrast", lambda: find_opacified_lumen(hu, spacing_mm=spacing, body=body, bone=bone,
                                                   dense=(thresholds[0], dense)))
    keyword = {"pixel_spacing_mm": volume.pixel_spacing_mm,
               "increment_mm": volume.slice_increment_mm}

    def candidates_of():
        keep = hu.ravel()[dense] >= thresholds[0]
        keep &= ~bone.ravel()[dense]
        return dense[keep]

    candidates = timed("candidates", candidates_of)

    def noise_test():
        verdict = reject_noise(hu, candidates, threshold_hu=thresholds[0], spacing_mm=spacing)
        count_lesions(hu.shape, np.setdiff1d(candidates, verdict.kept, assume_unique=True),
                      convention=convention, **keyword)
        return verdict.kept

    candidates = timed("noise", noise_test)
    timed("labelling", lambda: _kept_flat(hu.shape, candidates, convention=convention,
                                          **keyword))
    start = clock()
    measures = measure_flat(hu, candidates, convention=convention,
                            factor_thresholds_hu=thresholds,
                            thickness_mm=volume.slice_thickness_mm, affine=volume.affine,
                            **keyword)
    # measure_flat labels again: the measures are its time minus the labelling's.
    out["measures"] = max(clock() - start - out["labelling"], 0.0)
    timed("typing", lambda: _type_all(measures, body=body, spacing_mm=spacing, anatomy=None,
                                      names=None, model=model))
    return out


MEMORY_PROBE = """
import json, sys, tracemalloc
from pathlib import Path
from ectocalc.imaging import analyse, load_ct

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


def below(value: float, target: float) -> str:
    return verdict(value <= target)


def breakdown(t: dict[str, float], prefix: str, names: dict[str, str], floor: float,
              unit: str) -> list[str]:
    """Markdown rows of a stage table: time and multiple of ``floor`` per stage, and the sum."""
    keys = [k for k in names if f"{prefix}{k}" in t]
    rows = [f"| {names[k]} | {t[f'{prefix}{k}']:.3f} s | {t[f'{prefix}{k}'] / floor:.2f}x |"
            for k in keys]
    total = sum(t[f"{prefix}{k}"] for k in keys)
    return [f"| stage | time | x {unit} |", "|---|---|---|", *rows,
            f"| sum of the stages | {total:.3f} s | {total / floor:.2f}x |"]


def table(size: str, repeats: int, t: dict[str, float], memory: dict[str, float],
          cold: float) -> str:
    rows, columns, slices, spacing, increment = SIZES[size]
    floor = t["numpy_threshold_count"]
    goals = [
        f"load | `load_ct` {t['load_ct']:.3f} s | `dcmread` + `pixel_array` per file "
        f"{t['pydicom_read_decode']:.3f} s (without decoding {t['pydicom_read']:.3f} s; ratio "
        f"{t['load_ratio_no_decoding']:.2f}x) | {t['load_ratio']:.2f}x | <= 1x | "
        f"{below(t['load_ratio'], TARGETS['load'])}",
        f"analysis | `analyse` {t['analyse']:.3f} s | `(hu >= 130).sum()` {floor:.3f} s | "
        f"{t['analysis_ratio']:.2f}x | <= 3x | "
        f"{below(t['analysis_ratio'], TARGETS['analysis'])}",
        f"analysis, {t['slices_600']:.0f} slices (linear in slices) | `analyse` "
        f"{t['analyse_600']:.3f} s | `(hu >= 130).sum()` {t['numpy_threshold_count_600']:.3f} s "
        f"| {t['analysis_600_ratio']:.2f}x | <= 3.5x | "
        f"{below(t['analysis_600_ratio'], TARGETS['analysis_600'])}",
        f"outputs (`scan --out`) | all files {t['outputs']:.3f} s | `analyse` "
        f"{t['outputs_analyse']:.3f} s | {t['outputs_ratio']:.2f}x | <= 1x | "
        f"{below(t['outputs_ratio'], TARGETS['outputs'])}",
        f"peak memory, load + analysis | RSS growth {memory['rss_multiple']:.2f}x, tracemalloc "
        f"{memory['tracemalloc_multiple']:.2f}x the volume | volume {t['volume_mb']:.0f} MB | "
        f"{memory['rss_multiple']:.2f}x | <= 3x | "
        f"{below(memory['rss_multiple'], TARGETS['memory'])}",
    ]
    return "\n".join([
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work on the machine slows both columns).",
        f"Series: {rows} x {columns} x {slices} phantom ({spacing} mm pixels, {increment} mm "
        f"slices, {t['volume_mb']:.0f} MB in memory, {t['lesions']:.0f} lesions found); "
        f"{repeats} interleaved repetitions after a warm-up, page cache warm; times are CPU "
        "seconds of the process (medians), ratio = median of the per-repetition ratios.",
        "",
        "goal | ectocalc | baseline | ratio | target | verdict",
        "---|---|---|---|---|---",
        *goals,
        "",
        f"Cold `ectocalc scan DICOM --format json` (fresh process: imports, load, analysis, "
        f"JSON): {cold:.2f} s wall time.",
        "",
        "Stages of `analyse` (run one after the other, median of the runs; the sum differs a "
        "little from the whole call):",
        "",
        *breakdown(t, "stage_", STAGES, floor, "one numpy pass"),
        "",
        f"The same at {t['slices_600']:.0f} slices:",
        "",
        *breakdown(t, "stage600_", STAGES, t["numpy_threshold_count_600"], "one numpy pass"),
        "",
        "Output files (each writer on its own, median of the runs):",
        "",
        *breakdown(t, "output_", OUTPUTS, t["outputs_analyse"], "the analysis"),
    ])


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
    cold = cold_scan(dicom)
    text = table(size, args.repeats, times, memory, cold)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_{size}.json").write_text(
        json.dumps({**times, **memory, "cold_scan": cold}, indent=2))
    if args.write_readme:
        write_block(text, start=START, end=END)


if __name__ == "__main__":
    main()
