"""Schema of the knowledge base: the YAML files under ``knowledge/data/`` and the rule grammar.

A rule condition (``when``) is a mapping with exactly one key. The key is either a combinator
(``all``, ``any``, ``not``, ``at_least``, ``finding``) or a predicate from :data:`PREDICATES`;
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

from pydantic import BaseModel, ConfigDict, Field, field_validator

MECHANISMS = ("metastatic", "dystrophic", "inherited", "iatrogenic", "calciphylaxis", "idiopathic")
TYPES = ("vascular", "periarticular", "cutaneous", "visceral", "soft_tissue")
SYNDROMES = ("pxe", "gaci", "acdc", "hftc", "keutel", "pfbc", "calciphylaxis",
             "calcific_tendinitis", "milk_alkali", "hyperparathyroidism", "vitamin_d_toxicity",
             "ckd_mbd", "connective_tissue_disease_calcinosis")
WORKUP = ("serum_calcium", "ionized_calcium", "serum_phosphate", "serum_magnesium", "serum_albumin",
          "kidney_function", "pth", "vitamin_d_25oh", "alkaline_phosphatase", "tmp_gfr",
          "plasma_ppi", "fgf23", "xray", "ct", "ultrasound", "echocardiogram",
          "lateral_abdominal_xray", "biopsy", "genetic_testing", "ophthalmologic_exam",
          "autoimmune_serology")
MANAGEMENT = ("treat_underlying_cause", "dietary_phosphate_restriction", "phosphate_binder",
              "limit_calcium_based_binders", "dialysis_intensification", "stop_offending_agent",
              "sodium_thiosulfate", "bisphosphonate", "calcimimetic", "parathyroidectomy",
              "bp_control", "lipid_control", "glycemic_control", "inflammation_control", "nsaid",
              "physical_therapy", "lifestyle_modification", "surgical_excision",
              "joint_replacement", "wound_care")
"""The contract's stable identifiers (CONTRACT.md section 3); nothing else may be emitted."""

CERTAINTIES = ("possible", "probable", "definitive")
"""Syndrome certainty, weakest first (Plomp 2010 wording, used for every syndrome)."""
CKD_STAGES = ("G1", "G2", "G3a", "G3b", "G4", "G5", "G5D")
PAIN_LEVELS = ("none", "mild", "moderate", "severe")
LAB_FLAGS = ("normal", "low", "high", "critical_low", "critical_high", "abnormal", "missing",
             "measured")
MODALITIES = ("xray", "ct", "ultrasound", "echocardiogram", "mri", "exam")
CONFIDENCES = ("low", "moderate", "high")

ArgKind = Literal["concepts", "sites", "signs", "flags", "number", "bool", "stage", "certainty",
                  "syndromes", "mechanisms", "types", "genes", "pain", "modalities",
                  "kidney", "plans", "confidences", "criteria", "count"]

# Predicates over the whole case.
CASE_PREDICATES: dict[str, ArgKind] = {
    "concept": "concepts", "family_history": "concepts", "suspected": "concepts",
    "calcium": "flags",
    "ckd_stage_at_least": "stage", "ckd_stage_below": "stage", "dialysis": "bool",
    "egfr_below": "number", "kidney_function": "kidney",
    "ca_p_product_above": "number", "tmp_gfr_above": "number", "age_below": "number",
    "age_at_least": "number", "gene": "genes", "gene_biallelic": "genes",
    "gene_monoallelic": "genes", "has_findings": "bool", "type_present": "types",
    "syndrome": "syndromes", "mechanism": "mechanisms", "confidence": "confidences",
    "plan": "plans",
    # syndrome criteria counting (only inside a syndrome's levels)
    "criterion": "criteria", "major_categories_at_least": "count",
    "major_in_one_category_at_least": "count", "major_at_least": "count",
    "minor_at_least": "count", "major_with_minor_other_category": "bool",
}
# Predicates over one finding (only inside ``finding:``).
FINDING_PREDICATES: dict[str, ArgKind] = {
    "type": "types", "site": "sites", "sign": "signs", "pain_at_least": "pain",
    "size_mm_above": "number", "size_mm_at_least": "number", "size_mm_below": "number",
    "ulcerated": "bool", "functional_limitation": "bool",
    "conservative_treatment_failed": "bool", "modality": "modalities", "localised": "bool",
}
# Predicates written ``name.key``: the key is an analyte or a syndrome id.
KEYED_PREDICATES: dict[str, tuple[str, ArgKind]] = {
    "lab": ("analyte", "flags"), "lab_above": ("analyte", "number"),
    "lab_above_uln": ("analyte", "number"),
    "persistent_high": ("analyte", "bool"),
    "syndrome_at_least": ("syndrome", "certainty"),
}
PREDICATES = {**CASE_PREDICATES, **FINDING_PREDICATES}
COMBINATORS = ("all", "any", "not", "at_least", "finding")

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
        "modalities": MODALITIES,
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
        allowed = {"syndrome": SYNDROMES,
                   "analyte": refs.analytes if refs else None}[subject_kind]
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


class Lexicon(_Entry):
    version: int
    concepts: list[ConceptEntry]


class Signal(Sourced):
    """One piece of evidence for (or against) a mechanism."""

    when: Condition
    weight: float = Field(gt=0, le=1)
    label: str


class MechanismEntry(Sourced):
    id: Literal[MECHANISMS]  # type: ignore[valid-type]
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
    mechanisms: list[Literal[MECHANISMS]]  # type: ignore[valid-type]
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
    id: Literal[TYPES]  # type: ignore[valid-type]
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
    default_type: Literal[TYPES]  # type: ignore[valid-type]
    types: list[TypeEntry]


class Criterion(Sourced):
    id: str
    text: str
    when: Condition
    category: str | None = None
    grade: Literal["major", "minor"] | None = None


class Level(_Entry):
    certainty: Literal[CERTAINTIES]  # type: ignore[valid-type]
    when: Condition


class Note(Sourced):
    text: str
    when: Condition | None = None


class SyndromeEntry(Sourced):
    id: Literal[SYNDROMES]  # type: ignore[valid-type]
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


class WorkupFile(_Entry):
    version: int
    workup: list[PlanEntry]


class ManagementFile(_Entry):
    version: int
    management: list[PlanEntry]


class AlertRule(Sourced):
    when: Condition
    severity: Literal["info", "warning", "critical"]
    message: str


class AlertEntry(_Entry):
    id: str
    rules: list[AlertRule]
    """Checked in order; the first that holds raises the alert."""


class AlertsFile(_Entry):
    version: int
    alerts: list[AlertEntry]
