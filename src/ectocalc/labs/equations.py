"""Published laboratory equations, as pure functions of numbers.

Each function states its source; the tests check the published check values
(shared/references/clinical.md).
"""

from __future__ import annotations

from ectocalc.vocabulary import Sex

CKD_EPI_2021_CR = "CKD-EPI 2021 creatinine"
CKD_EPI_2012_CYS = "CKD-EPI 2012 cystatin C"
CKD_EPI_2021_CR_CYS = "CKD-EPI 2021 creatinine-cystatin C"
SCHWARTZ_BEDSIDE = "Bedside Schwartz (CKiD 2009)"

EGFR_SOURCES = {
    CKD_EPI_2021_CR: "Inker LA et al. N Engl J Med 2021;385:1737-49 (race-free creatinine)",
    CKD_EPI_2012_CYS: "Inker LA et al. N Engl J Med 2012;367:20-9 (cystatin C equation)",
    CKD_EPI_2021_CR_CYS: "Inker LA et al. N Engl J Med 2021;385:1737-49 (creatinine-cystatin C)",
    SCHWARTZ_BEDSIDE: "Schwartz GJ et al. J Am Soc Nephrol 2009;20:629-37 (CKiD bedside, "
                      "children; enzymatic creatinine)",
}
ADULT_AGE_YEARS = 18.0
SCHWARTZ_MIN_AGE_YEARS = 1.0
"""The CKiD cohort behind the bedside Schwartz equation was aged 1 to 16 (Schwartz 2009): in
infants GFR is still maturing and creatinine first reflects the mother's."""


def corrected_calcium_mg_dl(calcium_mg_dl: float, albumin_g_dl: float) -> float:
    """Albumin-corrected total calcium, ``Ca + 0.8 × (4.0 − albumin)`` (mg/dL, g/dL).

    The form in common clinical use (Payne 1973 used slope 1.0).

    Examples
    --------
    >>> round(corrected_calcium_mg_dl(8.4, 3.3), 2)
    8.96
    """
    return calcium_mg_dl + 0.8 * (4.0 - albumin_g_dl)


def calcium_phosphate_product(calcium_mg_dl: float, phosphate_mg_dl: float) -> float:
    """Ca × P in mg²/dL² (× 0.2495 × 0.3229 ≈ 0.0806 for mmol²/L²).

    Examples
    --------
    >>> round(calcium_phosphate_product(9.92, 7.8), 1)
    77.4
    """
    return calcium_mg_dl * phosphate_mg_dl


def _check_adult(age_years: float) -> None:
    if age_years < ADULT_AGE_YEARS:
        raise ValueError("CKD-EPI equations are for adults (age >= 18 years)")


def egfr_ckd_epi_2021_creatinine(creatinine_mg_dl: float, *, age_years: float, sex: Sex) -> float:
    """eGFR (mL/min/1.73 m²), CKD-EPI 2021 race-free creatinine equation (Inker 2021).

    Examples
    --------
    >>> round(egfr_ckd_epi_2021_creatinine(1.4, age_years=60, sex="male"), 2)
    57.54
    """
    _check_adult(age_years)
    kappa, alpha = (0.7, -0.241) if sex == "female" else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    egfr: float = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age_years
    return egfr * 1.012 if sex == "female" else egfr


def egfr_ckd_epi_2012_cystatin(cystatin_mg_l: float, *, age_years: float, sex: Sex) -> float:
    """eGFR (mL/min/1.73 m²), CKD-EPI 2012 cystatin C equation.

    Examples
    --------
    >>> round(egfr_ckd_epi_2012_cystatin(1.0, age_years=50, sex="male"), 1)
    80.9
    """
    _check_adult(age_years)
    ratio = cystatin_mg_l / 0.8
    egfr: float = 133 * min(ratio, 1) ** -0.499 * max(ratio, 1) ** -1.328 * 0.996**age_years
    return egfr * 0.932 if sex == "female" else egfr


def egfr_ckd_epi_2021_creatinine_cystatin(
    creatinine_mg_dl: float, cystatin_mg_l: float, *, age_years: float, sex: Sex
) -> float:
    """eGFR (mL/min/1.73 m²), CKD-EPI 2021 creatinine–cystatin C equation (Inker 2021).

    Examples
    --------
    >>> round(egfr_ckd_epi_2021_creatinine_cystatin(1.4, 0.8, age_years=60, sex="male"), 2)
    83.97
    """
    _check_adult(age_years)
    kappa, alpha = (0.7, -0.219) if sex == "female" else (0.9, -0.144)
    cr = creatinine_mg_dl / kappa
    cys = cystatin_mg_l / 0.8
    egfr: float = (135 * min(cr, 1) ** alpha * max(cr, 1) ** -0.544
            * min(cys, 1) ** -0.323 * max(cys, 1) ** -0.778 * 0.9961**age_years)
    return egfr * 0.963 if sex == "female" else egfr


def egfr_schwartz_bedside(creatinine_mg_dl: float, *, height_cm: float) -> float:
    """Bedside Schwartz eGFR for children, ``0.413 × height (cm) / creatinine (mg/dL)``.

    Schwartz et al., J Am Soc Nephrol 2009;20:629 (CKiD); mL/min/1.73 m²; for ages 1-17 with an
    IDMS-traceable (enzymatic) creatinine.

    Examples
    --------
    >>> round(egfr_schwartz_bedside(0.5, height_cm=132), 2)
    109.03
    >>> round(egfr_schwartz_bedside(1.0, height_cm=150), 2)
    61.95
    """
    if creatinine_mg_dl <= 0 or height_cm <= 0:
        raise ValueError("creatinine and height must be positive")
    return 0.413 * height_cm / creatinine_mg_dl


def gfr_category(egfr: float) -> str:
    """KDIGO 2012 GFR category (``G5D``, dialysis, comes from the history, not from eGFR).

    Boundaries: G1 ≥ 90, G2 60–89, G3a 45–59, G3b 30–44, G4 15–29, G5 < 15, applied to the
    unrounded value (59.6 is G3a).

    Examples
    --------
    >>> gfr_category(57.54), gfr_category(6.1)
    ('G3a', 'G5')
    """
    for lower, category in ((90, "G1"), (60, "G2"), (45, "G3a"), (30, "G3b"), (15, "G4")):
        if egfr >= lower:
            return category
    return "G5"


def albuminuria_category(acr_mg_g: float) -> str:
    """KDIGO 2012 albuminuria category from the urine albumin/creatinine ratio (mg/g).

    Boundary rule: A1 < 30, A2 30–300 inclusive, A3 > 300.

    Examples
    --------
    >>> albuminuria_category(29.9), albuminuria_category(30), albuminuria_category(300.1)
    ('A1', 'A2', 'A3')
    """
    if acr_mg_g < 30:
        return "A1"
    return "A2" if acr_mg_g <= 300 else "A3"


def tubular_phosphate_reabsorption(
    *, serum_phosphate: float, urine_phosphate: float, serum_creatinine: float,
    urine_creatinine: float,
) -> tuple[float, float]:
    """TRP and TmP/GFR (same unit as serum phosphate) from paired spot urine and serum values.

    ``TRP = 1 − (Up/Pp)·(Pcr/Ucr)``; TmP/GFR = TRP × Pp if TRP ≤ 0.86, else
    ``0.3·TRP/(1 − 0.8·TRP) × Pp`` (Walton & Bijvoet nomogram as an equation). Phosphate and
    creatinine units must each match between serum and urine.

    Examples
    --------
    >>> trp, tmp = tubular_phosphate_reabsorption(serum_phosphate=3.5, urine_phosphate=40,
    ...     serum_creatinine=1.0, urine_creatinine=100)
    >>> round(trp, 3), round(tmp, 2)
    (0.886, 3.19)
    """
    trp = 1 - (urine_phosphate / serum_phosphate) * (serum_creatinine / urine_creatinine)
    if trp <= 0.86:
        return trp, trp * serum_phosphate
    return trp, 0.3 * trp / (1 - 0.8 * trp) * serum_phosphate


CREATININE_PER_CALCIUM_MOLAR_MASS = 113.12 / 40.08
"""mg/mg → mmol/mmol for a calcium/creatinine ratio: creatinine 113.12 g/mol over calcium
40.08 g/mol (≈ 2.822)."""


def urine_calcium_creatinine_ratio(urine_calcium: float, urine_creatinine: float) -> float:
    """Spot urine calcium/creatinine ratio in the units given (mg/dL over mg/dL gives mg/mg).

    Multiply a mg/mg ratio by :data:`CREATININE_PER_CALCIUM_MOLAR_MASS` for mmol/mmol
    (Sargent 1993 and Metz 2006 tabulate both).

    Raises
    ------
    ValueError
        Urine creatinine is not positive.

    Examples
    --------
    >>> round(urine_calcium_creatinine_ratio(20.0, 100.0), 3)  # 20 mg/dL over 100 mg/dL
    0.2
    >>> round(0.2 * CREATININE_PER_CALCIUM_MOLAR_MASS, 3)        # the same in mmol/mmol
    0.564
    """
    if urine_creatinine <= 0:
        raise ValueError("urine creatinine must be positive")
    return urine_calcium / urine_creatinine


def calcium_creatinine_clearance_ratio(
    *, urine_calcium: float, serum_calcium: float, serum_creatinine: float,
    urine_creatinine: float,
) -> float:
    """Calcium/creatinine clearance ratio, ``(UCa × SCr) / (SCa × UCr)`` (dimensionless).

    Calcium and creatinine units must each match between serum and urine. Below 0.01 suggests
    familial hypocalciuric hypercalcaemia, above 0.02 primary hyperparathyroidism (Christensen
    2008; Bilezikian 2014 Fourth International Workshop).

    Raises
    ------
    ValueError
        Serum calcium or urine creatinine is not positive.

    Examples
    --------
    UCa 2.0 mmol/L, SCr 0.080 mmol/L, SCa 2.80 mmol/L, UCr 8.0 mmol/L:
    (2.0 × 0.080) / (2.80 × 8.0) = 0.16 / 22.4 = 0.00714 (FHH range).

    >>> round(calcium_creatinine_clearance_ratio(urine_calcium=2.0, serum_calcium=2.80,
    ...     serum_creatinine=0.080, urine_creatinine=8.0), 5)
    0.00714
    """
    if serum_calcium <= 0 or urine_creatinine <= 0:
        raise ValueError("serum calcium and urine creatinine must be positive")
    return (urine_calcium * serum_creatinine) / (serum_calcium * urine_creatinine)


def fractional_excretion_phosphate(
    *, urine_phosphate: float, serum_phosphate: float, serum_creatinine: float,
    urine_creatinine: float,
) -> float:
    """Fractional excretion of phosphate in percent, ``(UP × SCr) / (SP × UCr) × 100``.

    The complement of the tubular reabsorption of phosphate: ``FEPO4 = (1 − TRP) × 100``
    (Walton & Bijvoet 1975; Payne 1998). Units must each match between serum and urine.

    Raises
    ------
    ValueError
        Serum phosphate or urine creatinine is not positive.

    Examples
    --------
    The TRP example above (Up 40, Pp 3.5, Pcr 1.0, Ucr 100 mg/dL): 40 × 1.0 / (3.5 × 100) × 100
    = 11.43 %, i.e. TRP 0.886.

    >>> round(fractional_excretion_phosphate(urine_phosphate=40, serum_phosphate=3.5,
    ...     serum_creatinine=1.0, urine_creatinine=100), 2)
    11.43
    """
    if serum_phosphate <= 0 or urine_creatinine <= 0:
        raise ValueError("serum phosphate and urine creatinine must be positive")
    return (urine_phosphate * serum_creatinine) / (serum_phosphate * urine_creatinine) * 100
