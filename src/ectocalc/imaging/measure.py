"""Lesions and their scores: Agatston (per convention), volume, mass, peak, centroid, size.

Scoring works on a candidate mask (dense voxels with bone and air already removed). A
convention (:mod:`ectocalc.imaging.conventions`) decides what a lesion is for the Agatston
sum; the reported lesions are always 3D objects, so a plaque spanning three slices is one
lesion whose Agatston is the sum of its in-slice pieces.

Candidates are handled as sorted flat voxel indices (:func:`measure_flat`): labelling runs on
each slice's or the lesions' bounding box only, and no volume-sized label array is made
unless :attr:`Measures.labels` is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ectocalc.imaging._components import label_components, zeros
from ectocalc.imaging.conventions import Convention, density_factor

# scipy/cc3d structures for each connectivity.
_STRUCTURES_2D = {4: ndimage.generate_binary_structure(2, 1),
                  8: ndimage.generate_binary_structure(2, 2)}
DEFAULT_CALIBRATION = 0.78
"""mg HA·cm⁻³·HU⁻¹ assumed without a calibration: references/imaging.md gives typical
120 kVp values of about 0.7–0.8."""


def label_in_plane(mask: np.ndarray, flat: np.ndarray, *, connectivity: int
                   ) -> tuple[np.ndarray, int]:
    """In-slice component of each voxel ``flat`` of ``mask``, labelled slice by slice.

    Parameters
    ----------
    mask : ndarray of bool, shape (slices, rows, columns)
    flat : ndarray of int
        Sorted flat indices of the voxels of ``mask`` (``np.flatnonzero(mask)``).
    connectivity : {4, 8}

    Returns
    -------
    pieces : ndarray of int
        Component ids (unique across slices, from 1) aligned with ``flat``.
    n : int
        Number of components.

    Examples
    --------
    >>> m = np.zeros((2, 3, 3), bool)
    >>> m[0, 0, 0] = m[0, 1, 1] = m[1, 1, 1] = True
    >>> flat = np.flatnonzero(m)
    >>> label_in_plane(m, flat, connectivity=8)[0].tolist()
    [1, 1, 2]
    >>> label_in_plane(m, flat, connectivity=4)[0].tolist()
    [1, 2, 3]
    """
    return _label_in_plane_flat(mask.shape, flat, connectivity=connectivity)


def _label_in_plane_flat(shape: tuple[int, ...], flat: np.ndarray, *, connectivity: int
                         ) -> tuple[np.ndarray, int]:
    """:func:`label_in_plane` from the flat indices alone: each occupied slice is labelled
    on the bounding box of its voxels (``ndimage.label`` numbers in raster order, which a
    box keeps, so the ids are those of whole-slice labelling)."""
    plane = shape[1] * shape[2]
    slice_of = flat // plane
    rows, columns = np.divmod(flat - slice_of * plane, shape[2])
    pieces = np.empty(len(flat), dtype=np.int64)
    n = 0
    bounds = np.flatnonzero(np.diff(slice_of)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(flat)], strict=True):
        if lo == hi:
            continue
        y, x = rows[lo:hi], columns[lo:hi]
        y0, x0 = int(y.min()), int(x.min())
        box = np.zeros((int(y.max()) - y0 + 1, int(x.max()) - x0 + 1), dtype=bool)
        box[y - y0, x - x0] = True
        labels, count = ndimage.label(box, structure=_STRUCTURES_2D[connectivity])
        pieces[lo:hi] = labels[y - y0, x - x0] + n
        n += count
    return pieces, n


def label_flat(shape: tuple[int, ...], flat: np.ndarray, *, connectivity: int
               ) -> tuple[np.ndarray, int]:
    """3D components (raster-ordered ids, as on the whole volume) of the voxels ``flat``,
    labelled on their bounding box.

    Parameters
    ----------
    shape : tuple of int
        Grid of the flat indices.
    flat : ndarray of int
        Sorted flat indices of the voxels.
    connectivity : {6, 18, 26}

    Returns
    -------
    ids : ndarray of int64
        Component id (from 1) of each voxel of ``flat``.
    n : int
        Number of components.

    Examples
    --------
    >>> label_flat((2, 3, 3), np.array([0, 1, 8]), connectivity=26)[0].tolist()
    [1, 1, 2]
    """
    if len(flat) == 0:
        return np.zeros(0, dtype=np.int64), 0
    coords = np.unravel_index(flat, shape)
    origin = [int(c.min()) for c in coords]
    local = tuple(c - o for c, o in zip(coords, origin, strict=True))
    box = np.zeros([int(c.max()) + 1 for c in local], dtype=bool)
    box[local] = True
    labels, n = label_components(box, connectivity)
    return labels[local].astype(np.int64), n


def _group_max(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Maximum of ``values`` per id (ids in 1..n); -inf where an id has no value."""
    out = np.full(n + 1, -np.inf)
    np.maximum.at(out, ids, values)
    return out


@dataclass(frozen=True)
class Measures:
    """Per-3D-lesion measures (index ``i`` is lesion id ``i + 1``) and the Agatston total.

    The lesion voxels are ``flat`` (sorted flat indices on a grid of ``shape``) with their
    lesion ids ``ids``; :attr:`labels` paints them on the CT grid (0 = background).
    """

    shape: tuple[int, ...]
    flat: np.ndarray
    ids: np.ndarray
    voxel_counts: np.ndarray
    volume_mm3: np.ndarray
    mass_mg: np.ndarray
    peak_hu: np.ndarray
    agatston: np.ndarray
    centroid_index: np.ndarray
    slices: list[list[int]]
    max_diameter_mm: np.ndarray
    factor: np.ndarray
    """Highest density factor among each lesion's scoring pieces."""

    @property
    def count(self) -> int:
        return len(self.voxel_counts)

    @cached_property
    def labels(self) -> np.ndarray:
        """int32 lesion ids on the CT grid, 0 elsewhere (built on first use)."""
        labels = zeros(self.shape, np.int32)
        labels.ravel()[self.flat] = self.ids
        return labels

    @property
    def total_agatston(self) -> float:
        return float(self.agatston.sum())


def _size_ok(size: np.ndarray, convention: Convention) -> np.ndarray:
    return size >= convention.min_size if convention.min_inclusive else size > convention.min_size


def _unit_size(convention: Convention, pixel_spacing_mm: tuple[float, float],
               increment_mm: float) -> float:
    """Size of one voxel in the convention's ``min_size_unit``."""
    pixel_area = pixel_spacing_mm[0] * pixel_spacing_mm[1]
    return {"mm2": pixel_area, "mm3": pixel_area * increment_mm,
            "voxels": 1.0}[convention.min_size_unit]


def one_voxel_is_a_lesion(convention: Convention, *, pixel_spacing_mm: tuple[float, float],
                          increment_mm: float) -> bool:
    """Whether a single voxel already meets the convention's minimum lesion size: the size
    rule then removes no noise speck at all (e.g. 1 mm² with 3 mm pixels).

    Examples
    --------
    >>> from ectocalc.imaging.conventions import get_convention
    >>> agatston = get_convention("agatston-1990")
    >>> [one_voxel_is_a_lesion(agatston, pixel_spacing_mm=(s, s), increment_mm=3.0)
    ...  for s in (0.7, 1.0, 3.0)]
    [False, True, True]
    """
    return bool(_size_ok(np.array(_unit_size(convention, pixel_spacing_mm, increment_mm)),
                         convention))


def slice_factor(convention: Convention, *, increment_mm: float,
                 thickness_mm: float | None) -> float:
    """Multiplier that normalises a score to 3 mm slices under ``convention``.

    Examples
    --------
    >>> from ectocalc.imaging.conventions import get_convention
    >>> slice_factor(get_convention("agatston-1990"), increment_mm=1.5, thickness_mm=3.0)
    0.5
    >>> slice_factor(get_convention("comp2comp"), increment_mm=1.5, thickness_mm=3.0)
    1.0
    """
    if convention.slice_correction == "increment":
        return increment_mm / 3.0
    if convention.slice_correction == "thickness":
        return (thickness_mm or increment_mm) / 3.0
    return 1.0


def kept_lesions(candidates: np.ndarray, *, convention: Convention,
                 pixel_spacing_mm: tuple[float, float], increment_mm: float
                 ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Apply the convention's connectivity and minimum size to a candidate mask.

    Returns
    -------
    lesions : ndarray of int32
        3D lesion ids 1..n (26-connected groups of kept 2D pieces, or the kept 3D
        components themselves), 0 elsewhere.
    n : int
        Number of 3D lesions.
    flat : ndarray of int
        Flat indices of the lesion voxels (``np.flatnonzero(lesions)``).
    pieces : ndarray of int
        Scoring piece of each voxel in ``flat``: its in-slice component (2D conventions) or
        its 3D component (3D ones).

    Examples
    --------
    >>> from ectocalc.imaging.conventions import get_convention
    >>> m = np.zeros((1, 5, 5), bool); m[0, 0, 0] = True; m[0, 2:4, 2:4] = True
    >>> lesions, n, flat, _ = kept_lesions(m, convention=get_convention("agatston-1990"),
    ...                                    pixel_spacing_mm=(0.5, 0.5), increment_mm=3.0)
    >>> n, flat.tolist()          # the 0.25 mm2 pixel is below 1 mm2
    (1, [12, 13, 17, 18])
    """
    flat, ids, n, pieces = _kept_flat(candidates.shape, np.flatnonzero(candidates),
                                      convention=convention, pixel_spacing_mm=pixel_spacing_mm,
                                      increment_mm=increment_mm)
    lesions = zeros(candidates.shape, np.int32)
    lesions.ravel()[flat] = ids
    return lesions, n, flat, pieces


def count_lesions(shape: tuple[int, ...], flat: np.ndarray, *, convention: Convention,
                  pixel_spacing_mm: tuple[float, float], increment_mm: float) -> int:
    """Number of 3D lesions the voxels ``flat`` (sorted flat indices) make under
    ``convention`` (its connectivity and minimum size).

    Examples
    --------
    >>> from ectocalc.imaging.conventions import get_convention
    >>> count_lesions((1, 5, 5), np.array([0, 12, 13, 17, 18]),
    ...               convention=get_convention("agatston-1990"),
    ...               pixel_spacing_mm=(0.5, 0.5), increment_mm=3.0)
    1
    """
    return _kept_flat(shape, flat, convention=convention, pixel_spacing_mm=pixel_spacing_mm,
                      increment_mm=increment_mm)[2]


def _kept_flat(shape: tuple[int, ...], flat: np.ndarray, *, convention: Convention,
               pixel_spacing_mm: tuple[float, float], increment_mm: float
               ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """:func:`kept_lesions` on sorted flat candidate indices: the kept ``flat``, their 3D
    lesion ids, the number of lesions and the scoring pieces."""
    if convention.dims == 2:
        pieces, n_pieces = _label_in_plane_flat(shape, flat,
                                                connectivity=convention.connectivity)
        lesion_connectivity = 26
    else:
        pieces, n_pieces = label_flat(shape, flat, connectivity=convention.connectivity)
        lesion_connectivity = convention.connectivity
    counts = np.bincount(pieces, minlength=n_pieces + 1)
    keep = _size_ok(counts * _unit_size(convention, pixel_spacing_mm, increment_mm), convention)
    kept_voxels = keep[pieces]
    flat, pieces = flat[kept_voxels], pieces[kept_voxels]
    ids, n = label_flat(shape, flat, connectivity=lesion_connectivity)
    return flat, ids, int(n), pieces


def max_diameter_mm(points_mm: np.ndarray) -> float:
    """Largest distance between two voxel centres (mm); 0 for a single voxel.

    Examples
    --------
    >>> max_diameter_mm(np.array([[0, 0, 0], [3, 4, 0], [1, 1, 0.0]]))
    5.0
    """
    if len(points_mm) < 2:
        return 0.0
    if len(points_mm) > 200:
        try:
            points_mm = points_mm[ConvexHull(points_mm).vertices]
        except QhullError:  # flat (single-slice) lesion: hull of the 2D in-plane points
            spread = np.ptp(points_mm, axis=0) > 0
            if spread.sum() == 2:
                points_mm = points_mm[ConvexHull(points_mm[:, spread]).vertices]
    diff = points_mm[:, None, :] - points_mm[None, :, :]
    return float(np.sqrt((diff**2).sum(-1)).max())


def measure_lesions(hu: np.ndarray, candidates: np.ndarray, *, convention: Convention,
                    factor_thresholds_hu: tuple[float, float, float, float],
                    pixel_spacing_mm: tuple[float, float], increment_mm: float,
                    thickness_mm: float | None, affine: np.ndarray,
                    calibration: float = DEFAULT_CALIBRATION) -> Measures:
    """Score candidate voxels under one convention.

    Parameters
    ----------
    hu : ndarray, shape (slices, rows, columns)
        HU values.
    candidates : ndarray of bool
        Voxels at or above the detection threshold, bone and air removed.
    convention : Convention
    factor_thresholds_hu : 4 floats
        Lower HU bounds of density factors 1–4 (kVp-adjusted).
    pixel_spacing_mm : (float, float)
    increment_mm : float
        Spacing between slice positions.
    thickness_mm : float or None
        Nominal slice thickness (for conventions that correct by thickness).
    affine : ndarray, shape (4, 4)
        ``(column, row, slice, 1)`` → LPS mm, for lesion diameters.
    calibration : float
        c_HA in mg HA·cm⁻³·HU⁻¹; mass = c_HA × Σ(voxel volume × HU) / 1000.

    Returns
    -------
    Measures

    Examples
    --------
    A 2×2-pixel lesion of 1 mm² pixels in one 3 mm slice, peak 250 HU (factor 2):

    >>> from ectocalc.imaging.conventions import get_convention
    >>> hu = np.zeros((1, 4, 4)); hu[0, 1:3, 1:3] = [[150, 250], [140, 160]]
    >>> m = measure_lesions(hu, hu >= 130, convention=get_convention("agatston-1990"),
    ...     factor_thresholds_hu=(130, 200, 300, 400), pixel_spacing_mm=(1.0, 1.0),
    ...     increment_mm=3.0, thickness_mm=3.0, affine=np.diag([1.0, 1.0, 3.0, 1.0]))
    >>> m.total_agatston, m.volume_mm3.tolist(), m.peak_hu.tolist()
    (8.0, [12.0], [250.0])
    >>> round(float(m.mass_mg[0]), 3)     # 0.78 * 3 mm3 * (150+250+140+160) / 1000
    1.638
    """
    return measure_flat(hu, np.flatnonzero(candidates), convention=convention,
                        factor_thresholds_hu=factor_thresholds_hu,
                        pixel_spacing_mm=pixel_spacing_mm, increment_mm=increment_mm,
                        thickness_mm=thickness_mm, affine=affine, calibration=calibration)


def measure_flat(hu: np.ndarray, flat: np.ndarray, *, convention: Convention,
                 factor_thresholds_hu: tuple[float, float, float, float],
                 pixel_spacing_mm: tuple[float, float], increment_mm: float,
                 thickness_mm: float | None, affine: np.ndarray,
                 calibration: float = DEFAULT_CALIBRATION) -> Measures:
    """:func:`measure_lesions` with the candidates given as sorted flat indices into ``hu``."""
    flat, ids, n, pieces = _kept_flat(hu.shape, flat, convention=convention,
                                      pixel_spacing_mm=pixel_spacing_mm,
                                      increment_mm=increment_mm)
    pixel_area = pixel_spacing_mm[0] * pixel_spacing_mm[1]
    voxel_volume = pixel_area * increment_mm
    values = hu.ravel()[flat].astype(np.float64)
    coords = np.column_stack(np.unravel_index(flat, hu.shape))
    counts = np.bincount(ids, minlength=n + 1)[1:]
    peak = _group_max(ids, values, n)[1:]
    hu_sum = np.bincount(ids, weights=values, minlength=n + 1)[1:]
    centroid = np.column_stack([np.bincount(ids, weights=coords[:, a], minlength=n + 1)[1:]
                                for a in range(3)]) / np.maximum(counts, 1)[:, None]

    # Agatston pieces: a 2D convention's in-slice components, or a 3D lesion's slice sections.
    slice_index = coords[:, 0]
    piece_ids = pieces if convention.dims == 2 else ids.astype(np.int64) * hu.shape[0] + \
        slice_index
    unique_pieces, inverse = np.unique(piece_ids, return_inverse=True)
    piece_lesion = np.zeros(len(unique_pieces), dtype=np.int64)
    piece_lesion[inverse] = ids
    piece_area = np.bincount(inverse, minlength=len(unique_pieces)) * pixel_area
    piece_peak = _group_max(inverse + 1, values, len(unique_pieces))[1:]
    if convention.weighting == "lesion":
        piece_peak = peak[piece_lesion - 1]
    factors = np.array([density_factor(p, factor_thresholds_hu) for p in piece_peak], dtype=int)
    correction = slice_factor(convention, increment_mm=increment_mm, thickness_mm=thickness_mm)
    agatston = np.bincount(piece_lesion, weights=piece_area * factors * correction,
                           minlength=n + 1)[1:]

    order = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ids[order], np.arange(1, n + 2))
    spacing = np.array([increment_mm, pixel_spacing_mm[0], pixel_spacing_mm[1]])
    # Points in patient space (handles non-axial orientations) for Feret diameters.
    lps = np.column_stack([coords[:, 2], coords[:, 1], coords[:, 0],
                           np.ones(len(coords))]) @ affine.T if len(coords) else coords
    slices, diameters = [], []
    for i in range(n):
        members = order[bounds[i]:bounds[i + 1]]
        slices.append(sorted({int(s) for s in slice_index[members]}))
        diameters.append(max_diameter_mm(lps[members, :3]) + float(spacing[1:].mean()))
    return Measures(
        shape=hu.shape, flat=flat, ids=ids, voxel_counts=counts, volume_mm3=counts * voxel_volume,
        mass_mg=calibration * voxel_volume * hu_sum / 1000.0, peak_hu=peak, agatston=agatston,
        centroid_index=centroid, slices=slices, max_diameter_mm=np.array(diameters),
        factor=_group_max(piece_lesion, factors, n)[1:].astype(int),
    )


def calibration_factor(hu: np.ndarray, *, rod: np.ndarray, water: np.ndarray,
                       rod_density_mg_cm3: float = 200.0) -> float:
    """c_HA (mg HA·cm⁻³·HU⁻¹) from a calibration rod of known density and a water region.

    c_HA = ρ_rod / (mean HU in rod − mean HU in water).

    Examples
    --------
    >>> hu = np.array([[250.0, 250.0, 0.0, 0.0]])
    >>> calibration_factor(hu, rod=hu > 100, water=hu < 100)
    0.8
    """
    difference = float(hu[rod].mean() - hu[water].mean())
    if difference <= 0:
        raise ValueError("calibration rod is not denser than the water region")
    return rod_density_mg_cm3 / difference
