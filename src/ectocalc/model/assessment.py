"""Typed model of an assessment (contract section 3): what analysis produces and renderers print.

Every item carries the evidence that produced it and the source it rests on.
"""

from __future__ import annotations

from datetime import date as Date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ectocalc.model.scales import Scales
from ectocalc.model.scan import ScanResult
from ectocalc.vocabulary import Confidence, LabFlag, Urgency

if TYPE_CHECKING:
    import pandas as pd

Flag = LabFlag
Severity = Literal["info", "warning", "critical"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Derivation(_Out):
    """How one derived quantity was obtained."""

    quantity: str
    value: float | str | None
    unit: str | None = None
    method: str
    source: str
    inputs: dict[str, str] = Field(default_factory=dict)
    input_refs: list[str] = Field(default_factory=list)
    """Where the lab results it read came from (``labs[2]``, a FHIR ``Observation/…`` id)."""


class UrineCalciumRatio(_Out):
    """Spot urine calcium/creatinine ratio, in both units, judged against the upper limit for
    the patient's age (``definitions.yaml`` urine_indices)."""

    mg_mg: float
    mmol_mmol: float
    upper_limit_mmol_mmol: float | None = None
    age_band: str | None = None
    """The age band whose limit was used, e.g. ``1-2 y``; None without an age."""
    flag: Literal["normal", "high"] | None = None


class Derived(_Out):
    corrected_calcium_mg_dl: float | None = None
    corrected_calcium_mmol_l: float | None = None
    calcium_basis: str | None = None
    calcium_status: Flag | None = None
    """Calcium status on the preferred basis: measured ionized, else corrected, else total."""
    ionized_calcium_mmol_l: float | None = None
    calcium_phosphate_product_mg2_dl2: float | None = None
    calcium_phosphate_product_mmol2_l2: float | None = None
    egfr_ml_min_1_73m2: float | None = None
    egfr_equation: str | None = None
    egfr_by_equation: dict[str, float] = Field(default_factory=dict)
    ckd_stage: str | None = None
    albuminuria_stage: str | None = None
    tubular_phosphate_reabsorption: float | None = None
    tmp_gfr_mg_dl: float | None = None
    tmp_gfr_mmol_l: float | None = None
    urine_calcium_creatinine_ratio: UrineCalciumRatio | None = None
    calcium_creatinine_clearance_ratio: float | None = None
    """(UCa x SCr) / (SCa x UCr): < 0.01 suggests FHH, > 0.02 primary hyperparathyroidism."""
    fractional_excretion_phosphate: float | None = None
    """(UP x SCr) / (SP x UCr) x 100, percent."""
    on_dialysis: bool = False
    acute_kidney_injury: str | None = None
    """Acute kidney injury by the KDIGO 2012 creatinine criteria, with the values (or None)."""
    ckd_chronicity: str | None = None
    """Why reduced kidney function counts as chronic (> 3 months, KDIGO 2012), or None when
    not established (a single eGFR): the CKD-MBD certainty and monitoring follow it."""
    ckd_chronicity_by: Literal["dialysis", "transplant", "history", "egfr"] | None = None
    """What established chronicity, as an id: maintenance dialysis, a kidney transplant, CKD
    stated in the history, or two reduced eGFR results (below ``impaired_egfr_below`` of
    ``definitions.yaml``) more than ``chronic_after_days`` apart. Logic reads this, never the
    wording of :attr:`ckd_chronicity`."""
    basis: list[Derivation] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class LabReport(_Out):
    """A lab result as reported back: value, SI value, the range used and its flag."""

    analyte: str
    label: str
    value: float
    unit: str
    canonical_value: float
    canonical_unit: str
    si_value: float | None = None
    si_unit: str | None = None
    reference_range: tuple[float, float] | None = None
    """Range in the canonical unit."""
    reference_source: str
    flag: Flag | None
    """None when there is no reference interval (and no critical limit is crossed), or when
    the value is a bound whose side of the interval is not one flag."""
    date: Date | None = None
    loinc: str | None = None
    comparator: Literal["<", "<=", ">=", ">"] | None = None
    """The value is a bound as the laboratory reported it (``<`` 3 pg/mL), never dropped."""
    input_ref: str | None = None
    """The input result reported (``labs[2]``; a FHIR Bundle ``entry[5]``)."""
    resource_id: str | None = None
    """Its FHIR resource id, when read from a Bundle."""

    @property
    def flag_shown(self) -> str:
        """The flag as a report shows it; without one, why: ``no interval`` or
        ``indeterminate`` (a bound across the interval)."""
        if self.flag is not None:
            return self.flag
        return "no interval" if self.reference_range is None else "indeterminate"


class MechanismScore(_Out):
    id: str
    score: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list)
    against: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class Mechanism(_Out):
    primary: str | None = None
    confidence: Confidence | None = None
    differential: list[MechanismScore] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class TypeItem(_Out):
    id: str
    site: str
    subtype: str | None = None
    symptoms: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    source: str


class SyndromeItem(_Out):
    id: str
    name: str
    certainty: str
    criteria: list[str] = Field(default_factory=list)
    source: str
    notes: list[str] = Field(default_factory=list)


class PlanItem(_Out):
    """A work-up or management item."""

    id: str
    reason: str
    source: str
    evidence: list[str] = Field(default_factory=list)
    cautions: list[str] = Field(default_factory=list)
    withheld: list[str] = Field(default_factory=list)
    """Related items a guard stopped, and why (e.g. NSAIDs not advised at low eGFR): shown
    here, on the nearest alternative, so that nothing the patient needs disappears silently."""
    certainty: str | None = None
    """How firm the literature is (e.g. 'guideline', 'off-label, no RCT')."""
    urgency: Urgency | None = None
    """How fast a management item is needed (contract 1.1): today, soon or routine."""


class MonitoringItem(_Out):
    test: str
    interval_months: tuple[float, float] | None
    reason: str
    source: str


class Alert(_Out):
    id: str
    severity: Severity
    message: str
    source: str | None = None


class ChemistrySection(_Out):
    """Serum supersaturation (contract ``chemistry``): a computed index, not a T50 measurement."""

    database: str
    temperature_c: float
    saturation_index: dict[str, float]
    """Phase id → log10(IAP/Ksp)."""
    ionic_strength: float
    free_calcium_mmol_l: float
    assumptions: list[str]
    what_if: dict[str, Any]
    """The same indices with phosphate at the upper reference limit (``applied``), or why not."""
    label: str
    reading: str
    inputs: dict[str, Any]


class Assessment(_Out):
    case_id: str | None = None
    source: str | None = None
    patient: dict[str, Any] = Field(default_factory=dict)
    labs: list[LabReport] = Field(default_factory=list)
    derived: Derived = Field(default_factory=Derived)
    mechanism: Mechanism = Field(default_factory=Mechanism)
    types: list[TypeItem] = Field(default_factory=list)
    syndromes: list[SyndromeItem] = Field(default_factory=list)
    workup: list[PlanItem] = Field(default_factory=list)
    management: list[PlanItem] = Field(default_factory=list)
    monitoring: list[MonitoringItem] = Field(default_factory=list)
    chemistry: ChemistrySection | None = None
    """Serum supersaturation (see :mod:`ectocalc.chemistry`), or None when inputs are missing."""
    imaging: list[ScanResult] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    scales: Scales = Field(default_factory=Scales)
    """Clinical scales (MESA, CAC-DRS, aortic valve calcium, AAC-24, Adragão): see
    :mod:`ectocalc.scales`."""
    skipped_inputs: list[str] = Field(default_factory=list)
    """Inputs not used, and why (e.g. a FHIR Observation outside the analyte catalogue)."""
    disclaimer: str
    knowledge_version: str
    """The knowledge bundle: schema version + hash of every file (:mod:`ectocalc.knowledge`)."""
    ectocalc_version: str
    as_of: Date | None = None
    """The assessment reflects what was known on this date (results dated later left out)."""
    input_digest: str | None = None
    """``sha256:`` of the case as canonical JSON: the same input always gives the same digest."""

    def to_frame(self) -> pd.DataFrame:
        """The assessment's quantities as one table (pandas), at full precision.

        Returns
        -------
        pandas.DataFrame
            One row per reported lab result (``section`` ``lab``: its latest result, flagged)
            and per derived quantity (``section`` ``derived``: corrected calcium, Ca x P,
            eGFR, TmP/GFR ...), with columns ``section``, ``quantity``, ``value``, ``unit``,
            ``flag``, ``reference_low``, ``reference_high``, ``date``, ``method`` and
            ``source``. Rounding is for display only (:mod:`ectocalc.model.display`).

        Examples
        --------
        >>> import ectocalc
        >>> frame = ectocalc.assess("examples/cases/ckd4.yaml").to_frame()
        >>> row = frame.set_index("quantity").loc["phosphate"]
        >>> row.section, row.value, row.unit, row.flag  # 5.1 mg/dL, laboratory range 2.5-4.5
        ('lab', 5.1, 'mg/dL', 'high')
        """
        import pandas as pd

        rows = [{"section": "lab", "quantity": r.analyte, "value": r.canonical_value,
                 "unit": r.canonical_unit, "flag": r.flag,
                 "reference_low": r.reference_range[0] if r.reference_range else None,
                 "reference_high": r.reference_range[1] if r.reference_range else None,
                 "date": r.date, "method": None, "source": r.reference_source}
                for r in self.labs]
        rows += [{"section": "derived", "quantity": d.quantity, "value": d.value,
                  "unit": d.unit, "flag": None, "reference_low": None, "reference_high": None,
                  "date": None, "method": d.method, "source": d.source}
                 for d in self.derived.basis]
        return pd.DataFrame(rows, columns=["section", "quantity", "value", "unit", "flag",
                                           "reference_low", "reference_high", "date", "method",
                                           "source"])
