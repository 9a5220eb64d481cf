"""Each order check of ``order_checks.yaml`` on patients built for it: the card appears when
the patient's assessment shows the risk, and not otherwise (pure layer, no HTTP)."""

from __future__ import annotations

from datetime import date

import pytest

from ectocalc import cds, service
from ectocalc.labs import make_lab_result
from ectocalc.model.case import Case, Condition, Patient

KB = service.default_knowledge()
DAY = date(2026, 6, 1)


def _lab(analyte: str, value: float, unit: str):
    return make_lab_result(source="t", field="labs[0]", analyte_name=analyte, value=value,
                           unit=unit, date=DAY)


def _draft(text: str = "", kind: str = "MedicationRequest", coding: list | None = None):
    concept = {"text": text, "coding": coding or []}
    resource = {"resourceType": kind, "id": "draft-1", "status": "draft", "intent": "order",
                ("code" if kind == "ServiceRequest" else "medicationCodeableConcept"): concept}
    return cds.draft_orders({"resourceType": "Bundle", "entry": [{"resource": resource}]})


def _checks(case: Case, drafts) -> list[str]:
    assessment = service.assess_case(case, as_of=DAY, scans=[])
    return [f.check.id for f in cds.check_orders(drafts, case, assessment, knowledge=KB)]


WOMAN = Patient(age_years=31, sex="female")
PREGNANT = Case(date=DAY, patient=WOMAN, conditions=[Condition(text="pregnant, 24 weeks")],
                labs=[_lab("creatinine", 0.6, "mg/dL")])
MAN = Patient(age_years=64, sex="male")
# creatinine 3.2 mg/dL at 64, male: CKD-EPI 2021 ≈ 20.6 mL/min/1.73 m² (G4)
G4 = Case(date=DAY, patient=MAN, labs=[_lab("creatinine", 3.2, "mg/dL")],
          conditions=[Condition(text="chronic kidney disease")])
NORMAL = Case(date=DAY, patient=MAN, labs=[_lab("creatinine", 0.9, "mg/dL"),
                                           _lab("calcium", 9.4, "mg/dL"),
                                           _lab("phosphate", 3.6, "mg/dL")])


@pytest.mark.parametrize(("case", "draft", "expected"), [
    (NORMAL, _draft("sevelamer carbonate 800 mg"), ["binder_without_high_phosphate"]),
    (NORMAL, _draft("Renvela", coding=[{"system": "http://www.whocc.no/atc",
                                         "code": "V03AE02"}]),
     ["binder_without_high_phosphate"]),
    (Case(date=DAY, patient=MAN, labs=[_lab("phosphate", 7.2, "mg/dL")]),
     _draft("sevelamer carbonate 800 mg"), []),
    (Case(date=DAY, patient=MAN, labs=[_lab("calcium", 11.8, "mg/dL")]),
     _draft("cholecalciferol 1000 IU"), ["calcium_vitamin_d_with_hypercalcaemia"]),
    (Case(date=DAY, patient=MAN, labs=[_lab("calcium", 11.8, "mg/dL")]),
     _draft("calcitriol 0.25 mcg"), ["calcium_vitamin_d_with_hypercalcaemia"]),
    (NORMAL, _draft("cholecalciferol 1000 IU"), []),
    (G4, _draft("ibuprofen 400 mg tablet"), ["nsaid_in_advanced_ckd"]),
    (G4, _draft("Advil", coding=[{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                  "code": "5640"}]), ["nsaid_in_advanced_ckd"]),
    (NORMAL, _draft("ibuprofen 400 mg tablet"), []),
    (PREGNANT, _draft("naproxen 500 mg"), ["nsaid_in_pregnancy"]),
    (PREGNANT, _draft("alendronate 70 mg weekly"), ["bisphosphonate_in_pregnancy"]),
    (G4, _draft("alendronate 70 mg weekly"), ["bisphosphonate_low_egfr"]),
    (NORMAL, _draft("alendronate 70 mg weekly"), []),
    (PREGNANT, _draft("CT abdomen and pelvis with IV contrast", kind="ServiceRequest"),
     ["contrast_ct_in_pregnancy"]),
    (PREGNANT, _draft("CT ABDOMEN PELVIS W CONTRAST", kind="ServiceRequest"),
     ["contrast_ct_in_pregnancy"]),
    (PREGNANT, _draft("CT head without contrast", kind="ServiceRequest"), []),
    (PREGNANT, _draft("CT ABDOMEN WO CONTRAST", kind="ServiceRequest"), []),
    (NORMAL, _draft("CT abdomen with contrast", kind="ServiceRequest"), []),
])
def test_order_checks(case: Case, draft, expected: list[str]) -> None:
    assert _checks(case, draft) == expected


def test_a_pregnancy_is_not_read_for_a_man_or_a_child() -> None:
    """The concept's patient guard (pregnancy read only for a woman of 10 or over) holds here
    too: the order check sees the one assessment's facts."""
    boy = Case(date=DAY, patient=Patient(age_years=0.2, sex="male"),
               conditions=[Condition(text="born at 28 weeks gestation")])
    assert _checks(boy, _draft("ibuprofen 100 mg/5 mL suspension")) == []


def test_order_card_for_a_critical_check_and_its_evidence() -> None:
    assessment = service.assess_case(PREGNANT, as_of=DAY, scans=[])
    findings = cds.check_orders(_draft("zoledronic acid 5 mg infusion"), PREGNANT, assessment,
                                knowledge=KB)
    cards = cds.order_cards(findings, cds.CardContext(base_url="https://ectocalc.example",
                                                      patient_id=None), knowledge=KB)
    assert [c["indicator"] for c in cards] == ["critical"]
    assert "pregnan" in cards[0]["detail"].lower()
    assert cards[0]["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/draft-1"
    assert "links" not in cards[0]  # no record key: no patient page to link
