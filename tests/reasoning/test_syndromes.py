"""Syndromes by their criteria: PXE (Plomp 2010), Bosworth size classes, calciphylaxis, others."""

from __future__ import annotations

from typing import Any

import pytest
from case_helpers import NORMAL_LABS, lab, run

from ectocalc.model import Assessment

NECK_PAPULES = {"site": "lateral neck skin", "signs": ["yellow_papules"], "modality": "exam"}
BIOPSY = {"site": "neck skin biopsy", "signs": ["fragmented calcified elastic fibres"]}
PEAU = {"site": "retina", "signs": ["peau_d_orange"], "modality": "exam"}
STREAKS = {"site": "retina", "signs": ["angioid_streaks"], "modality": "exam"}
SHORT_STREAK = {"site": "retina", "signs": ["angioid streak < 1 disc diameter"]}
COMETS = {"site": "retina", "signs": ["comets"]}
BIALLELIC = {"gene": "ABCC6", "zygosity": "compound_heterozygous"}
ONE_VARIANT = {"gene": "ABCC6", "zygosity": "heterozygous"}


def _syndromes(result: Assessment) -> dict[str, str]:
    return {s.id: s.certainty for s in result.syndromes}


@pytest.mark.parametrize(("findings", "genetics", "certainty"), [
    ([NECK_PAPULES], [BIALLELIC], "definitive"),          # skin + genetics
    ([PEAU, BIOPSY], [], "definitive"),                    # eye + skin
    ([PEAU, STREAKS], [], "probable"),                     # 2 major eye
    ([NECK_PAPULES, BIOPSY], [], "probable"),              # 2 major skin
    ([NECK_PAPULES, COMETS], [], "probable"),              # major skin + minor eye
    ([STREAKS], [ONE_VARIANT], "probable"),                # major eye + minor genetics
    ([STREAKS, COMETS], [], "possible"),                   # major + minor of the same category
    ([STREAKS], [], "possible"),                           # 1 major
    ([SHORT_STREAK], [], "possible"),                      # 1 minor
    ([], [ONE_VARIANT], "possible"),                       # 1 minor (genetics)
    ([], [BIALLELIC], "possible"),                         # 1 major (genetics)
])
def test_pxe_plomp_2010(findings: list[dict[str, Any]],
                        genetics: list[dict[str, Any]], certainty: str) -> None:
    result = run(labs=NORMAL_LABS, findings=findings or [{"site": "femoral artery"}],
                 genetics=genetics)
    assert _syndromes(result)["pxe"] == certainty


def test_no_pxe_without_criteria() -> None:
    result = run(labs=NORMAL_LABS, findings=[{"site": "lateral neck skin", "signs": ["nodule"]}])
    assert "pxe" not in _syndromes(result)


def test_short_angioid_streak_is_not_major() -> None:
    result = run(labs=NORMAL_LABS, findings=[SHORT_STREAK])
    (pxe,) = [s for s in result.syndromes if s.id == "pxe"]
    assert [c.split(":")[0] for c in pxe.criteria] == [
        "minor (eye)"]


@pytest.mark.parametrize(("size", "label"), [(3, "small"), (4.9, "small"), (5, "medium"),
                                             (15, "medium"), (15.1, "large"), (30, "large")])
def test_bosworth_size_class(size: float, label: str) -> None:
    result = run(labs=NORMAL_LABS, findings=[{"site": "left shoulder, supraspinatus tendon",
                                              "size_mm": size, "pain": "mild"}])
    (tendinitis,) = [s for s in result.syndromes if s.id == "calcific_tendinitis"]
    classes = [c for c in tendinitis.criteria if c.startswith("Bosworth")]
    assert len(classes) == 1 and f"class {label}" in classes[0]
    assert tendinitis.certainty == "probable"
    assert result.mechanism.primary == "idiopathic"


CALCIPHYLAXIS_SKIN = {"site": "skin of both thighs", "pain": "severe",
                      "signs": ["livedo", "retiform purpura"]}


def test_calciphylaxis_levels() -> None:
    uraemic = run(labs=NORMAL_LABS, conditions=[{"text": "ESRD on HD"}],
                  findings=[CALCIPHYLAXIS_SKIN])
    assert _syndromes(uraemic)["calciphylaxis"] == "probable"
    proven = run(labs=NORMAL_LABS, conditions=[{"text": "ESRD on HD"}],
                 findings=[{**CALCIPHYLAXIS_SKIN,
                            "signs": ["livedo", "arteriolar calcification on biopsy"]}])
    assert _syndromes(proven)["calciphylaxis"] == "definitive"
    no_risk = run(labs=NORMAL_LABS, findings=[CALCIPHYLAXIS_SKIN])
    assert "calciphylaxis" not in _syndromes(no_risk)


def test_hyperparathyroidism_and_ckd_mbd() -> None:
    primary = run(labs=[lab("calcium", 11.5, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                        lab("pth", 120, "pg/mL"), lab("phosphate", 2.4, "mg/dL"),
                        lab("creatinine", 0.8, "mg/dL")],
                  findings=[{"site": "both kidneys, medulla"}])
    assert _syndromes(primary) == {"hyperparathyroidism": "definitive"}
    renal = run(patient={"age_years": 70, "sex": "female"},
                labs=[lab("calcium", 9.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                      lab("pth", 300, "pg/mL"), lab("phosphate", 5.5, "mg/dL"),
                      lab("creatinine", 2.5, "mg/dL")],
                findings=[{"site": "abdominal aorta"}])
    # One eGFR does not establish CKD (KDIGO 2012: > 3 months): CKD-MBD only possible.
    assert _syndromes(renal) == {"hyperparathyroidism": "probable", "ckd_mbd": "possible"}
    stated = run(patient={"age_years": 70, "sex": "female"},
                 labs=[lab("calcium", 9.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                       lab("pth", 300, "pg/mL"), lab("phosphate", 5.5, "mg/dL"),
                       lab("creatinine", 2.5, "mg/dL")],
                 conditions=[{"text": "chronic kidney disease"}],
                 findings=[{"site": "abdominal aorta"}])
    assert _syndromes(stated) == {"hyperparathyroidism": "probable", "ckd_mbd": "definitive"}


def test_inherited_syndromes_by_genotype() -> None:
    cases = {
        "acdc": ({"gene": "NT5E", "zygosity": "homozygous"}, "popliteal artery"),
        "keutel": ({"gene": "MGP", "zygosity": "homozygous"}, "tracheal cartilage"),
        "pfbc": ({"gene": "SLC20A2", "zygosity": "heterozygous"}, "bilateral basal ganglia"),
        "hftc": ({"gene": "FGF23", "zygosity": "homozygous"}, "right hip periarticular mass"),
    }
    for syndrome, (gene, site) in cases.items():
        labs = [*NORMAL_LABS[:1], lab("phosphate", 6.5, "mg/dL"), *NORMAL_LABS[2:]] if (
            syndrome == "hftc") else NORMAL_LABS
        result = run(labs=labs, genetics=[gene], findings=[{"site": site}])
        assert _syndromes(result).get(syndrome) == "definitive", syndrome
        assert result.mechanism.primary == "inherited", syndrome


def test_gaci_in_an_infant() -> None:
    result = run(patient={"age_years": 0.3, "sex": "male"},
                 genetics=[{"gene": "ENPP1", "zygosity": "biallelic"}],
                 findings=[{"site": "aorta and coronary arteries"}])
    assert _syndromes(result)["gaci"] == "definitive"


def test_milk_alkali_and_vitamin_d_toxicity() -> None:
    milk = run(labs=[lab("calcium", 13.0, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                     lab("bicarbonate", 34, "mmol/L"), lab("pth", 8, "pg/mL"),
                     lab("phosphate", 3.5, "mg/dL")],
               medications=[{"text": "calcium carbonate 3 g daily"}],
               findings=[{"site": "kidney"}])
    assert _syndromes(milk)["milk_alkali"] in ("probable", "definitive")
    vitamin = run(labs=[lab("calcium", 12.5, "mg/dL"), lab("albumin", 4.0, "g/dL"),
                        lab("vitamin_d_25oh", 210, "ng/mL"), lab("pth", 9, "pg/mL")],
                  medications=[{"text": "vitamin D3 50,000 IU daily"}],
                  findings=[{"site": "knee periarticular"}])
    assert _syndromes(vitamin)["vitamin_d_toxicity"] == "definitive"
    assert "milk_alkali" not in _syndromes(vitamin)


def test_connective_tissue_disease_calcinosis() -> None:
    known = run(labs=NORMAL_LABS, conditions=[{"text": "JDM"}],
                findings=[{"site": "elbow, subcutaneous", "signs": ["nodule"]}])
    assert _syndromes(known)["connective_tissue_disease_calcinosis"] == "definitive"
    suspected = run(labs=NORMAL_LABS, conditions=[{"text": "suspected CREST"}],
                    findings=[{"site": "fingertip", "signs": ["nodule"]}])
    assert _syndromes(suspected)["connective_tissue_disease_calcinosis"] == "probable"
