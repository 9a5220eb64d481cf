"""What the DICOM writers share: segment order, coded concepts, source images (private)."""

from __future__ import annotations

import copy
import re
from typing import Any

from ectocalc.imaging.volume import CTVolume
from ectocalc.model.scan import TYPE_ORDER, ScanResult

MANUFACTURER = "ectocalc"


def segment_types(result: ScanResult) -> list[str]:
    """Calcification types present in ``result``, in SEG segment order (segment n = index+1).

    Examples
    --------
    >>> from ectocalc.model.scan import ScanResult
    >>> segment_types(ScanResult(convention="c", threshold_hu=130, kvp=120,
    ...     slice_increment_mm=3, pixel_spacing_mm=(1, 1), calibration_mg_per_cm3_per_hu=0.78,
    ...     agatston=0, volume_mm3=0, mass_mg=0))
    []
    """
    present = {lesion.type for lesion in result.lesions}
    return [t for t in TYPE_ORDER if t in present]


def concepts() -> dict[str, Any]:
    """Coded concepts used by SEG and SR (imported lazily: highdicom is slow to import)."""
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    return {
        "category": codes.SCT.MorphologicallyAbnormalStructure,
        "vascular": codes.SCT.VascularCalcification,
        "other": codes.DCM.AbnormalCalcifications,
        "regions": {"cutaneous": codes.SCT.SkinStructure, "soft_tissue": codes.SCT.SoftTissue},
        "mm3": codes.UCUM.CubicMillimeter,
        "hu": codes.UCUM.HounsfieldUnit,
        "none": codes.UCUM.NoUnits,
        "mg": Code("mg", "UCUM", "milligram"),
        "calibration": Code("mg/cm3/[hnsf'U]", "UCUM", "milligram per cubic centimeter per HU"),
    }


def property_type(calcification_type: str) -> Any:
    """SNOMED "Vascular calcification" for vascular lesions, DCM "Abnormal calcifications"
    for the other types."""
    coded = concepts()
    return coded["vascular"] if calcification_type == "vascular" else coded["other"]


TYPE_2: tuple[str, ...] = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                          "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                          "ReferringPhysicianName", "SliceThickness", "KVP")
"""Type 2 attributes (present, may be empty) the SEG and SR copy from their source images."""


def missing_type2(volume: CTVolume) -> list[str]:
    """The :data:`TYPE_2` attributes absent or empty in the first source image."""
    first = (volume.source_datasets or [{}])[0]
    return [keyword for keyword in TYPE_2 if first.get(keyword) in (None, "")]


REFERENCED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
"""UIDs of the source images a SEG and an SR must reference (Type 1)."""


def blank_uids(volume: CTVolume) -> list[str]:
    """The :data:`REFERENCED_UIDS` empty in any source image (anonymisers sometimes blank
    them): a SEG or SR cannot reference such images.

    Examples
    --------
    >>> import numpy as np
    >>> from pydicom import Dataset
    >>> ds = Dataset()
    >>> ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = "1", "", "2"
    >>> v = CTVolume(hu=np.zeros((1, 1, 1)), affine=np.eye(4), pixel_spacing_mm=(1, 1),
    ...              slice_increment_mm=1, source_datasets=[ds])
    >>> blank_uids(v)
    ['SeriesInstanceUID']
    """
    sources = volume.source_datasets or []
    return [keyword for keyword in REFERENCED_UIDS
            if any(not str(ds.get(keyword) or "").strip() for ds in sources)]


DATES: tuple[str, ...] = ("PatientBirthDate", "StudyDate")
"""The :data:`TYPE_2` attributes of VR DA (``YYYYMMDD``)."""
_WRITTEN_DATE = re.compile(r"^(\d{4})[-.](\d{2})[-.](\d{2})$")


def dicom_date(keyword: str, value: Any) -> str:
    """A date attribute as DICOM DA: ``YYYYMMDD`` kept, ``YYYY-MM-DD`` (as some systems write
    it) and the ACR-NEMA ``YYYY.MM.DD`` normalised, empty kept empty.

    Raises
    ------
    ValueError
        Any other form, naming the attribute (no patient value is quoted).

    Examples
    --------
    >>> dicom_date("PatientBirthDate", "1955-04-12"), dicom_date("StudyDate", "20240305")
    ('19550412', '20240305')
    """
    text = str(value or "").strip()
    written = _WRITTEN_DATE.match(text)
    if written is not None:
        text = "".join(written.groups())
    if text and not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"{keyword} of the source CT is not a date (DICOM DA is YYYYMMDD)")
    return text


def require_sources(volume: CTVolume, *, first: int = 0) -> list[Any]:
    """The source CT datasets the SEG and SR reference, with absent :data:`TYPE_2`
    attributes added empty and :data:`DATES` written as DICOM DA (:func:`dicom_date`) in the
    one at index ``first`` (a copy; the volume's datasets are not changed): highdicom takes the
    patient, study and pixel-measure attributes from the first source it is given, which is
    ``first`` when a writer passes a subset.

    Raises
    ------
    ValueError
        Without source datasets (NIfTI input), or a date attribute that is not a date.
    """
    if not volume.source_datasets:
        raise ValueError("DICOM SEG/SR need the source DICOM datasets; this volume has none "
                         "(NIfTI input?)")
    sources = list(volume.source_datasets)
    original = sources[first]
    missing = missing_type2(volume)
    dates = {keyword: dicom_date(keyword, original.get(keyword)) for keyword in DATES
             if original.get(keyword) not in (None, "")}
    dates = {k: v for k, v in dates.items() if v != str(original.get(k))}
    if not missing and not dates:
        return sources
    patched = copy.deepcopy(original)  # header only: pixel data were dropped
    for keyword in missing:
        if keyword not in patched:
            setattr(patched, keyword, None)
    for keyword, value in dates.items():
        setattr(patched, keyword, value)
    sources[first] = patched
    return sources
