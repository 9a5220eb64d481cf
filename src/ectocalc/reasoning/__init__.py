"""Clinical reasoning: concept recognition and the rule engine over the knowledge base.

Every function takes the knowledge bundle explicitly (:func:`ectocalc.knowledge.load_knowledge`).

Examples
--------
>>> from ectocalc.knowledge import load_knowledge
>>> from ectocalc.model import Case, Condition
>>> kb = load_knowledge()
>>> sorted(present_ids(recognise(Case(conditions=[Condition(text="ESRD on HD")]), knowledge=kb)))
['chronic_kidney_disease', 'dialysis']
"""

from ectocalc.reasoning.concepts import Mention, find_by_code, find_in_text, present_ids, recognise
from ectocalc.reasoning.engine import ReasoningResult, calcification_types, reason
from ectocalc.reasoning.facts import Facts, FindingView, build_facts
from ectocalc.reasoning.rules import Match, evaluate

__all__ = [
    "Facts", "FindingView", "Match", "Mention", "ReasoningResult", "build_facts",
    "calcification_types", "evaluate", "find_by_code", "find_in_text", "present_ids",
    "reason", "recognise",
]
