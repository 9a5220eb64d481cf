"""The optimised paths give the results of the straightforward computations they replace.

The references below are the plain whole-volume implementations the pipeline used before it
was made slab-wise and sparse (bench/README.md); the optimised code must match them voxel for
voxel, and the phantom's lesions must stay those recorded with the plain pipeline.
"""

from __future__ import annotations

from pathlib import Path

import cc3d
import numpy as np
import pydicom
import pytest
from ct_builders import write_series
from scipy import ndimage

from ectocalc.imaging import (
    BoneParameters,
    analyse,
    body_mask,
    bone_mask,
    find_opacified_lumen,
    get_convention,
    is_bone_like,
    kept_lesions,
    label_in_plane,
    load_ct,
)
from ectocalc.imaging._components import (  # white-box: the private toolkit itself
    ball as make_ball,
)
from ectocalc.imaging._components import (
    deep_voxels,
    dilate,
)

SPACING = (3.0, 0.7, 0.7)
DEFAULT_BONE = BoneParameters()


# --- straightforward references (the former implementations) -------------------------------

def ref_fill_slices(mask: np.ndarray) -> np.ndarray:
    filled = mask.copy()
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        background, n = ndimage.label(~mask[k])
        edge = np.concatenate([background[0], background[-1], background[:, 0],
                               background[:, -1]])
        enclosed = np.ones(n + 1, dtype=bool)
        enclosed[edge] = False
        enclosed[0] = False
        filled[k] |= enclosed[background]
    return filled


def ref_body_mask(hu: np.ndarray) -> np.ndarray:
    tissue = hu > -300
    if not tissue.any():
        return np.zeros(hu.shape, dtype=bool)
    return ref_fill_slices(cc3d.largest_k(tissue, k=1, connectivity=6) > 0)


def ref_is_bone_like(hu, component, *, spacing_mm, params=DEFAULT_BONE) -> bool:
    volume = component.sum() * float(np.prod(spacing_mm))
    if volume < params.min_volume_mm3:
        return False
    if volume >= params.always_bone_mm3:
        return True
    filled = ref_fill_slices(component)
    if (filled.sum() - component.sum()) >= params.cavity_fraction * filled.sum():
        return True
    core = ndimage.distance_transform_edt(component, sampling=spacing_mm) >= params.core_depth_mm
    if core.sum() < 0.05 * component.sum():
        return False
    return bool(np.median(hu[core]) < params.core_ratio * np.percentile(hu[component], 90))


def ref_bone_mask(hu, *, threshold_hu, spacing_mm, body, params=DEFAULT_BONE) -> np.ndarray:
    dense = (hu >= threshold_hu) & body
    bone = np.zeros(hu.shape, dtype=bool)
    if not dense.any():
        return bone
    labels = cc3d.connected_components(dense, connectivity=26)
    stats = cc3d.statistics(labels)
    voxel = float(np.prod(spacing_mm))
    ball = make_ball(params.margin_mm, spacing_mm)
    for label in np.flatnonzero(stats["voxel_counts"] * voxel >= params.min_volume_mm3):
        if label == 0:
            continue
        box = stats["bounding_boxes"][label]
        component = labels[box] == label
        if not ref_is_bone_like(hu[box], component, spacing_mm=spacing_mm, params=params):
            continue
        local = np.zeros(hu.shape, dtype=bool)
        local[box] = ref_fill_slices(component)
        bone |= ndimage.binary_dilation(local, structure=ball)
    return bone


def ref_lumen_candidates(hu, *, body, bone) -> np.ndarray | None:
    band = ndimage.binary_erosion((hu >= 150) & (hu <= 500) & body & ~bone)
    if not band.any():
        return None
    return cc3d.largest_k(band, k=1, connectivity=6) > 0


def ref_kept_lesions(candidates, *, convention, pixel_spacing_mm, increment_mm):
    """Former kept_lesions: whole-slice 2D labels, whole-volume 3D labels."""
    pixel_area = pixel_spacing_mm[0] * pixel_spacing_mm[1]
    unit = {"mm2": pixel_area, "mm3": pixel_area * increment_mm, "voxels": 1.0}
    flat = np.flatnonzero(candidates)
    structure = ndimage.generate_binary_structure(2, 1 if convention.connectivity == 4 else 2)
    if convention.dims == 2:
        plane = candidates.shape[1] * candidates.shape[2]
        pieces = np.empty(len(flat), dtype=np.int64)
        n_pieces = 0
        for k in np.unique(flat // plane):
            on = (flat // plane) == k
            labels, count = ndimage.label(candidates[k], structure=structure)
            pieces[on] = labels.ravel()[flat[on] - k * plane] + n_pieces
            n_pieces += count
        connectivity = 26
    else:
        labelled, n_pieces = cc3d.connected_components(
            candidates, connectivity=convention.connectivity, return_N=True)
        pieces = labelled.ravel()[flat].astype(np.int64)
        connectivity = convention.connectivity
    counts = np.bincount(pieces, minlength=n_pieces + 1) * unit[convention.min_size_unit]
    keep = counts >= convention.min_size if convention.min_inclusive else \
        counts > convention.min_size
    flat, pieces = flat[keep[pieces]], pieces[keep[pieces]]
    kept = np.zeros(candidates.shape, dtype=bool)
    kept.ravel()[flat] = True
    lesions = cc3d.connected_components(kept, connectivity=connectivity)
    return lesions.astype(np.int32), flat, pieces


# --- synthetic volumes ---------------------------------------------------------------------

def trunk_with_bone(seed: int, slices: int = 40) -> np.ndarray:
    """A noisy trunk over several slabs: lung, table, vertebra, rib, nodules and plaques."""
    rng = np.random.default_rng(seed)
    shape = (slices, 96, 96)
    hu = np.full(shape, -1000.0)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    inside = ((x - 48) / 40) ** 2 + ((y - 44) / 32) ** 2 <= 1
    hu[inside] = 40 + rng.normal(0, 12, inside.sum())
    hu[:, 30:40, 25:40] = -850.0                     # lung
    hu[:, 84:87, 5:91] = 500.0                       # table
    r = np.hypot((x - 48) / 16, (y - 55) / 13)
    hu[r <= 1] = 900.0                               # vertebra: cortex ...
    hu[r <= 0.85] = 250.0                            # ... around a cancellous core
    rib = (np.hypot(y - 20, x - 70) <= 9) & (np.hypot(y - 20, x - 70) >= 6) & (z % 13 < 9)
    hu[rib] = 1000.0
    for _ in range(12):                              # small calcifications
        c = rng.integers([1, 10, 10], [slices - 2, 80, 86])
        hu[c[0]:c[0] + rng.integers(1, 3), c[1]:c[1] + rng.integers(1, 5),
           c[2]:c[2] + rng.integers(1, 5)] = rng.uniform(140, 900)
    return hu


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masks_match_the_plain_whole_volume_computations(seed: int) -> None:
    hu = trunk_with_bone(seed)
    body = body_mask(hu)
    assert np.array_equal(body, ref_body_mask(hu))
    bone = bone_mask(hu, threshold_hu=130, spacing_mm=SPACING, body=body)
    assert bone.any()
    assert np.array_equal(bone, ref_bone_mask(hu, threshold_hu=130, spacing_mm=SPACING,
                                              body=body))
    # Lumen: the plain scan has none; without the bone mask the cores are band voxels.
    for mask in (bone, np.zeros_like(bone)):
        ref = ref_lumen_candidates(hu, body=body, bone=mask)
        found = find_opacified_lumen(hu, spacing_mm=SPACING, body=body, bone=mask,
                                     min_volume_mm3=0.0, max_std_hu=1e9, max_rim_hu=1e9)
        assert (ref is None) == (found is None)
        if ref is not None:
            assert np.array_equal(found.mask, ref)


def test_bone_rules_match_the_reference_on_solid_and_hollow_components() -> None:
    _, y, x = np.mgrid[:10, :40, :40]
    r = np.hypot(y - 20, x - 20)
    for component, hu in [(r <= 12, np.where(r <= 12, 900.0 - 10 * r, 40.0)),
                          ((r <= 12) & (r >= 8), np.where(r <= 12, 1000.0, -50.0))]:
        for params in (DEFAULT_BONE, BoneParameters(always_bone_mm3=1e9, cavity_fraction=1.0)):
            for spacing in [(1.0, 1.0, 1.0), (1.0, 0.4, 0.4), (3.0, 0.7, 0.7)]:
                assert is_bone_like(hu, component, spacing_mm=spacing, params=params) == \
                    ref_is_bone_like(hu, component, spacing_mm=spacing, params=params)


def test_morphology_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    for spacing in [(1.0, 0.4, 0.4), (3.0, 0.7, 0.7), (0.625, 0.488281, 0.488281),
                    (1.0, 1.0, 1.0), (0.5, 0.3, 0.3)]:
        ball = make_ball(2.0, spacing)
        for _ in range(10):
            shape = tuple(int(v) for v in rng.integers(1, 24, 3))
            sparse = rng.random(shape) < 0.05
            assert np.array_equal(dilate(sparse, ball),
                                  ndimage.binary_dilation(sparse, structure=ball))
            solid = ndimage.binary_opening(rng.random(shape) < 0.8)
            assert np.array_equal(
                deep_voxels(solid, spacing_mm=spacing, depth_mm=2.0),
                ndimage.distance_transform_edt(solid, sampling=spacing) >= 2.0)


@pytest.mark.parametrize("name", ["agatston-1990", "comp2comp", "ai-cac"])
def test_lesion_labels_match_whole_volume_labelling(name: str) -> None:
    convention = get_convention(name)
    hu = trunk_with_bone(7, slices=20)
    candidates = (hu >= 130) & ref_body_mask(hu)
    lesions, n, flat, pieces = kept_lesions(candidates, convention=convention,
                                            pixel_spacing_mm=(0.7, 0.7), increment_mm=3.0)
    ref_lesions, ref_flat, ref_pieces = ref_kept_lesions(
        candidates, convention=convention, pixel_spacing_mm=(0.7, 0.7), increment_mm=3.0)
    assert n > 3
    assert np.array_equal(lesions, ref_lesions)
    assert np.array_equal(flat, ref_flat) and np.array_equal(pieces, ref_pieces)
    m = candidates[:3]
    assert label_in_plane(m, np.flatnonzero(m), connectivity=8)[1] > 0


# Lesions of the bundled phantom as the plain (pre-optimisation) pipeline found them:
# (id, volume mm3, Agatston, mass mg, type).
PHANTOM_LESIONS = [
    (1, 44.1, 58.8, 16.916, "cutaneous"), (2, 726.18, 484.12, 134.847, "soft_tissue"),
    (3, 301.35, 401.8, 78.291, "soft_tissue"), (4, 194.04, 184.24, 43.614, "soft_tissue"),
    (5, 236.67, 315.56, 84.533, "soft_tissue"), (6, 113.19, 80.85, 18.496, "soft_tissue"),
    (7, 41.16, 54.88, 17.929, "soft_tissue"), (8, 27.93, 27.93, 4.753, "soft_tissue"),
    (9, 33.81, 45.08, 9.248, "soft_tissue"), (10, 276.36, 311.64, 75.699, "soft_tissue"),
    (11, 113.19, 124.46, 45.667, "cutaneous"), (12, 793.8, 1058.4, 360.907, "soft_tissue"),
    (13, 20.58, 27.44, 5.86, "cutaneous"),
]


def test_phantom_lesions_are_those_of_the_plain_pipeline(scan_phantom: Path) -> None:
    volume = load_ct(scan_phantom / "dicom")
    analysis = analyse(volume)
    found = [(x.id, x.volume_mm3, x.agatston, x.mass_mg, x.type)
             for x in analysis.result.lesions]
    assert found == PHANTOM_LESIONS
    assert analysis.result.agatston == pytest.approx(3175.2, abs=1e-9)
    # The label map is the plain one: lesions of the reference masks, labelled whole-volume.
    spacing = (volume.slice_increment_mm, *volume.pixel_spacing_mm)
    body = ref_body_mask(volume.hu)
    assert np.array_equal(body_mask(volume.hu), body)
    bone = ref_bone_mask(volume.hu, threshold_hu=130, spacing_mm=spacing, body=body)
    candidates = (volume.hu >= 130) & body & ~bone
    ref_lesions, _, _ = ref_kept_lesions(candidates, convention=get_convention("agatston-1990"),
                                         pixel_spacing_mm=volume.pixel_spacing_mm,
                                         increment_mm=volume.slice_increment_mm)
    assert analysis.labels.dtype == np.uint16
    assert np.array_equal(analysis.labels, ref_lesions)


@pytest.mark.parametrize(("signed", "bits", "slope", "intercept"), [
    (0, 12, 1, -1024), (0, 16, 1, -1024), (1, 16, 1, 0), (1, 12, 1, 0), (0, 12, 2, -2048),
    (0, 16, 1, 0),
])
def test_native_pixel_reading_matches_pydicom(tmp_path: Path, signed: int, bits: int,
                                              slope: int, intercept: int) -> None:
    rng = np.random.default_rng(bits + slope)
    hu = rng.integers(-1000, 1500, (5, 12, 10)).astype(float)
    folder = write_series(tmp_path, hu)
    for path in folder.iterdir():  # re-encode each slice with the parameters under test
        ds = pydicom.dcmread(path)
        # Any 16-bit words: above BitsStored they are junk that pydicom clears/sign-extends.
        ds.PixelData = rng.integers(0, 2**16, (12, 10), dtype=np.uint16).tobytes()
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, signed
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.save_as(path)
    volume = load_ct(folder)
    files = sorted(folder.iterdir(), key=lambda p: float(
        pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2]))
    expected = np.stack([pydicom.pixels.apply_rescale(pydicom.dcmread(p).pixel_array,
                                                      pydicom.dcmread(p)) for p in files])
    assert np.array_equal(volume.hu, expected)
    fits = expected.min() >= -32768 and expected.max() <= 32767
    assert volume.hu.dtype == (np.int16 if fits else np.float32)
