"""Every laboratory equation against its published check values (references/clinical.md)."""

from __future__ import annotations

import pytest

from ectocalc.labs import equations as eq


@pytest.mark.parametrize(
    ("creatinine", "age", "sex", "expected", "digits"),
    [
        (1.4, 60, "male", 57.54, 2),  # kidney.epi documentation
        (1.7, 81, "male", 40.00, 2),  # MedCalc-Bench
        (0.7, 40, "female", 112.1, 1),
        (1.0, 50, "male", 91.7, 1),
        (1.0, 50, "female", 68.6, 1),
        (2.0, 70, "female", 26.4, 1),
        (3.5, 65, "male", 18.6, 1),
        (6.0, 45, "female", 8.2, 1),
    ],
)
def test_ckd_epi_2021_creatinine(creatinine: float, age: int, sex: eq.Sex, expected: float,
                                 digits: int) -> None:
    value = eq.egfr_ckd_epi_2021_creatinine(creatinine, age_years=age, sex=sex)
    assert value == pytest.approx(expected, abs=0.5 * 10**-digits + 1e-9)


def test_ckd_epi_2021_creatinine_cystatin() -> None:
    value = eq.egfr_ckd_epi_2021_creatinine_cystatin(1.4, 0.8, age_years=60, sex="male")
    assert round(value, 2) == 83.97


@pytest.mark.parametrize(("sex", "expected"), [("male", 80.9), ("female", 75.4)])
def test_ckd_epi_2012_cystatin(sex: eq.Sex, expected: float) -> None:
    assert round(eq.egfr_ckd_epi_2012_cystatin(1.0, age_years=50, sex=sex), 1) == expected


def test_equations_refuse_children() -> None:
    with pytest.raises(ValueError, match="adults"):
        eq.egfr_ckd_epi_2021_creatinine(0.5, age_years=12, sex="female")


def test_corrected_calcium_check_value() -> None:
    # Ca 8.4 mg/dL, albumin 33 g/L (3.3 g/dL) -> 8.96 mg/dL
    assert round(eq.corrected_calcium_mg_dl(8.4, 3.3), 2) == 8.96


def test_calcium_phosphate_product() -> None:
    assert eq.calcium_phosphate_product(10.0, 7.0) == 70.0


@pytest.mark.parametrize(
    ("egfr", "stage"),
    [(90, "G1"), (89.99, "G2"), (60, "G2"), (59.99, "G3a"), (45, "G3a"), (44.9, "G3b"),
     (30, "G3b"), (29.9, "G4"), (15, "G4"), (14.9, "G5")],
)
def test_gfr_category_boundaries(egfr: float, stage: str) -> None:
    assert eq.gfr_category(egfr) == stage


@pytest.mark.parametrize(("acr", "stage"), [(0, "A1"), (29.99, "A1"), (30, "A2"), (300, "A2"),
                                            (300.01, "A3")])
def test_albuminuria_boundaries(acr: float, stage: str) -> None:
    assert eq.albuminuria_category(acr) == stage


def test_tmp_gfr_both_branches() -> None:
    # TRP = 1 - (20/3)(1/100) = 0.9333 > 0.86 -> 0.3*TRP/(1-0.8*TRP)*Pp
    trp, tmp = eq.tubular_phosphate_reabsorption(
        serum_phosphate=3.0, urine_phosphate=20.0, serum_creatinine=1.0, urine_creatinine=100.0)
    assert trp == pytest.approx(1 - 20 / 3 / 100)
    assert tmp == pytest.approx(0.3 * trp / (1 - 0.8 * trp) * 3.0)
    # TRP = 1 - (60/3)(1/100) = 0.8 <= 0.86 -> TRP * Pp = 2.4
    trp, tmp = eq.tubular_phosphate_reabsorption(
        serum_phosphate=3.0, urine_phosphate=60.0, serum_creatinine=1.0, urine_creatinine=100.0)
    assert trp == pytest.approx(0.8)
    assert tmp == pytest.approx(2.4)


@pytest.mark.parametrize(("creatinine", "height", "expected"),
                         [(0.5, 132, 109.03), (1.0, 150, 61.95), (0.8, 120, 61.95)])
def test_schwartz_bedside(creatinine: float, height: float, expected: float) -> None:
    # CKiD 2009: 0.413 x height (cm) / creatinine (mg/dL), hand arithmetic to 2 decimals.
    assert round(eq.egfr_schwartz_bedside(creatinine, height_cm=height), 2) == expected


def test_schwartz_refuses_non_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        eq.egfr_schwartz_bedside(0.0, height_cm=120)
