"""The scales as pure functions of their published inputs (no case, no I/O).

Coefficients and thresholds come from ``knowledge/data/scales.yaml``; each function takes the
parsed entry as ``spec`` (default: the packaged file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ectocalc.scales._schema import (
    AdragaoSpec,
    AorticValveSpec,
    Band,
    CacDrsSpec,
    KauppilaSpec,
    MesaSpec,
    packaged_scales,
)


def band(value: float, bands: Sequence[Band]) -> Band:
    """The last band (lowest first) whose lower bound ``value`` meets.

    Raises
    ------
    ValueError
        ``value`` is below the first band (e.g. a negative score).
    """
    reached = [b for b in bands if b.admits(value)]
    if not reached:
        raise ValueError(f"{value:g} is below the lowest category")
    return reached[-1]


def mesa_chd_risk(*, age_years: float, sex: str, race_ethnicity: str,
                  total_cholesterol_mg_dl: float, hdl_cholesterol_mg_dl: float,
                  systolic_bp_mmhg: float, diabetes: bool = False, current_smoker: bool = False,
                  lipid_lowering_drug: bool = False, bp_drug: bool = False,
                  family_history_mi: bool = False, cac_agatston: float | None = None,
                  spec: MesaSpec | None = None) -> float:
    """MESA 10-year coronary heart disease risk, in percent (McClelland et al., JACC 2015).

    ``risk = 1 - S0 ** exp(sum(beta_i * x_i))`` with the coefficients of Table 2; the model with
    CAC adds ``ln(CAC + 1)`` and has its own coefficients and baseline survival ``S0``.

    Parameters
    ----------
    age_years : float
        45 to 85 (the range the score was derived on).
    sex : {'female', 'male'}
    race_ethnicity : {'white', 'chinese', 'black', 'hispanic'}
    total_cholesterol_mg_dl, hdl_cholesterol_mg_dl : float
        Cholesterol in mg/dL.
    systolic_bp_mmhg : float
    diabetes, current_smoker, lipid_lowering_drug, bp_drug, family_history_mi : bool
        Family history: heart attack in a parent, sibling or child.
    cac_agatston : float, optional
        Coronary artery calcium (Agatston); None uses the model without CAC.
    spec : MesaSpec, optional
        The ``mesa_chd_10y`` entry of scales.yaml (default: the packaged one).

    Returns
    -------
    float
        Risk in percent, unrounded.

    Raises
    ------
    ValueError
        Age outside 45-85, an unknown sex or race/ethnicity, a negative CAC.

    Examples
    --------
    The CVrisk package's check case: a 70-year-old Hispanic man, total cholesterol 190 mg/dL,
    HDL 50 mg/dL, systolic 130 mmHg on blood-pressure treatment.

    >>> inputs = dict(age_years=70, sex="male", race_ethnicity="hispanic",
    ...     total_cholesterol_mg_dl=190, hdl_cholesterol_mg_dl=50, systolic_bp_mmhg=130,
    ...     bp_drug=True)
    >>> round(mesa_chd_risk(**inputs, cac_agatston=0), 2)
    3.06
    >>> round(mesa_chd_risk(**inputs, cac_agatston=100), 2)
    10.43
    >>> round(mesa_chd_risk(**inputs), 2)
    8.61
    """
    spec = spec or packaged_scales().mesa_chd_10y
    low, high = spec.age_years
    if not low <= age_years <= high:
        raise ValueError(f"age {age_years:g} is outside the {low:g}-{high:g} years the MESA "
                         "score was derived on")
    if sex not in ("female", "male"):
        raise ValueError(f"sex {sex!r} is not female or male")
    if race_ethnicity not in spec.races:
        raise ValueError(f"race/ethnicity {race_ethnicity!r} is not one of the MESA groups "
                         f"({', '.join(spec.races)})")
    if cac_agatston is not None and cac_agatston < 0:
        raise ValueError("a coronary calcium score cannot be negative")
    model = spec.models["without_cac" if cac_agatston is None else "with_cac"]
    beta: dict[str, float] = {str(term): value for term, value in model.coefficients.items()}
    x: dict[str, float] = {
        "age": age_years, "male": float(sex == "male"),
        "diabetes": float(diabetes), "current_smoker": float(current_smoker),
        "total_cholesterol_mg_dl": total_cholesterol_mg_dl,
        "hdl_cholesterol_mg_dl": hdl_cholesterol_mg_dl,
        "lipid_lowering_drug": float(lipid_lowering_drug), "systolic_bp_mmhg": systolic_bp_mmhg,
        "bp_drug": float(bp_drug), "family_history_mi": float(family_history_mi),
    }
    if race_ethnicity != spec.reference_race:
        x[race_ethnicity] = 1.0
    if cac_agatston is not None:
        x["ln_cac_plus_1"] = math.log1p(cac_agatston)
    linear = math.fsum(beta[term] * value for term, value in x.items())
    return 100.0 * (1.0 - model.baseline_survival ** math.exp(linear))


def cac_drs_category(agatston: float, *, spec: CacDrsSpec | None = None) -> Band:
    """CAC-DRS Agatston category (Hecht et al. 2018): A0 = 0, A1 1-99, A2 100-299, A3 >= 300.

    Any calcium (score above 0) is at least A1.

    Examples
    --------
    >>> [cac_drs_category(x).id for x in (0, 0.5, 99, 99.9, 100, 299, 300)]
    ['A0', 'A1', 'A1', 'A1', 'A2', 'A2', 'A3']
    """
    spec = spec or packaged_scales().cac_drs
    return band(agatston, spec.bands)


def cac_drs_label(category: str, vessels: int | None) -> str:
    """The CAC-DRS label: ``CAC-DRS A2/N3``; without N when the score is 0 or N is unknown.

    Examples
    --------
    >>> cac_drs_label("A2", 3), cac_drs_label("A0", None), cac_drs_label("A1", None)
    ('CAC-DRS A2/N3', 'CAC-DRS A0', 'CAC-DRS A1, N not reported')
    """
    if category == "A0":
        return "CAC-DRS A0"
    return f"CAC-DRS {category}/N{vessels}" if vessels else f"CAC-DRS {category}, N not reported"


def aortic_valve_severity(agatston: float, *, sex: str,
                          spec: AorticValveSpec | None = None) -> str:
    """Likelihood of severe aortic stenosis from the aortic valve calcium score (ESC/EACTS 2021).

    Men: >= 3000 AU very likely, >= 2000 likely, < 1600 unlikely; women: >= 1600, >= 1200,
    < 800; in between indeterminate. For low-gradient stenosis with discordant echo findings.

    Examples
    --------
    >>> [aortic_valve_severity(x, sex="male") for x in (1599, 1600, 2000, 3000)]
    ['unlikely', 'indeterminate', 'likely', 'very_likely']
    >>> [aortic_valve_severity(x, sex="female") for x in (799, 800, 1200, 1600)]
    ['unlikely', 'indeterminate', 'likely', 'very_likely']
    """
    spec = spec or packaged_scales().aortic_valve_calcium
    if sex not in spec.bands:
        raise ValueError(f"sex {sex!r} is not female or male")
    return band(agatston, spec.bands[sex]).id


def kauppila_score(readings: Mapping[Any, Sequence[int]], *,
                   spec: KauppilaSpec | None = None) -> tuple[int, int, int]:
    """Kauppila AAC-24 from a lateral lumbar radiograph (Kauppila et al. 1997).

    Parameters
    ----------
    readings : mapping
        Level (``L1``-``L4``) -> ``(anterior, posterior)`` wall scores, 0-3 each.

    Returns
    -------
    (total, anterior, posterior) : tuple of int
        Total 0-24 and the sums of each wall.

    Raises
    ------
    ValueError
        A level is missing, or a wall score is not an integer 0-3.

    Examples
    --------
    >>> kauppila_score({"L1": (1, 0), "L2": (2, 0), "L3": (2, 1), "L4": (3, 2)})
    (11, 8, 3)
    """
    spec = spec or packaged_scales().kauppila_aac24
    missing = [level for level in spec.levels if level not in readings]
    if missing:
        raise ValueError(f"level {', '.join(missing)} not read (all of "
                         f"{', '.join(spec.levels)} are needed)")
    walls = [tuple(readings[level]) for level in spec.levels]
    for level, pair in zip(spec.levels, walls, strict=True):
        if len(pair) != 2:
            raise ValueError(f"{level} needs [anterior, posterior]")
        for wall, value in zip(("anterior", "posterior"), pair, strict=True):
            if not isinstance(value, int) or not 0 <= value <= spec.max_per_wall:
                raise ValueError(f"{level} {wall} is {value}; each wall scores "
                                 f"0-{spec.max_per_wall}")
    anterior = sum(p[0] for p in walls)
    posterior = sum(p[1] for p in walls)
    return anterior + posterior, anterior, posterior


def adragao_score(readings: Mapping[Any, Sequence[int]], *,
                  spec: AdragaoSpec | None = None) -> int:
    """Adragão vascular calcification score (Adragão et al. 2004), 0-8.

    Parameters
    ----------
    readings : mapping
        ``pelvis``: 4 section readings, ``hands``: 4 (2 per hand); each 1 when linear vascular
        calcification is seen in the section, else 0.

    Raises
    ------
    ValueError
        A film is missing, has the wrong number of sections, or a reading is not 0 or 1.

    Examples
    --------
    >>> adragao_score({"pelvis": [1, 1, 0, 0], "hands": [1, 0, 0, 0]})
    3
    """
    spec = spec or packaged_scales().adragao
    total = 0
    for film, count in spec.sections.items():
        values = readings.get(film)
        if values is None:
            raise ValueError(f"the {film} radiograph was not read")
        if len(values) != count:
            raise ValueError(f"{film} needs {count} section readings, got {len(values)}")
        if any(v not in (0, 1) or isinstance(v, bool) for v in values):
            raise ValueError(f"{film} readings must be 0 or 1")
        total += sum(values)
    return total
