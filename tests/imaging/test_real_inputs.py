"""Inputs as real scanners, exports and archives produce them (issues 10 and 11).

Each kind is built here with pydicom/nibabel, and the real examples in ``../shared/cases/real``
are checked too when that folder is present.
"""

from __future__ import annotations

import gzip
import json
import os
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from ct_builders import write_series
from pydicom import config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ectocalc.imaging import load_ct, quantify
from shared_dir import REAL

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"{REAL} not present")


def trunk_hu(slices: int = 4, size: int = 48) -> np.ndarray:
    """Air around a soft-tissue disc holding one small calcification (400 HU)."""
    hu = np.full((slices, size, size), -1000.0)
    _, y, x = np.mgrid[:slices, :size, :size]
    hu[(y - size / 2) ** 2 + (x - size / 2) ** 2 <= (size / 2 - 4) ** 2] = 40.0
    hu[1:3, 20:24, 20:24] = 400.0
    return hu


def series(tmp_path: Path, **kwargs) -> Path:
    return write_series(tmp_path / "ct", trunk_hu(), pixel_mm=1.0, **kwargs)


def edit(folder: Path, change, *, first_only: bool = False) -> Path:
    """Apply ``change(ds)`` to the files of a series (all, or the first by name) and save."""
    files = sorted(folder.iterdir())
    for path in files[:1] if first_only else files:
        ds = pydicom.dcmread(path)
        change(ds)
        with config.disable_value_validation():
            ds.save_as(path)
    return folder


def refused(run_cli, path: Path, *words: str) -> str:
    result = run_cli("scan", path, "--format", "json")
    assert result.code == 2, result.stderr
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    for word in words:
        assert word in result.stderr
    return result.stderr


def non_image(path: Path, sop_class: str, *, series_uid: str | None) -> None:
    """A DICOM object that is not an image (directory record, presentation state, SR, KOS)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    if series_uid is not None:  # a directory record has no series at all
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.Modality = series_uid, "PR"
    ds.save_as(path, enforce_file_format=True)


# --- 1. series folders as exported ----------------------------------------------------------

def test_non_image_objects_in_the_series_folder_are_ignored(tmp_path: Path) -> None:
    folder = series(tmp_path)
    non_image(folder / "DIRFILE", "1.2.840.10008.1.3.10", series_uid=None)
    for name, sop in (("PS", "1.2.840.10008.5.1.4.1.1.11.1"),
                      ("SR", "1.2.840.10008.5.1.4.1.1.88.33"),
                      ("KOS", "1.2.840.10008.5.1.4.1.1.88.59")):
        non_image(folder / name, sop, series_uid=generate_uid())
    volume = load_ct(folder)
    assert volume.hu.shape == (4, 48, 48)
    warning = next(w for w in volume.warnings if "not images" in w)
    assert "ignored 4 DICOM object(s)" in warning and "Media Storage Directory Storage" in warning


def test_localizer_only_folder_is_refused_in_one_line(run_cli, tmp_path: Path) -> None:
    folder = edit(series(tmp_path), lambda ds: setattr(
        ds, "ImageType", ["ORIGINAL", "PRIMARY", "LOCALIZER"]))
    refused(run_cli, folder, "ImageType", "no axial CT series")


@needs_real
def test_real_philips_export_with_dirfile_is_scored() -> None:
    folder = REAL / "01_philips_dirfile" / "min"
    assert load_ct(folder).hu.shape == (3, 512, 512)
    result = quantify(folder)  # a 15 mm slab of a 5 mm head CT: facial bones, a head holder
    assert any("Media Storage Directory Storage (DIRFILE)" in w for w in result.warnings)
    assert any("covers only 15 mm" in w for w in result.warnings)
    assert result.lesions == [] and result.agatston == 0


@needs_real
def test_real_localizer_only_exits_2(run_cli) -> None:
    refused(run_cli, REAL / "02_localizer_only", "I10", "ImageType", "no axial CT series")


# --- 2. values that are not HU, and what the writers need -----------------------------------

@pytest.mark.parametrize("tag", ["RescaleSlope", "RescaleIntercept"])
def test_ct_without_rescale_is_refused_naming_the_tag(run_cli, tmp_path: Path, tag: str) -> None:
    refused(run_cli, edit(series(tmp_path), lambda ds: delattr(ds, tag)), tag, "missing")


@pytest.mark.parametrize(("tag", "value"), [("RescaleSlope", "1e30"), ("RescaleSlope", "NaN"),
                                            ("RescaleSlope", "0"), ("RescaleIntercept", "nan")])
def test_absurd_rescale_is_refused(run_cli, tmp_path: Path, tag: str, value: str) -> None:
    refused(run_cli, edit(series(tmp_path), lambda ds: setattr(ds, tag, value)), tag)


def test_ct_without_air_is_flagged_as_maybe_not_hu(tmp_path: Path) -> None:
    folder = edit(series(tmp_path), lambda ds: setattr(ds, "RescaleIntercept", "0"))
    volume = load_ct(folder)  # stored values 24..1424: the -1024 intercept was lost
    assert int(volume.hu.min()) == 24
    assert any("may not be Hounsfield units" in w for w in volume.warnings)
    assert not any("Hounsfield" in w for w in load_ct(series(tmp_path / "b")).warnings)


def nifti(path: Path, data: np.ndarray, *, affine: np.ndarray | None = None,
          slope: float | None = None) -> Path:
    image = nib.Nifti1Image(data, np.diag([-1.0, -1.0, 3.0, 1.0]) if affine is None else affine)
    if slope is not None:
        image.header.set_slope_inter(slope, 0)
    nib.save(image, path)
    return path


@pytest.mark.parametrize(("kind", "tag"), [("mri", "scl_slope"), ("uint8", "datatype"),
                                           ("slope", "scl_slope")])
def test_niftis_that_are_not_ct_in_hu_are_refused(run_cli, tmp_path: Path, kind: str,
                                                   tag: str) -> None:
    rng = np.random.default_rng(0)
    data = {"mri": rng.uniform(0, 255, (8, 8, 4)).astype(np.float32),
            "uint8": rng.integers(0, 255, (8, 8, 4)).astype(np.uint8)}.get(
        kind, np.full((8, 8, 4), -1000, np.int16))
    path = nifti(tmp_path / "x.nii.gz", data, slope=1e30 if kind == "slope" else None)
    refused(run_cli, path, "x.nii.gz", tag)


@pytest.mark.parametrize(("kind", "tag"), [("zero_pixdim", "pixdim"), ("nan_affine", "sform")])
def test_nifti_without_a_usable_grid_is_refused(run_cli, tmp_path: Path, kind: str,
                                                tag: str) -> None:
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int16)
    header.set_data_shape((8, 8, 4))
    if kind == "zero_pixdim":
        header["pixdim"][1:4] = [0.0, 1.0, 3.0]
    else:
        header["pixdim"][1:4] = [1.0, 1.0, 3.0]
        header["srow_x"], header["sform_code"] = [np.nan, 0, 0, 0], 1
    path = tmp_path / "x.nii"
    path.write_bytes(header.binaryblock + bytes(4) + np.full((4, 8, 8), -1000, "<i2").tobytes())
    refused(run_cli, path, "x.nii", tag)


@pytest.mark.parametrize("kind", ["header_only", "truncated_gzip"])
def test_broken_nifti_files_are_refused(run_cli, tmp_path: Path, kind: str) -> None:
    path = nifti(tmp_path / "x.nii", np.full((16, 16, 8), -1000, np.int16))
    raw = path.read_bytes()
    if kind == "header_only":
        path.write_bytes(raw[:352])
    else:
        path = tmp_path / "x.nii.gz"
        path.write_bytes(gzip.compress(raw)[:-200])
    refused(run_cli, path, str(path.name))


def test_lossy_compressed_images_are_flagged(tmp_path: Path) -> None:
    folder = edit(series(tmp_path), lambda ds: setattr(ds, "LossyImageCompression", "01"))
    assert any("lossy compression can create or remove calcium" in w
               for w in load_ct(folder).warnings)


@needs_real
def test_real_lossy_j2k_slice_is_flagged_and_differs_from_the_lossless_copy() -> None:
    lossy = quantify(REAL / "06_lossy_j2k_no_warning" / "693_UNCI.dcm")
    lossless = quantify(REAL / "06_lossy_j2k_no_warning" / "693_UNCR.dcm")
    assert any("LossyImageCompression 01" in w for w in lossy.warnings)
    assert not any("Lossy" in w for w in lossless.warnings)
    # The pixels differ; a head slice holds only skull, which is not scored either way.
    assert (load_ct(REAL / "06_lossy_j2k_no_warning" / "693_UNCI.dcm").hu
            != load_ct(REAL / "06_lossy_j2k_no_warning" / "693_UNCR.dcm").hu).any()
    assert lossy.agatston == lossless.agatston == 0
    assert lossy.excluded["bone"] >= 1 and lossless.anatomy.heart_in_field is False


TYPE_2 = ("PatientBirthDate", "SliceThickness", "KVP", "AccessionNumber")


def test_missing_type2_attributes_do_not_stop_seg_and_sr(tmp_path: Path) -> None:
    folder = edit(series(tmp_path), lambda ds: [delattr(ds, t) for t in TYPE_2 if t in ds])
    result = quantify(folder, out_dir=tmp_path / "out")
    assert {"seg", "sr", "csv", "json"} <= set(result.outputs)
    warning = next(w for w in result.warnings if "Type 2" in w)
    for tag in TYPE_2:
        assert tag in warning
    seg = pydicom.dcmread(result.outputs["seg"])
    assert seg.PatientBirthDate == "" and seg.AccessionNumber == ""
    assert pydicom.dcmread(result.outputs["sr"]).PatientBirthDate == ""


@needs_real
def test_real_slice_without_slice_thickness_gets_its_sr(tmp_path: Path) -> None:
    result = quantify(REAL / "07_single_slice_no_sliceThickness_sr", out_dir=tmp_path / "o")
    assert {"seg", "sr"} <= set(result.outputs)
    assert any("SliceThickness" in w and "Type 2" in w for w in result.warnings)
    assert pydicom.dcmread(result.outputs["sr"]).Modality == "SR"
    # A contrast abdomen (PANCREAS_0001) without ContrastBolusAgent: one slice cannot show it.
    assert any(w.startswith("contrast could not be checked") for w in result.warnings)


@pytest.mark.parametrize(("slices", "warned"), [(4, True), (30, False)])
def test_too_short_to_check_contrast_says_so(tmp_path: Path, slices: int, warned: bool) -> None:
    """Few slices (12 mm) cannot hold the opacified lumen the image check looks for: the scan is
    scored with a warning; 90 mm can, and a plain scan then needs no warning."""
    hu = np.full((slices, 64, 64), -1000.0)
    hu[:, 8:56, 8:56] = 40.0                      # a body of soft tissue
    hu[:, 30:33, 30:33] = 400.0                   # a small calcification
    result = quantify(write_series(tmp_path / "ct", hu, pixel_mm=0.8, increment_mm=3.0))
    assert any(w.startswith("contrast could not be checked") for w in result.warnings) is warned


# --- issue 10: impossible values, one line naming file and tag -------------------------------

BAD_HEADERS = {
    "spacing_zero": ("PixelSpacing", lambda ds: setattr(ds, "PixelSpacing", [0, 0])),
    "spacing_one_value": ("PixelSpacing", lambda ds: setattr(ds, "PixelSpacing", [0.5])),
    "spacing_tiny": ("PixelSpacing", lambda ds: setattr(ds, "PixelSpacing", [1e-6, 1e-6])),
    "position_nan": ("ImagePositionPatient",
                     lambda ds: setattr(ds, "ImagePositionPatient", ["nan", 0, 0])),
    "orientation_5": ("ImageOrientationPatient",
                      lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0, 1])),
    "kvp_text": ("KVP", lambda ds: ds.add_new(0x00180060, "LO", "abc")),
    "kvp_nan": ("KVP", lambda ds: setattr(ds, "KVP", "NaN")),
    "rows_short": ("Rows", lambda ds: setattr(ds, "Rows", ds.Rows - 1)),
    "rows_huge": ("Rows", lambda ds: setattr(ds, "Rows", 5000)),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_impossible_header_values_exit_2_naming_file_and_tag(run_cli, tmp_path: Path,
                                                              case: str) -> None:
    tag, change = BAD_HEADERS[case]
    folder = edit(series(tmp_path), change)
    message = refused(run_cli, folder, tag)
    assert str(folder) in message


def test_zip_member_with_more_pixels_than_rows_is_refused(run_cli, tmp_path: Path) -> None:
    folder = edit(series(tmp_path), BAD_HEADERS["rows_short"][1])
    archive_path = tmp_path / "short.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    refused(run_cli, archive_path, "short.zip!", "Rows")


def test_zip_damage_and_bombs_are_refused(run_cli, tmp_path: Path) -> None:
    folder = series(tmp_path)
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    raw = bytearray(good.read_bytes())
    info = zipfile.ZipFile(good).infolist()[0]
    # Bad CRC: flip one byte of the first member's compressed data.
    crc = bytearray(raw)
    start = info.header_offset + 30 + len(info.filename)
    crc[start + 10] ^= 0xFF
    (tmp_path / "crc.zip").write_bytes(crc)
    refused(run_cli, tmp_path / "crc.zip", "crc.zip!", "zip")
    # Encrypted flag set in the central directory.
    enc = bytearray(raw)
    central = raw.rfind(b"PK\x01\x02", 0, len(raw))
    first_central = raw.find(b"PK\x01\x02")
    enc[first_central + 8] |= 0x1
    (tmp_path / "enc.zip").write_bytes(enc)
    refused(run_cli, tmp_path / "enc.zip", "encrypted")
    assert central >= first_central
    # A member that inflates to GiBs.
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("IM1", "w", force_zip64=True) as member:
        chunk = bytes(2**24)
        for _ in range(20):  # 320 MiB of zeros, a few hundred KiB compressed
            member.write(chunk)
    refused(run_cli, bomb, "bomb.zip!IM1", "zip")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(run_cli, tmp_path: Path) -> None:
    fifo = tmp_path / "ct.nii"
    os.mkfifo(fifo)
    refused(run_cli, fifo, "not a regular file or folder")


def test_pydicom_warnings_never_reach_stderr(run_cli, tmp_path: Path) -> None:
    folder = edit(series(tmp_path), lambda ds: setattr(ds, "PatientName", "SINGLECOMPONENT"))
    result = run_cli("scan", folder, "--format", "json", "--out", tmp_path / "out")
    assert result.code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["outputs"]["seg"].endswith("seg.dcm")


def test_result_names_its_study_for_the_record(tmp_path: Path) -> None:
    folder = series(tmp_path)
    first = pydicom.dcmread(next(folder.iterdir()))
    result = quantify(folder)
    assert result.study_date.isoformat() == "2026-10-02"
    assert result.acquisition["study_instance_uid"] == first.StudyInstanceUID
    assert result.acquisition["series_instance_uid"] == first.SeriesInstanceUID
    assert result.acquisition["patient_id"] == "T1"
    bad = edit(series(tmp_path / "b"), lambda ds: setattr(ds, "StudyDate", "2026-10-02"))
    result = quantify(bad)
    assert result.study_date is None and any("StudyDate" in w for w in result.warnings)
