"""Connected-component and morphology toolkit for 3D masks in bounding boxes (private).

Hole filling runs a block of slices per cc3d call, dilation and erosion by row runs of the
structuring element; whole-volume connected components are labelled on row runs instead
(:mod:`ectocalc.imaging._runs`). Each function gives the result of the plain whole-volume
computation it replaces (``tests/imaging/test_fast_paths.py`` compares them with
straightforward references).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from itertools import pairwise

import cc3d
import numpy as np
from scipy import ndimage

IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
IN_PLANE[1] = True
IN_PLANE_CROSS = np.zeros((3, 3, 3), dtype=bool)
"""The 4-neighbour cross within a slice (and the centre)."""
IN_PLANE_CROSS[1, 1, :] = IN_PLANE_CROSS[1, :, 1] = True


SLAB_SLICES = 16
"""Slices per block of the slab-wise passes (bounds the memory of their temporaries)."""


def zeros(shape: tuple[int, ...], dtype: type = bool) -> np.ndarray:
    """``np.zeros`` for a volume that will be written sparsely: written once in order, so its
    pages are mapped sequentially (scattered first writes into fresh ``calloc`` pages cost a
    page fault each and were the slowest step of the bone mask on the benchmark machine)."""
    out = np.empty(shape, dtype=dtype)
    out.fill(0)
    return out


def label_components(mask: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    """``cc3d.connected_components`` (labels in raster order of each component's first voxel).

    cc3d 4.1 can fail on line-like arrays (two axes of length 1) with 26-connectivity: such
    arrays are padded by one background voxel, which changes neither components nor order.
    """
    if mask.ndim == 3 and min(mask.shape) < 2:
        labels, n = cc3d.connected_components(np.pad(mask, 1), connectivity=connectivity,
                                              return_N=True)
        return labels[1:-1, 1:-1, 1:-1], int(n)
    labels, n = cc3d.connected_components(mask, connectivity=connectivity, return_N=True)
    return labels, int(n)


def slab_bounds(n: int) -> list[tuple[int, int]]:
    """Near-equal blocks of about :data:`SLAB_SLICES` slices (none thinner than 8 slices)."""
    if n == 0:
        return []
    count = max(1, -(-n // SLAB_SLICES))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in pairwise(edges)]


def expand(mask: np.ndarray, step: int, shape: tuple[int, ...]) -> np.ndarray:
    """Undo ``[:, ::step, ::step]`` subsampling of a mask by repeating rows and columns."""
    if step == 1:
        return mask
    full = mask.repeat(step, axis=1).repeat(step, axis=2)[:, : shape[1], : shape[2]]
    return np.ascontiguousarray(full)


def padded_box(mask: np.ndarray, *, pad: int) -> tuple[slice, ...]:
    """Bounding box of ``mask`` grown by ``pad`` voxels, clipped to the array."""
    where = np.nonzero(mask)
    return tuple(slice(max(int(w.min()) - pad, 0), min(int(w.max()) + pad + 1, n))
                 for w, n in zip(where, mask.shape, strict=True))


def fill_slices(mask: np.ndarray) -> np.ndarray:
    """Fill holes slice by slice: background not 4-connected to the slice edge is filled."""
    filled = mask.copy()
    fill_in_place(filled)
    return filled


def fill_in_place(mask: np.ndarray) -> None:
    """:func:`fill_slices` in place, a block of slices per cc3d call.

    Holes lie inside each slice's bounding box of the mask, so only that box is labelled,
    with a one-pixel background frame standing for everything outside it (the edge). The
    framed slices of a block are stacked into one 2D image: frames touch frames only, so the
    edge-connected background is the one component holding the frame.
    """
    for start, stop in slab_bounds(mask.shape[0]):
        block = mask[start:stop]
        seen = block.any(axis=0)
        rows = np.flatnonzero(seen.any(axis=1))
        if rows.size == 0:
            continue
        columns = np.flatnonzero(seen.any(axis=0))
        box = (slice(None), slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1))
        inner = block[box]
        background = np.ones((inner.shape[0], inner.shape[1] + 2, inner.shape[2] + 2), bool)
        np.logical_not(inner, out=background[:, 1:-1, 1:-1])
        labels, n = cc3d.connected_components(background.reshape(-1, background.shape[2]),
                                              connectivity=4, return_N=True)
        if n > 1:  # some background is not the frame's: holes (label 0 is the mask itself)
            inner |= labels.reshape(background.shape)[:, 1:-1, 1:-1] != labels[0, 0]


def ball(radius_mm: float, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """Ellipsoidal structuring element of ``radius_mm`` on an anisotropic grid."""
    radius = [max(round(radius_mm / s), 0) for s in spacing_mm]
    grid = np.ogrid[tuple(slice(-r, r + 1) for r in radius)]
    return sum((g * s) ** 2 for g, s in zip(grid, spacing_mm, strict=True)) <= radius_mm**2


@lru_cache(maxsize=16)
def _near_offsets(spacing_mm: tuple[float, ...], depth_mm: float) -> np.ndarray | None:
    """Offsets closer than ``depth_mm`` as ``distance_transform_edt`` rounds distances, or
    ``None`` when an offset's exact distance lies so close to ``depth_mm`` that the rounding
    decides (then which of several equidistant voxels the transform picks could matter)."""
    spacing = [float(v) for v in spacing_mm]
    reach = [int(depth_mm // v) + 1 for v in spacing]
    grids = np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")
    # The transform's arithmetic: (offset * sampling)^2 per axis, summed in axis order, sqrt.
    squares = [(g.astype(np.float64) * v) * (g.astype(np.float64) * v)
               for g, v in zip(grids, spacing, strict=True)]
    total = squares[0].copy()
    for term in squares[1:]:
        total += term
    near = np.sqrt(total) < depth_mm
    limit = Fraction(depth_mm) ** 2
    exact = [Fraction(v) ** 2 for v in spacing]
    sides = set()
    for index in zip(*np.nonzero(np.abs(total - float(limit)) <= 1e-6 * float(limit)),
                     strict=True):
        offset = [int(g[index]) for g in grids]
        squared = sum(o * o * e for o, e in zip(offset, exact, strict=True))
        if abs(squared - limit) <= limit * Fraction(1, 10**9):
            sides.add(bool(near[index]))
    if len(sides) > 1:
        return None
    near.flags.writeable = False  # cached: shared between calls
    return near


def deep_voxels(mask: np.ndarray, *, spacing_mm: tuple[float, ...], depth_mm: float
                ) -> np.ndarray:
    """``distance_transform_edt(mask, sampling=spacing_mm) >= depth_mm``, as an erosion.

    A voxel of ``mask`` is that deep when no background voxel of the array lies closer; the
    closer offsets form a symmetric structure of centred rows, so the test is a
    :func:`dilate` of the background. Falls back to the distance transform when ``mask`` has
    no background at all or when rounding at exactly ``depth_mm`` could matter.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> m = ndimage.binary_opening(rng.random((9, 30, 30)) < 0.8, iterations=2)
    >>> edt = ndimage.distance_transform_edt(m, sampling=(1.0, 0.4, 0.4)) >= 2.0
    >>> bool((deep_voxels(m, spacing_mm=(1.0, 0.4, 0.4), depth_mm=2.0) == edt).all())
    True
    """
    near = _near_offsets(tuple(float(v) for v in spacing_mm), float(depth_mm)) \
        if mask.ndim == 3 else None
    if near is None or mask.all():
        return ndimage.distance_transform_edt(mask, sampling=spacing_mm) >= depth_mm
    return mask & ~dilate(~mask, near)


def dilate(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """``ndimage.binary_dilation(mask, structure)`` for a symmetric 3D structure whose rows
    (along the last axis) are centred runs, such as :func:`ball`: row dilations by each run
    length, then one shifted OR per (slice, row) offset of the structure.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = rng.random((7, 9, 11)) < 0.05
    >>> ball = ball(2.0, (1.0, 0.4, 0.4))
    >>> bool((dilate(m, ball) == ndimage.binary_dilation(m, structure=ball)).all())
    True
    """
    if structure.ndim != 3 or mask.ndim != 3 or not np.array_equal(structure,
                                                                     structure[::-1, ::-1, ::-1]):
        return ndimage.binary_dilation(mask, structure=structure)
    half = [n // 2 for n in structure.shape]
    widths = {}  # (dz, dy) -> half width of the run along the last axis
    for dz in range(-half[0], half[0] + 1):
        for dy in range(-half[1], half[1] + 1):
            run = np.flatnonzero(structure[dz + half[0], dy + half[1]]) - half[2]
            if run.size:
                if run[0] != -run[-1] or run.size != run[-1] - run[0] + 1:
                    return ndimage.binary_dilation(mask, structure=structure)
                widths[dz, dy] = int(run[-1])
    rows = {0: mask}  # mask dilated along the last axis by [-w, w]
    for w in range(1, max(widths.values(), default=0) + 1):
        previous = rows[w - 1]
        current = previous.copy()
        current[..., 1:] |= previous[..., :-1]
        current[..., :-1] |= previous[..., 1:]
        rows[w] = current
    out = np.zeros_like(mask)
    nz, ny = mask.shape[:2]
    # The in-plane dilation of each slice offset, computed once per distinct row profile
    # (the slice offsets +dz and -dz of a ball share theirs), then shifted along the slices.
    profiles: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for dz in sorted({dz for dz, _ in widths}):
        if abs(dz) < nz:
            profile = tuple(sorted((dy, w) for (z, dy), w in widths.items() if z == dz))
            profiles.setdefault(profile, []).append(dz)
    for profile, offsets in profiles.items():
        plane = np.zeros_like(mask)
        for dy, w in profile:
            if abs(dy) < ny:
                plane[:, max(0, dy): ny - max(0, -dy)] |= rows[w][:, max(0, -dy): ny - max(0, dy)]
        for dz in offsets:
            out[max(0, dz): nz - max(0, -dz)] |= plane[max(0, -dz): nz - max(0, dz)]
    return out
