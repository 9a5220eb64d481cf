"""Faults the second blind review found (docs/clinical-review.md, part 3), one test per kind."""

from __future__ import annotations

from typing import Any

import pytest

from ectocalc.io.case_file import case_from_mapping
from ectocalc.model import Assessment
from ectocalc.render.patient import patient_text
from ectocalc.service import assess_case

TENDON = {"site": "right shoulder supraspinatus tendon", "modality": "xray", "size_mm": 8}


def _assess(**document: Any) -> Assessment:
    return assess_case(case_from_mapping(document, source="t.yaml"), scans=())


def _ids(items: Any) -> set[str]:
    return {x.id for x in items}


@pytest.mark.parametrize("text", [
    "off dialysis since 2022",
    "h/o hemodialysis for AKI in 2022, renal recovery, off dialysis since 2022",
])
def test_off_dialysis_is_not_on_dialysis(text: str) -> None:
    a = _assess(patient={"age_years": 45, "sex": "male"}, conditions=[{"text": text}],
                labs=[{"analyte": "creatinine", "value": 0.9, "unit": "mg/dL"}])
    assert not a.derived.on_dialysis and a.derived.ckd_stage is None
    assert "acute_kidney_injury" not in _ids(a.alerts)


def test_on_dialysis_since_a_year_is_still_current() -> None:
    a = _assess(patient={"age_years": 45, "sex": "male"},
                conditions=[{"text": "history of ESKD on HD since 2015"}],
                labs=[{"analyte": "creatinine", "value": 7.9, "unit": "mg/dL"}])
    assert a.derived.on_dialysis and a.derived.ckd_stage == "G5D"


@pytest.mark.parametrize("condition", [
    {"text": "pregnancy excluded"},
    {"text": "not pregnant, pregnancy test negative"},
    {"text": "h/o gestational diabetes in 2020 pregnancy", "code": "O24.419"},
])
def test_negated_or_past_pregnancy_is_not_pregnancy(condition: dict[str, str]) -> None:
    a = _assess(patient={"age_years": 29, "sex": "female"}, conditions=[condition],
                findings=[TENDON])
    assert "pregnancy" not in _ids(a.alerts)
    assert "pregnant" not in patient_text(a).lower()


def test_an_o_code_alone_is_still_a_pregnancy() -> None:
    a = _assess(patient={"age_years": 29, "sex": "female"},
                conditions=[{"code": "O24.419"}], findings=[TENDON])
    assert "pregnancy" in _ids(a.alerts)


def test_a_pregnant_adolescent_is_addressed_herself_with_no_alcohol_advice() -> None:
    a = _assess(patient={"age_years": 17, "sex": "female", "pregnant": True,
                         "gestation_weeks": 24},
                conditions=[{"text": "juvenile dermatomyositis"}],
                findings=[{"site": "right elbow skin", "type": "cutaneous", "modality": "exam",
                           "ulcerated": True}])
    text = patient_text(a)
    assert "parents or carers" not in text and "You are pregnant" in text
    assert "no alcohol" in text and "little alcohol" not in text
    cautions = {m.id: " ".join(m.cautions) for m in a.management}
    assert "teratogenic" in cautions["inflammation_control"]
    assert "after delivery" in cautions["surgical_excision"]


def test_tumour_lysis_binder_has_no_persistence_caution() -> None:
    a = _assess(patient={"age_years": 6, "sex": "male", "height_cm": 115},
                conditions=[{"text": "acute lymphoblastic leukaemia, started chemotherapy"}],
                labs=[{"analyte": "phosphate", "value": 9.1, "unit": "mg/dL"},
                      {"analyte": "calcium", "value": 6.6, "unit": "mg/dL"},
                      {"analyte": "potassium", "value": 6.4, "unit": "mmol/L"},
                      {"analyte": "uric_acid", "value": 11.5, "unit": "mg/dL"}],
                findings=[{"site": "both kidneys", "type": "visceral", "modality": "ultrasound"}])
    assert "tumor_lysis_syndrome" in _ids(a.syndromes)
    binder = next(m for m in a.management if m.id == "phosphate_binder")
    assert not any("Only one high phosphate" in c for c in binder.cautions)


def test_a_transplant_with_low_phosphate_is_not_told_the_kidneys_keep_phosphate() -> None:
    a = _assess(patient={"age_years": 52, "sex": "male"},
                conditions=[{"text": "kidney transplant 2019", "code": "Z94.0"}],
                labs=[{"analyte": "calcium", "value": 11.1, "unit": "mg/dL"},
                      {"analyte": "albumin", "value": 4.0, "unit": "g/dL"},
                      {"analyte": "phosphate", "value": 2.1, "unit": "mg/dL"},
                      {"analyte": "pth", "value": 310, "unit": "pg/mL"},
                      {"analyte": "creatinine", "value": 1.3, "unit": "mg/dL"}],
                findings=[{"site": "iliac arteries", "type": "vascular", "modality": "ct"}])
    text = patient_text(a)
    assert "cannot remove enough phosphate" not in text
    assert "overactive parathyroid glands" in text


@pytest.mark.parametrize(("text", "treated"), [
    ("juvenile dermatomyositis in childhood, inactive for 10 years", False),
    ("dermatomyositis in remission since 2019", False),
    ("dermatomyositis", True),
])
def test_inactive_connective_tissue_disease_is_not_treated(text: str, treated: bool) -> None:
    a = _assess(patient={"age_years": 25, "sex": "female"}, conditions=[{"text": text}],
                findings=[{"site": "left elbow skin", "type": "cutaneous", "modality": "exam"}])
    assert "connective_tissue_disease_calcinosis" in _ids(a.syndromes)  # still its cause
    assert ("inflammation_control" in _ids(a.management)) is treated


def test_physically_inactive_is_not_a_past_diagnosis() -> None:
    a = _assess(patient={"age_years": 60, "sex": "male"},
                conditions=[{"text": "type 2 diabetes, obesity, physically inactive"}],
                findings=[{"site": "femoral artery", "type": "vascular", "modality": "xray"}])
    assert "glycemic_control" in _ids(a.management)


def test_severe_vitamin_d_intoxication_gets_its_treatment() -> None:
    a = _assess(patient={"age_years": 44, "sex": "male"},
                medications=[{"text": "cholecalciferol 50,000 IU daily"}],
                labs=[{"analyte": "calcium", "value": 14.2, "unit": "mg/dL"},
                      {"analyte": "vitamin_d_25oh", "value": 210, "unit": "ng/mL"},
                      {"analyte": "pth", "value": 4, "unit": "pg/mL"}],
                findings=[{"site": "both kidneys", "type": "visceral", "modality": "ultrasound"}])
    assert {s.id: s.certainty for s in a.syndromes}.get("vitamin_d_toxicity") in (
        "probable", "definitive")
    plan = {m.id: m.reason for m in a.management}
    assert "glucocorticoids" in plan["treat_underlying_cause"]
    assert "bisphosphonate" in plan


def test_tendon_surgery_names_both_less_invasive_steps() -> None:
    a = _assess(patient={"age_years": 46, "sex": "female"},
                findings=[{"site": "right supraspinatus tendon", "modality": "xray",
                           "size_mm": 16, "pain": "moderate",
                           "conservative_treatment_failed": True}])
    cautions = " ".join(next(m for m in a.management if m.id == "surgical_excision").cautions)
    assert "shock wave" in cautions and "barbotage" in cautions


def test_third_review_severe_hypocalcaemia_is_critical() -> None:
    a = _assess(patient={"age_years": 40, "sex": "male"},
                labs=[{"analyte": "calcium", "value": 7.4, "unit": "mg/dL"},
                      {"analyte": "albumin", "value": 4.0, "unit": "g/dL"}])
    alert = next(x for x in a.alerts if x.id == "hypocalcemia")
    assert alert.severity == "critical" and "IV calcium gluconate" in alert.message


def test_third_review_low_pth_after_parathyroidectomy_keeps_active_vitamin_d() -> None:
    a = _assess(patient={"age_years": 55, "sex": "male"},
                conditions=[{"text": "on hemodialysis"},
                            {"text": "s/p total parathyroidectomy 2023"}],
                medications=[{"text": "calcitriol 0.5 mcg daily"}],
                labs=[{"analyte": "pth", "value": 5, "unit": "pg/mL", "comparator": "<"},
                      {"analyte": "calcium", "value": 8.9, "unit": "mg/dL"}])
    alert = next(x for x in a.alerts if x.id == "pth_low_on_dialysis")
    assert "after parathyroidectomy" in alert.message
    stop = next((m for m in a.management if m.id == "stop_offending_agent"), None)
    assert stop is None or "until PTH is back" not in stop.reason


def test_third_review_ck_in_active_dermatomyositis_is_not_rhabdomyolysis() -> None:
    a = _assess(patient={"age_years": 9, "sex": "female"},
                conditions=[{"text": "juvenile dermatomyositis"}],
                labs=[{"analyte": "creatine_kinase", "value": 1200, "unit": "U/L"}],
                findings=[{"site": "left elbow subcutaneous", "type": "cutaneous",
                           "modality": "exam"}])
    assert "rhabdomyolysis" not in _ids(a.syndromes)


def test_third_review_an_ex_smoker_is_not_told_to_stop_smoking() -> None:
    a = _assess(patient={"age_years": 28, "sex": "female"},
                conditions=[{"text": "former smoker, quit 2020"}],
                findings=[{"site": "femoral artery", "type": "vascular", "modality": "xray"}])
    assert all("Stop smoking" not in m.reason for m in a.management)


@pytest.mark.parametrize(("age", "phosphate", "met"), [
    (16, 5.5, False), (16, 6.6, True), (40, 4.6, True), (40, 4.4, False)])
def test_third_review_tumour_lysis_phosphate_threshold_by_age(age: int, phosphate: float,
                                                             met: bool) -> None:
    """Cairo-Bishop 2004: phosphate at least 6.5 mg/dL in children, 4.5 mg/dL in adults."""
    a = _assess(patient={"age_years": age, "sex": "male"},
                conditions=[{"text": "acute lymphoblastic leukaemia, on chemotherapy"}],
                labs=[{"analyte": "phosphate", "value": phosphate, "unit": "mg/dL"},
                      {"analyte": "uric_acid", "value": 9.0, "unit": "mg/dL"}],
                findings=[{"site": "both kidneys", "type": "visceral", "modality": "ultrasound"}])
    tls = next((s for s in a.syndromes if s.id == "tumor_lysis_syndrome"), None)
    texts = " ".join(tls.criteria) if tls else ""
    assert ("phosphate at least" in texts) is met


def test_third_review_bisphosphonate_contraception_and_calcimimetic_already_taken() -> None:
    pxe = _assess(patient={"age_years": 28, "sex": "female"},
                  genetics=[{"gene": "ABCC6", "zygosity": "homozygous",
                             "classification": "pathogenic"}],
                  findings=[{"site": "neck skin, yellow papules", "type": "cutaneous",
                             "modality": "exam"},
                            {"site": "retina, angioid streaks", "modality": "exam"}])
    bis = next(m for m in pxe.management if m.id == "bisphosphonate")
    assert any("contraception" in c for c in bis.cautions)
    hd = _assess(patient={"age_years": 60, "sex": "male"},
                 conditions=[{"text": "on haemodialysis"}],
                 medications=[{"text": "cinacalcet 60 mg daily"}],
                 labs=[{"analyte": "pth", "value": 900, "unit": "pg/mL"},
                       {"analyte": "calcium", "value": 9.4, "unit": "mg/dL"}])
    calcimimetic = next(m for m in hd.management if m.id == "calcimimetic")
    assert any("Already taking a calcimimetic" in c for c in calcimimetic.cautions)


def test_third_review_a_finding_takes_its_subtype_from_its_own_type() -> None:
    a = _assess(patient={"age_years": 50, "sex": "male"},
                findings=[{"site": "renal arteries", "modality": "ultrasound"},
                          {"site": "both kidneys, medullary", "modality": "ultrasound"}])
    assert [(t.id, t.subtype) for t in a.types] == [("vascular", None),
                                                    ("visceral", "nephrocalcinosis")]
