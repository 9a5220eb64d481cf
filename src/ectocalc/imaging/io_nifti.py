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
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform

from ectocalc.errors import InputError
from ectocalc.imaging.volume import CTVolume

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


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
    if len(image.shape) != 3:
        if len(image.shape) == 4 and image.shape[3] == 1:
            image = image.slicer[..., 0]
        else:
            raise InputError(path, "dim", f"expected a 3D volume, got shape {image.shape}")
    target = axcodes2ornt(("L", "P", "S"))
    image = image.as_reoriented(ornt_transform(io_orientation(image.affine), target))
    affine = RAS_TO_LPS @ image.affine
    columns = affine[:3, :3]
    normal = np.cross(columns[:, 0], columns[:, 1])
    cosine = normal @ columns[:, 2] / (np.linalg.norm(normal) * np.linalg.norm(columns[:, 2]))
    if cosine < 0.9999:
        raise InputError(path, "sform", "slice axis is not perpendicular to the image plane "
                         "(gantry tilt or shear); resample to an orthogonal grid first")
    data = np.asanyarray(image.dataobj)
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    return np.ascontiguousarray(data.transpose(2, 1, 0)), affine


def read_nifti_volume(path: str | Path) -> CTVolume:
    """A NIfTI CT volume in HU as a :class:`CTVolume` (kVp and contrast unknown: warned).

    Examples
    --------
    >>> import tempfile, nibabel as nib
    >>> ras = np.diag([-0.5, -0.5, 2.0, 1.0])   # columns toward L, rows toward P
    >>> with tempfile.TemporaryDirectory() as d:
    ...     nib.save(nib.Nifti1Image(np.zeros((4, 3, 2), np.int16), ras), f"{d}/ct.nii.gz")
    ...     v = read_nifti_volume(f"{d}/ct.nii.gz")
    >>> v.hu.shape, v.pixel_spacing_mm, v.slice_increment_mm
    ((2, 3, 4), (0.5, 0.5), 2.0)
    """
    data, affine = read_nifti_array(path)
    fits_int16 = data.dtype in (np.int8, np.uint8, np.int16)
    hu = data.astype(np.int16 if fits_int16 else np.float32, copy=False)
    spacing = (float(np.linalg.norm(affine[:3, 1])), float(np.linalg.norm(affine[:3, 0])))
    return CTVolume(
        hu=hu, affine=affine, pixel_spacing_mm=spacing,
        slice_increment_mm=float(np.linalg.norm(affine[:3, 2])), source=str(path),
        warnings=["NIfTI input: kVp, contrast agent and kernel are not recorded in the file; "
                  "contrast was only checked on the image"],
    )
