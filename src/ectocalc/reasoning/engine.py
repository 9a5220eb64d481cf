"""The reasoning pipeline: facts → types, syndromes → mechanism → work-up, management, alerts.

Syndromes are judged before the mechanism because mechanism signals may rest on them (the
calciphylaxis picture, an inherited syndrome by its criteria); the plan rules may ask about both.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import TypeEntry
from ectocalc.model.assessment import (
    Alert,
    Derived,
    LabReport,
    Mechanism,
    MonitoringItem,
    PlanItem,
    SyndromeItem,
    TypeItem,
)
from ectocalc.model.case import Case
from ectocalc.model.display import for_display
from ectocalc.reasoning.concepts import Mention, recognise
from ectocalc.reasoning.facts import Facts, build_facts
from ectocalc.reasoning.mechanisms import score_mechanisms
from ectocalc.reasoning.plans import Withheld, alerts, attach_withheld, plan_items
from ectocalc.reasoning.rules import evaluate
from ectocalc.reasoning.syndromes import assess_syndromes, flagged


@dataclass(frozen=True)
class ReasoningResult:
    """What the reasoning adds to an assessment (contract section 3)."""

    mechanism: Mechanism
    types: list[TypeItem]
    syndromes: list[SyndromeItem]
    workup: list[PlanItem]
    management: list[PlanItem]
    alerts: list[Alert]
    monitoring: list[MonitoringItem]
    """Monitoring outside the CKD schedule (``monitoring.yaml`` ``by_condition``)."""


def condition_monitoring(facts: Facts) -> list[MonitoringItem]:
    """Tests and intervals of every ``by_condition`` schedule whose condition holds (severe
    hypercalcaemia, primary hyperparathyroidism under observation, tumour lysis)."""
    kb = facts.knowledge
    items = []
    for schedule in kb.monitoring.by_condition:
        if evaluate(schedule.when, facts).ok:
            items += [MonitoringItem(test=e.test, interval_months=e.interval_months,
                                     reason=flagged(e.reason, schedule),
                                     source=kb.cite(schedule.source))
                      for e in schedule.items]
    return items


def _observed(facts: Facts, index: int) -> list[str]:
    """What the case says about a finding's symptoms, as evidence."""
    view = facts.findings[index]
    f = view.finding
    said = [f"pain {f.pain}" if f.pain else "",
            "functional limitation" if f.functional_limitation else "",
            "ulcerated" if f.ulcerated else "",
            f"size {f.size_mm:g} mm" if f.size_mm else "",
            f"signs: {', '.join(f.signs)}" if f.signs else ""]
    return [f"{view.label}: {s}" for s in said if s]


def calcification_types(facts: Facts) -> list[TypeItem]:
    """One type per finding, decided by its site, with the symptoms the sources associate.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model import Case, Finding
    >>> from ectocalc.reasoning.facts import build_facts
    >>> from ectocalc.reasoning.concepts import recognise
    >>> kb = load_knowledge()
    >>> case = Case(findings=[Finding(site="mitral valve annulus")])
    >>> facts = build_facts(case=case, labs=[], derived=Derived(),
    ...                     mentions=recognise(case, knowledge=kb), knowledge=kb)
    >>> [(t.id, t.subtype) for t in calcification_types(facts)]
    [('vascular', 'valvular')]
    """
    kb = facts.knowledge
    entries: dict[str, TypeEntry] = {t.id: t for t in kb.types.types}
    items = []
    for view in facts.findings:
        entry = entries[view.type]
        kind = "valvular" if view.subtype == "valvular" else "arterial"
        symptoms = [s.label for s in entry.symptoms if s.applies_to in (None, kind)]
        items.append(TypeItem(id=view.type, site=view.finding.site, subtype=view.subtype,
                              symptoms=symptoms,
                              evidence=[view.type_basis, *_observed(facts, view.index)],
                              source=kb.cite(entry.source)))
    return items


def reason(case: Case, *, knowledge: Knowledge, labs: list[LabReport] | None = None,
           derived: Derived | None = None,
           mentions: list[Mention] | None = None) -> ReasoningResult:
    """Assess a case: mechanism differential, types, syndromes, work-up, management, alerts.

    Parameters
    ----------
    case : Case
        The validated case.
    knowledge : Knowledge
        The knowledge bundle (:func:`ectocalc.knowledge.load_knowledge`).
    labs : list of LabReport, optional
        One report per analyte (latest value, flagged); none means no labs.
    derived : Derived, optional
        Corrected calcium, Ca×P, eGFR, CKD stage, TmP/GFR as computed by the pipeline.
    mentions : list of Mention, optional
        Concepts recognised in the case; recognised here when not given.

    Examples
    --------
    >>> from ectocalc.model import Case, Condition, Finding
    >>> case = Case(conditions=[Condition(text="s/p radiotherapy")],
    ...             findings=[Finding(site="left breast soft tissue")])
    >>> from ectocalc.knowledge import load_knowledge
    >>> result = reason(case, knowledge=load_knowledge())
    >>> result.mechanism.primary, [t.id for t in result.types]
    ('dystrophic', ['soft_tissue'])
    """
    kb = knowledge
    # Rules judge derived quantities as they are reported (model.display.reported).
    shown = for_display(derived, prefix="derived") if derived is not None else Derived()
    facts = build_facts(case=case, labs=labs or [], derived=shown,
                        mentions=recognise(case, knowledge=kb) if mentions is None else mentions,
                        knowledge=kb)
    syndromes = assess_syndromes(facts, kb)
    facts = facts.evolve(syndromes=MappingProxyType({s.id: s.certainty for s in syndromes}))
    mechanism = score_mechanisms(facts, kb)
    facts = facts.evolve(mechanism=mechanism)
    withheld: list[Withheld] = []
    workup = plan_items(kb.workup.workup, facts, kb, withheld=withheld)
    # Management may ask about the work-up (e.g. no excision before a planned biopsy).
    management = plan_items(kb.management.management, facts, kb,
                            earlier=frozenset(item.id for item in workup), withheld=withheld,
                            treatment=True)
    # A blocked item stays visible: a caution on a related item, else an information alert.
    notes = attach_withheld(withheld, [*management, *workup])
    return ReasoningResult(mechanism=mechanism, types=calcification_types(facts),
                           syndromes=syndromes, workup=workup, management=management,
                           alerts=alerts(facts, kb) + notes,
                           monitoring=condition_monitoring(facts.evolve(plans=frozenset(
                               i.id for i in [*workup, *management]))))
