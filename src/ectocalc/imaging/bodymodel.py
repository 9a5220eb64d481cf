"""ectocalc's own anatomy model: classical, fast, no weights.

Every scan gets an anatomy before its lesions are typed (docs/imaging.md "Built-in
anatomy"). Without a label map this model tells, on an in-plane grid of about
``grid_mm`` (``knowledge/data/imaging.yaml`` ``builtin_anatomy``; HU ranges from
Hofer's CT teaching manual):

* the **lungs** — in-slice air regions (below ``air_hu``) inside the body, large
  (``lung_min_area_cm2``) and not pure gas (mean above ``lung_min_median_hu``: bowel gas is
  about −1000 HU); the **airway** — the smaller air regions of the chest and neck;
* the **thoracic cavity** — every row and every column filled between its first and last
  lung pixel; the **mediastinum** is the cavity minus the lungs;
* **vessel cores** — soft tissue or blood (``soft_hu``, outside bone) at least
  ``core_depth_mm`` deep in-plane; the **heart** — the large mediastinal core of the slices
  whose mediastinal soft tissue reaches ``heart_area_cm2``; the **aorta** — round cores whose
  deepest point lies ``aorta_radius_mm`` from their edge (a lumen section), in the mediastinum
  or, in the abdomen, within ``abdominal_aorta_mm`` of the midline;
* the **body regions** of each slice — head (dense bone enclosing at least
  ``skull_enclosed_cm2``), chest (``chest_lung_area_cm2`` of lung), neck (above the chest),
  abdomen (below it), pelvis (abdomen with ``pelvis_lateral_bone_cm2`` of bone more than 60 mm
  from the midline);
* **devices** — dense objects outside the body (table, head holder, cables).

:func:`place_lesion` then gives each lesion its reporting region or its exclusion reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cc3d
import numpy as np
from scipy import ndimage

from ectocalc.imaging._components import IN_PLANE
from ectocalc.imaging._knowledge import BuiltinAnatomy, imaging_knowledge

_SLICE_8 = np.zeros((3, 3, 3), dtype=bool)
_SLICE_8[1] = True
"""8-connectivity within each slice (components never cross slices)."""
_LATERAL_MM = 60.0
"""Pelvis test: bone this far from the midline (iliac wings, femoral heads)."""
_HEAD_MAX_AREA_CM2 = 350.0
"""A head section is smaller than this (a pelvis ring is not a skull)."""
_CHEST_GAP_MM = 40.0
"""Slices between chest slices at most this far apart are chest (small lung apices)."""
_SKULL_HU = 300.0
"""Cortical bone of the skull vault (and the holder it rests on is outside the body)."""


@dataclass
class BodyModel:
    """The built-in anatomy of one scan, on a grid of every ``step``-th row and column."""

    step: int
    shape: tuple[int, int, int]
    """Shape of the coarse grid."""
    spacing_mm: tuple[float, float, float]
    """Voxel size of the coarse grid."""
    slice_regions: list[str]
    """Body region of each slice ("head", "neck", "chest", "abdomen", "pelvis")."""
    heart_slices: np.ndarray
    lungs: np.ndarray
    airway: np.ndarray
    cavity: np.ndarray
    """The thoracic cavity (lungs and mediastinum) of the chest slices."""
    aorta_core: np.ndarray
    heart_core: np.ndarray
    bone: np.ndarray
    """The map-free bone mask on the model's grid."""
    mediastinum: np.ndarray
    blood_hu: tuple[float, float, float]
    """Mean and SD of the blood-pool cores (aorta, heart) and their volume in cm3."""
    devices: int
    """Dense objects outside the body."""
    bone_components: int
    """Separate pieces of the map-free bone mask (bones and bone fragments set aside)."""
    notes: list[str] = field(default_factory=list)

    @property
    def body_regions(self) -> list[str]:
        """The regions present, head to pelvis."""
        order = ("head", "neck", "chest", "abdomen", "pelvis")
        return [r for r in order if r in self.slice_regions]

    @property
    def heart_in_field(self) -> bool:
        return bool(self.heart_slices.any())


def _params() -> BuiltinAnatomy:
    return imaging_knowledge().builtin_anatomy


def _in_plane_edt(mask: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Distance (mm) of each voxel of ``mask`` to the nearest non-mask pixel of its slice."""
    out = np.zeros(mask.shape, dtype=np.float32)
    rows, cols = mask.any(axis=2), mask.any(axis=1)
    for k in np.flatnonzero(rows.any(axis=1)):
        r, c = np.flatnonzero(rows[k]), np.flatnonzero(cols[k])
        box = (k, slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))
        out[box] = ndimage.distance_transform_edt(np.pad(mask[box], 1),
                                                  sampling=spacing)[1:-1, 1:-1]
    return out


def _between(mask: np.ndarray) -> np.ndarray:
    """Pixels lying between two pixels of ``mask`` on their row or on their column."""
    rows = np.maximum.accumulate(mask, axis=2) & np.maximum.accumulate(mask[:, :, ::-1],
                                                                        axis=2)[:, :, ::-1]
    cols = np.maximum.accumulate(mask, axis=1) & np.maximum.accumulate(mask[:, ::-1],
                                                                        axis=1)[:, ::-1]
    return rows | cols


def _slice_labels(mask: np.ndarray) -> tuple[np.ndarray, int]:
    labels, n = ndimage.label(mask, structure=_SLICE_8)
    return labels, int(n)


def build_body_model(hu: np.ndarray, *, body: np.ndarray, bone: np.ndarray,
                     threshold_hu: float, pixel_spacing_mm: tuple[float, float],
                     increment_mm: float, superior: bool = True) -> BodyModel:
    """The built-in anatomy of a CT (see the module text for each step).

    Parameters
    ----------
    hu : ndarray, shape (slices, rows, columns)
    body, bone : ndarray of bool
        The body mask and the map-free bone mask (:mod:`ectocalc.imaging.detect`).
    threshold_hu : float
        Detection threshold: dense objects outside the body at or above it are devices.
    pixel_spacing_mm : (float, float)
    increment_mm : float
    superior : bool
        Whether the slice index grows toward the head (the DICOM axial layout).

    Returns
    -------
    BodyModel

    Examples
    --------
    Two lungs with a heart-sized soft-tissue mass between them: a chest at heart level.

    >>> hu = np.full((4, 120, 160), -1000.0)
    >>> z, y, x = np.mgrid[:4, :120, :160]
    >>> hu[(((y - 60) / 55) ** 2 + ((x - 80) / 75) ** 2) <= 1] = 30     # body
    >>> lung = (((y - 60) / 35) ** 2 + ((np.abs(x - 80) - 38) / 25) ** 2) <= 1
    >>> hu[lung] = -850
    >>> body = hu > -300; body |= lung
    >>> m = build_body_model(hu, body=body, bone=np.zeros_like(body), threshold_hu=130,
    ...                      pixel_spacing_mm=(2.0, 2.0), increment_mm=3.0)
    >>> m.body_regions, m.heart_in_field
    (['chest'], True)
    """
    p = _params()
    step = max(1, round(p.grid_mm / min(pixel_spacing_mm)))
    g = hu[:, ::step, ::step]
    b = body[:, ::step, ::step]
    bone_g = bone[:, ::step, ::step]
    py, px = pixel_spacing_mm[0] * step, pixel_spacing_mm[1] * step
    area_cm2 = py * px / 100.0
    _nz, _ny, nx = g.shape

    # Lungs and airway: in-slice air regions inside the body (or between its parts, as a
    # lung cut by a small cardiac field of view is).
    air = (g < p.air_hu) & (b | _between(b))
    labels, n = _slice_labels(air)
    of_air = labels[air]
    counts = np.bincount(of_air, minlength=n + 1)[1:]
    sizes = counts * area_cm2
    means = np.bincount(of_air, weights=g[air], minlength=n + 1)[1:] / np.maximum(counts, 1)
    is_lung = np.concatenate([[False], (sizes >= p.lung_min_area_cm2)
                              & (means >= p.lung_min_median_hu)])
    lungs = is_lung[labels]
    lung_area = lungs.sum(axis=(1, 2)) * area_cm2
    body_area = b.sum(axis=(1, 2)) * area_cm2
    head = _skull_slices(g, b, body_area, area_cm2)
    # Air in a skull, or in a section smaller than an adult chest (unless the field of view
    # cuts the body), is not lung.
    cropped = b[:, [0, -1], :].any(axis=(1, 2)) | b[:, :, [0, -1]].any(axis=(1, 2))
    chest = ((lung_area >= p.chest_lung_area_cm2) & ~head
             & ((body_area >= p.chest_min_body_cm2) | cropped))
    airway = air & ~lungs

    cavity = _between(lungs) & b
    cavity[~chest] = False
    mediastinum = cavity & ~lungs

    # The midline of each slice: the centre of the body's columns.
    cols = np.arange(nx)
    body_cols = b.sum(axis=1)
    midline = (body_cols * cols).sum(axis=1) / np.maximum(body_cols.sum(axis=1), 1)
    regions = _slice_regions(bone_g, chest=chest, head=head, body_area=body_area,
                             midline=midline, px=px, area_cm2=area_cm2, superior=superior,
                             slice_mm=increment_mm)
    # Blood, muscle and organs; their in-plane depth finds vessel and heart cores. The
    # cancellous bone of a vertebral body has the HU of enhanced blood but lies inside a
    # cortex: regions mostly bordered by cortical bone are dropped (the bone mask cannot be
    # used: it takes large enhanced chambers for bone).
    size = 3 if max(py, px) <= 1.5 else 1  # average noise over ~2-4 mm, never more
    smooth = ndimage.uniform_filter(g.astype(np.float32), size=(1, size, size))
    soft = (smooth >= p.soft_hu[0]) & (smooth <= p.soft_hu[1]) & b
    soft[chest] &= mediastinum[chest]
    belly_or_chest = np.isin(regions, ("abdomen", "pelvis", "chest"))
    soft[~belly_or_chest] = False  # no aorta or heart in the head and neck
    soft &= ~_inside_cortex(soft, g)
    depth = _in_plane_edt(soft, (py, px))
    core = depth >= p.core_depth_mm
    core_labels, n_core = _slice_labels(core)
    core_area = np.bincount(core_labels.ravel(), minlength=n_core + 1)[1:] * area_cm2
    deepest = np.zeros(n_core + 1)
    np.maximum.at(deepest, core_labels[core], depth[core])
    deepest = deepest[1:]
    belly = np.isin(regions, ("abdomen", "pelvis"))
    front = _spine_front(bone_g, b, midline, px)

    medi_soft = (soft & mediastinum).sum(axis=(1, 2)) * area_cm2
    heart_slices = chest & (medi_soft >= p.heart_area_cm2)
    if n_core:
        of_core = core_labels[core]
        at = np.nonzero(core)
        where = np.stack([np.bincount(of_core, weights=a, minlength=n_core + 1)[1:]
                          for a in at], axis=1) / np.maximum(core_area[:, None] / area_cm2, 1)
        k_of = np.round(where[:, 0]).astype(int)
        round_ = ((deepest >= p.aorta_radius_mm[0]) & (deepest <= p.aorta_radius_mm[1])
                  & (core_area <= p.aorta_max_core_cm2))
        # Abdomen: the aorta lies near the midline, in front of the vertebral body.
        ahead = (front[k_of] - where[:, 1]) * py
        abdominal = (belly[k_of] & (np.abs(where[:, 2] - midline[k_of]) * px
                                    <= p.abdominal_aorta_mm) & (ahead > -15.0) & (ahead <= 60.0))
        is_aorta = round_ & (chest[k_of] | abdominal)
        # The heart: the largest core of each heart-level slice (not the back muscles a
        # cropped field of view may leave between the lungs).
        is_heart = ~is_aorta & heart_slices[k_of] & (core_area > p.aorta_max_core_cm2)
        order = np.lexsort((core_area, is_heart, k_of))
        last = np.r_[k_of[order][1:] != k_of[order][:-1], True]
        largest = np.zeros(n_core, dtype=bool)
        largest[order[last]] = True
        is_heart &= largest & ~((where[:, 1] > front[k_of]) & np.isfinite(front[k_of]))
    else:
        is_aorta = is_heart = np.zeros(0, dtype=bool)
    aorta_core = np.concatenate([[False], is_aorta])[core_labels]
    heart_core = np.concatenate([[False], is_heart])[core_labels]
    pool = g[aorta_core | heart_core]
    voxel_cm3 = area_cm2 * increment_mm / 10.0
    blood = ((float(pool.mean()), float(pool.std()), pool.size * voxel_cm3) if pool.size
             else (float("nan"), float("nan"), 0.0))

    devices = _pieces((g >= threshold_hu) & ~b, p.device_min_voxels)
    return BodyModel(step=step, shape=g.shape, spacing_mm=(increment_mm, py, px),
                     slice_regions=list(regions), heart_slices=heart_slices, lungs=lungs,
                     airway=airway, cavity=cavity, aorta_core=aorta_core,
                     heart_core=heart_core, bone=bone_g, mediastinum=mediastinum, blood_hu=blood,
                     devices=devices, bone_components=_pieces(bone_g, p.device_min_voxels))


def _pieces(mask: np.ndarray, min_voxels: int) -> int:
    """Number of 26-connected components of at least ``min_voxels``."""
    if not mask.any():
        return 0
    labels = cc3d.connected_components(mask, connectivity=26)
    return int((np.bincount(labels.ravel())[1:] >= min_voxels).sum())


def _spine_front(bone: np.ndarray, body: np.ndarray, midline: np.ndarray, px: float
                 ) -> np.ndarray:
    """Row of the front of the vertebral body in each slice: the most anterior bone within
    15 mm of the midline in the posterior two thirds of the body (NaN when none)."""
    _nz, ny, nx = bone.shape
    rows = np.arange(ny)
    near = np.abs(np.arange(nx)[None, :] - midline[:, None]) * px <= 15.0
    body_rows = body.any(axis=2)
    top = np.where(body_rows.any(axis=1), body_rows.argmax(axis=1), 0)
    bottom = np.where(body_rows.any(axis=1), ny - 1 - body_rows[:, ::-1].argmax(axis=1), 0)
    posterior = rows[None, :] >= (top + (bottom - top) / 3.0)[:, None]
    hits = (bone & near[:, None, :]).any(axis=2) & posterior
    return np.where(hits.any(axis=1), hits.argmax(axis=1), np.nan)


def _skull_slices(g: np.ndarray, b: np.ndarray, body_area: np.ndarray, area_cm2: float
                  ) -> np.ndarray:
    """Slices where dense bone encloses at least ``skull_enclosed_cm2`` (a skull)."""
    head = np.zeros(g.shape[0], dtype=bool)
    maybe = np.flatnonzero(body_area <= _HEAD_MAX_AREA_CM2)
    if maybe.size:
        # Closed by one pixel (a thin vault on a coarse grid); not the bone mask, which
        # fills the whole skull as marrow.
        dense = ndimage.binary_dilation(g[maybe] >= _SKULL_HU, structure=IN_PLANE)
        enclosed = ndimage.binary_fill_holes(dense, structure=IN_PLANE) & ~dense & b[maybe]
        head[maybe] = enclosed.sum(axis=(1, 2)) * area_cm2 >= _params().skull_enclosed_cm2
    return head


def _inside_cortex(soft: np.ndarray, g: np.ndarray, *, cortex_hu: float = 600.0,
                   fraction: float = 0.6) -> np.ndarray:
    """In-slice regions of ``soft`` whose border is at least ``fraction`` cortical bone."""
    labels, n = _slice_labels(soft)
    if not n:
        return np.zeros_like(soft)
    grown = ndimage.maximum_filter(labels, size=(1, 3, 3))
    border = (grown > 0) & ~soft
    owner = grown[border]
    total = np.bincount(owner, minlength=n + 1)
    dense = np.bincount(owner, weights=g[border] >= cortex_hu, minlength=n + 1)
    bony = dense >= fraction * np.maximum(total, 1)
    bony[0] = False
    return bony[labels]


def _slice_regions(bone: np.ndarray, *, chest: np.ndarray, head: np.ndarray,
                   body_area: np.ndarray, midline: np.ndarray, px: float, area_cm2: float,
                   superior: bool, slice_mm: float) -> list[str]:
    """Body region of each slice (see the module text)."""
    p = _params()
    nz, _, nx = bone.shape
    lateral = np.abs(np.arange(nx)[None, :] - midline[:, None]) * px > _LATERAL_MM
    lateral_bone = (bone & lateral[:, None, :]).sum(axis=(1, 2)) * area_cm2
    order = np.arange(nz) if superior else np.arange(nz)[::-1]  # inferior to superior
    rank = np.empty(nz, dtype=int)
    rank[order] = np.arange(nz)
    chest_ranks = rank[chest]
    regions = []
    for k in range(nz):
        above, below = chest_ranks[chest_ranks > rank[k]], chest_ranks[chest_ranks < rank[k]]
        gap = (above.min() - below.max()) * slice_mm if above.size and below.size else np.inf
        if chest[k] or (gap <= _CHEST_GAP_MM and not head[k]):
            regions.append("chest")  # a short gap between chest slices (lung apices)
        elif head[k]:
            regions.append("head")
        elif chest_ranks.size and rank[k] > chest_ranks.max():
            regions.append("neck")
        elif chest_ranks.size or body_area[k] > _HEAD_MAX_AREA_CM2:
            regions.append("pelvis" if lateral_bone[k] >= p.pelvis_lateral_bone_cm2
                           else "abdomen")
        else:
            regions.append("neck")
    if head.any():  # the neck lies between the head and the chest, never above the head
        top_head = rank[head].min()
        regions = ["head" if r == "neck" and rank[k] > top_head else r
                   for k, r in enumerate(regions)]
    return regions


@dataclass(frozen=True)
class Placement:
    """Where a lesion is reported (``region``) or why it is not scored (``excluded``)."""

    region: str
    excluded: str | None = None


def _near(mask: np.ndarray, z: np.ndarray, y: np.ndarray, x: np.ndarray, reach_mm: float,
          spacing_mm: tuple[float, float, float]) -> float:
    """Fraction of the voxels ``(z, y, x)`` (coarse grid) within ``reach_mm`` in-plane of
    ``mask`` in their slice (computed on a crop around them)."""
    r = [int(np.ceil(reach_mm / s)) + 1 for s in spacing_mm[1:]]
    box = (slice(int(z.min()), int(z.max()) + 1),
           slice(max(int(y.min()) - r[0], 0), int(y.max()) + r[0] + 1),
           slice(max(int(x.min()) - r[1], 0), int(x.max()) + r[1] + 1))
    crop = mask[box]
    if not crop.any():
        return 0.0
    if crop.all():
        return 1.0
    far = 1e6  # slices are never each other's neighbours
    distance = ndimage.distance_transform_edt(~crop, sampling=(far, *spacing_mm[1:]))
    return float((distance[z - box[0].start, y - box[1].start, x - box[2].start]
                  <= reach_mm).mean())


def place_lesion(model: BodyModel, coords: tuple[np.ndarray, ...], *, max_diameter_mm: float,
                 skin_mm: float) -> Placement:
    """Reporting region or exclusion reason of one lesion by the built-in anatomy.

    Parameters
    ----------
    model : BodyModel
    coords : tuple of ndarray
        Full-resolution (slice, row, column) indices of the lesion's voxels.
    max_diameter_mm : float
        The lesion's largest extent.
    skin_mm : float
        The lesion's smallest in-plane depth below the body surface.

    Rules, in order: next to the airway of the neck or chest → cartilage; touching the
    map-free bone mask (within ``bone_near_mm``) or the edge of the field of view (a bone
    cut by it: vessels do not reach the image border) → bone; in the chest wall (outside the
    thoracic cavity, below the skin, within ``chest_wall_mm`` of the cavity, or in a chest or
    abdomen slice no deeper than ``chest_wall_mm`` below the skin) →
    bone (ribs, sternum, scapulae; cartilage when it lies in front of the lungs and is
    short: costal cartilage); longer than ``bone_length_mm`` outside the aorta → bone; in a
    head slice, within ``skull_depth_mm`` of the surface → skull. Otherwise the region: near
    an aortic core → thoracic or abdominal aorta; near the heart → coronary (the built-in
    model cannot tell the artery, the valves or the mitral annulus); else non-vascular.
    """
    p = _params()
    sp = model.spacing_mm
    z, y, x = coords[0], coords[1] // model.step, coords[2] // model.step
    regions = {model.slice_regions[k] for k in np.unique(z)}
    in_aorta = _near(model.aorta_core, z, y, x, p.core_depth_mm + p.aorta_margin_mm, sp) >= 0.5
    in_heart = _near(model.heart_core, z, y, x, p.core_depth_mm + p.heart_margin_mm, sp) >= 0.5
    vessel = in_aorta or in_heart
    if {"neck", "chest"} & regions and not vessel and \
            _near(model.airway, z, y, x, p.airway_mm, sp) > 0:
        return Placement("non_vascular", "cartilage")
    edge = [int(np.ceil(p.bone_near_mm / s)) for s in sp[1:]]
    at_edge = (int(y.min()) < edge[0] or int(x.min()) < edge[1]
               or int(y.max()) >= model.shape[1] - edge[0]
               or int(x.max()) >= model.shape[2] - edge[1])
    if at_edge or (not vessel and _near(model.bone, z, y, x, p.bone_near_mm, sp) > 0):
        return Placement("non_vascular", "bone")  # a piece of a bone the mask left out
    trunk_wall = bool({"chest", "abdomen"} & regions) and p.skin_mm < skin_mm <= \
        p.chest_wall_mm
    if not in_aorta and skin_mm > p.skin_mm and (trunk_wall or (
            "chest" in regions and _near(model.cavity, z, y, x, 0.0, sp) < 0.5
            and _near(model.cavity, z, y, x, p.chest_wall_mm, sp) >= 0.5)):
        lungs = model.lungs[int(np.median(z))]
        front = np.flatnonzero(lungs.any(axis=1))
        before_lungs = bool(front.size) and float(np.median(y)) < front.min()
        short = max_diameter_mm < p.bone_length_mm
        return Placement("non_vascular", "cartilage" if before_lungs and short else "bone")
    if max_diameter_mm >= p.bone_length_mm and not in_aorta:
        return Placement("non_vascular", "bone")
    if "head" in regions and p.skin_mm < skin_mm <= p.skull_depth_mm:
        return Placement("non_vascular", "bone")
    if in_aorta:
        return Placement("thoracic_aorta" if "chest" in regions else "abdominal_aorta")
    if in_heart:
        return Placement("coronary")
    return Placement("non_vascular")
