"""Schema and loader of ``knowledge/data/imaging.yaml`` (private).

The file holds the imaging knowledge as data: named scoring conventions, the Gräni 2018
kVp threshold table, the anatomy-name rules and joint table, the classic coronary score
bands and the noise test, each citing a bibliography id. It is a registered part of the
one knowledge bundle (:func:`ectocalc.knowledge.load.register_file`: validated with it and
counted in its version); a defect raises :class:`ImagingKnowledgeError` naming the file
and the entry.

Examples
--------
>>> kb = imaging_knowledge()
>>> kb.default_convention, [row.kvp for row in kb.kvp_thresholds.rows][:2]
('agatston-1990', [70, 80])
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ectocalc.knowledge.load import load_knowledge, register_file
from ectocalc.knowledge.schema import KnowledgeError
from ectocalc.model.scan import ARTERIES, EXCLUSION_REASONS, REPORT_REGIONS, TYPE_ORDER

FILE = "imaging.yaml"


class ImagingKnowledgeError(ValueError):
    """``knowledge/imaging.yaml`` is missing, not YAML, breaks the schema or cites an unknown
    source."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConventionEntry(_Entry):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    dims: Literal[2, 3]
    connectivity: Literal[4, 8, 6, 18, 26]
    min_size: float = Field(ge=0)
    min_size_unit: Literal["mm2", "mm3", "voxels"]
    min_inclusive: bool
    slice_correction: Literal["increment", "thickness", "none"]
    weighting: Literal["slice", "lesion"]
    description: str
    source: str

    @model_validator(mode="after")
    def _connectivity_fits(self) -> ConventionEntry:
        allowed = (4, 8) if self.dims == 2 else (6, 18, 26)
        if self.connectivity not in allowed:
            raise ValueError(f"connectivity {self.connectivity} is not a {self.dims}D one "
                             f"{allowed}")
        return self


class KvpRow(_Entry):
    kvp: int = Field(gt=0)
    factors_hu: tuple[float, float, float, float]

    @field_validator("factors_hu")
    @classmethod
    def _ascending(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if list(value) != sorted(set(value)):
            raise ValueError("factor bounds must increase")
        return value


class KvpTable(_Entry):
    source: str
    default_kvp: int
    rows: list[KvpRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_present(self) -> KvpTable:
        kvps = [row.kvp for row in self.rows]
        if self.default_kvp not in kvps or len(set(kvps)) != len(kvps):
            raise ValueError("rows must have distinct kvp values and include default_kvp")
        return self


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a regular expression: {error}") from None
    return value


class AnatomyRule(_Entry):
    pattern: str
    type: Literal[TYPE_ORDER] | None = None  # type: ignore[valid-type]
    subtype: str | None = None
    bone: bool = False
    reason: Literal["bone", "cartilage"] = "bone"
    """Exclusion reason of a ``bone: true`` class (costal cartilage is cartilage)."""

    _valid = field_validator("pattern")(lambda cls, v: _regex(v))

    @model_validator(mode="after")
    def _type_or_bone(self) -> AnatomyRule:
        if self.bone == (self.type is not None):
            raise ValueError("a rule gives either a type or bone: true")
        return self


class Joint(_Entry):
    name: str
    bone_a: str
    bone_b: str

    _valid = field_validator("bone_a", "bone_b")(lambda cls, v: _regex(v))


class AnatomyTable(_Entry):
    source: str
    rules: list[AnatomyRule]
    joints: list[Joint]


class Band(_Entry):
    upper: float | None = None
    label: str


class Bands(_Entry):
    source: str
    check: bool = False
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        uppers = [b.upper for b in self.bands]
        if uppers[-1] is not None or None in uppers[:-1] or uppers[:-1] != sorted(uppers[:-1]):
            raise ValueError("bands need ascending upper bounds, the last one open")
        return self


class RegionRule(_Entry):
    pattern: str
    region: Literal[(*REPORT_REGIONS, "aorta")]  # type: ignore[valid-type]

    _valid = field_validator("pattern")(lambda cls, v: _regex(v))


class ReportRegions(_Entry):
    source: str
    order: tuple[str, ...]
    rules: list[RegionRule]
    arteries: dict[Literal[ARTERIES], str]  # type: ignore[valid-type]
    exclusion_reasons: tuple[str, ...] = Field(min_length=1)

    _valid = field_validator("arteries")(
        lambda cls, v: {k: _regex(p) for k, p in v.items()})

    @model_validator(mode="after")
    def _order(self) -> ReportRegions:
        if self.order != REPORT_REGIONS or self.exclusion_reasons != EXCLUSION_REASONS:
            raise ValueError(f"order must be {list(REPORT_REGIONS)} and exclusion_reasons "
                             f"{list(EXCLUSION_REASONS)} (contract section 4)")
        return self


class BuiltinAnatomy(_Entry):
    """Parameters of the built-in anatomy model (``imaging/bodymodel.py``)."""

    source: str
    grid_mm: float = Field(gt=0)
    air_hu: float
    lung_min_median_hu: float
    lung_min_area_cm2: float = Field(gt=0)
    lung_min_volume_cm3: float = Field(ge=0)
    chest_lung_area_cm2: float = Field(gt=0)
    chest_min_body_cm2: float = Field(ge=0)
    soft_hu: tuple[float, float]
    heart_area_cm2: float = Field(gt=0)
    heart_margin_mm: float = Field(ge=0)
    core_depth_mm: float = Field(gt=0)
    aorta_radius_mm: tuple[float, float]
    aorta_max_core_cm2: float = Field(gt=0)
    aorta_margin_mm: float = Field(ge=0)
    abdominal_aorta_mm: float = Field(gt=0)
    skull_enclosed_cm2: float = Field(gt=0)
    pelvis_lateral_bone_cm2: float = Field(gt=0)
    bone_length_mm: float = Field(gt=0)
    bone_near_mm: float = Field(ge=0)
    airway_mm: float = Field(ge=0)
    skin_mm: float = Field(ge=0)
    chest_wall_mm: float = Field(gt=0)
    skull_depth_mm: float = Field(gt=0)
    device_min_voxels: int = Field(ge=1)


class ContrastFromBlood(_Entry):
    source: str
    enhanced_above_hu: float
    min_volume_cm3: float = Field(gt=0)


class NoiseTable(_Entry):
    """Parameters of the noise test (:mod:`ectocalc.imaging.noise`)."""

    noise_source: str
    threshold_source: str
    hysteresis_source: str
    check: bool = False
    window_mm: float = Field(gt=0)
    search_mm: float = Field(gt=0)
    tissue_hu: tuple[float, float]
    air_hu: float
    min_windows: int = Field(ge=1)
    strong_sd: float = Field(gt=0)
    weak_sd: float = Field(gt=0)
    reach_mm: float = Field(ge=0)
    max_sd_hu: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> NoiseTable:
        if self.weak_sd > self.strong_sd or self.tissue_hu[0] >= self.tissue_hu[1]:
            raise ValueError("weak_sd must not exceed strong_sd; tissue_hu must ascend")
        return self


class ImagingKnowledge(_Entry):
    """The validated content of ``imaging.yaml``."""

    version: int
    default_convention: str
    conventions: list[ConventionEntry] = Field(min_length=1)
    kvp_thresholds: KvpTable
    anatomy: AnatomyTable
    coronary_bands: Bands
    report_regions: ReportRegions
    builtin_anatomy: BuiltinAnatomy
    contrast_from_blood: ContrastFromBlood
    noise: NoiseTable

    @model_validator(mode="after")
    def _names(self) -> ImagingKnowledge:
        names = [c.name for c in self.conventions]
        if len(set(names)) != len(names) or self.default_convention not in names:
            raise ValueError("convention names must be unique and include default_convention")
        return self

    def sources(self) -> set[str]:
        """Bibliography ids cited (without ``:section``)."""
        cited = [c.source for c in self.conventions] + [
            self.kvp_thresholds.source, self.anatomy.source, self.coronary_bands.source,
            self.report_regions.source, self.builtin_anatomy.source,
            self.contrast_from_blood.source,
            self.noise.noise_source, self.noise.threshold_source, self.noise.hysteresis_source]
        return {s.partition(":")[0] for s in cited}


register_file(FILE, ImagingKnowledge)


@cache
def imaging_knowledge() -> ImagingKnowledge:
    """``imaging.yaml`` of the packaged knowledge bundle, validated, its sources checked
    against the bundle's bibliography.

    Raises
    ------
    ImagingKnowledgeError
        Naming the file and what is wrong.
    """
    try:
        bundle = load_knowledge()
        kb = bundle.part(FILE, ImagingKnowledge)
    except KnowledgeError as error:
        raise ImagingKnowledgeError(str(error)) from None
    unknown = kb.sources() - set(bundle.bibliography.sources)
    if unknown:
        raise ImagingKnowledgeError(f"knowledge/{FILE}: unknown bibliography ids "
                                    f"{sorted(unknown)}")
    return kb
