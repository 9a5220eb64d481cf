"""Axial CT slices as PNG for the web viewer: window presets and the calcification overlay.

The HU volume and the calcification map (SEG segment per calcification type) of a scan are
read once — from the stored DICOM series and the DICOM SEG that ``quantify_scan`` wrote — then
kept in a small in-process cache, with an ``.npz`` copy beside the scan so a restarted server
does not decode DICOM again. A slice is windowed with NumPy and encoded by Pillow.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOWS: dict[str, tuple[float, float]] = {
    "soft_tissue": (40.0, 400.0),
    "calcium": (300.0, 1600.0),
    "bone": (500.0, 2000.0),
    "lung": (-600.0, 1500.0),
}
"""Display window presets, ``name: (centre HU, width HU)``."""

TYPE_COLOURS: dict[str, tuple[int, int, int]] = {
    "vascular": (230, 40, 40),
    "periarticular": (255, 150, 0),
    "cutaneous": (220, 60, 220),
    "visceral": (240, 220, 0),
    "soft_tissue": (0, 200, 230),
}
"""Overlay colour (RGB) of each calcification type (contract §3 vocabulary)."""

OVERLAY_ALPHA = 0.55
CACHE_FILE = "viewer.npz"


@dataclass(frozen=True)
class SliceStack:
    """What the viewer needs of one scan.

    Parameters
    ----------
    hu : ndarray of int16, shape (slices, rows, columns)
        Hounsfield units, slices in the order of the scan result's lesion ``slices``.
    types : ndarray of uint8, same shape
        0 background, else 1 + index into ``type_names``.
    type_names : tuple of str
        Calcification type of each overlay value.
    z_mm : ndarray of float, shape (slices,)
        Patient z (LPS, mm) of each slice.
    """

    hu: np.ndarray
    types: np.ndarray
    type_names: tuple[str, ...]
    z_mm: np.ndarray

    @property
    def count(self) -> int:
        """Number of slices."""
        return int(self.hu.shape[0])


def _type_of(segment_label: str) -> str:
    """``"vascular calcification"`` → ``"vascular"`` (SEG segment labels name the type)."""
    return segment_label.split()[0] if segment_label else "soft_tissue"


def load_stack(series: Path, seg: Path | None) -> SliceStack:
    """Read a stored CT series and its calcification SEG.

    Raises
    ------
    InputError
        The series or the SEG cannot be read.
    """
    from ectocalc.imaging import load_ct, load_label_map

    volume = load_ct(series)
    hu = np.clip(np.rint(volume.hu), -32768, 32767).astype(np.int16)
    if seg is not None and seg.exists():
        labels, names = load_label_map(seg, volume)
        type_names = tuple(_type_of(names[n]) for n in sorted(names))
        lut = np.zeros(max(names, default=0) + 1, dtype=np.uint8)
        for rank, number in enumerate(sorted(names), start=1):
            lut[number] = rank
        types = lut[np.clip(labels, 0, len(lut) - 1)]
    else:
        type_names, types = (), np.zeros(hu.shape, dtype=np.uint8)
    z = volume.index_to_lps(np.column_stack([np.arange(hu.shape[0]),
                                             np.zeros(hu.shape[0]), np.zeros(hu.shape[0])]))
    return SliceStack(hu=hu, types=types, type_names=type_names, z_mm=z[:, 2])


def save_stack(stack: SliceStack, path: Path) -> None:
    """Write ``stack`` as a compressed ``.npz`` (the viewer's on-disk cache)."""
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, hu=stack.hu, types=stack.types, z_mm=stack.z_mm,
                        type_names=np.array(stack.type_names, dtype=str))
    tmp.replace(path)


def read_stack(path: Path) -> SliceStack:
    """Read a stack written by :func:`save_stack`."""
    with np.load(path, allow_pickle=False) as data:
        return SliceStack(hu=data["hu"], types=data["types"], z_mm=data["z_mm"],
                          type_names=tuple(str(x) for x in data["type_names"]))


class StackCache:
    """The few most recently viewed scans, in memory (thread-safe, least recently used out).

    Parameters
    ----------
    size : int
        Scans kept; a 512×512×300 scan takes about 230 MB with its overlay.
    """

    def __init__(self, *, size: int = 4) -> None:
        self._size = size
        self._stacks: OrderedDict[Path, SliceStack] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Path, threading.Lock] = {}

    def get(self, scan_dir: Path) -> SliceStack:
        """The stack of the scan stored in ``scan_dir`` (``dicom/``, ``out/seg.dcm``)."""
        with self._lock:
            if scan_dir in self._stacks:
                self._stacks.move_to_end(scan_dir)
                return self._stacks[scan_dir]
            loading = self._loading.setdefault(scan_dir, threading.Lock())
        with loading:  # one thread reads a scan; the others wait for it
            with self._lock:
                if scan_dir in self._stacks:
                    return self._stacks[scan_dir]
            cached = scan_dir / CACHE_FILE
            if cached.exists():
                stack = read_stack(cached)
            else:
                stack = load_stack(scan_dir / "dicom", scan_dir / "out" / "seg.dcm")
                save_stack(stack, cached)
            with self._lock:
                self._stacks[scan_dir] = stack
                while len(self._stacks) > self._size:
                    self._stacks.popitem(last=False)
                self._loading.pop(scan_dir, None)
        return stack


def window_lut(centre: float, width: float) -> np.ndarray:
    """A 65,536-entry grey lookup table from int16 HU (offset by 32,768) to 0-255.

    Examples
    --------
    >>> lut = window_lut(40, 400)
    >>> [int(lut[hu + 32768]) for hu in (-1000, -160, 40, 240, 3000)]
    [0, 0, 128, 255, 255]
    """
    hu = np.arange(-32768, 32768, dtype=np.float32)
    grey = (hu - (centre - width / 2)) / width * 255.0
    lut: np.ndarray = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return lut


_LUTS = {name: window_lut(*cw) for name, cw in WINDOWS.items()}


def render_slice(stack: SliceStack, index: int, *, window: str = "soft_tissue",
                 overlay: bool = True) -> bytes:
    """One axial slice as PNG bytes (greyscale, or RGB with the type overlay).

    Parameters
    ----------
    stack : SliceStack
    index : int
        Slice index, 0 ≤ index < ``stack.count``.
    window : str
        A key of :data:`WINDOWS`.
    overlay : bool
        Colour calcified voxels by type.

    Raises
    ------
    KeyError
        Unknown window.
    IndexError
        Slice out of range.
    """
    from PIL import Image

    if not 0 <= index < stack.count:
        raise IndexError(index)
    grey = _LUTS[window][stack.hu[index].astype(np.int32) + 32768]
    types = stack.types[index]
    if overlay and types.any():
        rgb = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
        palette = np.array([(0, 0, 0)] + [TYPE_COLOURS.get(t, (255, 255, 255))
                                          for t in stack.type_names], dtype=np.float32)
        hit = types > 0
        rgb[hit] = (1 - OVERLAY_ALPHA) * rgb[hit] + OVERLAY_ALPHA * palette[types[hit]]
        image = Image.fromarray(np.rint(rgb).astype(np.uint8))
    else:
        image = Image.fromarray(grey)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
