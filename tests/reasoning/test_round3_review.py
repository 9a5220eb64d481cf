"""Round 3 blind clinician review (issue 20): the reason texts name only the drugs present,
and the hypercalcaemia tiers and antiresorptive choice follow the corrected calcium."""
from __future__ import annotations

from pathlib import Path

import yaml
from tests.reasoning.case_helpers import lab, run

from ectocalc.model import Assessment

VIGNETTES = Path(__file__).resolve().parents[2] / "examples" / "vignettes"


def _assess(number: str) -> Assessment:
    path = next(VIGNETTES.glob(f"{number}-*.yaml"))
    return run(**yaml.safe_load(path.read_text(encoding="utf-8")))


def _reason(result: Assessment, item: str) -> str:
    return next(m.reason for m in result.management if m.id == item)


def test_lithium_without_thiazide_names_no_thiazide() -> None:
    result = _assess("141")
    text = " ".join(m.reason for m in result.management)
    assert "thiazide" not in text.lower()
    assert "psychiatrist" in _reason(result, "adjust_dose")


def test_thiazide_named_as_written_and_lithium_reviewed() -> None:
    result = _assess("142")
    assert "(bendroflumethiazide)" in _reason(result, "stop_offending_agent")
    assert "lithium" not in _reason(result, "stop_offending_agent").lower()


def test_moderate_hypercalcaemia_alert_matches_the_same_day_plan() -> None:
    result = _assess("134")  # corrected calcium 12.6 mg/dL, asymptomatic
    alert = next(a for a in result.alerts if a.id == "hypercalcemia")
    assert alert.severity == "critical" and "moderate" in alert.message
    assert next(m for m in result.management if m.id == "iv_fluids").urgency == "today"
    assert not any("Severe" in m.reason for m in result.management)


def test_cinacalcet_stopped_after_parathyroidectomy_names_the_drug() -> None:
    assert "(cinacalcet)" in _reason(_assess("146"), "stop_offending_agent")


def test_magnesium_replacement_names_the_wasting_drug() -> None:
    assert "furosemide" in _reason(_assess("147"), "magnesium_replacement")


def test_a_carrier_without_deposit_or_disease_has_no_cause_to_treat() -> None:
    """Round 3 blind review (case 38): the mother of a GACI infant, ENPP1 heterozygous, normal
    calcium and phosphate, no findings: no syndrome and nothing to treat."""
    result = run(patient={"age_years": 33, "sex": "female"},
                 labs=[lab("calcium", 2.35, "mmol/L"), lab("phosphate", 1.1, "mmol/L"),
                       lab("creatinine", 65, "umol/L")],
                 genetics=[{"gene": "ENPP1", "zygosity": "heterozygous",
                            "classification": "pathogenic"}],
                 conditions=[{"text": "mother of infant with GACI; obligate carrier"}])
    assert not result.syndromes
    assert "treat_underlying_cause" not in {m.id for m in result.management}
    assert "bisphosphonate" not in {m.id for m in result.management}

