"""Derived urine indices (issue 20, item 7): computed from the case's labs, never asked for.

Check values: the urine calcium/creatinine unit pairs published in the paediatric tables
(Sargent 1993: 0.86 mg/mg; the adult 0.2 mg/mg = 0.57 mmol/mmol), the FHH / PHPT cut-offs of the
calcium/creatinine clearance ratio (Christensen 2008) worked by hand, and FEPO4 as the
complement of the Walton-Bijvoet TRP.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from tests.reasoning.case_helpers import lab, run

from ectocalc.knowledge import load_knowledge
from ectocalc.labs import equations as eq

KB = load_knowledge()


@pytest.mark.parametrize(("mg_mg", "mmol_mmol"), [
    (0.20, 0.57),   # adult hypercalciuria cut-off as published in both units
    (0.86, 2.43),   # Sargent 1993, under 7 months
    (0.60, 1.69),   # Sargent 1993, 7 to 18 months
    (0.42, 1.19),   # Sargent 1993, 19 months to 6 years
])
def test_ratio_units_convert_as_published(mg_mg: float, mmol_mmol: float) -> None:
    assert mg_mg * eq.CREATININE_PER_CALCIUM_MOLAR_MASS == pytest.approx(mmol_mmol, abs=0.01)


def test_clearance_ratio_by_hand() -> None:
    # (UCa x SCr) / (SCa x UCr): 2.0 mmol/L x 80 umol/L / (2.80 mmol/L x 8.0 mmol/L), creatinine
    # 80 umol/L = 0.080 mmol/L: 0.16 / 22.4 = 0.00714, FHH range (< 0.01).
    value = eq.calcium_creatinine_clearance_ratio(urine_calcium=2.0, serum_calcium=2.80,
                                                  serum_creatinine=0.080, urine_creatinine=8.0)
    assert value == pytest.approx(0.007143, abs=1e-6)
    # Units cancel: the same specimen in mg/dL gives the same ratio.
    in_mg = eq.calcium_creatinine_clearance_ratio(
        urine_calcium=2.0 * 4.008, serum_calcium=2.80 * 4.008,
        serum_creatinine=0.080 * 11.312, urine_creatinine=8.0 * 11.312)
    assert in_mg == pytest.approx(value)


def test_fepo4_is_the_complement_of_trp() -> None:
    inputs = {"serum_phosphate": 2.0, "urine_phosphate": 60.0, "serum_creatinine": 0.9,
              "urine_creatinine": 110.0}
    trp, _ = eq.tubular_phosphate_reabsorption(**inputs)
    assert eq.fractional_excretion_phosphate(**inputs) == pytest.approx((1 - trp) * 100)
    # 60 x 0.9 / (2.0 x 110) x 100 = 24.55 %
    assert eq.fractional_excretion_phosphate(**inputs) == pytest.approx(24.545, abs=0.001)


@pytest.mark.parametrize("function", [
    lambda: eq.urine_calcium_creatinine_ratio(10.0, 0.0),
    lambda: eq.calcium_creatinine_clearance_ratio(urine_calcium=1, serum_calcium=0,
                                                  serum_creatinine=1, urine_creatinine=1),
    lambda: eq.fractional_excretion_phosphate(urine_phosphate=1, serum_phosphate=1,
                                              serum_creatinine=1, urine_creatinine=0),
])
def test_a_zero_denominator_is_refused(function: object) -> None:
    with pytest.raises(ValueError):
        function()  # type: ignore[operator]


def test_age_bands_cover_every_age() -> None:
    bands = KB.definitions.urine_indices.calcium_creatinine_ratio  # type: ignore[union-attr]
    assert bands[0].age[0] == 0 and bands[-1].age[1] >= 120
    assert all(a.age[1] == b.age[0] for a, b in pairwise(bands))
    # The limit falls with age (infants excrete more calcium per creatinine).
    assert [b.upper_mmol_mmol for b in bands] == sorted((b.upper_mmol_mmol for b in bands),
                                                        reverse=True)


@pytest.mark.parametrize(("age", "flag", "limit"), [
    (0.5, "normal", 2.2),   # 1.06 mmol/mmol is normal for an infant ...
    (2.5, "normal", 1.4),
    (6.0, "high", 0.8),     # ... and high from school age
    (40.0, "high", 0.57),
])
def test_the_same_ratio_is_judged_for_age(age: float, flag: str, limit: float) -> None:
    # Urine calcium 30 mg/dL over creatinine 80 mg/dL = 0.375 mg/mg = 1.058 mmol/mmol.
    result = run(patient={"age_years": age, "sex": "female"},
                 labs=[lab("urine_calcium", 30, "mg/dL"), lab("urine_creatinine", 80, "mg/dL")])
    ratio = result.derived.urine_calcium_creatinine_ratio
    assert ratio is not None
    assert ratio.mg_mg == pytest.approx(0.375)
    assert ratio.mmol_mmol == pytest.approx(1.058, abs=0.001)
    assert (ratio.flag, ratio.upper_limit_mmol_mmol) == (flag, limit)
    basis = next(b for b in result.derived.basis
                 if b.quantity == "urine_calcium_creatinine_ratio")
    assert "Metz 2006" in basis.source or "0.2 mg/mg" in basis.source


def test_indices_come_from_si_units_and_are_not_asked_for() -> None:
    # FHH in SI units: Ca 2.72 mmol/L, creatinine 70 umol/L, urine calcium 1.2 mmol/L, urine
    # creatinine 9.0 mmol/L: CCCR = (1.2 x 0.070) / (2.72 x 9.0) = 0.084 / 24.48 = 0.00343.
    result = run(patient={"age_years": 45, "sex": "male"},
                 labs=[lab("calcium", 2.72, "mmol/L"), lab("albumin", 42, "g/L"),
                       lab("pth", 6.2, "pmol/L"), lab("phosphate", 0.9, "mmol/L"),
                       lab("creatinine", 70, "umol/L"), lab("urine_calcium", 1.2, "mmol/L"),
                       lab("urine_creatinine", 9.0, "mmol/L")],
                 findings=[{"site": "both knees, chondrocalcinosis", "modality": "xray"}])
    assert result.derived.calcium_creatinine_clearance_ratio == pytest.approx(0.00343, abs=2e-5)
    workup = {w.id for w in result.workup}
    assert not workup & {"calcium_creatinine_clearance_ratio", "urine_calcium_24h",
                         "urine_calcium_creatinine_ratio"}
    syndromes = {s.id: s.certainty for s in result.syndromes}
    assert syndromes.get("familial_hypocalciuric_hypercalcemia") == "probable"


def test_without_urine_creatinine_nothing_is_derived() -> None:
    result = run(labs=[lab("urine_calcium", 12, "mg/dL"), lab("calcium", 9.5, "mg/dL")])
    assert result.derived.urine_calcium_creatinine_ratio is None
    assert result.derived.calcium_creatinine_clearance_ratio is None


def test_the_text_report_says_how_the_ratio_was_judged() -> None:
    from ectocalc.render.text import clinician_text

    result = run(patient={"age_years": 9, "sex": "male"},
                 labs=[lab("urine_calcium", 12, "mg/dL"), lab("urine_creatinine", 40, "mg/dL")])
    text = clinician_text(result, width=200)
    assert "Urine calcium/creatinine 0.3 mg/mg (0.8467 mmol/mmol)" in text
    assert "high for age 7-18 y (upper limit 0.7 mmol/mmol)" in text
