"""Reading CT series: real pydicom test series, zip, NIfTI, and every refusal."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from ct_builders import CT2, CT5N, write_series
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, RLELossless

from ectocalc.errors import InputError
from ectocalc.imaging import load_ct, load_label_map, series_geometry


def test_ct5n_real_series_loads_sorted_with_geometry() -> None:
    volume = load_ct(CT5N)
    assert volume.hu.shape == (5, 16, 16)
    assert volume.hu.dtype == np.int16
    assert volume.slice_increment_mm == pytest.approx(2.5)
    assert volume.slice_thickness_mm == pytest.approx(2.5)
    assert volume.pixel_spacing_mm == pytest.approx((0.488281, 0.488281))
    assert volume.kvp == 120 and volume.kernel == "STANDARD"
    assert volume.contrast_agent is None
    # Files run from z = 8.7625 down to -1.2375; the volume is sorted ascending.
    zs = [float(ds.ImagePositionPatient[2]) for ds in volume.source_datasets]
    assert zs == pytest.approx([-1.2375, 1.2625, 3.7625, 6.2625, 8.7625])
    assert volume.index_to_lps(np.array([[4, 0, 0]]))[0] == pytest.approx([-72.2, -143, 8.7625])
    first = pydicom.dcmread(sorted(CT5N.iterdir())[-1])  # file 3353 holds z = -1.2375
    expected = pydicom.pixels.apply_rescale(first.pixel_array, first)
    assert np.array_equal(volume.hu[0], expected)
    assert (volume.hu.min(), volume.hu.max()) == (-888, 85)
    assert all("PixelData" not in ds for ds in volume.source_datasets)


def test_ct2_gap_of_202_mm_is_refused_naming_the_gap() -> None:
    with pytest.raises(InputError) as error:
        load_ct(CT2)
    assert error.value.field == "ImagePositionPatient"
    assert "202.50 mm" in str(error.value) and "1.25 mm" in str(error.value)
    assert error.value.source.endswith("17136")


def test_several_series_are_refused_listing_the_uids(tmp_path: Path) -> None:
    hu = np.zeros((3, 8, 8))
    write_series(tmp_path, hu, series_uid="1.2.3.1", prefix="A")
    write_series(tmp_path, hu, series_uid="1.2.3.2", prefix="B")
    with pytest.raises(InputError, match=r"1\.2\.3\.1 \(3 images\), 1\.2\.3\.2 \(3 images\)"):
        load_ct(tmp_path)


def test_dose_screenshot_series_beside_the_ct_is_ignored(tmp_path: Path) -> None:
    write_series(tmp_path, np.zeros((3, 8, 8)), series_uid="1.2.3.1", prefix="A")
    write_series(tmp_path, np.zeros((1, 8, 8)), series_uid="1.2.3.9", prefix="DOSE")
    dose = next(tmp_path.glob("DOSE*"))
    ds = pydicom.dcmread(dose)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture, Modality still CT
    ds.save_as(dose)
    volume = load_ct(tmp_path)
    assert volume.hu.shape == (3, 8, 8)
    assert any("not CT images" in w and "1.2.3.9" in w for w in volume.warnings)


def test_zip_and_nested_folder_read_like_the_folder(tmp_path: Path) -> None:
    hu = np.random.default_rng(0).integers(-1000, 1500, (4, 12, 10)).astype(float)
    folder = write_series(tmp_path / "a" / "nested", hu)
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in folder.iterdir():
            z.write(p, f"dicom/{p.name}")
    from_folder, from_zip = load_ct(tmp_path / "a"), load_ct(archive)
    assert np.array_equal(from_folder.hu, hu)
    assert np.array_equal(from_zip.hu, hu)
    assert np.allclose(from_zip.affine, from_folder.affine)
    assert from_folder.affine[:3, 3] == pytest.approx([-10, -10, 0])


def test_non_dicom_files_beside_the_series_are_skipped_with_a_warning(tmp_path: Path) -> None:
    write_series(tmp_path, np.zeros((3, 8, 8)))
    (tmp_path / "notes.txt").write_text("hello")
    volume = load_ct(tmp_path)
    assert volume.hu.shape == (3, 8, 8)
    assert any("skipped 1 non-DICOM" in w for w in volume.warnings)


def test_compressed_series_decodes(tmp_path: Path) -> None:
    hu = np.random.default_rng(1).integers(-1000, 2000, (3, 16, 16)).astype(float)
    folder = write_series(tmp_path, hu)
    for path in folder.iterdir():
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(path)
    assert pydicom.dcmread(next(folder.iterdir())).file_meta.TransferSyntaxUID == RLELossless
    assert np.array_equal(load_ct(folder).hu, hu)


@pytest.mark.parametrize(
    ("case", "field", "words"),
    [
        ("modality", "Modality", "no CT image series found"),
        ("tilt", "ImagePositionPatient", "gantry tilt"),
        ("missing", "ImagePositionPatient", "slice gap of 6.00 mm"),
        ("undecodable", "TransferSyntaxUID", "JPEG Baseline"),
        ("no_pixels", "PixelData", "missing"),
        ("no_position", "ImagePositionPatient", "missing"),
        ("spacing", "PixelSpacing", "differs"),
        ("not_dicom", "", "no DICOM files found"),
        ("truncated_header", "SeriesInstanceUID", "truncated"),
        ("truncated_pixels", "TransferSyntaxUID", "cannot decode pixel data"),
    ],
)
def test_bad_series_are_refused_naming_file_and_tag(tmp_path: Path, case: str, field: str,
                                                    words: str) -> None:
    make_bad_series(tmp_path, case)
    with pytest.raises(InputError) as error:
        load_ct(tmp_path)
    assert error.value.field == field
    assert words in str(error.value)
    assert str(tmp_path) in error.value.source


def make_bad_series(directory: Path, case: str) -> Path:
    """A small series broken in one way (shared with the CLI tests)."""
    hu = np.zeros((4, 8, 8))
    if case == "not_dicom":
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "image.png").write_bytes(b"\x89PNG not really")
        return directory
    write_series(directory, hu, modality="MR" if case == "modality" else "CT",
                 drift_mm_per_slice=1.0 if case == "tilt" else 0.0,
                 skip=(2,) if case == "missing" else ())
    victim = sorted(directory.iterdir())[0]
    if case.startswith("truncated"):
        data = victim.read_bytes()
        victim.write_bytes(data[:400] if case == "truncated_header" else data[:-60])
        return directory
    ds = pydicom.dcmread(victim)
    if case == "undecodable":
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PixelData = encapsulate([b"\xff\xd8 not a jpeg \xff\xd9"])
    elif case == "no_pixels":
        del ds.PixelData
    elif case == "no_position":
        del ds.ImagePositionPatient
    elif case == "spacing":
        ds.PixelSpacing = [0.7, 0.7]
    ds.save_as(victim)
    return directory


def test_series_geometry_refuses_duplicates_and_handles_oblique_orientation() -> None:
    orientation = np.array([1, 0, 0, 0, 1, 0.0])
    with pytest.raises(InputError, match="duplicate"):
        series_geometry(orientation, np.array([[0, 0, 0], [0, 0, 0.0]]), (1.0, 1.0))
    # A coronal series: normal = row x column = (1,0,0) x (0,0,-1) = (0, 1, 0).
    coronal = np.array([1, 0, 0, 0, 0, -1.0])
    positions = np.array([[0, 4.0, 0], [0, 0.0, 0], [0, 2.0, 0]])
    order, affine, increment = series_geometry(coronal, positions, (0.5, 0.8))
    assert order.tolist() == [1, 2, 0] and increment == 2.0
    assert affine[:3, :3] == pytest.approx(np.array([[0.8, 0, 0], [0, 0, 2], [0, -0.5, 0]]))


def test_non_axial_series_is_flagged(tmp_path: Path) -> None:
    folder = write_series(tmp_path, np.zeros((3, 8, 8)))
    for path in folder.iterdir():
        ds = pydicom.dcmread(path)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]  # coronal
        ds.ImagePositionPatient = [0.0, 3.0 * ds.InstanceNumber, 0.0]
        ds.save_as(path)
    volume = load_ct(folder)
    assert volume.slice_increment_mm == pytest.approx(3.0)
    assert any("not axial" in w for w in volume.warnings)
    assert not any("not axial" in w for w in load_ct(CT5N).warnings)


def test_single_file_reads_as_one_slice(tmp_path: Path) -> None:
    write_series(tmp_path, np.full((1, 6, 6), 55.0))
    volume = load_ct(next(tmp_path.iterdir()))
    assert volume.hu.shape == (1, 6, 6) and volume.slice_increment_mm == 3.0
    assert any("single-slice" in w for w in volume.warnings)


def test_nifti_matches_dicom_voxels_and_geometry(tmp_path: Path) -> None:
    hu = np.random.default_rng(2).integers(-1000, 1500, (5, 12, 10)).astype(np.int16)
    dicom = load_ct(write_series(tmp_path / "dicom", hu.astype(float), pixel_mm=0.7))
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ dicom.affine
    # Store it RAS-canonical (i → right), as most converters do: flip columns and rows.
    data = hu.transpose(2, 1, 0)[::-1, ::-1, :]
    flip = np.eye(4)
    flip[0, 0], flip[0, 3], flip[1, 1], flip[1, 3] = -1, 9, -1, 11
    nib.save(nib.Nifti1Image(np.ascontiguousarray(data), ras @ flip), tmp_path / "ct.nii.gz")
    nifti = load_ct(tmp_path / "ct.nii.gz")
    assert np.array_equal(nifti.hu, dicom.hu)
    assert np.allclose(nifti.affine, dicom.affine)
    assert nifti.pixel_spacing_mm == pytest.approx(dicom.pixel_spacing_mm)
    assert nifti.slice_increment_mm == pytest.approx(3.0)
    assert nifti.kvp is None and any("kVp" in w for w in nifti.warnings)


def test_label_map_must_cover_the_ct(tmp_path: Path) -> None:
    volume = load_ct(write_series(tmp_path / "dicom", np.zeros((4, 8, 8))))
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ volume.affine
    names = tmp_path / "names.json"
    names.write_text('{"1": "aorta"}')
    small = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 2), np.uint8), ras), small)
    with pytest.raises(InputError, match="does not cover the CT") as error:
        load_label_map(small, volume, names_path=names)
    assert error.value.source == str(small)
    same = tmp_path / "same.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 4), np.uint8), ras), same)
    labels, read_names = load_label_map(same, volume, names_path=names)
    assert labels.shape == (4, 8, 8) and labels.all() and read_names == {1: "aorta"}
    with pytest.raises(InputError, match=r"needs NAMES\.json"):
        load_label_map(same, volume)
