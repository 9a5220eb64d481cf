"""Body mask, map-free bone exclusion and contrast detection on synthetic volumes."""

from __future__ import annotations

import numpy as np
import pytest

from ectocalc.errors import InputError
from ectocalc.imaging import (
    BoneParameters,
    CTVolume,
    analyse,
    body_mask,
    bone_mask,
    find_opacified_lumen,
    is_bone_like,
)

SPACING = (3.0, 0.7, 0.7)


def trunk(shape: tuple[int, int, int] = (16, 96, 96), *, seed: int = 0) -> np.ndarray:
    """Air around an elliptical soft-tissue trunk with noise, and a table below it."""
    rng = np.random.default_rng(seed)
    hu = np.full(shape, -1000.0)
    _, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    inside = ((x - 48) / 40) ** 2 + ((y - 44) / 32) ** 2 <= 1
    hu[inside] = 40 + rng.normal(0, 12, inside.sum())
    hu[:, 84:87, 5:91] = 500.0         # table
    return hu


def volume_of(hu: np.ndarray, **kwargs) -> CTVolume:
    return CTVolume(hu=hu.astype(np.float32), affine=np.diag([0.7, 0.7, 3.0, 1.0]),
                    pixel_spacing_mm=(0.7, 0.7), slice_increment_mm=3.0, kvp=120,
                    slice_thickness_mm=3.0, source="synthetic", **kwargs)


def add_vertebra(hu: np.ndarray) -> None:
    _, y, x = np.mgrid[: hu.shape[0], : hu.shape[1], : hu.shape[2]]
    r = np.hypot((x - 48) / 16, (y - 55) / 13)
    hu[r <= 1] = 900.0
    hu[r <= 0.85] = 250.0              # cancellous core inside a cortical shell


def test_body_mask_drops_table_and_keeps_lungs() -> None:
    hu = trunk()
    hu[:, 30:40, 30:40] = -850.0       # lung inside the body
    body = body_mask(hu)
    assert body[5, 35, 35] and body[5, 44, 48]
    assert not body[5, 85, 48] and not body[5, 2, 2]


def test_bone_mask_finds_vertebra_not_calcifications() -> None:
    hu = trunk()
    add_vertebra(hu)
    hu[6:9, 20:26, 60:66] = 800.0      # a dense calcified nodule 4 x 4 x 9 mm
    hu[4:12, 30:32, 20:40] = 400.0     # an elongated plaque-like deposit
    bone = bone_mask(hu, threshold_hu=130, spacing_mm=SPACING, body=body_mask(hu))
    assert bone[8, 55, 48] and bone[8, 55, 33]                  # core and cortex
    assert not bone[7, 22, 62] and not bone[8, 31, 30]


def test_bone_like_rules() -> None:
    _, y, x = np.mgrid[:10, :40, :40]
    r = np.hypot(y - 20, x - 20)
    rod = r <= 12
    solid = np.where(rod, 900.0 - 10 * r, 40.0)
    assert not is_bone_like(solid, rod, spacing_mm=(1.0, 1.0, 1.0))
    small = BoneParameters(always_bone_mm3=1000.0)
    assert is_bone_like(solid, rod, spacing_mm=(1.0, 1.0, 1.0), params=small)
    tiny = r <= 3
    assert not is_bone_like(np.where(tiny, 300.0, 40.0), tiny, spacing_mm=(1.0, 1.0, 1.0))


def enhanced(hu: np.ndarray, *, lumen_hu: float = 330.0) -> np.ndarray:
    _, y, x = np.mgrid[: hu.shape[0], : hu.shape[1], : hu.shape[2]]
    aorta = np.hypot(y - 35, x - 60) <= 12
    out = hu.copy()
    out[aorta] = lumen_hu + np.random.default_rng(5).normal(0, 15, aorta.sum())
    return out


def test_opacified_lumen_found_but_not_in_plain_scan_or_bone() -> None:
    hu = trunk()
    add_vertebra(hu)
    body = body_mask(hu)
    bone = bone_mask(hu, threshold_hu=130, spacing_mm=SPACING, body=body)
    assert find_opacified_lumen(hu, spacing_mm=SPACING, body=body, bone=bone) is None
    # Without the bone mask the cancellous core is in the band but sits inside dense cortex.
    assert find_opacified_lumen(hu, spacing_mm=SPACING, body=body,
                                bone=np.zeros_like(bone)) is None
    contrast = enhanced(hu)
    lumen = find_opacified_lumen(contrast, spacing_mm=SPACING, body=body, bone=bone)
    assert lumen is not None and lumen.mean_hu == pytest.approx(330, abs=10)


def test_contrast_scan_refused_or_scored_with_lumen_threshold() -> None:
    hu = enhanced(trunk())
    hu[7, 30:33, 50:53] = 900.0        # a calcified plaque denser than the lumen
    with pytest.raises(InputError, match="contrast-enhanced CT") as error:
        analyse(volume_of(hu))
    assert error.value.field == "image"
    lumen = analyse(volume_of(hu), contrast="lumen").result
    assert 330 + 2 * 15 < lumen.threshold_hu < 330 + 5 * 15
    assert len(lumen.lesions) == 1 and lumen.lesions[0].peak_hu == pytest.approx(900)
    assert any("lumen-relative" in w for w in lumen.warnings)
    ignored = analyse(volume_of(hu), contrast="ignore").result
    # Scored at the plain threshold (the long opacified lumen itself is set aside by the
    # anatomy model as a long dense structure outside any aortic section it can recognise).
    assert ignored.threshold_hu == 130 and any("--contrast ignore" in w for w in ignored.warnings)


def test_contrast_tag_alone_is_refused() -> None:
    with pytest.raises(InputError, match="ContrastBolusAgent is 'IOHEXOL'") as error:
        analyse(volume_of(trunk(), contrast_agent="IOHEXOL"))
    assert error.value.field == "ContrastBolusAgent"


def test_plain_scan_has_no_false_positives_from_noise_table_or_bone() -> None:
    hu = trunk()
    add_vertebra(hu)
    result = analyse(volume_of(hu)).result
    assert result.lesions == [] and result.agatston == 0.0


def test_coarse_grid_masks_agree_with_full_resolution() -> None:
    hu = trunk()
    add_vertebra(hu)
    hu[6:9, 20:26, 60:66] = 800.0
    fine = bone_mask(hu, threshold_hu=130, spacing_mm=SPACING, body=body_mask(hu))
    coarse_body = body_mask(hu, step=2)
    coarse = bone_mask(hu, threshold_hu=130, spacing_mm=SPACING, body=coarse_body, step=2)
    assert coarse.shape == fine.shape == coarse_body.shape
    # The vertebra is found either way (the coarse outline may differ by a pixel or two).
    assert (coarse & fine).sum() > 0.9 * fine.sum()
    assert not coarse[7, 22, 62]
    assert abs(int(coarse_body.sum()) - int(body_mask(hu).sum())) < 0.03 * body_mask(hu).sum()
