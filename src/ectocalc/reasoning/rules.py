"""The generic rule evaluator: one function per predicate of the grammar in the knowledge schema.

A condition either holds or not; when it holds it returns the evidence (case facts, in words)
that made it hold, so every conclusion can say why.

Examples
--------
>>> from ectocalc.knowledge import load_knowledge
>>> from ectocalc.model import Case, Condition, Derived
>>> from ectocalc.reasoning.concepts import recognise
>>> from ectocalc.reasoning.facts import build_facts
>>> kb = load_knowledge()
>>> case = Case(conditions=[Condition(text="ESRD on HD")])
>>> facts = build_facts(case=case, labs=[], derived=Derived(),
...                     mentions=recognise(case, knowledge=kb), knowledge=kb)
>>> evaluate({"all": [{"dialysis": True}, {"ckd_stage_at_least": "G4"}]}, facts)
Match(ok=True, evidence=("CKD G5D from conditions[0].text: 'ESRD on HD'",))
>>> evaluate({"lab.phosphate": "missing"}, facts).evidence
('Phosphate (as P) not measured',)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ectocalc.knowledge.schema import Condition
from ectocalc.labs import ADULT_AGE_YEARS
from ectocalc.model.display import age_words
from ectocalc.reasoning.facts import Facts, FindingView, lab_text
from ectocalc.vocabulary import CERTAINTIES, PAIN_LEVELS, ckd_stage_rank


@dataclass(frozen=True)
class Match:
    ok: bool
    evidence: tuple[str, ...] = ()


NO = Match(False)


def _yes(*evidence: str) -> Match:
    return Match(True, tuple(dict.fromkeys(e for e in evidence if e)))


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- case predicates


def _concept(facts: Facts, ids: Any, *, family: bool = False, suspected: bool = False,
             active: bool = False, max_degree: int = 3) -> Match:
    """Mentions of ``ids``; ``suspected``: only hedged ones; ``active``: not past (a lifelong
    disease "inactive for 10 years" or "in remission" stays present but is not active);
    ``family`` ones in a relative of at most ``max_degree`` of kinship (an unnamed degree,
    "family history of", counts)."""
    wanted = _items(ids)
    hits = [m for m in facts.mentions if m.id in wanted and m.family == family
            and (not suspected or "suspected" in m.attributes)
            and (not active or "past" not in m.attributes)
            and int(m.attributes.get("family_degree", 0)) <= max_degree]
    if not hits:
        return NO
    qualifier = ", family" if family else (", suspected" if suspected else "")
    return _yes(*(f"{m.origin}: '{m.matched}' ({m.label}{qualifier})" for m in hits))


def _lab_flag(facts: Facts, analyte: str, flags: Any) -> Match:
    report = facts.labs.get(analyte)
    if report is None:
        label = facts.knowledge.analytes.analytes[analyte].label
        return _yes(f"{label} not measured") if "missing" in _items(flags) else NO
    if report.flag is None:  # measured, but no interval to call it normal or abnormal
        return _yes(lab_text(report)) if "measured" in _items(flags) else NO
    return _yes(lab_text(report)) if _flag_matches(report.flag, flags) else NO


def _flag_matches(flag: str | None, flags: Any) -> bool:
    if flag is None:
        return "missing" in _items(flags)
    groups = {"high": ("high", "critical_high"), "low": ("low", "critical_low"),
              "abnormal": ("high", "critical_high", "low", "critical_low"),
              "measured": ("normal", "high", "critical_high", "low", "critical_low")}
    return any(flag in groups.get(wanted, (wanted,)) for wanted in _items(flags))


def _lab_above(facts: Facts, analyte: str, threshold: float) -> Match:
    report = facts.labs.get(analyte)
    if report is None or report.canonical_value <= threshold:
        return NO
    return _yes(f"{lab_text(report)} > {threshold:g} {report.canonical_unit}")


def _lab_at_least(facts: Facts, analyte: str, threshold: float) -> Match:
    """The latest result is at least ``threshold`` (canonical unit): potassium >= 6.5."""
    report = facts.labs.get(analyte)
    if report is None or report.canonical_value < threshold:
        return NO
    return _yes(f"{lab_text(report)} >= {threshold:g} {report.canonical_unit}")


def _upper_limit(facts: Facts, analyte: str) -> float | None:
    """Upper reference limit: the lab's range on the result, else the catalogue's."""
    report = facts.labs.get(analyte)
    if report is not None and report.reference_range is not None:
        return report.reference_range[1]
    reference = facts.knowledge.analytes.analytes[analyte].reference
    return reference[1] if reference else None


def _lab_above_uln(facts: Facts, analyte: str, times: float) -> Match:
    report = facts.labs.get(analyte)
    upper = _upper_limit(facts, analyte)
    if report is None or upper is None or report.canonical_value <= times * upper:
        return NO
    return _yes(f"{lab_text(report)} > {times:g} × upper limit {upper:g}")


def _persistent_high(facts: Facts, analyte: str, wanted: bool) -> Match:
    """The latest results of ``analyte`` all above range, the first and the last at least the
    definition's span apart (``definitions.yaml`` persistent: two results a week apart show no
    persistence; an undated result cannot show the span)."""
    definition = facts.knowledge.definitions.persistent
    n, span = definition.results, definition.min_span_days
    results = sorted((r for r in facts.case.labs if r.analyte == analyte),
                     key=lambda r: (r.date is None, r.date))
    upper = _upper_limit(facts, analyte)
    recent = results[-n:]
    high = (upper is not None and len(recent) == n
            and all(r.canonical_value > upper for r in recent))
    first, last = (recent[0].date, recent[-1].date) if recent else (None, None)
    apart = span == 0 or (first is not None and last is not None and (last - first).days >= span)
    persistent = high and apart
    if persistent != wanted:
        return NO
    values = ", ".join(f"{r.canonical_value:g}" for r in recent)
    label = facts.knowledge.analytes.analytes[analyte].label
    count = _WORDS[n] if n < len(_WORDS) else str(n)
    if persistent:
        return _yes(f"{label} above range on the last {count} results ({values})")
    if high:
        return _yes(f"{label}: the last {count} high results ({values}) are not {span} days "
                    f"apart (undated or too close to show persistence)")
    return _yes(f"{label}: no repeated high result (a single value)")


_WORDS = ("no", "one", "two", "three", "four", "five", "six")


def _derived_number(facts: Facts, quantity: str) -> tuple[float | None, str]:
    """A derived index of ``DERIVED_NUMBERS`` and its words (the ratio in mmol/mmol)."""
    derived = facts.derived
    if quantity == "urine_calcium_creatinine_ratio":
        ratio = derived.urine_calcium_creatinine_ratio
        return (None, "") if ratio is None else (
            ratio.mmol_mmol, f"urine calcium/creatinine {ratio.mmol_mmol:.3g} mmol/mmol")
    value = getattr(derived, quantity)
    unit = " %" if quantity == "fractional_excretion_phosphate" else ""
    return value, f"{quantity.replace('_', ' ')} {value:.3g}{unit}" if value is not None else ""


def _derived_compare(facts: Facts, quantity: str, threshold: float, *, above: bool) -> Match:
    value, words = _derived_number(facts, quantity)
    if value is None or (value <= threshold if above else value >= threshold):
        return NO
    return _yes(f"{words} {'>' if above else '<'} {threshold:g}")


def _urine_calcium_ratio(facts: Facts, flags: Any) -> Match:
    """The spot urine calcium/creatinine ratio judged for age (``missing`` when not derived)."""
    ratio = facts.derived.urine_calcium_creatinine_ratio
    flag = None if ratio is None else ratio.flag
    if not _flag_matches(flag, flags):
        return NO
    if ratio is None:
        return _yes("urine calcium/creatinine ratio not available")
    limit = (f" (upper limit {ratio.upper_limit_mmol_mmol:g} for age {ratio.age_band})"
             if ratio.upper_limit_mmol_mmol is not None else "")
    return _yes(f"urine calcium/creatinine {ratio.mg_mg:.3g} mg/mg, {ratio.mmol_mmol:.3g} "
                f"mmol/mmol{limit}: {flag or 'not judged'}")


def _stage_at_least(facts: Facts, stage: str) -> Match:
    if facts.ckd_stage is None:
        return NO
    ok = ckd_stage_rank(facts.ckd_stage) >= ckd_stage_rank(stage)
    return _yes(facts.ckd_stage_basis) if ok else NO


def _stage_below(facts: Facts, stage: str) -> Match:
    if facts.ckd_stage is None:
        return NO
    ok = ckd_stage_rank(facts.ckd_stage) < ckd_stage_rank(stage)
    return _yes(facts.ckd_stage_basis) if ok else NO


def _egfr_below(facts: Facts, threshold: float) -> Match:
    egfr = facts.derived.egfr_ml_min_1_73m2
    if egfr is None or egfr >= threshold:
        return NO
    return _yes(f"eGFR {egfr:g} mL/min/1.73 m² < {threshold:g}")


def _kidney_function(facts: Facts, state: str) -> Match:
    """impaired / normal / missing by the ``definitions.yaml`` kidney-function definition."""
    rule = facts.knowledge.definitions.kidney_function
    egfr = facts.derived.egfr_ml_min_1_73m2
    creatinine = facts.labs.get("creatinine")
    impaired = (facts.dialysis or (egfr is not None and egfr < rule.impaired_egfr_below)
                or (facts.ckd_stage is not None and ckd_stage_rank(facts.ckd_stage)
                    >= ckd_stage_rank(rule.impaired_from_stage))
                or (egfr is None and creatinine is not None
                    and creatinine.flag in rule.impaired_creatinine_flags))
    if egfr is not None:
        text = f"eGFR {egfr:g} mL/min/1.73 m²"
    elif creatinine is not None:
        text = lab_text(creatinine)
    else:
        text = facts.ckd_stage_basis or "kidney function not measured"
    known = egfr is not None or creatinine is not None or facts.dialysis or bool(facts.ckd_stage)
    actual = "impaired" if impaired else ("normal" if known else "missing")
    if actual == "impaired" and facts.ckd_stage_basis and text != facts.ckd_stage_basis:
        text = f"{text}; {facts.ckd_stage_basis}"
    return _yes(text) if actual == state else NO


def _number(value: float | None, threshold: float, text: str, above: bool) -> Match:
    if value is None:
        return NO
    return _yes(text) if (value > threshold if above else value < threshold) else NO


def _calcium_compare(facts: Facts, threshold: float, *, above: bool) -> Match:
    """Albumin-corrected (else total) calcium below ``threshold`` mg/dL, or at least it when
    ``above``, as reported: severity tiers go by the corrected value, not the raw total."""
    sign = ">=" if above else "<"
    corrected = facts.derived.corrected_calcium_mg_dl
    value, text = corrected, f"corrected calcium {corrected:g} mg/dL" if corrected else ""
    if corrected is None:
        total = facts.labs.get("calcium")
        if total is None or total.canonical_unit != "mg/dL" or total.comparator is not None:
            return NO
        value, text = total.canonical_value, f"calcium {total.canonical_value:.4g} mg/dL"
    # "at least" is "above" a hair below the threshold (reported values are rounded)
    return _number(value, threshold - 1e-9 if above else threshold,
                   f"{text} {sign} {threshold:g}", above=above)


def _egfr_not_steady(facts: Facts, wanted: bool) -> Match:
    """The eGFR is not at steady state: acute kidney injury (creatinine rise or stated), or an
    adult's eGFR below 60 that the derivation declined to stage because kidney function was
    recently normal (acute kidney disease, KDIGO 2012). A drug is not chosen or
    dosed from such an eGFR."""
    derived = facts.derived
    own_aki = any(m.id == "acute_kidney_injury" and not m.family and "past" not in m.attributes
                  for m in facts.mentions)
    age = facts.case.patient.age_years
    unstaged = (derived.egfr_ml_min_1_73m2 is not None and derived.egfr_ml_min_1_73m2 < 60
                and derived.ckd_stage is None and not facts.dialysis
                and (age is None or age >= ADULT_AGE_YEARS))
    state = derived.acute_kidney_injury is not None or own_aki or unstaged
    text = (derived.acute_kidney_injury or ("acute kidney injury stated" if own_aki else
            "eGFR not at steady state (acute kidney disease: recently normal)"))
    return _bool_state(state, wanted, text)


def _age(facts: Facts, threshold: float, below: bool) -> Match:
    age = facts.case.patient.age_years
    if age is None:
        return NO
    ok = age < threshold if below else age >= threshold
    return _yes(f"age {age_words(age)}") if ok else NO


def _gene(facts: Facts, genes: Any, zygosity: str | None) -> Match:
    hits = [text for gene, (biallelic, text) in facts.genes.items() if gene in _items(genes)
            and (zygosity is None or biallelic == (zygosity == "biallelic"))]
    return _yes(*hits) if hits else NO


def _syndrome(facts: Facts, ids: Any) -> Match:
    hits = [f"syndrome {s} ({facts.syndromes[s]})" for s in _items(ids) if s in facts.syndromes]
    return _yes(*hits) if hits else NO


def _syndrome_at_least(facts: Facts, syndrome: str, certainty: str) -> Match:
    found = facts.syndromes.get(syndrome)
    if found is None or CERTAINTIES.index(found) < CERTAINTIES.index(certainty):
        return NO
    return _yes(f"syndrome {syndrome} ({found})")


def _mechanism(facts: Facts, ids: Any) -> Match:
    primary = facts.mechanism.primary if facts.mechanism else None
    return _yes(f"primary mechanism {primary}") if primary in _items(ids) else NO


def _confidence(facts: Facts, levels: Any) -> Match:
    level = facts.mechanism.confidence if facts.mechanism else None
    return _yes(f"mechanism confidence {level}") if level in _items(levels) else NO


def _plan(facts: Facts, ids: Any) -> Match:
    hits = [i for i in _items(ids) if i in facts.plans]
    return _yes(*(f"plan includes {i}" for i in hits)) if hits else NO


def _type_present(facts: Facts, types: Any) -> Match:
    hits = [f"{v.label}: {v.type}" for v in facts.findings if v.type in _items(types)]
    return _yes(*hits) if hits else NO


def _bool_state(state: bool, wanted: bool, text: str) -> Match:
    return _yes(text) if state == wanted else NO


def _drug_needed(facts: Facts, ids: Any) -> Match:
    """A drug of ``ids`` taken for an indication that holds (``medication_roles``).

    Such a drug is reduced or re-timed (``adjust_dose``), never stopped as a culprit: calcitriol
    replaces PTH in hypoparathyroidism. Evidence names the drug as written and its role.
    """
    hits: list[str] = []
    for role in facts.knowledge.management.medication_roles:
        if role.drug not in _items(ids):
            continue
        taken = _concept(facts, role.drug)
        if not taken.ok:
            continue
        indication = evaluate(role.when, facts)
        if indication.ok:
            hits += [*taken.evidence, f"{role.role}: {role.indication}", *indication.evidence]
    return _yes(*hits) if hits else NO


_DATE = ("year", "month", "day")


def _within_months(facts: Facts, concept: str, months: float) -> Match:
    """A dated mention of ``concept`` less than ``months`` before the case date.

    The date is read from the mention's ``year``/``month``/``day`` (or ``months_ago``) groups;
    without a case date or a dated mention the predicate does not hold (never assumed recent).
    """
    case_date = facts.case.date
    hits = []
    for m in facts.mentions:
        if m.id != concept or m.family:
            continue
        if "months_ago" in m.attributes:
            elapsed = float(m.attributes["months_ago"])
        elif case_date is not None and "year" in m.attributes:
            year, month, day = (int(m.attributes.get(k) or 1) for k in _DATE)
            elapsed = ((case_date.year - year) * 12 + case_date.month - month
                       + (case_date.day - day) / 31)
        else:
            continue
        if 0 <= elapsed < months:
            hits.append(f"{m.origin}: '{m.matched}' ({elapsed:.0f} months before the case "
                        f"date, < {months:g})")
    return _yes(*hits) if hits else NO


# ---------------------------------------------------------------- syndrome criteria counting


def _criteria(facts: Facts, grade: str | None = None) -> list[tuple[str, str | None]]:
    return [(cid, category) for cid, (category, g) in facts.criteria.items()
            if grade is None or g == grade]


def _count(hits: list[Any], n: int, text: str) -> Match:
    return _yes(f"{len(hits)} {text}") if len(hits) >= n else NO


def _major_with_minor_other(facts: Facts, wanted: bool) -> Match:
    majors = {c for _, c in _criteria(facts, "major")}
    minors = {c for _, c in _criteria(facts, "minor")}
    ok = any(mi != ma for ma in majors for mi in minors)
    return _bool_state(ok, wanted, "a major criterion with a minor one from another category")


def _major_in_one_category(facts: Facts, n: int) -> Match:
    categories = [c for _, c in _criteria(facts, "major")]
    best = max((categories.count(c) for c in set(categories)), default=0)
    return _yes(f"{best} major criteria in one category") if best >= n else NO


# ---------------------------------------------------------------------- finding predicates


def _finding_pred(name: str, value: Any, view: FindingView) -> Match:
    f = view.finding
    label = view.label
    if name == "type":
        return _yes(f"{label}: {view.type} ({view.type_basis})") if view.type in _items(
            value) else NO
    if name in ("site", "sign"):
        have = view.sites if name == "site" else view.signs
        hits = sorted(set(_items(value)) & have)
        return _yes(f"{label}: {name} {', '.join(hits)}") if hits else NO
    if name == "pain_at_least":
        ok = f.pain is not None and PAIN_LEVELS.index(f.pain) >= PAIN_LEVELS.index(value)
        return _yes(f"{label}: pain {f.pain}") if ok else NO
    if name in ("size_mm_above", "size_mm_at_least", "size_mm_below"):
        size = f.size_mm
        if size is None:
            return NO
        ok = {"size_mm_above": size > value, "size_mm_at_least": size >= value,
              "size_mm_below": size < value}[name]
        return _yes(f"{label}: size {size:g} mm") if ok else NO
    if name == "local_cause":
        hits = sorted(set(_items(value)) & view.local_causes)
        return _yes(f"{label}: local cause at the same site and side ({', '.join(hits)})"
                    ) if hits else NO
    if name == "modality":
        return _yes(f"{label}: seen on {f.modality}") if f.modality in _items(value) else NO
    if name == "localised":
        # A deposit in a vessel or an organ is not a localised, removable mass.
        local = view.type in ("periarticular", "cutaneous", "soft_tissue")
        return _bool_state(local, value, f"{label}: {'localised' if local else 'not localised'} "
                           f"({view.type})")
    state = getattr(f, name)  # ulcerated, functional_limitation, conservative_treatment_failed
    return _yes(f"{label}: {name.replace('_', ' ')}") if state is value else NO


# ------------------------------------------------------------------------------ dispatch

CasePredicate = Callable[[Facts, Any], Match]

_CASE: dict[str, CasePredicate] = {
    "concept": lambda f, v: _concept(f, v),
    "family_history": lambda f, v: _concept(f, v, family=True),
    "first_degree_family_history": lambda f, v: _concept(f, v, family=True, max_degree=1),
    "close_family_history": lambda f, v: _concept(f, v, family=True, max_degree=2),
    "suspected": lambda f, v: _concept(f, v, suspected=True),
    "active": lambda f, v: _concept(f, v, active=True),
    "calcium": lambda f, v: _yes(f.calcium.text) if _flag_matches(f.calcium.flag, v) else NO,
    "urine_calcium_ratio": _urine_calcium_ratio,
    "ckd_stage_at_least": _stage_at_least,
    "ckd_stage_below": _stage_below,
    "dialysis": lambda f, v: _bool_state(f.dialysis, v, f.ckd_stage_basis if f.dialysis
                                         else "not on dialysis"),
    "egfr_below": _egfr_below,
    "kidney_function": _kidney_function,
    "calcium_below": lambda f, v: _calcium_compare(f, v, above=False),
    "calcium_at_least": lambda f, v: _calcium_compare(f, v, above=True),
    "egfr_not_steady": _egfr_not_steady,
    "patient_sex": lambda f, v: (_yes(f"sex {f.case.patient.sex}")
                                 if f.case.patient.sex in _items(v) else NO),
    "ca_p_product_above": lambda f, v: _number(
        f.derived.calcium_phosphate_product_mg2_dl2, v,
        f"Ca×P {f.derived.calcium_phosphate_product_mg2_dl2} mg²/dL² > {v:g}", above=True),
    "tmp_gfr_above": lambda f, v: _number(
        f.derived.tmp_gfr_mg_dl, v, f"TmP/GFR {f.derived.tmp_gfr_mg_dl} mg/dL > {v:g}",
        above=True),
    "age_below": lambda f, v: _age(f, v, below=True),
    "age_at_least": lambda f, v: _age(f, v, below=False),
    "gestation_weeks_at_least": lambda f, v: _number(
        f.gestation_weeks, v - 1e-9, f"pregnancy, {f.gestation_weeks or 0:g} weeks of gestation",
        above=True),
    "gene": lambda f, v: _gene(f, v, None),
    "gene_biallelic": lambda f, v: _gene(f, v, "biallelic"),
    "gene_monoallelic": lambda f, v: _gene(f, v, "monoallelic"),
    "has_findings": lambda f, v: _bool_state(bool(f.findings), v, f"{len(f.findings)} findings"),
    "type_present": _type_present,
    "syndrome": _syndrome,
    "mechanism": _mechanism,
    "confidence": _confidence,
    "plan": _plan,
    "criterion": lambda f, v: _yes(*(f"criterion {c}" for c in _items(v) if c in f.criteria))
    if any(c in f.criteria for c in _items(v)) else NO,
    "major_categories_at_least": lambda f, v: _count(
        sorted({c for _, c in _criteria(f, "major")}), v, "categories with a major criterion"),
    "major_in_one_category_at_least": _major_in_one_category,
    "major_at_least": lambda f, v: _count(_criteria(f, "major"), v, "major criteria"),
    "minor_at_least": lambda f, v: _count(_criteria(f, "minor"), v, "minor criteria"),
    "major_with_minor_other_category": _major_with_minor_other,
    "drug_needed": _drug_needed,
}

_KEYED: dict[str, Callable[[Facts, str, Any], Match]] = {
    "lab": _lab_flag,
    "lab_above": _lab_above,
    "lab_above_uln": _lab_above_uln,
    "persistent_high": _persistent_high,
    "syndrome_at_least": _syndrome_at_least,
    "derived_above": lambda f, q, v: _derived_compare(f, q, v, above=True),
    "derived_below": lambda f, q, v: _derived_compare(f, q, v, above=False),
    "lab_at_least": _lab_at_least,
    "within_months": _within_months,
}


Compiled = Callable[[Facts, FindingView | None], Match]
"""A condition made into a function of the facts (and of one finding inside ``finding:``)."""

_COMPILED: dict[int, tuple[Condition, Compiled]] = {}


def _gather(held: list[Match]) -> Match:
    return _yes(*(e for p in held for e in p.evidence))


def _compile(condition: Condition) -> Compiled:
    ((key, value),) = condition.items()
    if key == "all":
        parts = [compiled(c) for c in value]

        def all_of(facts: Facts, view: FindingView | None) -> Match:
            held = []
            for part in parts:
                match = part(facts, view)
                if not match.ok:
                    return NO
                held.append(match)
            return _gather(held)
        return all_of
    if key in ("any", "at_least"):
        parts = [compiled(c) for c in (value if key == "any" else value["of"])]
        n = 1 if key == "any" else value["n"]

        def some_of(facts: Facts, view: FindingView | None) -> Match:
            held = [m for part in parts if (m := part(facts, view)).ok]
            return _gather(held) if len(held) >= n else NO
        return some_of
    if key == "not":
        inner = compiled(value)
        return lambda facts, view: NO if inner(facts, view).ok else Match(True)
    if key == "finding":
        each = compiled(value)

        def any_finding(facts: Facts, _: FindingView | None) -> Match:
            held = [m for v in facts.findings if (m := each(facts, v)).ok]
            return _gather(held) if held else NO
        return any_finding
    if "." in key:
        name, _, subject = key.partition(".")
        keyed = _KEYED[name]
        return lambda facts, _: keyed(facts, subject, value)
    if key in _CASE:
        predicate = _CASE[key]
        return lambda facts, _: predicate(facts, value)
    return lambda _, view: _finding_pred(key, value, view)  # type: ignore[arg-type]


def compiled(condition: Condition) -> Compiled:
    """``condition`` as a function, compiled once per condition object of the knowledge base."""
    hit = _COMPILED.get(id(condition))
    if hit is not None and hit[0] is condition:
        return hit[1]
    function = _compile(condition)
    _COMPILED[id(condition)] = (condition, function)  # holding it keeps its id unique
    return function


def evaluate(condition: Condition, facts: Facts, view: FindingView | None = None) -> Match:
    """Whether ``condition`` holds for the case (or for one finding), with its evidence.

    ``all`` gathers the evidence of every part, ``any`` of every part that holds, ``not`` none;
    ``finding`` holds when some finding meets its condition.
    """
    return compiled(condition)(facts, view)
