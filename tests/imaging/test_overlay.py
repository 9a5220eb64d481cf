"""PNG overlays: files, size and aspect, factor and type colours at lesion pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ectocalc.imaging import CTVolume
from ectocalc.imaging.writers.overlay import (
    FACTOR_COLOURS,
    FOOTER_PX,
    HEADER_PX,
    TYPE_COLOURS,
    axial_mip,
    display_size,
    factor_map,
    peak_slices,
    write_overlays,
)
from ectocalc.model.scan import Lesion, ScanResult

THRESHOLDS = (130.0, 200.0, 300.0, 400.0)
ROWS, COLS, SLICES, SPACING = 40, 80, 6, (0.5, 1.0)  # non-square pixels: aspect must follow
# Lesion id → (slice, row, col, peak HU, type): one per density factor.
BLOBS = {1: (1, 10, 10, 150.0, "vascular"), 2: (1, 10, 40, 250.0, "cutaneous"),
         3: (2, 30, 20, 350.0, "soft_tissue"), 4: (4, 25, 60, 900.0, "vascular")}


@pytest.fixture(scope="module")
def case() -> tuple[CTVolume, np.ndarray, ScanResult]:
    hu = np.full((SLICES, ROWS, COLS), 40.0, dtype=np.float32)
    labels = np.zeros(hu.shape, dtype=np.int32)
    lesions = []
    for lesion_id, (k, r, c, peak, kind) in BLOBS.items():
        hu[k, r - 2:r + 3, c - 2:c + 3] = peak - 10
        hu[k, r, c] = peak
        labels[k, r - 2:r + 3, c - 2:c + 3] = lesion_id
        lesions.append(Lesion(id=lesion_id, centroid_mm=(c, r * 0.5, k * 3.0), volume_mm3=37.5,
                              mass_mg=1.0, peak_hu=peak, agatston=float(lesion_id), type=kind,
                              slices=[k]))
    volume = CTVolume(hu=hu, affine=np.diag([SPACING[1], SPACING[0], 3.0, 1.0]),
                      pixel_spacing_mm=SPACING, slice_increment_mm=3.0)
    result = ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
                        slice_increment_mm=3.0, pixel_spacing_mm=SPACING,
                        calibration_mg_per_cm3_per_hu=0.78, agatston=10.0, volume_mm3=150.0,
                        mass_mg=4.0, lesions=lesions)
    return volume, labels, result


def pixel(image: Image.Image, row: int, col: int) -> tuple[int, int, int]:
    """Colour at the centre of source pixel (row, col) of the displayed image."""
    width, height = image.size[0], image.size[1] - HEADER_PX - FOOTER_PX
    x = int((col + 0.5) * width / COLS)
    y = HEADER_PX + int((row + 0.5) * height / ROWS)
    return image.getpixel((x, y))


def test_display_size_keeps_aspect() -> None:
    assert display_size((ROWS, COLS), SPACING, target=800) == (800, 200)
    assert display_size((512, 512), (0.7, 0.7)) == (768, 768)


def test_factor_map_uses_in_slice_peak() -> None:
    hu = np.array([[135.0, 210.0, 0.0, 305.0, 1000.0]])
    labels = np.array([[1, 1, 0, 2, 3]])
    assert factor_map(hu, labels, THRESHOLDS).tolist() == [[2, 2, 0, 3, 4]]


def test_peak_slices(case: tuple) -> None:
    volume, labels, _ = case
    labels = labels.copy()
    labels[3, 25, 60] = 4  # a dimmer voxel of lesion 4 on another slice
    assert peak_slices(volume, labels, [1, 2, 3, 4]) == {1: 1, 2: 1, 3: 2, 4: 4}
    assert peak_slices(volume, labels, [2]) == {2: 1}


def test_axial_mip_keeps_brightest_lesion(case: tuple) -> None:
    volume, labels, _ = case
    mip, lesion = axial_mip(volume, labels)
    assert mip[25, 60] == 900.0 and lesion[25, 60] == 4
    assert mip[0, 0] == 40.0 and lesion[0, 0] == 0


def test_overlays_written_with_colours(case: tuple, tmp_path: Path) -> None:
    volume, labels, result = case
    paths = write_overlays(volume, labels, result, tmp_path, factor_thresholds_hu=THRESHOLDS)
    # Lesions 1 and 2 share slice 1: one image for them, one each for slices 2 and 4, one MIP.
    assert [p.name for p in paths] == ["slice_002.png", "slice_003.png", "slice_005.png",
                                       "mip_axial.png"]
    width, height = display_size((ROWS, COLS), SPACING)
    images = {p.name: Image.open(p).convert("RGB") for p in paths}
    for image in images.values():
        assert image.size == (width, height + HEADER_PX + FOOTER_PX)
    first = images["slice_002.png"]
    assert pixel(first, 10, 10) == FACTOR_COLOURS[1]
    assert pixel(first, 10, 40) == FACTOR_COLOURS[2]
    assert pixel(images["slice_003.png"], 30, 20) == FACTOR_COLOURS[3]
    assert pixel(images["slice_005.png"], 25, 60) == FACTOR_COLOURS[4]
    # Background is grey (soft-tissue window: 40 HU → mid grey).
    r, g, b = pixel(first, 35, 75)
    assert r == g == b and 120 <= r <= 136
    mip = images["mip_axial.png"]
    for lesion_id, (_, row, col, _, kind) in BLOBS.items():
        assert pixel(mip, row, col) == TYPE_COLOURS[kind], lesion_id


def test_image_count_is_capped(case: tuple, tmp_path: Path) -> None:
    volume, labels, result = case
    paths = write_overlays(volume, labels, result, tmp_path, factor_thresholds_hu=THRESHOLDS,
                           max_images=1)
    # The slice with the largest Agatston sum (lesion 4) is kept, plus the MIP.
    assert [p.name for p in paths] == ["slice_005.png", "mip_axial.png"]


def test_no_lesions_no_images(case: tuple, tmp_path: Path) -> None:
    volume, labels, result = case
    empty = result.model_copy(update={"lesions": []})
    assert write_overlays(volume, np.zeros_like(labels), empty, tmp_path,
                          factor_thresholds_hu=THRESHOLDS) == []
    assert list(tmp_path.iterdir()) == []
