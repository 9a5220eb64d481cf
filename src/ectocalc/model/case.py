"""Typed model of a patient case: what the loaders produce and the analysis reads.

Values here are already validated: a :class:`LabResult` always names a catalogued analyte and
carries its value converted to the analyte's canonical unit.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime as DateTime
from datetime import time as Time
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ectocalc.vocabulary import CalcificationType, Modality, Pain, Sex

CodeSystem = Literal["icd10cm", "snomed"]
Zygosity = Literal["monoallelic", "heterozygous", "biallelic", "homozygous",
                   "compound_heterozygous", "hemizygous"]
VariantClass = Literal["pathogenic", "likely_pathogenic", "vus", "likely_benign", "benign"]


def _not_bool(value: object) -> object:
    """Refuse ``true``/``false`` where a number belongs (pydantic would read 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
Count = Annotated[int, BeforeValidator(_not_bool)]
Comparator = Literal["<", "<=", ">=", ">"]


MAX_TEXT = 10_000
"""Longest free text accepted in one field (characters): a history item is a line or a paragraph,
not a document; longer input is refused (a whole record belongs in the patient record)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


DAYS_PER_YEAR = 365.2425
"""Mean Gregorian year in days: intervals in years (and an age carried forward without a
birth date)."""


def _birthday(birth_date: Date, year: int) -> Date:
    """The birthday in ``year``; 29 February falls on 1 March in other years."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return Date(year, 3, 1)


def age_on(birth_date: Date, day: Date) -> float:
    """Calendar age in years on ``day``: completed years plus the part of the current one.

    A person is 18 on their 18th birthday (a mean-year division would still say 17.999).

    Examples
    --------
    >>> age_on(Date(2008, 6, 1), Date(2026, 6, 1)), age_on(Date(2008, 6, 2), Date(2026, 6, 1))
    (18.0, 17.997260273972604)
    >>> age_on(Date(2024, 2, 29), Date(2025, 3, 1))
    1.0
    """
    years = day.year - birth_date.year
    if _birthday(birth_date, day.year) > day:
        years -= 1
    last, following = _birthday(birth_date, birth_date.year + years), _birthday(
        birth_date, birth_date.year + years + 1)
    return years + (day - last).days / (following - last).days

RaceEthnicity = Literal["white", "chinese", "black", "hispanic"]
"""The four groups of the MESA risk score (McClelland 2015); used by no other calculation."""
Smoking = Literal["never", "former", "current"]


class Patient(_Strict):
    """Identity and the demographics the equations and scales need.

    Age is given directly or derived from ``birth_date`` and the case ``date``.
    """

    id: str | None = Field(default=None, min_length=1, max_length=200)
    """The patient's identifier (MRN, FHIR ``Patient.identifier``): links the record."""
    age_years: Number | None = Field(default=None, ge=0, le=130)
    sex: Sex | None = None
    birth_date: Date | None = None
    date: Date | None = None
    pregnant: bool | None = None
    gestation_weeks: Number | None = Field(default=None, ge=0, le=45)
    height_cm: Number | None = Field(default=None, gt=20, le=250)
    race_ethnicity: RaceEthnicity | None = None

    @model_validator(mode="after")
    def _derive_age(self) -> Patient:
        if self.age_years is None and self.birth_date is not None:
            if self.date is None:
                raise ValueError("birth_date needs the case 'date' to derive the age")
            if self.date < self.birth_date:
                raise ValueError("date is before birth_date")
            age = age_on(self.birth_date, self.date)
            if age > 130:
                raise ValueError("birth_date is more than 130 years before date")
            object.__setattr__(self, "age_years", age)
        if self.pregnant and self.sex == "male":
            raise ValueError("pregnant is true but sex is male")
        return self


class LabResult(_Strict):
    """One laboratory result, as given and in the analyte's canonical unit."""

    analyte: str
    value: float
    unit: str
    canonical_value: float
    canonical_unit: str
    loinc: str | None = None
    date: Date | None = None
    reference_range: tuple[float, float] | None = None
    """Laboratory-supplied range, converted to the canonical unit."""
    comparator: Comparator | None = None
    """The value is a bound (FHIR ``Quantity.comparator``): ``<`` 3 means below 3."""
    taken_at: DateTime | None = None
    """Date and time of the sample when the input gave a time of day (UTC, naive)."""
    input_ref: str | None = None
    """Where in the input this came from (``labs[2]``, ``entry[5]``): evidence points back."""
    resource_id: str | None = None
    """The FHIR resource id (``Observation/…``, ``Condition/…``) when read from a Bundle."""

    @property
    def moment(self) -> tuple[Date, DateTime] | None:
        """Sort key in time (``None`` when undated): the date, then the time if known."""
        if self.date is None:
            return None
        return self.date, self.taken_at or DateTime.combine(self.date, Time.min)


class CodedText(_Strict):
    """A history item: free text and/or a code."""

    text: str | None = Field(default=None, max_length=MAX_TEXT)
    code: str | None = None
    system: CodeSystem | None = None
    present: bool = True
    """False for a refuted or entered-in-error record (FHIR verificationStatus)."""
    input_ref: str | None = None
    """Where in the input this came from (``labs[2]``, ``entry[5]``): evidence points back."""
    resource_id: str | None = None
    """The FHIR resource id (``Observation/…``, ``Condition/…``) when read from a Bundle."""

    @model_validator(mode="after")
    def _needs_text_or_code(self) -> CodedText:
        if not self.text and not self.code:
            raise ValueError("needs 'text' or 'code'")
        return self


class Condition(CodedText):
    """A diagnosis or history item."""

    past: bool = False
    """Resolved, inactive or in remission (FHIR ``clinicalStatus``): read as history, like
    "h/o" in its text (a state is then absent; a past injury or lifelong disease still counts)."""


class Medication(CodedText):
    """A current or past medication (free text; dose may be part of the text)."""

    system: Literal["rxnorm", "atc", "snomed"] | None = None  # type: ignore[assignment]


class GeneticFinding(_Strict):
    gene: str = Field(min_length=2)
    zygosity: Zygosity | None = None
    classification: VariantClass = "pathogenic"
    variant: str | None = None


class Finding(_Strict):
    """An observed calcification or related sign."""

    site: str = Field(min_length=1, max_length=MAX_TEXT)
    body_site_code: str | None = None
    type: CalcificationType | None = None
    size_mm: Number | None = Field(default=None, gt=0, le=1000)
    pain: Pain | None = None
    functional_limitation: bool | None = None
    ulcerated: bool | None = None
    signs: list[str] = Field(default_factory=list)
    modality: Modality | None = None
    conservative_treatment_failed: bool | None = None
    origin: Literal["reported", "ct"] = "reported"
    """``ct`` for lesions found by ``ectocalc scan`` on a scan listed in the case."""
    agatston: Number | None = Field(default=None, ge=0)
    volume_mm3: Number | None = Field(default=None, ge=0)
    mass_mg: Number | None = Field(default=None, ge=0)
    vessels: Count | None = Field(default=None, ge=0, le=4)
    """Coronary vessels with calcium (LM, LAD, LCx, RCA) for CAC-DRS N."""
    kauppila: dict[Literal["L1", "L2", "L3", "L4"], tuple[Count, Count]] | None = None
    """Kauppila AAC-24: per lumbar level [anterior, posterior] wall, 0-3 each."""
    adragao: dict[Literal["pelvis", "hands"], tuple[Count, ...]] | None = None
    """Adragão score: per radiograph the 0/1 quadrant or section readings."""


class RiskFactors(_Strict):
    """Cardiovascular risk factors for the scales (contract §2 additions)."""

    smoking: Smoking | None = None
    systolic_bp_mmhg: Number | None = Field(default=None, ge=50, le=300)
    family_history_chd: bool | None = None
    diabetes: bool | None = None


class ScanRef(_Strict):
    """A CT listed in a case: quantified and joined to the assessment (paths relative to the
    case file; ``anatomy``/``anatomy_names`` as ``ectocalc scan --anatomy/--anatomy-names``)."""

    path: str
    date: Date | None = None
    anatomy: str | None = None
    anatomy_names: str | None = None


class Case(_Strict):
    """A whole patient case, version 1 of the contract's case format."""

    id: str | None = None
    date: Date | None = None
    """The case's date ("as of"): undated results are taken as of this date."""
    patient: Patient = Field(default_factory=Patient)
    risk_factors: RiskFactors = Field(default_factory=RiskFactors)
    labs: list[LabResult] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    genetics: list[GeneticFinding] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    scans: list[ScanRef] = Field(default_factory=list)
    source: str | None = None
    """Where the case was read from (for messages)."""
    skipped: list[str] = Field(default_factory=list)
    """Inputs the loader did not use, and why (e.g. a FHIR Observation outside the catalogue)."""

    def latest(self, analyte: str) -> LabResult | None:
        """The most recent result for ``analyte`` (by date and time; an undated result is current,
        i.e. as of the case date, and the last given wins among equals).

        Examples
        --------
        >>> c = Case(labs=[LabResult(analyte="calcium", value=9.0, unit="mg/dL",
        ...     canonical_value=9.0, canonical_unit="mg/dL")])
        >>> c.latest("calcium").value
        9.0
        >>> c.latest("phosphate") is None
        True
        """
        results = [(i, r) for i, r in enumerate(self.labs) if r.analyte == analyte]
        if not results:
            return None
        return max(results, key=lambda ir: (ir[1].moment is None, ir[1].moment or (Date.min,
                                                                                DateTime.min),
                                            ir[0]))[1]
