"""A case's labs → serum ultrafiltrate → the assessment's ``chemistry`` section.

The ultrafilterable composition (the part of serum not bound to protein) is what the calcium
phosphates see; how it is derived from routine labs, and the assumptions that costs, are listed
in every section and in ``docs/chemistry.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ectocalc.chemistry.engine import (
    DEFAULT_DATABASE,
    PHASE_IDS,
    ChemistryError,
    SpeciationResult,
)
from ectocalc.chemistry.engine import saturation_indices as _saturation_indices
from ectocalc.labs.catalogue import Catalogue
from ectocalc.model.case import Case, LabResult
from ectocalc.model.display import rounded

if TYPE_CHECKING:
    from ectocalc.knowledge import Knowledge

LABEL = "computed physicochemical index, not a calcification propensity (T50) measurement"

_UNITS = {  # the analytes read, in their canonical units
    "ionized_calcium": "mmol/L", "calcium": "mg/dL", "albumin": "g/dL", "phosphate": "mg/dL",
    "magnesium": "mg/dL", "bicarbonate": "mmol/L", "ph": "[pH]", "sodium": "mmol/L",
    "potassium": "mmol/L", "chloride": "mmol/L",
}

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


def _mmol_per_mg_dl(cat: Catalogue, analyte_id: str) -> float:
    si = cat.analytes[analyte_id].si
    assert si is not None and si.unit == "mmol/L", analyte_id  # catalogue invariant
    return si.factor


def _entry(value: float | None, unit: str, origin: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "origin": origin}


def _indices(result: SpeciationResult) -> dict[str, Any]:
    """The section's indices, at full precision (renderers round: :mod:`ectocalc.model.display`)."""
    return {
        "saturation_index": {pid: result.saturation_index[pid] for pid in PHASE_IDS},
        "ionic_strength": result.ionic_strength,
        "free_calcium_mmol_l": result.free_calcium_mmol_l,
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
    raise ChemistryError(f"could not match ionized calcium {ionized_mmol_l} mmol/L")


def reading(section: dict[str, Any], *, near_saturation: float) -> str:
    """One-line interpretation of a ``chemistry`` section.

    Examples
    --------
    >>> line = reading({"saturation_index": {"hydroxyapatite": 8.76, "octacalcium_phosphate": 0.12,
    ...     "beta_tcp": 1.05, "brushite": -0.61, "amorphous_calcium_phosphate": -1.81},
    ...     "what_if": {"applied": False}}, near_saturation=0.3)
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
    elif si["brushite"] >= -near_saturation:
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


def serum_chemistry(case: Case, *, knowledge: Knowledge,
                    database: str = DEFAULT_DATABASE) -> ChemistryOutcome:
    """Saturation of the patient's serum with respect to calcium phosphates, at 37 °C.

    Uses the latest result of each analyte. Calcium comes from a measured ionized calcium when
    there is one, otherwise from total calcium and albumin; phosphate, magnesium and bicarbonate
    are required. pH, sodium and potassium fall back to typical values, stated in
    ``assumptions``; chloride is always set by electroneutrality.

    Parameters
    ----------
    case : Case
        The patient case, labs in canonical units.
    knowledge : Knowledge
        The knowledge bundle (analyte catalogue: SI factors, reference ranges).
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
    >>> from ectocalc.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> si = serum_chemistry(case, knowledge=kb).section["saturation_index"]
    >>> si["brushite"] < 0 < si["hydroxyapatite"]
    True
    >>> serum_chemistry(Case(labs=case.labs[:3]), knowledge=kb).missing
    ['bicarbonate']
    """
    cat, model = knowledge.analytes, knowledge.chemistry
    defaults = model.defaults.model_dump()
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
        elif name in defaults:
            value[name] = defaults[name]
            inputs[name] = _entry(value[name], _UNITS[name], "default")
            shown = f"{value[name]:.2f}" if name == "ph" else f"{value[name]:g} {_UNITS[name]}"
            words = "pH" if name == "ph" else name
            assumptions.append(f"{words} not measured: {shown} assumed (typical value)")

    phosphate_mmol_l = value["phosphate"] * _mmol_per_mg_dl(cat, "phosphate")
    magnesium_mmol_l = (value["magnesium"] * _mmol_per_mg_dl(cat, "magnesium")
                        * model.ultrafilterable_magnesium_fraction)
    # Chloride is the measured value, else the middle of its reference interval; the charge is
    # not balanced on it: balancing would make chloride stand in for the unmeasured anions
    # (albumin, sulfate, organic anions) and push it to an unphysiological ~124 mmol/L.
    chloride_range = cat.analytes["chloride"].reference or (98.0, 107.0)
    chloride = value.get("chloride", round(sum(chloride_range) / 2, 1))
    # With the anions as given exceeding the cations there is no anion gap for the stand-in
    # anion to carry (PHREEQC cannot converge): chloride is then set by electroneutrality.
    calcium_estimate = (value["ionized_calcium"] if "ionized_calcium" in value else max(
        value["calcium"] - model.albumin_bound_calcium_mg_per_g * value["albumin"], 0.0)
        * _mmol_per_mg_dl(cat, "calcium"))
    anion_gap = (value["sodium"] + value["potassium"] + 2 * (calcium_estimate + magnesium_mmol_l)
                 - chloride - value["bicarbonate"]
                 - model.phosphate_mean_charge * phosphate_mmol_l)
    gap_balanced = anion_gap > 0
    common: dict[str, Any] = {
        "chloride_mmol_l": chloride if gap_balanced else None,
        "balance_unmeasured_anion": gap_balanced,
        "magnesium_mmol_l": magnesium_mmol_l, "bicarbonate_mmol_l": value["bicarbonate"],
        "ph": value["ph"], "sodium_mmol_l": value["sodium"],
        "potassium_mmol_l": value["potassium"], "temperature_c": model.temperature_c,
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
        bound = model.albumin_bound_calcium_mg_per_g * value["albumin"]
        if value["calcium"] <= bound:
            return ChemistryOutcome(
                None, ["ionized_calcium"],
                f"total calcium {value['calcium']:g} mg/dL is not above the albumin-bound "
                f"estimate {bound:.2f} mg/dL: a measured ionized calcium is needed")
        calcium_mmol_l = (value["calcium"] - bound) * _mmol_per_mg_dl(cat, "calcium")
        baseline = _saturation_indices(calcium_mmol_l=calcium_mmol_l,
                                       phosphate_mmol_l=phosphate_mmol_l, **common)
        assumptions.append(
            f"ultrafilterable calcium = total calcium − {model.albumin_bound_calcium_mg_per_g:g} × "
            "albumin (mg/dL per g/dL, the slope of the usual albumin correction, taken as the "
            "albumin-bound calcium); ignores pH-dependent binding and globulin-bound calcium; "
            "a measured ionized calcium is better")

    measured_chloride = latest["chloride"]
    inputs["chloride"] = _entry(value.get("chloride"), "mmol/L",
                                "measured" if measured_chloride else "not measured")
    inputs["ultrafilterable_mmol_l"] = {
        "calcium": calcium_mmol_l, "phosphate": phosphate_mmol_l,
        "magnesium": magnesium_mmol_l, "chloride": baseline.chloride_mmol_l,
    }
    assumptions += [
        "phosphate taken as wholly ultrafilterable (its protein-bound share is small)",
        f"ultrafilterable magnesium = {model.ultrafilterable_magnesium_fraction:g} × serum "
        "magnesium (approximate share not bound to protein)",
        "bicarbonate taken as total dissolved inorganic carbon (total CO2)",
        ((f"chloride {chloride:g} mmol/L as measured" if measured_chloride else
          f"chloride not measured: {chloride:g} mmol/L assumed (middle of the reference "
          "interval)")
         + "; for electroneutrality an inert monovalent stand-in anion carries the anion gap "
         "(albumin, sulfate, organic anions), not chloride (which it would push to an "
         "unphysiological ~124 mmol/L)"
         + (f" (measured {value['chloride']:g} mmol/L)" if measured_chloride else ""))
        if gap_balanced else
        (f"the anions as given exceed the cations (anion gap {anion_gap:.1f} mmol/L, phosphate "
         f"counted at charge {model.phosphate_mean_charge:g}): no stand-in anion can balance "
         f"them, so chloride is set by electroneutrality ({baseline.chloride_mmol_l:.1f} "
         "mmol/L in the model"
         + (f", measured {value['chloride']:g} mmol/L" if measured_chloride else "")
         + "); check the electrolytes"),
        "activity coefficients from the database's ion-association model; equilibrium only: "
        "no kinetics, no inhibitors (fetuin-A, pyrophosphate), no protein-mineral particles",
        "saturation index = log10(IAP/Ksp) per formula unit: "
        + "; ".join(f"{_PHASE_WORDS[pid]} {baseline.phase_sources[pid]}" for pid in PHASE_IDS),
    ]

    section: dict[str, Any] = {
        "database": database,
        "temperature_c": model.temperature_c,
        **_indices(baseline),
        "assumptions": assumptions,
        "what_if": _what_if(latest["phosphate"], case, cat, calcium_mmol_l, common),
        "label": LABEL,
        "inputs": inputs,
    }
    # The reading is shown text: it reads the indices as they are shown.
    shown = {key: section[key] for key in ("saturation_index", "what_if")}
    section["reading"] = reading(rounded(shown, prefix="chemistry"),
                                 near_saturation=model.near_brushite_saturation)
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


def _what_if(phosphate: LabResult | None, case: Case, cat: Catalogue, calcium_mmol_l: float,
             common: dict[str, Any]) -> dict[str, Any]:
    """The same indices with phosphate at the upper reference limit, when it is above it."""
    assert phosphate is not None
    if phosphate.reference_range is not None:
        upper, basis = phosphate.reference_range[1], "laboratory reference range"
    else:
        interval = cat.analytes["phosphate"].reference_for(case.patient.sex)
        assert interval is not None  # the catalogue gives phosphate a typical adult range
        upper, basis = interval[1], "typical adult reference range"
    value = phosphate.canonical_value
    if value <= upper:
        return {"applied": False,
                "reason": f"phosphate {value:g} mg/dL is not above the upper reference limit "
                          f"{upper:g} mg/dL ({basis}): the what-if equals the baseline"}
    lowered = _saturation_indices(
        calcium_mmol_l=calcium_mmol_l,
        phosphate_mmol_l=upper * _mmol_per_mg_dl(cat, "phosphate"), **common)
    return {
        "applied": True,
        "scenario": "phosphate lowered to the upper reference limit (the aim of binders or diet), "
                    "calcium and everything else unchanged",
        "phosphate_mg_dl": upper,
        "basis": basis,
        **_indices(lowered),
    }
