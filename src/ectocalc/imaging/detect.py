"""Masks that decide which dense voxels are candidate calcification.

Three questions, each a pure function on arrays:

* :func:`body_mask` — where the patient is (drops air, the table and cables);
* :func:`bone_mask` — which dense structures are bone, without an anatomy map;
* :func:`find_opacified_lumen` — whether the scan is contrast-enhanced.

The method, its parameters and its limits are written up in ``docs/imaging.md``.

Implementation: the generic slab-wise connected-component and morphology toolkit of
:mod:`ectocalc.imaging._components`; the results are those of the plain whole-volume
computations (``tests/imaging/test_fast_paths.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ectocalc.imaging._components import (
    IN_PLANE,
    IN_PLANE_CROSS,
    ball,
    deep_voxels,
    dilate,
    expand,
    fill_slices,
    padded_box,
    zeros,
)
from ectocalc.imaging._runs import band_flat, body_mask_runs, dense_components, largest_eroded


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
    return expand(body_mask_runs(grid, threshold_hu=threshold_hu), step, hu.shape)


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
    short_coverage_mm : float
        A scan shorter than this (slices × increment) is too short to tell bone by its
        build: a large component reaching its first or last slice is taken as bone (a bone
        cut by the scan range), with a warning.
    cut_bone_hu : float
        A component cut by the scan range or the field of view is taken as bone only when
        its 90th-percentile HU exceeds this (cortex; opacified blood stays below it).
    min_section_mm2 : float
        In such a short scan, a component is large when its largest in-slice section reaches
        this area (a rib or a facial bone in one or a few thick slices), whatever its volume.
    surface_fraction, surface_area_mm2 : float
        A large dense component lying on the body surface — at least this fraction of its
        voxels, and this area, in contact with the air outside the body — is an object on
        the patient (head holder, table pad, ECG lead), not calcification: excluded, with
        a warning. Calcinosis cutis lies under the skin, which separates it from the air.
    solid_ratio : float
        A component cut by a short scan's range is kept (not bone) when it is *solid*: its
        core (voxels ``core_depth_mm`` below its surface) has a median HU of at least
        ``solid_ratio`` × its 90th percentile. A calcified plaque is dense through and
        through; a bone section is cortex around a less dense cancellous or marrow centre.
    solid_depth_mm : float
        ... and when it is a wall, not a block: no voxel lies deeper than this below its
        in-plane surface (a calcified vessel wall is a few mm thick; a maxilla or a vertebral
        body is not).
    out_of_field_hu : float
        Values below this are not attenuation but the padding outside the reconstructed
        field of view (e.g. -3024, -2048): a component touching them, or the image border,
        is cut by the field of view.
    """

    min_volume_mm3: float = 1000.0
    cavity_fraction: float = 0.15
    core_depth_mm: float = 2.0
    core_ratio: float = 0.6
    always_bone_mm3: float = 50000.0
    margin_mm: float = 2.0
    short_coverage_mm: float = 40.0
    cut_bone_hu: float = 500.0
    min_section_mm2: float = 50.0
    surface_fraction: float = 0.1
    surface_area_mm2: float = 100.0
    solid_ratio: float = 0.85
    solid_depth_mm: float = 3.0
    out_of_field_hu: float = -1100.0


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
    filled = fill_slices(component)
    if (filled.sum() - component.sum()) >= params.cavity_fraction * filled.sum():
        return True
    # In-plane depth: the box edge is background too (a short scan's slices are not).
    pad = ((0, 0), (1, 1), (1, 1))
    core = deep_voxels(np.pad(component, pad), spacing_mm=spacing_mm,
                       depth_mm=params.core_depth_mm)[:, 1:-1, 1:-1]
    if core.sum() < 0.05 * component.sum():
        return False
    return bool(np.median(hu[core]) < params.core_ratio * np.percentile(hu[component], 90))


def bone_mask(hu: np.ndarray, *, threshold_hu: float, spacing_mm: tuple[float, float, float],
              body: np.ndarray | None = None, params: BoneParameters = DEFAULT_BONE,
              step: int = 1, notes: list[str] | None = None) -> np.ndarray:
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
                             body=None if body is None else body[grid], params=params,
                             notes=notes)
    return expand(bone, step, hu.shape)


def bone_and_dense(hu: np.ndarray, *, threshold_hu: float,
                   spacing_mm: tuple[float, float, float], body: np.ndarray | None = None,
                   params: BoneParameters = DEFAULT_BONE,
                   notes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bone_mask` at full resolution, and the sorted flat indices of the dense voxels
    (``hu >= threshold_hu``, within ``body``) it examined, for reuse by later stages.

    ``notes`` receives one line per kind of exclusion that is not a bone test (bones cut by a
    short scan or by the field of view, objects lying on the body surface)."""

    bone = zeros(hu.shape)
    comps = dense_components(hu, threshold_hu=threshold_hu, body=body, connectivity=26)
    voxel = float(np.prod(spacing_mm))
    large = comps.sizes * voxel >= params.min_volume_mm3
    coverage = hu.shape[0] * spacing_mm[0]
    short = coverage < params.short_coverage_mm
    if short and comps.count:  # a section of a rib or facial bone counts, whatever its volume
        of_voxel = comps.component[comps.nodes]
        plane = int(np.prod(hu.shape[1:]))
        per_slice = np.bincount(of_voxel * hu.shape[0] + comps.flat // plane)
        section = np.zeros(comps.count + 1)
        np.maximum.at(section, np.arange(len(per_slice)) // hu.shape[0], per_slice)
        large |= section * spacing_mm[1] * spacing_mm[2] >= params.min_section_mm2
    candidates = np.flatnonzero(large)
    candidates = candidates[candidates > 0]
    if len(candidates) == 0:
        return bone, comps.flat
    # Voxels of the candidate components only, grouped by component.
    of_voxel = comps.component[comps.nodes]
    is_candidate = np.zeros(comps.count + 1, dtype=bool)
    is_candidate[candidates] = True
    chosen = is_candidate[of_voxel]
    flat, owner = comps.flat[chosen], of_voxel[chosen]
    margin = ball(params.margin_mm, spacing_mm)
    pad = [n // 2 for n in margin.shape]
    cut_by_range = cut_by_field = on_surface = solid = 0
    for label in candidates:
        coords = np.unravel_index(flat[owner == label], hu.shape)
        box = tuple(slice(int(c.min()), int(c.max()) + 1) for c in coords)
        component = np.zeros([b.stop - b.start for b in box], dtype=bool)
        component[tuple(c - b.start for c, b in zip(coords, box, strict=True))] = True
        if not is_bone_like(hu[box], component, spacing_mm=spacing_mm, params=params):
            if body is not None and _on_surface(component, body, box, spacing_mm, params):
                bone[box] |= component  # excluded as it is: no marrow, no margin
                on_surface += 1
                continue
            p90 = float(np.percentile(hu[box][component], 90))
            dense_bone = p90 > params.cut_bone_hu
            at_end = short and dense_bone and (box[0].start == 0 or box[0].stop == hu.shape[0])
            if at_end and not _is_solid(hu[box], component, p90, spacing_mm=spacing_mm,
                                        params=params):
                cut_by_range += 1
            elif dense_bone and _cut_by_field(hu, component, box, params):
                cut_by_field += 1
            else:
                solid += at_end
                continue
        # Dilate within the component's padded box only: a whole-volume dilation is slow.
        wide = tuple(slice(max(b.start - p, 0), min(b.stop + p, n))
                     for b, p, n in zip(box, pad, hu.shape, strict=True))
        local = np.zeros([w.stop - w.start for w in wide], dtype=bool)
        inner = tuple(slice(b.start - w.start, b.stop - w.start)
                      for b, w in zip(box, wide, strict=True))
        local[inner] = fill_slices(component)
        bone[wide] |= dilate(local, margin)
    if notes is not None and cut_by_range:
        notes.append(f"the scan covers only {coverage:g} mm, too short to tell bone from "
                     f"calcification by its build: {cut_by_range} large dense region(s) "
                     "reaching its first or last slice were excluded as bone; check the "
                     "overlays")
    if notes is not None and solid:
        notes.append(f"{solid} large dense region(s) reaching the end of this short scan are "
                     "solid (as dense in the centre as at the rim, unlike cortex around "
                     "marrow) and were scored as calcification, not excluded as bone; check "
                     "the overlays")
    if notes is not None and cut_by_field:
        notes.append(f"{cut_by_field} large dense region(s) cut by the edge of the field of "
                     "view were excluded as bone (their build cannot be tested)")
    if notes is not None and on_surface:
        notes.append(f"{on_surface} dense object(s) lying on the body surface (head holder, "
                     "table pad, lead?) were not scored")
    return bone, comps.flat


def _is_solid(hu: np.ndarray, component: np.ndarray, p90: float, *,
              spacing_mm: tuple[float, float, float], params: BoneParameters) -> bool:
    """Whether a dense component (cropped) is solid: its core, ``params.core_depth_mm`` below
    its surface, is nearly as dense as its 90th percentile ``p90`` (a calcified plaque), not
    a less dense centre inside a cortex (bone), and it is a wall no deeper than
    ``params.solid_depth_mm``. A component that encloses a cavity, or is too thin to have a
    core (under 5 % of its voxels), is not judged solid.

    Examples
    --------
    >>> y, x = np.mgrid[:15, :15]
    >>> disc = np.hypot(y - 7, x - 7)[None] <= 5
    >>> plaque = np.where(disc, 1000.0, 40.0)                  # dense through and through
    >>> rib = np.where(disc, np.where(np.hypot(y - 7, x - 7) <= 3, 300.0, 900.0), 40.0)
    >>> [_is_solid(h, disc, float(np.percentile(h[disc], 90)), spacing_mm=(5.0, 0.5, 0.5),
    ...            params=DEFAULT_BONE) for h in (plaque, rib)]
    [True, False]
    """
    filled = fill_slices(component)
    if (filled.sum() - component.sum()) >= params.cavity_fraction * filled.sum():
        return False  # a shell around a cavity (the marrow of a sternum or rib)
    # In-plane depth: the box edge is background too (a short scan's slices are not).
    pad = ((0, 0), (1, 1), (1, 1))
    core = deep_voxels(np.pad(component, pad), spacing_mm=spacing_mm,
                       depth_mm=params.core_depth_mm)[:, 1:-1, 1:-1]
    if core.sum() < 0.05 * component.sum():  # too thin for its centre to tell
        return False
    if deep_voxels(np.pad(component, pad), spacing_mm=spacing_mm,
                   depth_mm=params.solid_depth_mm).any():
        return False  # a block, not a wall
    return bool(np.median(hu[core]) >= params.solid_ratio * p90)


def _cut_by_field(hu: np.ndarray, component: np.ndarray, box: tuple[slice, ...],
                  params: BoneParameters) -> bool:
    """Whether a component (cropped to ``box``) reaches the edge of the field of view: the
    image border, or an in-plane neighbour in the padding outside the reconstruction circle
    (below ``params.out_of_field_hu``)."""
    if any(b.start == 0 or b.stop == n for b, n in zip(box[1:], hu.shape[1:], strict=True)):
        return True
    grown = (box[0], *(slice(b.start - 1, b.stop + 1) for b in box[1:]))
    local = np.pad(component, ((0, 0), (1, 1), (1, 1)))
    return bool((dilate(local, IN_PLANE_CROSS) & (hu[grown] < params.out_of_field_hu)).any())


def _on_surface(component: np.ndarray, body: np.ndarray, box: tuple[slice, ...],
                spacing_mm: tuple[float, float, float], params: BoneParameters) -> bool:
    """Whether a dense component (cropped to ``box``) lies on the body surface: enough of its
    voxels have an in-plane neighbour outside the body."""
    grown = tuple(slice(max(b.start - 1, 0), min(b.stop + 1, n))
                  for b, n in zip(box, body.shape, strict=True))
    local = np.zeros([g.stop - g.start for g in grown], dtype=bool)
    local[tuple(slice(b.start - g.start, b.stop - g.start)
                for b, g in zip(box, grown, strict=True))] = component
    count = int(np.count_nonzero(local & dilate(~body[grown], IN_PLANE_CROSS)))
    area = count * spacing_mm[1] * spacing_mm[2]
    return count >= params.surface_fraction * component.sum() and area >= params.surface_area_mm2


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
                         max_rim_hu: float = 150.0, min_rim_hu: float = -200.0,
                         dense: tuple[float, np.ndarray] | None = None) -> Lumen | None:
    """The largest region that looks like contrast-filled blood, or ``None``.

    Opacified blood is a large, homogeneous region in the 150–500 HU band, outside bone and
    surrounded by soft tissue. Candidates are band voxels eroded by one voxel (removing the
    partial-volume fringes of calcifications and bone); the largest component counts as lumen
    when its volume, homogeneity (HU standard deviation) and rim (median HU just outside it
    between ``min_rim_hu`` and ``max_rim_hu``: soft tissue, unlike cancellous bone inside its
    cortex or a positioning aid in air) all fit.

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
    voxel = float(np.prod(spacing_mm))
    if dense is not None and dense[0] <= band_hu[0]:
        values = hu.ravel()[dense[1]]
        band = (values >= band_hu[0]) & (values <= band_hu[1])
        band &= ~bone.ravel()[dense[1]]
        if np.count_nonzero(band) * voxel < min_volume_mm3:  # the eroded band is smaller
            return None
        flat = dense[1][band]
    else:
        flat = band_flat(hu, low=band_hu[0], high=band_hu[1], inside=body, outside=bone)
    # The largest component of the eroded band (None: even the whole eroded band is small).
    largest = largest_eroded(flat, hu.shape, voxel_mm3=voxel, min_volume_mm3=min_volume_mm3)
    if largest is None:
        return None
    volume = float(largest.sum() * voxel)
    if volume < min_volume_mm3:
        return None
    values = hu[largest]
    mean, std = float(values.mean()), float(values.std())
    if not band_hu[0] <= mean <= band_hu[1] or std > max_std_hu:
        return None
    box = padded_box(largest, pad=4)
    inner = ndimage.binary_dilation(largest[box], structure=IN_PLANE, iterations=1)
    rim = ndimage.binary_dilation(largest[box], structure=IN_PLANE, iterations=3) & ~inner
    if not min_rim_hu <= np.median(hu[box][rim]) <= max_rim_hu:  # soft tissue, not air
        return None
    return Lumen(mask=largest, mean_hu=mean, std_hu=std, volume_mm3=volume)
