"""Draft orders (``context.draftOrders``) checked against the patient's assessment.

A draft MedicationRequest or ServiceRequest is recognised as a kind of order of
``order_checks.yaml`` (code, concept wording or text pattern); each check of that kind whose
condition holds on the assessment gives a :class:`OrderFinding`. The condition is judged with
the rule grammar of the knowledge (:func:`ectocalc.reasoning.evaluate`) on the facts of the one
assessment: its flagged laboratory reports and derived values (eGFR, CKD stage, calcium status),
the concepts recognised in the case, its syndromes and mechanism. Nothing the core decides is
recomputed differently here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ectocalc.cds._schema import OrderCheck, OrderKind, order_checks
from ectocalc.knowledge import Knowledge
from ectocalc.model.assessment import Assessment
from ectocalc.model.case import Case
from ectocalc.model.display import for_display
from ectocalc.reasoning import Facts, build_facts, evaluate, find_in_text, recognise

SYSTEMS = {
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "http://www.whocc.no/atc": "atc",
    "http://snomed.info/sct": "snomed",
    "http://loinc.org": "loinc",
}
"""FHIR code system URIs → the short names of ``order_checks.yaml``."""


@dataclass(frozen=True)
class DraftOrder:
    """One draft order of ``context.draftOrders``: its reference, wording and codes."""

    reference: str
    """Relative reference, e.g. ``MedicationRequest/abc`` (the suggestion's ``resourceId``)."""
    resource_type: str
    text: str
    codes: tuple[tuple[str, str], ...]
    """(short system name, code) pairs."""


@dataclass(frozen=True)
class OrderFinding:
    """A check that holds for a draft: what, why (evidence) and which rule."""

    order: DraftOrder
    kind: OrderKind
    check: OrderCheck
    evidence: tuple[str, ...]


def draft_orders(bundle: Any) -> list[DraftOrder]:
    """The MedicationRequests and ServiceRequests of a ``draftOrders`` Bundle (JSON).

    Entries without a resource, of other types or without an ``id`` are left out: a
    suggestion must name the draft it removes.

    Examples
    --------
    >>> drafts = draft_orders({"resourceType": "Bundle", "entry": [{"resource": {
    ...     "resourceType": "MedicationRequest", "id": "m1", "medicationCodeableConcept": {
    ...     "text": "sevelamer carbonate 800 mg tablet"}}}]})
    >>> drafts[0].reference, drafts[0].text
    ('MedicationRequest/m1', 'sevelamer carbonate 800 mg tablet')
    """
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    drafts = []
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
            continue
        kind = resource.get("resourceType")
        if kind == "MedicationRequest":
            concept = resource.get("medicationCodeableConcept")
            if concept is None:
                reference = resource.get("medicationReference")
                concept = {"text": reference.get("display")} if isinstance(reference, dict) \
                    else None
        elif kind == "ServiceRequest":
            concept = resource.get("code")
        else:
            continue
        text, codes = _concept(concept)
        drafts.append(DraftOrder(reference=f"{kind}/{resource['id']}", resource_type=kind,
                                 text=text, codes=codes))
    return drafts


def _concept(concept: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    if not isinstance(concept, dict):
        return "", ()
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    words = [concept.get("text"), *(c.get("display") for c in codings)]
    text = " / ".join(dict.fromkeys(w for w in words if isinstance(w, str) and w))
    codes = tuple((SYSTEMS[c["system"]], str(c["code"])) for c in codings
                  if c.get("system") in SYSTEMS and c.get("code"))
    return text, codes


def order_kinds(order: DraftOrder, *, knowledge: Knowledge) -> list[OrderKind]:
    """The kinds of ``order_checks.yaml`` the draft is (by code, concept wording or pattern).

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> draft = DraftOrder("MedicationRequest/1", "MedicationRequest", "Ibuprofen 400 MG", ())
    >>> [k.id for k in order_kinds(draft, knowledge=load_knowledge())]
    ['nsaid']
    """
    concepts = {m.id for m in find_in_text(order.text, "draftOrders", knowledge=knowledge,
                                           kinds=("medication",)) if m.present} \
        if order.text else set()
    lowered = order.text.casefold()
    return [kind for kind in order_checks().orders
            if order.resource_type in kind.resources
            and (concepts & set(kind.concepts) or _coded(order, kind)
                 or any(_pattern(p, lowered) for p in kind.patterns))]


def _coded(order: DraftOrder, kind: OrderKind) -> bool:
    for system, code in order.codes:
        wanted = kind.codes.get(system, [])  # type: ignore[call-overload]
        if code in wanted or (system == "atc" and any(code.startswith(w) for w in wanted)):
            return True
    return False


def _pattern(pattern: str, lowered: str) -> bool:
    if pattern.startswith("re:"):
        return re.search(pattern[3:], lowered) is not None
    return re.search(rf"\b{re.escape(pattern.casefold())}\b", lowered) is not None


def assessment_facts(case: Case, assessment: Assessment, *, knowledge: Knowledge) -> Facts:
    """The rule facts of an assessment: its reports and derived values as reported, the
    case's concepts, and the syndromes and mechanism it concluded."""
    facts = build_facts(case=case, labs=assessment.labs,
                        derived=for_display(assessment.derived, prefix="derived"),
                        mentions=recognise(case, knowledge=knowledge), knowledge=knowledge)
    return facts.evolve(
        syndromes=MappingProxyType({s.id: s.certainty for s in assessment.syndromes}),
        mechanism=assessment.mechanism)


def check_orders(orders: list[DraftOrder], case: Case, assessment: Assessment, *,
                 knowledge: Knowledge) -> list[OrderFinding]:
    """Every check of ``order_checks.yaml`` that holds for a draft order of this patient."""
    if not orders:
        return []
    facts = assessment_facts(case, assessment, knowledge=knowledge)
    findings = []
    checks = order_checks().checks
    for order in orders:
        for kind in order_kinds(order, knowledge=knowledge):
            for check in (c for c in checks if c.order == kind.id):
                match = evaluate(check.when, facts)
                if match.ok:
                    findings.append(OrderFinding(order, kind, check, match.evidence))
    return findings
