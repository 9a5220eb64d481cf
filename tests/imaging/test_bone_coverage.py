"""Bone and objects outside the patient on thick, short and cropped scans (issue 11 item 3).

Synthetic scans of each kind: a 5 mm head CT on a head holder, a three-slice slab through
the face, a single abdominal slice whose ribs are cut by the field of view, and a head holder
lying against the scalp. Bone and positioning aids must not be scored; a real calcification
in the same scan must be.
"""

from __future__ import annotations

import numpy as np
import pytest

from ectocalc.imaging import CTVolume, analyse

PX = 0.5


def volume(hu: np.ndarray, increment: float) -> CTVolume:
    noisy = hu + np.random.default_rng(0).normal(0, 8, hu.shape)
    return CTVolume(hu=np.round(noisy).astype(np.int16),
                    affine=np.diag([PX, PX, increment, 1.0]), pixel_spacing_mm=(PX, PX),
                    slice_increment_mm=increment, kvp=120, slice_thickness_mm=increment)


def ellipse(shape: tuple[int, int], centre: tuple[float, float], axes: tuple[float, float]
            ) -> np.ndarray:
    """In-plane ellipse (mm) on a PX grid: True inside."""
    y, x = np.mgrid[: shape[0], : shape[1]] * PX
    return ((y - centre[0]) / axes[0]) ** 2 + ((x - centre[1]) / axes[1]) ** 2 <= 1


def head_slice(n: int, scale: float, holder: str | None) -> np.ndarray:
    """One axial head slice: 6 mm scalp, skull (tables 1200 HU, diploe 500 HU), brain."""
    c = n * PX / 2
    hu = np.full((n, n), -1000.0)
    for axes_mm, value in ((0, 30.0), (6, 1200.0), (8, 500.0), (10, 1200.0), (12, 35.0)):
        hu[ellipse(hu.shape, (c, c), (90 * scale - axes_mm, 75 * scale - axes_mm))] = value
    y, x = np.mgrid[:n, :n] * PX
    r = np.hypot((y - c) / (90 * scale), (x - c) / (75 * scale))
    if holder == "apart":  # a U-shaped holder 6 mm behind the head, and the table
        hu[(r * 90 * scale >= 90 * scale + 6) & (r * 90 * scale <= 90 * scale + 9)
           & (y > c)] = 250.0
        hu[-8:-4, :] = 400.0
    elif holder == "touching":  # a 2 mm pad lying on the back of the scalp
        hu[(r >= 1) & (r * 90 * scale <= 90 * scale + 2) & (y > c + 20)] = 250.0
    return hu


def test_five_mm_head_ct_on_a_holder_scores_only_the_scalp_nodule() -> None:
    n, slices = 420, 24
    hu = np.stack([head_slice(n, np.sqrt(max(1 - ((k - 12) * 5 / 100) ** 2, 0.05)), "apart")
                   for k in range(slices)])
    hu[12, 208:213, 63:68] = 600.0  # a calcified nodule in the scalp (2.5 mm, 1.5 mm deep)
    result = analyse(volume(hu, 5.0)).result
    assert [lesion.slices for lesion in result.lesions] == [[12]]
    assert result.lesions[0].type == "cutaneous" and result.lesions[0].peak_hu > 500
    assert not any("covers only" in w for w in result.warnings)


def test_three_slice_face_slab_excludes_the_cut_bones_with_a_warning() -> None:
    n = 400
    hu = np.full((3, n, n), -1000.0)
    face = ellipse((n, n), (100, 100), (80, 70))
    hu[:, face] = 30.0
    for cx in (75.0, 125.0):  # maxilla-like plates: homogeneous 720 HU, cut by the slab
        hu[:, ellipse((n, n), (70, cx), (22, 6))] = 720.0
    hu[1, 250:256, 200:206] = 450.0  # a small calcification deep in the soft tissue
    result = analyse(volume(hu, 5.0)).result
    assert len(result.lesions) == 1 and result.lesions[0].peak_hu > 400
    assert result.lesions[0].volume_mm3 < 50
    assert any("covers only 15 mm" in w and "2 large dense region(s)" in w
               for w in result.warnings)


def test_single_abdominal_slice_excludes_ribs_cut_by_the_field_of_view() -> None:
    n = 360  # 180 mm field of view: the body (axes 85 x 100 mm) is cut at both sides
    hu = np.full((1, n, n), -1000.0)
    body = ellipse((n, n), (90, 90), (85, 100))
    hu[0, body] = 40.0
    for cy, cx in ((40.0, 12.0), (40.0, 168.0), (20.0, 60.0), (20.0, 120.0), (90.0, 4.0)):
        rib = ellipse((n, n), (cy, cx), (6, 9))
        hu[0, rib] = 900.0
        hu[0, ellipse((n, n), (cy, cx), (3, 6))] = 300.0  # marrow
    hu[0, 200:205, 176:181] = 500.0  # aortic wall calcification (2.5 mm)
    result = analyse(volume(hu, 5.0)).result
    assert len(result.lesions) == 1 and result.lesions[0].peak_hu > 450
    assert any("covers only 5 mm" in w for w in result.warnings)


@pytest.mark.parametrize("contrast", ["refuse", "ignore"])
def test_head_holder_against_the_scalp_is_neither_lumen_nor_calcium(contrast: str) -> None:
    n, slices = 420, 12
    hu = np.stack([head_slice(n, 1.0, "touching") for _ in range(slices)])
    result = analyse(volume(hu, 5.0), contrast=contrast).result
    assert result.lesions == [] and result.agatston == 0
    assert any("lying on the body surface" in w for w in result.warnings)
