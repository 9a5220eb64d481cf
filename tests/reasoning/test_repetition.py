"""Rules do not fire on one value or repeat what is done (issue 20, item 8)."""

from __future__ import annotations

from datetime import date

import pytest
from tests.reasoning.case_helpers import ids, lab, run

from ectocalc.knowledge import load_knowledge
from ectocalc.model import Case, Derived, LabResult
from ectocalc.reasoning import build_facts, evaluate

KB = load_knowledge()


def _phosphate(value: float, when: date | None) -> LabResult:
    return LabResult(analyte="phosphate", value=value, unit="mg/dL", canonical_value=value,
                     canonical_unit="mg/dL", date=when)


@pytest.mark.parametrize(("dates", "persistent"), [
    ((date(2026, 1, 1), date(2026, 2, 15)), True),    # 45 days apart
    ((date(2026, 1, 1), date(2026, 1, 8)), False),    # a week: no persistence shown
    ((None, None), False),                            # undated: the span cannot be shown
])
def test_persistent_needs_values_spanning_the_interval(
        dates: tuple[date | None, date | None], persistent: bool) -> None:
    assert KB.definitions.persistent.min_span_days == 28
    case = Case(labs=[_phosphate(5.4, dates[0]), _phosphate(5.9, dates[1])])
    facts = build_facts(case=case, labs=[], derived=Derived(egfr_ml_min_1_73m2=40.0),
                        mentions=[], knowledge=KB)
    match = evaluate({"persistent_high.phosphate": True}, facts)
    assert match.ok is persistent
    if not persistent:
        assert "not 28 days apart" in evaluate({"persistent_high.phosphate": False},
                                               facts).evidence[0]


HD = [{"text": "ESKD on HD MWF since 2015"}]


def test_dialysis_is_intensified_only_for_persistent_hyperphosphataemia() -> None:
    one = run(labs=[lab("phosphate", 6.8, "mg/dL"), lab("calcium", 9.0, "mg/dL")],
              conditions=HD, findings=[{"site": "femoral arteries", "modality": "xray"}])
    assert "dialysis_intensification" not in ids(one.management)
    two = run(labs=[lab("phosphate", 6.5, "mg/dL", date="2026-01-05"),
                    lab("phosphate", 6.8, "mg/dL", date="2026-03-02"),
                    lab("calcium", 9.0, "mg/dL", date="2026-03-02")],
              conditions=HD, findings=[{"site": "femoral arteries", "modality": "xray"}])
    assert "dialysis_intensification" in ids(two.management)


@pytest.mark.parametrize(("site", "imaging"), [
    ("left shoulder, periarticular deposit", {"xray", "ultrasound", "ct"}),
    ("both kidneys, medullary nephrocalcinosis", {"ct"}),
    ("thigh, soft tissue", {"xray", "ct"}),
])
@pytest.mark.parametrize("modality", ["xray", "ct", "ultrasound"])
def test_a_finding_already_imaged_is_not_imaged_again(site: str, imaging: set[str],
                                                      modality: str) -> None:
    result = run(labs=[lab("calcium", 9.5, "mg/dL"), lab("phosphate", 3.5, "mg/dL"),
                       lab("creatinine", 0.8, "mg/dL")],
                 findings=[{"site": site, "modality": modality}])
    proposed = set(ids(result.workup)) & imaging
    # The one exception: a kidney seen only on a plain film gets the renal ultrasound that
    # confirms nephrocalcinosis (KUB is insensitive).
    allowed = {"ultrasound"} if "kidney" in site and modality == "xray" else set()
    assert proposed <= allowed


def test_an_examined_finding_is_still_imaged() -> None:
    result = run(labs=[lab("calcium", 9.5, "mg/dL"), lab("phosphate", 3.5, "mg/dL"),
                       lab("creatinine", 0.8, "mg/dL")],
                 findings=[{"site": "left shoulder, periarticular deposit", "modality": "exam"}])
    assert {"xray", "ultrasound"} <= set(ids(result.workup))


URINE_TESTS = {"urine_calcium_24h", "urine_calcium_creatinine_ratio",
               "calcium_creatinine_clearance_ratio", "urine_ph"}


def test_no_urine_tests_in_an_anuric_dialysis_patient() -> None:
    # Nephrocalcinosis on dialysis proposes a spot urine calcium/creatinine ratio: only with urine.
    labs = [lab("calcium", 9.4, "mg/dL"), lab("phosphate", 5.0, "mg/dL"),
            lab("pth", 250, "pg/mL")]
    findings = [{"site": "both kidneys, nephrocalcinosis", "modality": "ultrasound"}]
    anuric = run(labs=labs, conditions=[{"text": "ESKD on HD, anuric"}], findings=findings)
    assert not set(ids(anuric.workup)) & URINE_TESTS
    said = [a.message for a in anuric.alerts] + [
        w for item in anuric.workup for w in item.withheld]
    assert any("Anuric on dialysis" in m for m in said)
    # With residual urine the test is proposed, with the caution that says so.
    residual = run(labs=labs, conditions=[{"text": "ESKD on HD, passes 400 mL urine a day"}],
                   findings=findings)
    item = next(w for w in residual.workup if w.id == "urine_calcium_creatinine_ratio")
    assert any("residual urine output" in c for c in item.cautions)


def test_urine_calcium_tests_in_pregnancy_say_they_mislead() -> None:
    result = run(patient={"age_years": 31, "sex": "female"},
                 labs=[lab("calcium", 10.9, "mg/dL"), lab("albumin", 3.6, "g/dL"),
                       lab("pth", 60, "pg/mL"), lab("phosphate", 3.0, "mg/dL"),
                       lab("creatinine", 0.5, "mg/dL")],
                 conditions=[{"text": "pregnant, 22 weeks gestation"}],
                 findings=[{"site": "left kidney, stone", "modality": "ultrasound"}])
    items = {w.id: w for w in result.workup}
    for test in ("urine_calcium_24h", "calcium_creatinine_clearance_ratio"):
        assert any("Pregnancy" in c for c in items[test].cautions), test
