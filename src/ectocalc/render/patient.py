"""Plain-language summary for patients (``--audience patient``), wording in ``lay_terms.yaml``."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from ectocalc.model.assessment import Assessment, PlanItem
from ectocalc.render.html import template


@cache
def lay_terms() -> dict[str, Any]:
    """The plain-language wording (loaded once)."""
    return yaml.safe_load(files("ectocalc.render").joinpath("lay_terms.yaml").read_text())


def patient_sections(a: Assessment) -> list[tuple[str, list[str]]]:
    """The summary as (heading, paragraphs or bullet lines), shared by text and HTML."""
    terms = lay_terms()
    sections: list[tuple[str, list[str]]] = [("What this is about", [terms["intro"]])]
    if a.types:
        where = sorted({terms["types"][t.id] for t in a.types})
        sections.append(("Where calcium was found", [f"Deposits {w}." for w in where]))
    if a.mechanism.primary:
        sections.append(("What may have caused it", [terms["mechanism"][a.mechanism.primary]]))
    if a.syndromes:
        sections.append(("Conditions your doctor may discuss", [
            f"{terms['syndromes'][s.id]} ({terms['certainty'].get(s.certainty, s.certainty)})"
            for s in a.syndromes]))
    if a.workup:
        sections.append(("Tests that may help",
                         [terms["workup"].get(w.id, w.id) for w in a.workup]))
    if a.management:
        treatments = [_treatment(m, terms) for m in a.management]
        if any(m.withheld for m in a.management):
            treatments.append(terms["withheld"])
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
    # Clinician alert wording is not for patients: one plain sentence says that it is urgent.
    if any(x.severity == "critical" for x in a.alerts):
        sections.insert(0, ("Please contact your care team soon", [terms["urgent"]]))
    sections.append(("Please note", [terms["closing"]]))
    return sections


def _treatment(item: PlanItem, terms: dict[str, Any]) -> str:
    """A treatment in plain words, keeping its cautions and the limits of its evidence."""
    qualifiers = []
    if item.cautions:
        qualifiers.append(terms["qualifiers"]["caution"])
    if item.certainty:
        qualifiers.append(terms["qualifiers"]["limited_evidence"])
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
