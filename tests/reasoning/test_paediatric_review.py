"""Faults a blind paediatric review found (docs/clinical-review.md, part 2), one test per kind."""

from __future__ import annotations

from typing import Any

import pytest

from ectocalc.errors import InputError
from ectocalc.io.case_file import case_from_mapping
from ectocalc.model import Assessment
from ectocalc.model.display import age_words
from ectocalc.render.patient import patient_text
from ectocalc.service import assess_case


def _assess(**document: Any) -> Assessment:
    return assess_case(case_from_mapping(document, source="t.yaml"), scans=())


def _ids(items: Any) -> set[str]:
    return {x.id for x in items}


@pytest.mark.parametrize("patient", [
    {"age_years": 0.04, "sex": "male"},       # a neonate's own gestational age at birth
    {"age_years": 15, "sex": "male"},         # a man (or boy) is never read as pregnant
    {"age_years": 8, "sex": "female"},        # a girl under 10: her own birth
])
def test_a_gestational_age_at_birth_is_not_a_pregnancy(patient: dict[str, Any]) -> None:
    a = _assess(patient=patient,
                conditions=[{"text": "born at 26 weeks gestation"}])
    assert "pregnancy" not in _ids(a.alerts)
    assert any("not read as Pregnancy" in line for line in a.skipped_inputs)
    assert "pregnant" not in patient_text(a).lower()


def test_a_woman_stating_her_gestation_is_still_pregnant() -> None:
    a = _assess(patient={"age_years": 31, "sex": "female"},
                conditions=[{"text": "pregnant, 28 weeks gestation"}])
    assert "pregnancy" in _ids(a.alerts)
    assert a.skipped_inputs == []


def test_pregnant_and_male_is_refused() -> None:
    with pytest.raises(InputError, match="pregnant is true but sex is male"):
        _assess(patient={"age_years": 30, "sex": "male", "pregnant": True})


def test_cac_drs_and_its_statin_suggestion_are_for_adults() -> None:
    finding = {"site": "coronary arteries", "modality": "ct", "agatston": 150, "vessels": 2}
    child = _assess(patient={"age_years": 16, "sex": "female"}, findings=[finding])
    assert child.scales.cac_drs is not None
    assert child.scales.cac_drs.status == "not_computed"
    assert child.scales.cac_drs.suggestion is None
    assert "for adults" in (child.scales.cac_drs.not_computed or "")
    adult = _assess(patient={"age_years": 56, "sex": "female"}, findings=[finding])
    assert adult.scales.cac_drs is not None and adult.scales.cac_drs.category == "A2"


def test_no_schwartz_egfr_under_one_year() -> None:
    infant = _assess(patient={"age_years": 0.5, "sex": "male", "height_cm": 67},
                     labs=[{"analyte": "creatinine", "value": 0.25, "unit": "mg/dL"}])
    assert infant.derived.egfr_ml_min_1_73m2 is None
    assert any("6 months old" in n and "aged 1 to 16" in n for n in infant.derived.notes)
    toddler = _assess(patient={"age_years": 1.5, "sex": "male", "height_cm": 80},
                      labs=[{"analyte": "creatinine", "value": 0.25, "unit": "mg/dL"}])
    assert toddler.derived.egfr_ml_min_1_73m2 == pytest.approx(0.413 * 80 / 0.25)


def test_no_atherosclerotic_signal_in_an_infant_with_arterial_calcification() -> None:
    a = _assess(patient={"age_years": 0.25, "sex": "male"},
                conditions=[{"text": "hypertension"}],
                genetics=[{"gene": "ENPP1", "zygosity": "homozygous",
                           "classification": "pathogenic"}],
                findings=[{"site": "abdominal aorta", "type": "vascular", "modality": "ct"}])
    evidence = [e for m in a.mechanism.differential for e in m.evidence]
    assert not any("atherosclerotic" in e for e in evidence)
    assert a.mechanism.primary == "inherited"


def test_a_child_gets_no_smoking_or_alcohol_advice() -> None:
    a = _assess(patient={"age_years": 7, "sex": "male"},
                conditions=[{"text": "crush injury of the right index finger"}],
                findings=[{"site": "right index finger soft tissue", "type": "soft_tissue",
                           "modality": "xray"}])
    lifestyle = next(m for m in a.management if m.id == "lifestyle_modification")
    assert "smoking" not in lifestyle.reason and "alcohol" not in lifestyle.reason
    text = patient_text(a)
    assert "an active life and a balanced diet" in text
    assert "smoking" not in text and "alcohol" not in text


def test_a_value_without_a_reference_interval_is_not_called_normal() -> None:
    a = _assess(patient={"age_years": 0.25, "sex": "male"},
                labs=[{"analyte": "plasma_ppi", "value": 0.3, "unit": "umol/L"}])
    (ppi,) = [lab for lab in a.labs if lab.analyte == "plasma_ppi"]
    assert ppi.flag is None and ppi.reference_range is None
    assert ppi.flag_shown == "no interval"


def test_urine_calcium_is_accepted() -> None:
    a = _assess(patient={"age_years": 6, "sex": "female"},
                labs=[{"analyte": "urine_calcium", "value": 2.0, "unit": "mmol/L"}])
    (urine,) = a.labs
    assert (urine.analyte, urine.canonical_value, urine.flag) == ("urine_calcium",
                                                                  pytest.approx(8.016), None)


def test_a_risk_only_summary_does_not_speak_of_a_cause() -> None:
    a = _assess(patient={"age_years": 0.3, "sex": "female"},
                labs=[{"analyte": "phosphate", "value": 6.9, "unit": "mg/dL"}])
    text = patient_text(a)
    assert "Nothing in these results points to a raised risk" in text
    assert "No cause has been found" not in text


@pytest.mark.parametrize(("age", "words"), [
    (1 / 365.2425, "1 day"), (13 / 365.2425, "13 days"), (0.99, "11 months"),
    (1.99, "23 months"), (2.0, "2 years"), (17.5, "17.5 years")])
def test_ages_read_as_a_clinician_says_them(age: float, words: str) -> None:
    assert age_words(age) == words
