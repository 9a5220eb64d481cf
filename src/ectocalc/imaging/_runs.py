"""Masks as row runs: connected components, hole filling and erosion without voxel labels.

A 3D mask of shape ``(slices, rows, columns)`` is held as its runs along the last axis: run
``i`` covers columns ``x0[i]:x1[i]`` of row ``row[i] = slice * rows + row``, runs sorted in
raster order. The masks of the pipeline are large but simple (the body is about one run per
row, dense voxels a few per cent of the volume), so graphs over runs are small where voxel
labelling touches every voxel. Connected components are those of the graph whose edges join
runs that touch in the neighbouring rows; they are numbered in raster order of their first
voxel, as ``cc3d.connected_components`` numbers them (``tests/imaging/
test_speed_equivalence.py`` compares every function with the whole-volume computation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as graph_components


@dataclass(frozen=True)
class Runs:
    """Row runs of a mask on a ``shape`` grid (see the module notes)."""

    shape: tuple[int, int, int]
    row: np.ndarray
    """Row id ``slice * rows + row`` of each run (int64, ascending)."""
    x0: np.ndarray
    """First column of each run."""
    x1: np.ndarray
    """Column after the last of each run."""

    def __len__(self) -> int:
        return len(self.row)

    @property
    def lengths(self) -> np.ndarray:
        return self.x1 - self.x0

    def take(self, index: np.ndarray) -> Runs:
        """The runs selected by ``index`` (a boolean mask or ascending indices)."""
        return Runs(self.shape, self.row[index], self.x0[index], self.x1[index])

    def keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Sortable start and stop keys, rows ``columns + 2`` apart so that runs grown by one
        column never reach the next row."""
        width = self.shape[2] + 2
        return self.row * width + self.x0 + 1, self.row * width + self.x1 + 1


def _empty(shape: tuple[int, int, int]) -> Runs:
    none = np.zeros(0, dtype=np.int64)
    return Runs(shape, none, none, none)


def threshold_runs(hu: np.ndarray, *, low: float, high: float | None = None,
                   strict: bool = False, inside: np.ndarray | None = None,
                   out: np.ndarray | None = None) -> Runs:
    """Runs of ``hu > low`` (``strict``) or ``hu >= low``, and ``hu <= high`` and ``inside``
    (a boolean mask of the shape of ``hu``) when given.

    Works a slice at a time: the changes along the flattened slice mask are the run bounds
    (a run reaching the end of a row and going on at the start of the next one is split).
    ``out`` (bool, shape of ``hu``), when given, receives the mask itself.

    Examples
    --------
    >>> r = threshold_runs(np.array([[[0, 5, 5], [5, 5, 0]]]), low=1)
    >>> r.row.tolist(), r.x0.tolist(), r.x1.tolist()
    ([0, 1], [1, 0], [3, 2])
    """
    slices, rows, columns = hu.shape
    plane = rows * columns
    compare = np.greater if strict else np.greater_equal
    own = np.empty((rows, columns), dtype=bool) if out is None else None
    extra = np.empty((rows, columns), dtype=bool) if high is not None else None
    found = []
    for k in range(slices):
        mask = own if out is None else out[k]
        compare(hu[k], low, out=mask)
        if extra is not None:
            np.less_equal(hu[k], high, out=extra)
            mask &= extra
        if inside is not None:
            mask &= inside[k]
        flat = mask.reshape(-1)
        edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        if flat[0] or flat[-1]:
            edges = np.concatenate([[0]] * bool(flat[0]) + [edges] + [[plane]] * bool(flat[-1]))
        found.append(edges + k * plane)
    edges = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    starts, stops = edges[0::2], edges[1::2]
    first, last = starts // columns, (stops - 1) // columns
    pieces = last - first + 1
    if (pieces == 1).all():
        row = first
        x0, x1 = starts - row * columns, stops - row * columns
    else:  # split the runs that wrap from one row to the next
        total = int(pieces.sum())
        head = np.cumsum(pieces) - pieces
        step = np.arange(total) - np.repeat(head, pieces)
        row = np.repeat(first, pieces) + step
        x0 = np.where(step == 0, np.repeat(starts, pieces) - row * columns, 0)
        x1 = np.where(step == np.repeat(pieces - 1, pieces),
                      np.repeat(stops, pieces) - row * columns, columns)
    return Runs((slices, rows, columns), row.astype(np.int64), x0.astype(np.int64),
                x1.astype(np.int64))


def runs_of_flat(flat: np.ndarray, shape: tuple[int, int, int]) -> Runs:
    """Runs of the voxels at ascending flat indices ``flat`` of a ``shape`` volume.

    Examples
    --------
    >>> r = runs_of_flat(np.array([1, 2, 3, 4, 9]), (1, 2, 4))
    >>> r.row.tolist(), r.x0.tolist(), r.x1.tolist()
    ([0, 1, 2], [1, 0, 1], [4, 1, 2])
    """
    flat = np.asarray(flat, dtype=np.int64)
    if flat.size == 0:
        return _empty(shape)
    columns = shape[2]
    breaks = np.flatnonzero((np.diff(flat) != 1) | (flat[1:] % columns == 0)) + 1
    first = np.concatenate([[0], breaks])
    last = np.concatenate([breaks, [flat.size]])
    row, x0 = np.divmod(flat[first], columns)
    return Runs(shape, row, x0, x0 + (last - first))


def flat_of_runs(runs: Runs) -> np.ndarray:
    """Ascending flat indices of the voxels of ``runs`` (inverse of :func:`runs_of_flat`)."""
    lengths = runs.lengths
    if lengths.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = runs.row * runs.shape[2] + runs.x0
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def paint(runs: Runs, out: np.ndarray, value: bool = True) -> None:
    """Set the voxels of ``runs`` to ``value`` in ``out`` (a C-contiguous ``runs.shape``
    array), a slice assignment per run."""
    plane = out.reshape(-1, runs.shape[2])
    for r, a, b in zip(runs.row.tolist(), runs.x0.tolist(), runs.x1.tolist(), strict=True):
        plane[r, a:b] = value


def _pairs(runs: Runs, other: Runs, shift: int, *, grow: int, valid: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of the runs of ``runs`` in row ``r`` and of ``other`` in row
    ``r + shift`` that overlap once the first are grown by ``grow`` columns each side;
    ``valid`` flags the runs whose neighbour row exists."""
    start, stop = runs.keys()
    other_start, other_stop = other.keys()
    width = runs.shape[2] + 2
    index = np.arange(len(runs)) if valid is None else np.flatnonzero(valid)
    offset = shift * width
    lo = np.searchsorted(other_stop, start[index] + offset - grow, side="right")
    hi = np.searchsorted(other_start, stop[index] + offset + grow, side="left")
    count = np.maximum(hi - lo, 0)
    i = np.repeat(index, count)
    j = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
    return i, j


def _neighbour_rows(connectivity: int) -> list[tuple[int, int, int]]:
    """``(slice step, row step, grow)`` of the earlier neighbour rows for a connectivity."""
    if connectivity in (4, 8):
        return [(0, -1, 1 if connectivity == 8 else 0)]
    if connectivity == 6:
        return [(0, -1, 0), (-1, 0, 0)]
    if connectivity == 26:
        return [(0, -1, 1), (-1, -1, 1), (-1, 0, 1), (-1, 1, 1)]
    raise ValueError(f"connectivity must be 4, 8 (in-plane), 6 or 26, not {connectivity}")


def label_runs(runs: Runs, *, connectivity: int) -> tuple[np.ndarray, int]:
    """Connected component of each run, numbered 1..n in raster order of first voxels.

    ``connectivity`` 6 or 26 joins runs in 3D; 4 or 8 within each slice only.

    Returns
    -------
    component : ndarray of int64, shape (len(runs),)
    n : int
    """
    count = len(runs)
    if count == 0:
        return np.zeros(0, dtype=np.int64), 0
    rows = runs.shape[1]
    k, y = np.divmod(runs.row, rows)
    sources, targets = [], []
    for dk, dy, grow in _neighbour_rows(connectivity):
        valid = (k + dk >= 0) & (y + dy >= 0) & (y + dy < rows)
        i, j = _pairs(runs, runs, dk * rows + dy, grow=grow, valid=valid)
        sources.append(i)
        targets.append(j)
    i, j = np.concatenate(sources), np.concatenate(targets)
    if i.size:
        graph = coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(count, count))
        _, root = graph_components(graph, directed=False)
    else:
        root = np.arange(count)
    # Runs are in raster order: number components by their first run. The graph search
    # usually numbers them so already (each new component one above the highest so far).
    if root[0] == 0 and (np.diff(np.maximum.accumulate(root)) <= 1).all():
        return root.astype(np.int64) + 1, int(root.max()) + 1
    _, first, inverse = np.unique(root, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, len(first) + 1)
    return rank[inverse], len(first)


def largest_runs(runs: Runs, *, connectivity: int) -> Runs | None:
    """Runs of the largest component (the first in raster order on a tie), or ``None``."""
    component, n = label_runs(runs, connectivity=connectivity)
    if n == 0:
        return None
    sizes = np.bincount(component, weights=runs.lengths, minlength=n + 1)
    return runs.take(component == int(np.argmax(sizes[1:])) + 1)


def holes(runs: Runs) -> Runs:
    """Runs of the background enclosed in each slice (not 4-connected to the slice edge).

    Only gaps between two runs of a row can be enclosed. A gap is on the edge when its row
    is the first or last of the slice, when a row next to it holds no run (that row is all
    background) or when it overlaps the background before the first run or after the last
    run of a neighbouring row; gaps joined to an edge gap are on the edge too.
    """
    rows = runs.shape[1]
    inner = np.flatnonzero(runs.row[1:] == runs.row[:-1])
    gaps = Runs(runs.shape, runs.row[inner], runs.x1[inner], runs.x0[inner + 1])
    if len(gaps) == 0:
        return gaps
    first = np.concatenate([[0], np.flatnonzero(runs.row[1:] != runs.row[:-1]) + 1])
    last = np.concatenate([first[1:] - 1, [len(runs) - 1]])
    occupied = runs.row[first]
    y = gaps.row % rows
    edge = (y == 0) | (y == rows - 1)
    for side in (-1, 1):
        near = gaps.row + side
        at = np.minimum(np.searchsorted(occupied, near), len(occupied) - 1)
        edge |= occupied[at] != near
        edge |= gaps.x0 < runs.x0[first[at]]
        edge |= gaps.x1 > runs.x1[last[at]]
    component, n = label_runs(gaps, connectivity=4)
    open_ = np.zeros(n + 1, dtype=bool)
    open_[component[edge]] = True
    return gaps.take(~open_[component])


def erode_runs(runs: Runs) -> Runs:
    """``ndimage.binary_erosion`` (6-neighbour cross, voxels on the array border eroded)."""
    rows = runs.shape[1]
    # Border rows and columns go here; the first and last slices have no slice before or
    # after them to intersect with below.
    y = runs.row % rows
    keep = (y > 0) & (y < rows - 1) & (runs.x1 - runs.x0 > 2)
    eroded = Runs(runs.shape, runs.row[keep], runs.x0[keep] + 1, runs.x1[keep] - 1)
    for shift in (-1, 1, -rows, rows):
        i, j = _pairs(eroded, runs, shift, grow=0, valid=None)
        eroded = Runs(runs.shape, eroded.row[i], np.maximum(eroded.x0[i], runs.x0[j]),
                      np.minimum(eroded.x1[i], runs.x1[j]))
    return eroded


def body_mask_runs(hu: np.ndarray, *, threshold_hu: float) -> np.ndarray:
    """``detect.body_mask`` at ``step=1``: the largest 6-connected component of
    ``hu > threshold_hu`` with its holes filled slice by slice.

    The mask is the threshold image corrected run by run: tissue outside the largest
    component (table, cables) is cleared and enclosed background is set, so only those few
    runs are painted one by one.
    """
    out = np.empty(hu.shape, dtype=bool)
    tissue = threshold_runs(hu, low=threshold_hu, strict=True, out=out)
    component, n = label_runs(tissue, connectivity=6)
    if n == 0:
        return out
    sizes = np.bincount(component, weights=tissue.lengths, minlength=n + 1)
    largest = component == int(np.argmax(sizes[1:])) + 1
    paint(tissue.take(~largest), out, False)
    paint(holes(tissue.take(largest)), out, True)
    return out


@dataclass(frozen=True)
class FlatComponents:
    """Connected components of a sparse mask given by its voxels (:func:`dense_components`).

    ``component[nodes[v]]`` is the component (1..``count``, raster order of first voxels) of
    voxel ``flat[v]``; ``sizes[c]`` its voxel count (index 0 unused).
    """

    flat: np.ndarray
    nodes: np.ndarray
    component: np.ndarray
    sizes: np.ndarray

    @property
    def count(self) -> int:
        return len(self.sizes) - 1


def dense_components(hu: np.ndarray, *, threshold_hu: float, body: np.ndarray | None,
                     connectivity: int) -> FlatComponents:
    """Components of ``(hu >= threshold_hu) & body``, found by labelling its row runs.

    Examples
    --------
    >>> hu = np.zeros((2, 3, 4)); hu[0, 0, :2] = hu[1, 1, 2] = hu[1, 2, 0] = 200
    >>> c = dense_components(hu, threshold_hu=130, body=None, connectivity=26)
    >>> c.flat.tolist(), c.component[c.nodes].tolist(), c.sizes.tolist()
    ([0, 1, 18, 20], [1, 1, 1, 2], [0, 3, 1])
    """
    runs = threshold_runs(hu, low=threshold_hu, inside=body)
    flat = flat_of_runs(runs)
    component, n = label_runs(runs, connectivity=connectivity)
    nodes = np.repeat(np.arange(1, len(runs) + 1), runs.lengths)
    sizes = np.bincount(component, weights=runs.lengths, minlength=n + 1).astype(np.int64)
    sizes[0] = 0
    return FlatComponents(flat=flat, nodes=nodes,
                          component=np.concatenate([[0], component]), sizes=sizes)


def largest_eroded(flat: np.ndarray, shape: tuple[int, int, int], *, voxel_mm3: float,
                   min_volume_mm3: float) -> np.ndarray | None:
    """Largest 6-connected component of the eroded mask (``ndimage.binary_erosion``) of the
    voxels at ascending flat indices ``flat``, as a boolean volume; ``None`` when the whole
    eroded mask is smaller than ``min_volume_mm3`` (or empty): no component can reach it.
    """
    eroded = erode_runs(runs_of_flat(flat, shape))
    total = int(eroded.lengths.sum())
    if total == 0 or total * voxel_mm3 < min_volume_mm3:
        return None
    largest = largest_runs(eroded, connectivity=6)
    out = np.zeros(shape, dtype=bool)
    paint(largest, out)
    return out


def band_flat(hu: np.ndarray, *, low: float, high: float, inside: np.ndarray,
              outside: np.ndarray) -> np.ndarray:
    """Ascending flat indices of ``(low <= hu <= high) & inside & ~outside``."""
    flat = flat_of_runs(threshold_runs(hu, low=low, high=high, inside=inside))
    return flat[~outside.reshape(-1)[flat]]
