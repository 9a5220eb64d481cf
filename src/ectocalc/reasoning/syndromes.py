"""Syndromes: match each syndrome's criteria, then take the strongest level that holds."""

from __future__ import annotations

from types import MappingProxyType

from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import Sourced, SyndromeEntry
from ectocalc.model.assessment import SyndromeItem
from ectocalc.reasoning.facts import Facts
from ectocalc.reasoning.rules import evaluate


def flagged(text: str, item: Sourced) -> str:
    """``text`` marked ``[check]`` when the knowledge entry is not confirmed."""
    if not item.check:
        return text
    # One marker only, at the end (a text may already carry "[check]" from the references).
    return f"{text.replace(' [check]', '').rstrip()} [check]"


def _assess(entry: SyndromeEntry, facts: Facts, kb: Knowledge) -> SyndromeItem | None:
    criteria: dict[str, tuple[str | None, str | None]] = {}
    described = []
    for criterion in entry.criteria:
        match = evaluate(criterion.when, facts)
        if match.ok:
            criteria[criterion.id] = (criterion.category, criterion.grade)
            shown = f"{criterion.text}: {'; '.join(match.evidence)}" if match.evidence else (
                criterion.text)
            described.append(flagged(shown, criterion))
    if not criteria:
        return None
    scoped = facts.evolve(criteria=MappingProxyType(criteria))
    level = next((lv for lv in entry.levels if evaluate(lv.when, scoped).ok), None)
    if level is None:
        return None
    notes = []
    for note in entry.notes:
        # A note resting on another source than the syndrome's names it (e.g. KDIGO for the
        # secondary-hyperparathyroidism pattern under a primary-hyperparathyroidism source).
        cited = f" ({kb.cite(note.source)})" if note.source != entry.source else ""
        if note.when is None:
            notes.append(flagged(f"{note.text}{cited}", note))
            continue
        match = evaluate(note.when, scoped)
        if match.ok:
            notes.append(flagged(f"{note.text}: {'; '.join(match.evidence)}{cited}", note))
    # The item rests on the sources of what matched: a syndrome named after one source (primary
    # hyperparathyroidism) but met through another's criteria (KDIGO, renal) cites the latter.
    held = [c.source for c in entry.criteria if c.id in criteria]
    cited = (kb.cite(entry.source) if entry.source in held or not held
             else "; ".join(dict.fromkeys(kb.cite(s) for s in held)))
    return SyndromeItem(id=entry.id, name=entry.name, certainty=level.certainty,
                        criteria=described, source=cited, notes=notes)


def assess_syndromes(facts: Facts, kb: Knowledge) -> list[SyndromeItem]:
    """Syndromes the case meets, with certainty and the criteria that held (file order).

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model import Case, Derived, GeneticFinding
    >>> from ectocalc.reasoning.facts import build_facts
    >>> case = Case(genetics=[GeneticFinding(gene="ABCC6", zygosity="biallelic")])
    >>> kb = load_knowledge()
    >>> facts = build_facts(case=case, labs=[], derived=Derived(), mentions=[], knowledge=kb)
    >>> [(s.id, s.certainty) for s in assess_syndromes(facts, kb)]
    [('pxe', 'possible')]
    """
    items = (_assess(entry, facts, kb) for entry in kb.syndromes.syndromes)
    return [item for item in items if item is not None]
