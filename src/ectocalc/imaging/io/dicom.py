"""Read one CT series from a DICOM folder (searched recursively) or a ``.zip`` of one.

Every byte of a file is read once. The first pass parses each header with the pixel data
*deferred* (pydicom records where the pixel data lie and skips them) to group files by
SeriesInstanceUID, pick the CT series, sort and check the geometry. The second pass reads each
slice's pixel data straight into its place in one preallocated int16 array and applies the
modality rescale in place (:func:`_decode_native`: uncompressed little-endian data); other
encodings go through pydicom's decoders (:func:`_decode`). Peak memory is the volume plus one
slice. Every refusal is an :class:`~ectocalc.errors.InputError` naming the file and the tag.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_rescale, pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from ectocalc.errors import InputError
from ectocalc.imaging.io.zip import is_zip, open_zip_members, zip_members
from ectocalc.imaging.volume import CTVolume

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
# Relative deviation from the median step above which spacing counts as non-uniform.
SPACING_TOLERANCE = 0.05
# Largest in-plane drift of slice positions (as a fraction of the step) before calling it tilt.
TILT_TOLERANCE = 0.01

# Elements at least this long are not read in the header pass (pydicom "defers" them and
# records where they are): the pixel data of any real CT slice, read later into the volume.
DEFER_BYTES = 16384
PIXEL_DATA = 0x7FE00010
NATIVE_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)

Progress = Callable[[int, int], None]


MAX_FILES = 20000
"""Most files examined under a series folder (a series, its localizers and a few objects)."""
MAX_DEPTH = 8
"""Deepest sub-folder level examined (exports nest a series a few levels down)."""


def _walk(folder: Path) -> list[str]:
    """Regular files under ``folder`` (not hidden, not DICOMDIR), refusing a tree too large
    or too deep to be one exported series (``/usr`` must not be walked whole)."""
    found: list[str] = []
    base = len(folder.parts)
    for root, dirs, names in os.walk(folder):
        if len(Path(root).parts) - base >= MAX_DEPTH:
            raise InputError(folder, "", f"folders nested more than {MAX_DEPTH} deep: not a "
                             "DICOM series folder")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            full = Path(root) / name
            if name == "DICOMDIR" or name.startswith(".") or not full.is_file():
                continue
            found.append(str(full))
            if len(found) > MAX_FILES:
                raise InputError(folder, "", f"more than {MAX_FILES} files: not one DICOM "
                                 "series folder; give the series' own folder")
    return sorted(found)


def _members(path: Path) -> list[str]:
    """Names of candidate DICOM files: a folder (recursive), a zip archive, or one file.

    Only regular files are taken: a FIFO, socket or device inside a folder is never opened.
    """
    if path.is_dir():
        return _walk(path)
    if is_zip(path):
        return zip_members(path)
    return [str(path)]


def _open_all(path: Path, names: list[str]) -> Iterator[tuple[str, Any]]:
    """Yield ``(label for messages, path or file-like)`` per member, opening a zip once."""
    if is_zip(path):
        yield from open_zip_members(path, names)
        return
    for name in names:
        yield name, name


def _has_dicom_magic(source: Any) -> bool:
    """True when the file carries the DICOM preamble marker ``DICM`` at byte 128."""
    if hasattr(source, "seek"):
        source.seek(0)
        head = source.read(132)
        source.seek(0)
    else:
        with open(source, "rb") as handle:
            head = handle.read(132)
    return head[128:132] == b"DICM"


def _read(label: str, source: Any, *, headers_only: bool) -> Dataset | None:
    """One dataset, or ``None`` when the file is not DICOM at all.

    ``headers_only`` leaves out the pixel data: a file on disk is parsed with its large
    elements deferred (their position is kept for :func:`_decode_native`), an in-memory zip
    member stops before the pixel data.
    """
    try:
        if headers_only and isinstance(source, str):
            return pydicom.dcmread(source, defer_size=DEFER_BYTES)
        return pydicom.dcmread(source, stop_before_pixels=headers_only)
    except InvalidDicomError as error:
        if _has_dicom_magic(source):  # a DICOM file, but broken: never skip it silently
            raise InputError(label, "", f"unreadable DICOM file ({error})") from None
        return None
    except Exception as error:  # truncated or corrupt: the user must know which file
        raise InputError(label, "", f"unreadable DICOM file ({type(error).__name__}: {error})"
                         ) from None


def _non_image_class(ds: Dataset) -> str | None:
    """Name of the object's SOP class when it is a known non-image object (a directory record
    such as DICOMDIR or Philips DIRFILE, a presentation state, SR, KOS, SEG, ...), else None.

    Examples
    --------
    >>> ds = Dataset(); ds.SOPClassUID = "1.2.840.10008.1.3.10"
    >>> _non_image_class(ds)
    'Media Storage Directory Storage'
    >>> ds.SOPClassUID = CT_IMAGE_STORAGE
    >>> _non_image_class(ds) is None
    True
    """
    meta = getattr(ds, "file_meta", None)
    sop = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else None)
    if not sop:
        return None
    uid = UID(str(sop))
    name = uid.name if uid.is_valid else ""
    if name == str(uid) or "Image Storage" in name:  # unknown class, or an image
        return None
    return name


def _require(ds: Dataset, keyword: str, label: str) -> Any:
    value = ds.get(keyword)
    if value is None or value == "":
        raise InputError(label, keyword, "missing; needed to place the slice in patient space")
    return value


# Plausibility limits, checked on the headers before any volume is allocated.
MIN_SPACING_MM, MAX_SPACING_MM = 0.05, 10.0
"""PixelSpacing range (mm): finer is not a clinical CT, coarser is not an image to score."""
MAX_INCREMENT_MM = 50.0
"""Largest slice increment or thickness (mm)."""
MAX_SIDE = 4096
"""Largest Rows or Columns."""
MAX_SLICES = 5000
"""Most slices in one series."""
MAX_VOXELS = 2**30
"""Most voxels in one volume (2 GiB as int16)."""
MAX_POSITION_MM = 1e5
"""Largest coordinate of ImagePositionPatient (mm)."""
MIN_KVP, MAX_KVP = 40.0, 160.0
"""Tube voltages of clinical CT (kV)."""
MAX_SLOPE = 1000.0
"""Largest |RescaleSlope| (stored values are 16-bit: larger slopes give no HU scale)."""
MAX_INTERCEPT = 1e5
"""Largest |RescaleIntercept|."""
NO_AIR_HU = -500.0
"""A CT whose lowest value is above this holds no air: its values may not be HU (warned)."""


def _floats(ds: Dataset, keyword: str, label: str) -> np.ndarray:
    """An element's values as floats (one line naming the file and tag if they are not)."""
    value = _require(ds, keyword, label)
    try:
        values = np.atleast_1d(np.asarray(
            list(value) if isinstance(value, pydicom.multival.MultiValue) else value, float))
    except (TypeError, ValueError):
        raise InputError(label, keyword, f"'{value}' is not a number") from None
    if not np.all(np.isfinite(values)):
        raise InputError(label, keyword, f"'{value}' is not a finite number")
    return values


def _vector(ds: Dataset, keyword: str, label: str, size: int, *, limit: float) -> np.ndarray:
    """A multi-valued geometry element with exactly ``size`` finite values within ``limit``."""
    values = _floats(ds, keyword, label)
    if values.size != size:
        raise InputError(label, keyword, f"has {values.size} value(s); {size} are required")
    if np.any(np.abs(values) > limit):
        raise InputError(label, keyword, f"value out of range (|v| <= {limit:g})")
    return values


def _spacing(ds: Dataset, label: str) -> tuple[float, float]:
    """PixelSpacing (row, column) in mm, within the plausible range."""
    values = _floats(ds, "PixelSpacing", label)
    if values.size != 2:
        raise InputError(label, "PixelSpacing", f"has {values.size} value(s); 2 are required")
    if np.any(values < MIN_SPACING_MM) or np.any(values > MAX_SPACING_MM):
        raise InputError(label, "PixelSpacing", f"{values[0]:g}\\{values[1]:g} mm is outside "
                         f"{MIN_SPACING_MM:g}-{MAX_SPACING_MM:g} mm")
    return float(values[0]), float(values[1])


def _matrix(ds: Dataset, label: str, slices: int) -> tuple[int, int]:
    """(Rows, Columns), with the series size checked before any allocation."""
    rows, columns = (int(_floats(ds, k, label)[0]) for k in ("Rows", "Columns"))
    for keyword, value in (("Rows", rows), ("Columns", columns)):
        if not 1 <= value <= MAX_SIDE:
            raise InputError(label, keyword, f"{value} is outside 1-{MAX_SIDE}")
    if slices > MAX_SLICES:
        raise InputError(label, "SeriesInstanceUID", f"{slices} slices in one series (limit "
                         f"{MAX_SLICES})")
    if rows * columns * slices > MAX_VOXELS:
        raise InputError(label, "Rows", f"{rows} x {columns} x {slices} voxels exceed the "
                         f"limit of {MAX_VOXELS}")
    return rows, columns


def _number(ds: Dataset, keyword: str, label: str, *, low: float, high: float,
            warnings: list[str] | None) -> float | None:
    """An optional (Type 2) number: ``None`` when absent or empty.

    A value that is not a number in ``[low, high]`` is refused (``warnings is None``) or
    ignored with a warning.
    """
    raw = ds.get(keyword)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = float("nan")
    if np.isfinite(value) and low <= value <= high:
        return value
    message = f"'{raw}' is not a plausible value ({low:g}-{high:g})"
    if warnings is None:
        raise InputError(label, keyword, message + "; it decides the scoring thresholds")
    warnings.append(f"{keyword} {message}: ignored")
    return None


def _check_rescale(ds: Dataset, label: str) -> None:
    """Stored values become HU only through RescaleSlope and RescaleIntercept (Type 1 in the
    CT Image module): both must be present, finite and plausible."""
    if "ModalityLUTSequence" in ds:
        return
    for keyword, limit in (("RescaleIntercept", MAX_INTERCEPT), ("RescaleSlope", MAX_SLOPE)):
        if ds.get(keyword) in (None, ""):
            raise InputError(label, keyword, "missing: the stored values cannot be converted "
                             "to Hounsfield units")
        value = _floats(ds, keyword, label)[0]
        if abs(value) > limit or (keyword == "RescaleSlope" and value == 0):
            raise InputError(label, keyword, f"{value:g} gives no Hounsfield scale")



def _pick_series(headers: list[tuple[str, Dataset]], source: Path,
                 warnings: list[str]) -> list[tuple[str, Dataset]]:
    """The one CT image series among the files, or an error saying what was found."""
    series: dict[str, list[tuple[str, Dataset]]] = {}
    blank = 0
    for label, ds in headers:
        if "SeriesInstanceUID" not in ds:  # Type 1 in every object: truncated or damaged
            raise InputError(label, "SeriesInstanceUID", "missing (incomplete or truncated "
                             "file?)")
        uid = str(ds.SeriesInstanceUID or "").strip()
        blank += not uid
        series.setdefault(uid, []).append((label, ds))
    if blank:  # present but empty: some anonymisers blank the UIDs; the files are whole
        warnings.append(f"{blank} file(s) have an empty SeriesInstanceUID (present but blank, "
                        "as some anonymisers leave it): read together as one series; check "
                        "that the folder holds one series only")
    ct: dict[str, list[tuple[str, Dataset]]] = {}
    other: list[str] = []
    for uid, items in series.items():
        label, first = items[0]
        modality = str(first.get("Modality", ""))
        sop = str(first.get("SOPClassUID", ""))
        if sop == ENHANCED_CT_IMAGE_STORAGE:
            raise InputError(label, "SOPClassUID", "Enhanced (multi-frame) CT is not supported; "
                             "export the series as single-frame CT images")
        # Dose reports and screenshots are often Modality CT too, but not CT Image Storage.
        if modality == "CT" and sop in (CT_IMAGE_STORAGE, ""):
            ct[uid] = items
        else:
            other.append(f"{modality or '?'} series {uid} ({label})")
    if not ct:
        if other:
            label, first = headers[0]
            raise InputError(label, "Modality",
                             f"no CT image series found; found {'; '.join(other)}")
        raise InputError(source, "", "no DICOM files found")
    if other:
        warnings.append(f"ignored objects that are not CT images: {'; '.join(other)}")
    # Scout/localizer images sometimes share the series: they are not part of the stack.
    for uid, items in ct.items():
        axial = [(lbl, ds) for lbl, ds in items
                 if "LOCALIZER" not in [str(t).upper() for t in ds.get("ImageType", [])]]
        if len(axial) < len(items):
            warnings.append(f"ignored {len(items) - len(axial)} localizer image(s) in series {uid}")
        ct[uid] = axial
    ct = {uid: items for uid, items in ct.items() if items}
    if not ct:
        label = next(iter(series.values()))[0][0]
        raise InputError(label, "ImageType", "no axial CT series: only localizer (scout) "
                         "images were found")
    if len(ct) > 1:
        found = ", ".join(f"{uid or '(empty UID)'} ({len(items)} images)"
                          for uid, items in ct.items())
        raise InputError(source, "SeriesInstanceUID",
                         f"several CT series found: {found}; give a folder holding one series")
    return next(iter(ct.values()))


def _raw_bytes(ds: Dataset, keyword: str) -> tuple[Any, ...] | None:
    """The undecoded value of an element with its encoding, or ``None`` once decoded."""
    elem = ds.get_item(keyword, keep_deferred=True)
    if elem is None or not getattr(elem, "is_raw", False) or elem.value is None:
        return None
    return (elem.value, elem.VR, elem.is_little_endian, elem.is_implicit_VR)


def _value_key(ds: Dataset, keyword: str) -> tuple[Any, ...]:
    """A hashable key that determines an element's value: its undecoded bytes when still raw."""
    raw = _raw_bytes(ds, keyword)
    if raw is not None:
        return raw
    if keyword not in ds:
        return ("absent",)
    return ("value", repr(ds[keyword].value))


def _check_consistent(items: list[tuple[str, Dataset]]) -> None:
    """Every slice must share matrix size, pixel spacing and orientation with the first."""
    label0, ds0 = items[0]
    keywords = ("Rows", "Columns", "PixelSpacing", "ImageOrientationPatient")
    raw0 = {keyword: _raw_bytes(ds0, keyword) for keyword in keywords}
    reference = {
        "Rows": int(_require(ds0, "Rows", label0)),
        "Columns": int(_require(ds0, "Columns", label0)),
        "PixelSpacing": np.asarray(_require(ds0, "PixelSpacing", label0), float),
        "ImageOrientationPatient": np.asarray(_require(ds0, "ImageOrientationPatient", label0),
                                              float),
    }
    for label, ds in items[1:]:
        for keyword, expected in reference.items():
            if raw0[keyword] is not None and _raw_bytes(ds, keyword) == raw0[keyword]:
                continue  # byte-identical to the first slice: the same value
            value = _require(ds, keyword, label)
            if isinstance(expected, int):
                same = value == expected
            else:
                values = _floats(ds, keyword, label)
                same = values.shape == expected.shape and np.allclose(values, expected,
                                                                      atol=1e-4)
            if not same:
                raise InputError(label, keyword, f"{value} differs from {expected} in {label0}; "
                                 "slices of one volume must share it")


def series_geometry(orientation: np.ndarray, positions: np.ndarray,
                    pixel_spacing: tuple[float, float], *, labels: list[str] | None = None,
                    fallback_increment: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Slice order, LPS affine and slice increment from DICOM orientation and positions.

    Parameters
    ----------
    orientation : ndarray, shape (6,)
        ImageOrientationPatient: row direction then column direction cosines.
    positions : ndarray, shape (n, 3)
        ImagePositionPatient of each slice, in file order.
    pixel_spacing : (float, float)
        PixelSpacing (row spacing, column spacing), mm.
    labels : list of str, optional
        File names for messages, in the same order as ``positions``.
    fallback_increment : float, optional
        Increment to use for a single slice (e.g. SliceThickness).

    Returns
    -------
    order : ndarray of int
        Indices that sort the slices by position along the normal (ascending).
    affine : ndarray, shape (4, 4)
        Maps ``(column, row, slice, 1)`` to LPS mm.
    increment : float
        Distance between consecutive slice positions, mm.

    Raises
    ------
    InputError
        Duplicate positions, non-uniform spacing (missing slices) or gantry tilt.

    Examples
    --------
    >>> pos = np.array([[0, 0, 5.0], [0, 0, 0.0], [0, 0, 2.5]])
    >>> order, affine, inc = series_geometry(np.array([1, 0, 0, 0, 1, 0.0]), pos, (0.5, 0.5))
    >>> order.tolist(), inc, affine[:3, 3].tolist()
    ([1, 2, 0], 2.5, [0.0, 0.0, 0.0])
    """
    labels = labels or [f"slice {i}" for i in range(len(positions))]
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along, positions = along[order], positions[order]
    steps = np.diff(along)
    if len(steps) == 0:
        increment = float(fallback_increment or 1.0)
        step_vector = normal * increment
    else:
        if np.any(steps < 1e-3):
            k = int(np.argmin(steps))
            raise InputError(labels[order[k + 1]], "ImagePositionPatient",
                             f"same slice position as {labels[order[k]]}: duplicate or "
                             "overlapping images in one series")
        # The most frequent step (the smallest on a tie) is the intended spacing: a median
        # is fooled when a short series misses a slice.
        values, counts = np.unique(np.round(steps, 2), return_counts=True)
        increment = float(values[np.argmax(counts)])
        bad = np.flatnonzero(np.abs(steps - increment) > SPACING_TOLERANCE * increment)
        if bad.size:
            k = int(bad[0])
            raise InputError(
                labels[order[k + 1]], "ImagePositionPatient",
                f"slice gap of {steps[k]:.2f} mm after {labels[order[k]]} where the series "
                f"spacing is {increment:.2f} mm (missing or non-uniform slices; "
                f"{bad.size} irregular step(s)); refusing to score a volume with a gap")
        displacement = np.diff(positions, axis=0)
        drift = np.linalg.norm(displacement - np.outer(steps, normal), axis=1)
        if np.any(drift > TILT_TOLERANCE * steps + 1e-3):
            k = int(np.argmax(drift))
            angle = float(np.degrees(np.arctan2(drift[k], steps[k])))
            raise InputError(labels[order[k + 1]], "ImagePositionPatient",
                             f"slice positions step {angle:.1f} degrees off the slice normal "
                             "(gantry tilt or sheared volume); resample to an orthogonal grid "
                             "first")
        step_vector = (positions[-1] - positions[0]) / (len(positions) - 1)
        increment = float(np.linalg.norm(step_vector))
    affine = np.eye(4)
    affine[:3, 0] = row_dir * pixel_spacing[1]
    affine[:3, 1] = col_dir * pixel_spacing[0]
    affine[:3, 2] = step_vector
    affine[:3, 3] = positions[0]
    return order, affine, increment


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value) or None
    return str(value).strip() or None


def _too_long(label: str, shape: tuple[int, int]) -> None:
    raise InputError(label, "Rows", f"the pixel data hold more than Rows x Columns = "
                     f"{shape[0]} x {shape[1]} pixels; the image size tags are wrong")


def _check_pixel_length(label: str, ds: Dataset, shape: tuple[int, int]) -> None:
    """Uncompressed pixel data longer than the image (beyond the even-length pad byte) mean
    Rows/Columns are wrong: pydicom would crop the data silently."""
    syntax = ds.file_meta.get("TransferSyntaxUID") if getattr(ds, "file_meta", None) else None
    elem = ds.get_item(PIXEL_DATA, keep_deferred=True)
    if elem is None or str(syntax) not in (*NATIVE_SYNTAXES, ExplicitVRBigEndian):
        return  # encapsulated or unknown: the decoder checks (and names) it
    length = elem.length if elem.value is None else len(elem.value)
    bits, samples = ds.get("BitsAllocated") or 16, ds.get("SamplesPerPixel") or 1
    frames = int(ds.get("NumberOfFrames") or 1)
    expected = shape[0] * shape[1] * samples * frames * bits // 8
    if length > expected + expected % 2:
        _too_long(label, shape)


def _decode(label: str, source: Any, header: Dataset, shape: tuple[int, int]) -> np.ndarray:
    """One slice in HU (float64): decoded pixel data with the modality rescale applied.

    ``pydicom.pixels.pixel_array`` reads only the pixel-related elements, which is much
    faster than parsing the whole file again; the rescale comes from the header pass.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stored = pixel_array(source)
    except Exception as error:
        if hasattr(source, "seek"):
            source.seek(0)
        full = _read(label, source, headers_only=False)
        if full is not None and "PixelData" not in full:
            raise InputError(label, "PixelData", "missing: the image has no pixel data") from None
        uid = header.file_meta.get("TransferSyntaxUID", "unknown")
        name = getattr(uid, "name", str(uid))
        reason = " ".join(str(error).split())  # decoder messages span several lines
        raise InputError(label, "TransferSyntaxUID",
                         f"cannot decode pixel data in {name} ({uid}): {reason}") from None
    if stored.shape != shape:
        raise InputError(label, "PixelData", f"pixel array shape {stored.shape} is not {shape}")
    if any("excess" in str(w.message) or "sufficient to contain" in str(w.message)
           for w in caught):  # pydicom would crop silently: Rows/Columns disagree with the data
        _too_long(label, shape)
    return apply_rescale(stored, header)


PIXEL_KEYWORDS = ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored",
                  "PixelRepresentation", "PhotometricInterpretation", "NumberOfFrames",
                  "RescaleSlope", "RescaleIntercept")
NativeFormat = tuple[int, int, int | None, int | None]
"""(pixel representation, bits stored, rescale slope, rescale intercept) of a native slice."""


def _native_format(header: Dataset, shape: tuple[int, int],
                   cache: dict[tuple, NativeFormat | None]) -> NativeFormat | None:
    """How :func:`_decode_native` reads this slice, or ``None`` to leave it to pydicom.

    Slices of a series nearly always share these elements byte for byte, so the answer is
    cached by their undecoded values (``cache``) instead of decoding them per file.
    """
    key = (str(header.file_meta.get("TransferSyntaxUID", "")), "ModalityLUTSequence" in header,
           shape, *(_value_key(header, keyword) for keyword in PIXEL_KEYWORDS))
    if key in cache:
        return cache[key]
    result = None
    signed, bits = header.get("PixelRepresentation"), header.get("BitsStored")
    if (sys.byteorder == "little" and key[0] in NATIVE_SYNTAXES and not key[1]
            and header.get("NumberOfFrames") in (None, 1)
            and header.get("SamplesPerPixel") == 1 and header.get("BitsAllocated") == 16
            and header.get("PhotometricInterpretation") in ("MONOCHROME1", "MONOCHROME2")
            and (header.get("Rows"), header.get("Columns")) == shape
            and signed in (0, 1) and isinstance(bits, int) and 1 <= bits <= 16):
        slope = intercept = None
        if "RescaleSlope" in header and "RescaleIntercept" in header:
            slope, intercept = float(header.RescaleSlope), float(header.RescaleIntercept)
        if slope is None or (slope.is_integer() and intercept.is_integer()):
            result = (int(signed), bits, None if slope is None else int(slope),
                      None if intercept is None else int(intercept))
    cache[key] = result
    return result


def _decode_native(out: np.ndarray, source: Any, header: Dataset, fmt: NativeFormat) -> bool:
    """Read uncompressed little-endian 16-bit pixel data straight into ``out`` (an int16 slice)
    and rescale it in place; ``False`` (``out`` then undefined) when anything is unusual, so the
    caller decodes the slice through pydicom (:func:`_decode`) with its checks and messages.

    ``fmt`` comes from :func:`_native_format`. The values equal
    ``apply_rescale(pixel_array(...))``: the unused high bits are cleared or sign-extended as
    pydicom does (``correct_unused_bits``), the rescale is integer arithmetic (slope and
    intercept are integers), and a slice whose values leave the int16 range is refused.
    """
    signed, bits, slope, intercept = fmt
    rows, columns = out.shape
    nbytes = 2 * rows * columns
    elem = header.get_item(PIXEL_DATA, keep_deferred=True)
    if elem is None or out.dtype != np.int16:
        return False
    length = elem.length if elem.value is None else len(elem.value)
    if length != nbytes:
        return False
    stored = out.view(np.int16 if signed else np.uint16)
    if elem.value is not None:  # small enough to have been read with the header
        stored[...] = np.frombuffer(elem.value, dtype=stored.dtype).reshape(rows, columns)
    else:
        try:
            with open(source, "rb") as handle:
                handle.seek(elem.value_tell)
                if handle.readinto(memoryview(stored).cast("B")) != nbytes:
                    return False
        except OSError:
            return False
    unused = 16 - bits
    if unused:  # pydicom's correct_unused_bits: shift left then back (sign-extends if signed)
        np.left_shift(stored, unused, out=stored)
        np.right_shift(stored, unused, out=stored)
    # In place in int16 when the stored bits read as int16 are the stored values (signed, or
    # unsigned below 16 bits), the slope is 1 and every storable value plus the intercept fits.
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    shift = intercept if slope == 1 else 0
    if ((signed or bits < 16) and slope in (None, 1)
            and low + shift >= -32768 and high + shift <= 32767):
        if shift:
            np.add(out, shift, out=out)
        return True
    values = stored.astype(np.int64)
    if slope is not None:
        values *= slope
        values += intercept
    if values.min() < -32768 or values.max() > 32767:
        return False  # out of int16 range: the general path upcasts the volume
    out[...] = values
    return True


def _integer_rescale(headers: list[Dataset]) -> bool:
    """True when every slice's rescale maps integers to integers (HU can be stored as int16)."""
    return all(
        float(ds.get("RescaleSlope", 1) or 1).is_integer()
        and float(ds.get("RescaleIntercept", 0) or 0).is_integer()
        and "ModalityLUTSequence" not in ds
        for ds in headers
    )


def read_dicom_series(path: str | Path, *, progress: Progress | None = None) -> CTVolume:
    """Read the CT series in a DICOM folder or zip archive into a :class:`CTVolume`.

    Parameters
    ----------
    path : str or Path
        A folder (searched recursively), a ``.zip`` archive, or a single DICOM file.
    progress : callable, optional
        Called as ``progress(done, total)`` while decoding slices.

    Returns
    -------
    CTVolume
        Hounsfield units sorted along the slice normal, LPS affine, acquisition facts and the
        sorted header-only source datasets.

    Raises
    ------
    InputError
        No or several CT series, non-CT modality, inconsistent or missing geometry tags,
        missing slices, gantry tilt, undecodable transfer syntax, unreadable file.
    """
    path = Path(path)
    warnings: list[str] = []
    names = _members(path)
    headers: list[tuple[str, Dataset]] = []
    member_of: dict[str, str] = {}
    skipped = 0
    non_image: list[str] = []
    for name, (label, source) in zip(names, _open_all(path, names), strict=True):
        ds = _read(label, source, headers_only=True)
        if ds is None:
            skipped += 1
        elif (kind := _non_image_class(ds)) is not None:
            non_image.append(f"{kind} ({Path(label).name})")
        else:
            headers.append((label, ds))
            member_of[label] = name
    if non_image:
        shown = "; ".join(non_image[:3]) + (f"; and {len(non_image) - 3} more"
                                             if len(non_image) > 3 else "")
        warnings.append(f"ignored {len(non_image)} DICOM object(s) that are not images: {shown}")
    if not headers:
        raise InputError(path, "", "no DICOM files found (not a DICOM series folder, .zip "
                         "of one, or NIfTI file)")
    if skipped:
        warnings.append(f"skipped {skipped} non-DICOM file(s) in {path}")
    items = _pick_series(headers, path, warnings)
    labels = [label for label, _ in items]
    datasets = [ds for _, ds in items]
    first, label0 = datasets[0], labels[0]
    shape = _matrix(first, label0, len(items))
    spacing = _spacing(first, label0)
    orientation = _vector(first, "ImageOrientationPatient", label0, 6, limit=1.0 + 1e-3)
    _check_consistent(items)
    positions = np.array([_vector(ds, "ImagePositionPatient", label, 3, limit=MAX_POSITION_MM)
                          for label, ds in items])
    for label, ds in items:
        _check_rescale(ds, label)
    thickness = _number(first, "SliceThickness", label0, low=MIN_SPACING_MM,
                        high=MAX_INCREMENT_MM, warnings=warnings)
    between = _number(first, "SpacingBetweenSlices", label0, low=MIN_SPACING_MM,
                      high=MAX_INCREMENT_MM, warnings=warnings)
    kvp = _number(first, "KVP", label0, low=MIN_KVP, high=MAX_KVP, warnings=None)
    order, affine, increment = series_geometry(
        orientation, positions, spacing, labels=labels, fallback_increment=thickness or between)
    if not MIN_SPACING_MM <= increment <= MAX_INCREMENT_MM:
        raise InputError(labels[0], "ImagePositionPatient", f"slice increment {increment:g} mm "
                         f"is outside {MIN_SPACING_MM:g}-{MAX_INCREMENT_MM:g} mm")
    if len(items) == 1:
        warnings.append(f"single-slice series: slice increment taken as {increment:g} mm")
    if any(str(ds.get("LossyImageCompression", "")).strip() == "01" for ds in datasets):
        warnings.append("lossy-compressed images (LossyImageCompression 01): lossy compression "
                        "can create or remove calcium; score the original (lossless) images")
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    if abs(normal[2]) < 0.95 * np.linalg.norm(normal):
        warnings.append("images are not axial (ImageOrientationPatient): Agatston scoring is "
                        "defined on axial slices; reconstruct an axial series for a valid score")
    labels = [labels[i] for i in order]
    datasets = [datasets[i] for i in order]
    # int16 halves memory; a slice outside int16 range (rare) upcasts the volume once.
    hu = np.empty((len(datasets), *shape),
                  dtype=np.int16 if _integer_rescale(datasets) else np.float32)
    formats: dict[tuple, NativeFormat | None] = {}
    for k, (label, source) in enumerate(_open_all(path, [member_of[lbl] for lbl in labels])):
        if isinstance(source, str):
            _check_pixel_length(label, datasets[k], shape)
        else:  # a zip member's header was read without its pixel data: parse it again
            _check_pixel_length(label, pydicom.dcmread(source, defer_size=DEFER_BYTES), shape)
            source.seek(0)
        fmt = _native_format(datasets[k], shape, formats) if isinstance(source, str) else None
        if fmt is None or not _decode_native(hu[k], source, datasets[k], fmt):
            values = _decode(label, source, datasets[k], shape)
            if hu.dtype == np.int16 and (values.min() < -32768 or values.max() > 32767):
                hu = hu.astype(np.float32)
            hu[k] = values
        if PIXEL_DATA in datasets[k]:
            del datasets[k][PIXEL_DATA]  # the kept headers carry no pixel data
        if progress is not None:
            progress(k + 1, len(datasets))
    if hu.size and float(hu.min()) > NO_AIR_HU:
        warnings.append(f"no voxel below {NO_AIR_HU:g} HU: a CT of a patient holds air "
                        "(about -1000 HU); check RescaleSlope/RescaleIntercept, the values may "
                        "not be Hounsfield units")
    return CTVolume(
        hu=hu, affine=affine, pixel_spacing_mm=(spacing[0], spacing[1]),
        slice_increment_mm=increment, kvp=kvp,
        slice_thickness_mm=thickness,
        kernel=_text(first, "ConvolutionKernel"),
        contrast_agent=_text(first, "ContrastBolusAgent"),
        manufacturer=_text(first, "Manufacturer"),
        source_datasets=datasets, source=str(path), warnings=warnings,
    )
