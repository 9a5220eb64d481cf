"""CDS Hooks 2.0 decision support from the one assessment (contract §8).

Pure parts: the services and their prefetch templates (:func:`discovery`), the Bundle a call's
data make (:func:`bundle_of`), draft orders checked against the assessment
(:func:`check_orders`, rules in ``knowledge/data/order_checks.yaml``) and the cards
(:func:`patient_view_cards`, :func:`order_cards`). The trusted EHRs live in a JSON file
(:func:`trust_issuer`, ``ectocalc cds trust``). The HTTP routes, the JWT check and the FHIR
searches are in :mod:`ectocalc.web` (``web/_cds.py``, ``web/_cds_auth.py``).
"""

from __future__ import annotations

from typing import Any

from ectocalc.cds._cards import CardContext, order_cards, patient_view_cards
from ectocalc.cds._orders import DraftOrder, OrderFinding, check_orders, draft_orders
from ectocalc.cds._prefetch import bundle_of, fill, prefetch_templates
from ectocalc.cds._schema import order_checks
from ectocalc.cds._trust import Issuer, default_trust_file, read_trust, trust_issuer
from ectocalc.knowledge import Knowledge

SERVICES = {
    "ectocalc-patient-view": ("patient-view", "ectocalc: ectopic calcification and CKD-MBD",
                              "Critical values, the calcification mechanism and syndromes "
                              "that need action, overdue CKD-MBD monitoring and the CAC-DRS "
                              "category of a known CT, with evidence and sources."),
    "ectocalc-order-select": ("order-select", "ectocalc: order check (selection)",
                              "Checks a selected draft medication or imaging order against "
                              "the patient's mineral metabolism, kidney function and "
                              "pregnancy."),
    "ectocalc-order-sign": ("order-sign", "ectocalc: order check (signing)",
                            "Checks the draft medication and imaging orders about to be signed "
                            "against the patient's mineral metabolism, kidney function and "
                            "pregnancy."),
}
"""Service id → (hook, title, description)."""


def discovery(knowledge: Knowledge) -> dict[str, Any]:
    """The CDS Hooks discovery document (``GET /cds-services``).

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> doc = discovery(load_knowledge())
    >>> [(s["id"], s["hook"]) for s in doc["services"]][0]
    ('ectocalc-patient-view', 'patient-view')
    """
    templates = prefetch_templates(knowledge)
    return {"services": [{"hook": hook, "id": service_id, "title": title,
                          "description": description, "prefetch": templates}
                         for service_id, (hook, title, description) in SERVICES.items()]}


__all__ = ["SERVICES", "CardContext", "DraftOrder", "Issuer", "OrderFinding", "bundle_of",
           "check_orders", "default_trust_file", "discovery", "draft_orders", "fill",
           "order_cards", "order_checks", "patient_view_cards", "prefetch_templates",
           "read_trust", "trust_issuer"]
