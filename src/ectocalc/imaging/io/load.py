"""Entry points that read user files: a CT (:func:`load_ct`) and an anatomy label map
(:func:`load_label_map`). Format detection lives here; decoding lives in ``dicom``, ``nifti`` and
``zip``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ectocalc.errors import InputError
from ectocalc.imaging.anatomy import resample_nearest
from ectocalc.imaging.io.dicom import Progress, read_dicom_series
from ectocalc.imaging.io.nifti import is_nifti, read_nifti_array, read_nifti_volume
from ectocalc.imaging.volume import CTVolume


def load_ct(path: str | Path, *, progress: Progress | None = None) -> CTVolume:
    """Read a CT from a DICOM folder, a ``.zip`` of one, a single DICOM file, or NIfTI.

    Raises
    ------
    InputError
        The path does not exist, is not a regular file or folder (a FIFO, a device), is none
        of those formats, or the series is unusable.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "", "no such file or folder")
    if not (path.is_dir() or path.is_file()):  # a FIFO or device would block or never end
        raise InputError(path, "", "not a regular file or folder")
    if is_nifti(path):
        return read_nifti_volume(path)
    return read_dicom_series(path, progress=progress)


def input_digest(path: str | Path) -> str:
    """SHA-256 (hex) of an input: a file's bytes, or a folder's regular files (relative names
    and bytes, in name order). Names the input of an output folder's manifest.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a"), "wb").write(b"x")
    >>> input_digest(d) == input_digest(d), len(input_digest(d))
    (True, 64)
    """
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(2**20):
                digest.update(chunk)
    return digest.hexdigest()


def read_names(path: str | Path) -> dict[int, str]:
    """Label value → class name from a NAMES.json like ``{"1": "aorta"}``.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "names.json")
    >>> _ = open(f, "w").write('{"1": "aorta", "2": "heart"}')
    >>> read_names(f)
    {1: 'aorta', 2: 'heart'}
    """
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputError(path, "", f"not a readable JSON names file ({error})") from None
    if not isinstance(raw, dict):
        raise InputError(path, "", 'expected an object like {"1": "aorta"}')
    names: dict[int, str] = {}
    for key, value in raw.items():
        if not str(key).isdigit() or not isinstance(value, str) or not value:
            raise InputError(path, str(key), 'expected "label number": "class name"')
        names[int(key)] = value
    return names


def _read_mask_folder(folder: Path, volume: CTVolume) -> tuple[np.ndarray, dict[int, str]]:
    """A TotalSegmentator output folder (one binary ``<name>.nii.gz`` per class) as one label
    map: classes numbered in name order; where masks overlap, the later name wins. Empty
    masks (classes TotalSegmentator did not find) are skipped."""
    files = sorted(p for p in folder.iterdir() if is_nifti(p))
    if not files:
        raise InputError(folder, "", "anatomy folder holds no NIfTI masks (<name>.nii.gz)")
    labels = np.zeros(volume.hu.shape, dtype=np.int32)
    names: dict[int, str] = {}
    for file in files:
        data, affine = read_nifti_array(file, dtype=np.int32)
        if not data.any():
            continue
        value = len(names) + 1
        mask = resample_nearest((data > 0).astype(np.int32), affine, volume.hu.shape,
                                volume.affine, source=file)
        labels[mask > 0] = value
        names[value] = file.name.removesuffix(".gz").removesuffix(".nii")
    return labels, names


def _read_seg(path: Path, volume: CTVolume) -> tuple[np.ndarray, dict[int, str]]:
    """Label map from a DICOM SEG referencing the CT's own images (segment number = label).

    A SEG need not reference every image: frames left out (highdicom omits empty frames, and
    ectocalc's own SEG references only the slices that hold lesions) are read as empty.
    """
    import highdicom as hd

    if not volume.source_datasets:
        raise InputError(path, "ReferencedSeriesSequence",
                         "a DICOM SEG label map needs the CT as DICOM (it references images)")
    try:
        seg = hd.seg.segread(path)
        uids = [str(ds.SOPInstanceUID) for ds in volume.source_datasets]
        labels = seg.get_pixels_by_source_instance(
            uids, combine_segments=True, ignore_spatial_locations=True, dtype=np.int32,
            assert_missing_frames_are_empty=True)
        names = {int(n): str(seg.get_segment_description(n).segment_label)
                 for n in seg.get_segment_numbers()}
    except Exception as error:
        raise InputError(path, "ReferencedSeriesSequence",
                         f"cannot read the SEG as a label map of this CT ({error})") from None
    return labels, names


def load_label_map(path: str | Path, volume: CTVolume, *, names_path: str | Path | None = None
                   ) -> tuple[np.ndarray, dict[int, str]]:
    """An anatomy label map on the CT grid and its class names.

    Parameters
    ----------
    path : str or Path
        NIfTI label map, a folder of per-structure NIfTI masks as TotalSegmentator writes
        them (``<class name>.nii.gz``, the file name is the class), or a DICOM SEG whose
        source images are the CT's.
    volume : CTVolume
        The CT the map must describe.
    names_path : str or Path, optional
        NAMES.json; required for NIfTI, optional for SEG (segment labels used otherwise).

    Returns
    -------
    labels : ndarray of int32, same shape as ``volume.hu``
    names : dict of int to str

    Raises
    ------
    InputError
        Unreadable map or names, or a map that does not cover the CT.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "", "no such anatomy label map")
    if path.is_dir():
        return _read_mask_folder(path, volume)
    names = read_names(names_path) if names_path else {}
    if is_nifti(path):
        if not names:
            raise InputError(path, "--anatomy-names", "a NIfTI label map needs NAMES.json")
        data, affine = read_nifti_array(path, dtype=np.int32)
        labels = resample_nearest(data, affine, volume.hu.shape, volume.affine, source=path)
    else:
        labels, seg_names = _read_seg(path, volume)
        names = names or seg_names
    if labels.shape != volume.hu.shape:
        raise InputError(path, "shape", f"label map shape {labels.shape} does not match the CT "
                         f"{volume.hu.shape}")
    return labels, names
