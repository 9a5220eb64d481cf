"""Work-up, management and alerts: the first rule that holds proposes an item; guards follow."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import AlertEntry, PlanEntry, PlanRule
from ectocalc.model.assessment import Alert, PlanItem
from ectocalc.reasoning.facts import Facts
from ectocalc.reasoning.rules import Match, evaluate
from ectocalc.reasoning.syndromes import flagged


@dataclass(frozen=True)
class Withheld:
    """An item a rule proposed but a guard blocked: its message must stay visible."""

    id: str
    message: str
    """'<label> not advised: <guard message> (<source>)', flagged [check] where uncertain."""
    note_on: tuple[str, ...]
    """Items that show the message (the first proposed one)."""


def _firm(facts: Facts) -> Facts:
    """The facts with the syndromes that are only possible left out."""
    return facts.evolve(syndromes=MappingProxyType(
        {s: c for s, c in facts.syndromes.items() if c != "possible"}))


def _tentative(entry: PlanEntry, held: list[tuple[PlanRule, Match]], facts: Facts,
               kb: Knowledge) -> tuple[list[tuple[PlanRule, Match]], Withheld | None]:
    """A possible syndrome may start a work-up, never a treatment.

    Keeps the rules that hold without the possible syndromes (or that may act on them:
    ``allow_possible``, e.g. stopping warfarin); when none is left the item is withheld, visibly.
    """
    firm = _firm(facts)
    kept = [(r, m) for r, m in held if r.allow_possible or evaluate(r.when, firm).ok]
    if kept or not held:
        return kept, None
    possible = ", ".join(s for s, c in facts.syndromes.items() if c == "possible")
    rule = held[0][0]
    text = (f"{entry.label} not started: {possible} only possible; confirm it first (work-up), "
            f"no treatment on an uncertain finding ({kb.cite(rule.source)})")
    return [], Withheld(id=entry.id, message=flagged(text, rule), note_on=())


_URGENCY_ORDER = ("today", "soon", "routine")


def _reason(rule: PlanRule, facts: Facts) -> str:
    """The rule's reason with ``{drugs}`` filled by the drugs of ``rule.drugs`` as the case
    names them ("omeprazole, pantoprazole"): a stop or dose rule names what to change."""
    if not rule.drugs:
        return flagged(rule.reason, rule)
    names = list(dict.fromkeys(m.matched for m in facts.mentions
                               if m.id in rule.drugs and not m.family
                               and m.origin.startswith("medications")))
    return flagged(rule.reason.replace("{drugs}", ", ".join(names) or "none recorded"), rule)


def _urgency(rules: list[PlanRule]) -> str | None:
    """The most urgent of the holding rules' urgencies (today before soon before routine)."""
    found = [r.urgency for r in rules if r.urgency is not None]
    return min(found, key=_URGENCY_ORDER.index) if found else None


def _propose(entry: PlanEntry, facts: Facts, kb: Knowledge, *,
             treatment: bool = False) -> PlanItem | Withheld | None:
    held = [(rule, match) for rule in entry.rules if (match := evaluate(rule.when, facts)).ok]
    if treatment:
        held, stopped = _tentative(entry, held, facts, kb)
        if stopped is not None:
            return stopped
    if not held:
        return None
    cautions = []
    for guard in entry.guards:
        match = evaluate(guard.when, facts)
        if match.ok:
            if guard.action == "block":
                because = f" [{'; '.join(match.evidence)}]" if match.evidence else ""
                text = f"{entry.label} not advised: {guard.message}{because}"
                return Withheld(id=entry.id, note_on=tuple(guard.note_on),
                                message=flagged(f"{text} ({kb.cite(guard.source)})", guard))
            cautions.append(flagged(f"{guard.message} ({kb.cite(guard.source)})", guard))
    rule = held[0][0]
    evidence = list(dict.fromkeys(e for _, match in held for e in match.evidence))
    if entry.combine and len(held) > 1:
        reasons = list(dict.fromkeys(_reason(r, facts) for r, _ in held))
        sources = list(dict.fromkeys(kb.cite(r.source) for r, _ in held))
        return PlanItem(id=entry.id, reason=" ".join(reasons), source="; ".join(sources),
                        evidence=evidence, cautions=cautions, certainty=rule.certainty,
                        urgency=_urgency([r for r, _ in held]))
    return PlanItem(id=entry.id, reason=_reason(rule, facts), source=kb.cite(rule.source),
                    evidence=evidence, cautions=cautions, certainty=rule.certainty,
                    urgency=rule.urgency)


def plan_items(entries: list[PlanEntry], facts: Facts, kb: Knowledge, *,
               earlier: frozenset[str] = frozenset(),
               withheld: list[Withheld] | None = None,
               treatment: bool = False) -> list[PlanItem]:
    """Items proposed in file order; rules see ``earlier`` ids and those proposed before them.

    Items blocked by a guard although a rule proposed them are appended to ``withheld`` (when
    given), so that :func:`attach_withheld` can show why. With ``treatment`` (management), a
    rule that holds only through a syndrome at "possible" certainty does not start the item.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model import Case, Derived
    >>> from ectocalc.reasoning.facts import build_facts
    >>> kb = load_knowledge()
    >>> facts = build_facts(case=Case(), labs=[], derived=Derived(), mentions=[], knowledge=kb)
    >>> [i.id for i in plan_items(kb.workup.workup, facts, kb)]
    ['serum_calcium', 'serum_phosphate', 'serum_magnesium', 'kidney_function']
    """
    items: list[PlanItem] = []
    seen = facts.evolve(plans=earlier)  # renewed only when an item is added
    for entry in entries:
        item = _propose(entry, seen, kb, treatment=treatment)
        if isinstance(item, Withheld):
            if withheld is not None:
                withheld.append(item)
        elif item is not None:
            items.append(item)
            seen = facts.evolve(plans=earlier | {i.id for i in items})
    return items


def attach_withheld(withheld: list[Withheld], items: list[PlanItem]) -> list[Alert]:
    """Show each withheld item: on the first proposed item it names, else as an alert.

    Examples
    --------
    >>> shown = PlanItem(id="physical_therapy", reason="r", source="s")
    >>> attach_withheld([Withheld("nsaid", "NSAID not advised: x", ("physical_therapy",))],
    ...                 [shown])
    []
    >>> shown.withheld
    ['NSAID not advised: x']
    >>> [a.id for a in attach_withheld([Withheld("nsaid", "NSAID not advised: x", ())], [])]
    ['plan_item_withheld']
    """
    by_id = {item.id: item for item in items}
    notes: list[Alert] = []
    for blocked in withheld:
        target = next((by_id[i] for i in blocked.note_on if i in by_id), None)
        if target is not None:
            if blocked.message not in target.withheld:
                target.withheld.append(blocked.message)
        else:
            notes.append(Alert(id="plan_item_withheld", severity="info", message=blocked.message))
    return notes


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
    >>> kb = load_knowledge()
    >>> facts = build_facts(case=Case(), labs=[], mentions=[], knowledge=kb,
    ...                     derived=Derived(calcium_phosphate_product_mg2_dl2=75.5))
    >>> [a.id for a in alerts(facts, kb)]
    ['calcium_phosphate_product_high']
    """
    raised = (_alert(entry, facts, kb) for entry in kb.alerts.alerts)
    return [a for a in raised if a is not None]
