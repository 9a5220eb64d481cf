"""The analyte catalogue: names, LOINC codes, units, ranges and flags (data in analytes.yaml).

Examples
--------
>>> analyte = find_analyte("2777-1")
>>> analyte.id, analyte.canonical_unit
('phosphate', 'mg/dL')
>>> round(convert(1.0, "mmol/L", analyte), 3)
3.097
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ectocalc.model.assessment import Flag

Range = tuple[float | None, float | None]


class SIUnit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    unit: str
    factor: float


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
    critical: Range | None = None
    plausible: tuple[float, float]
    possible: tuple[float, float]

    @model_validator(mode="after")
    def _canonical_unit_listed(self) -> Analyte:
        if self.units.get(self.canonical_unit) != 1.0:
            raise ValueError(f"{self.id}: canonical unit {self.canonical_unit} must have factor 1")
        return self

    def reference_for(self, sex: str | None) -> tuple[float, float] | None:
        """Typical adult interval in the canonical unit (sex-specific where it differs)."""
        if self.reference_by_sex is not None:
            return self.reference_by_sex.get(sex) if sex else None
        return self.reference


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    sources: dict[str, str]
    analytes: dict[str, Analyte]


def unit_key(unit: str) -> str:
    """Case- and micro-sign-insensitive form of a unit for matching (``µmol/l`` → ``umol/l``)."""
    return unit.strip().replace("µ", "u").replace("μ", "u").replace(" ", "").lower()


@cache
def load_catalogue() -> Catalogue:
    """Load and validate ``analytes.yaml`` (a broken file fails loudly)."""
    text = files("ectocalc.knowledge").joinpath("data", "analytes.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)
    for analyte_id, entry in raw.get("analytes", {}).items():
        entry["id"] = analyte_id
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as error:  # a packaging defect, not user input
        raise RuntimeError(f"ectocalc analyte catalogue is invalid: {error}") from error


@cache
def _index() -> dict[str, Analyte]:
    index: dict[str, Analyte] = {}
    for analyte in load_catalogue().analytes.values():
        for key in [analyte.id, analyte.label, *analyte.synonyms, *analyte.loinc]:
            index[key.strip().lower().replace(" ", "_")] = analyte
    return index


def find_analyte(name_or_loinc: str) -> Analyte | None:
    """The analyte named by id, label, synonym or LOINC code, or None."""
    return _index().get(name_or_loinc.strip().lower().replace(" ", "_"))


def analyte(analyte_id: str) -> Analyte:
    """The catalogued analyte with this id (KeyError for an unknown id: a programming error)."""
    return load_catalogue().analytes[analyte_id]


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


def flag_value(value: float, reference: tuple[float, float] | None, critical: Range | None) -> Flag:
    """Flag a value against its reference interval and critical limits.

    Examples
    --------
    >>> flag_value(12.0, (8.6, 10.2), (6.0, 13.0))
    'high'
    >>> flag_value(13.5, (8.6, 10.2), (6.0, 13.0))
    'critical_high'
    """
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
