"""Agatston, volume and mass against straightforward reference computations."""

from __future__ import annotations

import numpy as np
import pytest
from ct_builders import lesion_volume
from scipy import ndimage

from ectocalc.imaging import (
    CONVENTIONS,
    calibration_factor,
    density_factor,
    factor_thresholds,
    get_convention,
    measure_lesions,
    parse_conventions,
)

AGATSTON = get_convention("agatston-1990")
T120 = (130.0, 200.0, 300.0, 400.0)


def reference_agatston(hu: np.ndarray, *, pixel_mm: tuple[float, float], increment_mm: float,
                       thresholds: tuple[float, ...] = T120) -> float:
    """Textbook Agatston: per slice, 8-connected lesions ≥ 1 mm², area × factor, × inc/3."""
    pixel_area = pixel_mm[0] * pixel_mm[1]
    total = 0.0
    for plane in hu:
        labels, n = ndimage.label(plane >= thresholds[0], structure=np.ones((3, 3)))
        for i in range(1, n + 1):
            lesion = labels == i
            area = lesion.sum() * pixel_area
            if area < 1.0:
                continue
            peak = plane[lesion].max()
            factor = 4 if peak >= thresholds[3] else 3 if peak >= thresholds[2] else \
                2 if peak >= thresholds[1] else 1
            total += area * factor
    return total * increment_mm / 3.0


def score(hu: np.ndarray, *, convention=AGATSTON, pixel_mm=(0.5, 0.5), increment_mm=3.0,
          thickness_mm=None, thresholds=T120, calibration=0.78):
    return measure_lesions(
        hu, hu >= thresholds[0], convention=convention, factor_thresholds_hu=thresholds,
        pixel_spacing_mm=pixel_mm, increment_mm=increment_mm, thickness_mm=thickness_mm,
        affine=np.diag([pixel_mm[1], pixel_mm[0], increment_mm, 1.0]), calibration=calibration)


@pytest.mark.parametrize("increment_mm", [3.0, 1.5, 0.625])
@pytest.mark.parametrize("seed", [3, 4])
def test_agatston_matches_slice_loop_reference(seed: int, increment_mm: float) -> None:
    hu = lesion_volume(seed=seed)
    expected = reference_agatston(hu, pixel_mm=(0.5, 0.5), increment_mm=increment_mm)
    assert expected * 3 / increment_mm > 100  # the synthetic volume really has lesions
    measured = score(hu, increment_mm=increment_mm).total_agatston
    assert measured == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("peak", "factor"), [(129, 0), (130, 1), (199, 1), (200, 2), (299, 2),
                                              (300, 3), (399, 3), (400, 4), (2500, 4)])
def test_factor_boundaries(peak: float, factor: int) -> None:
    assert density_factor(peak, T120) == factor
    hu = np.zeros((1, 8, 8), np.float32)
    hu[0, 2:6, 2:6] = 135.0
    hu[0, 3, 3] = peak
    # 16 pixels of 1 mm² on a 3 mm slice: score = 16 × factor (peak below 130 leaves 15 px).
    expected = 16 * factor if factor else 15 * 1
    assert score(hu, pixel_mm=(1.0, 1.0)).total_agatston == pytest.approx(expected)


def test_minimum_area_is_inclusive_1_mm2_for_agatston_and_exclusive_for_comp2comp() -> None:
    hu = np.zeros((1, 10, 10), np.float32)
    hu[0, 2, 2:6] = 500.0            # exactly 4 pixels of 0.25 mm² = 1 mm²
    hu[0, 7, 2:5] = 500.0            # 0.75 mm²: never a lesion
    assert score(hu).total_agatston == pytest.approx(1.0 * 4)
    comp2comp = score(hu, convention=get_convention("comp2comp"))
    assert comp2comp.total_agatston == 0.0 and comp2comp.count == 0


def test_connectivity_8_vs_4() -> None:
    hu = np.zeros((1, 10, 10), np.float32)
    for k in range(4):                # a diagonal chain: one 8-connected lesion, four 4-connected
        hu[0, 2 + k, 2 + k] = 500.0
    assert score(hu, pixel_mm=(1.0, 1.0)).count == 1
    c4 = score(hu, pixel_mm=(1.0, 1.0), convention=get_convention("comp2comp"))
    assert c4.count == 0              # each 1 mm² piece fails "> 1 mm²"


def test_slice_increment_correction_uses_increment_not_thickness() -> None:
    hu = np.zeros((4, 8, 8), np.float32)
    hu[:, 2:4, 2:4] = 450.0           # 4 mm² per slice, factor 4, four slices
    overlapping = score(hu, pixel_mm=(1.0, 1.0), increment_mm=1.5, thickness_mm=3.0)
    assert overlapping.total_agatston == pytest.approx(4 * 4 * 4 * 1.5 / 3)
    by_thickness = score(hu, pixel_mm=(1.0, 1.0), increment_mm=1.5, thickness_mm=3.0,
                         convention=get_convention("deepcac"))
    assert by_thickness.total_agatston == pytest.approx(4 * 4 * 4 * 3.0 / 3)
    uncorrected = score(hu, pixel_mm=(1.0, 1.0), increment_mm=1.5,
                        convention=get_convention("comp2comp"))
    assert uncorrected.total_agatston == pytest.approx(4 * 4 * 4)


def test_3d_lesion_weighting_uses_3d_peak_for_ai_cac() -> None:
    hu = np.zeros((2, 8, 8), np.float32)
    hu[0, 2:4, 2:4] = 150.0           # slice 0 alone: factor 1
    hu[1, 2:4, 2:4] = 450.0           # slice 1: factor 4
    slice_weighted = score(hu, pixel_mm=(1.0, 1.0))
    assert slice_weighted.total_agatston == pytest.approx(4 * 1 + 4 * 4)
    assert slice_weighted.count == 1  # one 3D lesion across both slices
    lesion_weighted = score(hu, pixel_mm=(1.0, 1.0), convention=get_convention("ai-cac"))
    assert lesion_weighted.total_agatston == pytest.approx((4 + 4) * 4)


@pytest.mark.parametrize(("kvp", "row"), [(70, (207, 318, 477, 636)), (80, (177, 271, 408, 544)),
                                          (100, (145, 222, 334, 446)),
                                          (120, (130, 200, 300, 400)),
                                          (135, (119, 183, 274, 364))])
def test_grani_2018_thresholds(kvp: int, row: tuple[int, ...]) -> None:
    thresholds, used, warning = factor_thresholds(kvp)
    assert thresholds == row and used == kvp and warning is None


def test_kvp_outside_table_uses_nearest_and_unknown_assumes_120() -> None:
    thresholds, used, warning = factor_thresholds(140)
    assert used == 135 and thresholds[0] == 119 and "nearest" in warning
    assert factor_thresholds(90)[1] == 80       # tie 80/100 resolves to the lower voltage
    thresholds, used, warning = factor_thresholds(None)
    assert used == 120 and "unknown" in warning


def test_kvp_thresholds_change_the_score() -> None:
    hu = np.zeros((1, 8, 8), np.float32)
    hu[0, 2:4, 2:4] = 210.0
    at_120 = score(hu, pixel_mm=(1.0, 1.0)).total_agatston
    at_100 = score(hu, pixel_mm=(1.0, 1.0), thresholds=factor_thresholds(100)[0]).total_agatston
    at_70 = score(hu, pixel_mm=(1.0, 1.0), thresholds=factor_thresholds(70)[0]).total_agatston
    assert (at_120, at_100, at_70) == (8.0, 4.0, 4.0)


def test_volume_mass_peak_and_centroid() -> None:
    hu = np.zeros((3, 10, 10), np.float32)
    hu[1, 4:6, 4:7] = [[300, 500, 300], [200, 600, 250]]
    m = score(hu, pixel_mm=(0.5, 0.5), increment_mm=2.0, calibration=0.8)
    voxel = 0.5 * 0.5 * 2.0
    assert m.count == 1
    assert m.volume_mm3[0] == pytest.approx(6 * voxel)
    assert m.mass_mg[0] == pytest.approx(0.8 * voxel * 2150 / 1000)
    assert m.peak_hu[0] == 600
    assert m.centroid_index[0] == pytest.approx([1, 4.5, 5])
    # Farthest voxel centres are (4,4) and (5,6): sqrt(0.5² + 1²) mm, plus one pixel.
    assert m.max_diameter_mm[0] == pytest.approx(np.hypot(0.5, 1.0) + 0.5)


def test_calibration_from_rod_and_water() -> None:
    rng = np.random.default_rng(0)
    hu = np.concatenate([rng.normal(256.4, 5, 500), rng.normal(0, 5, 500)])
    rod = np.arange(1000) < 500
    assert calibration_factor(hu, rod=rod, water=~rod) == pytest.approx(0.78, rel=0.01)
    with pytest.raises(ValueError, match="not denser"):
        calibration_factor(hu, rod=~rod, water=rod)


def test_convention_registry() -> None:
    assert {"agatston-1990", "comp2comp", "ai-cac", "van-velzen"} <= set(CONVENTIONS)
    assert [c.name for c in parse_conventions("all")] == list(CONVENTIONS)
    with pytest.raises(KeyError, match="unknown convention"):
        parse_conventions("agatston-2000")
