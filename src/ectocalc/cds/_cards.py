"""CDS Hooks 2.0 cards from one assessment (pure: no I/O, no clock).

Every card has ``uuid``, ``summary`` (< 140 characters), ``detail`` (Markdown: the evidence and
the sources, cited from the bibliography), ``indicator`` (``info`` | ``warning`` |
``critical``), ``source`` and a ``links`` entry to the patient page. What the FHIR data held that
could not be used is listed at the end of every card's detail, once per kind with a count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date
from typing import Any

from ectocalc.cds._orders import OrderFinding
from ectocalc.cds._schema import order_checks
from ectocalc.knowledge import Knowledge
from ectocalc.model.assessment import Assessment
from ectocalc.model.display import for_display

SUMMARY_LIMIT = 139
"""CDS Hooks 2.0: a summary is a one-sentence, < 140-character message."""
OVERRIDE_SYSTEM = "urn:ectocalc:cds:override-reason"
_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class CardContext:
    """What every card of one call shares.

    Parameters
    ----------
    base_url : str
        The ectocalc server's base URL (for the patient page and the card source).
    patient_id : str or None
        The record's key of the patient (link to ``/patients/{id}``).
    not_used : sequence of str
        What the input held that the assessment could not use (one line per kind).
    """

    base_url: str
    patient_id: str | None
    not_used: Sequence[str] = ()


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT - 1].rstrip() + "…"


def _md(text: str) -> str:
    """Plain text made safe inside Markdown (no links, emphasis or HTML from the data)."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>#|!" else c for c in " ".join(text.split()))


def card(context: CardContext, *, summary: str, indicator: str, detail: list[str],
         source: str, **extra: Any) -> dict[str, Any]:
    """One card; ``detail`` lines become Markdown paragraphs and list items as given."""
    lines = list(detail)
    if context.not_used:
        lines += ["", "**Inputs not used** (skipped, never guessed):",
                  *(f"- {_md(line)}" for line in context.not_used)]
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "summary": _summary(summary), "indicator": indicator,
        "detail": "\n".join(lines).strip(),
        "source": {"label": _summary(f"ectocalc: {source}"),
                   "url": context.base_url.rstrip("/") + "/"},
        **extra,
    }
    if context.patient_id:
        from urllib.parse import quote

        result["links"] = [{"label": "Open the patient in ectocalc", "type": "absolute",
                            "url": f"{context.base_url.rstrip('/')}/patients/"
                                   f"{quote(context.patient_id, safe='')}"}]
    return result


def sort_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Critical first, then warning, then info (stable)."""
    return sorted(cards, key=lambda c: _ORDER[c["indicator"]])


def patient_view_cards(assessment: Assessment, context: CardContext, *,
                       knowledge: Knowledge, monitoring_due: Sequence[dict[str, Any]] = (),
                       ) -> list[dict[str, Any]]:
    """Cards when a chart opens: critical values, the clinical alerts (hypocalcaemia,
    hyperphosphataemia, calciphylaxis risk, ...), the mechanism and syndromes that need
    action, overdue monitoring and the CAC-DRS category of a known CT.

    Parameters
    ----------
    assessment : Assessment
        The patient's one assessment (``service.assess_case``).
    context : CardContext
    knowledge : Knowledge
        For labels and citations.
    monitoring_due : sequence of dict
        ``test``, ``last``, ``due``, ``overdue``, ``source`` per test of the plan.
    """
    shown = for_display(assessment)
    cards = []
    critical = [a for a in shown.alerts if a.severity == "critical"]
    if critical:  # one card: a critical value and the alert it raises belong together
        cards.append(card(
            context, indicator="critical",
            summary=critical[0].message if len(critical) == 1
            else "Critical: " + "; ".join(a.message for a in critical),
            detail=[f"- {_md(a.message)} ({_md(_cite(knowledge, a.source))})"
                    for a in critical], source="critical values and alerts"))
    clinical = {entry.id for entry in knowledge.alerts.alerts}  # not the input checks
    warnings = [a for a in shown.alerts if a.severity == "warning" and a.id in clinical]
    if warnings:
        cards.append(card(
            context, indicator="warning",
            summary=warnings[0].message if len(warnings) == 1
            else f"{len(warnings)} alerts: " + "; ".join(a.message for a in warnings),
            detail=[f"- {_md(a.message)} ({_md(_cite(knowledge, a.source))})"
                    for a in warnings], source="alerts"))
    action = _action_card(shown, context, knowledge)
    if action is not None:
        cards.append(action)
    overdue = [item for item in monitoring_due if item.get("overdue")]
    if overdue:
        cards.append(_monitoring_card(overdue, shown, context, knowledge))
    cac = shown.scales.cac_drs
    if cac is not None and cac.status == "computed" and cac.label:
        cards.append(card(
            context, summary=f"{cac.label}: {cac.reading or cac.risk or ''}".rstrip(": "),
            indicator="warning" if cac.category in {"A2", "A3"} else "info",
            detail=[f"**{_md(cac.name)}**: {_md(cac.label)}",
                    *(f"- {_md(x)}" for x in (cac.reading, cac.risk, cac.suggestion) if x),
                    "", f"Source: {_md(_cite(knowledge, cac.source))}"],
            source=cac.name))
    return sort_cards(cards)


def _action_card(a: Assessment, context: CardContext,
                 knowledge: Knowledge) -> dict[str, Any] | None:
    """The syndromes, or the mechanism of a known calcification, with the management they call
    for (None without either: a mechanism is only a differential until calcification is
    known)."""
    if not a.syndromes and not a.types:
        return None
    labels = {e.id: e.label for e in knowledge.management.management}
    syndromes = ", ".join(f"{s.name} ({s.certainty})" for s in a.syndromes)
    mechanism = a.mechanism.primary
    head = (f"Calcification: {syndromes}" if syndromes
            else f"Calcification, mechanism {mechanism}: {len(a.management)} action(s) to "
                 "consider")
    lines = []
    if mechanism:
        top = next((m for m in a.mechanism.differential if m.id == mechanism), None)
        lines.append(f"**Mechanism**: {_md(mechanism)} (confidence {a.mechanism.confidence})")
        lines += [f"- {_md(e)}" for e in (top.evidence if top else [])]
    for s in a.syndromes:
        lines += ["", f"**{_md(s.name)}** ({_md(s.certainty)}) — {_md(_cite(knowledge, s.source))}",
                  *(f"- {_md(c)}" for c in s.criteria)]
    if a.management:
        lines += ["", "**Management to consider**:"]
        for item in a.management:
            lines.append(f"- **{_md(labels.get(item.id, item.id))}**: {_md(item.reason)} "
                         f"({_md(_cite(knowledge, item.source))})")
            lines += [f"  - caution: {_md(c)}" for c in item.cautions]
    critical = any(s.certainty in {"definitive", "probable"} for s in a.syndromes)
    return card(context, summary=head, indicator="warning" if critical or a.management
                else "info", detail=lines, source="mechanism and syndromes")


def _monitoring_card(overdue: Sequence[dict[str, Any]], a: Assessment, context: CardContext,
                     knowledge: Knowledge) -> dict[str, Any]:
    tests = ", ".join(str(item["test"]).replace("_", " ") for item in overdue)
    lines = [f"CKD stage {_md(a.derived.ckd_stage or '?')}: monitoring intervals of KDIGO 2017 "
             "3.1.2.", ""]
    for item in overdue:
        last = item.get("last")
        lines.append(f"- {_md(str(item['test']).replace('_', ' '))}: last "
                     f"{last.isoformat() if isinstance(last, Date) else 'never'}, due "
                     f"{_due(item.get('due'))} ({_md(_cite(knowledge, item.get('source')))})")
    return card(context, summary=f"Monitoring overdue: {tests}", indicator="warning",
                detail=lines, source="KDIGO 2017 CKD-MBD 3.1.2 monitoring")


def _due(value: Any) -> str:
    return value.isoformat() if isinstance(value, Date) else "now"


def _cite(knowledge: Knowledge, source: str | None) -> str:
    if not source:
        return "ectocalc"
    return knowledge.cite(source) if source.partition(":")[0] in \
        knowledge.bibliography.sources else source


def order_cards(findings: Sequence[OrderFinding], context: CardContext, *,
                knowledge: Knowledge) -> list[dict[str, Any]]:
    """One card per draft order and check that holds: the evidence, the source, a suggestion
    removing the draft (``resourceId``) and the override reasons."""
    reasons = [{"code": r.code, "system": OVERRIDE_SYSTEM, "display": r.display}
               for r in order_checks().override_reasons]
    cards = []
    for finding in findings:
        check, order = finding.check, finding.order
        citation = knowledge.cite(check.source)
        detail = [f"**Draft**: {_md(order.text or order.reference)} ({_md(finding.kind.label)})",
                  "", _md(check.message), "", "**Evidence** (from this patient's record):",
                  *(f"- {_md(e)}" for e in finding.evidence), "", f"Source: {_md(citation)}"]
        cards.append(card(
            context, summary=check.summary, indicator=check.indicator, detail=detail,
            source=citation, selectionBehavior="at-most-one", overrideReasons=reasons,
            suggestions=[{"label": f"Remove the draft {finding.kind.label.lower()} order",
                          "uuid": str(uuid.uuid4()), "isRecommended": True,
                          "actions": [{"type": "delete", "resourceId": order.reference,
                                       "description": f"Remove {order.text or order.reference}"
                                       }]}]))
    return sort_cards(cards)
