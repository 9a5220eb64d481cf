"""Masks that decide which dense voxels are candidate calcification.

Three questions, each a pure function on arrays:

* :func:`body_mask` — where the patient is (drops air, the table and cables);
* :func:`bone_mask` — which dense structures are bone, without an anatomy map;
* :func:`find_opacified_lumen` — whether the scan is contrast-enhanced.

The method, its parameters and its limits are written up in ``docs/imaging.md``.

Implementation: whole-volume connected components run slab by slab (:func:`slab_components`,
blocks of :data:`SLAB_SLICES` slices merged across their faces), so no volume-sized label
array is ever allocated; morphology runs in the bounding boxes of the components it concerns.
The results are those of the plain whole-volume computations (``tests/imaging/
test_fast_paths.py`` checks them against straightforward reference implementations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise

import cc3d
import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as graph_components

# In-plane only: a 3x3x3 structure whose upper and lower planes are empty.
IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
IN_PLANE[1] = True


SLAB_SLICES = 16
"""Slices per block of the slab-wise connected components (bounds the label memory)."""

MaskOf = Callable[[int, int], np.ndarray]
"""``mask_of(start, stop)``: the boolean mask of slices ``start:stop`` (a new array)."""


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


def _slab_bounds(n: int) -> list[tuple[int, int]]:
    """Near-equal blocks of about :data:`SLAB_SLICES` slices (none thinner than 8 slices)."""
    if n == 0:
        return []
    count = max(1, -(-n // SLAB_SLICES))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in pairwise(edges)]


def _face_pairs(below: np.ndarray, above: np.ndarray, connectivity: int) -> np.ndarray:
    """Pairs of (global) labels touching across the face between two consecutive slices."""
    if connectivity == 6:
        a, b = below.ravel(), above.ravel()
        both = (a > 0) & (b > 0)
        a, b = a[both], b[both]
        if a.size == 0:
            return np.zeros((0, 2), dtype=np.int64)
        new = np.ones(a.size, dtype=bool)
        new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        pairs = np.stack([a[new], b[new]], axis=1)
        width = int(pairs[:, 1].max()) + 1
        keys = np.unique(pairs[:, 0] * width + pairs[:, 1])
        return np.stack([keys // width, keys % width], axis=1)
    ys, xs = np.nonzero(below)
    if ys.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    rows, columns = below.shape
    low = below[ys, xs]
    offsets = [(0, 0)] if connectivity == 6 else [(dy, dx) for dy in (-1, 0, 1)
                                                  for dx in (-1, 0, 1)]
    pairs = []
    for dy, dx in offsets:
        y, x, a = ys + dy, xs + dx, low
        if dy or dx:
            inside = (y >= 0) & (y < rows) & (x >= 0) & (x < columns)
            y, x, a = y[inside], x[inside], a[inside]
        b = above[y, x]
        touching = b > 0
        a, b = a[touching], b[touching]
        if a.size:
            new = np.ones(a.size, dtype=bool)  # drop repeats along runs before np.unique
            new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
            pairs.append(np.stack([a[new], b[new]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(pairs)
    width = int(pairs[:, 1].max()) + 1
    keys = np.unique(pairs[:, 0] * width + pairs[:, 1])
    return np.stack([keys // width, keys % width], axis=1)


def _compact(labels: np.ndarray, n: int) -> np.ndarray:
    """The labels in the smallest unsigned dtype that holds ``n``."""
    dtype = np.uint8 if n < 2**8 else np.uint16 if n < 2**16 else np.uint32
    return labels.astype(dtype, copy=False)


def _label_counts(labels: np.ndarray, n: int) -> np.ndarray:
    """Voxels per label 1..n."""
    if n <= 4:  # a few comparisons beat a bincount's conversion to intp
        return np.array([np.count_nonzero(labels == i) for i in range(1, n + 1)], dtype=np.int64)
    return np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.int64)


@dataclass
class SlabComponents:
    """Connected components of a volume labelled slab by slab (:func:`slab_components`).

    Component ids run 1..``count`` in raster order of their first voxel, as
    ``cc3d.connected_components`` numbers a whole volume. Slab-local label ``j`` of slab ``s``
    is node ``offsets[s] + j``; ``component[node]`` is its component (0 = background).
    """

    shape: tuple[int, ...]
    bounds: list[tuple[int, int]]
    offsets: list[int]
    component: np.ndarray
    sizes: np.ndarray
    """Voxels per component id (index 0 unused)."""
    boxes: list[tuple[slice, slice]]
    """Rows and columns of each slab's bounding box of the mask (where it was labelled)."""
    labels: list[np.ndarray] | None
    """Slab-local labels of each slab's box (compact dtype), when kept."""
    flat: np.ndarray | None
    """Flat indices of all mask voxels (ascending), when kept."""
    nodes: np.ndarray | None
    """Node of each voxel of ``flat``."""

    @property
    def count(self) -> int:
        return len(self.sizes) - 1

    def slab_mask(self, s: int, wanted: np.ndarray, out: np.ndarray) -> None:
        """Set ``out`` to the voxels of slab ``s`` whose component is flagged in ``wanted``."""
        labels = self.labels[s]
        box = self.boxes[s]
        if (box[0].stop - box[0].start, box[1].stop - box[1].start) != out.shape[1:]:
            out[...] = False
            out = out[:, box[0], box[1]]
        n = int(self.offsets[s + 1] - self.offsets[s])
        lut = np.zeros(n + 1, dtype=bool)
        lut[1:] = wanted[self.component[self.offsets[s] + 1: self.offsets[s] + n + 1]]
        keep = np.flatnonzero(lut)
        if len(keep) == 0:
            out[...] = False
        elif len(keep) == n:
            np.not_equal(labels, 0, out=out)
        elif len(keep) == 1:
            np.equal(labels, int(keep[0]), out=out)
        else:
            np.take(lut, labels, out=out)


def slab_components(shape: tuple[int, ...], mask_of: MaskOf, *, connectivity: int,
                    keep: str = "labels") -> SlabComponents:
    """Connected components (6 or 26) of a volume whose mask is produced slab by slab.

    Each block of slices is labelled with cc3d; labels touching across the face between blocks
    are merged as a graph. Memory: the slab-local labels in a compact dtype (``keep="labels"``,
    usually one byte per voxel) or the flat indices of the mask voxels (``keep="sparse"``, for
    sparse masks), never a volume of 32-bit labels.

    Examples
    --------
    >>> m = np.zeros((40, 5, 5), bool); m[:, 2, 2] = True; m[3, 0, 0] = True
    >>> c = slab_components(m.shape, lambda a, b: m[a:b], connectivity=6)
    >>> c.count, c.sizes[1:].tolist()      # the rod spans three slabs but is one component
    (2, [40, 1])
    """
    bounds = _slab_bounds(shape[0])
    plane = int(np.prod(shape[1:]))
    offsets = [0]
    counts = [np.zeros(1, dtype=np.int64)]
    pairs = []
    labels_kept: list[np.ndarray] = []
    flats, nodes = [], []
    previous = None
    boxes = []
    for start, stop in bounds:
        mask = mask_of(start, stop)
        # Label the slab's bounding box of the mask only (a box keeps the raster order).
        seen = mask.any(axis=0)
        rows, columns = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
        box = (slice(int(rows[0]), int(rows[-1]) + 1) if rows.size else slice(0, 0),
               slice(int(columns[0]), int(columns[-1]) + 1) if rows.size else slice(0, 0))
        inner = np.ascontiguousarray(mask[:, box[0], box[1]])
        labels, n = label_components(inner, connectivity) if rows.size else (inner, 0)
        offset = offsets[-1]
        if keep == "sparse":
            local = labels[inner]  # same voxels, same (raster) order as np.flatnonzero(mask)
            counts.append(np.bincount(local, minlength=n + 1)[1:].astype(np.int64))
            flats.append(np.flatnonzero(mask) + start * plane)
            nodes.append(local.astype(np.int64) + offset)
        else:
            labels = _compact(labels, n)
            counts.append(_label_counts(labels, n))
            labels_kept.append(labels)
        boxes.append(box)

        def face(k: int, labels=labels, box=box, offset=offset) -> np.ndarray:
            full = np.zeros(shape[1:], dtype=np.int64)
            if labels.size:
                part = full[box]
                part[...] = labels[k]
                part[part > 0] += offset
            return full

        if previous is not None and n:
            pairs.append(_face_pairs(previous, face(0), connectivity))
        previous = face(-1)
        offsets.append(offset + n)
    total = offsets[-1]
    edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    if len(edges):
        graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
                           shape=(total + 1, total + 1))
        _, root = graph_components(graph, directed=False)
    else:
        root = np.arange(total + 1)
    # Number components by their first node: nodes run in raster order of first voxels.
    component = np.zeros(total + 1, dtype=np.int64)
    if total:
        _, first, inverse = np.unique(root[1:], return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(1, len(first) + 1)
        component[1:] = rank[inverse]
    node_counts = np.concatenate(counts)
    sizes = np.bincount(component, weights=node_counts, minlength=1).astype(np.int64)
    sizes[0] = 0
    return SlabComponents(
        shape=tuple(shape), bounds=bounds, offsets=offsets, component=component, sizes=sizes,
        boxes=boxes, labels=labels_kept if keep != "sparse" else None,
        flat=np.concatenate(flats) if keep == "sparse" else None,
        nodes=np.concatenate(nodes) if keep == "sparse" else None)


def largest_component(shape: tuple[int, ...], mask_of: MaskOf, *, connectivity: int
                      ) -> np.ndarray | None:
    """The largest connected component of the mask (first in raster order on a tie, like
    ``cc3d.largest_k(..., k=1)``), or ``None`` when the mask is empty."""
    comps = slab_components(shape, mask_of, connectivity=connectivity)
    if comps.count == 0:
        return None
    wanted = np.zeros(comps.count + 1, dtype=bool)
    wanted[int(np.argmax(comps.sizes[1:])) + 1] = True
    out = np.empty(shape, dtype=bool)
    for s, (start, stop) in enumerate(comps.bounds):
        comps.slab_mask(s, wanted, out[start:stop])
    return out


def body_mask(hu: np.ndarray, *, threshold_hu: float = -300.0, step: int = 1) -> np.ndarray:
    """The patient: largest 3D connected region above ``threshold_hu``, holes filled per slice.

    Lungs and bowel gas are enclosed by the body and so are filled in; the table and cushions
    are separate components and are dropped.

    Parameters
    ----------
    hu : ndarray, shape (slices, rows, columns)
        CT volume in Hounsfield units.
    threshold_hu : float
        Tissue/air boundary.
    step : int
        Work on every ``step``-th row and column and expand the result back (a fast path for
        fine matrices: the surface is then located to ``step`` pixels).

    Returns
    -------
    ndarray of bool, same shape as ``hu``

    Examples
    --------
    >>> hu = np.full((1, 7, 9), -1000)
    >>> hu[0, 1:6, 1:5] = 40        # body
    >>> hu[0, 3, 2] = -900          # gas inside the body: filled
    >>> hu[0, 1:6, 7] = 200         # table: a separate component
    >>> m = body_mask(hu)
    >>> int(m.sum()), bool(m[0, 3, 2]), bool(m[0, 3, 7])
    (20, True, False)
    """
    grid = hu[:, ::step, ::step]
    body = largest_component(grid.shape, lambda a, b: grid[a:b] > threshold_hu, connectivity=6)
    if body is None:
        return np.zeros(hu.shape, dtype=bool)
    _fill_in_place(body)
    return _expand(body, step, hu.shape)


def _expand(mask: np.ndarray, step: int, shape: tuple[int, ...]) -> np.ndarray:
    """Undo ``[:, ::step, ::step]`` subsampling of a mask by repeating rows and columns."""
    if step == 1:
        return mask
    full = mask.repeat(step, axis=1).repeat(step, axis=2)[:, : shape[1], : shape[2]]
    return np.ascontiguousarray(full)


def _padded_box(mask: np.ndarray, *, pad: int) -> tuple[slice, ...]:
    """Bounding box of ``mask`` grown by ``pad`` voxels, clipped to the array."""
    where = np.nonzero(mask)
    return tuple(slice(max(int(w.min()) - pad, 0), min(int(w.max()) + pad + 1, n))
                 for w, n in zip(where, mask.shape, strict=True))


def _fill_slices(mask: np.ndarray) -> np.ndarray:
    """Fill holes slice by slice: background not 4-connected to the slice edge is filled."""
    filled = mask.copy()
    _fill_in_place(filled)
    return filled


def _fill_in_place(mask: np.ndarray) -> None:
    """:func:`_fill_slices` in place, a block of slices per cc3d call.

    Holes lie inside each slice's bounding box of the mask, so only that box is labelled,
    with a one-pixel background frame standing for everything outside it (the edge). The
    framed slices of a block are stacked into one 2D image: frames touch frames only, so the
    edge-connected background is the one component holding the frame.
    """
    for start, stop in _slab_bounds(mask.shape[0]):
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


def _ball(radius_mm: float, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """Ellipsoidal structuring element of ``radius_mm`` on an anisotropic grid."""
    radius = [max(round(radius_mm / s), 0) for s in spacing_mm]
    grid = np.ogrid[tuple(slice(-r, r + 1) for r in radius)]
    return sum((g * s) ** 2 for g, s in zip(grid, spacing_mm, strict=True)) <= radius_mm**2


@dataclass(frozen=True)
class BoneParameters:
    """Tuning of :func:`bone_mask` (defaults as documented in docs/imaging.md).

    Parameters
    ----------
    min_volume_mm3 : float
        Dense components smaller than this are never bone (calcified plaques, nodules and
        tendon deposits are almost always smaller; bones crossing the field are larger).
    cavity_fraction : float
        A component whose slice-wise filled outline is at least this fraction marrow cavity
        (enclosed voxels below threshold) is a cortical shell: bone.
    core_depth_mm : float
        Depth below the component surface that counts as its core.
    core_ratio : float
        Cancellous test: core median HU below ``core_ratio`` × the component's 90th
        percentile HU (a dense cortex around a less dense interior) means bone.
    always_bone_mm3 : float
        Components at least this large are bone whatever their texture.
    margin_mm : float
        Bone (with its marrow) is dilated by this margin to swallow partial-volume fringes.
    """

    min_volume_mm3: float = 1000.0
    cavity_fraction: float = 0.15
    core_depth_mm: float = 2.0
    core_ratio: float = 0.6
    always_bone_mm3: float = 50000.0
    margin_mm: float = 2.0


DEFAULT_BONE = BoneParameters()


def is_bone_like(hu: np.ndarray, component: np.ndarray, *, spacing_mm: tuple[float, float, float],
                 params: BoneParameters = DEFAULT_BONE) -> bool:
    """Whether one dense component (cropped) looks like bone: a shell around a marrow space.

    Parameters
    ----------
    hu : ndarray
        HU values of the cropped region.
    component : ndarray of bool
        The component in the same crop.
    spacing_mm : (float, float, float)
        Voxel size (slice increment, row spacing, column spacing).
    params : BoneParameters

    Examples
    --------
    A hollow tube (cortex around fatty marrow) is bone; a solid dense rod is not:

    >>> z, y, x = np.mgrid[:20, :21, :21]
    >>> r = np.hypot(y - 10, x - 10)
    >>> tube = (r <= 9) & (r >= 6)
    >>> hu = np.where(tube, 1000, -50)
    >>> is_bone_like(hu, tube, spacing_mm=(1.0, 1.0, 1.0))
    True
    >>> rod = r <= 9
    >>> is_bone_like(np.where(rod, 900 - 20 * r, 40), rod, spacing_mm=(1.0, 1.0, 1.0))
    False
    """
    voxel = float(np.prod(spacing_mm))
    volume = component.sum() * voxel
    if volume < params.min_volume_mm3:
        return False
    if volume >= params.always_bone_mm3:
        return True
    filled = _fill_slices(component)
    if (filled.sum() - component.sum()) >= params.cavity_fraction * filled.sum():
        return True
    core = deep_voxels(component, spacing_mm=spacing_mm, depth_mm=params.core_depth_mm)
    if core.sum() < 0.05 * component.sum():
        return False
    return bool(np.median(hu[core]) < params.core_ratio * np.percentile(hu[component], 90))


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


def bone_mask(hu: np.ndarray, *, threshold_hu: float, spacing_mm: tuple[float, float, float],
              body: np.ndarray | None = None, params: BoneParameters = DEFAULT_BONE,
              step: int = 1) -> np.ndarray:
    """Bone and the marrow it encloses, found without an anatomy map.

    Dense voxels (``hu >= threshold_hu``) are split into 26-connected components. A
    component is bone when it is large (``params.min_volume_mm3``) *and* built like bone
    (:func:`is_bone_like`: a cortical shell around a marrow cavity, or a dense rim around a
    less dense cancellous core), or when it is very large (``params.always_bone_mm3``). The
    bone mask is those components plus their slice-wise enclosed marrow, dilated by
    ``params.margin_mm``.

    Parameters
    ----------
    hu : ndarray, shape (slices, rows, columns)
    threshold_hu : float
        The scoring threshold (dense voxels are the candidates bone competes with).
    spacing_mm : (float, float, float)
        Voxel size (slice increment, row spacing, column spacing).
    body : ndarray of bool, optional
        Restrict to the patient.
    params : BoneParameters
    step : int
        Work on every ``step``-th row and column and expand the result back: bones are
        large, and the ``params.margin_mm`` dilation covers the coarser outline.

    Returns
    -------
    ndarray of bool, same shape as ``hu``

    Examples
    --------
    >>> hu = np.full((20, 30, 30), 40)
    >>> z, y, x = np.mgrid[:20, :30, :30]
    >>> r = np.hypot(y - 15, x - 15)
    >>> hu[(r <= 9) & (r >= 6)] = 1000      # a long bone: cortex around marrow
    >>> hu[(r < 6)] = -50
    >>> hu[10, 2:4, 2:4] = 400              # a small calcification
    >>> bone = bone_mask(hu, threshold_hu=130, spacing_mm=(1.0, 1.0, 1.0))
    >>> bool(bone[10, 15, 15]), bool(bone[10, 2, 2])
    (True, False)
    """
    grid = (slice(None), slice(None, None, step), slice(None, None, step))
    bone, _ = bone_and_dense(hu[grid], threshold_hu=threshold_hu,
                             spacing_mm=(spacing_mm[0], spacing_mm[1] * step,
                                         spacing_mm[2] * step),
                             body=None if body is None else body[grid], params=params)
    return _expand(bone, step, hu.shape)


def bone_and_dense(hu: np.ndarray, *, threshold_hu: float,
                   spacing_mm: tuple[float, float, float], body: np.ndarray | None = None,
                   params: BoneParameters = DEFAULT_BONE) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bone_mask` at full resolution, and the sorted flat indices of the dense voxels
    (``hu >= threshold_hu``, within ``body``) it examined, for reuse by later stages."""

    def dense_of(start: int, stop: int) -> np.ndarray:
        dense = hu[start:stop] >= threshold_hu
        if body is not None:
            dense &= body[start:stop]
        return dense

    bone = zeros(hu.shape)
    comps = slab_components(hu.shape, dense_of, connectivity=26, keep="sparse")
    voxel = float(np.prod(spacing_mm))
    candidates = np.flatnonzero(comps.sizes * voxel >= params.min_volume_mm3)
    candidates = candidates[candidates > 0]
    if len(candidates) == 0:
        return bone, comps.flat
    # Voxels of the candidate components only, grouped by component.
    of_voxel = comps.component[comps.nodes]
    is_candidate = np.zeros(comps.count + 1, dtype=bool)
    is_candidate[candidates] = True
    chosen = is_candidate[of_voxel]
    flat, owner = comps.flat[chosen], of_voxel[chosen]
    ball = _ball(params.margin_mm, spacing_mm)
    pad = [n // 2 for n in ball.shape]
    for label in candidates:
        coords = np.unravel_index(flat[owner == label], hu.shape)
        box = tuple(slice(int(c.min()), int(c.max()) + 1) for c in coords)
        component = np.zeros([b.stop - b.start for b in box], dtype=bool)
        component[tuple(c - b.start for c, b in zip(coords, box, strict=True))] = True
        if not is_bone_like(hu[box], component, spacing_mm=spacing_mm, params=params):
            continue
        # Dilate within the component's padded box only: a whole-volume dilation is slow.
        wide = tuple(slice(max(b.start - p, 0), min(b.stop + p, n))
                     for b, p, n in zip(box, pad, hu.shape, strict=True))
        local = np.zeros([w.stop - w.start for w in wide], dtype=bool)
        inner = tuple(slice(b.start - w.start, b.stop - w.start)
                      for b, w in zip(box, wide, strict=True))
        local[inner] = _fill_slices(component)
        bone[wide] |= dilate(local, ball)
    return bone, comps.flat


def dilate(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """``ndimage.binary_dilation(mask, structure)`` for a symmetric 3D structure whose rows
    (along the last axis) are centred runs, such as :func:`_ball`: row dilations by each run
    length, then one shifted OR per (slice, row) offset of the structure.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = rng.random((7, 9, 11)) < 0.05
    >>> ball = _ball(2.0, (1.0, 0.4, 0.4))
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
    for (dz, dy), w in widths.items():
        if abs(dz) >= nz or abs(dy) >= ny:
            continue
        source = rows[w][max(0, -dz): nz - max(0, dz), max(0, -dy): ny - max(0, dy)]
        out[max(0, dz): nz - max(0, -dz), max(0, dy): ny - max(0, -dy)] |= source
    return out


def _erode_cross(band: np.ndarray) -> np.ndarray:
    """``ndimage.binary_erosion(band)``: the default cross structure, border voxels eroded."""
    out = band.copy()
    for axis in range(band.ndim):
        lead = [slice(None)] * band.ndim
        trail = [slice(None)] * band.ndim
        lead[axis], trail[axis] = slice(1, None), slice(None, -1)
        out[tuple(lead)] &= band[tuple(trail)]
        out[tuple(trail)] &= band[tuple(lead)]
        lead[axis], trail[axis] = 0, -1
        out[tuple(lead)] = False
        out[tuple(trail)] = False
    return out


@dataclass(frozen=True)
class Lumen:
    """An opacified vessel or cardiac chamber found by :func:`find_opacified_lumen`."""

    mask: np.ndarray
    mean_hu: float
    std_hu: float
    volume_mm3: float


def find_opacified_lumen(hu: np.ndarray, *, spacing_mm: tuple[float, float, float],
                         body: np.ndarray, bone: np.ndarray,
                         band_hu: tuple[float, float] = (150.0, 500.0),
                         min_volume_mm3: float = 3000.0, max_std_hu: float = 80.0,
                         max_rim_hu: float = 150.0,
                         dense: tuple[float, np.ndarray] | None = None) -> Lumen | None:
    """The largest region that looks like contrast-filled blood, or ``None``.

    Opacified blood is a large, homogeneous region in the 150–500 HU band, outside bone and
    surrounded by soft tissue. Candidates are band voxels eroded by one voxel (removing the
    partial-volume fringes of calcifications and bone); the largest component counts as lumen
    when its volume, homogeneity (HU standard deviation) and rim (median HU just outside it,
    below ``max_rim_hu``, unlike cancellous bone inside its cortex) all fit.

    ``dense`` — ``(threshold, flat indices of hu >= threshold within body)`` from
    :func:`bone_and_dense` — is an optional shortcut: with a threshold at or below the band,
    the band voxels are among them, and when even all of them are too few for
    ``min_volume_mm3`` there is no lumen, without a pass over the volume.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> hu = rng.normal(40, 15, (30, 40, 40))
    >>> z, y, x = np.mgrid[:30, :40, :40]
    >>> hu[np.hypot(y - 20, x - 20) < 8] += 300       # an enhanced aorta
    >>> body = np.ones(hu.shape, bool); bone = np.zeros(hu.shape, bool)
    >>> lumen = find_opacified_lumen(hu, spacing_mm=(1.0, 1.0, 1.0), body=body, bone=bone)
    >>> round(lumen.mean_hu, -1)
    340.0
    >>> find_opacified_lumen(hu - 300 * (hu > 200), spacing_mm=(1.0, 1.0, 1.0),
    ...                      body=body, bone=bone) is None
    True
    """
    n = hu.shape[0]

    def band_of(start: int, stop: int) -> np.ndarray:
        block = hu[start:stop]
        band = (block >= band_hu[0]) & (block <= band_hu[1]) & body[start:stop]
        band &= ~bone[start:stop]
        return band

    def eroded_of(start: int, stop: int) -> np.ndarray:
        """``ndimage.binary_erosion(band)`` (6-neighbour cross, outside = 0) for the block."""
        lo, hi = max(start - 1, 0), min(stop + 1, n)
        band = band_of(lo, hi)
        return _erode_cross(band)[start - lo: stop - lo]

    voxel = float(np.prod(spacing_mm))
    if dense is not None and dense[0] <= band_hu[0]:
        values = hu.ravel()[dense[1]]
        band = (values >= band_hu[0]) & (values <= band_hu[1])
        band &= ~bone.ravel()[dense[1]]
        if np.count_nonzero(band) * voxel < min_volume_mm3:  # the eroded band is smaller
            return None
    total = sum(int(np.count_nonzero(eroded_of(a, b))) for a, b in _slab_bounds(n))
    if total == 0 or total * voxel < min_volume_mm3:  # the largest is smaller still
        return None
    largest = largest_component(hu.shape, eroded_of, connectivity=6)
    volume = float(largest.sum() * voxel)
    if volume < min_volume_mm3:
        return None
    values = hu[largest]
    mean, std = float(values.mean()), float(values.std())
    if not band_hu[0] <= mean <= band_hu[1] or std > max_std_hu:
        return None
    box = _padded_box(largest, pad=4)
    inner = ndimage.binary_dilation(largest[box], structure=IN_PLANE, iterations=1)
    rim = ndimage.binary_dilation(largest[box], structure=IN_PLANE, iterations=3) & ~inner
    if np.median(hu[box][rim]) > max_rim_hu:
        return None
    return Lumen(mask=largest, mean_hu=mean, std_hu=std, volume_mm3=volume)
