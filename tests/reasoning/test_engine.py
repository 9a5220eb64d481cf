"""The engine end to end: mechanisms, types, work-up, management guards, alerts, evidence."""

from __future__ import annotations

import pytest
from case_helpers import NORMAL_LABS, ids, lab, run

from ectocalc.knowledge import load_knowledge
from ectocalc.model import Assessment, Case, Condition, Finding, PlanItem
from ectocalc.reasoning import reason

KB = load_knowledge()

CKD4 = {"age_years": 70, "sex": "female"}
CKD4_LABS = [lab("creatinine", 2.0, "mg/dL"), lab("calcium", 9.4, "mg/dL"),
             lab("albumin", 4.0, "g/dL"), lab("magnesium", 2.0, "mg/dL")]  # eGFR 26.4


def _plan(result: Assessment, item_id: str) -> PlanItem | None:
    return next((i for i in result.management if i.id == item_id), None)


# ------------------------------------------------------------------------------- mechanisms


@pytest.mark.parametrize(("document", "primary"), [
    ({"labs": [lab("calcium", 12.4, "mg/dL"), lab("albumin", 4.0, "g/dL"),
               lab("phosphate", 3.0, "mg/dL"), lab("creatinine", 0.8, "mg/dL")],
      "findings": [{"site": "lung"}]}, "metastatic"),
    ({"labs": NORMAL_LABS, "conditions": [{"text": "burns to the thigh 2019"}],
      "findings": [{"site": "thigh soft tissue"}]}, "dystrophic"),
    ({"labs": NORMAL_LABS, "genetics": [{"gene": "ABCC6", "zygosity": "biallelic"}],
      "findings": [{"site": "neck skin", "signs": ["yellow papules"]}]}, "inherited"),
    ({"labs": NORMAL_LABS, "conditions": [{"text": "extravasation of IV calcium gluconate"}],
      "findings": [{"site": "skin of the forearm"}]}, "iatrogenic"),
    ({"labs": NORMAL_LABS, "conditions": [{"text": "ESRD on HD"}],
      "medications": [{"text": "Coumadin"}],
      "findings": [{"site": "skin of thighs", "pain": "severe",
                    "signs": ["retiform_purpura", "necrosis"]}]}, "calciphylaxis"),
    ({"labs": NORMAL_LABS, "findings": [{"site": "scrotum", "signs": ["nodules"]}]},
     "idiopathic"),
])
def test_primary_mechanism(document: dict, primary: str) -> None:
    result = run(**document)
    assert result.mechanism.primary == primary
    top = result.mechanism.differential[0]
    assert top.id == primary and top.evidence and top.sources


def test_missing_labs_lower_confidence_and_say_so() -> None:
    complete = run(labs=NORMAL_LABS, conditions=[{"text": "burn"}],
                   findings=[{"site": "thigh soft tissue"}])
    missing = run(conditions=[{"text": "burn"}], findings=[{"site": "thigh soft tissue"}])
    assert complete.mechanism.confidence == "high"
    assert missing.mechanism.confidence == "low"
    assert any("calcium, phosphate, kidney function" in n for n in missing.mechanism.notes)
    assert {"serum_calcium", "serum_phosphate", "serum_magnesium", "kidney_function"} <= set(
        ids(missing.workup))


# ----------------------------------------------------------------------------------- types


@pytest.mark.parametrize(("site", "signs", "expected"), [
    ("left femoral artery", [], "vascular"),
    ("aortic valve", [], "vascular"),
    ("right shoulder, supraspinatus tendon", [], "periarticular"),
    ("subcutaneous tissue over the elbow", [], "cutaneous"),
    ("both thighs", ["livedo"], "cutaneous"),
    ("bilateral basal ganglia", [], "visceral"),
    ("kidneys", [], "visceral"),
    ("quadriceps muscle", [], "soft_tissue"),
    ("somewhere unusual", [], "soft_tissue"),
])
def test_type_from_site(site: str, signs: list[str], expected: str) -> None:
    result = reason(Case(findings=[Finding(site=site, signs=signs)]), knowledge=KB)
    (item,) = result.types
    assert item.id == expected and item.symptoms and item.source
    assert item.evidence[0].endswith(expected)


def test_stated_type_wins() -> None:
    (item,) = reason(Case(findings=[Finding(site="knee", type="soft_tissue")]), knowledge=KB).types
    assert item.id == "soft_tissue"


def test_seed_symptoms_of_a_type() -> None:
    case = Case(findings=[Finding(site="hip joint", pain="moderate")])
    (item,) = reason(case, knowledge=KB).types
    assert "stiffness" in item.symptoms
    assert "findings[0] 'hip joint': pain moderate" in item.evidence


# ------------------------------------------------------------------------------ management


def test_never_a_binder_with_normal_phosphate() -> None:
    result = run(patient=CKD4, labs=[*CKD4_LABS, lab("phosphate", 4.1, "mg/dL")],
                 findings=[{"site": "abdominal aorta"}])
    assert "phosphate_binder" not in ids(result.management)
    assert "dietary_phosphate_restriction" not in ids(result.management)


def test_never_a_binder_without_a_phosphate() -> None:
    result = run(patient=CKD4, labs=CKD4_LABS, findings=[{"site": "abdominal aorta"}])
    assert "phosphate_binder" not in ids(result.management)
    assert "serum_phosphate" in ids(result.workup)


def test_binder_for_high_phosphate_in_ckd_with_trend_caution() -> None:
    # One eGFR of 26 with no kidney history is not established CKD: no binder yet (issue 9).
    unproven = run(patient=CKD4, labs=[*CKD4_LABS, lab("phosphate", 6.2, "mg/dL")],
                   findings=[{"site": "abdominal aorta"}])
    assert _plan(unproven, "phosphate_binder") is None
    single = run(patient=CKD4, labs=[*CKD4_LABS, lab("phosphate", 6.2, "mg/dL")],
                 conditions=[{"text": "CKD stage 4"}], findings=[{"site": "abdominal aorta"}])
    binder = _plan(single, "phosphate_binder")
    assert binder is not None and binder.source == "KDIGO 2017 CKD-MBD 4.1.5"
    assert any("persistent or progressive" in c for c in binder.cautions)
    assert {"dietary_phosphate_restriction", "limit_calcium_based_binders"} <= set(
        ids(single.management))
    persistent = run(patient=CKD4, labs=[*CKD4_LABS,
                                         lab("phosphate", 5.9, "mg/dL", date="2026-01-01"),
                                         lab("phosphate", 6.2, "mg/dL", date="2026-04-01")],
                     conditions=[{"text": "CKD stage 4"}], findings=[{"site": "abdominal aorta"}])
    assert _plan(persistent, "phosphate_binder").cautions == []


def test_bisphosphonate_caution_at_low_egfr() -> None:
    pxe = {"genetics": [{"gene": "ABCC6", "zygosity": "biallelic"}],
           "findings": [{"site": "neck skin", "signs": ["yellow papules"]}]}
    normal = run(labs=NORMAL_LABS, **pxe)
    assert _plan(normal, "bisphosphonate").cautions == []
    low = run(patient=CKD4, labs=[*CKD4_LABS, lab("phosphate", 4.0, "mg/dL")], **pxe)
    item = _plan(low, "bisphosphonate")
    assert item is not None and any("creatinine clearance" in c for c in item.cautions)
    assert item.certainty.startswith("one randomised trial")


def test_nsaid_blocked_in_advanced_ckd() -> None:
    tendon = {"findings": [{"site": "shoulder tendon", "size_mm": 8, "pain": "moderate"}]}
    assert "nsaid" in ids(run(labs=NORMAL_LABS, **tendon).management)
    assert "nsaid" not in ids(run(patient=CKD4, labs=[*CKD4_LABS, lab("phosphate", 4.0, "mg/dL")],
                                  **tendon).management)


def test_surgical_excision_only_when_the_seed_criteria_are_met() -> None:
    def excision(**finding: object) -> bool:
        result = run(labs=NORMAL_LABS, conditions=[{"text": "dermatomyositis"}],
                     findings=[{"site": "elbow, subcutaneous", "signs": ["nodule"], **finding}])
        return "surgical_excision" in ids(result.management)

    assert not excision(size_mm=8, pain="mild")
    assert excision(size_mm=25)
    assert excision(pain="severe")
    assert excision(functional_limitation=True)
    assert excision(ulcerated=True)


def test_no_excision_of_vascular_calcification() -> None:
    result = run(labs=NORMAL_LABS, findings=[{"site": "femoral artery", "size_mm": 40,
                                              "pain": "severe"}])
    assert "surgical_excision" not in ids(result.management)


def test_calciphylaxis_plan() -> None:
    result = run(labs=[*NORMAL_LABS[:1], lab("phosphate", 6.5, "mg/dL"), *NORMAL_LABS[2:]],
                 conditions=[{"text": "ESRD on HD"}],
                 medications=[{"text": "warfarin"}, {"text": "calcium carbonate"}],
                 findings=[{"site": "thigh skin", "pain": "severe", "ulcerated": True,
                            "signs": ["livedo", "necrosis"]}])
    management = ids(result.management)
    for item in ("sodium_thiosulfate", "stop_offending_agent", "wound_care",
                 "dialysis_intensification", "limit_calcium_based_binders"):
        assert item in management
    assert "surgical_excision" not in management
    sts = _plan(result, "sodium_thiosulfate")
    assert sts.certainty == "off-label; observational evidence only, no randomised trial"


# ----------------------------------------------------------------------------------- alerts


def test_alerts() -> None:
    result = run(labs=[lab("calcium", 11.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("phosphate", 7.0, "mg/dL"), lab("pth", 1200, "pg/mL")],
                 conditions=[{"text": "ESRD on HD"}], medications=[{"text": "calcitriol"}],
                 findings=[{"site": "femoral arteries"}])
    alerts = {a.id: a for a in result.alerts}
    assert alerts["hypercalcemia"].severity == "warning"
    assert alerts["hyperphosphatemia"].severity == "warning"
    assert "77" in alerts["calcium_phosphate_product_high"].message
    assert "calcitriol" in alerts["calciphylaxis_risk_factors"].message


def test_no_alerts_for_normal_labs() -> None:
    result = run(labs=NORMAL_LABS, findings=[{"site": "knee"}])
    reasoning_alerts = {"hypercalcemia", "hypocalcemia", "hyperphosphatemia",
                        "calcium_phosphate_product_high", "calciphylaxis_suspected",
                        "calciphylaxis_risk_factors", "vitamin_d_toxic_level"}
    assert not reasoning_alerts & set(ids(result.alerts))


# ---------------------------------------------------------------------- sources, evidence


def test_every_item_cites_a_readable_source() -> None:
    result = run(patient=CKD4, labs=[*CKD4_LABS, lab("phosphate", 6.2, "mg/dL")],
                 conditions=[{"text": "T2DM"}], findings=[{"site": "abdominal aorta"}])
    for item in [*result.workup, *result.management]:
        assert item.source and not item.source.startswith(("kdigo_", "seed_")), item
        assert item.reason and item.evidence, item
    assert any(s.source == "KDIGO 2017 CKD-MBD" for s in result.syndromes)


def test_output_is_deterministic() -> None:
    case = Case(conditions=[Condition(text="ESRD on HD"), Condition(text="T2DM")],
                findings=[Finding(site="skin of thighs", signs=["livedo"], pain="severe")])
    assert reason(case, knowledge=KB) == reason(case, knowledge=KB)
