"""Issue 20 kind 2: calcification expected for age or site (contract 1.1 ``physiological``).

Sites and ages per Daghighi 2007 (intracranial, CT of 1569 adults), Kwak 1988 (pineal and
choroid plexus under about 9 years are not physiological) and Mattsson 1980 (pelvic
phleboliths); "no cause found" is never a reason to biopsy.
"""

from __future__ import annotations

import pytest
from tests.reasoning.case_helpers import NORMAL_LABS, ids, lab, run

PALLIDAL = {"site": "punctate calcification of both globi pallidi", "modality": "ct",
            "signs": ["bilateral"]}
NORMAL_WITH_PTH = [*NORMAL_LABS, lab("pth", 45, "pg/mL")]


def test_pelvic_phleboliths_are_reassured_without_biopsy() -> None:
    result = run(patient={"age_years": 47, "sex": "female"},
                 findings=[{"site": "pelvic phleboliths", "modality": "ct"}])
    assert result.mechanism.primary == "physiological"
    assert ("physiological_calcification", "probable") in [
        (s.id, s.certainty) for s in result.syndromes]
    assert "reassurance" in ids(result.management)
    assert not {"biopsy", "ct", "genetic_testing"} & set(ids(result.workup))
    # a phlebolith is venous: no cardiovascular-risk treatment for it
    assert not {"bp_control", "lipid_control"} & set(ids(result.management))


def test_phleboliths_with_hypercalcaemia_are_not_reassured() -> None:
    result = run(labs=[lab("calcium", 11.8, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("phosphate", 3.0, "mg/dL"), lab("creatinine", 0.8, "mg/dL")],
                 findings=[{"site": "pelvic phleboliths", "modality": "ct"}])
    assert "physiological_calcification" not in ids(result.syndromes)
    assert "reassurance" not in ids(result.management)
    assert result.mechanism.primary != "physiological"


@pytest.mark.parametrize(("age", "physiological"), [(40, True), (5, False)])
def test_pineal_calcification_is_physiological_only_from_about_ten(age: float,
                                                                    physiological: bool) -> None:
    result = run(patient={"age_years": age, "sex": "male"}, labs=NORMAL_LABS,
                 findings=[{"site": "pineal gland", "modality": "ct"}])
    assert ("physiological_calcification" in ids(result.syndromes)) is physiological


def test_punctate_pallidal_calcification_at_76_is_not_pfbc() -> None:
    result = run(patient={"age_years": 76, "sex": "male"}, labs=NORMAL_WITH_PTH,
                 findings=[PALLIDAL])
    assert "pfbc" not in ids(result.syndromes)
    assert "genetic_testing" not in ids(result.workup)
    assert "reassurance" in ids(result.management)


def test_pallidal_calcification_at_65_without_pth_waits_for_the_labs() -> None:
    """Below 70, hypoparathyroidism must be excluded before calling it physiological."""
    result = run(patient={"age_years": 65, "sex": "male"}, labs=NORMAL_LABS,
                 findings=[PALLIDAL])
    assert ("physiological_calcification", "possible") in [
        (s.id, s.certainty) for s in result.syndromes]
    assert "pth" in ids(result.workup)
    assert "reassurance" not in ids(result.management)


def test_pallidal_calcification_at_76_with_normal_calcium_needs_no_pth() -> None:
    """Round 3 blind review (case 14): from 70, punctate pallidal calcification with a normal
    calcium is physiological (hypoparathyroidism lowers calcium): no PTH work-up."""
    result = run(patient={"age_years": 76, "sex": "male"}, labs=NORMAL_LABS,
                 findings=[PALLIDAL])
    assert ("physiological_calcification", "probable") in [
        (s.id, s.certainty) for s in result.syndromes]
    assert "pth" not in ids(result.workup)
    assert "reassurance" in ids(result.management)


def test_basal_ganglia_calcification_at_40_stays_pfbc() -> None:
    result = run(patient={"age_years": 40, "sex": "female"}, labs=NORMAL_WITH_PTH,
                 findings=[{"site": "bilateral globus pallidus and dentate nuclei",
                            "modality": "ct", "signs": ["bilateral"]}])
    assert "pfbc" in ids(result.syndromes)
    assert "physiological_calcification" not in ids(result.syndromes)


def test_venous_stasis_calcification_is_not_calciphylaxis() -> None:
    result = run(patient={"age_years": 71, "sex": "female"},
                 labs=[lab("calcium", 9.3, "mg/dL"), lab("phosphate", 3.5, "mg/dL"),
                       lab("creatinine", 0.9, "mg/dL")],
                 conditions=[{"text": "type 2 diabetes"}, {"text": "obesity"},
                             {"text": "lipodermatosclerosis of both lower legs"}],
                 findings=[{"site": "subcutaneous tissue of both lower legs", "type": "cutaneous",
                            "signs": ["induration"]}])
    assert "calciphylaxis" not in ids(result.syndromes)
    assert result.mechanism.primary == "dystrophic"
    assert "sodium_thiosulfate" not in ids(result.management)


def test_the_same_skin_picture_without_venous_disease_stays_possible_calciphylaxis() -> None:
    """The venous-stasis exclusion is specific: diabetes and obesity alone keep it possible."""
    result = run(patient={"age_years": 71, "sex": "female"},
                 labs=[lab("calcium", 9.3, "mg/dL"), lab("phosphate", 3.5, "mg/dL"),
                       lab("creatinine", 0.9, "mg/dL")],
                 conditions=[{"text": "type 2 diabetes"}, {"text": "obesity"}],
                 findings=[{"site": "subcutaneous tissue of both lower legs", "type": "cutaneous",
                            "signs": ["induration"]}])
    assert ("calciphylaxis", "possible") in [(s.id, s.certainty) for s in result.syndromes]


def test_no_cause_found_alone_is_no_reason_to_biopsy() -> None:
    """A skin deposit of unknown cause without a lesion to sample: no biopsy; with a nodule,
    the biopsy is proposed."""
    plain = run(labs=NORMAL_LABS, findings=[{"site": "left forearm subcutaneous tissue"}])
    nodule = run(labs=NORMAL_LABS, findings=[{"site": "left forearm subcutaneous tissue",
                                              "signs": ["nodule"]}])
    assert "biopsy" not in ids(plain.workup)
    assert "biopsy" in ids(nodule.workup)


def test_arterial_calcification_of_the_elderly_without_disproportion() -> None:
    """At 84 with no vascular risk factor, no CKD and normal minerals, femoral arterial
    calcification is expected for age (possible: cardiovascular risk is still assessed); with
    hypertension and smoking it is atherosclerotic (dystrophic, vignette 53)."""
    arteries = [{"site": "both femoral arteries", "type": "vascular", "modality": "xray"}]
    plain = run(patient={"age_years": 84, "sex": "female"}, labs=NORMAL_LABS, findings=arteries)
    risky = run(patient={"age_years": 84, "sex": "female"}, labs=NORMAL_LABS, findings=arteries,
                conditions=[{"text": "hypertension"}, {"text": "former smoker"}])
    assert plain.mechanism.primary == "physiological"
    assert ("physiological_calcification", "possible") in [
        (s.id, s.certainty) for s in plain.syndromes]
    assert "reassurance" not in ids(plain.management)  # only probable reassures
    assert "pth" not in ids(plain.workup)  # the PTH step is for brain calcification
    assert risky.mechanism.primary == "dystrophic"
    assert "physiological_calcification" not in ids(risky.syndromes)
