"""Work-up, management and alerts: the first rule that holds proposes an item; guards follow."""

from __future__ import annotations

from dataclasses import replace

from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import AlertEntry, PlanEntry
from ectocalc.model.assessment import Alert, PlanItem
from ectocalc.reasoning.facts import Facts
from ectocalc.reasoning.rules import evaluate
from ectocalc.reasoning.syndromes import flagged


def _propose(entry: PlanEntry, facts: Facts, kb: Knowledge) -> PlanItem | None:
    held = [(rule, match) for rule in entry.rules if (match := evaluate(rule.when, facts)).ok]
    if not held:
        return None
    cautions = []
    for guard in entry.guards:
        if evaluate(guard.when, facts).ok:
            if guard.action == "block":
                return None
            cautions.append(flagged(f"{guard.message} ({kb.cite(guard.source)})", guard))
    rule = held[0][0]
    evidence = list(dict.fromkeys(e for _, match in held for e in match.evidence))
    return PlanItem(id=entry.id, reason=flagged(rule.reason, rule), source=kb.cite(rule.source),
                    evidence=evidence, cautions=cautions, certainty=rule.certainty)


def plan_items(entries: list[PlanEntry], facts: Facts, kb: Knowledge, *,
               earlier: frozenset[str] = frozenset()) -> list[PlanItem]:
    """Items proposed in file order; rules see ``earlier`` ids and those proposed before them.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model import Case, Derived
    >>> from ectocalc.reasoning.facts import build_facts
    >>> kb = load_knowledge()
    >>> facts = build_facts(case=Case(), labs=[], derived=Derived(), mentions=[])
    >>> [i.id for i in plan_items(kb.workup.workup, facts, kb)]
    ['serum_calcium', 'serum_phosphate', 'serum_magnesium', 'kidney_function']
    """
    items: list[PlanItem] = []
    for entry in entries:
        item = _propose(entry, replace(facts, plans=earlier | {i.id for i in items}), kb)
        if item is not None:
            items.append(item)
    return items


def _alert(entry: AlertEntry, facts: Facts, kb: Knowledge) -> Alert | None:
    for rule in entry.rules:
        match = evaluate(rule.when, facts)
        if match.ok:
            detail = f" ({'; '.join(match.evidence)})" if match.evidence else ""
            return Alert(id=entry.id, severity=rule.severity,
                         message=flagged(rule.message + detail, rule), source=kb.cite(rule.source))
    return None


def alerts(facts: Facts, kb: Knowledge) -> list[Alert]:
    """Alerts raised by the case, in file order.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model import Case, Derived
    >>> from ectocalc.reasoning.facts import build_facts
    >>> facts = build_facts(case=Case(), labs=[], mentions=[],
    ...                     derived=Derived(calcium_phosphate_product_mg2_dl2=75.5))
    >>> [a.id for a in alerts(facts, load_knowledge())]
    ['calcium_phosphate_product_high']
    """
    raised = (_alert(entry, facts, kb) for entry in kb.alerts.alerts)
    return [a for a in raised if a is not None]
