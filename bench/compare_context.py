"""Concept recognition: ectocalc's cue lists against medspaCy's ConText on the phrase set.

medspaCy is not a dependency: install it apart to run this comparison (it brings spaCy),

    pip install --target /tmp/medspacy_env medspacy==1.3.1
    PYTHONPATH=src:/tmp/medspacy_env .venv/bin/python bench/compare_context.py

medspaCy runs a blank English spaCy pipeline (no model download): the PyRuSH sentencizer, a
target matcher holding every plain term of ``concepts.yaml`` as a TargetRule (the ``re:`` terms
have no medspaCy form and are left out) and ConText with its default rules. Both are scored like
``tests/reasoning/test_phrase_set.py``: a (concept, context) pair counts only when both match.
docs/knowledge.md records the result.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import yaml

PHRASES = Path(__file__).resolve().parents[1] / "tests" / "reasoning" / "data" / "phrases.yaml"
KINDS = ("condition", "medication", "procedure", "family_history")


def _score(found: list[set[tuple[str, str]]], gold: list[dict[str, str]]) -> tuple[float, float]:
    tp = fp = fn = 0
    for got, labels in zip(found, gold, strict=True):
        want = set(labels.items())
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
    return tp / (tp + fp), tp / (tp + fn)


def _medspacy(texts: list[str]) -> tuple[list[set[tuple[str, str]]], float, float]:
    logging.disable(logging.DEBUG)
    start = time.perf_counter()
    import spacy
    from medspacy.target_matcher import TargetRule
    imported = time.perf_counter() - start
    from ectocalc.knowledge import load_knowledge

    nlp = spacy.blank("en")
    nlp.add_pipe("medspacy_pyrush")
    matcher: Any = nlp.add_pipe("medspacy_target_matcher")
    matcher.add([TargetRule(term, c.id) for c in load_knowledge().lexicon.concepts
                 if c.kind in KINDS for term in c.terms if not term.startswith("re:")])
    nlp.add_pipe("medspacy_context")

    def context(ent: Any) -> str:
        for name in ("family", "negated", "historical", "hypothetical"):
            if getattr(ent._, f"is_{name}"):
                return name
        return "affirmed"

    run = time.perf_counter()
    found = [{(e.label_, context(e)) for e in nlp(text).ents} for text in texts]
    return found, imported, time.perf_counter() - run


def main() -> None:
    from ectocalc.knowledge import load_knowledge
    from ectocalc.reasoning.concepts import find_in_text

    pairs = yaml.safe_load(PHRASES.read_text(encoding="utf-8"))["phrases"]
    texts, gold = [p[0] for p in pairs], [p[1] for p in pairs]
    kb = load_knowledge()
    start = time.perf_counter()
    ours = [{(m.id, m.context) for m in find_in_text(t, "x", knowledge=kb, kinds=KINDS)}
            for t in texts]
    elapsed = time.perf_counter() - start
    precision, recall = _score(ours, gold)
    print(f"ectocalc cue lists: precision {precision:.3f}, recall {recall:.3f}, "
          f"{len(texts)} phrases in {elapsed * 1000:.0f} ms")
    theirs, imported, ran = _medspacy(texts)
    precision, recall = _score(theirs, gold)
    print(f"medspaCy ConText: precision {precision:.3f}, recall {recall:.3f}, spaCy + medspaCy "
          f"import {imported:.1f} s, {len(texts)} phrases in {ran * 1000:.0f} ms")


if __name__ == "__main__":
    main()
