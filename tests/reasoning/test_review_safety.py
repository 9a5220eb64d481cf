"""Regression tests for the clinical review of 2026-11-21 (safety and correctness items).

Each test names the review item it guards; the cases are the reviewer's probes or minimal
versions of the vignettes.
"""

from __future__ import annotations

import pytest
from case_helpers import NORMAL_LABS, ids, lab, run

from ectocalc.knowledge import load_knowledge
from ectocalc.model import Assessment, PlanItem
from ectocalc.reasoning.concepts import find_in_text

KB = load_knowledge()

HAEMODIALYSIS_CALCIPHYLAXIS = {
    "patient": {"age_years": 58, "sex": "male"},
    "labs": [lab("calcium", 11.2, "mg/dL"), lab("albumin", 4.0, "g/dL"),
             lab("phosphate", 6.9, "mg/dL"), lab("pth", 900, "pg/mL")],
    "conditions": [{"text": "ESRD on haemodialysis"}],
    "medications": [{"text": "warfarin"}, {"text": "calcium carbonate 1 g tid"},
                    {"text": "calcitriol 0.5 mcg daily"}],
    "findings": [{"site": "skin of both thighs", "pain": "severe", "ulcerated": True,
                  "signs": ["retiform_purpura", "necrosis"]}],
}
NON_UREMIC_CALCIPHYLAXIS = {
    "patient": {"age_years": 62, "sex": "female"},
    "labs": NORMAL_LABS,
    "conditions": [{"text": "type 2 diabetes"}, {"text": "morbid obesity"}],
    "medications": [{"text": "warfarin"}, {"text": "prednisone 10 mg"}],
    "findings": [{"site": "skin of thighs", "pain": "severe", "ulcerated": True,
                  "signs": ["retiform_purpura", "necrosis"]}],
}


def _item(items: list[PlanItem], item_id: str) -> PlanItem:
    found = [i for i in items if i.id == item_id]
    assert found, f"{item_id} missing; have {ids(items)}"
    return found[0]


def _cautions(result: Assessment, item_id: str) -> str:
    return " | ".join(_item(result.management + result.workup, item_id).cautions)


# ------------------------------------------------------------------ 1. calcium-raising drugs


def test_no_calcitriol_suggested_in_hypercalcaemic_calciphylaxis() -> None:
    result = run(**HAEMODIALYSIS_CALCIPHYLAXIS)
    calcimimetic = _item(result.management, "calcimimetic")
    assert calcimimetic.reason.startswith("Calciphylaxis with high PTH")
    assert "or calcitriol" not in calcimimetic.reason
    assert "no calcitriol or vitamin D analogues" in _cautions(result, "calcimimetic")


def test_stop_offending_agent_names_every_agent() -> None:
    reason = _item(run(**HAEMODIALYSIS_CALCIPHYLAXIS).management, "stop_offending_agent").reason
    assert "stop warfarin" in reason
    assert "Stop calcium salts" in reason
    assert "Stop active vitamin D" in reason


def test_calcitriol_never_offered_with_high_calcium_on_dialysis() -> None:
    result = run(labs=[lab("calcium", 10.9, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("phosphate", 5.0, "mg/dL"), lab("pth", 900, "pg/mL")],
                 conditions=[{"text": "ESRD on HD"}])
    calcimimetic = _item(result.management, "calcimimetic")
    assert "not calcitriol" in calcimimetic.reason


# ------------------------------------------------------------- 2. non-uraemic calciphylaxis


def test_non_uremic_calciphylaxis_stays_possible_and_sts_needs_biopsy() -> None:
    result = run(**NON_UREMIC_CALCIPHYLAXIS)
    (calciphylaxis,) = [s for s in result.syndromes if s.id == "calciphylaxis"]
    assert calciphylaxis.certainty == "possible"
    assert "biopsy" in ids(result.workup)
    # A possible syndrome starts the biopsy, not the drug (issue 9 kind 6), and says so.
    assert "sodium_thiosulfate" not in ids(result.management)
    assert any(a.id == "plan_item_withheld" and a.message.startswith("Sodium thiosulfate")
               and "only possible" in a.message for a in result.alerts)
    alert = next(a for a in result.alerts if a.id == "calciphylaxis_suspected")
    assert alert.severity == "warning"


def test_uremic_calciphylaxis_is_still_probable() -> None:
    result = run(**HAEMODIALYSIS_CALCIPHYLAXIS)
    assert {s.id: s.certainty for s in result.syndromes}["calciphylaxis"] == "probable"
    assert "confirm by skin biopsy" not in _cautions(result, "sodium_thiosulfate")


# ------------------------------------------------------------------------- 3. NSAID cautions


PAINFUL_SHOULDER = [{"site": "right shoulder, supraspinatus tendon", "pain": "moderate"}]


@pytest.mark.parametrize(("document", "words"), [
    ({"labs": [lab("calcium", 9.4, "mg/dL"), lab("phosphate", 4.0, "mg/dL"),
               lab("albumin", 4.0, "g/dL")]}, "Kidney function unknown: check creatinine"),
    ({"labs": [lab("calcium", 9.4, "mg/dL"), lab("phosphate", 4.0, "mg/dL"),
               lab("albumin", 4.0, "g/dL")],
      "conditions": [{"text": "suspected systemic sclerosis"}]}, "scleroderma renal crisis"),
    ({"labs": [lab("calcium", 12.6, "mg/dL"), lab("phosphate", 3.5, "mg/dL"),
               lab("creatinine", 0.8, "mg/dL")]}, "Hypercalcaemia or volume depletion"),
    ({"labs": NORMAL_LABS, "medications": [{"text": "apixaban 5 mg bid"}]},
     "anticoagulant or antiplatelet"),
    ({"labs": NORMAL_LABS, "medications": [{"text": "clopidogrel"}]},
     "anticoagulant or antiplatelet"),
    ({"labs": NORMAL_LABS, "conditions": [{"text": "congestive heart failure"}]},
     "Heart failure or cardiovascular disease"),
])
def test_nsaid_cautions(document: dict, words: str) -> None:
    result = run(findings=PAINFUL_SHOULDER, **document)
    assert words in _cautions(result, "nsaid")


# -------------------------------------------------------------- 4. blocked items stay visible


def test_blocked_nsaid_is_shown_with_other_analgesia() -> None:
    result = run(patient={"age_years": 70, "sex": "male"},
                 labs=[lab("creatinine", 3.0, "mg/dL"), lab("calcium", 9.4, "mg/dL"),
                       lab("phosphate", 4.0, "mg/dL"), lab("albumin", 4.0, "g/dL")],
                 conditions=[{"text": "CKD stage 4"}],
                 findings=[{"site": "right shoulder, supraspinatus tendon", "size_mm": 12,
                            "pain": "severe"}])
    assert "nsaid" not in ids(result.management)
    therapy = _item(result.management, "physical_therapy")
    assert therapy.cautions == []  # physical therapy itself is not the problem
    (withheld,) = therapy.withheld
    assert withheld.startswith("NSAID") and "not advised" in withheld
    assert "use other analgesia" in withheld


def test_blocked_item_without_a_host_becomes_an_info_alert() -> None:
    result = run(labs=[lab("creatinine", 3.0, "mg/dL"), *NORMAL_LABS[:3]],
                 conditions=[{"text": "acute kidney injury"}],
                 findings=[{"site": "thigh soft tissue", "pain": "moderate"}])
    assert "nsaid" not in ids(result.management)
    (withheld,) = [a for a in result.alerts if a.id == "plan_item_withheld"]
    assert withheld.severity == "info"
    assert withheld.message.startswith("NSAID")
    assert "use other analgesia" in withheld.message


def test_calciphylaxis_wound_care_names_analgesia_and_the_excision_block() -> None:
    result = run(**HAEMODIALYSIS_CALCIPHYLAXIS)
    wound = _item(result.management, "wound_care")
    assert wound.reason.startswith("Calciphylaxis: wound care, infection control and analgesia")
    assert any("Surgical excision not advised" in c for c in wound.withheld)


# --------------------------------------------------------------- 5. severe hypercalcaemia


def test_critical_hypercalcaemia_gets_acute_management() -> None:
    result = run(labs=[lab("calcium", 13.4, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("phosphate", 3.5, "mg/dL"), lab("creatinine", 1.0, "mg/dL")],
                 medications=[{"text": "calcium carbonate 3 g daily"},
                              {"text": "hydrochlorothiazide 25 mg"}],
                 findings=[{"site": "both kidneys, nephrocalcinosis"}])
    treat = _item(result.management, "treat_underlying_cause")
    assert treat.reason.startswith("Calcium 12 mg/dL (3.0 mmol/L) or more: treat today")
    assert "IV isotonic saline" in treat.reason and "ECG" in treat.reason
    stop = _item(result.management, "stop_offending_agent").reason
    assert "Stop calcium salts" in stop and "thiazide" in stop
    alert = next(a for a in result.alerts if a.id == "hypercalcemia")
    assert alert.severity == "critical" and "IV isotonic saline" in alert.message


# ------------------------------------------------------------------- 7. parathyroidectomy


def test_parathyroidectomy_cautions_fhh_drugs_and_ckd() -> None:
    result = run(patient={"age_years": 60, "sex": "female"},
                 labs=[lab("creatinine", 1.5, "mg/dL"), lab("calcium", 11.2, "mg/dL"),
                       lab("phosphate", 2.4, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("pth", 90, "pg/mL")],
                 medications=[{"text": "lithium 400 mg bid"}, {"text": "hydrochlorothiazide"}],
                 findings=[{"site": "both kidneys, renal medulla", "modality": "ultrasound"}])
    cautions = _cautions(result, "parathyroidectomy")
    assert "familial hypocalciuric hypercalcaemia" in cautions
    assert "lithium or a thiazide" in cautions
    assert "tertiary hyperparathyroidism" in cautions


# --------------------------------------------------------------------------- 8. GACI, infants


GACI_INFANT = {"patient": {"age_years": 0.25, "sex": "male"},
               "genetics": [{"gene": "ENPP1", "zygosity": "biallelic",
                             "classification": "pathogenic"}],
               "findings": [{"site": "abdominal aorta and renal arteries", "modality": "ct"}]}


def test_gaci_bisphosphonate_is_a_specialist_decision_with_caution() -> None:
    result = run(**GACI_INFANT)
    bisphosphonate = _item(result.management, "bisphosphonate")
    assert "specialist decision" in bisphosphonate.reason
    assert "no survival benefit" in _cautions(result, "bisphosphonate")
    assert _cautions(result, "bisphosphonate").endswith("[check]")


def test_no_blood_pressure_drugs_for_an_infant_without_hypertension() -> None:  # item 20
    assert "bp_control" not in ids(run(**GACI_INFANT).management)


# ---------------------------------------------------------------------------- 9. excision


def test_extravasation_deposit_is_observed_not_excised() -> None:
    result = run(labs=NORMAL_LABS,
                 conditions=[{"text": "extravasation of IV calcium gluconate"}],
                 findings=[{"site": "skin of dorsum of right hand", "size_mm": 20,
                            "pain": "mild", "ulcerated": True}])
    assert "surgical_excision" not in ids(result.management)
    assert any("resolves spontaneously" in c
               for c in _item(result.management, "wound_care").withheld)


def test_digital_calcinosis_in_suspected_ssc_excision_caution() -> None:
    result = run(labs=NORMAL_LABS,
                 conditions=[{"text": "Raynaud phenomenon"},
                             {"text": "suspected limited systemic sclerosis"}],
                 findings=[{"site": "right index finger pulp", "pain": "moderate",
                            "ulcerated": True}])
    assert "specialist hand surgery" in _cautions(result, "surgical_excision")


def test_dermatomyositis_excision_caution() -> None:
    result = run(labs=NORMAL_LABS, conditions=[{"text": "juvenile dermatomyositis"}],
                 findings=[{"site": "skin of the elbow", "ulcerated": True}])
    assert "control disease activity first" in _cautions(result, "surgical_excision")


def test_large_non_tendon_deposit_threshold_is_a_heuristic() -> None:
    result = run(labs=NORMAL_LABS, conditions=[{"text": "old burn"}],
                 findings=[{"site": "thigh soft tissue", "size_mm": 25, "pain": "mild"}])
    excision = _item(result.management, "surgical_excision")
    assert excision.reason.endswith("[check]") and "ectocalc" in excision.source


# -------------------------------------------------------------------------- 10. lexicon


@pytest.mark.parametrize(("text", "present", "absent"), [
    ("DM with calcinosis, anti-NXP2 positive", {"dermatomyositis"}, {"diabetes"}),
    ("DM type 2", {"diabetes"}, {"dermatomyositis"}),
    ("T2DM", {"diabetes"}, set()),
    ("calcinosis of the right index finger pad", set(), {"atherosclerosis"}),
    ("Hashimoto thyroiditis (autoimmune disease)", set(), {"mixed_connective_tissue_disease"}),
    ("polymyositis", {"inflammatory_myositis"}, {"dermatomyositis"}),
    ("thrombophilia (factor V Leiden)", set(), {"protein_c_s_deficiency"}),
    ("pulmonary stenosis", set(), {"peripheral_pulmonary_stenosis"}),
    ("basal cell carcinoma of the nose", set(), {"malignancy"}),
    ("metastatic breast cancer", {"malignancy"}, set()),
])
def test_lexicon_collisions(text: str, present: set[str], absent: set[str]) -> None:
    found = {m.id for m in find_in_text(text, "x", knowledge=KB) if m.present}
    assert present <= found
    assert not (absent & found)


def test_subcutaneous_fat_necrosis_of_the_newborn_code() -> None:
    from ectocalc.reasoning.concepts import find_by_code
    assert "panniculitis" in {m.id for m in find_by_code("P15.6", "icd10cm", "x", knowledge=KB)}
    assert "panniculitis" not in {m.id for m in find_by_code("P83.0", "icd10cm", "x", knowledge=KB)}


def test_hashimoto_gives_no_ctd_picture() -> None:
    result = run(labs=NORMAL_LABS,
                 conditions=[{"text": "Hashimoto thyroiditis (autoimmune disease)"}],
                 findings=[{"site": "scalp skin", "signs": ["nodule"], "size_mm": 8}])
    assert "connective_tissue_disease_calcinosis" not in ids(result.syndromes)
    assert "inflammation_control" not in ids(result.management)


# ------------------------------------------------------------- 11. suspected CTD only


def test_suspected_ctd_gets_no_immunosuppression_before_confirmation() -> None:
    result = run(labs=NORMAL_LABS,
                 conditions=[{"text": "suspected limited systemic sclerosis (CREST)"}],
                 findings=[{"site": "fingertip", "signs": ["nodule"]}])
    control = _item(result.management, "inflammation_control")
    assert "after confirmation" in control.reason
    assert control.certainty == "after confirmation of the diagnosis"
    established = run(labs=NORMAL_LABS, conditions=[{"text": "systemic sclerosis"}],
                      findings=[{"site": "fingertip", "signs": ["nodule"]}])
    assert "after confirmation" not in _item(established.management,
                                             "inflammation_control").reason


# ------------------------------------------------------------------- correctness (B, D)


def test_lateral_abdominal_xray_not_when_vascular_calcification_is_documented() -> None:
    ckd4 = [lab("creatinine", 2.0, "mg/dL"), lab("calcium", 9.4, "mg/dL"),
            lab("phosphate", 4.0, "mg/dL"), lab("albumin", 4.0, "g/dL")]
    known = run(patient={"age_years": 70, "sex": "female"}, labs=ckd4,
                findings=[{"site": "femoral arteries", "modality": "xray"}])
    unknown = run(patient={"age_years": 70, "sex": "female"}, labs=ckd4,
                  findings=[{"site": "right shoulder, supraspinatus tendon"}])
    assert "lateral_abdominal_xray" not in ids(known.workup)  # item 17
    assert "lateral_abdominal_xray" in ids(unknown.workup)


def test_metastatic_not_high_confidence_on_ckd_stage_alone() -> None:  # item 12
    result = run(patient={"age_years": 70, "sex": "male"},
                 labs=[lab("creatinine", 3.0, "mg/dL"), lab("calcium", 9.4, "mg/dL"),
                       lab("phosphate", 4.0, "mg/dL"), lab("albumin", 4.0, "g/dL")],
                 findings=[{"site": "right shoulder, supraspinatus tendon", "size_mm": 12}])
    assert not (result.mechanism.primary == "metastatic"
                and result.mechanism.confidence == "high")


def test_no_iatrogenic_signal_for_vitamin_d_or_radiotherapy() -> None:  # item 18
    radiotherapy = run(labs=NORMAL_LABS, conditions=[{"text": "prior radiotherapy"}],
                       findings=[{"site": "left breast soft tissue"}])
    assert "iatrogenic" not in {m.id for m in radiotherapy.mechanism.differential}


def test_pxe_eye_follow_up_and_skin_biopsy() -> None:  # items 13, 14
    possible = run(labs=NORMAL_LABS, conditions=[{"text": "angioid streaks"}],
                   findings=[{"site": "femoral arteries"}])
    assert possible.mechanism.primary == "inherited"
    assert "flexural skin" in _item(possible.workup, "biopsy").reason
    eye = [i for i in possible.workup if i.id == "ophthalmologic_exam"]
    assert eye and "anti-VEGF" in eye[0].reason


def test_valve_stenosis_is_referred_to_cardiology() -> None:  # item 19
    result = run(patient={"age_years": 78, "sex": "male"}, labs=NORMAL_LABS,
                 findings=[{"site": "aortic valve", "signs": ["stenosis"],
                            "modality": "echocardiogram"}])
    assert "refer to cardiology" in _item(result.management, "treat_underlying_cause").reason


def test_peritoneal_dialysis_sts_caution_and_bicarbonate() -> None:  # item 21
    result = run(patient={"age_years": 55, "sex": "male"},
                 labs=[lab("calcium", 9.0, "mg/dL"), lab("phosphate", 6.5, "mg/dL"),
                       lab("albumin", 3.5, "g/dL"), lab("pth", 400, "pg/mL")],
                 conditions=[{"text": "ESKD on peritoneal dialysis"}],
                 findings=[{"site": "skin of abdomen", "pain": "severe",
                            "signs": ["livedo", "necrosis"]}])
    cautions = _cautions(result, "sodium_thiosulfate")
    assert "Not on haemodialysis" in cautions
    assert "check bicarbonate and the anion gap" in cautions


def test_vitamin_d_deficiency_is_flagged() -> None:  # item 16
    result = run(patient={"age_years": 70, "sex": "female"},
                 labs=[lab("creatinine", 2.0, "mg/dL"), lab("calcium", 9.0, "mg/dL"),
                       lab("phosphate", 4.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("pth", 180, "pg/mL"), lab("vitamin_d_25oh", 14, "ng/mL")],
                 findings=[{"site": "femoral arteries"}])
    alert = next(a for a in result.alerts if a.id == "vitamin_d_deficiency")
    assert "raised PTH" in alert.message


def test_low_dose_vitamin_d_does_not_ask_for_intoxication_work_up() -> None:  # item 16
    result = run(labs=NORMAL_LABS, medications=[{"text": "vitamin D 1000 IU daily"}],
                 findings=[{"site": "scalp skin", "signs": ["nodule"]}])
    assert "vitamin_d_25oh" not in ids(result.workup)


def test_calciphylaxis_work_up_has_no_xray_or_ultrasound() -> None:  # item 28
    result = run(**HAEMODIALYSIS_CALCIPHYLAXIS)
    assert not {"xray", "ultrasound"} & set(ids(result.workup))


def test_vascular_symptoms_follow_the_subtype() -> None:  # item 27
    result = run(findings=[{"site": "femoral arteries"}, {"site": "aortic valve"}])
    artery, valve = result.types
    assert not any("valves" in s for s in artery.symptoms)
    assert any("valves" in s for s in valve.symptoms)
    assert not any("arteries stiff" in s for s in valve.symptoms)


def test_check_marker_is_not_doubled() -> None:  # item 29
    result = run(genetics=[{"gene": "MGP", "zygosity": "homozygous"}],
                 findings=[{"site": "tracheal cartilage"}])
    notes = [n for s in result.syndromes for n in s.notes]
    assert notes and all(n.count("[check]") <= 1 for n in notes)


def test_one_abcc6_variant_asks_for_a_second_with_cnv() -> None:  # item 30
    result = run(labs=NORMAL_LABS,
                 genetics=[{"gene": "ABCC6", "zygosity": "heterozygous",
                            "classification": "pathogenic"}],
                 findings=[{"site": "lateral neck skin", "signs": ["yellow papules"]}])
    assert "second variant" in _item(result.workup, "genetic_testing").reason


def test_dialysis_vintage_over_five_years_is_a_calciphylaxis_risk_factor() -> None:  # item 15
    result = run(labs=NORMAL_LABS[:3], conditions=[{"text": "ESRD on HD for 7 years"}],
                 findings=[{"site": "femoral arteries"}])
    alert = next(a for a in result.alerts if a.id == "calciphylaxis_risk_factors")
    assert alert.severity == "warning" and "HD for 7 years" in alert.message
    short = run(labs=NORMAL_LABS[:3], conditions=[{"text": "ESRD on HD for 3 years"}],
                findings=[{"site": "femoral arteries"}])
    assert not any(a.id == "calciphylaxis_risk_factors" for a in short.alerts)


def test_secondary_hyperparathyroidism_note_cites_kdigo_and_flags_deficiency() -> None:
    result = run(patient={"age_years": 70, "sex": "female"},
                 labs=[lab("creatinine", 2.0, "mg/dL"), lab("calcium", 9.0, "mg/dL"),
                       lab("phosphate", 4.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("pth", 180, "pg/mL"), lab("vitamin_d_25oh", 14, "ng/mL")])
    (hpt,) = [s for s in result.syndromes if s.id == "hyperparathyroidism"]
    assert any("KDIGO 2017 CKD-MBD 4.2.1" in n and "secondary" in n for n in hpt.notes)
    assert any("vitamin D deficiency may contribute" in n for n in hpt.notes)  # items 16, 26
