"""The run-based masks (``imaging/_runs.py``) give exactly what whole-volume labelling gives.

The references are the plain computations the run-based code replaced: ``cc3d`` labels of
the whole volume, ``ndimage`` hole filling and erosion. Each run-based function is compared
with its reference on phantoms, random blobs and edge cases, and the whole ``analyse`` is run
twice — as shipped, and with the run-based steps swapped for the references — and must give
the same scan JSON and the same lesion map byte for byte.
"""

from __future__ import annotations

import cc3d
import numpy as np
import pytest
from scipy import ndimage

from ectocalc.datasets import make_phantom
from ectocalc.errors import InputError
from ectocalc.imaging import CTVolume, analyse, body_mask, find_opacified_lumen
from ectocalc.imaging import _runs as runs_module  # white-box: the private run toolkit
from ectocalc.imaging import detect as detect_module
from ectocalc.imaging._components import dilate
from ectocalc.imaging._runs import (
    FlatComponents,
    dense_components,
    flat_of_runs,
    label_runs,
    largest_eroded,
    runs_of_flat,
    threshold_runs,
)

# --- the plain references ------------------------------------------------------------------


def ref_fill(mask: np.ndarray) -> np.ndarray:
    return np.stack([ndimage.binary_fill_holes(s) for s in mask]) if mask.size else mask


def ref_body(hu: np.ndarray, *, threshold_hu: float = -300.0) -> np.ndarray:
    tissue = hu > threshold_hu
    if not tissue.any():
        return np.zeros(hu.shape, dtype=bool)
    return ref_fill(cc3d.largest_k(tissue, k=1, connectivity=6) > 0)


def ref_dense_components(hu, *, threshold_hu, body, connectivity) -> FlatComponents:
    mask = hu >= threshold_hu
    if body is not None:
        mask &= body
    labels, n = cc3d.connected_components(np.pad(mask, 1), connectivity=connectivity,
                                          return_N=True)
    labels = labels[1:-1, 1:-1, 1:-1]
    flat = np.flatnonzero(mask)
    of_voxel = labels.ravel()[flat].astype(np.int64)
    sizes = np.bincount(of_voxel, minlength=n + 1)
    sizes[0] = 0
    return FlatComponents(flat=flat, nodes=np.arange(1, len(flat) + 1),
                          component=np.concatenate([[0], of_voxel]), sizes=sizes)


def ref_largest_eroded(flat, shape, *, voxel_mm3, min_volume_mm3):
    mask = np.zeros(shape, dtype=bool)
    mask.ravel()[flat] = True
    eroded = ndimage.binary_erosion(mask)
    total = int(eroded.sum())
    if total == 0 or total * voxel_mm3 < min_volume_mm3:
        return None
    return cc3d.largest_k(np.pad(eroded, 1), k=1, connectivity=6)[1:-1, 1:-1, 1:-1] > 0


def swap_in_references(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``analyse`` use the plain references instead of the run-based steps."""
    monkeypatch.setattr(detect_module, "body_mask_runs", ref_body)
    monkeypatch.setattr(detect_module, "dense_components", ref_dense_components)
    monkeypatch.setattr(detect_module, "largest_eroded", ref_largest_eroded)


# --- volumes -------------------------------------------------------------------------------


def blobs(seed: int, shape=(9, 23, 19), density: float = 0.5) -> np.ndarray:
    """Random smooth blobs in HU: tissue, holes, dense specks, masks touching every border."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=shape), 1.2)
    hu = np.where(field > np.quantile(field, 1 - density), 60.0, -900.0)
    specks = rng.random(shape) < 0.08
    hu[specks] = rng.uniform(100, 900, specks.sum())
    return hu


EDGE_CASES = {
    "empty": np.full((3, 5, 6), -1000.0),
    "all tissue": np.full((3, 5, 6), 300.0),
    "one slice": blobs(7, shape=(1, 17, 15)),
    "one row": blobs(8, shape=(6, 1, 30)),
    "one column": blobs(9, shape=(6, 30, 1)),
    "runs wrapping rows": np.tile(np.array([-1000.0, 200.0, 200.0]), (4, 6, 2)),
    "ring with a hole": np.where(np.hypot(*np.mgrid[:11, :11] - 5.0) < 4.5, 200.0, -1000.0)
    [None].repeat(3, axis=0) - 1200.0 * (np.hypot(*np.mgrid[:11, :11] - 5.0) < 2)[None],
}
VOLUMES = {**{f"blobs {seed}": blobs(seed, density=d)
              for seed, d in enumerate((0.2, 0.45, 0.7, 0.9))}, **EDGE_CASES}


def runs_volume(runs) -> np.ndarray:
    out = np.zeros(runs.shape, dtype=bool)
    out.ravel()[flat_of_runs(runs)] = True
    return out


# --- the functions one by one --------------------------------------------------------------


@pytest.mark.parametrize("name", VOLUMES)
def test_runs_round_trip_and_label_like_cc3d(name: str) -> None:
    hu = VOLUMES[name]
    mask = hu >= 130
    runs = threshold_runs(hu, low=130)
    assert np.array_equal(runs_volume(runs), mask)
    again = runs_of_flat(np.flatnonzero(mask), hu.shape)
    for a, b in zip((runs.row, runs.x0, runs.x1), (again.row, again.x0, again.x1), strict=True):
        assert np.array_equal(a, b)
    band = threshold_runs(hu, low=150, high=500)
    assert np.array_equal(runs_volume(band), (hu >= 150) & (hu <= 500))
    for connectivity in (6, 26):
        component, n = label_runs(runs, connectivity=connectivity)
        labels = np.zeros(hu.size, dtype=np.int64)
        labels[flat_of_runs(runs)] = np.repeat(component, runs.lengths)
        ref, ref_n = cc3d.connected_components(np.pad(mask, 1), connectivity=connectivity,
                                               return_N=True)
        assert n == ref_n
        assert np.array_equal(labels.reshape(hu.shape), ref[1:-1, 1:-1, 1:-1])


@pytest.mark.parametrize("name", VOLUMES)
def test_masks_match_whole_volume_labelling(name: str) -> None:
    hu = VOLUMES[name]
    body = body_mask(hu)
    assert np.array_equal(body, ref_body(hu))
    for inside in (None, body):
        found = dense_components(hu, threshold_hu=130, body=inside, connectivity=26)
        ref = ref_dense_components(hu, threshold_hu=130, body=inside, connectivity=26)
        assert np.array_equal(found.flat, ref.flat)
        assert np.array_equal(found.component[found.nodes], ref.component[ref.nodes])
        assert np.array_equal(found.sizes, ref.sizes)
    flat = np.flatnonzero((hu >= 50) & (hu <= 500))
    for minimum in (0.0, 5.0, 1e9):
        found = largest_eroded(flat, hu.shape, voxel_mm3=1.0, min_volume_mm3=minimum)
        ref = ref_largest_eroded(flat, hu.shape, voxel_mm3=1.0, min_volume_mm3=minimum)
        assert (found is None) == (ref is None)
        if ref is not None:
            assert np.array_equal(found, ref)


def test_tied_largest_components_pick_the_first_in_raster_order_like_cc3d() -> None:
    hu = np.full((40, 12, 12), -1000.0)
    hu[30:38, 1:4, 1:4] = 400.0                      # 72 voxels, later
    hu[2:10, 6:9, 6:9] = 400.0                       # 72 voxels, first in raster order
    body = body_mask(hu)
    assert np.array_equal(body, ref_body(hu))
    assert body[5, 7, 7] and not body[33, 2, 2]
    flat = np.flatnonzero(hu > 0)
    largest = largest_eroded(flat, hu.shape, voxel_mm3=1.0, min_volume_mm3=1.0)
    assert np.array_equal(largest, ref_largest_eroded(flat, hu.shape, voxel_mm3=1.0,
                                                      min_volume_mm3=1.0))
    assert largest[5, 7, 7] and not largest[33, 2, 2]


def test_dilation_groups_slice_offsets_by_row_profile_exactly() -> None:
    """Ball-like structures share the in-plane dilation of +dz and -dz; a structure that is
    only point-symmetric (tilted) must not, and must still match scipy."""
    rng = np.random.default_rng(6)
    tilted = np.zeros((3, 3, 5), dtype=bool)
    tilted[1, :, 1:4] = True
    tilted[0, 0, 2] = tilted[2, 2, 2] = True          # (dz, dy) = (-1, -1) and (1, 1)
    tilted[0, 1, :] = tilted[2, 1, :] = True
    for structure in (tilted, np.ones((3, 1, 3), dtype=bool)):
        for _ in range(5):
            mask = rng.random(tuple(int(v) for v in rng.integers(1, 15, 3))) < 0.1
            assert np.array_equal(dilate(mask, structure),
                                  ndimage.binary_dilation(mask, structure=structure))


def test_lumen_search_on_a_band_too_large_for_the_shortcut() -> None:
    """The eroded band is searched on its runs; a fine grid (no dense shortcut) too."""
    rng = np.random.default_rng(5)
    hu = rng.normal(40, 15, (24, 48, 48))
    _, y, x = np.mgrid[:24, :48, :48]
    hu[np.hypot(y - 20, x - 22) < 7] += 300          # enhanced aorta
    hu[rng.random(hu.shape) < 0.03] = 260.0          # scattered band voxels
    body = np.ones(hu.shape, dtype=bool)
    bone = np.zeros(hu.shape, dtype=bool)
    bone[:, 40:] = True
    lumen = find_opacified_lumen(hu, spacing_mm=(1.0, 0.5, 0.5), body=body, bone=bone,
                                 min_volume_mm3=0.0, max_std_hu=1e9, min_rim_hu=-1e9,
                                 max_rim_hu=1e9)
    band = (hu >= 150) & (hu <= 500) & body & ~bone
    ref = cc3d.largest_k(ndimage.binary_erosion(band), k=1, connectivity=6) > 0
    assert lumen is not None and np.array_equal(lumen.mask, ref)


# --- the whole analysis --------------------------------------------------------------------


def trunk(seed: int, *, lumen: bool = False) -> np.ndarray:
    """A noisy trunk: lung, table, vertebra, rib, small calcifications; optionally an
    opacified vessel."""
    rng = np.random.default_rng(seed)
    shape = (30, 96, 96)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    hu = np.full(shape, -1000.0)
    inside = ((x - 48) / 40) ** 2 + ((y - 44) / 32) ** 2 <= 1
    hu[inside] = 40 + rng.normal(0, 12, inside.sum())
    hu[:, 30:40, 25:40] = -850.0
    hu[:, 84:87, 5:91] = 500.0
    r = np.hypot((x - 48) / 16, (y - 55) / 13)
    hu[r <= 1] = 900.0
    hu[r <= 0.85] = 250.0
    for _ in range(12):
        c = rng.integers([1, 10, 10], [shape[0] - 2, 80, 86])
        hu[c[0]:c[0] + rng.integers(1, 3), c[1]:c[1] + rng.integers(1, 5),
           c[2]:c[2] + rng.integers(1, 5)] = rng.uniform(140, 900)
    if lumen:
        vessel = (np.hypot(y - 62, x - 72) < 7) & (z > 1) & (z < shape[0] - 2)
        hu[vessel] = 330 + rng.normal(0, 10, vessel.sum())
    return hu


def volume_of(hu: np.ndarray, pixel_mm: float, increment_mm: float) -> CTVolume:
    return CTVolume(hu=hu, affine=np.diag([pixel_mm, pixel_mm, increment_mm, 1.0]),
                    pixel_spacing_mm=(pixel_mm, pixel_mm), slice_increment_mm=increment_mm,
                    kvp=120)


def outcome(volume: CTVolume, **options) -> tuple[str, bytes]:
    try:
        analysis = analyse(volume, **options)
    except InputError as error:
        return str(error), b""
    return analysis.result.model_dump_json(), analysis.labels.tobytes()


PHANTOM = make_phantom(slices=24)
CASES = {
    "phantom": (volume_of(PHANTOM.hu, 0.7, 3.0), {}),
    "phantom with anatomy": (volume_of(PHANTOM.hu, 0.7, 3.0),
                             {"anatomy": PHANTOM.labels, "names": PHANTOM.label_names}),
    "phantom int16, fine grid": (volume_of(np.round(PHANTOM.hu).astype(np.int16), 0.3, 1.0),
                                 {}),
    **{f"trunk {s}": (volume_of(trunk(s), 0.7, 3.0), {}) for s in range(2)},
    **{f"contrast, {policy}": (volume_of(trunk(3, lumen=True), 0.7, 3.0), {"contrast": policy})
       for policy in ("refuse", "lumen", "ignore")},
    "contrast, fine grid": (volume_of(trunk(4, lumen=True).repeat(2, 1).repeat(2, 2), 0.3, 4.0),
                            {"contrast": "lumen"}),
    "blobs": (volume_of(blobs(11, shape=(12, 40, 40)), 0.7, 3.0), {}),
    "empty": (volume_of(EDGE_CASES["empty"], 0.7, 3.0), {}),
}


@pytest.mark.parametrize("name", CASES)
def test_analysis_is_byte_identical_to_the_reference_pipeline(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    volume, options = CASES[name]
    shipped = outcome(volume, **options)
    if name.startswith("contrast"):  # these exercise the lumen search to the end
        assert "opacified lumen was found" in shipped[0]
    swap_in_references(monkeypatch)
    assert detect_module.body_mask_runs is not runs_module.body_mask_runs
    assert outcome(volume, **options) == shipped
