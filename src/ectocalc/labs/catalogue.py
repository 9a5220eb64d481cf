"""The analyte catalogue: names, LOINC codes, units, ranges and flags (data in analytes.yaml).

Examples
--------
>>> analyte = default_catalogue().find("2777-1")
>>> analyte.id, analyte.canonical_unit
('phosphate', 'mg/dL')
>>> round(convert(1.0, "mmol/L", analyte), 3)
3.097
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ectocalc.model.assessment import Flag

Range = tuple[float | None, float | None]


class SIUnit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    unit: str
    factor: float


class AgePartition(BaseModel):
    """One age (and optionally sex) partition of a paediatric reference interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    age: tuple[float, float]
    """Ages in years, lower bound included, upper bound excluded."""
    range: tuple[float, float]
    """The interval in the analyte's canonical unit."""
    sex: str | None = None
    label: str | None = None
    """The age band as the source words it (``"15 days to <1 y"``)."""
    published: tuple[float, float] | None = None
    """The interval as published, in the reference's ``published_unit``."""


class AgeReference(BaseModel):
    """Age-partitioned (paediatric) reference intervals with their source."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    check: bool = False
    published_unit: str | None = None
    partitions: list[AgePartition]


class Analyte(BaseModel):
    """One catalogued analyte; validated when the catalogue loads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    synonyms: list[str] = Field(default_factory=list)
    loinc: list[str] = Field(default_factory=list)
    loinc_check: bool = False
    canonical_unit: str
    units: dict[str, float | None]
    si: SIUnit | None = None
    reference: tuple[float, float] | None = None
    reference_by_sex: dict[str, tuple[float, float]] | None = None
    reference_check: bool = False
    reference_note: str | None = None
    reference_by_age: AgeReference | None = None
    """Intervals for ages below the adult range (children differ: phosphate, ALP, creatinine)."""
    critical: Range | None = None
    plausible: tuple[float, float]
    possible: tuple[float, float]

    @model_validator(mode="after")
    def _canonical_unit_listed(self) -> Analyte:
        if self.units.get(self.canonical_unit) != 1.0:
            raise ValueError(f"{self.id}: canonical unit {self.canonical_unit} must have factor 1")
        if self.reference_by_age is not None:
            self._check_published(self.reference_by_age)
        return self

    def _check_published(self, by_age: AgeReference) -> None:
        """Each partition's ``range`` is its ``published`` interval converted, to the decimals
        written (a transcription error fails the catalogue)."""
        for p in by_age.partitions:
            if p.published is None:
                continue
            factor = self.units.get(by_age.published_unit or "")
            if factor is None:
                raise ValueError(f"{self.id}: reference_by_age.published_unit "
                                 f"{by_age.published_unit!r} is not one of its units")
            for written, published in zip(p.range, p.published, strict=True):
                decimals = len(repr(float(written)).partition(".")[2].rstrip("0"))
                if abs(written - published * factor) > 0.5 * 10 ** -decimals + 1e-9:
                    raise ValueError(
                        f"{self.id}: reference_by_age {p.label or p.age}: range {list(p.range)} "
                        f"is not the published {list(p.published)} {by_age.published_unit}")

    def age_partition(self, sex: str | None, age_years: float | None) -> AgePartition | None:
        """The paediatric partition that holds for this age and sex, or None (adult ranges)."""
        if self.reference_by_age is None or age_years is None:
            return None
        return next((p for p in self.reference_by_age.partitions
                     if p.age[0] <= age_years < p.age[1] and p.sex in (None, sex)), None)

    def reference_for(self, sex: str | None,
                      age_years: float | None = None) -> tuple[float, float] | None:
        """Typical interval in the canonical unit: the age partition when one holds, else adult
        (sex-specific where it differs)."""
        partition = self.age_partition(sex, age_years)
        if partition is not None:
            return partition.range
        if self.reference_by_sex is not None:
            return self.reference_by_sex.get(sex) if sex else None
        return self.reference


class Catalogue(BaseModel):
    """The analyte catalogue (``analytes.yaml``): analytes keyed by id, with the sources of the
    typical, critical and plausibility limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    sources: dict[str, str]
    analytes: dict[str, Analyte]

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("analytes"), dict):
            data = {**data, "analytes": {
                key: {**entry, "id": key} if isinstance(entry, dict) else entry
                for key, entry in data["analytes"].items()}}
        return data

    @cached_property
    def by_name(self) -> dict[str, Analyte]:
        """Every id, label, synonym and LOINC code (normalised) -> analyte."""
        index: dict[str, Analyte] = {}
        for entry in self.analytes.values():
            for key in [entry.id, entry.label, *entry.synonyms, *entry.loinc]:
                index[_name_key(key)] = entry
        return index

    def find(self, name_or_loinc: str) -> Analyte | None:
        """The analyte named by id, label, synonym or LOINC code, or None."""
        return self.by_name.get(_name_key(name_or_loinc))


def _name_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def unit_key(unit: str) -> str:
    """Case- and micro-sign-insensitive form of a unit for matching (``µmol/l`` → ``umol/l``)."""
    return unit.strip().replace("µ", "u").replace("μ", "u").replace(" ", "").lower()


def default_catalogue() -> Catalogue:
    """The packaged catalogue (``knowledge.analytes`` of the packaged knowledge bundle)."""
    from ectocalc.knowledge import load_knowledge

    return load_knowledge().analytes


def canonical_unit_for(unit: str, entry: Analyte) -> str | None:
    """The catalogue's spelling of ``unit`` for this analyte, or None if not accepted."""
    wanted = unit_key(unit)
    return next((u for u in entry.units if unit_key(u) == wanted), None)


def convert(value: float, unit: str, entry: Analyte) -> float:
    """Convert ``value`` in ``unit`` to the analyte's canonical unit.

    Raises
    ------
    ValueError
        When the unit is not accepted for this analyte.
    """
    spelled = canonical_unit_for(unit, entry)
    if spelled is None:
        raise ValueError(f"unit '{unit}' is not convertible for {entry.id} "
                         f"(accepted: {', '.join(u for u in entry.units if u)})")
    factor = entry.units[spelled]
    return value if factor is None else value * factor


def kept_unit(unit: str, entry: Analyte) -> str:
    """Canonical unit of a converted value: assay units that do not convert keep their own."""
    spelled = canonical_unit_for(unit, entry)
    return spelled if spelled is not None and entry.units[spelled] is None else entry.canonical_unit


def flag_value(value: float, reference: tuple[float, float] | None,
               critical: Range | None, *, comparator: str | None = None) -> Flag | None:
    """Flag a value against its reference interval and critical limits.

    Returns None when there is no interval to judge against and no critical limit is crossed
    (a value without an interval is never called "normal"), and when ``value`` is a bound
    (``comparator`` ``<``, ``<=``, ``>=``, ``>``) whose side of the interval is not one flag:
    "< 100" against 10-65 may be low, normal or high.

    Examples
    --------
    >>> flag_value(12.0, (8.6, 10.2), (6.0, 13.0))
    'high'
    >>> flag_value(13.5, (8.6, 10.2), (6.0, 13.0))
    'critical_high'
    >>> flag_value(0.3, None, None) is None
    True
    >>> flag_value(3.0, (10.0, 65.0), None, comparator="<")      # undetectable PTH
    'low'
    >>> flag_value(100.0, (10.0, 65.0), None, comparator="<") is None
    True
    """
    if comparator is None:
        return _flag(value, reference, critical)
    below = comparator in ("<", "<=")
    if comparator in ("<", ">"):  # strict: the nearest value the result can take
        value = math.nextafter(value, -math.inf if below else math.inf)
    flag = _flag(value, reference, critical)
    if flag is None or flag in (("low", "critical_low") if below else ("high", "critical_high")):
        return flag
    if below and flag == "normal" and reference is not None and reference[0] <= 0:
        return "normal"  # nothing lies below a lower limit of 0
    return None


def _flag(value: float, reference: tuple[float, float] | None,
          critical: Range | None) -> Flag | None:
    if critical is not None:
        low, high = critical
        if low is not None and value < low:
            return "critical_low"
        if high is not None and value > high:
            return "critical_high"
    if reference is not None:
        if value < reference[0]:
            return "low"
        if value > reference[1]:
            return "high"
        return "normal"
    return None
