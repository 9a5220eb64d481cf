"""Noise, DICOM as it comes and lesion-only SEG frames (issue 19 items 3 and 5, issue 23 item 2).

Real scans are read at run time from ``shared/realct`` (never copied here; skipped, saying
so, when absent). Expected answers come from the images (slices viewed in a soft-tissue
window; pixel positions are (row, column) of the stored image):

* ``12_osirix_toutatix_noise_slice`` — gated calcium-score slice, 1.5 mm, 0.49 mm pixels: the
  heart fills rows 160-380, columns 190-350 with grainy myocardium and blood (no
  calcification on this slice);
* ``09_sbu_A046441_coronary_slice`` — 5 mm chest slice: a calcified aortic-valve ring around
  (182, 269), LAD calcifications at (201, 336), (210, 326) and (184, 349), a calcification at
  (207, 287); grainy myocardium elsewhere, e.g. around (241, 288), (244, 311) and (265, 239);
* ``10_*`` / ``11_*`` — single 5 mm slices of one patient: a dense calcified crescent in the
  wall of the descending aorta beside the spine, at (245, 291) and (268, 311);
* ``04_ts_dicom20_blank_uids`` — 20 valid slices whose Series/SOP/Study Instance UIDs are
  present but empty.
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from scipy import ndimage

from ectocalc.datasets import write_phantom
from ectocalc.errors import InputError
from ectocalc.imaging import CTVolume, analyse, load_ct, write_seg
from shared_dir import SHARED

REALCT = SHARED / "realct"


def real(name: str) -> Path:
    path = REALCT / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared real-CT folder is not here)")
    return path


def near_lesion(labels: np.ndarray, row: int, col: int, radius_px: int) -> bool:
    """Whether a lesion voxel of the single slice lies within ``radius_px`` of (row, col)."""
    window = labels[0, row - radius_px:row + radius_px + 1, col - radius_px:col + radius_px + 1]
    return bool(window.any())


def test_gated_slice_without_calcium_scores_no_myocardial_noise() -> None:
    analysis = analyse(load_ct(real("12_osirix_toutatix_noise_slice")))
    heart = analysis.labels[0, 160:380, 190:350]
    assert not heart.any()  # grainy myocardium and blood: nothing scored
    assert analysis.result.excluded["noise"] >= 30  # the specks the threshold alone scored
    assert any("image noise" in w for w in analysis.result.warnings)


def test_real_coronary_and_valve_calcium_survive_the_noise_test() -> None:
    analysis = analyse(load_ct(real("09_sbu_A046441_coronary_slice")))
    labels = analysis.labels
    for row, col in ((182, 269), (201, 336), (210, 326), (184, 349), (207, 287)):
        assert near_lesion(labels, row, col, 3), (row, col)
    for row, col in ((241, 288), (244, 311), (265, 239)):
        assert not near_lesion(labels, row, col, 4), (row, col)


@pytest.mark.parametrize(("name", "row", "col"), [
    ("10_sbu_A048383_aorta_missed_slice", 245, 291),
    ("11_sbu_A048383_aorta_found_slice", 268, 311)])
def test_single_slice_keeps_the_aortic_wall_plaque(name: str, row: int, col: int) -> None:
    analysis = analyse(load_ct(real(name)))
    lesion_id = int(analysis.labels[0, row, col])
    assert lesion_id > 0
    lesion = analysis.result.lesions[lesion_id - 1]
    assert lesion.peak_hu > 900 and lesion.agatston > 100


def test_empty_but_present_uids_are_one_series_with_a_warning() -> None:
    volume = load_ct(real("04_ts_dicom20_blank_uids") / "series")
    assert volume.hu.shape[0] == 20
    assert any("empty SeriesInstanceUID" in w for w in volume.warnings)
    with pytest.raises(InputError, match="ContrastBolusAgent is 'APPLIED'"):
        analyse(volume)  # still refused, for its contrast, not as "truncated"


def test_blank_uids_are_scored_but_get_no_seg_or_sr(tmp_path: Path) -> None:
    from ectocalc.imaging import quantify

    result = quantify(real("04_ts_dicom20_blank_uids") / "series", contrast="ignore",
                      out_dir=tmp_path / "out")
    assert "seg" not in result.outputs and "sr" not in result.outputs
    assert (tmp_path / "out" / "scan.json").exists()
    assert any("SEG and SR not written" in w and "SOPInstanceUID" in w for w in result.warnings)


def test_empty_uids_mixed_with_a_real_series_are_two_series(tmp_path: Path) -> None:
    import pydicom

    write_phantom(tmp_path / "ph", rows=48, columns=48, slices=4, pixel_spacing_mm=3.5,
                  anatomy=False)
    files = sorted((tmp_path / "ph" / "dicom").glob("*.dcm"))
    ds = pydicom.dcmread(files[0])
    ds.SeriesInstanceUID = ""
    ds.save_as(files[0])
    with pytest.raises(InputError, match=r"several CT series found: .*\(empty UID\) \(1 images"):
        load_ct(tmp_path / "ph" / "dicom")


def body_volume(pixel_mm: float, noise_sd: float, *, seed: int = 0,
                slices: int = 3) -> tuple[np.ndarray, CTVolume]:
    """Soft tissue (40 HU) filling an ellipse in air, with noise of SD ``noise_sd`` correlated
    over about a pixel in-plane, as CT noise is (reconstruction kernel)."""
    n = 160
    y, x = np.mgrid[:n, :n]
    inside = ((y - 80) / 70) ** 2 + ((x - 80) / 75) ** 2 <= 1
    hu = np.where(inside, 40.0, -1000.0)[None].repeat(slices, axis=0)
    grain = ndimage.gaussian_filter(np.random.default_rng(seed).normal(0, 1, hu.shape),
                                    sigma=(0, 1, 1))
    hu = hu + grain / grain.std() * noise_sd

    def make(values: np.ndarray) -> CTVolume:
        return CTVolume(hu=np.round(values).astype(np.int16),
                        affine=np.diag([pixel_mm, pixel_mm, 3.0, 1.0]),
                        pixel_spacing_mm=(pixel_mm, pixel_mm), slice_increment_mm=3.0,
                        kvp=120, slice_thickness_mm=3.0)
    return hu, make(hu)


def test_noisy_uniform_tissue_scores_zero() -> None:
    _, volume = body_volume(0.7, 45.0, slices=1)
    # What the threshold and the 1 mm2 rule alone score: 8-connected specks of >= 3 pixels.
    specks, _ = ndimage.label(volume.hu[0] >= 130, structure=np.ones((3, 3)))
    scored = int((np.bincount(specks.ravel())[1:] >= 3).sum())
    assert scored > 5
    result = analyse(volume).result
    assert result.agatston == 0 and result.lesions == []
    assert result.excluded["noise"] == scored


def test_a_three_pixel_plaque_above_the_noise_still_counts() -> None:
    hu, _ = body_volume(0.7, 20.0, seed=3)
    hu[1, 80, 60:63] = 420.0  # 3 pixels of 0.49 mm2: 1.47 mm2, factor 4
    result = analyse(CTVolume(hu=np.round(hu).astype(np.int16),
                              affine=np.diag([0.7, 0.7, 3.0, 1.0]), pixel_spacing_mm=(0.7, 0.7),
                              slice_increment_mm=3.0, kvp=120, slice_thickness_mm=3.0)).result
    assert len(result.lesions) == 1 and result.lesions[0].slices == [1]
    assert result.agatston == pytest.approx(3 * 0.49 * 4, abs=0.01)


def test_coarse_pixels_warn_that_the_size_rule_removes_no_noise() -> None:
    _, volume = body_volume(3.0, 10.0)
    warnings = analyse(volume).result.warnings
    assert any("one voxel (3 x 3 mm" in w and "agatston-1990" in w for w in warnings)
    _, fine = body_volume(0.7, 10.0)
    assert not any("one voxel" in w for w in analyse(fine).result.warnings)


def test_seg_references_only_the_slices_holding_lesions_and_round_trips(
        scan_phantom: Path, tmp_path: Path) -> None:
    volume = load_ct(scan_phantom / "dicom")
    analysis = analyse(volume)
    labels = analysis.labels
    path = write_seg(volume, labels, analysis.result, tmp_path / "seg.dcm")
    seg = hd.seg.segread(path)
    held = np.flatnonzero(labels.any(axis=(1, 2)))
    referenced = {item.ReferencedSOPInstanceUID
                  for series in seg.ReferencedSeriesSequence
                  for item in series.ReferencedInstanceSequence}
    assert referenced == {volume.source_datasets[k].SOPInstanceUID for k in held}
    assert len(held) < volume.hu.shape[0]  # fewer source images than the scan has slices
    segments = list(range(1, seg.number_of_segments + 1))
    pixels = seg.get_pixels_by_source_instance(
        [ds.SOPInstanceUID for ds in volume.source_datasets], segment_numbers=segments,
        assert_missing_frames_are_empty=True, combine_segments=True)
    np.testing.assert_array_equal(pixels > 0, labels > 0)


@pytest.mark.parametrize("touches_padding", [True, False])
def test_a_solid_wall_cut_by_the_reconstruction_circle_is_bone(touches_padding: bool) -> None:
    """A single 5 mm slice whose body is cut by the reconstruction circle (padding -3024 HU
    outside it): a solid 4.8 mm thick, 30 mm long dense wall reaching the circle is a bone cut
    by the field of view (an arm); the same wall inside the body is a calcified wall, scored."""
    n, px = 300, 0.6
    y, x = np.mgrid[:n, :n]
    hu = np.where(((y - 150) / 140) ** 2 + ((x - 150) / 160) ** 2 <= 1, 40.0, -1000.0)
    hu[np.hypot(y - 150, x - 150) > 146] = -3024.0  # outside the reconstruction circle
    start = 247 if touches_padding else 200  # the circle's edge is at column 296 on row 150
    hu[146:154, start:start + 50] = 1000.0
    result = analyse(CTVolume(
        hu=np.round(hu + np.random.default_rng(0).normal(0, 8, hu.shape))[None].astype(np.int16),
        affine=np.diag([px, px, 5.0, 1.0]), pixel_spacing_mm=(px, px), slice_increment_mm=5.0,
        kvp=120, slice_thickness_mm=5.0)).result
    if touches_padding:
        assert result.lesions == []
        assert any("cut by the edge of the field of view" in w for w in result.warnings)
    else:
        assert len(result.lesions) == 1 and result.lesions[0].peak_hu > 950
        assert any("are solid" in w for w in result.warnings)
