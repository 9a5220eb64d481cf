"""Plain-language summary for patients (``--audience patient``), wording in ``lay_terms.yaml``."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from ectocalc.labs.equations import ADULT_AGE_YEARS
from ectocalc.model.assessment import Assessment, PlanItem
from ectocalc.render._scales import patient_scales
from ectocalc.render.html import template


@cache
def lay_terms() -> dict[str, Any]:
    """The plain-language wording (loaded once)."""
    terms: dict[str, Any] = yaml.safe_load(
        files("ectocalc.render").joinpath("lay_terms.yaml").read_text())
    return terms


def patient_sections(a: Assessment) -> list[tuple[str, list[str]]]:
    """The summary as (heading, paragraphs or bullet lines), shared by text and HTML.

    Without a recorded calcification the summary describes a risk, never a deposit; a child's
    summary is addressed to the parents, a pregnant adolescent's to herself; the cause is
    explained by what drives it in this case.
    """
    terms = lay_terms()
    intro = [terms["intro"]] if a.types else [terms["risk_intro"]]
    pregnant = any(x.id == "pregnancy" for x in a.alerts)
    if _child(a) and not pregnant:
        intro.insert(0, terms["child_note"])
    if pregnant:
        intro.append(terms["pregnancy_note"])
    sections: list[tuple[str, list[str]]] = [("What this is about", intro)]
    if a.types:
        where = sorted({terms["subtypes"].get(t.subtype or "", terms["types"][t.id])
                        for t in a.types})
        sections.append(("Where calcium was found", [f"Deposits {w}." for w in where]))
    if a.mechanism.primary:
        heading = "What may have caused it" if a.types else terms["risk_mechanism_heading"]
        sections.append((heading, [_mechanism(a, terms)]))
    if a.syndromes:
        sections.append(("Conditions your doctor may discuss", [
            f"{terms['syndromes'][s.id]} ({terms['certainty'].get(s.certainty, s.certainty)})"
            for s in a.syndromes]))
    if a.workup:
        # A test with a caution (a CT in a child or in pregnancy) says so, as treatments do.
        sections.append(("Tests that may help", [
            f"{terms['workup'].get(w.id, w.id)} ({terms['qualifiers']['caution']})"
            if w.cautions else terms["workup"].get(w.id, w.id) for w in a.workup]))
    treatments = _treatments(a, terms)
    if treatments:
        sections.append(("Treatments your doctor may consider", treatments))
    if a.monitoring:
        lines = []
        for m in a.monitoring:
            name = terms["workup"].get(m.test, m.test)
            if m.interval_months is None:
                lines.append(f"{name}: as your doctor advises")
            else:
                low, high = m.interval_months
                span = f"{low:g}" if low == high else f"{low:g} to {high:g}"
                lines.append(f"{name}: every {span} months")
        sections.append(("Regular check-ups", lines))
    sections.extend(patient_scales(a.scales))
    child = _child(a) and not pregnant
    # Clinician alert wording is not for patients: one plain sentence says how urgent it is.
    # A critical value or an item needed today says "today" and where to go.
    if (any(m.urgency == "today" for m in a.management)
            or any(x.id in _TODAY_ALERTS for x in a.alerts)):
        sections.insert(0, ("Please act today",
                            [terms["urgent_today_child" if child else "urgent_today"]]))
    elif any(x.severity == "critical" for x in a.alerts):
        sections.insert(0, ("Please contact your care team soon", [terms["urgent"]]))
    elif any(m.id == "reassurance" for m in a.management):
        sections.insert(1, ("Good news", [terms["reassurance_child" if child else "reassurance"]]))
    elif a.types and not a.workup and not a.management:
        sections.insert(1, ("Good news", [terms["nothing_needed"]]))
    sections.append(("Please note", [terms["closing"]]))
    return sections


_TODAY_ALERTS = ("critical_value", "hyperkalemia")
"""Alerts that mean action today (contract 1.1 ``critical_value``)."""


def _mechanism(a: Assessment, terms: dict[str, Any]) -> str:
    """The mechanism in plain words, with the reason that applies to this case (if known)."""
    firm = {s.id for s in a.syndromes if s.certainty in ("probable", "definitive")}
    types = {t.id for t in a.types}
    for syndrome, instead in terms["instead"].items():
        if syndrome in firm and types and types <= set(instead["types"]):
            return str(instead["text"])
    if a.mechanism.primary == "idiopathic" and not types:
        return str(terms["idiopathic_risk"])
    text = str(terms["mechanism"][a.mechanism.primary])
    if a.mechanism.confidence == "low" and a.mechanism.primary not in ("idiopathic",
                                                                       "physiological"):
        # Never state a cause the assessment does not hold: a weak lead is a possibility.
        text = f"{terms['uncertain_cause']} {text[0].lower()}{text[1:]}"
    if a.mechanism.primary != "metastatic":
        return text
    # lay_terms.yaml lists the explanations in order of precedence (kidneys first); the
    # kidneys' phosphate is not the reason when phosphate is low (a transplant's tertiary HPT).
    low_phosphate = any(lab.analyte == "phosphate" and lab.flag in ("low", "critical_low")
                        for lab in a.labs)
    kidney = {"ckd_mbd", "kidney"} if low_phosphate else set()
    reason = next((line for i, line in terms["because"].items()
                   if i in firm and i not in kidney), None)
    if reason is None and a.derived.ckd_stage is not None and not kidney:
        reason = terms["because"]["kidney"]
    return f"{text} {reason}" if reason else text


def _treatments(a: Assessment, terms: dict[str, Any]) -> list[str]:
    """Treatments in plain words; pain relief whenever the clinician plan has it."""
    ids = {m.id for m in a.management}
    pregnant = any(x.id == "pregnancy" for x in a.alerts)
    high_calcium = any(x.id == "hypercalcemia" for x in a.alerts)
    lines = [_treatment(m, terms, wounds="wound_care" in ids, child=_child(a),
                        pregnant=pregnant, high_calcium=high_calcium) for m in a.management]
    # Tests set aside because the finding is normal for age are not "unsuitable treatments".
    withheld = [w for m in a.management if m.id != "reassurance" for w in m.withheld]
    nsaid_withheld = any(w.startswith("NSAID") for w in withheld) or any(
        x.id == "plan_item_withheld" and x.message.startswith("NSAID") for x in a.alerts)
    analgesia = any("analgesia" in m.reason.lower() for m in a.management)
    if nsaid_withheld and "nsaid" not in ids:
        lines.append(terms["pain_relief_no_nsaid"])
    elif analgesia and "nsaid" not in ids:
        lines.append(terms["pain_relief"])
    if withheld or any(x.id == "plan_item_withheld" for x in a.alerts):
        lines.append(terms["withheld"])
    return lines


def _child(a: Assessment) -> bool:
    age = a.patient.get("age_years")
    return isinstance(age, int | float) and age < ADULT_AGE_YEARS


def _treatment(item: PlanItem, terms: dict[str, Any], *, wounds: bool = False,
               child: bool = False, pregnant: bool = False, high_calcium: bool = False) -> str:
    """A treatment in plain words, keeping its cautions and the limits of its evidence; a
    medicine with several uses is named by what it does here (``high_calcium``: the blood
    calcium is high, so a bisphosphonate lowers it)."""
    qualifiers = []
    if item.cautions:
        qualifiers.append(terms["qualifiers"]["caution"])
    if item.certainty:
        qualifiers.append(terms["qualifiers"]["limited_evidence"])
    if item.id == "lifestyle_modification" and pregnant:
        text = terms["lifestyle_pregnancy"]  # no alcohol at all in pregnancy
        if wounds:
            text += terms["wounds_exercise_note"]
    elif item.id == "lifestyle_modification" and wounds:
        text = terms["lifestyle_with_wounds"]  # no exercise advice with open or necrotic sores
    elif item.id == "lifestyle_modification" and child:
        text = terms["lifestyle_child"]  # no smoking and alcohol advice for a child
    elif high_calcium and item.id in terms["management_for_high_calcium"]:
        text = terms["management_for_high_calcium"][item.id]
    else:
        text = terms["management"].get(item.id, item.id)
    return f"{text} ({'; '.join(qualifiers)})" if qualifiers else text


def patient_text(a: Assessment) -> str:
    """The plain-language summary as text."""
    lines = ["Your calcification summary", "=" * 26, ""]
    for heading, items in patient_sections(a):
        lines += [heading, "-" * len(heading)]
        lines += items if len(items) == 1 else [f"  * {x}" for x in items]
        lines.append("")
    return "\n".join(lines)


def patient_html(a: Assessment) -> str:
    """The plain-language summary as an HTML page."""
    return template("patient.html.j2").render(sections=patient_sections(a))
