"""A case's labs → serum ultrafiltrate → the assessment's ``chemistry`` section.

The ultrafilterable composition (the part of serum not bound to protein) is what the calcium
phosphates see; how it is derived from routine labs, and the assumptions that costs, are listed
in every section and in ``docs/chemistry.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ectocalc.chemistry.engine import DEFAULT_DATABASE, PHASE_IDS, SpeciationResult
from ectocalc.chemistry.engine import saturation_indices as _saturation_indices
from ectocalc.labs.catalogue import analyte as _analyte
from ectocalc.model.case import Case, LabResult

LABEL = "computed physicochemical index, not a calcification propensity (T50) measurement"
TEMPERATURE_C = 37.0

DEFAULT_PH = 7.40
DEFAULT_SODIUM_MMOL_L = 140.0
DEFAULT_POTASSIUM_MMOL_L = 4.5

ALBUMIN_BOUND_CALCIUM_MG_PER_G = 0.8
"""Protein-bound calcium, mg/dL per g/dL albumin: the slope of the usual albumin correction."""

ULTRAFILTERABLE_MAGNESIUM_FRACTION = 0.70
"""Share of serum magnesium not bound to protein (about 30% is bound; approximate)."""

NEAR_BRUSHITE_SATURATION = 0.3
"""Brushite SI within this of 0 (ion activity product within a factor of 2 of Ksp) is 'close'."""

_UNITS = {  # the analytes read, in their canonical units
    "ionized_calcium": "mmol/L", "calcium": "mg/dL", "albumin": "g/dL", "phosphate": "mg/dL",
    "magnesium": "mg/dL", "bicarbonate": "mmol/L", "ph": "[pH]", "sodium": "mmol/L",
    "potassium": "mmol/L", "chloride": "mmol/L",
}
_DEFAULTS = {"ph": DEFAULT_PH, "sodium": DEFAULT_SODIUM_MMOL_L,
             "potassium": DEFAULT_POTASSIUM_MMOL_L}

_PHASE_WORDS = {
    "hydroxyapatite": "hydroxyapatite",
    "octacalcium_phosphate": "octacalcium phosphate",
    "beta_tcp": "β-tricalcium phosphate",
    "brushite": "brushite",
    "amorphous_calcium_phosphate": "amorphous calcium phosphate",
}


@dataclass(frozen=True)
class ChemistryOutcome:
    """The ``chemistry`` section of an assessment, or why there is none.

    Attributes
    ----------
    section : dict or None
        The contract's ``chemistry`` object (JSON-serialisable), None when inputs are missing.
    missing : list of str
        Analytes whose absence prevented the calculation (empty when ``section`` is set).
    note : str or None
        One sentence on why ``section`` is None.
    """

    section: dict[str, Any] | None
    missing: list[str] = field(default_factory=list)
    note: str | None = None


def _mmol_per_mg_dl(analyte_id: str) -> float:
    si = _analyte(analyte_id).si
    assert si is not None and si.unit == "mmol/L", analyte_id  # catalogue invariant
    return si.factor


def _entry(value: float | None, unit: str, origin: str) -> dict[str, Any]:
    return {"value": None if value is None else round(value, 4), "unit": unit, "origin": origin}


def _rounded(result: SpeciationResult) -> dict[str, Any]:
    return {
        "saturation_index": {pid: round(result.saturation_index[pid], 2) for pid in PHASE_IDS},
        "ionic_strength": round(result.ionic_strength, 4),
        "free_calcium_mmol_l": round(result.free_calcium_mmol_l, 3),
    }


def _calcium_for_ionized(ionized_mmol_l: float, **others: Any) -> tuple[float, SpeciationResult]:
    """The ultrafilterable calcium whose free Ca²⁺ equals the measured one, and its speciation."""
    calcium = ionized_mmol_l / 0.8  # about 80% of ultrafilterable calcium is free in serum
    for _ in range(20):
        result = _saturation_indices(calcium_mmol_l=calcium, **others)
        if abs(result.free_calcium_mmol_l - ionized_mmol_l) <= 1e-5 * ionized_mmol_l:
            return calcium, result
        # Free Ca²⁺ is nearly proportional to the calcium total: a fixed point converges quickly.
        calcium *= ionized_mmol_l / result.free_calcium_mmol_l
    raise RuntimeError(f"could not match ionized calcium {ionized_mmol_l} mmol/L")


def reading(section: dict[str, Any]) -> str:
    """One-line interpretation of a ``chemistry`` section.

    Examples
    --------
    >>> line = reading({"saturation_index": {"hydroxyapatite": 8.76, "octacalcium_phosphate": 0.12,
    ...     "beta_tcp": 1.05, "brushite": -0.61, "amorphous_calcium_phosphate": -1.81},
    ...     "what_if": {"applied": False}})
    >>> line.startswith("supersaturated with respect to hydroxyapatite (SI +8.76) but not brushite")
    True
    """
    si = section["saturation_index"]
    if si["amorphous_calcium_phosphate"] >= 0:
        line = (f"supersaturated even with respect to amorphous calcium phosphate "
                f"(SI {si['amorphous_calcium_phosphate']:+.2f}): the state in which calcium "
                "phosphate precipitates spontaneously unless inhibitors hold it")
    elif si["brushite"] >= 0:
        line = (f"supersaturated with respect to brushite (SI {si['brushite']:+.2f}): "
                "the state in which deposits form readily")
    elif si["brushite"] >= -NEAR_BRUSHITE_SATURATION:
        line = (f"close to saturation with respect to brushite (SI {si['brushite']:+.2f}, within a "
                "factor of 2): a small rise in calcium or phosphate reaches the state in which "
                "deposits form readily")
    elif si["hydroxyapatite"] > 0:
        line = (f"supersaturated with respect to hydroxyapatite (SI {si['hydroxyapatite']:+.2f}) "
                f"but not brushite (SI {si['brushite']:+.2f}): metastable, like normal serum "
                "(deposits need a nucleus or failing inhibitors)")
    else:
        line = (f"undersaturated with respect to hydroxyapatite (SI {si['hydroxyapatite']:+.2f}): "
                "no thermodynamic drive to deposit calcium phosphate")
    what_if = section.get("what_if") or {}
    if what_if.get("applied"):
        line += (f"; with phosphate at the upper reference limit ({what_if['phosphate_mg_dl']:g} "
                 f"mg/dL) brushite SI would be {what_if['saturation_index']['brushite']:+.2f}")
    return line


def serum_chemistry(case: Case, *, database: str = DEFAULT_DATABASE) -> ChemistryOutcome:
    """Saturation of the patient's serum with respect to calcium phosphates, at 37 °C.

    Uses the latest result of each analyte. Calcium comes from a measured ionized calcium when
    there is one, otherwise from total calcium and albumin; phosphate, magnesium and bicarbonate
    are required. pH, sodium and potassium fall back to typical values, stated in
    ``assumptions``; chloride is always set by electroneutrality.

    Parameters
    ----------
    case : Case
        The patient case, labs in canonical units.
    database : str
        PHREEQC database (default ``minteq.v4.dat``).

    Returns
    -------
    ChemistryOutcome
        ``section`` set, or ``section`` None with the ``missing`` analytes.

    Examples
    --------
    >>> def lab(name, value, unit):
    ...     return LabResult(analyte=name, value=value, unit=unit, canonical_value=value,
    ...                      canonical_unit=unit)
    >>> case = Case(labs=[lab("ionized_calcium", 1.18, "mmol/L"), lab("phosphate", 3.4, "mg/dL"),
    ...     lab("magnesium", 1.9, "mg/dL"), lab("bicarbonate", 24, "mmol/L")])
    >>> si = serum_chemistry(case).section["saturation_index"]
    >>> si["brushite"] < 0 < si["hydroxyapatite"]
    True
    >>> serum_chemistry(Case(labs=case.labs[:3])).missing
    ['bicarbonate']
    """
    latest = {name: case.latest(name) for name in _UNITS}
    missing = _missing(latest)
    if missing:
        also = " (ionized calcium would also do)" if {"calcium", "albumin"} & set(missing) else ""
        return ChemistryOutcome(
            None, missing, f"no saturation indices: {', '.join(missing)} not measured{also}")

    inputs: dict[str, Any] = {}
    assumptions: list[str] = []
    value: dict[str, float] = {}
    for name, result in latest.items():
        if result is not None:
            value[name] = result.canonical_value
            inputs[name] = _entry(result.canonical_value, _UNITS[name], "measured")
        elif name in _DEFAULTS:
            value[name] = _DEFAULTS[name]
            inputs[name] = _entry(value[name], _UNITS[name], "default")
            shown = f"{value[name]:.2f}" if name == "ph" else f"{value[name]:g} {_UNITS[name]}"
            words = "pH" if name == "ph" else name
            assumptions.append(f"{words} not measured: {shown} assumed (typical value)")

    phosphate_mmol_l = value["phosphate"] * _mmol_per_mg_dl("phosphate")
    magnesium_mmol_l = (value["magnesium"] * _mmol_per_mg_dl("magnesium")
                        * ULTRAFILTERABLE_MAGNESIUM_FRACTION)
    common: dict[str, Any] = {
        "magnesium_mmol_l": magnesium_mmol_l, "bicarbonate_mmol_l": value["bicarbonate"],
        "ph": value["ph"], "sodium_mmol_l": value["sodium"],
        "potassium_mmol_l": value["potassium"], "temperature_c": TEMPERATURE_C,
        "database": database,
    }

    if "ionized_calcium" in value:
        # A measured ionized calcium makes total calcium and albumin unnecessary.
        for name in ("calcium", "albumin"):
            inputs.pop(name, None)
        inputs["calcium_basis"] = "ionized_calcium"
        calcium_mmol_l, baseline = _calcium_for_ionized(
            value["ionized_calcium"], phosphate_mmol_l=phosphate_mmol_l, **common)
        assumptions.append(
            "ultrafilterable calcium chosen so that the computed free Ca²⁺ equals the measured "
            "ionized calcium (the electrode's value read as a concentration)")
    else:
        inputs["calcium_basis"] = "total_calcium_and_albumin"
        bound = ALBUMIN_BOUND_CALCIUM_MG_PER_G * value["albumin"]
        if value["calcium"] <= bound:
            return ChemistryOutcome(
                None, ["ionized_calcium"],
                f"total calcium {value['calcium']:g} mg/dL is not above the albumin-bound "
                f"estimate {bound:.2f} mg/dL: a measured ionized calcium is needed")
        calcium_mmol_l = (value["calcium"] - bound) * _mmol_per_mg_dl("calcium")
        baseline = _saturation_indices(calcium_mmol_l=calcium_mmol_l,
                                       phosphate_mmol_l=phosphate_mmol_l, **common)
        assumptions.append(
            f"ultrafilterable calcium = total calcium − {ALBUMIN_BOUND_CALCIUM_MG_PER_G:g} × "
            "albumin (mg/dL per g/dL, the slope of the usual albumin correction, taken as the "
            "albumin-bound calcium); ignores pH-dependent binding and globulin-bound calcium; "
            "a measured ionized calcium is better")

    measured_chloride = latest["chloride"]
    inputs["chloride"] = _entry(value.get("chloride"), "mmol/L",
                                "measured" if measured_chloride else "not measured")
    inputs["ultrafilterable_mmol_l"] = {
        "calcium": round(calcium_mmol_l, 4), "phosphate": round(phosphate_mmol_l, 4),
        "magnesium": round(magnesium_mmol_l, 4), "chloride": round(baseline.chloride_mmol_l, 2),
    }
    assumptions += [
        "phosphate taken as wholly ultrafilterable (its protein-bound share is small)",
        f"ultrafilterable magnesium = {ULTRAFILTERABLE_MAGNESIUM_FRACTION:g} × serum magnesium "
        "(approximate share not bound to protein)",
        "bicarbonate taken as total dissolved inorganic carbon (total CO2)",
        f"chloride set to {baseline.chloride_mmol_l:.1f} mmol/L for electroneutrality, standing "
        "in for unmeasured anions"
        + (f" (measured {value['chloride']:g} mmol/L)" if measured_chloride else ""),
        "activity coefficients from the database's ion-association model; equilibrium only: "
        "no kinetics, no inhibitors (fetuin-A, pyrophosphate), no protein-mineral particles",
        "saturation index = log10(IAP/Ksp) per formula unit: "
        + "; ".join(f"{_PHASE_WORDS[pid]} {baseline.phase_sources[pid]}" for pid in PHASE_IDS),
    ]

    section: dict[str, Any] = {
        "database": database,
        "temperature_c": 37,
        **_rounded(baseline),
        "assumptions": assumptions,
        "what_if": _what_if(latest["phosphate"], case, calcium_mmol_l, common),
        "label": LABEL,
        "inputs": inputs,
    }
    section["reading"] = reading(section)
    return ChemistryOutcome(section)


def _missing(latest: dict[str, LabResult | None]) -> list[str]:
    """The analytes that must be measured and are not."""
    missing = []
    if latest["ionized_calcium"] is None:
        if latest["calcium"] is None:
            missing.append("calcium")
        elif latest["albumin"] is None:
            missing.append("albumin")
    return missing + [n for n in ("phosphate", "magnesium", "bicarbonate") if latest[n] is None]


def _what_if(phosphate: LabResult | None, case: Case, calcium_mmol_l: float,
             common: dict[str, Any]) -> dict[str, Any]:
    """The same indices with phosphate at the upper reference limit, when it is above it."""
    assert phosphate is not None
    if phosphate.reference_range is not None:
        upper, basis = phosphate.reference_range[1], "laboratory reference range"
    else:
        interval = _analyte("phosphate").reference_for(case.patient.sex)
        assert interval is not None  # the catalogue gives phosphate a typical adult range
        upper, basis = interval[1], "typical adult reference range"
    value = phosphate.canonical_value
    if value <= upper:
        return {"applied": False,
                "reason": f"phosphate {value:g} mg/dL is not above the upper reference limit "
                          f"{upper:g} mg/dL ({basis}): the what-if equals the baseline"}
    lowered = _saturation_indices(calcium_mmol_l=calcium_mmol_l,
                                  phosphate_mmol_l=upper * _mmol_per_mg_dl("phosphate"), **common)
    return {
        "applied": True,
        "scenario": "phosphate lowered to the upper reference limit (the aim of binders or diet), "
                    "calcium and everything else unchanged",
        "phosphate_mg_dl": upper,
        "basis": basis,
        **_rounded(lowered),
    }
