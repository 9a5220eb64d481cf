"""Result of quantifying calcification on one CT (contract section 4)."""

from __future__ import annotations

from datetime import date as Date
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, ConfigDict, Field

from ectocalc.model.scales import ScanScales
from ectocalc.vocabulary import CalcificationType

if TYPE_CHECKING:
    import pandas as pd

TYPE_ORDER: tuple[str, ...] = get_args(CalcificationType)
"""The calcification types (contract section 3) in reporting order: ``by_type`` keys, SEG
segments, overlay legends."""


REPORT_REGIONS: tuple[str, ...] = ("coronary", "aortic_valve", "mitral_annulus",
                                   "thoracic_aorta", "abdominal_aorta", "other_vascular",
                                   "non_vascular")
"""Regions as radiologists report them (contract section 4, version 1.1): ``by_region``
keys and each lesion's ``region``, in reporting order."""
ARTERIES: tuple[str, ...] = ("lm", "lad", "lcx", "rca")
"""Coronary arteries of ``by_artery`` (the CAC-DRS vessel count)."""
EXCLUSION_REASONS: tuple[str, ...] = ("bone", "cartilage", "device", "noise")
"""Why a dense component is not scored (``excluded`` keys)."""


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
    """Reporting region (:data:`REPORT_REGIONS`), from the anatomy."""
    artery: str | None = None
    """Coronary artery (:data:`ARTERIES`) when the anatomy tells it; null otherwise."""
    structure: str | None = None
    """The anatomy structure the lesion lies in (label-map class, or joint such as
    "left shoulder"), when known."""
    subtype: str | None = None
    slices: list[int] = Field(default_factory=list)
    max_diameter_mm: float | None = None
    density_factor: int | None = None
    """Highest Agatston density factor (1-4) among the lesion's scoring pieces."""


class TypeTotals(BaseModel):
    agatston: float = 0.0
    volume_mm3: float = 0.0
    mass_mg: float = 0.0


class RegionTotals(TypeTotals):
    by_artery: dict[str, float] | None = None
    """Coronary only: Agatston per artery (lm, lad, lcx, rca) when the anatomy names the
    arteries; null when it cannot tell them apart."""


class ScanAnatomy(BaseModel):
    """Where the anatomy came from and what of the body the scan shows."""

    model_config = ConfigDict(extra="forbid")

    source: str
    """"built-in", "label map (...)" or "totalsegmentator (auto)"."""
    body_regions: list[str] = Field(default_factory=list)
    """Of head, neck, chest, abdomen, pelvis, head to pelvis."""
    heart_in_field: bool = False
    note: str | None = None
    """Why there is no cardiac score, when there is none."""


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
    anatomy: ScanAnatomy | None = None
    """Contract 1.1: the anatomy used to type and place the lesions."""
    by_region: dict[str, RegionTotals | None] = Field(default_factory=dict)
    """Contract 1.1: totals per reporting region; ``coronary`` is null when the heart is not
    in the field."""
    excluded: dict[str, int] = Field(default_factory=dict)
    """Contract 1.1: dense components not scored, counted by reason
    (:data:`EXCLUSION_REASONS`; ``noise``: within the image noise)."""
    scales: ScanScales | None = None
    """CAC-DRS and aortic-valve categories, when coronary or valve lesions are typed
    (:func:`ectocalc.scales.scan_scales`)."""

    def lesions_frame(self) -> pd.DataFrame:
        """One row per lesion (pandas), at full precision.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``type``, ``region``, ``subtype``, ``agatston``, ``volume_mm3``,
            ``mass_mg`` (mg hydroxyapatite), ``peak_hu``, ``max_diameter_mm``,
            ``density_factor``, ``x_mm``, ``y_mm``, ``z_mm`` (centroid, DICOM patient LPS)
            and ``slices`` (how many slices the lesion spans).

        Examples
        --------
        >>> lesion = Lesion(id=1, centroid_mm=(1.0, 2.0, 3.0), volume_mm3=12.5, mass_mg=2.1,
        ...                 peak_hu=410, agatston=30.0, type="vascular", slices=[4, 5])
        >>> scan = ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
        ...     slice_increment_mm=3.0, pixel_spacing_mm=(0.5, 0.5),
        ...     calibration_mg_per_cm3_per_hu=0.78, agatston=30.0, volume_mm3=12.5, mass_mg=2.1,
        ...     lesions=[lesion])
        >>> scan.lesions_frame()[["id", "agatston", "z_mm", "slices"]].to_dict("records")
        [{'id': 1, 'agatston': 30.0, 'z_mm': 3.0, 'slices': 2}]
        """
        import pandas as pd

        columns = ["id", "type", "region", "subtype", "agatston", "volume_mm3", "mass_mg",
                   "peak_hu", "max_diameter_mm", "density_factor", "x_mm", "y_mm", "z_mm",
                   "slices"]
        rows = [{**lesion.model_dump(exclude={"centroid_mm", "slices"}),
                 **dict(zip(("x_mm", "y_mm", "z_mm"), lesion.centroid_mm, strict=True)),
                 "slices": len(lesion.slices)} for lesion in self.lesions]
        return pd.DataFrame(rows, columns=columns)
