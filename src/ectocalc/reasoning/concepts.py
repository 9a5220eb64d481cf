"""Concept recognition: which conditions, medications, procedures, signs and sites a case names.

Codes (ICD-10-CM by prefix, SNOMED CT exactly) and ordinary wording are matched against the
lexicon in ``knowledge/data/concepts.yaml``. A mention preceded in its clause by a negation cue
("no history of CKD") does not count as present; one in a family-history clause is kept apart.

Examples
--------
>>> from ectocalc.model import Case, Condition
>>> case = Case(conditions=[Condition(text="ESRD on HD"), Condition(text="no history of diabetes")])
>>> sorted(c.id for c in recognise(case) if c.present)
['chronic_kidney_disease', 'dialysis']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache

from ectocalc.knowledge import load_knowledge
from ectocalc.knowledge.schema import ConceptEntry, ConceptKind
from ectocalc.model.case import Case

# Cues that negate a following mention within the same clause (NegEx-style, pre-negation only).
_NEGATION = re.compile(
    r"\b(no|not|denies|denied|without|negative for|free of|ruled out|rules out|r/o|absence of|"
    r"never had|no history of|no evidence of|no sign of|no signs of)\b"
)
_FAMILY = re.compile(r"\b(family history|fh|mother|father|sister|brother|sibling|siblings|parent|"
                     r"parents|daughter|son|relative|first-degree|cousin|aunt|uncle)\b")
_HISTORY_KINDS: tuple[ConceptKind, ...] = ("condition", "medication", "procedure", "sign",
                                           "family_history")
# Cues that make a mention a suspicion rather than an established diagnosis.
_HEDGE = re.compile(r"\b(suspected|suspicion of|possible|probable|likely|presumed|query|"
                    r"questionable|cannot exclude|consider)\b")
_CLAUSE_BREAK = re.compile(r"[.;:,]|\bbut\b|\bhowever\b|\bexcept\b")


@dataclass(frozen=True)
class Mention:
    """A concept found in the case."""

    id: str
    kind: ConceptKind
    label: str
    origin: str
    """Where it was found, e.g. ``conditions[1].text``."""
    matched: str
    present: bool = True
    family: bool = False
    attributes: dict[str, str] = field(default_factory=dict)


def _term_pattern(term: str) -> re.Pattern[str]:
    if term.startswith("re:"):
        return re.compile(term[3:], re.IGNORECASE)
    words = r"\s+".join(re.escape(w) for w in term.lower().split())
    return re.compile(rf"(?<![\w-]){words}(?![\w-])", re.IGNORECASE)


@cache
def _compiled() -> list[tuple[ConceptEntry, list[re.Pattern[str]]]]:
    return [(entry, [_term_pattern(t) for t in entry.terms])
            for entry in load_knowledge().lexicon.concepts]


def _normalise_icd(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _clause_before(text: str, start: int) -> str:
    """The part of the clause that precedes position ``start``."""
    before = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    return before[breaks[-1].end():] if breaks else before


def _rank(mention: Mention) -> tuple[bool, bool, int]:
    return mention.present, bool(mention.attributes), len(mention.matched)


def find_in_text(text: str, origin: str, *, kinds: tuple[ConceptKind, ...] | None = None,
                 ) -> list[Mention]:
    """Concepts mentioned in free text, with negation and family-history context.

    Examples
    --------
    >>> [m.id for m in find_in_text("CKD stage 4, not on dialysis", "x")]
    ['dialysis', 'chronic_kidney_disease']
    >>> [(m.id, m.present) for m in find_in_text("not on dialysis", "x")]
    [('dialysis', False)]
    >>> [m.attributes for m in find_in_text("suspected CREST", "x")]
    [{'suspected': 'true'}]
    """
    mentions: list[Mention] = []
    lowered = text.lower()
    for entry, patterns in _compiled():
        if kinds is not None and entry.kind not in kinds:
            continue
        best: Mention | None = None
        for pattern in patterns:
            for match in pattern.finditer(lowered):
                clause = _clause_before(lowered, match.start())
                attributes = {k: v for k, v in match.groupdict().items() if v}
                mention = Mention(
                    id=entry.id, kind=entry.kind, label=entry.label, origin=origin,
                    matched=text[match.start():match.end()],
                    present=_NEGATION.search(clause) is None,
                    family=_FAMILY.search(clause) is not None,
                    attributes={k: v.upper() for k, v in attributes.items()}
                    | ({"suspected": "true"} if _HEDGE.search(clause) else {}),
                )
                # An affirmed mention wins over a negated one, an attributed one over a bare
                # one, then the longer wording.
                if best is None or _rank(mention) > _rank(best):
                    best = mention
        if best is not None:
            mentions.append(best)
    return mentions


def _code_attributes(entry: ConceptEntry, code: str) -> dict[str, str]:
    """Attributes carried by the most specific ICD-10-CM prefix in ``code_attributes``."""
    icd = _normalise_icd(code)
    prefixes = [p for p in entry.code_attributes if icd.startswith(_normalise_icd(p))]
    if not prefixes:
        return {}
    return dict(entry.code_attributes[max(prefixes, key=lambda p: len(_normalise_icd(p)))])


def find_by_code(code: str, system: str | None, origin: str) -> list[Mention]:
    """Concepts identified by an ICD-10-CM (prefix) or SNOMED CT (exact) code."""
    mentions = []
    for entry, _ in _compiled():
        if system == "snomed":
            hit = code.strip() in entry.snomed
        else:
            icd = _normalise_icd(code)
            hit = any(icd.startswith(_normalise_icd(prefix)) for prefix in entry.icd10cm)
        if hit:
            attributes = _code_attributes(entry, code) if system != "snomed" else {}
            mentions.append(Mention(id=entry.id, kind=entry.kind, label=entry.label,
                                    origin=origin, matched=code, attributes=attributes))
    return mentions


def recognise(case: Case) -> list[Mention]:
    """Every concept mentioned in the case's conditions, medications and findings.

    A finding's site text yields sites and signs, each of its ``signs`` words yields signs
    (``angioid_streaks`` reads as "angioid streaks"), and a SNOMED CT ``body_site_code`` a site.
    """
    mentions: list[Mention] = []
    for section, items in (("conditions", case.conditions), ("medications", case.medications)):
        for index, item in enumerate(items):
            found: list[Mention] = []
            if item.code:
                found += find_by_code(item.code, item.system, f"{section}[{index}].code")
            if item.text:  # body sites are read from findings only
                found += find_in_text(item.text, f"{section}[{index}].text", kinds=_HISTORY_KINDS)
            if not item.present:
                found = [replace(m, present=False) for m in found]
            mentions += found
    for index, finding in enumerate(case.findings):
        origin = f"findings[{index}]"
        mentions += find_in_text(finding.site, f"{origin}.site", kinds=("site", "sign"))
        if finding.body_site_code:
            mentions += [m for m in find_by_code(finding.body_site_code, "snomed",
                                                 f"{origin}.body_site_code") if m.kind == "site"]
        for number, sign in enumerate(finding.signs):
            mentions += find_in_text(sign.replace("_", " "), f"{origin}.signs[{number}]",
                                     kinds=("sign",))
    return mentions


def present_ids(mentions: list[Mention]) -> set[str]:
    """Ids of concepts affirmed for the patient (not negated, not family history)."""
    return {m.id for m in mentions if m.present and not m.family}
