"""Masks that decide which dense voxels are candidate calcification.

Three questions, each a pure function on arrays:

* :func:`body_mask` — where the patient is (drops air, the table and cables);
* :func:`bone_mask` — which dense structures are bone, without an anatomy map;
* :func:`find_opacified_lumen` — whether the scan is contrast-enhanced.

The method, its parameters and its limits are written up in ``docs/imaging.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

# In-plane only: a 3x3x3 structure whose upper and lower planes are empty.
IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
IN_PLANE[1] = True


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
    tissue = hu[:, ::step, ::step] > threshold_hu
    if not tissue.any():
        return np.zeros(hu.shape, dtype=bool)
    body = _fill_slices(cc3d.largest_k(tissue, k=1, connectivity=6) > 0)
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
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        background, n = ndimage.label(~mask[k])
        edge = np.concatenate([background[0], background[-1], background[:, 0],
                               background[:, -1]])
        enclosed = np.ones(n + 1, dtype=bool)
        enclosed[edge] = False  # label 0 (the mask itself) is on the edge list or already set
        enclosed[0] = False
        filled[k] |= enclosed[background]
    return filled


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
    depth = ndimage.distance_transform_edt(component, sampling=spacing_mm)
    core = depth >= params.core_depth_mm
    if core.sum() < 0.05 * component.sum():
        return False
    return bool(np.median(hu[core]) < params.core_ratio * np.percentile(hu[component], 90))


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
    shape = hu.shape
    hu = hu[:, ::step, ::step]
    spacing_mm = (spacing_mm[0], spacing_mm[1] * step, spacing_mm[2] * step)
    dense = hu >= threshold_hu
    if body is not None:
        dense &= body[:, ::step, ::step]
    bone = np.zeros(hu.shape, dtype=bool)
    if not dense.any():
        return _expand(bone, step, shape)
    labels = cc3d.connected_components(dense, connectivity=26)
    stats = cc3d.statistics(labels)
    voxel = float(np.prod(spacing_mm))
    candidates = np.flatnonzero(stats["voxel_counts"] * voxel >= params.min_volume_mm3)
    ball = _ball(params.margin_mm, spacing_mm)
    pad = [n // 2 for n in ball.shape]
    for label in candidates[candidates > 0]:
        box = stats["bounding_boxes"][label]
        component = labels[box] == label
        if not is_bone_like(hu[box], component, spacing_mm=spacing_mm, params=params):
            continue
        # Dilate within the component's padded box only: a whole-volume dilation is slow.
        wide = tuple(slice(max(b.start - p, 0), min(b.stop + p, n))
                     for b, p, n in zip(box, pad, hu.shape, strict=True))
        local = np.zeros([w.stop - w.start for w in wide], dtype=bool)
        inner = tuple(slice(b.start - w.start, b.stop - w.start)
                      for b, w in zip(box, wide, strict=True))
        local[inner] = _fill_slices(component)
        bone[wide] |= ndimage.binary_dilation(local, structure=ball)
    return _expand(bone, step, shape)


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
                         max_rim_hu: float = 150.0) -> Lumen | None:
    """The largest region that looks like contrast-filled blood, or ``None``.

    Opacified blood is a large, homogeneous region in the 150–500 HU band, outside bone and
    surrounded by soft tissue. Candidates are band voxels eroded by one voxel (removing the
    partial-volume fringes of calcifications and bone); the largest component counts as lumen
    when its volume, homogeneity (HU standard deviation) and rim (median HU just outside it,
    below ``max_rim_hu``, unlike cancellous bone inside its cortex) all fit.

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
    band = (hu >= band_hu[0]) & (hu <= band_hu[1]) & body & ~bone
    band = ndimage.binary_erosion(band)
    if not band.any():
        return None
    largest = cc3d.largest_k(band, k=1, connectivity=6) > 0
    voxel = float(np.prod(spacing_mm))
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
