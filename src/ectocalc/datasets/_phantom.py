"""A synthetic CT phantom with known calcium, written as a real DICOM series.

The phantom is the bundled demo input of ``ectocalc scan`` and the ground truth of its tests:
an elliptical trunk (skin, fat, soft tissue) lying on a dense patient table, a QRM-like calcium
insert set (cylinders with diameter = length 1, 3 and 5 mm at 200, 400 and 800 mg HA/cm³ in a
50 HU resin), 0 and 200 mg HA/cm³ calibration rods, a vertebral column and ribs (bone, which a
scorer must exclude), calcified skin nodules just under the skin and calcified plaques in the
wall of an aorta-like tube.

Image formation is modelled so that measured volume and mass behave like a real scan:

1. every object is rasterised analytically with partial volume: in-plane coverage from
   5 × 5 supersampling per pixel, along z the exact overlap of the object with each slab
   (a box slice-sensitivity profile as wide as the slice increment);
2. a Gaussian point-spread function (FWHM :data:`PSF_FWHM_MM` in all three axes) is applied on
   the voxel grid;
3. white Gaussian noise of ``noise_hu`` standard deviation is added from ``seed``.

Hydroxyapatite (HA) material follows the linear model ``HU = base_hu + density / c_HA`` with
``c_HA`` = :data:`C_HA_MG_PER_CM3_PER_HU` (the product's default calibration at 120 kVp).
``kvp`` only sets the DICOM tag: the HU model is the 120 kVp one at every tube voltage.

Objects are placed in the transverse plane so that none overlaps another; their positions
along z are fractions of the scanned length, so any slice count and increment give a valid
phantom (objects longer than the scanned range are left out and listed in ``truth.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from ectocalc.imaging.measure import DEFAULT_CALIBRATION

C_HA_MG_PER_CM3_PER_HU = DEFAULT_CALIBRATION
"""Calibration factor of the HU model (mg HA·cm⁻³ per HU): the product default, 120 kVp."""
PSF_FWHM_MM = 1.0
"""Full width at half maximum of the Gaussian scanner point-spread function, in mm."""
SUPERSAMPLING = 5
"""In-plane sub-samples per pixel side used to compute partial-volume coverage."""

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PATIENT_NAME = "PHANTOM^SYNTHETIC^ECTOCALC"
RESCALE_INTERCEPT = -1024.0

# Tissue values (HU) of the background anatomy.
AIR_HU, FAT_HU, TISSUE_HU, SKIN_HU = -1000.0, -100.0, 40.0, 40.0
RESIN_HU, WATER_HU, TABLE_HU = 50.0, 0.0, 500.0
AORTA_WALL_HU, BLOOD_HU, PERIAORTIC_FAT_HU = 45.0, 40.0, -90.0
CORTICAL_HU, CANCELLOUS_HU, DISC_HU, RIB_CORTEX_HU = 900.0, 250.0, 80.0, 800.0

# Transverse layout in LPS millimetres (x: patient left, y: posterior).
BODY_SEMI_AXES = (82.0, 62.0)
SKIN_MM, FAT_MM = 2.0, 12.0
TABLE_Y = (68.0, 71.0)
AORTA_CENTRE, AORTA_LUMEN_R, AORTA_WALL_R, AORTA_FAT_R = (18.0, -2.0), 9.0, 11.0, 14.0
VERTEBRA_CENTRE, VERTEBRA_SEMI_AXES, CORTEX_MM = (0.0, 30.0), (16.0, 13.0), 1.5
LEVEL_MM, DISC_MM = 30.0, 5.0
LEVEL_NAMES = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5")
INSERT_BLOCK_CENTRE, INSERT_BLOCK_R, INSERT_PITCH = (-30.0, -22.0), 20.0, 11.0
RIB_ARC_CENTRE, RIB_ARC_R, RIB_WIDTH_MM, RIB_HEIGHT_MM = (0.0, 5.0), 58.0, 6.0, 10.0


@dataclass(frozen=True)
class PhantomObject:
    """Ground truth of one phantom object (one entry of ``truth.json``).

    ``true_volume_mm3`` and ``true_mass_mg`` are analytic (π r² h for cylinders, 4/3 π r³ for
    spheres, density × volume); ``should_detect`` is ``True`` for lesions a scorer must find,
    ``False`` for what it must never report (bone, table, the 0 mg rod) and ``None`` where
    missing it is acceptable (1 mm inserts, below the resolution of the scan).
    """

    id: str
    kind: str
    diameter_mm: float
    length_mm: float
    centre_lps_mm: tuple[float, float, float]
    true_volume_mm3: float
    density_mg_cm3: float | None
    true_mass_mg: float | None
    hu: float
    should_detect: bool | None
    expected_type: str | None
    expected_type_with_anatomy: str | None
    expected_region: str | None = None
    note: str = ""


@dataclass(frozen=True)
class _Grid:
    """Voxel centres (mm) along x (columns), y (rows) and z (slices, ascending)."""

    xs: np.ndarray
    ys: np.ndarray
    zs: np.ndarray
    pixel_mm: float
    increment_mm: float


InPlane = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Inside test of a transverse shape: ``(x, y)`` mm arrays → boolean array."""


@dataclass(frozen=True)
class _Prism:
    """A transverse shape extruded between ``z0`` and ``z1`` (a right prism or cylinder)."""

    inside: InPlane
    bbox: tuple[float, float, float, float]  # x0, x1, y0, y1
    z0: float
    z1: float


@dataclass
class Phantom:
    """Everything :func:`make_phantom` computes: image (HU), anatomy labels and ground truth.

    The ``_add_*`` builders paint into ``hu`` and ``labels`` and append to ``objects``; an object
    that does not fit in the scanned range is listed in ``omitted`` instead.
    """

    hu: np.ndarray
    grid: _Grid
    labels: np.ndarray
    label_names: dict[int, str] = field(default_factory=dict)
    objects: list[PhantomObject] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)

    @property
    def z_range(self) -> tuple[float, float]:
        """Bottom and top of the scanned range (mm)."""
        half = self.grid.increment_mm / 2
        return float(self.grid.zs[0] - half), float(self.grid.zs[-1] + half)

    def add_label(self, name: str, cover: tuple[tuple[slice, slice, slice], np.ndarray]) -> None:
        """Give the next label value to ``name`` where the coverage is at least one half."""
        value = len(self.label_names) + 1
        self.label_names[value] = name
        region, frac = cover
        self.labels[region][frac >= 0.5] = value


def ha_hu(density_mg_cm3: float, base_hu: float) -> float:
    """HU of hydroxyapatite material in the phantom's linear model.

    Examples
    --------
    >>> round(ha_hu(800.0, 50.0), 1)
    1075.6
    """
    return base_hu + density_mg_cm3 / C_HA_MG_PER_CM3_PER_HU


def _ellipse(cx: float, cy: float, a: float, b: float) -> tuple[InPlane, tuple]:
    return (lambda x, y: ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0,
            (cx - a, cx + a, cy - b, cy + b))


def _sector(cx: float, cy: float, r0: float, r1: float, angle_deg: float,
            span_deg: float) -> tuple[InPlane, tuple]:
    """Annular sector centred on ``angle_deg`` (from +x towards +y) spanning ``span_deg``."""
    half = math.radians(span_deg) / 2.0
    mid = math.radians(angle_deg)

    def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = np.hypot(x - cx, y - cy)
        off = np.angle(np.exp(1j * (np.arctan2(y - cy, x - cx) - mid)))
        return (r >= r0) & (r <= r1) & (np.abs(off) <= half)

    return inside, (cx - r1, cx + r1, cy - r1, cy + r1)


def _rectangle(x0: float, x1: float, y0: float, y1: float) -> tuple[InPlane, tuple]:
    return (lambda x, y: (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)), (x0, x1, y0, y1)


def _prism(shape: tuple[InPlane, tuple], z0: float, z1: float) -> _Prism:
    return _Prism(shape[0], shape[1], z0, z1)


def _index_range(centres: np.ndarray, step: float, lo: float, hi: float) -> slice:
    """Voxels whose extent ``[c - step/2, c + step/2]`` meets ``[lo, hi]``."""
    first = math.ceil((lo - centres[0]) / step - 0.5)
    last = math.floor((hi - centres[0]) / step + 0.5)
    return slice(max(first, 0), max(min(last + 1, len(centres)), 0))


def _subsamples(centres: np.ndarray, step: float, n: int) -> np.ndarray:
    offsets = ((np.arange(n) + 0.5) / n - 0.5) * step
    return (centres[:, None] + offsets[None, :]).ravel()


def _cover_xy(inside: InPlane, bbox: tuple, grid: _Grid) -> tuple[slice, slice, np.ndarray]:
    """Fraction of each pixel inside a transverse shape, within the shape's bounding box."""
    cols = _index_range(grid.xs, grid.pixel_mm, bbox[0], bbox[1])
    rows = _index_range(grid.ys, grid.pixel_mm, bbox[2], bbox[3])
    n = SUPERSAMPLING
    xs = _subsamples(grid.xs[cols], grid.pixel_mm, n)
    ys = _subsamples(grid.ys[rows], grid.pixel_mm, n)
    mask = inside(xs[None, :], ys[:, None])
    frac = mask.reshape(len(ys) // n, n, len(xs) // n, n).mean(axis=(1, 3))
    return rows, cols, frac


def _cover_z(z0: float, z1: float, grid: _Grid) -> np.ndarray:
    """Exact overlap of ``[z0, z1]`` with each slab (box slice profile), as a fraction."""
    half = grid.increment_mm / 2.0
    overlap = np.minimum(z1, grid.zs + half) - np.maximum(z0, grid.zs - half)
    return np.clip(overlap, 0.0, None) / grid.increment_mm


def _cover_prism(prism: _Prism, grid: _Grid) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    """Partial-volume coverage of a prism: transverse coverage × slab overlap (separable)."""
    rows, cols, fxy = _cover_xy(prism.inside, prism.bbox, grid)
    sl = _index_range(grid.zs, grid.increment_mm, prism.z0, prism.z1)
    fz = _cover_z(prism.z0, prism.z1, grid)[sl]
    return (sl, rows, cols), fz[:, None, None] * fxy[None, :, :]


def _cover_sphere(centre: tuple[float, float, float], radius: float,
                  grid: _Grid) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    """Partial-volume coverage of a sphere by 3D supersampling of its bounding box."""
    cx, cy, cz = centre
    sl = _index_range(grid.zs, grid.increment_mm, cz - radius, cz + radius)
    rows = _index_range(grid.ys, grid.pixel_mm, cy - radius, cy + radius)
    cols = _index_range(grid.xs, grid.pixel_mm, cx - radius, cx + radius)
    n, nz = SUPERSAMPLING, max(SUPERSAMPLING, math.ceil(grid.increment_mm / 0.2))
    zs = _subsamples(grid.zs[sl], grid.increment_mm, nz)
    ys = _subsamples(grid.ys[rows], grid.pixel_mm, n)
    xs = _subsamples(grid.xs[cols], grid.pixel_mm, n)
    mask = ((zs[:, None, None] - cz) ** 2 + (ys[None, :, None] - cy) ** 2
            + (xs[None, None, :] - cx) ** 2) <= radius ** 2
    frac = mask.reshape(len(zs) // nz, nz, len(ys) // n, n, len(xs) // n, n).mean(axis=(1, 3, 5))
    return (sl, rows, cols), frac


def _paint(hu: np.ndarray, cover: tuple[tuple[slice, slice, slice], np.ndarray],
           value: float) -> None:
    """Mix ``value`` into ``hu`` by coverage fraction (later objects lie on top)."""
    region, frac = cover
    view = hu[region]
    view += frac.astype(hu.dtype) * (np.float32(value) - view)


def _grid(rows: int, columns: int, slices: int, pixel_mm: float, increment_mm: float) -> _Grid:
    def centred(n: int, step: float) -> np.ndarray:
        return (np.arange(n) - (n - 1) / 2.0) * step

    return _Grid(centred(columns, pixel_mm), centred(rows, pixel_mm),
                 centred(slices, increment_mm), pixel_mm, increment_mm)


def _place_z(fraction: float, half_length: float, grid: _Grid) -> float | None:
    """A slice-centred z for an object at ``fraction`` of the half range, or None if too long."""
    half_range = len(grid.zs) * grid.increment_mm / 2.0
    limit = half_range - half_length
    if limit < 0:
        return None
    z = float(np.clip(fraction * half_range, -limit, limit))
    # Centre on a slice so partial volume along z is reproducible, if one fits.
    fitting = grid.zs[np.abs(grid.zs) <= limit + 1e-9]
    return float(fitting[np.argmin(np.abs(fitting - z))]) if fitting.size else z


def _background(grid: _Grid) -> np.ndarray:
    """The transverse slice shared by all z: air, table, trunk layers, aorta, insert resin."""
    a, b = BODY_SEMI_AXES
    layers = [
        (_rectangle(-85.0, 85.0, *TABLE_Y), TABLE_HU),
        (_ellipse(0.0, 0.0, a, b), SKIN_HU),
        (_ellipse(0.0, 0.0, a - SKIN_MM, b - SKIN_MM), FAT_HU),
        (_ellipse(0.0, 0.0, a - FAT_MM, b - FAT_MM), TISSUE_HU),
        (_ellipse(*AORTA_CENTRE, AORTA_FAT_R, AORTA_FAT_R), PERIAORTIC_FAT_HU),
        (_ellipse(*AORTA_CENTRE, AORTA_WALL_R, AORTA_WALL_R), AORTA_WALL_HU),
        (_ellipse(*AORTA_CENTRE, AORTA_LUMEN_R, AORTA_LUMEN_R), BLOOD_HU),
        (_ellipse(*INSERT_BLOCK_CENTRE, INSERT_BLOCK_R, INSERT_BLOCK_R), RESIN_HU),
    ]
    plane = np.full((1, len(grid.ys), len(grid.xs)), AIR_HU, dtype=np.float32)
    for (inside, bbox), value in layers:
        rows, cols, frac = _cover_xy(inside, bbox, grid)
        _paint(plane, ((slice(0, 1), rows, cols), frac[None]), value)
    return plane[0]


def _add_spine(p: Phantom) -> None:
    """Vertebral column: discs everywhere, then one body per level (cortical shell over a
    cancellous core), named from the top down like TotalSegmentator classes."""
    va, vb = VERTEBRA_SEMI_AXES
    z_bottom, z_top = p.z_range
    _paint(p.hu, _cover_prism(_prism(_ellipse(*VERTEBRA_CENTRE, va, vb), z_bottom, z_top),
                              p.grid), DISC_HU)
    level_mm = max(LEVEL_MM, (z_top - z_bottom) / len(LEVEL_NAMES))
    n_levels = min(len(LEVEL_NAMES), math.ceil((z_top - z_bottom) / level_mm))
    for i, level in enumerate(LEVEL_NAMES[:n_levels]):
        z1 = z_top - i * level_mm
        z0 = max(z1 - level_mm + DISC_MM, z_bottom)
        outer = _cover_prism(_prism(_ellipse(*VERTEBRA_CENTRE, va, vb), z0, z1), p.grid)
        inner = _prism(_ellipse(*VERTEBRA_CENTRE, va - CORTEX_MM, vb - CORTEX_MM),
                       z0 + CORTEX_MM, z1 - CORTEX_MM)
        _paint(p.hu, outer, CORTICAL_HU)
        _paint(p.hu, _cover_prism(inner, p.grid), CANCELLOUS_HU)
        p.add_label(f"vertebrae_{level}", outer)
        p.objects.append(PhantomObject(
            f"vertebra_{level}", "vertebra", 2 * va, z1 - z0,
            (*VERTEBRA_CENTRE, (z0 + z1) / 2), math.pi * va * vb * (z1 - z0), None, None,
            CORTICAL_HU, False, None, None, f"vertebrae_{level}",
            f"cortical {CORTICAL_HU:g} HU, cancellous {CANCELLOUS_HU:g} HU: bone, never "
            "calcification"))


def _add_ribs(p: Phantom) -> None:
    """Ribs: curved bars on an arc around the vertebra, cortex over a marrow core."""
    r0, r1 = RIB_ARC_R - RIB_WIDTH_MM / 2, RIB_ARC_R + RIB_WIDTH_MM / 2
    half_height = RIB_HEIGHT_MM / 2
    for number, fraction in ((10, 0.7), (11, 0.35)):
        for side, angle, span in (("left", 2.5, 75.0), ("right", 170.0, 60.0)):
            name = f"rib_{side}_{number}"
            zc = _place_z(fraction, half_height, p.grid)
            if zc is None:
                p.omitted.append(name)
                continue
            outer = _cover_prism(_prism(_sector(*RIB_ARC_CENTRE, r0, r1, angle, span),
                                        zc - half_height, zc + half_height), p.grid)
            core = _prism(_sector(*RIB_ARC_CENTRE, r0 + 1, r1 - 1, angle, span - 2),
                          zc - half_height + 1, zc + half_height - 1)
            _paint(p.hu, outer, RIB_CORTEX_HU)
            _paint(p.hu, _cover_prism(core, p.grid), CANCELLOUS_HU)
            p.add_label(name, outer)
            mid = math.radians(angle)
            centre = (RIB_ARC_CENTRE[0] + RIB_ARC_R * math.cos(mid),
                      RIB_ARC_CENTRE[1] + RIB_ARC_R * math.sin(mid), zc)
            volume = math.radians(span) / 2 * (r1**2 - r0**2) * RIB_HEIGHT_MM
            p.objects.append(PhantomObject(
                name, "rib", RIB_WIDTH_MM, RIB_HEIGHT_MM, centre, volume, None, None,
                RIB_CORTEX_HU, False, None, None, name, "bone, never calcification"))


def _add_cylinder(p: Phantom, id_: str, kind: str, diameter: float, density: float,
                  base_hu: float, xy: tuple[float, float], z_fraction: float,
                  should_detect: bool | None, expected: str | None, note: str = "") -> None:
    """An HA cylinder along z with diameter = length (QRM geometry), centred on a slice."""
    zc = _place_z(z_fraction, diameter / 2, p.grid)
    if zc is None:
        p.omitted.append(id_)
        return
    volume = math.pi * (diameter / 2.0) ** 2 * diameter
    value = ha_hu(density, base_hu)
    shape = _ellipse(*xy, diameter / 2, diameter / 2)
    _paint(p.hu, _cover_prism(_prism(shape, zc - diameter / 2, zc + diameter / 2), p.grid),
           value)
    p.objects.append(PhantomObject(id_, kind, diameter, diameter, (*xy, zc), volume, density,
                                   density * volume / 1000.0, value, should_detect, expected,
                                   expected, None, note))


def _add_inserts(p: Phantom) -> None:
    """QRM-like insert: sizes along y, densities along x, all on the middle slice; then the
    calibration rods (water-equivalent base, so c_HA = 200 / (HU_200 - HU_0))."""
    bx, by = INSERT_BLOCK_CENTRE
    for i, diameter in enumerate((5.0, 3.0, 1.0)):
        for j, density in enumerate((200.0, 400.0, 800.0)):
            big = diameter >= 3
            _add_cylinder(p, f"insert_{diameter:g}mm_{density:g}", "insert", diameter, density,
                          RESIN_HU, (bx + (j - 1) * INSERT_PITCH, by + (i - 1) * INSERT_PITCH),
                          0.0, True if big else None, "soft_tissue",
                          "" if big else "1 mm inserts are usually missed at 3 mm slices")
    for density, xy in ((0.0, (-42.0, 4.0)), (200.0, (-40.0, 26.0))):
        _add_cylinder(p, f"calibration_rod_{density:g}", "calibration_rod", 10.0, density,
                      WATER_HU, xy, -0.55, density > 0, "soft_tissue" if density > 0 else None,
                      "calibration material, not a lesion; a threshold scorer sees the 200 mg "
                      "rod")


def _add_skin_nodules(p: Phantom) -> None:
    """Calcified skin nodules: spheres whose centre lies 2.5-3 mm under the skin surface."""
    a, b = BODY_SEMI_AXES
    for k, (theta, diameter, density, fraction) in enumerate(
            ((270.0, 4.0, 600.0, -0.7), (0.0, 5.0, 800.0, 0.3), (160.0, 3.0, 500.0, 0.75))):
        r = diameter / 2
        id_ = f"skin_nodule_{k + 1}"
        zc = _place_z(fraction, r, p.grid)
        if zc is None:
            p.omitted.append(id_)
            continue
        depth = max(2.5, r + 0.5)
        t = math.radians(theta)
        normal = np.array([math.cos(t) / a, math.sin(t) / b])
        x, y = (np.array([a * math.cos(t), b * math.sin(t)])
                - depth * normal / np.linalg.norm(normal)).tolist()
        value = ha_hu(density, TISSUE_HU)
        _paint(p.hu, _cover_sphere((x, y, zc), r, p.grid), value)
        volume = 4.0 / 3.0 * math.pi * r**3
        p.objects.append(PhantomObject(
            id_, "skin_nodule", diameter, diameter, (x, y, zc), volume, density,
            density * volume / 1000.0, value, True, "cutaneous", "cutaneous", None,
            f"sphere, centre {depth:g} mm under the skin surface"))


def _add_plaques(p: Phantom) -> None:
    """Aortic wall plaques: crescents (annular sectors) in the wall, bulging into the lumen."""
    r0, r1 = AORTA_LUMEN_R - 1.0, AORTA_WALL_R - 0.5
    for k, (angle, span, length, density, fraction) in enumerate(
            ((90.0, 70.0, 9.0, 300.0, -0.3), (0.0, 60.0, 6.0, 500.0, 0.15),
             (225.0, 90.0, 12.0, 800.0, 0.5))):
        id_ = f"plaque_{k + 1}"
        zc = _place_z(fraction, length / 2, p.grid)
        if zc is None:
            p.omitted.append(id_)
            continue
        value = ha_hu(density, AORTA_WALL_HU)
        _paint(p.hu, _cover_prism(_prism(_sector(*AORTA_CENTRE, r0, r1, angle, span),
                                         zc - length / 2, zc + length / 2), p.grid), value)
        mid, rc = math.radians(angle), (r0 + r1) / 2
        centre = (AORTA_CENTRE[0] + rc * math.cos(mid), AORTA_CENTRE[1] + rc * math.sin(mid), zc)
        volume = math.radians(span) / 2 * (r1**2 - r0**2) * length
        p.objects.append(PhantomObject(
            id_, "plaque", r1 - r0, length, centre, volume, density, density * volume / 1000.0,
            value, True, "soft_tissue", "vascular", "aorta",
            f"crescent {span:g} deg of the aortic wall, radii {r0:g}-{r1:g} mm"))


def make_phantom(*, seed: int = 0, rows: int = 256, columns: int = 256, slices: int = 60,
                 pixel_spacing_mm: float = 0.7, slice_increment_mm: float = 3.0,
                 noise_hu: float = 15.0) -> Phantom:
    """Compute the phantom image (HU, float32), anatomy labels and ground truth in memory.

    See :func:`write_phantom` for the parameters; nothing is written here.

    Examples
    --------
    >>> p = make_phantom(rows=64, columns=64, slices=4, pixel_spacing_mm=3.0)
    >>> p.hu.shape, p.hu.dtype.name
    ((4, 64, 64), 'float32')
    """
    grid = _grid(rows, columns, slices, pixel_spacing_mm, slice_increment_mm)
    hu = np.repeat(_background(grid)[None], slices, axis=0)
    p = Phantom(hu=hu, grid=grid, labels=np.zeros(hu.shape, dtype=np.uint8))
    z_bottom, z_top = p.z_range
    p.add_label("aorta", _cover_prism(
        _prism(_ellipse(*AORTA_CENTRE, AORTA_WALL_R, AORTA_WALL_R), z_bottom, z_top), grid))
    for add in (_add_spine, _add_ribs, _add_inserts, _add_skin_nodules, _add_plaques):
        add(p)
    p.objects.append(PhantomObject(
        "table", "table", 170.0, z_top - z_bottom, (0.0, sum(TABLE_Y) / 2, 0.0),
        170.0 * (TABLE_Y[1] - TABLE_Y[0]) * (z_top - z_bottom), None, None, TABLE_HU, False,
        None, None, None, "patient table under the body, outside it"))

    sigma = PSF_FWHM_MM / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    ndimage.gaussian_filter(hu, sigma=(sigma / slice_increment_mm, sigma / pixel_spacing_mm,
                                       sigma / pixel_spacing_mm), output=hu, truncate=3.0)
    rng = np.random.default_rng(seed)
    hu += rng.standard_normal(hu.shape, dtype=np.float32) * np.float32(noise_hu)
    return p


def _uid(seed: int, *parts: object) -> str:
    """A UID that depends only on the seed and the parameters (reproducible series)."""
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=["ectocalc-phantom", str(seed), *map(str, parts)])


def _write_series(phantom: Phantom, directory: Path, *, seed: int, kvp: int,
                  study_uid: str, series_uid: str, frame_uid: str) -> None:
    """One CT Image Storage file per slice; instance 1 is the most superior slice."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

    from ectocalc import __version__

    grid = phantom.grid
    stored = np.clip(np.rint(phantom.hu - RESCALE_INTERCEPT), 0, 4095).astype(np.uint16)
    directory.mkdir(parents=True, exist_ok=True)
    n = len(grid.zs)
    for k in range(n):
        number = n - k
        uid = _uid(seed, series_uid, k)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame_uid, ""
        ds.PatientName, ds.PatientID = PATIENT_NAME, f"ECTOCALC-PHANTOM-{seed}"
        ds.PatientBirthDate, ds.PatientSex = "", "O"
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20260101"
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
        ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "1", "", ""
        ds.StudyDescription = "Synthetic calcium phantom (ectocalc)"
        ds.SeriesDescription = f"Phantom seed {seed}, {grid.increment_mm:g} mm"
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = "CT", 1, number, 1
        ds.Manufacturer = "ectocalc"
        ds.ManufacturerModelName = "synthetic phantom"
        ds.SoftwareVersions = __version__
        ds.BodyPartExamined, ds.PatientPosition = "ABDOMEN", "HFS"
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.KVP = kvp
        ds.ConvolutionKernel = "SYNTHETIC"
        ds.SliceThickness = grid.increment_mm
        ds.SpacingBetweenSlices = grid.increment_mm
        ds.PixelSpacing = [grid.pixel_mm, grid.pixel_mm]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [float(grid.xs[0]), float(grid.ys[0]), float(grid.zs[k])]
        ds.SliceLocation = float(grid.zs[k])
        ds.Rows, ds.Columns = stored.shape[1:]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = RESCALE_INTERCEPT, 1.0, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.PixelData = stored[k].tobytes()
        ds.save_as(directory / f"CT{number:04d}.dcm", enforce_file_format=True)


def _affine_lps(grid: _Grid) -> np.ndarray:
    """Voxel ``(column, row, slice, 1)`` → LPS mm, as in :class:`CTVolume`."""
    return np.array([[grid.pixel_mm, 0, 0, grid.xs[0]], [0, grid.pixel_mm, 0, grid.ys[0]],
                     [0, 0, grid.increment_mm, grid.zs[0]], [0, 0, 0, 1.0]])


def _write_anatomy(phantom: Phantom, out_dir: Path) -> tuple[Path, Path]:
    """NIfTI label map (RAS affine, ``(i, j, k)`` = column, row, slice) and its names JSON."""
    import nibabel as nib

    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ _affine_lps(phantom.grid)
    image = nib.Nifti1Image(np.ascontiguousarray(phantom.labels.transpose(2, 1, 0)), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    label_path, names_path = out_dir / "anatomy.nii.gz", out_dir / "anatomy_names.json"
    nib.save(image, label_path)
    names_path.write_text(json.dumps({str(k): v for k, v in phantom.label_names.items()},
                                     indent=2) + "\n")
    return label_path, names_path


def write_phantom(out_dir: Path, *, seed: int = 0, rows: int = 256, columns: int = 256,
                  slices: int = 60, pixel_spacing_mm: float = 0.7,
                  slice_increment_mm: float = 3.0, kvp: int = 120, noise_hu: float = 15.0,
                  anatomy: bool = True) -> Path:
    """Write the synthetic CT phantom as a DICOM series with its ground truth.

    Parameters
    ----------
    out_dir : Path
        Created if needed. Receives ``dicom/`` (one CT Image Storage file per slice),
        ``truth.json`` and, with ``anatomy``, ``anatomy.nii.gz`` + ``anatomy_names.json``.
    seed : int
        Seed of the noise (and of the UIDs): the same arguments give identical files.
    rows, columns, slices : int
        Matrix size.
    pixel_spacing_mm : float
        Square pixel size.
    slice_increment_mm : float
        Distance between slice positions; slices are contiguous (thickness = increment).
    kvp : int
        Written to the KVP tag only (see the module notes).
    noise_hu : float
        Standard deviation of the white Gaussian noise.
    anatomy : bool
        Also write a TotalSegmentator-style label map (``aorta``, ``vertebrae_L1``,
        ``rib_left_10``, …) for typing by anatomy.

    Returns
    -------
    Path
        The ``truth.json`` path.

    Examples
    --------
    >>> import tempfile
    >>> truth = write_phantom(Path(tempfile.mkdtemp()), rows=64, columns=64, slices=8,
    ...                       pixel_spacing_mm=3.0)
    >>> len(list((truth.parent / "dicom").glob("*.dcm")))
    8
    """
    out_dir = Path(out_dir)
    phantom = make_phantom(seed=seed, rows=rows, columns=columns, slices=slices,
                           pixel_spacing_mm=pixel_spacing_mm,
                           slice_increment_mm=slice_increment_mm, noise_hu=noise_hu)
    params = (rows, columns, slices, pixel_spacing_mm, slice_increment_mm, kvp, noise_hu)
    study_uid, series_uid, frame_uid = (_uid(seed, role, *params)
                                        for role in ("study", "series", "frame"))
    _write_series(phantom, out_dir / "dicom", seed=seed, kvp=kvp, study_uid=study_uid,
                  series_uid=series_uid, frame_uid=frame_uid)
    truth: dict = {
        "format": "ectocalc-phantom-truth",
        "version": 1,
        "seed": seed,
        "series": {"dicom_dir": "dicom", "study_instance_uid": study_uid,
                   "series_instance_uid": series_uid, "rows": rows, "columns": columns,
                   "slices": slices, "pixel_spacing_mm": [pixel_spacing_mm, pixel_spacing_mm],
                   "slice_increment_mm": slice_increment_mm,
                   "slice_thickness_mm": slice_increment_mm, "kvp": kvp,
                   "affine_lps": _affine_lps(phantom.grid).tolist()},
        "image_model": {
            "hu_model": "HU = base_hu + density_mg_cm3 / c_ha (120 kVp at every kvp)",
            "c_ha_mg_per_cm3_per_hu": C_HA_MG_PER_CM3_PER_HU,
            "partial_volume": f"{SUPERSAMPLING}x{SUPERSAMPLING} in-plane supersampling; exact "
                              "overlap with a box slice profile along z",
            "psf_fwhm_mm": PSF_FWHM_MM, "noise_sd_hu": noise_hu, "noise": "white Gaussian",
            "background_hu": {"air": AIR_HU, "fat": FAT_HU, "soft_tissue": TISSUE_HU,
                              "insert_resin": RESIN_HU, "aortic_blood": BLOOD_HU,
                              "table": TABLE_HU, "cortical_bone": CORTICAL_HU,
                              "cancellous_bone": CANCELLOUS_HU},
        },
        "objects": [asdict(o) for o in phantom.objects],
        "omitted": phantom.omitted,
    }
    if anatomy:
        label_path, names_path = _write_anatomy(phantom, out_dir)
        truth["anatomy"] = {"labelmap": label_path.name, "names": names_path.name}
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2) + "\n")
    return truth_path
