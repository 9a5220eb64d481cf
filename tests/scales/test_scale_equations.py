"""The scales as pure functions: published check values, category boundaries, refused inputs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ectocalc.scales import (
    adragao_score,
    aortic_valve_severity,
    cac_drs_category,
    cac_drs_label,
    kauppila_score,
    mesa_chd_risk,
)

CHECK = dict(age_years=70, sex="male", race_ethnicity="hispanic", total_cholesterol_mg_dl=190,
             hdl_cholesterol_mg_dl=50, systolic_bp_mmhg=130, bp_drug=True)
"""The CVrisk package's test case (tests/testthat/test-chd_10y_mesa*.R)."""


def test_mesa_check_values() -> None:
    assert round(mesa_chd_risk(**CHECK, cac_agatston=0), 2) == 3.06
    assert round(mesa_chd_risk(**CHECK, cac_agatston=100), 2) == 10.43
    assert round(mesa_chd_risk(**CHECK), 2) == 8.61


# McClelland 2015 Table 2, typed here independently of scales.yaml so that a swapped or mistyped
# coefficient there fails: order age, male, chinese, black, hispanic, diabetes, smoker, TC, HDL,
# lipid drug, SBP, BP drug, family history, ln(CAC+1).
_WITH = (0.99833, [0.0172, 0.4079, -0.3475, 0.0353, -0.0222, 0.3892, 0.3717, 0.0043, -0.0114,
                   0.1206, 0.0066, 0.2278, 0.3239, 0.2743])
_WITHOUT = (0.99963, [0.0455, 0.7496, -0.5055, -0.2111, -0.1900, 0.5168, 0.4732, 0.0053, -0.0140,
                      0.2473, 0.0085, 0.3381, 0.4522])
_PERSON = dict(age_years=58, sex="female", total_cholesterol_mg_dl=215,
               hdl_cholesterol_mg_dl=47, systolic_bp_mmhg=142, diabetes=True, current_smoker=False,
               lipid_lowering_drug=True, bp_drug=False, family_history_mi=True)


def _reference(race: str, cac: float | None) -> float:
    s0, beta = _WITHOUT if cac is None else _WITH
    p = _PERSON
    x = [p["age_years"], 0, race == "chinese", race == "black", race == "hispanic", 1, 0,
         p["total_cholesterol_mg_dl"], p["hdl_cholesterol_mg_dl"], 1, p["systolic_bp_mmhg"], 0, 1]
    if cac is not None:
        x.append(math.log(cac + 1))
    return 100 * (1 - s0 ** math.exp(sum(b * float(v) for b, v in zip(beta, x, strict=True))))


@pytest.mark.parametrize("race", ["white", "chinese", "black", "hispanic"])
@pytest.mark.parametrize("cac", [None, 0.0, 35.0, 420.0])
def test_mesa_each_race_row(race: str, cac: float | None) -> None:
    got = mesa_chd_risk(**_PERSON, race_ethnicity=race, cac_agatston=cac)
    assert got == pytest.approx(_reference(race, cac), rel=1e-12)


def test_mesa_race_rows_differ_as_published() -> None:
    # Without CAC every group is below white; with CAC black is slightly above white.
    without = {r: mesa_chd_risk(**_PERSON, race_ethnicity=r)
               for r in ("white", "chinese", "black", "hispanic")}
    assert without["chinese"] < without["black"] < without["hispanic"] < without["white"]
    with_cac = {r: mesa_chd_risk(**_PERSON, race_ethnicity=r, cac_agatston=50)
                for r in ("white", "black")}
    assert with_cac["black"] > with_cac["white"]


@pytest.mark.parametrize(("change", "message"), [
    ({"age_years": 40}, "age 40 is outside the 45-85"),
    ({"age_years": 86}, "age 86 is outside the 45-85"),
    ({"race_ethnicity": "south_asian"}, "not one of the MESA groups"),
    ({"sex": "unknown"}, "is not female or male"),
])
def test_mesa_refuses_out_of_range(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mesa_chd_risk(**{**CHECK, **change})


def test_mesa_age_limits_are_inclusive() -> None:
    assert mesa_chd_risk(**{**CHECK, "age_years": 45}) > 0
    assert mesa_chd_risk(**{**CHECK, "age_years": 85}) > 0


_inputs = st.fixed_dictionaries({
    "age_years": st.floats(45, 85), "sex": st.sampled_from(["female", "male"]),
    "race_ethnicity": st.sampled_from(["white", "chinese", "black", "hispanic"]),
    "total_cholesterol_mg_dl": st.floats(100, 350), "hdl_cholesterol_mg_dl": st.floats(20, 100),
    "systolic_bp_mmhg": st.floats(90, 200), "diabetes": st.booleans(),
    "current_smoker": st.booleans(), "bp_drug": st.booleans(),
    "cac_agatston": st.one_of(st.none(), st.floats(0, 3000)),
})


@settings(max_examples=60, deadline=None)
@given(_inputs, st.floats(0.5, 10))
def test_mesa_monotonic(inputs: dict, step: float) -> None:
    base = mesa_chd_risk(**inputs)
    if inputs["cac_agatston"] is not None:
        assert mesa_chd_risk(**{**inputs, "cac_agatston": inputs["cac_agatston"] + step}) > base
    if inputs["age_years"] + step <= 85:
        assert mesa_chd_risk(**{**inputs, "age_years": inputs["age_years"] + step}) > base
    assert mesa_chd_risk(**{**inputs, "systolic_bp_mmhg": inputs["systolic_bp_mmhg"] + step}) > base
    assert mesa_chd_risk(**{**inputs,
                            "hdl_cholesterol_mg_dl": inputs["hdl_cholesterol_mg_dl"] + step}) < base


@pytest.mark.parametrize(("score", "category"), [
    (0, "A0"), (0.4, "A1"), (1, "A1"), (99, "A1"), (99.9, "A1"), (100, "A2"), (299, "A2"),
    (299.9, "A2"), (300, "A3"), (5000, "A3")])
def test_cac_drs_boundaries(score: float, category: str) -> None:
    assert cac_drs_category(score).id == category


def test_cac_drs_category_carries_suggestion() -> None:
    assert "high-intensity statin" in (cac_drs_category(300).suggestion or "")
    assert cac_drs_category(0).risk == "very low"


def test_cac_drs_negative_score_refused() -> None:
    with pytest.raises(ValueError, match="below the lowest category"):
        cac_drs_category(-1)


def test_cac_drs_labels() -> None:
    assert cac_drs_label("A2", 3) == "CAC-DRS A2/N3"
    assert cac_drs_label("A3", 4) == "CAC-DRS A3/N4"
    assert cac_drs_label("A0", None) == "CAC-DRS A0"
    assert cac_drs_label("A1", None) == "CAC-DRS A1, N not reported"


@pytest.mark.parametrize(("sex", "score", "expected"), [
    ("male", 0, "unlikely"), ("male", 1599, "unlikely"), ("male", 1600, "indeterminate"),
    ("male", 1999, "indeterminate"), ("male", 2000, "likely"), ("male", 2999, "likely"),
    ("male", 3000, "very_likely"),
    ("female", 799, "unlikely"), ("female", 800, "indeterminate"),
    ("female", 1199, "indeterminate"), ("female", 1200, "likely"), ("female", 1599, "likely"),
    ("female", 1600, "very_likely"),
])
def test_aortic_valve_thresholds(sex: str, score: float, expected: str) -> None:
    assert aortic_valve_severity(score, sex=sex) == expected


def test_kauppila_check_value() -> None:
    readings = {"L1": (1, 0), "L2": (2, 0), "L3": (2, 1), "L4": (3, 2)}
    assert kauppila_score(readings) == (11, 8, 3)
    assert kauppila_score({lv: (3, 3) for lv in ("L1", "L2", "L3", "L4")})[0] == 24
    assert kauppila_score({lv: (0, 0) for lv in ("L1", "L2", "L3", "L4")})[0] == 0


@pytest.mark.parametrize(("readings", "message"), [
    ({"L1": (1, 0), "L2": (2, 0), "L3": (2, 1), "L4": (4, 2)}, "L4 anterior is 4"),
    ({"L1": (1, 0), "L2": (2, -1), "L3": (2, 1), "L4": (3, 2)}, "L2 posterior is -1"),
    ({"L1": (1, 0), "L2": (2, 0), "L4": (3, 2)}, "level L3 not read"),
])
def test_kauppila_invalid(readings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kauppila_score(readings)


def test_adragao() -> None:
    assert adragao_score({"pelvis": [1, 1, 0, 0], "hands": [1, 0, 0, 0]}) == 3
    assert adragao_score({"pelvis": [1, 1, 1, 1], "hands": [1, 1, 1, 1]}) == 8
    with pytest.raises(ValueError, match="hands radiograph was not read"):
        adragao_score({"pelvis": [1, 1, 0, 0]})
    with pytest.raises(ValueError, match="pelvis needs 4 section readings, got 3"):
        adragao_score({"pelvis": [1, 1, 0], "hands": [0, 0, 0, 0]})
    with pytest.raises(ValueError, match="must be 0 or 1"):
        adragao_score({"pelvis": [2, 0, 0, 0], "hands": [0, 0, 0, 0]})
