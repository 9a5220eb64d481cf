"""Turn CT lesions into case findings, so ``ectocalc assess`` can reason on scans."""

from __future__ import annotations

from datetime import date as Date

from ectocalc.model.case import Finding
from ectocalc.model.scan import Lesion, ScanResult

_TYPE_SITE = {
    "vascular": "vascular wall",
    "periarticular": "periarticular soft tissue",
    "cutaneous": "skin / subcutaneous tissue",
    "visceral": "organ",
    "soft_tissue": "soft tissue",
}


def lesion_site(lesion: Lesion) -> str:
    """A readable site: the anatomy region when known, else a phrase from type and position.

    Examples
    --------
    >>> from ectocalc.model.scan import Lesion
    >>> lesion_site(Lesion(id=1, centroid_mm=(10.0, -5.0, 42.0), volume_mm3=1, mass_mg=1,
    ...     peak_hu=400, agatston=4, type="vascular", structure="aorta", subtype="valvular"))
    'aorta (valvular)'
    >>> lesion_site(Lesion(id=2, centroid_mm=(10.0, -5.0, 42.0), volume_mm3=1, mass_mg=1,
    ...     peak_hu=400, agatston=4, type="cutaneous"))
    'skin / subcutaneous tissue, left, z 42 mm (CT lesion 2)'
    """
    named = lesion.structure or (lesion.region if lesion.region != "non_vascular" else None)
    if named:
        return named.replace("_", " ") + (f" ({lesion.subtype})" if lesion.subtype else "")
    x, _, z = lesion.centroid_mm
    side = "left" if x > 0 else "right" if x < 0 else "midline"
    return f"{_TYPE_SITE[lesion.type]}, {side}, z {z:.0f} mm (CT lesion {lesion.id})"


def findings_from_scan(result: ScanResult, *, scan_date: Date | None = None) -> list[Finding]:
    """One :class:`Finding` per lesion of a scan (``modality="ct"``, ``origin="ct"``).

    Parameters
    ----------
    result : ScanResult
        Output of :func:`ectocalc.imaging.scan.quantify`.
    scan_date : date, optional
        Acquisition date; kept in the site text when given (findings carry no date field).

    Examples
    --------
    >>> from ectocalc.model.scan import Lesion, ScanResult
    >>> r = ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
    ...     slice_increment_mm=3, pixel_spacing_mm=(0.7, 0.7),
    ...     calibration_mg_per_cm3_per_hu=0.78, agatston=58.8, volume_mm3=44.1, mass_mg=16.9,
    ...     lesions=[Lesion(id=1, centroid_mm=(0, -59, -61), volume_mm3=44.1, mass_mg=16.9,
    ...     peak_hu=826, agatston=58.8, type="cutaneous", max_diameter_mm=4.8)])
    >>> f = findings_from_scan(r)[0]
    >>> f.type, f.size_mm, f.modality, f.origin, f.agatston
    ('cutaneous', 4.8, 'ct', 'ct', 58.8)
    """
    suffix = f", CT {scan_date.isoformat()}" if scan_date else ""
    return [
        Finding(site=lesion_site(lesion) + suffix, type=lesion.type,
                size_mm=lesion.max_diameter_mm or None, modality="ct", origin="ct",
                agatston=lesion.agatston, volume_mm3=lesion.volume_mm3, mass_mg=lesion.mass_mg)
        for lesion in result.lesions
    ]
