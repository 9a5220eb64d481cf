"""How many decimals each quantity of an assessment (and of a record view) is shown with: numbers
are rounded only here.

The analysis keeps full precision; the renderers (JSON, text, HTML) show
:func:`rounded` values. :data:`DECIMALS` maps a path in the assessment's JSON form to the
decimals kept: ``*`` matches any key of a mapping, ``[]`` every item of a list.

Examples
--------
>>> rounded({"chemistry": {"ionic_strength": 0.154321, "saturation_index": {"brushite": -0.6149}}})
{'chemistry': {'ionic_strength': 0.1543, 'saturation_index': {'brushite': -0.61}}}
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from ectocalc.model.case import DAYS_PER_YEAR

M = TypeVar("M", bound=BaseModel)

_CHEMISTRY = {
    "saturation_index.*": 2,
    "ionic_strength": 4,
    "free_calcium_mmol_l": 3,
}

DECIMALS: dict[str, int] = {
    "patient.age_years": 2,
    "labs.[].canonical_value": 4,
    "labs.[].si_value": 4,
    "derived.corrected_calcium_mg_dl": 2,
    "derived.corrected_calcium_mmol_l": 3,
    "derived.ionized_calcium_mmol_l": 3,
    "derived.calcium_phosphate_product_mg2_dl2": 1,
    "derived.calcium_phosphate_product_mmol2_l2": 2,
    "derived.egfr_ml_min_1_73m2": 2,
    "derived.egfr_by_equation.*": 2,
    "derived.tubular_phosphate_reabsorption": 3,
    "derived.tmp_gfr_mg_dl": 2,
    "derived.tmp_gfr_mmol_l": 3,
    "derived.urine_calcium_creatinine_ratio.mg_mg": 3,
    "derived.urine_calcium_creatinine_ratio.mmol_mmol": 3,
    "derived.urine_calcium_creatinine_ratio.upper_limit_mmol_mmol": 2,
    "derived.calcium_creatinine_clearance_ratio": 4,
    "derived.fractional_excretion_phosphate": 2,
    "mechanism.differential.[].score": 3,
    "scales.mesa_chd_10y.risk_percent": 2,
    "scales.mesa_chd_10y.without_cac_percent": 2,
    # The scales read the Agatston total as reported (one decimal), like a reader.
    "scales.cac_drs.agatston": 1,
    "scales.aortic_valve_calcium.agatston": 1,
    **{f"chemistry.{k}": v for k, v in _CHEMISTRY.items()},
    **{f"chemistry.what_if.{k}": v for k, v in _CHEMISTRY.items()},
    "chemistry.inputs.*.value": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.calcium": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.phosphate": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.magnesium": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.chloride": 2,
    # The patient record's view (``record show``, contract §5), under ``record.``.
    "record.patient.age_years": 2,
    "record.series.egfr.[].value": 2,
    "record.series.corrected_calcium.[].value": 2,
    "record.series.calcium_phosphate_product.[].value": 1,
    "record.series.cac_agatston.[].value": 2,
    "record.series.cac_agatston.[].volume_mm3": 2,
    "record.series.cac_agatston.[].mass_mg": 2,
    "record.trends.egfr.slope_per_year": 2,
    "record.trends.egfr.span_years": 2,
    **{f"record.cac_progression.{p}{k}": 2 for p in ("", "pairs.[].")
       for k in ("interval_years", "sqrt_difference", "annual_percent")},
}
"""JSON path -> decimals shown.

A derivation in ``derived.basis`` shows its ``value`` with the decimals of the quantity it
derives (``derived.<quantity>``).
"""

_BASIS = ("derived", "basis", "[]")
LAB_SIGNIFICANT_DIGITS = 4
"""A measured result in the record's series (``record.series.<analyte>.[].value``) is shown
with 4 significant digits, the precision of the unit factors: 1.55 mmol/L of phosphate reads
4.8 mg/dL, not 4.8004."""


_PATTERNS = [(tuple(k.split(".")), v) for k, v in DECIMALS.items()]


@lru_cache(maxsize=4096)
def _decimals(path: tuple[str, ...]) -> int | None:
    """Decimals shown at ``path``, or None (shown as computed)."""
    for pattern, decimals in _PATTERNS:
        if len(pattern) == len(path) and all(p in ("*", k) for p, k in zip(pattern, path,
                                                                             strict=True)):
            return decimals
    return None


def reported(path: str, value: float) -> float:
    """``value`` as shown at ``path`` (a key of :data:`DECIMALS`).

    Thresholds and flags judge a derived quantity as it is reported, so a flag always agrees
    with the number shown beside it (a corrected calcium of 10.204 is shown, and judged, as
    10.2), and floating-point noise (``9.8 + 0.4 == 10.200000000000001``) never crosses a limit.

    Raises
    ------
    KeyError
        ``path`` has no decimals in :data:`DECIMALS`.

    Examples
    --------
    >>> reported("derived.corrected_calcium_mg_dl", 9.8 + 0.8 * (4.0 - 3.5))
    10.2
    """
    return round(value, DECIMALS[path])


def shown_view(view: dict[str, Any]) -> dict[str, Any]:
    """A record view (:func:`ectocalc.record.patient_view`, full precision) as shown: every
    renderer of it (``record show``, the web pages and API) rounds through here.

    Derived series and trends take their decimals from :data:`DECIMALS` (``record.*``);
    measured results keep :data:`LAB_SIGNIFICANT_DIGITS` significant digits.

    Examples
    --------
    >>> view = {"patient": {"age_years": 66.76935186896377},
    ...         "series": {"phosphate": [{"value": 4.80043}],
    ...                    "egfr": [{"value": 19.724196703409817}]},
    ...         "trends": {"egfr": {"slope_per_year": -8.04321}}}
    >>> shown = shown_view(view)
    >>> shown["patient"]["age_years"], shown["series"], shown["trends"]["egfr"]
    (66.77, {'phosphate': [{'value': 4.8}], 'egfr': [{'value': 19.72}]}, {'slope_per_year': -8.04})
    """
    shown: dict[str, Any] = _round(view, ("record",))
    for name, points in shown.get("series", {}).items():
        if _decimals(("record", "series", name, "[]", "value")) is None:
            for point in points:
                if isinstance(point.get("value"), float):
                    point["value"] = float(f"{point['value']:.{LAB_SIGNIFICANT_DIGITS}g}")
    return shown


def age_words(age_years: float) -> str:
    """An age as a clinician says it: days under 1 month, months under 2 years, else years.

    Examples
    --------
    >>> age_words(6 / 365.2425), age_words(0.25), age_words(9), age_words(66.35)
    ('6 days', '3 months', '9 years', '66.35 years')
    """
    if age_years < 1 / 12:
        days = round(age_years * DAYS_PER_YEAR)
        return f"{days} day{'s' if days != 1 else ''}"
    if age_years < 2:
        months = int(age_years * 12)
        return f"{months} month{'s' if months != 1 else ''}"
    return f"{reported('patient.age_years', age_years):g} years"


def _round(node: Any, path: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        if path == _BASIS and isinstance(node.get("value"), float):
            decimals = _decimals(("derived", str(node.get("quantity"))))
            if decimals is not None:
                node = {**node, "value": round(node["value"], decimals)}
        return {k: _round(v, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_round(v, (*path, "[]")) for v in node]
    if isinstance(node, float):
        decimals = _decimals(path)
        return node if decimals is None else round(node, decimals)
    return node


def rounded(document: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """``document`` (an assessment, or the part of one at ``prefix``) with values rounded.

    Parameters
    ----------
    document : dict
        JSON-like data (``model_dump(mode="json")``).
    prefix : str
        The path of ``document`` inside an assessment, e.g. ``"chemistry"``.
    """
    start = tuple(prefix.split(".")) if prefix else ()
    return _round(document, start)  # type: ignore[no-any-return]


def for_display(model: M, *, prefix: str = "") -> M:
    """A copy of ``model`` with every quantity rounded as shown (:data:`DECIMALS`).

    Parameters
    ----------
    model : Assessment or a part of one
        An assessment, or the part of one at ``prefix`` (e.g. its ``Derived`` at ``"derived"``).
    prefix : str
        The path of ``model`` inside an assessment.

    Examples
    --------
    >>> from ectocalc.model import Assessment, Derived
    >>> a = Assessment(disclaimer="d", knowledge_version="1", ectocalc_version="0")
    >>> for_display(a) == a
    True
    >>> for_display(Derived(egfr_ml_min_1_73m2=59.996), prefix="derived").egfr_ml_min_1_73m2
    60.0
    """
    return type(model).model_validate(rounded(model.model_dump(), prefix=prefix))
