"""The facts rules are evaluated against: a case read once into flags, stages, genes and findings.

Nothing here decides anything clinical beyond naming what the case says: which labs are high or
low (calcium by its corrected or ionized value), the CKD stage, which genes carry pathogenic
variants, which concepts are affirmed, and the calcification type of each finding from its site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ectocalc.knowledge import load_knowledge
from ectocalc.knowledge.schema import CKD_STAGES
from ectocalc.model.assessment import Derived, Flag, LabReport, Mechanism
from ectocalc.model.case import Case, Finding
from ectocalc.reasoning.concepts import Mention

PATHOGENIC = ("pathogenic", "likely_pathogenic")
BIALLELIC = ("biallelic", "homozygous", "compound_heterozygous", "hemizygous")


@dataclass(frozen=True)
class LabStatus:
    """Flag of one analyte (or of calcium as judged) and the words that show it."""

    flag: Flag | None
    text: str


@dataclass(frozen=True)
class FindingView:
    """One finding with what the engine reads from it."""

    index: int
    finding: Finding
    type: str
    type_basis: str
    subtype: str | None
    sites: frozenset[str]
    signs: frozenset[str]

    @property
    def label(self) -> str:
        """How evidence names this finding, e.g. ``findings[0] 'left shoulder'``."""
        return f"findings[{self.index}] '{self.finding.site}'"


@dataclass(frozen=True)
class Facts:
    """Everything a rule condition can ask about a case, plus what earlier stages concluded."""

    case: Case
    labs: Mapping[str, LabReport]
    derived: Derived
    mentions: tuple[Mention, ...]
    calcium: LabStatus
    ckd_stage: str | None
    ckd_stage_basis: str
    dialysis: bool
    findings: tuple[FindingView, ...]
    genes: Mapping[str, tuple[bool, str]]
    """Gene -> (biallelic, evidence) for pathogenic or likely pathogenic variants."""
    syndromes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    mechanism: Mechanism | None = None
    plans: frozenset[str] = frozenset()
    criteria: Mapping[str, tuple[str | None, str | None]] = field(
        default_factory=lambda: MappingProxyType({}))
    """Inside a syndrome: matched criterion id -> (category, grade)."""


def lab_text(report: LabReport) -> str:
    """Evidence wording for a lab, e.g. ``Phosphate (as P) 7.8 mg/dL (high)``."""
    return f"{report.label} {report.value:g} {report.unit} ({report.flag})"


def _calcium_status(labs: Mapping[str, LabReport], derived: Derived) -> LabStatus:
    """Calcium as the pipeline judged it (ionized, else albumin-corrected, else total).

    Without a derived status (reasoning called without the pipeline) the measured ionized or
    total calcium flag stands in.
    """
    if derived.calcium_status is not None:
        if derived.ionized_calcium_mmol_l is not None:
            value = f"{derived.ionized_calcium_mmol_l:g} mmol/L"
        elif derived.corrected_calcium_mg_dl is not None:
            value = f"{derived.corrected_calcium_mg_dl:g} mg/dL"
        else:
            value = f"{labs['calcium'].canonical_value:g} mg/dL" if "calcium" in labs else ""
        text = f"{derived.calcium_basis or 'calcium'} {value} ({derived.calcium_status})"
        return LabStatus(derived.calcium_status, text.replace("  ", " "))
    report = labs.get("ionized_calcium") or labs.get("calcium")
    if report is not None:
        return LabStatus(report.flag, lab_text(report))
    return LabStatus(None, "calcium not measured")


def _stage_from_mentions(mentions: tuple[Mention, ...]) -> tuple[str | None, str]:
    """CKD stage stated in the history ("CKD 4", N18.4, "on HD"), when no eGFR gives one."""
    stages = []
    for m in mentions:
        if m.id == "dialysis":
            stages.append(("G5D", m))
        elif m.id == "chronic_kidney_disease" and ("stage" in m.attributes or "end_stage" in
                                                   m.attributes):
            raw = m.attributes.get("stage", "5").upper()
            stage = {"3": "G3a", "3A": "G3a", "3B": "G3b", "5D": "G5D"}.get(raw, f"G{raw}")
            if stage in CKD_STAGES:
                stages.append((stage, m))
    if not stages:
        return None, ""
    stage, mention = max(stages, key=lambda sm: CKD_STAGES.index(sm[0]))
    return stage, f"CKD {stage} from {mention.origin}: '{mention.matched}'"


def _genes(case: Case) -> dict[str, tuple[bool, str]]:
    found: dict[str, list[tuple[int, str | None]]] = {}
    for i, g in enumerate(case.genetics):
        if g.classification in PATHOGENIC:
            found.setdefault(g.gene.upper(), []).append((i, g.zygosity))
    genes = {}
    for gene, hits in sorted(found.items()):
        biallelic = len(hits) > 1 or hits[0][1] in BIALLELIC
        where = ", ".join(f"genetics[{i}]" for i, _ in hits)
        zygosity = "biallelic" if biallelic else "monoallelic"
        genes[gene] = (biallelic, f"{where}: {gene} pathogenic variant ({zygosity})")
    return genes


def _finding_view(index: int, finding: Finding, mentions: tuple[Mention, ...]) -> FindingView:
    """Resolve a finding's type: stated type, else strong site, sign, weak site, default."""
    kb = load_knowledge()
    prefix = f"findings[{index}]"
    own = [m for m in mentions if m.origin.startswith(prefix)]
    sites = frozenset(m.id for m in own if m.kind == "site")
    signs = frozenset(m.id for m in own if m.kind == "sign")
    types = kb.types.types
    subtype = next((t.subtypes[s] for t in types for s in t.subtypes if s in sites), None)
    if finding.type is not None:
        return FindingView(index, finding, finding.type, f"{prefix}.type: {finding.type} (stated)",
                           subtype, sites, signs)
    passes = (("sites", "site"), ("signs", "sign"), ("weak_sites", "site"))
    for attribute, kind in passes:
        for entry in types:
            for key in getattr(entry, attribute):
                hit = next((m for m in own if m.id == key and m.kind == kind), None)
                if hit is not None:
                    basis = f"{hit.origin}: '{hit.matched}' → {entry.id}"
                    return FindingView(index, finding, entry.id, basis, subtype, sites, signs)
    default = kb.types.default_type
    return FindingView(index, finding, default,
                       f"{prefix}.site: '{finding.site}' names no known site → {default}",
                       subtype, sites, signs)


def build_facts(*, case: Case, labs: list[LabReport], derived: Derived,
                mentions: list[Mention]) -> Facts:
    """Read a case into :class:`Facts` (affirmed mentions only; family history kept apart).

    Examples
    --------
    >>> from ectocalc.model import Case, Condition
    >>> from ectocalc.reasoning.concepts import recognise
    >>> case = Case(conditions=[Condition(text="CKD stage 4")])
    >>> facts = build_facts(case=case, labs=[], derived=Derived(), mentions=recognise(case))
    >>> facts.ckd_stage, facts.calcium.flag
    ('G4', None)
    """
    by_analyte = MappingProxyType({r.analyte: r for r in labs})
    kept = tuple(m for m in mentions if m.present)
    stated_stage, stated_basis = _stage_from_mentions(tuple(m for m in kept if not m.family))
    dialysis = derived.on_dialysis or stated_stage == "G5D"
    stage = derived.ckd_stage or stated_stage
    basis = (f"CKD stage {stage} (eGFR {derived.egfr_ml_min_1_73m2:g})"
             if derived.ckd_stage and derived.egfr_ml_min_1_73m2 is not None
             else (f"CKD stage {stage}" if derived.ckd_stage else stated_basis))
    if dialysis and stage != "G5D":
        stage, basis = "G5D", stated_basis or "on dialysis"
    views = tuple(_finding_view(i, f, kept) for i, f in enumerate(case.findings))
    return Facts(case=case, labs=by_analyte, derived=derived, mentions=kept,
                 calcium=_calcium_status(by_analyte, derived), ckd_stage=stage,
                 ckd_stage_basis=basis, dialysis=dialysis, findings=views,
                 genes=MappingProxyType(_genes(case)))
