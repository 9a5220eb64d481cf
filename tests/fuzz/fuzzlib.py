"""Structured mutation fuzzing of ectocalc's inputs against its command-line contract.

The invariant (contract §1): running ``ectocalc assess`` or ``ectocalc scan`` on any input
gives exit 0 with exactly one valid JSON document on stdout (and nothing else on stderr than
``wrote FILE``), or exit 2 with exactly one line on stderr and nothing on stdout; never exit 1
(an internal error), never a hang, never an output file left behind by a refused run.

Inputs are built from real seeds (the example cases, the shared FHIR bundles, a pydicom-built
CT series, a nibabel-built NIfTI volume) and mutated by kind-aware mutators:

- ``yaml`` / ``json``: case documents mutated as trees (delete, replace by a hostile value,
  duplicate, rename, non-text keys, deep nesting, aliases), then serialised, sometimes with
  raw text damage (truncation, duplicated lines, byte flips) or duplicate keys;
- ``fhir``: bundles mutated as trees plus FHIR-aware changes (resourceType, comparator,
  a second Patient, dates, valueQuantity);
- ``dicom``: CT series with mutated tags (deleted, emptied, out of range, wrong type), pixel
  data cut short, foreign objects and empty files in the folder;
- ``zip``: zips of those series: nested, path traversal names, damaged, bomb-like, empty;
- ``nifti``: header fields patched at their byte offsets (dims, datatype, pixdim, scaling,
  qform/sform, magic), truncated or gzipped files.

Used by ``tests/fuzz`` (a bounded run) and ``bench/fuzz_long.py`` (a long run).
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import os
import random
import shutil
import signal
import struct
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shared_dir import REAL

ROOT = Path(__file__).resolve().parents[2]
CASE_SEEDS = sorted((ROOT / "examples" / "cases").glob("*.yaml")) + sorted(
    (ROOT / "examples" / "vignettes").glob("*.yaml"))
FHIR_SEEDS = sorted((ROOT / "examples" / "cases").glob("*.json")) + sorted(
    REAL.glob("*fhir*/*.json"))
KINDS = ("yaml", "json", "fhir", "dicom", "zip", "nifti")

_HOSTILE: list[Any] = [
    None, True, False, 0, -1, 1e308, -1e308, 10**30, 10**400, 2**63, 0.1, -0.0, "", " ",
    "0", "nan", "inf", "1e999", "2099-01-01", "0000-00-00", "9999-12-31", "1900-02-29",
    "\x00", "line\nbreak", "tab\tcontrol\x1b[31m", "é µ ∞ 🧪", "'quote\"", "x" * 5000,
    "../../etc/passwd", "/", "mg/dL", "mmol/L", "pg/mL", "<", "<=", ">", "ad", [], {},
    [1, 2], [[[[[]]]]], {"a": {"b": {"c": None}}}, ["x"] * 50,
]


@dataclass
class Outcome:
    """One run: what the contract says about it (``verdict``) and why."""

    kind: str
    code: int | None
    verdict: str
    """``ok`` (exit 0, one document), ``refused`` (exit 2, one line), else a failure name."""
    detail: str = ""
    stdout: str = ""
    stderr: str = ""
    args: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.verdict not in {"ok", "refused"}


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


@contextlib.contextmanager
def _fd_capture(number: int) -> Iterator[Callable[[], str]]:
    """Capture what reaches file descriptor ``number`` (C libraries, handlers bound to the
    process's original stderr) while the block runs."""
    import tempfile

    with tempfile.TemporaryFile() as sink:
        saved = os.dup(number)
        os.dup2(sink.fileno(), number)
        captured: list[bytes] = []
        try:
            yield lambda: b"".join(captured).decode("utf-8", "replace")
        finally:
            os.dup2(saved, number)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read())


def run_cli(args: list[str], *, timeout: int = 60) -> tuple[int | None, str, str]:
    """Run ``ectocalc ARGS`` in this process through ``main()``; ``None`` code on a hang.

    Python-level and descriptor-level output are both captured: a library printing to the
    process's stderr is caught as well.
    """
    from ectocalc.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, code = sys.argv, None
    sys.argv = ["ectocalc", *args]
    previous = signal.signal(signal.SIGALRM, _alarm)
    with _fd_capture(1) as fd_out, _fd_capture(2) as fd_err:
        signal.alarm(timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                    code = 0
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else 1
        except _Timeout:
            code = None
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            sys.argv = old_argv
            for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
    return code, fd_out() + out.getvalue(), fd_err() + err.getvalue()


def run_cli_process(args: list[str], *, timeout: int = 60) -> tuple[int | None, str, str]:
    """Run ``ectocalc ARGS`` as a separate process, killed after ``timeout`` seconds (``None``
    code): for inputs that may block in the kernel (a pipe), which no in-process timeout can
    interrupt in a worker thread."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "ECTOCALC_DEBUG"}
    try:
        done = subprocess.run([sys.executable, "-m", "ectocalc", *args], capture_output=True,
                              text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired as expired:
        return None, str(expired.stdout or ""), str(expired.stderr or "")
    return done.returncode, done.stdout, done.stderr


def _may_block(path: Path) -> bool:
    """True when ``path`` is or holds a file that is not regular (a pipe)."""
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    return any(p.exists() and not p.is_file() and not p.is_dir() for p in paths)


def judge(kind: str, args: list[str], code: int | None, stdout: str, stderr: str,
          out: Path | None = None) -> Outcome:
    """Check one run against the contract."""
    def outcome(verdict: str, detail: str = "") -> Outcome:
        return Outcome(kind, code, verdict, detail, stdout[-2000:], stderr[-2000:], args)

    if code is None:
        return outcome("hang")
    leftovers = _leftovers(out) if out is not None else []
    if code == 2:
        if stdout:
            return outcome("stdout-on-refusal", stdout[:200])
        if stderr.count("\n") != 1 or not stderr.endswith("\n") or not stderr.startswith(
                "error: "):
            return outcome("not-one-error-line", stderr[:500])
        if leftovers:
            return outcome("partial-output", ", ".join(leftovers))
        return outcome("refused")
    if code != 0:
        return outcome(f"exit-{code}", stderr[:500])
    if out is None:
        if stderr:
            return outcome("stderr-on-success", stderr[:500])
        try:
            json.loads(stdout)
        except ValueError as error:
            return outcome("not-one-json-document", f"{error}: {stdout[:200]!r}")
        return outcome("ok")
    extra = [line for line in stderr.splitlines() if not line.startswith("wrote ")]
    if extra:
        return outcome("stderr-on-success", "\n".join(extra)[:500])
    if not out.exists():
        return outcome("no-output", str(out))
    return outcome("ok")


def _leftovers(out: Path) -> list[str]:
    if out.is_file():
        return [str(out)]
    if out.is_dir():
        return [str(p) for p in out.rglob("*") if p.is_file()]
    return [str(p) for p in out.parent.glob(f".{out.name}*")]


# ---------------------------------------------------------------- tree mutation (case, FHIR)

def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _paths(value, (*prefix, index))


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def _hostile(rng: random.Random) -> Any:
    value = copy.deepcopy(rng.choice(_HOSTILE))
    if rng.random() < 0.2:
        value = rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-(10**6), 10**6),
                            rng.uniform(0, 20)])
    return value


def _nest(rng: random.Random, depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


def _gentle(tree: Any, rng: random.Random) -> None:
    """Plausible edits (a value scaled, an item dropped or repeated): inputs that pass
    validation, so the fuzzing reaches the analysis and the renderers."""
    paths = [p for p in _paths(tree) if p]
    for _ in range(rng.randint(1, 6)):
        if not paths:
            return
        path = rng.choice(paths)
        try:
            parent, key = _get(tree, path[:-1]), path[-1]
            value = parent[key]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            parent[key] = round(value * rng.choice([0.5, 0.8, 1.25, 2, 4]), 3)
        elif isinstance(value, list) and value:
            if rng.random() < 0.5:
                value.pop(rng.randrange(len(value)))
            else:
                value.append(copy.deepcopy(rng.choice(value)))
        elif isinstance(parent, dict) and key not in {"resourceType", "type"} and (
                rng.random() < 0.3):
            del parent[key]


def mutate_tree(tree: Any, rng: random.Random, *, fhir: bool = False) -> Any:
    """Apply 1-4 structural mutations to a deep copy of ``tree`` (or, one time in three,
    only plausible edits)."""
    tree = copy.deepcopy(tree)
    if rng.random() < 0.35:
        _gentle(tree, rng)
        return tree
    for _ in range(rng.randint(1, 4)):
        paths = list(_paths(tree))
        path = rng.choice(paths[1:] or paths)
        if not path:
            return _hostile(rng)
        parent, key = _get(tree, path[:-1]), path[-1]
        action = rng.random()
        if fhir and action < 0.3:
            _mutate_fhir(tree, rng)
        elif action < 0.45:
            parent[key] = _hostile(rng)
        elif action < 0.55:
            del parent[key]
        elif action < 0.65 and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif action < 0.72 and isinstance(parent, dict):
            parent[rng.choice([1, True, None, 2.5, "unknown_field", f"{key}x"])] = parent.pop(key)
        elif action < 0.78:
            parent[key] = _nest(rng, rng.choice([10, 70]))  # deeper: as text, damage_text
        elif action < 0.9 and isinstance(parent[key], int | float) and not isinstance(
                parent[key], bool):
            value = parent[key]
            parent[key] = rng.choice([value * 1000, -value, str(value), [value]]
                                     + ([value / 1000] if abs(value) < 1e300 else []))
        elif isinstance(parent[key], str):
            parent[key] = rng.choice([parent[key] * 3, parent[key][::-1], parent[key] + "\n",
                                      parent[key].upper(), ""])
        else:
            parent[key] = copy.deepcopy(_get(tree, rng.choice(paths)))
    return tree


def _mutate_fhir(bundle: Any, rng: random.Random) -> None:
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if not isinstance(entries, list) or not entries:
        return
    entry = rng.choice(entries)
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict):
        return
    choice = rng.randrange(8)
    if choice == 0:
        resource["resourceType"] = rng.choice(["Foo", "Observation", "Patient", "Bundle",
                                               "Medication", "", "observation"])
    elif choice == 1:
        quantity = resource.setdefault("valueQuantity", {"value": 3, "unit": "pg/mL"})
        if isinstance(quantity, dict):
            quantity["comparator"] = rng.choice(["<", "<=", ">=", ">", "ad", "~", "", 5])
    elif choice == 2:
        patient = next((e for e in entries if isinstance(e, dict) and isinstance(
            e.get("resource"), dict) and e["resource"].get("resourceType") == "Patient"), None)
        if patient is not None:
            twin = copy.deepcopy(patient)
            twin["resource"]["id"] = "someone-else"
            twin["resource"]["identifier"] = [{"value": "OTHER"}]
            entries.append(twin)
    elif choice == 3:
        for name in ("effectiveDateTime", "birthDate", "issued", "authoredOn"):
            if name in resource:
                resource[name] = rng.choice(["2099-01-01", "1800-01-01", "2026-02", "2026",
                                             "2026-13-40", "not a date", "2026-01-01T25:00:00Z"])
        bundle["timestamp"] = rng.choice(["2020-01-01T00:00:00Z", "bad", None])
    elif choice == 4:
        resource.pop("valueQuantity", None)
        resource["dataAbsentReason"] = {"coding": [{"code": "unknown"}]}
    elif choice == 5:
        resource["medicationReference"] = {"reference": rng.choice(
            ["#m", "Medication/x", "urn:uuid:nothing", "", "Medication/x/_history/1"]),
            **({"display": "warfarin"} if rng.random() < 0.5 else {})}
        resource.pop("medicationCodeableConcept", None)
    elif choice == 6:
        resource["contained"] = [{"resourceType": rng.choice(["Medication", "Bar"]), "id": "m",
                                  "code": {"text": "calcitriol"}}]
    else:
        bundle["type"] = rng.choice(["document", "collection", "transaction", "searchset",
                                     "batch", "history", "bogus"])


def _duplicate_keys_json(text: str) -> str:
    start = text.find("{")
    return text if start < 0 else text[: start + 1] + '"id": "a", "id": "b", ' + text[start + 1:]


def damage_text(text: str, rng: random.Random) -> str:
    """Raw damage to a serialised document."""
    choice = rng.randrange(7)
    if choice == 6:  # nesting past any parser's patience (both JSON and YAML flow syntax)
        depth = rng.choice([100, 600, 20_000])
        return "{" + '"labs": ' + "[" * depth + "1" + "]" * depth + "}"
    if choice == 0:
        return text[: rng.randrange(len(text) + 1)]
    if choice == 1:
        lines = text.splitlines(keepends=True)
        if lines:
            index = rng.randrange(len(lines))
            lines.insert(index, lines[index])
        return "".join(lines)
    if choice == 2:
        chars = list(text)
        for _ in range(rng.randint(1, 5)):
            if chars:
                chars[rng.randrange(len(chars))] = rng.choice("{}[]:,\"'&*!|>-#%@`\x00\t\n")
        return "".join(chars)
    if choice == 3:
        return "\ufeff" + text
    if choice == 4:
        return text + rng.choice(["\n...\n", "\n---\nid: second\n", "\x00", "}", "\n*alias\n"])
    return _duplicate_keys_json(text)


_YAML_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def case_input(folder: Path, rng: random.Random, kind: str) -> Path:
    """A mutated case file (``yaml`` or ``json``) written in ``folder``."""
    seed = yaml.safe_load(rng.choice(CASE_SEEDS).read_text())
    tree = mutate_tree(seed, rng)
    path = folder / f"case.{'yaml' if kind == 'yaml' else 'json'}"
    try:
        text = (yaml.safe_dump(tree, allow_unicode=True, sort_keys=False) if kind == "yaml"
                else json.dumps(tree, default=str, ensure_ascii=rng.random() < 0.5))
    except (TypeError, ValueError, RecursionError):
        text = json.dumps({"labs": tree}, default=str)[:10000]
    roll = rng.random()
    if roll < 0.25:
        text = damage_text(text, rng)
    elif roll < 0.27 and kind == "yaml":
        text = _YAML_BOMB
    if rng.random() < 0.05:
        path = path.with_suffix(rng.choice([".yml", ".txt", ".JSON", ""]))
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def fhir_input(folder: Path, rng: random.Random) -> Path:
    """A mutated FHIR bundle written in ``folder``."""
    seed = json.loads(rng.choice(FHIR_SEEDS).read_text())
    tree = mutate_tree(seed, rng, fhir=True)
    try:
        text = json.dumps(tree, default=str)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(seed)
    if rng.random() < 0.1:
        text = damage_text(text, rng)
    path = folder / "bundle.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# ------------------------------------------------------------------------- CT inputs

CT_SHAPE = (48, 48)
CT_SLICES = 4


def _ct_pixels(z: int) -> Any:
    import numpy as np

    yy, xx = np.mgrid[: CT_SHAPE[0], : CT_SHAPE[1]]
    hu = np.full(CT_SHAPE, -1000, dtype=np.int16)
    body = ((yy - 24) / 20.0) ** 2 + ((xx - 24) / 18.0) ** 2 <= 1
    hu[body] = 40
    if z in (1, 2):
        hu[((yy - 24) ** 2 + (xx - 20) ** 2) <= 9] = 400  # a calcified nodule
    return (hu + 1024).astype(np.uint16)


def ct_datasets(rng: random.Random | None = None) -> list[Any]:
    """A small axial CT series (pydicom datasets) with one calcified nodule."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    seed = (rng or random.Random(0)).randrange(10**9)
    study, series, frame = (generate_uid(entropy_srcs=[f"{seed}-{n}"])
                            for n in ("study", "series", "frame"))
    slices = []
    for z in range(CT_SLICES):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[f"{seed}-sop-{z}"])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientID, ds.StudyDate = "CT", "FUZZ", "20260101"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber, ds.SeriesNumber = z + 1, 1
        ds.ImagePositionPatient = [-16.8, -16.8, 3.0 * z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness, ds.KVP = [0.7, 0.7], 3.0, 120
        ds.Rows, ds.Columns = CT_SHAPE
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
        ds.PixelData = _ct_pixels(z).tobytes()
        slices.append(ds)
    return slices


_TAG_VALUES: dict[str, list[Any]] = {
    "PixelSpacing": [[0, 0], [-1, 0.7], [1e9, 1e9], [0.7], ["nan", "nan"], None],
    "SliceThickness": [0, -3, 1e9, None, "nan"],
    "ImagePositionPatient": [[0, 0, 0], [0, 0], None, [1e308, 0, 0], ["nan", 0, 0]],
    "ImageOrientationPatient": [[0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1],
                                None, [1, 0, 0]],
    "RescaleSlope": [0, -1, 1e30, None, "nan"],
    "RescaleIntercept": [1e30, None, 0, "inf"],
    "Rows": [0, 1, 47, 65535, None],
    "Columns": [0, 1, 47, 65535, None],
    "BitsAllocated": [8, 1, 32, 0, None],
    "BitsStored": [0, 17, 8, None],
    "PixelRepresentation": [1, 2, None],
    "SamplesPerPixel": [3, 0, None],
    "PhotometricInterpretation": ["RGB", "MONOCHROME1", "", None],
    "Modality": ["MR", "SEG", "", None],
    "ImageType": [["DERIVED", "SECONDARY", "LOCALIZER"], [], None],
    "KVP": [0, -80, 1e6, None, "abc"],
    "SeriesInstanceUID": ["1.2.3", "", None],
    "StudyDate": ["", "2099-01-01", "abc", None],
    "InstanceNumber": [None, -1, 10**12],
    "SOPClassUID": ["1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.3.10", None],
}


@contextlib.contextmanager
def _lenient_pydicom() -> Iterator[None]:
    """Let the harness write invalid values (restored afterwards: the reader keeps its own)."""
    from pydicom import config

    saved = config.settings.writing_validation_mode, config.settings.reading_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    config.settings.reading_validation_mode = config.IGNORE
    try:
        yield
    finally:
        config.settings.writing_validation_mode, config.settings.reading_validation_mode = saved


def _mutate_dataset(ds: Any, rng: random.Random) -> None:
    choice = rng.random()
    if choice < 0.7:
        keyword = rng.choice(list(_TAG_VALUES))
        value = rng.choice(_TAG_VALUES[keyword])
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            try:
                setattr(ds, keyword, value)
            except (ValueError, TypeError, OverflowError):  # not encodable in its VR: as text
                from pydicom.datadict import tag_for_keyword

                ds.add_new(tag_for_keyword(keyword), "LO", str(value))
    elif choice < 0.8:
        ds.PixelData = ds.PixelData[: rng.randrange(len(ds.PixelData) + 1)]
    elif choice < 0.9:
        from pydicom.encaps import encapsulate
        from pydicom.uid import JPEG2000Lossless, RLELossless

        syntax = rng.choice([JPEG2000Lossless, RLELossless, "1.2.3.4"])
        ds.file_meta.TransferSyntaxUID = syntax
        if syntax != "1.2.3.4":  # a compressed syntax around raw bytes: undecodable frames
            ds.PixelData = encapsulate([ds.PixelData])
    else:
        ds.ImagePositionPatient = [-16.8, -16.8, 0.0]  # every slice at one position


def write_series(folder: Path, datasets: list[Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with _lenient_pydicom():
        for index, ds in enumerate(datasets):
            path = folder / f"I{index:04d}.dcm"
            if "PixelData" in ds and "BitsAllocated" not in ds:
                ds["PixelData"].VR = "OW"  # otherwise ambiguous: pydicom would not write it
            try:
                ds.save_as(path, enforce_file_format=True)
            except Exception:  # a mutation pydicom will not encode as such
                try:
                    ds.save_as(path, implicit_vr=False, little_endian=True,
                               enforce_file_format=True)
                except Exception:  # not even so: a damaged file stands in for it
                    path.write_bytes(b"\0" * 128 + b"DICM" + bytes(64))


def dicom_input(folder: Path, rng: random.Random) -> Path:
    """A CT series folder with mutated tags, files or pixel data."""
    datasets = ct_datasets(rng)
    with _lenient_pydicom():
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                state = rng.random()  # the same change on every slice, as a scanner writes it
                for ds in datasets:
                    _mutate_dataset(ds, random.Random(state))
            else:
                _mutate_dataset(rng.choice(datasets), rng)
    series = folder / "series"
    write_series(series, datasets)
    roll = rng.random()
    if roll < 0.1:
        (series / "empty.dcm").write_bytes(b"")
    elif roll < 0.2:
        (series / "DIRFILE").write_bytes(b"\x00" * 128 + b"DICM" + bytes(rng.randbytes(64)))
    elif roll < 0.25:
        (series / "notes.txt").write_text("not dicom")
    elif roll < 0.3:
        victim = rng.choice(sorted(series.iterdir()))
        victim.write_bytes(victim.read_bytes()[: rng.randrange(300)])
    elif roll < 0.33:
        shutil.rmtree(series)
        series.mkdir()
    elif roll < 0.36:
        os.mkfifo(series / "I9999.dcm")  # reading it would block forever
    return series


def zip_input(folder: Path, rng: random.Random) -> Path:
    """A zip of a (possibly mutated) CT series, itself possibly damaged or hostile."""
    series = dicom_input(folder, rng) if rng.random() < 0.4 else _clean_series(folder, rng)
    path = folder / "ct.zip"
    choice = rng.randrange(8)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(f for f in series.iterdir() if f.is_file()):  # not a pipe
            name = {0: f"nested/deeper/{file.name}", 1: f"../../{file.name}",
                    2: f"/abs/{file.name}"}.get(choice, file.name)
            archive.write(file, name)
        if choice == 3:
            archive.writestr("bomb.dcm", b"\x00" * (8 * 2**20))
        elif choice == 4:
            inner = io.BytesIO()
            with zipfile.ZipFile(inner, "w") as nested:
                nested.writestr("x.dcm", b"DICM")
            archive.writestr("inner.zip", inner.getvalue())
        elif choice == 5:
            archive.writestr("I0000.dcm", b"duplicate name")
    if choice == 6:
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(len(data))])
    elif choice == 7 and rng.random() < 0.3:
        with zipfile.ZipFile(path, "w"):
            pass
    return path


def _clean_series(folder: Path, rng: random.Random) -> Path:
    series = folder / "series"
    write_series(series, ct_datasets(rng))
    return series


# NIfTI-1 header: field -> (byte offset, struct format)
_NIFTI_FIELDS: dict[str, tuple[int, str]] = {
    "sizeof_hdr": (0, "<i"), "dim0": (40, "<h"), "dim1": (42, "<h"), "dim2": (44, "<h"),
    "dim3": (46, "<h"), "dim4": (48, "<h"), "datatype": (70, "<h"), "bitpix": (72, "<h"),
    "pixdim0": (76, "<f"), "pixdim1": (80, "<f"), "pixdim2": (84, "<f"), "pixdim3": (88, "<f"),
    "vox_offset": (108, "<f"), "scl_slope": (112, "<f"), "scl_inter": (116, "<f"),
    "xyzt_units": (123, "<b"), "qform_code": (252, "<h"), "sform_code": (254, "<h"),
    "quatern_b": (256, "<f"), "srow_x0": (280, "<f"), "srow_y1": (300, "<f"),
    "srow_z2": (320, "<f"),
}
_NIFTI_VALUES: list[Any] = [0, -1, 1, 3, 7, 8, 16, 32767, -32768, float("nan"), float("inf"),
                            1e30, -1e30, 0.0, 1e-30, 2, 64, 512, 4, 1024]


def nifti_input(folder: Path, rng: random.Random) -> Path:
    """A small NIfTI CT with header fields patched at their byte offsets."""
    import nibabel as nib
    import numpy as np

    volume = np.stack([(_ct_pixels(z).astype(np.int16) - 1024) for z in range(CT_SLICES)],
                      axis=-1)
    affine = np.diag([0.7, 0.7, 3.0, 1.0])
    image = nib.Nifti1Image(volume, affine)
    image.header.set_xyzt_units("mm")
    plain = folder / "ct.nii"
    nib.save(image, plain)
    data = bytearray(plain.read_bytes())
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(list(_NIFTI_FIELDS))
        offset, fmt = _NIFTI_FIELDS[name]
        value = rng.choice(_NIFTI_VALUES)
        try:
            packed = struct.pack(fmt, int(value) if fmt[-1] in "hib" else float(value))
        except (struct.error, ValueError, OverflowError):
            continue
        data[offset: offset + len(packed)] = packed
    if rng.random() < 0.15:
        data = data[: rng.randrange(len(data))]
    if rng.random() < 0.4:
        path = folder / "ct.nii.gz"
        path.write_bytes(gzip.compress(bytes(data)))
        plain.unlink()
        return path
    plain.write_bytes(bytes(data))
    return plain


# --------------------------------------------------------------------------- one run

Builder = Callable[[Path, random.Random], Path]
BUILDERS: dict[str, Builder] = {
    "yaml": lambda folder, rng: case_input(folder, rng, "yaml"),
    "json": lambda folder, rng: case_input(folder, rng, "json"),
    "fhir": fhir_input,
    "dicom": dicom_input,
    "zip": zip_input,
    "nifti": nifti_input,
}


def fuzz_one(kind: str, seed: int, folder: Path, *, timeout: int = 60) -> Outcome:
    """Build input number ``seed`` of ``kind`` in ``folder``, run the CLI on it, judge it."""
    rng = random.Random(f"{kind}-{seed}")
    try:
        with warnings.catch_warnings():  # the harness's own complaints while writing bad files
            warnings.simplefilter("ignore")
            path = BUILDERS[kind](folder, rng)
    except Exception as error:  # a defect of this harness, not of ectocalc: counted apart
        return Outcome(kind, None, "harness-error", f"{type(error).__name__}: {error}")
    out: Path | None = None
    if kind in {"yaml", "json", "fhir"}:
        fmt = rng.choice(["json", "json", "text", "html"])
        args = ["assess", str(path), "--format", fmt]
        if fmt != "json" or rng.random() < 0.2:
            out = folder / f"report.{fmt}"
            args += ["--out", str(out)]
    else:
        args = ["scan", str(path), "--format", "json"]
        if rng.random() < 0.2:
            out = folder / "scan-out"
            args += ["--out", str(out)]
    runner = run_cli_process if _may_block(path) else run_cli
    code, stdout, stderr = runner(args, timeout=timeout)
    return judge(kind, args, code, stdout, stderr, out)
