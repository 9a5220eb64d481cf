"""Read a CT volume or a label map from NIfTI into the (slices, rows, columns) LPS layout.

NIfTI affines are RAS; DICOM patient space is LPS (``affine_LPS = diag(-1, -1, 1, 1) @
affine_RAS``). Volumes are reoriented so that columns run toward patient left, rows toward
posterior and slices toward superior, the usual axial DICOM layout, which keeps scoring
(in-plane connectivity, slice correction) identical for both inputs.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform

from ectocalc.errors import InputError
from ectocalc.imaging.io.dicom import MAX_INCREMENT_MM, MAX_VOXELS, MIN_SPACING_MM
from ectocalc.imaging.volume import CTVolume

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
MIN_HU, MAX_HU = -2048.0, 40000.0
"""Values a CT in Hounsfield units can hold (air -1000, dense metal some 10^4)."""
AIR_HU = -500.0
"""A CT of a patient holds air (about -1000 HU) somewhere: lowest value must be below this."""


def is_nifti(path: str | Path) -> bool:
    """True for ``.nii`` and ``.nii.gz`` file names.

    Examples
    --------
    >>> is_nifti("ct.nii.gz"), is_nifti("ct.dcm")
    (True, False)
    """
    name = str(path).lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def read_nifti_array(path: str | Path, *, dtype: type | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Voxel data as ``(slices, rows, columns)`` and its LPS affine.

    Parameters
    ----------
    path : str or Path
        A 3D NIfTI file.
    dtype : numpy dtype, optional
        Data type to read into (scaling applied); default the file's own.

    Returns
    -------
    data : ndarray, shape (slices, rows, columns)
    affine : ndarray, shape (4, 4)
        Maps ``(column, row, slice, 1)`` to LPS mm.
    """
    try:
        image = nib.load(str(path))
    except Exception as error:
        raise InputError(path, "", f"not a readable NIfTI file ({error})") from None
    _check_header(path, image)
    if len(image.shape) != 3 and image.shape[3:] != (1,):
        raise InputError(path, "dim", f"expected a 3D volume, got shape {image.shape}")
    columns = (RAS_TO_LPS @ image.affine)[:3, :3]
    normal = np.cross(columns[:, 0], columns[:, 1])
    cosine = abs(normal @ columns[:, 2]) / (np.linalg.norm(normal) *
                                            np.linalg.norm(columns[:, 2]))
    if cosine < 0.9999:
        raise InputError(path, "sform", "slice axis is not perpendicular to the image plane "
                         "(gantry tilt or shear); resample to an orthogonal grid first")
    try:  # slicing and reorienting read the data: a header only, a truncated file fail here
        if len(image.shape) == 4:
            image = image.slicer[..., 0]
        target = axcodes2ornt(("L", "P", "S"))
        image = image.as_reoriented(ornt_transform(io_orientation(image.affine), target))
        data = np.asanyarray(image.dataobj)
    except Exception as error:
        raise InputError(path, "data", f"voxel data cannot be read ({type(error).__name__}: "
                         f"{' '.join(str(error).split())})") from None
    affine = RAS_TO_LPS @ image.affine
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    return np.ascontiguousarray(data.transpose(2, 1, 0)), affine


def _check_header(path: str | Path, image: nib.Nifti1Image) -> None:
    """Refuse, before reading the data, a header that gives no usable grid: a zero, NaN or
    implausible voxel size, a non-finite affine, or a size beyond the volume limits."""
    affine = np.asarray(image.affine, float)
    if not np.all(np.isfinite(affine)):
        raise InputError(path, "sform", "affine has non-finite values")
    sizes = np.linalg.norm(affine[:3, :3], axis=0)
    # The header as stored: nibabel's own checks "fix" a zero pixdim to 1 mm on load.
    try:
        with ImageOpener(str(path)) as handle:
            stored = type(image.header).from_fileobj(handle, check=False)
        zooms = np.asarray(stored["pixdim"][1:4], float)
    except Exception as error:
        raise InputError(path, "pixdim", f"header cannot be read ({error})") from None
    for name, values in (("pixdim", zooms), ("sform", sizes)):
        if values.size < 3 or not np.all(np.isfinite(values)) or np.any(values < MIN_SPACING_MM) \
                or np.any(values > MAX_INCREMENT_MM):
            raise InputError(path, name, f"voxel size {values.tolist()} mm is outside "
                             f"{MIN_SPACING_MM:g}-{MAX_INCREMENT_MM:g} mm")
    shape = image.shape
    if any(n < 1 for n in shape) or int(np.prod(shape, dtype=np.int64)) > MAX_VOXELS:
        raise InputError(path, "dim", f"shape {shape} is empty or exceeds {MAX_VOXELS} voxels")


def _check_hounsfield(path: str | Path, data: np.ndarray) -> None:
    """Refuse values that cannot be Hounsfield units: 8-bit data, values beyond any CT
    scale (a huge scl_slope), or no air at all (MRI, a 0-255 image)."""
    if data.dtype in (np.uint8, np.int8, np.bool_):
        raise InputError(path, "datatype", f"{data.dtype} data cannot hold Hounsfield units "
                         "(not a CT in HU)")
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    if not (np.isfinite(low) and np.isfinite(high)) or low < MIN_HU or high > MAX_HU:
        raise InputError(path, "scl_slope", f"values {low:g} to {high:g} are not Hounsfield "
                         f"units ({MIN_HU:g} to {MAX_HU:g})")
    if low > AIR_HU:
        raise InputError(path, "scl_slope", f"no air in the image (lowest value {low:g}, CT "
                         f"air is about -1000 HU): not a CT in Hounsfield units (MRI?)")


def read_nifti_volume(path: str | Path) -> CTVolume:
    """A NIfTI CT volume in HU as a :class:`CTVolume` (kVp and contrast unknown: warned).

    Examples
    --------
    >>> import tempfile, nibabel as nib
    >>> ras = np.diag([-0.5, -0.5, 2.0, 1.0])   # columns toward L, rows toward P
    >>> with tempfile.TemporaryDirectory() as d:
    ...     nib.save(nib.Nifti1Image(np.full((4, 3, 2), -1000, np.int16), ras), f"{d}/ct.nii.gz")
    ...     v = read_nifti_volume(f"{d}/ct.nii.gz")
    >>> v.hu.shape, v.pixel_spacing_mm, v.slice_increment_mm
    ((2, 3, 4), (0.5, 0.5), 2.0)
    """
    data, affine = read_nifti_array(path)
    _check_hounsfield(path, data)
    fits_int16 = data.dtype in (np.int8, np.uint8, np.int16)
    hu = data.astype(np.int16 if fits_int16 else np.float32, copy=False)
    spacing = (float(np.linalg.norm(affine[:3, 1])), float(np.linalg.norm(affine[:3, 0])))
    return CTVolume(
        hu=hu, affine=affine, pixel_spacing_mm=spacing,
        slice_increment_mm=float(np.linalg.norm(affine[:3, 2])), source=str(path),
        warnings=["NIfTI input: kVp, contrast agent and kernel are not recorded in the file; "
                  "contrast was only checked on the image"],
    )
