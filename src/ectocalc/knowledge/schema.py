"""Schema of the knowledge base: the YAML files under ``knowledge/data/`` and the rule grammar.

A rule condition (``when``) is a mapping with exactly one key. The key is either a combinator
(``all``, ``any``, ``not``, ``at_least``, ``finding``) or a predicate from
:data:`CASE_PREDICATES` or :data:`FINDING_PREDICATES`;
predicates written ``name.key`` (``lab.phosphate: high``) take the part after the dot as their
key. The grammar lives here so that a file is checked completely when it loads; the meaning of
each predicate is implemented in :mod:`ectocalc.reasoning.rules`.

Examples
--------
>>> check_condition({"all": [{"lab.phosphate": "high"}, {"ckd_stage_at_least": "G3a"}]},
...                 path="x", refs=None)
>>> check_condition({"lab.phosphate": "sky-high"}, path="x", refs=None)
Traceback (most recent call last):
...
ectocalc.knowledge.schema.KnowledgeError: x: lab.phosphate: 'sky-high' is not one of ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ectocalc.vocabulary import (
    CERTAINTIES as CERTAINTIES,
)
from ectocalc.vocabulary import (
    CKD_STAGES as CKD_STAGES,
)
from ectocalc.vocabulary import (
    CONFIDENCES as CONFIDENCES,
)
from ectocalc.vocabulary import LAB_FLAGS as _LAB_FLAGS
from ectocalc.vocabulary import (
    MANAGEMENT as MANAGEMENT,
)
from ectocalc.vocabulary import (
    MECHANISMS as MECHANISMS,
)
from ectocalc.vocabulary import (
    MODALITIES as MODALITIES,
)
from ectocalc.vocabulary import (
    PAIN_LEVELS as PAIN_LEVELS,
)
from ectocalc.vocabulary import (
    SEXES as SEXES,
)
from ectocalc.vocabulary import (
    SYNDROMES as SYNDROMES,
)
from ectocalc.vocabulary import (
    TYPES as TYPES,
)
from ectocalc.vocabulary import (
    WORKUP as WORKUP,
)
from ectocalc.vocabulary import (
    CalcificationType,
    Certainty,
    CkdStage,
    LabFlag,
    MechanismId,
    SyndromeId,
    Urgency,
)

# The contract's identifiers live in ectocalc.vocabulary; re-exported here for the grammar.
LAB_FLAGS = (*_LAB_FLAGS, "abnormal", "missing", "measured")
"""Flags a ``lab.<analyte>`` condition may ask for: a report's flag or a group of them."""

ArgKind = Literal["concepts", "sites", "signs", "flags", "number", "bool", "stage", "certainty",
                  "syndromes", "mechanisms", "types", "genes", "pain", "modalities", "sexes",
                  "kidney", "plans", "confidences", "criteria", "count"]

# Predicates over the whole case.
CASE_PREDICATES: dict[str, ArgKind] = {
    "concept": "concepts", "family_history": "concepts", "suspected": "concepts",
    # a relative of the first (parent, sibling, child) or up to the second degree (grandparent,
    # aunt, uncle, niece, nephew, half-sibling); cousins are third degree
    "first_degree_family_history": "concepts", "close_family_history": "concepts",
    "active": "concepts",
    "calcium": "flags", "urine_calcium_ratio": "flags",
    "ckd_stage_at_least": "stage", "ckd_stage_below": "stage", "dialysis": "bool",
    "egfr_below": "number", "kidney_function": "kidney",
    "ca_p_product_above": "number", "tmp_gfr_above": "number", "age_below": "number",
    "calcium_below": "number", "calcium_at_least": "number", "egfr_not_steady": "bool",
    "patient_sex": "sexes",
    "age_at_least": "number", "gestation_weeks_at_least": "number", "gene": "genes",
    "gene_biallelic": "genes", "gene_monoallelic": "genes", "has_findings": "bool",
    "type_present": "types",
    "syndrome": "syndromes", "mechanism": "mechanisms", "confidence": "confidences",
    "plan": "plans",
    # syndrome criteria counting (only inside a syndrome's levels)
    "criterion": "criteria", "major_categories_at_least": "count",
    "major_in_one_category_at_least": "count", "major_at_least": "count",
    "minor_at_least": "count", "major_with_minor_other_category": "bool",
    # issue 20 (clinical-a): a drug taken for an indication that holds (management.yaml
    # medication_roles): reduce or re-time it, never stop it as a culprit
    "drug_needed": "concepts",
}
# Predicates over one finding (only inside ``finding:``).
FINDING_PREDICATES: dict[str, ArgKind] = {
    "type": "types", "site": "sites", "sign": "signs", "pain_at_least": "pain",
    "size_mm_above": "number", "size_mm_at_least": "number", "size_mm_below": "number",
    "ulcerated": "bool", "functional_limitation": "bool",
    "conservative_treatment_failed": "bool", "modality": "modalities", "localised": "bool",
    "local_cause": "concepts",
}
# Predicates written ``name.key``: the key is an analyte or a syndrome id.
KEYED_PREDICATES: dict[str, tuple[str, ArgKind]] = {
    "lab": ("analyte", "flags"), "lab_above": ("analyte", "number"),
    "lab_above_uln": ("analyte", "number"),
    "persistent_high": ("analyte", "bool"),
    "syndrome_at_least": ("syndrome", "certainty"),
    # issue 20 (clinical-a)
    "lab_at_least": ("analyte", "number"),
    "within_months": ("concept", "number"),
    # issue 20 (clinical-b)
    "derived_above": ("derived", "number"), "derived_below": ("derived", "number"),
}
DERIVED_NUMBERS = ("calcium_creatinine_clearance_ratio", "fractional_excretion_phosphate",
                   "urine_calcium_creatinine_ratio")
"""Derived indices ``derived_above.<x>`` / ``derived_below.<x>`` may compare (the urine
calcium/creatinine ratio in mmol/mmol); ``urine_calcium_ratio: high | normal`` judges it for
age."""

Condition = dict[str, Any]


class KnowledgeError(RuntimeError):
    """The knowledge base is broken: a packaging defect, reported with the file and entry."""


@dataclass(frozen=True)
class References:
    """Identifiers a condition may name, gathered from the whole knowledge base."""

    concepts: frozenset[str]
    sites: frozenset[str]
    signs: frozenset[str]
    analytes: frozenset[str]
    criteria: frozenset[str] = frozenset()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_arg(kind: ArgKind, value: Any, where: str, refs: References | None) -> None:
    """Check one predicate argument; raise :class:`KnowledgeError` naming ``where``."""
    choices: dict[str, tuple[str, ...] | frozenset[str] | None] = {
        "flags": LAB_FLAGS, "stage": CKD_STAGES, "certainty": CERTAINTIES,
        "syndromes": SYNDROMES, "mechanisms": MECHANISMS, "types": TYPES, "pain": PAIN_LEVELS,
        "modalities": MODALITIES, "sexes": SEXES,
        "kidney": ("normal", "impaired", "missing"), "plans": WORKUP + MANAGEMENT,
        "confidences": CONFIDENCES,
        "concepts": refs.concepts if refs else None, "sites": refs.sites if refs else None,
        "signs": refs.signs if refs else None, "criteria": refs.criteria if refs else None,
    }
    if kind in ("number", "count"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise KnowledgeError(f"{where}: {value!r} is not a number")
        return
    if kind == "bool":
        if not isinstance(value, bool):
            raise KnowledgeError(f"{where}: {value!r} is not true/false")
        return
    if kind == "genes":
        if not all(isinstance(g, str) and g.isupper() for g in _as_list(value)):
            raise KnowledgeError(f"{where}: {value!r} is not a list of HGNC gene symbols")
        return
    allowed = choices[kind]
    if allowed is None:  # cross-references are checked once the whole base is known
        return
    for item in _as_list(value):
        if item not in allowed:
            raise KnowledgeError(f"{where}: {item!r} is not one of {sorted(allowed)}")


def check_condition(condition: Any, *, path: str, refs: References | None,
                    in_finding: bool = False) -> None:
    """Check a rule condition against the grammar (and the known ids when ``refs`` is given).

    Raises
    ------
    KnowledgeError
        Naming ``path`` and the offending key or value.
    """
    if not isinstance(condition, dict) or len(condition) != 1:
        raise KnowledgeError(f"{path}: a condition is a mapping with exactly one key, "
                             f"got {condition!r}")
    ((key, value),) = condition.items()
    where = f"{path}: {key}"
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise KnowledgeError(f"{where}: needs a non-empty list")
        for i, sub in enumerate(value):
            check_condition(sub, path=f"{path}.{key}[{i}]", refs=refs, in_finding=in_finding)
    elif key == "not":
        check_condition(value, path=f"{path}.not", refs=refs, in_finding=in_finding)
    elif key == "at_least":
        if not isinstance(value, dict) or set(value) != {"n", "of"}:
            raise KnowledgeError(f"{where}: needs {{n: <count>, of: [conditions]}}")
        _check_arg("count", value["n"], where, refs)
        for i, sub in enumerate(value["of"]):
            check_condition(sub, path=f"{path}.at_least[{i}]", refs=refs, in_finding=in_finding)
    elif key == "finding":
        if in_finding:
            raise KnowledgeError(f"{where}: 'finding' cannot be nested")
        check_condition(value, path=f"{path}.finding", refs=refs, in_finding=True)
    elif "." in key:
        name, _, subject = key.partition(".")
        if name not in KEYED_PREDICATES:
            raise KnowledgeError(f"{where}: unknown predicate '{name}'")
        subject_kind, kind = KEYED_PREDICATES[name]
        allowed = {"syndrome": SYNDROMES, "derived": DERIVED_NUMBERS,
                   "analyte": refs.analytes if refs else None,
                   "concept": refs.concepts if refs else None}[subject_kind]
        if allowed is not None and subject not in allowed:
            raise KnowledgeError(f"{where}: unknown {subject_kind} '{subject}'")
        _check_arg(kind, value, where, refs)
    elif key in FINDING_PREDICATES:
        if not in_finding:
            raise KnowledgeError(f"{where}: '{key}' is a finding predicate: wrap it in 'finding:'")
        _check_arg(FINDING_PREDICATES[key], value, where, refs)
    elif key in CASE_PREDICATES:
        _check_arg(CASE_PREDICATES[key], value, where, refs)
    else:
        raise KnowledgeError(f"{where}: unknown predicate or combinator '{key}'")


# ------------------------------------------------------------------------------- file models


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Entry):
    short: str
    citation: str
    check: bool = False


class Bibliography(_Entry):
    version: int
    sources: dict[str, Source]


class Sourced(_Entry):
    """Anything that cites: ``source`` is a bibliography id, optionally ``id:section``."""

    source: str
    check: bool = False
    """True where the fact is marked [check] in the references: surfaced as uncertain."""
    named_by: list[str] = Field(default_factory=list)
    """Other sources (typically the seed texts) that name the same item."""


ConceptKind = Literal["condition", "medication", "procedure", "sign", "site", "family_history"]


class PatientGuard(Sourced):
    """Who a concept read from free text can apply to (``concepts.yaml``: ``patient``)."""

    sex: list[Literal["female", "male"]] | None = None
    age_at_least: float | None = None
    reason: str
    """Why, shown when a mention is set aside (e.g. a gestational age at birth in a child)."""


class ConceptEntry(Sourced):
    """One lexicon entry (concepts.yaml)."""

    id: str
    kind: ConceptKind
    label: str
    terms: list[str] = Field(default_factory=list)
    icd10cm: list[str] = Field(default_factory=list)
    snomed: list[str] = Field(default_factory=list)
    code_attributes: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Attributes implied by an ICD-10-CM code prefix, e.g. ``N18.4: {stage: "4"}``."""
    past_counts: bool = False
    """A past episode still matters now (an injury, radiotherapy, surgery): "h/o", "s/p",
    "former" or an ended date range do not make it absent, as they do for a state (dialysis,
    a disease, a medication)."""
    patient: PatientGuard | None = None
    """A mention in text is set aside (listed in ``skipped_inputs``) for a patient outside it."""


class Lexicon(_Entry):
    version: int
    concepts: list[ConceptEntry]


class Signal(Sourced):
    """One piece of evidence for (or against) a mechanism."""

    when: Condition
    weight: float = Field(gt=0, le=1)
    label: str


class MechanismEntry(Sourced):
    id: MechanismId
    label: str
    description: str
    signals: list[Signal] = Field(default_factory=list)
    against: list[Signal] = Field(default_factory=list)
    residual: float | None = Field(default=None, ge=0, le=1)
    """Score when no other mechanism is supported, shrinking as others rise (idiopathic)."""


class MissingInput(_Entry):
    label: str
    when: Condition
    """Holds when the input is missing."""


class MechanismSettings(Sourced):
    high_confidence: float
    moderate_confidence: float
    margin: float
    report_below: float
    core_labs: list[MissingInput]
    """Labs without which a metastatic mechanism cannot be excluded (seed blood tests)."""


class MechanismsFile(_Entry):
    version: int
    settings: MechanismSettings
    mechanisms: list[MechanismEntry]


class Cause(Sourced):
    """A cause or risk factor, the concepts that recognise it and the mechanisms it feeds."""

    id: str
    label: str
    kind: Literal["cause", "risk_factor"]
    mechanisms: list[MechanismId]
    concepts: list[str] = Field(default_factory=list)
    other_facts: str | None = None
    """How the engine sees it when no concept does (a lab, age, a gene)."""
    seed_quote: str | None = None


class CausesFile(_Entry):
    version: int
    causes: list[Cause]


class Symptom(Sourced):
    id: str
    label: str
    applies_to: Literal["valvular", "arterial"] | None = None
    """Vascular symptoms: only for valve findings (subtype valvular) or only for the others."""


class TypeEntry(Sourced):
    id: CalcificationType
    label: str
    sites: list[str] = Field(default_factory=list)
    """Site concepts that decide this type (checked in the file's order of types)."""
    weak_sites: list[str] = Field(default_factory=list)
    """Sites that decide it only when no strong site or sign does."""
    signs: list[str] = Field(default_factory=list)
    """Signs that decide it when no strong site does."""
    subtypes: dict[str, str] = Field(default_factory=dict)
    """Site concept id -> subtype label."""
    symptoms: list[Symptom] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    """Typical locations named by the sources (e.g. shoulder, hip and knee)."""


class TypesFile(_Entry):
    version: int
    default_type: CalcificationType
    types: list[TypeEntry]


class Criterion(Sourced):
    id: str
    text: str
    when: Condition
    category: str | None = None
    grade: Literal["major", "minor"] | None = None


class Level(_Entry):
    certainty: Certainty
    when: Condition


class Note(Sourced):
    text: str
    when: Condition | None = None


class SyndromeEntry(Sourced):
    id: SyndromeId
    name: str
    criteria: list[Criterion]
    levels: list[Level]
    """Checked strongest first; the first that holds gives the certainty."""
    notes: list[Note] = Field(default_factory=list)

    @field_validator("levels")
    @classmethod
    def _strongest_first(cls, levels: list[Level]) -> list[Level]:
        ranks = [CERTAINTIES.index(level.certainty) for level in levels]
        if ranks != sorted(ranks, reverse=True):
            raise ValueError("levels must be listed strongest first")
        return levels


class SyndromesFile(_Entry):
    version: int
    syndromes: list[SyndromeEntry]


class PlanRule(Sourced):
    when: Condition
    reason: str
    certainty: str | None = None
    allow_possible: bool = False
    """A management rule may act on a syndrome that is only possible (stopping a harmful
    exposure, wound care); otherwise a possible syndrome starts work-up, never treatment."""
    urgency: Urgency | None = None
    """How fast the item is needed (contract 1.1): today, soon or routine."""
    drugs: list[str] = Field(default_factory=list)
    """Medication concepts whose wording in the case fills ``{drugs}`` in the reason, so that
    the reason names the drug the patient takes ("omeprazole 40 mg")."""


class Guard(Sourced):
    when: Condition
    action: Literal["block", "caution"]
    message: str
    note_on: list[str] = Field(default_factory=list)
    """For a block: the items (work-up or management ids, first proposed wins) that show the
    message as a caution when the blocked item would otherwise have been proposed; with none of
    them proposed the message becomes an information alert. A block is never silent."""

    @field_validator("note_on")
    @classmethod
    def _known_items(cls, ids: list[str]) -> list[str]:
        unknown = [i for i in ids if i not in WORKUP + MANAGEMENT]
        if unknown:
            raise ValueError(f"note_on: unknown work-up or management ids {unknown}")
        return ids


class PlanEntry(_Entry):
    id: str
    label: str
    named_by: list[str] = Field(default_factory=list)
    """Sources (typically the seed texts) that name this intervention or test."""
    rules: list[PlanRule]
    guards: list[Guard] = Field(default_factory=list)
    combine: bool = False
    """Show the reason of every rule that holds (e.g. each offending agent), not only the
    first's; the first holding rule still gives the certainty."""


class MedicationRole(Sourced):
    """Why a drug is given (``management.yaml`` ``medication_roles``): when ``when`` holds, the
    drug is needed (``role`` replacement or treatment of ``indication``), so a rule asks
    ``drug_needed`` to reduce or re-time it (``adjust_dose``) rather than stop it as a culprit
    (``stop_offending_agent``)."""

    drug: str
    """A medication concept id."""
    role: Literal["replacement", "treatment"]
    indication: str
    when: Condition


class WorkupFile(_Entry):
    version: int
    workup: list[PlanEntry]


class ManagementFile(_Entry):
    version: int
    management: list[PlanEntry]
    medication_roles: list[MedicationRole] = Field(default_factory=list)


class AlertRule(Sourced):
    when: Condition
    severity: Literal["info", "warning", "critical"]
    message: str


class AlertEntry(_Entry):
    id: str
    rules: list[AlertRule]
    """Checked in order; the first that holds raises the alert."""


RecordAlertId = Literal["persistent_high", "egfr_rapid_decline", "cac_progression",
                        "monitoring_overdue"]
RECORD_ALERT_FIELDS: dict[str, frozenset[str]] = {
    "persistent_high": frozenset({"analyte"}),
    "egfr_rapid_decline": frozenset({"slope_per_year"}),
    "cac_progression": frozenset({"methods"}),
    "monitoring_overdue": frozenset({"tests"}),
}
"""The values each record alert's message may name (``{analyte}``, ...)."""


class RecordAlert(Sourced):
    """An alert only the patient record raises, from results over time (``record/_trends.py``
    decides when, with the thresholds of ``record.yaml``). ``message`` is a template naming
    only the values :data:`RECORD_ALERT_FIELDS` gives its id."""

    id: RecordAlertId
    severity: Literal["info", "warning", "critical"]
    message: str

    @field_validator("message")
    @classmethod
    def _known_fields(cls, message: str, info: Any) -> str:
        import string

        named = {name for _, name, _, _ in string.Formatter().parse(message) if name}
        unknown = named - RECORD_ALERT_FIELDS.get(info.data.get("id", ""), frozenset())
        if unknown:
            raise ValueError(f"message names unknown values {sorted(unknown)}")
        return message


class AlertsFile(_Entry):
    version: int
    alerts: list[AlertEntry]
    record: list[RecordAlert]
    """The record's alerts over time: each id of :data:`RecordAlertId` exactly once."""

    @field_validator("record")
    @classmethod
    def _each_once(cls, record: list[RecordAlert]) -> list[RecordAlert]:
        ids = sorted(alert.id for alert in record)
        if ids != sorted(RECORD_ALERT_FIELDS):
            raise ValueError(f"record: need each of {sorted(RECORD_ALERT_FIELDS)} once, "
                             f"got {ids}")
        return record

    def record_alert(self, alert_id: RecordAlertId) -> RecordAlert:
        """The record alert ``alert_id`` (present: the file is checked complete)."""
        return next(alert for alert in self.record if alert.id == alert_id)


# --------------------------------------------------------------------------- monitoring.yaml


class MonitoringEntry(_Entry):
    test: str
    interval_months: tuple[float, float] | None
    recommendation: str | None = None
    """The KDIGO recommendation (CKD schedules); a condition schedule cites its own source."""
    reason: str


class Schedule(_Entry):
    stages: list[str]
    items: list[MonitoringEntry]


class ConditionSchedule(Sourced):
    """Monitoring outside CKD (issue 20): tests and intervals while ``when`` holds
    (hypercalcaemia, primary hyperparathyroidism under observation, tumour lysis)."""

    id: str
    when: Condition
    items: list[MonitoringEntry]


class MonitoringFile(_Entry):
    """KDIGO 2017 CKD-MBD 3.1.1-3.1.3 monitoring intervals by CKD stage (``monitoring.yaml``)."""

    schedules: list[Schedule]
    all_stages: list[MonitoringEntry]
    notes: list[str]
    by_condition: list[ConditionSchedule] = Field(default_factory=list)


# -------------------------------------------------------------------------- definitions.yaml


class KidneyFunction(Sourced):
    """``kidney_function: impaired | normal | missing`` (KDIGO 2012 GFR categories)."""

    impaired_egfr_below: float = Field(gt=0)
    impaired_from_stage: CkdStage
    impaired_creatinine_flags: list[LabFlag]
    chronic_after_days: int = Field(gt=0)
    """CKD needs reduced function for more than 3 months: two reduced eGFR results this far
    apart make it chronic; a normal one less than this before makes it acute kidney disease."""
    presumed_baseline_days: int = Field(gt=0)
    """A single reduced eGFR after a normal one at most this many days before, with creatinine
    at least the AKI ratio times it, is acute (a presumed baseline), not a CKD stage."""


class Persistent(Sourced):
    """``persistent_high.<analyte>``: the latest ``results`` results all above the upper limit,
    the first and the last at least ``min_span_days`` apart (dated results only)."""

    results: int = Field(ge=2)
    min_span_days: int = Field(default=0, ge=0)


class AkiStage(_Entry):
    """One KDIGO AKI stage: reached at ``ratio_at_least`` x baseline, or (stage 3) a creatinine
    of at least ``creatinine_at_least`` mg/dL."""

    stage: int = Field(ge=1, le=3)
    ratio_at_least: float = Field(ge=1)
    creatinine_at_least: float | None = None


class AcuteKidneyInjury(Sourced):
    """Acute kidney injury by creatinine (KDIGO 2012 AKI 2.1.1 definition, 2.1.2 stages)."""

    rise_mg_dl: float = Field(gt=0)
    rise_within_hours: float = Field(gt=0)
    ratio: float = Field(gt=1)
    ratio_within_days: float = Field(gt=0)
    stages: list[AkiStage]
    """Highest first; below every listed stage an AKI is stage 1."""


class RatioLimit(Sourced):
    """An age band's upper reference limit of the spot urine calcium/creatinine ratio, as
    published (mmol/mmol)."""

    age: tuple[float, float]
    """[from, to) in years."""
    upper_mmol_mmol: float = Field(gt=0)


class ClearanceRatio(Sourced):
    """Calcium/creatinine clearance ratio: FHH below ``fhh_below``, PHPT above ``phpt_above``."""

    fhh_below: float = Field(gt=0)
    phpt_above: float = Field(gt=0)


class FractionalPhosphate(Sourced):
    """With a low serum phosphate, a fractional excretion above ``renal_loss_above`` (%) is
    renal phosphate loss."""

    renal_loss_above: float = Field(gt=0)


class UrineIndices(_Entry):
    """Cut-offs of the derived urine indices (``labs/derive.py``)."""

    calcium_creatinine_ratio: list[RatioLimit]
    """Upper limits by age, youngest first, covering every age from 0."""
    clearance_ratio: ClearanceRatio
    fractional_excretion_phosphate: FractionalPhosphate

    @model_validator(mode="after")
    def _bands_cover_ages(self) -> UrineIndices:
        start = 0.0
        for band in self.calcium_creatinine_ratio:
            if band.age[0] != start or band.age[1] <= band.age[0]:
                raise ValueError(f"calcium_creatinine_ratio: age bands must follow on from "
                                 f"{start:g} years, got {list(band.age)}")
            start = band.age[1]
        return self


class DefinitionsFile(_Entry):
    version: int
    kidney_function: KidneyFunction
    persistent: Persistent
    acute_kidney_injury: AcuteKidneyInjury
    urine_indices: UrineIndices | None = None


# ---------------------------------------------------------------------------- chemistry.yaml


class ChemistryDefaults(_Entry):
    """Typical serum values used when the analyte is not measured (canonical units)."""

    ph: float = Field(ge=5, le=9)
    sodium: float = Field(gt=0)
    potassium: float = Field(ge=0)


class ChemistryFile(Sourced):
    """Assumptions of the serum ultrafiltrate model (``chemistry.yaml``)."""

    version: int
    temperature_c: float = Field(ge=0, le=60)
    defaults: ChemistryDefaults
    albumin_bound_calcium_mg_per_g: float = Field(gt=0)
    ultrafilterable_magnesium_fraction: float = Field(gt=0, le=1)
    near_brushite_saturation: float = Field(ge=0)
    phosphate_mean_charge: float = Field(ge=1, le=2)
