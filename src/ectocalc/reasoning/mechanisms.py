"""Mechanism differential: score each mechanism from its signals in ``mechanisms.yaml``.

A mechanism's score is the noisy-OR of its matched signal weights, multiplied by (1 - weight)
for each matched signal against it; the idiopathic residual shrinks as the best other mechanism
rises. Missing core labs lower the confidence one step each, and say so.
"""

from __future__ import annotations

from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import CONFIDENCES, Signal
from ectocalc.model.assessment import Mechanism, MechanismScore
from ectocalc.model.display import reported
from ectocalc.reasoning.facts import Facts
from ectocalc.reasoning.rules import evaluate

_SCORE = "mechanism.differential.[].score"


def _matched(signals: list[Signal], facts: Facts) -> list[tuple[Signal, tuple[str, ...]]]:
    held = [(signal, evaluate(signal.when, facts)) for signal in signals]
    return [(signal, match.evidence) for signal, match in held if match.ok]


def _noisy_or(weights: list[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def _describe(matched: list[tuple[Signal, tuple[str, ...]]]) -> list[str]:
    return [f"{signal.label}: {'; '.join(evidence)}" if evidence else signal.label
            for signal, evidence in matched]


def _confidence(scores: list[float], missing: int, kb: Knowledge) -> str:
    settings = kb.mechanisms.settings
    top = scores[0] if scores else 0.0
    runner_up = scores[1] if len(scores) > 1 else 0.0
    if top >= settings.high_confidence and top - runner_up >= settings.margin:
        level = 2
    elif top >= settings.moderate_confidence:
        level = 1
    else:
        level = 0
    return CONFIDENCES[max(0, level - missing)]


def score_mechanisms(facts: Facts, kb: Knowledge) -> Mechanism:
    """The mechanism differential with scores, evidence, sources and confidence.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model import Case, Derived
    >>> from ectocalc.reasoning.facts import build_facts
    >>> kb = load_knowledge()
    >>> facts = build_facts(case=Case(), labs=[], derived=Derived(), mentions=[], knowledge=kb)
    >>> result = score_mechanisms(facts, kb)
    >>> result.primary, result.confidence
    ('idiopathic', 'low')
    """
    raw = []
    for entry in kb.mechanisms.mechanisms:
        matched, against = _matched(entry.signals, facts), _matched(entry.against, facts)
        score = _noisy_or([s.weight for s, _ in matched])
        for signal, _ in against:
            score *= 1.0 - signal.weight
        raw.append((entry, matched, against, score))
    scored = []
    for entry, matched, against, score in raw:
        evidence = _describe(matched)
        if entry.residual is not None:
            best_other = max(r[3] for r in raw if r[0] is not entry)
            score = _noisy_or([entry.residual, *(s.weight for s, _ in matched)]) * (1 - best_other)
            # Say "nothing else explains it" only when nothing else does.
            unexplained = best_other < kb.mechanisms.settings.moderate_confidence
            evidence.insert(0, f"no other mechanism explains the case (best other score "
                               f"{best_other:.2f})" if unexplained else
                            f"residual only: another mechanism explains the case better (best "
                            f"other score {best_other:.2f})")
        sources = [kb.cite(s.source) for s, _ in [*matched, *against]] or [kb.cite(entry.source)]
        scored.append(MechanismScore(id=entry.id, score=score, evidence=evidence,
                                     against=_describe(against),
                                     sources=list(dict.fromkeys(sources))))
    order: dict[str, int] = {m.id: i for i, m in enumerate(kb.mechanisms.mechanisms)}
    # Ranked and judged on the scores as reported (equal shown scores tie, in catalogue order).
    score_of = {s.id: reported(_SCORE, s.score) for s in scored}
    ranked = sorted(scored, key=lambda s: (-score_of[s.id], order[s.id]))
    settings = kb.mechanisms.settings
    shown = [s for s in ranked if score_of[s.id] >= settings.report_below]
    missing = [c.label for c in settings.core_labs if evaluate(c.when, facts).ok]
    notes = []
    if not facts.findings:
        notes.append("No calcification is recorded: this is a RISK assessment. The mechanism "
                     "names what the case is at risk of, not the cause of a deposit.")
    if missing:
        notes.append(f"Not measured: {', '.join(missing)}. A systemic (metastatic) cause cannot "
                     f"be excluded; confidence lowered.")
    notes.append(f"Scores are a weighted heuristic ({kb.cite(settings.source)}), not "
                 f"probabilities.")
    return Mechanism(primary=ranked[0].id if ranked else None,
                     confidence=_confidence([score_of[s.id] for s in ranked], len(missing), kb),
                     differential=shown, notes=notes)
