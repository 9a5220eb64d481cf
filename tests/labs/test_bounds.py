"""A result given as a bound ("< 3", "> 2000") is flagged only when every value it allows
earns the same flag; equations computed from a bound say which way the truth lies."""

from __future__ import annotations

from typing import Any

import pytest

from ectocalc.io.case_file import case_from_mapping
from ectocalc.labs.catalogue import flag_value
from ectocalc.service import assess_case


@pytest.mark.parametrize(("comparator", "value", "flag"), [
    ("<", 3.0, "low"), ("<", 10.0, "low"), ("<=", 10.0, None), ("<", 40.0, None),
    ("<", 100.0, None), (">", 65.0, "high"), (">=", 65.0, None), (">", 70.0, "high"),
    (">", 30.0, None), (None, 100.0, "high")])
def test_a_bound_is_flagged_only_when_its_side_is_one_flag(comparator: str | None,
                                                           value: float,
                                                           flag: str | None) -> None:
    assert flag_value(value, (10.0, 65.0), None, comparator=comparator) == flag


def test_below_a_lower_limit_of_zero_is_normal() -> None:
    assert flag_value(0.2, (0.0, 5.0), None, comparator="<") == "normal"


def test_a_bound_beyond_a_critical_limit_is_critical() -> None:
    assert flag_value(5.0, (8.6, 10.2), (6.0, 13.0), comparator="<") == "critical_low"
    assert flag_value(14.0, (8.6, 10.2), (6.0, 13.0), comparator=">") == "critical_high"


def _assess(labs: list[dict[str, Any]]) -> Any:
    document = {"patient": {"age_years": 50, "sex": "female"}, "labs": labs}
    return assess_case(case_from_mapping(document, source="t.yaml"), scans=())


def test_an_indeterminate_bound_raises_no_high_or_low_rule() -> None:
    a = _assess([{"analyte": "pth", "value": 100, "unit": "pg/mL", "comparator": "<"}])
    (pth,) = a.labs
    assert pth.flag is None and pth.reference_range == (10.0, 65.0)
    assert pth.flag_shown == "indeterminate"
    assert "hyperparathyroidism" not in {s.id for s in a.syndromes}


def test_egfr_from_a_creatinine_bound_says_the_truth_is_higher() -> None:
    a = _assess([{"analyte": "creatinine", "value": 0.5, "unit": "mg/dL", "comparator": "<"}])
    assert any("true eGFR is higher" in note for note in a.derived.notes)
