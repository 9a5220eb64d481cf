"""Result of quantifying calcification on one CT (contract section 4)."""

from __future__ import annotations

from datetime import date as Date
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field

from ectocalc.model.scales import ScanScales
from ectocalc.vocabulary import CalcificationType

TYPE_ORDER: tuple[str, ...] = get_args(CalcificationType)
"""The calcification types (contract section 3) in reporting order: ``by_type`` keys, SEG
segments, overlay legends."""


class Lesion(BaseModel):
    """One 3D calcified lesion (bone excluded)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    centroid_mm: tuple[float, float, float]
    """Centroid in DICOM patient coordinates (LPS), millimetres."""
    volume_mm3: float
    mass_mg: float
    peak_hu: float
    agatston: float
    type: CalcificationType
    region: str | None = None
    subtype: str | None = None
    slices: list[int] = Field(default_factory=list)
    max_diameter_mm: float | None = None
    density_factor: int | None = None
    """Highest Agatston density factor (1-4) among the lesion's scoring pieces."""


class TypeTotals(BaseModel):
    agatston: float = 0.0
    volume_mm3: float = 0.0
    mass_mg: float = 0.0


class ScanResult(BaseModel):
    """Contract section 4: totals, lesions, per-type totals, warnings and written outputs."""

    model_config = ConfigDict(extra="forbid")

    convention: str
    threshold_hu: float
    kvp: float | None
    slice_increment_mm: float
    pixel_spacing_mm: tuple[float, float]
    calibration_mg_per_cm3_per_hu: float
    agatston: float
    volume_mm3: float
    mass_mg: float
    lesions: list[Lesion] = Field(default_factory=list)
    by_type: dict[str, TypeTotals] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    excluded: dict[str, int] = Field(default_factory=dict)
    """Dense regions not scored, counted by reason (``noise``: within the image noise)."""
    outputs: dict[str, str | list[str]] = Field(default_factory=dict)
    source: str | None = None
    factor_thresholds_hu: list[float] = Field(default_factory=list)
    """Lower bounds of density factors 1-4 at the kVp used (Gräni 2018)."""
    threshold_table_kvp: float | None = None
    """The Gräni 2018 table row used (the nearest to the scan's kVp)."""
    calibration_source: str | None = None
    acquisition: dict[str, Any] = Field(default_factory=dict)
    """kVp, slice thickness and increment, kernel, contrast agent, manufacturer, shape."""
    conventions: list[dict[str, Any]] = Field(default_factory=list)
    """The same scan under other conventions (``--convention a,b`` or ``all``), primary first."""
    study_date: Date | None = None
    """When the CT was acquired (the case's ``scans[].date``, else the DICOM StudyDate)."""
    scales: ScanScales | None = None
    """CAC-DRS and aortic-valve categories, when coronary or valve lesions are typed
    (:func:`ectocalc.scales.scan_scales`)."""
