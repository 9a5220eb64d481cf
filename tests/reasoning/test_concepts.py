"""Concept recognition: codes, wording, abbreviations, negation, family history, suspicion."""

from __future__ import annotations

import pytest

from ectocalc.knowledge import load_knowledge
from ectocalc.model import Case, Condition, Finding, Medication
from ectocalc.reasoning.concepts import find_by_code, find_in_text, present_ids, recognise

KB = load_knowledge()


def _present(text: str) -> set[str]:
    kinds = ("condition", "medication", "procedure", "sign")
    return present_ids(find_in_text(text, "conditions[0].text", kinds=kinds, knowledge=KB))


@pytest.mark.parametrize(("text", "expected"), [
    ("ESRD", {"chronic_kidney_disease"}),
    ("hypertensive nephrosclerosis", {"chronic_kidney_disease"}),
    ("on HD", {"dialysis"}),
    ("JDM", {"dermatomyositis"}),
    ("s/p radiotherapy", {"radiation"}),
    ("Coumadin 5 mg daily", {"warfarin"}),
    ("acenocoumarol", {"warfarin"}),
    ("CREST syndrome", {"systemic_sclerosis"}),
    ("SLE", {"lupus"}),
    ("T2DM", {"diabetes"}),
    ("HTN", {"hypertension"}),
    ("calcitriol 0.25 mcg", {"active_vitamin_d"}),
    ("paricalcitol", {"active_vitamin_d"}),
    ("cinacalcet 30 mg", {"calcimimetic_drug"}),
    ("sevelamer carbonate", {"non_calcium_binder"}),
    ("calcium acetate 667 mg", {"calcium_salt"}),
    ("etidronate", {"bisphosphonate_drug"}),
    ("tumor lysis syndrome", {"tumour_lysis"}),
    ("burns to the forearm", {"burn"}),
    ("prolonged immobilization", {"immobilisation"}),
])
def test_abbreviations_and_wording(text: str, expected: set[str]) -> None:
    assert _present(text) == expected


def test_ckd_stage_from_wording_and_code() -> None:
    (mention,) = find_in_text("CKD 4", "x", knowledge=KB)
    assert (mention.id, mention.attributes) == ("chronic_kidney_disease", {"stage": "4"})
    (coded,) = find_by_code("N18.32", "icd10cm", "conditions[0].code", knowledge=KB)
    assert coded.attributes == {"stage": "3B"}


def test_negated_mentions_are_not_present() -> None:
    mentions = find_in_text("no history of CKD", "x", knowledge=KB)
    assert [(m.id, m.present) for m in mentions] == [("chronic_kidney_disease", False)]
    assert present_ids(mentions) == set()
    assert _present("denies calcium or vitamin D supplements") == set()
    assert _present("no history of kidney disease, not on dialysis") == set()


def test_negation_stops_at_the_clause() -> None:
    assert _present("no diabetes, but CKD stage 3a") == {"chronic_kidney_disease"}


def test_family_history_is_kept_apart() -> None:
    (mention,) = find_in_text("sister has PXE", "x", knowledge=KB)
    assert (mention.id, mention.family, mention.present) == ("pxe", True, True)
    assert present_ids([mention]) == set()


@pytest.mark.parametrize(("text", "degree"), [
    ("sister has PXE", "1"), ("PXE in her father", "1"), ("grandmother had PXE", "2"),
    ("half-brother has PXE", "2"), ("PXE in an aunt", "2"), ("cousin has PXE", "3"),
    ("PXE in two cousins", "3"), ("mother and cousin have PXE", "1"),
    ("family history of PXE", None),
])
def test_family_degree_comes_from_the_relation_word(text: str, degree: str | None) -> None:
    (mention,) = find_in_text(text, "x", knowledge=KB)
    assert mention.family
    assert mention.attributes.get("family_degree") == degree


def test_suspected_mentions_are_marked() -> None:
    (mention,) = find_in_text("suspected limited systemic sclerosis", "x", knowledge=KB)
    assert mention.attributes == {"suspected": "true"}


def test_injury_words_do_not_trip_other_concepts() -> None:
    assert _present("acute kidney injury") == {"acute_kidney_injury"}
    assert _present("vitamin D deficiency") == set()


def test_high_dose_vitamin_d_needs_a_large_dose() -> None:
    assert _present("cholecalciferol 50,000 IU weekly") == {"nutritional_vitamin_d",
                                                            "high_dose_vitamin_d"}
    assert _present("cholecalciferol 1000 IU daily") == {"nutritional_vitamin_d"}
    assert "high_dose_vitamin_d" not in _present("heparin 25000 units")


def test_codes() -> None:
    assert {m.id for m in find_by_code("E11.9", "icd10cm", "c", knowledge=KB)} == {"diabetes"}
    found = {m.id for m in find_by_code("M33.03", "icd10cm", "c", knowledge=KB)}
    assert found == {"dermatomyositis"}
    assert {m.id for m in find_by_code("44054006", "snomed", "c", knowledge=KB)} == {"diabetes"}
    assert find_by_code("4405400", "snomed", "c", knowledge=KB) == []


def test_recognise_reads_findings_signs_and_sites() -> None:
    case = Case(
        conditions=[Condition(text="ESRD", code="N18.6", system="icd10cm"),
                    Condition(text="dermatomyositis", present=False)],
        medications=[Medication(text="warfarin")],
        findings=[Finding(site="skin of the thigh", signs=["retiform_purpura", "angioid_streaks"]),
                  Finding(site="x", body_site_code="64033007")],
    )
    mentions = recognise(case, knowledge=KB)
    assert present_ids(mentions) == {"chronic_kidney_disease", "warfarin", "site_skin",
                                     "site_soft_tissue", "retiform_purpura", "angioid_streaks",
                                     "site_kidney"}
    signs = [m.origin for m in mentions if m.id == "angioid_streaks"]
    assert signs == ["findings[0].signs[1]"]
    assert not next(m for m in mentions if m.id == "dermatomyositis").present
