"""Concept recognition: which conditions, medications, procedures, signs and sites a case names.

Codes (ICD-10-CM by prefix, SNOMED CT exactly) and ordinary wording are matched against the
lexicon in ``knowledge/data/concepts.yaml``. A mention preceded in its clause by a negation cue
("no history of CKD") does not count as present; one in a family-history clause is kept apart.

Examples
--------
>>> from ectocalc.model import Case, Condition
>>> from ectocalc.knowledge import load_knowledge
>>> case = Case(conditions=[Condition(text="ESRD on HD"), Condition(text="no history of diabetes")])
>>> sorted(c.id for c in recognise(case, knowledge=load_knowledge()) if c.present)
['chronic_kidney_disease', 'dialysis']
"""

from __future__ import annotations

import bisect
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Literal

from ectocalc.knowledge import Knowledge
from ectocalc.knowledge.schema import ConceptEntry, ConceptKind, PatientGuard
from ectocalc.model.case import Case

# Cues that negate a following mention within the same clause (NegEx-style pre-negation; "off"
# as in "off dialysis", not "off-label").
_NEGATION = re.compile(
    r"\b(no|not|denies|denied|without|negative for|free of|ruled out|rules out|r/o|absence of|"
    r"never|avoid|avoids|avoiding|no history of|no evidence of|no sign of|no signs of|"
    r"declined|declines|refused|refuses|deferred)\b|(?<![\w-])off(?![\w-])"
)
# ...and cues that negate the mention before them in the clause (post-negation: "pregnancy
# excluded", "pregnancy test negative").
_NEGATION_AFTER = re.compile(r"\b(excluded|ruled out|negative|absent|not present|not seen|"
                             r"declined|refused|deferred|not done|not performed)\b")
_FAMILY = re.compile(r"\b(family history|fh|half-(?:sister|brother|siblings?)|"
                     r"grand(?:mother|father|parents?|daughter|son)|mother|father|sister|brother|"
                     r"sibling|siblings|parent|parents|daughter|son|relative|first-degree|"
                     r"second-degree|third-degree|cousin|aunt|uncle|niece|nephew)\b")
# Degree of kinship of a relation word (genealogy, not a clinical threshold): parents, siblings
# and children share half their genes (first degree); grandparents, aunts and uncles, nieces and
# nephews, half-siblings a quarter (second); cousins an eighth (third). "Family history" or
# "relative" leave the degree unknown (no ``family_degree`` attribute).
_DEGREE = {"first-degree": 1, "second-degree": 2, "third-degree": 3, "cousin": 3,
           **dict.fromkeys(("mother", "father", "sister", "brother", "sibling", "siblings",
                            "parent", "parents", "daughter", "son"), 1),
           **dict.fromkeys(("aunt", "uncle", "niece", "nephew"), 2)}
_HISTORY_KINDS: tuple[ConceptKind, ...] = ("condition", "medication", "procedure", "sign",
                                           "family_history")
# Cues that make a mention a suspicion rather than an established diagnosis.
_HEDGE = re.compile(r"\b(suspected|suspicion of|possible|probable|likely|presumed|query|"
                    r"questionable|cannot exclude|consider|rule out|to exclude|"
                    r"concern for|worried about)\b|\?")
_CLAUSE_BREAK = re.compile(r"[.;:,]|\bbut\b|\bhowever\b|\bexcept\b")
# Cues that make a mention history rather than a current state: before it in the clause ("h/o",
# "s/p", "former", "continued from" dialysis) or after it in the sentence ("resolved",
# "recovered", "no longer", an ended date range "2016-2024").
# A concept whose past still matters (``past_counts``: an injury, radiotherapy, surgery, a
# lifelong disease) stays present; a state (dialysis, a treated disease, a drug) does not.
_PAST_BEFORE = re.compile(r"(?<![\w/])(h/o|hx of|history of|s/p|status post|former|formerly|"
                          r"previous|previously|prior|past|ex-|(?:continued|carried over) from)"
                          r"(?![\w/])")
_PAST_AFTER = re.compile(r"\b(resolved|in remission|(?<!physically )inactive|quiescent|stopped|"
                         r"discontinued|ceased|ended|recovered|no longer|"
                         r"(?:19|20)\d\d\s*(?:-|\u2013|to)\s*(?:19|20)\d\d)\b")
# A condition followed by "treated in 2021" or "s/p" its curative operation ("SHPT s/p PTX"),
# or with "cured" / "no recurrence" later in its sentence, is history too (a condition only, and
# the treatment right after it: "ESRD on HD s/p PTX" keeps ESRD and dialysis current).
_TREATED_AFTER = re.compile(r"\b(treated\s+(?:in\s+)?(?:19|20)\d\d|"
                            r"(?:s/p|status post)\s+(?:ptx|parathyroidectomy|thyroidectomy|"
                            r"resection|excision|surgery|mastectomy|lobectomy|chemotherapy|"
                            r"radiotherapy|curative))(?![\w/])")
_CURED_AFTER = re.compile(r"\b(cured|no recurrence|without recurrence|no evidence of disease|"
                          r"ned)\b")
# A relative named after the mention in its clause: "FHH in mother and sister".
_FAMILY_AFTER = re.compile(r"\b(?:in|of)\s+(?:(?:his|her|their|the|a|an|both|two|three|"
                           r"several|maternal|paternal)\s+){0,2}(?:half-(?:sister|"
                           r"brother|siblings?)|grand(?:mother|father|parents?|daughter|son)|"
                           r"mother|father|sister|brother|siblings?|parents?|daughter|son|"
                           r"relatives?|cousins?|aunt|uncle|niece|nephew)\b")
# ...unless the sentence says it goes on ("history of ESRD on HD since 2015", "to present").
_CURRENT_AFTER = re.compile(r"\b((?<!inactive )(?<!remission )since|ongoing|currently|current|"
                            r"still|to date|present|now on)\b")
_SENTENCE_END = re.compile(r"[.;]")


MentionContext = Literal["affirmed", "negated", "historical", "hypothetical", "family"]


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

    @property
    def context(self) -> MentionContext:
        """How the text places the concept: in a relative (``family``), denied (``negated``),
        in the past (``historical``), suspected (``hypothetical``), else ``affirmed``; the
        labels of the phrase set (``tests/reasoning/data/phrases.yaml``)."""
        if self.family:
            return "family"
        if "negated" in self.attributes:
            return "negated"
        if "past" in self.attributes:
            return "historical"
        if "suspected" in self.attributes:
            return "hypothetical"
        return "affirmed" if self.present else "negated"


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class _Term:
    """A lexicon term, compiled on first use, and the words a text must contain to match it."""

    source: str
    """The regular expression (case-insensitive)."""
    words: frozenset[str] | None
    """Every ``\\w+`` run of a plain term is a whole word of any text it matches (the pattern is
    bounded by non-word characters), so a text lacking one cannot match; None for a regular
    expression (always tried)."""

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The compiled pattern: most terms are never tried on a case (the word index skips
        them), so compiling all ~1,400 up front would cost about a second per process."""
        return re.compile(self.source, re.IGNORECASE)


def _term(term: str) -> _Term:
    if term.startswith("re:"):
        return _Term(term[3:], None)
    words = r"\s+".join(re.escape(w) for w in term.lower().split())
    return _Term(rf"(?<![\w-]){words}(?![\w-])", frozenset(_WORD.findall(term.lower())))


@dataclass(frozen=True)
class _Lexicon:
    """The lexicon compiled once per knowledge bundle, indexed by one word of each plain term."""

    entries: tuple[tuple[ConceptEntry, tuple[_Term, ...]], ...]
    always: tuple[tuple[int, int], ...]
    """(entry, term) positions of the regular expressions: tried on every text."""
    by_word: dict[str, tuple[tuple[int, int], ...]]
    """Longest word of each plain term -> its (entry, term) positions."""
    icd10cm: tuple[tuple[ConceptEntry, tuple[str, ...]], ...]
    """Each entry with its ICD-10-CM prefixes normalised (no dot, upper case)."""

    def candidates(self, words: frozenset[str]) -> dict[int, list[_Term]]:
        """Per entry, in lexicon order, the terms a text with these words may match."""
        found = set(self.always)
        for word in words & self.by_word.keys():
            found.update(pos for pos in self.by_word[word]
                         if self.entries[pos[0]][1][pos[1]].words <= words)  # type: ignore[operator]
        grouped: dict[int, list[_Term]] = {}
        for entry, term in sorted(found):
            grouped.setdefault(entry, []).append(self.entries[entry][1][term])
        return grouped


@lru_cache(maxsize=8)
def _compiled(knowledge: Knowledge) -> _Lexicon:
    entries = tuple((entry, tuple(_term(t) for t in entry.terms))
                    for entry in knowledge.lexicon.concepts)
    always: list[tuple[int, int]] = []
    by_word: dict[str, tuple[tuple[int, int], ...]] = {}
    for e, (_, terms) in enumerate(entries):
        for t, term in enumerate(terms):
            if term.words:
                key = max(sorted(term.words), key=len)
                by_word[key] = (*by_word.get(key, ()), (e, t))
            else:
                always.append((e, t))
    icd10cm = tuple((entry, tuple(_normalise_icd(p) for p in entry.icd10cm))
                    for entry in knowledge.lexicon.concepts)
    return _Lexicon(entries, tuple(always), by_word, icd10cm)


class _Context:
    """Where the clause breaks and the context cues of one (lower-cased) text are.

    Each cue is searched once over the whole text, so judging a mention costs a binary search,
    not a scan of the text before it: recognition stays linear in the length of the text.
    """

    def __init__(self, lowered: str) -> None:
        self.text = lowered
        self.breaks = [m.end() for m in _CLAUSE_BREAK.finditer(lowered)]
        self.stops = [m.start() for m in _SENTENCE_END.finditer(lowered)]
        self.cues = {name: [(m.start(), m.end()) for m in cue.finditer(lowered)]
                     for name, cue in (("negation", _NEGATION),
                                       ("negation_after", _NEGATION_AFTER), ("family", _FAMILY),
                                       ("hedge", _HEDGE), ("past_before", _PAST_BEFORE),
                                       ("past_after", _PAST_AFTER),
                                       ("treated_after", _TREATED_AFTER),
                                       ("cured_after", _CURED_AFTER),
                                       ("family_after", _FAMILY_AFTER),
                                       ("current_after", _CURRENT_AFTER))}

    def clause_start(self, position: int) -> int:
        """Start of the clause that holds ``position`` (after the last break before it)."""
        i = bisect.bisect_right(self.breaks, position) - 1
        return self.breaks[i] if i >= 0 else 0

    def clause_end(self, position: int) -> int:
        """End of the clause that holds ``position`` (its break, or the end of the text)."""
        i = bisect.bisect_right(self.breaks, position)
        return self.breaks[i] if i < len(self.breaks) else sys.maxsize

    def negated(self, clause_start: int, start: int, end: int) -> bool:
        """A negation cue before the mention in its clause, or a post-negation after it."""
        return self.within("negation", clause_start, start) or self.within(
            "negation_after", end, self.clause_end(end))

    def within(self, name: str, start: int, end: int) -> bool:
        """Whether a ``name`` cue lies wholly in ``text[start:end]``."""
        cues = self.cues[name]
        i = bisect.bisect_left(cues, (start, -1))
        return i < len(cues) and cues[i][1] <= end

    def spans(self, name: str, start: int, end: int) -> list[tuple[int, int]]:
        """The ``name`` cues lying wholly in ``text[start:end]``."""
        cues = self.cues[name]
        i = bisect.bisect_left(cues, (start, -1))
        found = []
        while i < len(cues) and cues[i][0] < end:
            if cues[i][1] <= end:
                found.append(cues[i])
            i += 1
        return found

    def is_past(self, clause_start: int, start: int, end: int, *, condition: bool = False) -> bool:
        """History: a cue before the mention in its clause ("h/o", "s/p", "former") or after it
        in its sentence ("resolved", "recovered", an ended date range such as 2016-2024); for a
        ``condition``, also its treatment right after it ("treated in 2021", "s/p PTX") or its
        cure in its sentence ("no recurrence")."""
        i = bisect.bisect_left(self.stops, end)
        stop = self.stops[i] if i < len(self.stops) else sys.maxsize
        # "...on HD since 2015" keeps its own clause current, not a later one ("h/o HD for AKI,
        # off dialysis since 2022").
        if self.within("current_after", end, self.clause_end(end)):
            return False
        return (self.within("past_before", clause_start, start)
                or self.within("past_after", end, stop)
                or (condition and (self.next_to("treated_after", end)
                                   or self.within("cured_after", end, stop))))

    def next_to(self, name: str, end: int) -> bool:
        """A ``name`` cue right after ``end``, with only spaces or punctuation between ("SHPT
        s/p PTX", "thyroid cancer (treated 2021)", but not "ESRD on HD s/p PTX")."""
        cues = self.cues[name]
        i = bisect.bisect_left(cues, (end, -1))
        return i < len(cues) and not self.text[end:cues[i][0]].strip(" ,(-\u2013")

    def family(self, clause_start: int, start: int, end: int) -> int | None:
        """A relative named before the mention in its clause ("mother has PXE") or after it
        ("FHH in mother and sister"): the closest degree of kinship named (1, 2, 3), 0 when
        it is not named ("family history of"), None when no relative is named."""
        spans = (self.spans("family", clause_start, start)
                 + self.spans("family_after", end, self.clause_end(end)))
        if not spans:
            return None
        degrees = [_degree(self.text[a:b]) for a, b in spans]
        named = [d for d in degrees if d]
        return min(named) if named else 0


def _degree(cue: str) -> int:
    """Degree of kinship of a family cue ("in her cousin" -> 3, "grandmother" -> 2), 0 if the
    cue names no relation ("family history", "relative")."""
    word = cue.split()[-1]
    if word.startswith(("half-", "grand")):
        return 2
    return _DEGREE.get(word.rstrip("s") if word.endswith("cousins") else word, 0)


def _normalise_icd(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _rank(mention: Mention) -> tuple[bool, bool, int]:
    return mention.present, bool(mention.attributes), len(mention.matched)


def find_in_text(text: str, origin: str, *, knowledge: Knowledge,
                 kinds: tuple[ConceptKind, ...] | None = None) -> list[Mention]:
    """Concepts mentioned in free text, with negation and family-history context.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> [m.id for m in find_in_text("CKD stage 4, not on dialysis", "x", knowledge=kb)]
    ['dialysis', 'chronic_kidney_disease']
    >>> [(m.id, m.present) for m in find_in_text("not on dialysis", "x", knowledge=kb)]
    [('dialysis', False)]
    >>> [(m.id, m.present) for m in find_in_text("off dialysis since 2022", "x", knowledge=kb)]
    [('dialysis', False)]
    >>> [(m.id, m.present) for m in find_in_text("pregnancy excluded", "x", knowledge=kb)]
    [('pregnancy', False)]
    >>> [m.attributes for m in find_in_text("suspected CREST", "x", knowledge=kb)]
    [{'suspected': 'true'}]
    """
    mentions: list[Mention] = []
    lowered = text.lower()
    lexicon = _compiled(knowledge)
    context: _Context | None = None
    for index, terms in lexicon.candidates(frozenset(_WORD.findall(lowered))).items():
        entry = lexicon.entries[index][0]
        if kinds is not None and entry.kind not in kinds:
            continue
        best: Mention | None = None
        for term in terms:
            for match in term.pattern.finditer(lowered):
                context = context or _Context(lowered)
                start, end = match.span()
                clause = context.clause_start(start)
                attributes = {k: v for k, v in match.groupdict().items() if v}
                past = context.is_past(clause, start, end, condition=entry.kind == "condition")
                negated = context.negated(clause, start, end)
                degree = context.family(clause, start, end)
                mention = Mention(
                    id=entry.id, kind=entry.kind, label=entry.label, origin=origin,
                    matched=text[start:end],
                    present=not negated and (entry.past_counts or not past),
                    family=degree is not None,
                    attributes={k: v.upper() for k, v in attributes.items()}
                    | ({"family_degree": str(degree)} if degree else {})
                    | ({"suspected": "true"} if context.within("hedge", clause, start) else {})
                    | ({"past": "true"} if past else {})
                    | ({"negated": "true"} if negated else {}),
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


def find_by_code(code: str, system: str | None, origin: str, *,
                 knowledge: Knowledge) -> list[Mention]:
    """Concepts identified by an ICD-10-CM (prefix) or SNOMED CT (exact) code."""
    mentions = []
    icd, snomed = _normalise_icd(code), code.strip()
    for entry, prefixes in _compiled(knowledge).icd10cm:
        hit = snomed in entry.snomed if system == "snomed" else icd.startswith(prefixes)
        if hit:
            attributes = _code_attributes(entry, code) if system != "snomed" else {}
            mentions.append(Mention(id=entry.id, kind=entry.kind, label=entry.label,
                                    origin=origin, matched=code, attributes=attributes))
    return mentions


def recognise(case: Case, *, knowledge: Knowledge) -> list[Mention]:
    """Every concept mentioned in the case's conditions, medications and findings.

    A finding's site text yields sites and signs, each of its ``signs`` words yields signs
    (``angioid_streaks`` reads as "angioid streaks"), and a SNOMED CT ``body_site_code`` a site.
    """
    mentions: list[Mention] = []
    for section, items in (("conditions", case.conditions), ("medications", case.medications)):
        for index, item in enumerate(items):
            found: list[Mention] = []
            if item.code:
                found += find_by_code(item.code, item.system, f"{section}[{index}].code",
                                      knowledge=knowledge)
            if item.text:  # body sites are read from findings only
                worded = find_in_text(item.text, f"{section}[{index}].text", knowledge=knowledge,
                                      kinds=_HISTORY_KINDS)
                # The item's words date or negate its code: "h/o gestational diabetes in 2020
                # pregnancy" with O24.419 is a past pregnancy, not a current one.
                absent = {m.id for m in worded if not m.present and not m.family}
                found = [replace(m, present=False) if m.id in absent else m for m in found]
                found += worded
            if not item.present:
                found = [replace(m, present=False) for m in found]
            elif getattr(item, "past", False):  # a resolved or inactive Condition
                found = [_as_past(m, knowledge) for m in found]
            mentions += found
    for index, finding in enumerate(case.findings):
        origin = f"findings[{index}]"
        mentions += find_in_text(finding.site, f"{origin}.site", knowledge=knowledge,
                                 kinds=("site", "sign"))
        if finding.body_site_code:
            mentions += [m for m in find_by_code(finding.body_site_code, "snomed",
                                                 f"{origin}.body_site_code", knowledge=knowledge)
                         if m.kind == "site"]
        for number, sign in enumerate(finding.signs):
            mentions += find_in_text(sign.replace("_", " "), f"{origin}.signs[{number}]",
                                     knowledge=knowledge, kinds=("sign",))
    return [_guarded(m, case, knowledge) for m in mentions]


def _as_past(mention: Mention, knowledge: Knowledge) -> Mention:
    """``mention`` read as history: a state is absent, a ``past_counts`` concept still counts."""
    counts = _past_counts(knowledge).get(mention.id, False)
    return replace(mention, present=mention.present and counts,
                   attributes={**mention.attributes, "past": "true"})


@lru_cache(maxsize=8)
def _past_counts(knowledge: Knowledge) -> dict[str, bool]:
    return {c.id: c.past_counts for c in knowledge.lexicon.concepts}


def _guarded(mention: Mention, case: Case, knowledge: Knowledge) -> Mention:
    """``mention`` set aside (not present, with the reason in ``attributes["set_aside"]``) when
    its concept's ``patient`` guard excludes this patient; unchanged otherwise."""
    guard = _patient_guards(knowledge).get(mention.id)
    if guard is None or not mention.present or mention.family:
        return mention
    sex, age = case.patient.sex, case.patient.age_years
    outside = ((guard.sex is not None and sex is not None and sex not in guard.sex)
               or (guard.age_at_least is not None and age is not None
                   and age < guard.age_at_least))
    if not outside:
        return mention
    return replace(mention, present=False,
                   attributes={**mention.attributes, "set_aside": guard.reason})


def set_aside(mentions: list[Mention]) -> list[str]:
    """What :func:`recognise` set aside for this patient, one line each (for ``skipped_inputs``).

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.model.case import Case, Condition, Patient
    >>> case = Case(patient=Patient(age_years=0.04, sex="male"),
    ...             conditions=[Condition(text="born at 28 weeks gestation")])
    >>> set_aside(recognise(case, knowledge=load_knowledge()))[0][:62]
    "conditions[0].text: '28 weeks gestation' not read as Pregnancy"
    """
    return [f"{m.origin}: '{m.matched}' not read as {m.label}: {m.attributes['set_aside']}"
            for m in mentions if "set_aside" in m.attributes]


@lru_cache(maxsize=8)
def _patient_guards(knowledge: Knowledge) -> dict[str, PatientGuard]:
    return {c.id: c.patient for c in knowledge.lexicon.concepts if c.patient is not None}


def present_ids(mentions: list[Mention]) -> set[str]:
    """Ids of concepts affirmed for the patient (not negated, not family history)."""
    return {m.id for m in mentions if m.present and not m.family}
