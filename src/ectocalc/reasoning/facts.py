"""The facts rules are evaluated against: a case read once into flags, stages, genes and findings.

Nothing here decides anything clinical beyond naming what the case says: which labs are high or
low (calcium by its corrected or ionized value), the CKD stage, which genes carry pathogenic
variants, which concepts are affirmed, and the calcification type of each finding from its site.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from pydantic import BaseModel

from ectocalc.knowledge import Knowledge
from ectocalc.labs import ADULT_AGE_YEARS, gfr_category
from ectocalc.model.assessment import Derived, Flag, LabReport, Mechanism
from ectocalc.model.case import Case, CodedText, Finding
from ectocalc.reasoning.concepts import Mention, find_in_text
from ectocalc.vocabulary import CkdStage, ckd_stage_rank, parse_ckd_stage

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
    local_causes: frozenset[str] = frozenset()
    """Concepts of the history that may explain this finding: none names another side or
    another body site (radiotherapy to the right breast does not explain the left breast)."""

    @property
    def label(self) -> str:
        """How evidence names this finding, e.g. ``findings[0] 'left shoulder'``."""
        return f"findings[{self.index}] '{self.finding.site}'"


@dataclass(frozen=True)
class Facts:
    """Everything a rule condition can ask about a case, plus what earlier stages concluded."""

    case: Case
    knowledge: Knowledge
    """The knowledge bundle the rules are read from."""
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
    gestation_weeks: float | None = None
    """Weeks of gestation (patient.gestation_weeks, a Z3A code or the wording), when pregnant."""
    """Inside a syndrome: matched criterion id -> (category, grade)."""

    def evolve(self, **changes: object) -> Facts:
        """A copy with ``changes`` (what :func:`dataclasses.replace` does, without its cost:
        rules build a few dozen of these per assessment)."""
        new = object.__new__(Facts)
        new.__dict__.update(self.__dict__, **changes)
        return new


def lab_text(report: LabReport) -> str:
    """Evidence wording for a lab, e.g. ``Phosphate (as P) 7.8 mg/dL (high)``."""
    bound = f"{report.comparator} " if report.comparator else ""  # "< 3": never dropped
    return f"{report.label} {bound}{report.value:g} {report.unit} ({report.flag_shown})"


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
    stages: list[tuple[CkdStage, Mention]] = []
    for m in mentions:
        if m.id == "dialysis":
            stages.append(("G5D", m))
        elif m.id == "chronic_kidney_disease" and ("stage" in m.attributes or "end_stage" in
                                                   m.attributes):
            stage = parse_ckd_stage(m.attributes.get("stage", "5"))
            if stage is not None:
                stages.append((stage, m))
    if not stages:
        return None, ""
    stage, mention = max(stages, key=lambda sm: ckd_stage_rank(sm[0]))
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


def unread_genetics(case: Case, knowledge: Knowledge) -> list[str]:
    """Genetic results no rule uses, one line each (for ``skipped_inputs``): never dropped
    silently. A variant that is not (likely) pathogenic counts for nothing; a pathogenic one in
    a gene no rule of the knowledge base reads is listed so the reader sees it was not weighed.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model.case import GeneticFinding
    >>> case = Case(genetics=[GeneticFinding(gene="CYP24A1"), GeneticFinding(gene="BRCA2"),
    ...                       GeneticFinding(gene="ABCC6", classification="vus")])
    >>> for line in unread_genetics(case, load_knowledge()):
    ...     print(line)
    genetics[1]: BRCA2 pathogenic variant not used: no rule of the knowledge base reads this gene
    genetics[2]: ABCC6 vus not used: only pathogenic or likely pathogenic variants count
    """
    read = _genes_read(knowledge)
    lines = []
    for i, g in enumerate(case.genetics):
        gene = g.gene.upper()
        if g.classification not in PATHOGENIC:
            lines.append(f"genetics[{i}]: {gene} {g.classification} not used: only pathogenic "
                         f"or likely pathogenic variants count")
        elif gene not in read:
            lines.append(f"genetics[{i}]: {gene} {g.classification.replace('_', ' ')} variant "
                         f"not used: no rule of the knowledge base reads this gene")
    return lines


_GENE_PREDICATES = ("gene", "gene_biallelic", "gene_monoallelic")


@lru_cache(maxsize=8)
def _genes_read(knowledge: Knowledge) -> frozenset[str]:
    """Every HGNC symbol a rule condition of the bundle names."""
    found: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                visit(getattr(node, name))
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _GENE_PREDICATES:
                    found.update(str(v).upper() for v in (value if isinstance(value, list)
                                                          else [value]))
                else:
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for model in knowledge.files.values():
        visit(model)
    return frozenset(found)


_SIDES = re.compile(r"\b(left|right|bilateral|both|l|r)\b(?![/-])")


def _sides(text: str | None) -> frozenset[str]:
    """Laterality named in a text: left, right or both (bilateral matches either).

    Examples
    --------
    >>> sorted(_sides("radiotherapy to the right breast"))
    ['right']
    >>> sorted(_sides("both femoral arteries"))
    ['left', 'right']
    """
    words = {w.group(1) for w in _SIDES.finditer((text or "").lower())}
    found = {"left" if w in ("left", "l") else "right" for w in words
             if w in ("left", "l", "right", "r")}
    return frozenset({"left", "right"}) if words & {"bilateral", "both"} else frozenset(found)


Place = tuple[frozenset[str], frozenset[str]]
"""Where a history item is: the sides and the body-site concepts its wording names."""


def _history_places(case: Case, kb: Knowledge) -> dict[str, Place]:
    """Origin prefix (``conditions[0]``) -> the sides and sites its text names."""
    items: list[tuple[str, Sequence[CodedText]]] = [("conditions", case.conditions),
                                                     ("medications", case.medications)]
    return {f"{section}[{i}]": (_sides(item.text), frozenset(
                m.id for m in find_in_text(item.text, section, knowledge=kb, kinds=("site",))))
            for section, group in items for i, item in enumerate(group) if item.text}


def _local_causes(finding: Finding, sites: frozenset[str], mentions: tuple[Mention, ...],
                  places: dict[str, Place]) -> frozenset[str]:
    """History concepts whose wording names no other side and no other site than the finding's.

    A mention without a side or a site (a code, "dermatomyositis") may explain any finding.
    """
    finding_sides = _sides(finding.site)
    causes = set()
    for mention in mentions:
        prefix = mention.origin.split(".")[0]
        if mention.family or not prefix.startswith(("conditions", "medications")):
            continue
        sides, named = places.get(prefix, (frozenset(), frozenset()))
        if sides and finding_sides and not sides & finding_sides:
            continue
        if named and sites and not named & sites:
            continue
        causes.add(mention.id)
    return frozenset(causes)


def _finding_view(index: int, finding: Finding, mentions: tuple[Mention, ...],
                  kb: Knowledge, places: dict[str, Place] | None = None) -> FindingView:
    """Resolve a finding's type: stated type, else strong site, sign, weak site, default."""
    prefix = f"findings[{index}]"
    own = [m for m in mentions if m.origin.startswith(prefix)]
    sites = frozenset(m.id for m in own if m.kind == "site")
    signs = frozenset(m.id for m in own if m.kind == "sign")
    local = _local_causes(finding, sites, mentions, places or {})
    types = kb.types.types

    def view(type_id: str, basis: str) -> FindingView:
        # The subtype comes from the finding's own type: "renal arteries" is a vascular
        # finding (no nephrocalcinosis from the word "renal").
        entry = next(t for t in types if t.id == type_id)
        subtype = next((entry.subtypes[s] for s in entry.subtypes if s in sites), None)
        return FindingView(index, finding, type_id, basis, subtype, sites, signs, local)

    if finding.type is not None:
        return view(finding.type, f"{prefix}.type: {finding.type} (stated)")
    passes = (("sites", "site"), ("signs", "sign"), ("weak_sites", "site"))
    for attribute, kind in passes:
        for entry in types:
            for key in getattr(entry, attribute):
                hit = next((m for m in own if m.id == key and m.kind == kind), None)
                if hit is not None:
                    return view(entry.id, f"{hit.origin}: '{hit.matched}' → {entry.id}")
    default = kb.types.default_type
    return view(default, f"{prefix}.site: '{finding.site}' names no known site → {default}")


def _child_gfr_category(case: Case, derived: Derived,
                        kept: Sequence[Mention]) -> tuple[str, str] | None:
    """GFR category of a child's eGFR (bedside Schwartz) for the rules, below 60 only.

    The output ``ckd_stage`` stays null under 18 (contract), but KDIGO 2017 CKD-MBD applies to
    children too: a child with chronic kidney disease (stated, or two reduced eGFR results more
    than 3 months apart), an eGFR below 60 and no acute kidney injury meets the rules' "G3a or
    worse". A single low value in an acutely ill child (tumour lysis) does not.
    Returns ``(category, basis)`` or None.
    """
    age, egfr = case.patient.age_years, derived.egfr_ml_min_1_73m2
    own = {m.id for m in kept if not m.family}
    if (age is None or age >= ADULT_AGE_YEARS or egfr is None or egfr >= 60
            or derived.acute_kidney_injury is not None or "acute_kidney_injury" in own
            or not own & {"chronic_kidney_disease", "kidney_transplant"}):
        return None
    category = gfr_category(egfr)
    return category, (f"GFR category {category} of the child's eGFR {egfr:g} by "
                      f"{derived.egfr_equation} (no CKD stage is reported under 18)")


def build_facts(*, case: Case, labs: list[LabReport], derived: Derived,
                mentions: list[Mention], knowledge: Knowledge) -> Facts:
    """Read a case into :class:`Facts` (affirmed mentions only; family history kept apart).

    Examples
    --------
    >>> from ectocalc.model import Case, Condition
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.reasoning.concepts import recognise
    >>> kb = load_knowledge()
    >>> case = Case(conditions=[Condition(text="CKD stage 4")])
    >>> facts = build_facts(case=case, labs=[], derived=Derived(),
    ...                     mentions=recognise(case, knowledge=kb), knowledge=kb)
    >>> facts.ckd_stage, facts.calcium.flag
    ('G4', None)
    """
    by_analyte = MappingProxyType({r.analyte: r for r in labs})
    kept = tuple(m for m in mentions if m.present) + _structured_mentions(case, derived,
                                                                          knowledge)
    stated_stage, stated_basis = _stage_from_mentions(tuple(m for m in kept if not m.family))
    dialysis = derived.on_dialysis or stated_stage == "G5D"
    # Transplant stages (G2T) compare as their GFR category; the output keeps the suffix.
    stage = (derived.ckd_stage or "").removesuffix("T") or stated_stage
    basis = (f"CKD stage {stage} (eGFR {derived.egfr_ml_min_1_73m2:g})"
             if derived.ckd_stage and derived.egfr_ml_min_1_73m2 is not None
             else (f"CKD stage {stage}" if derived.ckd_stage else stated_basis))
    child = _child_gfr_category(case, derived, kept)
    if child is not None and (stage is None or ckd_stage_rank(child[0]) > ckd_stage_rank(stage)):
        stage, basis = child
    if dialysis and stage != "G5D":
        stage, basis = "G5D", stated_basis or "on dialysis"
    places = _history_places(case, knowledge) if case.findings else {}
    views = tuple(_finding_view(i, f, kept, knowledge, places)
                  for i, f in enumerate(case.findings))
    return Facts(case=case, knowledge=knowledge, labs=by_analyte, derived=derived, mentions=kept,
                 calcium=_calcium_status(by_analyte, derived), ckd_stage=stage,
                 ckd_stage_basis=basis, dialysis=dialysis, findings=views,
                 genes=MappingProxyType(_genes(case)), gestation_weeks=_gestation(case, kept))


def _concept_mention(kb: Knowledge, concept_id: str, origin: str, matched: str) -> Mention:
    entry = next(c for c in kb.lexicon.concepts if c.id == concept_id)
    return Mention(id=entry.id, kind=entry.kind, label=entry.label, origin=origin,
                   matched=matched)


def _structured_mentions(case: Case, derived: Derived, kb: Knowledge) -> tuple[Mention, ...]:
    """Concepts that structured fields and lab series establish, as mentions with their origin:
    ``patient.pregnant``, acute kidney injury by creatinine (KDIGO 2012), and chronic kidney
    disease by two reduced eGFR results at least 90 days apart."""
    found = []
    if case.patient.pregnant:
        found.append(_concept_mention(kb, "pregnancy", "patient.pregnant", "pregnant: true"))
    if derived.acute_kidney_injury:
        found.append(_concept_mention(kb, "acute_kidney_injury", "labs (creatinine)",
                                      derived.acute_kidney_injury))
    if derived.ckd_chronicity_by == "egfr" and derived.ckd_chronicity:
        found.append(_concept_mention(kb, "chronic_kidney_disease", "labs (creatinine)",
                                      derived.ckd_chronicity))
    return tuple(found)


def _gestation(case: Case, mentions: tuple[Mention, ...]) -> float | None:
    """Weeks of gestation: the structured field, else a Z3A code or "28 weeks gestation"."""
    if case.patient.pregnant is False:
        return None
    if case.patient.gestation_weeks is not None:
        return case.patient.gestation_weeks
    weeks = [float(m.attributes["weeks"]) for m in mentions
             if m.id == "pregnancy" and not m.family and "weeks" in m.attributes]
    return max(weeks, default=None)
