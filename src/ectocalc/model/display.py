"""How many decimals each quantity of an assessment is shown with: numbers are rounded only here.

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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ectocalc.model.assessment import Assessment

_CHEMISTRY = {
    "saturation_index.*": 2,
    "ionic_strength": 4,
    "free_calcium_mmol_l": 3,
}

DECIMALS: dict[str, int] = {
    **{f"chemistry.{k}": v for k, v in _CHEMISTRY.items()},
    **{f"chemistry.what_if.{k}": v for k, v in _CHEMISTRY.items()},
    "chemistry.inputs.*.value": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.calcium": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.phosphate": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.magnesium": 4,
    "chemistry.inputs.ultrafilterable_mmol_l.chloride": 2,
}
"""JSON path -> decimals shown."""


_PATTERNS = [(tuple(k.split(".")), v) for k, v in DECIMALS.items()]


@lru_cache(maxsize=4096)
def _decimals(path: tuple[str, ...]) -> int | None:
    """Decimals shown at ``path``, or None (shown as computed)."""
    for pattern, decimals in _PATTERNS:
        if len(pattern) == len(path) and all(p in ("*", k) for p, k in zip(pattern, path,
                                                                             strict=True)):
            return decimals
    return None


def _round(node: Any, path: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
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


def for_display(assessment: Assessment) -> Assessment:
    """A copy of ``assessment`` with every quantity rounded as shown (:data:`DECIMALS`).

    Examples
    --------
    >>> from ectocalc.model import Assessment
    >>> a = Assessment(disclaimer="d", knowledge_version="1", ectocalc_version="0")
    >>> for_display(a) == a
    True
    """
    return type(assessment).model_validate(rounded(assessment.model_dump()))
