"""Builders for the CT quantification tests: small synthetic DICOM series and volumes."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from ectocalc.imaging import CTVolume

PYDICOM_DIRS = Path(pydicom.data.__file__).parent / "test_files" / "dicomdirtests"
CT5N = PYDICOM_DIRS / "98892001" / "CT5N"
CT2 = PYDICOM_DIRS / "77654033" / "CT2"


def write_series(directory: Path, hu: np.ndarray, *, pixel_mm: float = 0.5,
                 increment_mm: float = 3.0, modality: str = "CT", kvp: float | None = 120,
                 contrast_agent: str | None = None, series_uid: str | None = None,
                 drift_mm_per_slice: float = 0.0, skip: tuple[int, ...] = (),
                 thickness_mm: float | None = None, prefix: str = "IM") -> Path:
    """Write ``hu`` (slices, rows, columns) as a single-frame CT series, shuffled file names.

    ``drift_mm_per_slice`` shifts each slice along y (gantry tilt); ``skip`` leaves slices out.
    """
    directory.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    study_uid, frame_uid = generate_uid(), generate_uid()
    stored = np.round(hu + 1024).astype(np.uint16)
    order = np.random.default_rng(1).permutation(len(hu))  # file names must not decide order
    for name_index, k in enumerate(order):
        if k in skip:
            continue
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage if modality == "CT" else "1.2.840.10008.5.1.4.1.1.4"
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = modality
        ds.PatientName, ds.PatientID = "TEST^CT", "T1"
        ds.PatientBirthDate, ds.PatientSex = "19600101", "F"
        ds.StudyDate, ds.StudyTime, ds.StudyID = "20261002", "101500", "1"
        ds.ReferringPhysicianName, ds.AccessionNumber = "", ""
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber, ds.InstanceNumber = 1, int(k) + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-10.0, -10.0 + k * drift_mm_per_slice, k * increment_mm]
        ds.PixelSpacing = [pixel_mm, pixel_mm]
        ds.SliceThickness = thickness_mm or increment_mm
        if kvp is not None:
            ds.KVP = kvp
        if contrast_agent:
            ds.ContrastBolusAgent = contrast_agent
        ds.ConvolutionKernel = "B30f"
        ds.Rows, ds.Columns = hu.shape[1:]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = stored[k].tobytes()
        ds.save_as(directory / f"{prefix}{name_index:04d}.dcm", enforce_file_format=True)
    return directory


def lesion_volume(shape: tuple[int, int, int] = (6, 64, 64), *, seed: int = 3) -> np.ndarray:
    """Soft tissue (40 HU, noise 5) with small dense blobs of assorted size and density."""
    rng = np.random.default_rng(seed)
    hu = 40 + rng.normal(0, 5, shape)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    for _ in range(14):
        c = rng.uniform([0, 8, 8], [shape[0] - 1, shape[1] - 8, shape[2] - 8])
        radius = rng.uniform(0.6, 4.0)
        blob = (np.hypot(y - c[1], x - c[2]) <= radius) & (np.abs(z - c[0]) <= rng.integers(0, 2))
        hu[blob] = rng.uniform(131, 900) - 40 * np.hypot(y - c[1], x - c[2])[blob] / radius
    return hu.astype(np.float32)


def save_nifti(volume: CTVolume, path: Path) -> Path:
    """Write a volume as NIfTI the direct way: (column, row, slice) axes, RAS affine."""
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ volume.affine
    nib.save(nib.Nifti1Image(np.ascontiguousarray(volume.hu.transpose(2, 1, 0)), ras), path)
    return path
