"""Derived laboratory indices of a case: corrected calcium, Ca×P, eGFR, KDIGO stages, TmP/GFR.

Each value comes with a :class:`Derivation` naming its method and source.
"""

from __future__ import annotations

from collections.abc import Sequence

from ectocalc.errors import InputError
from ectocalc.labs import equations as eq
from ectocalc.labs.catalogue import analyte, flag_value
from ectocalc.model.assessment import Derivation, Derived, LabReport
from ectocalc.model.case import Case

KDIGO_2012 = "KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1-150), unchanged in KDIGO 2024"
CORRECTED_CA_SOURCE = ("Albumin-corrected calcium, Ca + 0.8 x (4.0 - albumin g/dL) "
                       "(common clinical form; Payne 1973 used slope 1.0)")
CAXP_SOURCE = ("KDOQI 2003 (target < 55 mg2/dL2; > 70 classic metastatic-calcification threshold); "
               "KDIGO 2017 3.1.5: judge Ca and P individually")
TMP_SOURCE = "Walton & Bijvoet 1975 nomogram, as equations (references/clinical.md)"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def derive(case: Case, *, labs: Sequence[LabReport], on_dialysis: bool = False,
           recorded_ckd_stage: str | None = None, kidney_damage_marker: bool = False,
           acute_kidney_injury: bool = False) -> Derived:
    """Compute every derived index the case's labs allow.

    Parameters
    ----------
    case : Case
        The validated case.
    labs : sequence of LabReport
        The case's flagged lab reports (:func:`ectocalc.labs.results.report_labs`): calcium
        status is judged against the same ranges and flags.
    on_dialysis : bool
        Maintenance dialysis (from the history): the GFR category becomes ``G5D``.
    recorded_ckd_stage : str, optional
        A CKD stage recorded in the history (e.g. ``"4"``), used when no eGFR can be computed.
    kidney_damage_marker : bool
        A marker of kidney damage besides eGFR (e.g. a CKD diagnosis), so that G1/G2 count as CKD.
    acute_kidney_injury : bool
        Acute kidney injury in the history: without known CKD or dialysis, creatinine is not at
        steady state, so no CKD stage is derived from the eGFR.

    Raises
    ------
    InputError
        When creatinine or cystatin C is present but age or sex (needed by every eGFR
        equation) is missing.
    """
    out = Derived(on_dialysis=on_dialysis)
    _calcium(case, {report.analyte: report for report in labs}, out)
    _egfr(case, out)
    _stages(case, out, recorded_ckd_stage=recorded_ckd_stage,
            kidney_damage_marker=kidney_damage_marker,
            acute_kidney_injury=acute_kidney_injury)
    _tmp_gfr(case, out)
    return out


def _si_factor(analyte_id: str) -> float:
    """Factor from the analyte's canonical unit to its SI unit (the catalogue's)."""
    si = analyte(analyte_id).si
    assert si is not None, f"{analyte_id} has an SI unit in analytes.yaml"
    return si.factor


def _value(case: Case, analyte_id: str) -> float | None:
    result = case.latest(analyte_id)
    if result is None or result.canonical_unit != analyte(analyte_id).canonical_unit:
        return None
    return result.canonical_value


def _calcium(case: Case, reports: dict[str, LabReport], out: Derived) -> None:
    calcium, albumin = _value(case, "calcium"), _value(case, "albumin")
    ionized, phosphate = _value(case, "ionized_calcium"), _value(case, "phosphate")
    ca_for_product, product_basis = calcium, "total"
    if calcium is not None and albumin is not None:
        corrected = eq.corrected_calcium_mg_dl(calcium, albumin)
        out.corrected_calcium_mg_dl = round(corrected, 2)
        out.corrected_calcium_mmol_l = round(corrected * _si_factor("calcium"), 3)
        out.basis.append(Derivation(
            quantity="corrected_calcium_mg_dl", value=out.corrected_calcium_mg_dl, unit="mg/dL",
            method="Ca + 0.8 x (4.0 - albumin)", source=CORRECTED_CA_SOURCE,
            inputs={"calcium_mg_dl": _fmt(calcium), "albumin_g_dl": _fmt(albumin)},
        ))
        ca_for_product, product_basis = corrected, "corrected"
    if ionized is not None:
        out.ionized_calcium_mmol_l = round(ionized, 3)
        out.calcium_basis = "measured ionized calcium"
        out.calcium_status = reports["ionized_calcium"].flag
        out.notes.append("Measured ionized calcium is present: calcium status is judged on it, "
                         "not on albumin-corrected calcium (more reliable in CKD and "
                         "hypoalbuminaemia).")
    elif out.corrected_calcium_mg_dl is not None:
        out.calcium_basis = "albumin-corrected total calcium"
        out.calcium_status = flag_value(out.corrected_calcium_mg_dl,
                                        reports["calcium"].reference_range,
                                        analyte("calcium").critical)
    elif calcium is not None:
        out.calcium_basis = "total calcium (no albumin to correct it)"
        out.calcium_status = reports["calcium"].flag
        out.notes.append("Albumin is missing: total calcium is not corrected.")
    if ca_for_product is not None and phosphate is not None:
        product = eq.calcium_phosphate_product(ca_for_product, phosphate)
        out.calcium_phosphate_product_mg2_dl2 = round(product, 1)
        out.calcium_phosphate_product_mmol2_l2 = round(
            product * _si_factor("calcium") * _si_factor("phosphate"), 2)
        out.basis.append(Derivation(
            quantity="calcium_phosphate_product_mg2_dl2",
            value=out.calcium_phosphate_product_mg2_dl2, unit="mg2/dL2",
            method=f"{product_basis} calcium x phosphate; x 0.0806 for mmol2/L2",
            source=CAXP_SOURCE,
            inputs={"calcium_mg_dl": _fmt(ca_for_product), "phosphate_mg_dl": _fmt(phosphate)},
        ))


def _egfr(case: Case, out: Derived) -> None:
    creatinine, cystatin = _value(case, "creatinine"), _value(case, "cystatin_c")
    if creatinine is None and cystatin is None:
        return
    marker = "creatinine" if creatinine is not None else "cystatin C"
    patient = case.patient
    source = case.source or "case"
    if patient.age_years is None:
        raise InputError(source, "patient.age_years",
                         f"age is required for eGFR ({marker} is present)")
    age = patient.age_years
    if age < eq.ADULT_AGE_YEARS:
        out.notes.append(f"eGFR not computed: the CKD-EPI equations are for adults (age >= 18); "
                         f"the patient is {age:g} years old (a paediatric equation such as "
                         f"CKiD U25 is not implemented).")
        return
    if patient.sex is None:
        raise InputError(source, "patient.sex", f"sex is required for eGFR ({marker} is present)")
    sex = patient.sex
    candidates: dict[str, tuple[float, dict[str, str]]] = {}
    if creatinine is not None:
        candidates[eq.CKD_EPI_2021_CR] = (
            eq.egfr_ckd_epi_2021_creatinine(creatinine, age_years=age, sex=sex),
            {"creatinine_mg_dl": _fmt(creatinine)})
    if cystatin is not None:
        candidates[eq.CKD_EPI_2012_CYS] = (
            eq.egfr_ckd_epi_2012_cystatin(cystatin, age_years=age, sex=sex),
            {"cystatin_c_mg_l": _fmt(cystatin)})
    if creatinine is not None and cystatin is not None:
        candidates[eq.CKD_EPI_2021_CR_CYS] = (
            eq.egfr_ckd_epi_2021_creatinine_cystatin(creatinine, cystatin, age_years=age, sex=sex),
            {"creatinine_mg_dl": _fmt(creatinine), "cystatin_c_mg_l": _fmt(cystatin)})
    out.egfr_by_equation = {name: round(value, 2) for name, (value, _) in candidates.items()}
    # Combined creatinine-cystatin C is the most accurate (KDIGO 2024); then creatinine.
    best = next(n for n in (eq.CKD_EPI_2021_CR_CYS, eq.CKD_EPI_2021_CR, eq.CKD_EPI_2012_CYS)
                if n in candidates)
    value, inputs = candidates[best]
    out.egfr_ml_min_1_73m2 = round(value, 2)
    out.egfr_equation = best
    out.basis.append(Derivation(
        quantity="egfr_ml_min_1_73m2", value=out.egfr_ml_min_1_73m2, unit="mL/min/1.73m2",
        method=best, source=eq.EGFR_SOURCES[best],
        inputs={**inputs, "age_years": _fmt(age), "sex": sex},
    ))
    if out.on_dialysis:
        out.notes.append("On dialysis: eGFR equations do not estimate kidney function under "
                         "dialysis; the value is shown for completeness only.")


def _stages(case: Case, out: Derived, *, recorded_ckd_stage: str | None,
            kidney_damage_marker: bool, acute_kidney_injury: bool) -> None:
    acr = _value(case, "urine_albumin_creatinine_ratio")
    if acr is not None:
        out.albuminuria_stage = eq.albuminuria_category(acr)
        out.basis.append(Derivation(
            quantity="albuminuria_stage", value=out.albuminuria_stage, unit=None,
            method="ACR A1 < 30, A2 30-300, A3 > 300 mg/g", source=KDIGO_2012,
            inputs={"acr_mg_g": _fmt(acr)}))
    damage = kidney_damage_marker or (acr is not None and acr >= 30)
    if out.on_dialysis:
        out.ckd_stage = "G5D"
        method = "maintenance dialysis in the history"
    elif acute_kidney_injury and not kidney_damage_marker:
        if out.egfr_ml_min_1_73m2 is not None:
            out.notes.append("Acute kidney injury: creatinine is not at steady state, so the eGFR "
                             "does not stage CKD (KDIGO 2012); no CKD stage is assigned.")
        return
    elif out.egfr_ml_min_1_73m2 is not None:
        category = eq.gfr_category(out.egfr_ml_min_1_73m2)
        if category in {"G1", "G2"} and not damage:
            out.notes.append(f"eGFR category {category} without a marker of kidney damage is "
                             "not CKD (KDIGO 2012).")
            return
        out.ckd_stage = category
        method = f"KDIGO GFR category of eGFR {out.egfr_ml_min_1_73m2:g}"
        out.notes.append("A single eGFR does not establish chronicity: CKD needs abnormal "
                         "kidney function or damage for more than 3 months (KDIGO 2012).")
    elif recorded_ckd_stage:
        out.ckd_stage = _stage_name(recorded_ckd_stage)
        method = "CKD stage recorded in the history (no creatinine or cystatin C to compute eGFR)"
        if recorded_ckd_stage.upper() == "3":
            # KDIGO split stage 3 into G3a and G3b; they share the 3.1.2 schedule.
            out.notes.append("CKD stage 3 recorded without 3a or 3b: taken as G3a, the milder "
                             "category; measure creatinine to stage it.")
    else:
        return
    out.basis.append(Derivation(quantity="ckd_stage", value=out.ckd_stage, method=method,
                                source=KDIGO_2012))


def _stage_name(recorded: str) -> str:
    """KDIGO name of a recorded stage (a bare stage 3 becomes G3a).

    Examples
    --------
    >>> [_stage_name(s) for s in ("4", "3B", "3", "5D", "G2")]
    ['G4', 'G3b', 'G3a', 'G5D', 'G2']
    """
    recorded = recorded.upper().removeprefix("G")
    if recorded.endswith("D"):
        return "G5D"
    if recorded == "3":
        return "G3a"
    return "G" + recorded[0] + recorded[1:].lower()


def _tmp_gfr(case: Case, out: Derived) -> None:
    values = {name: _value(case, name) for name in
              ("phosphate", "urine_phosphate", "creatinine", "urine_creatinine")}
    if any(v is None for v in values.values()):
        return
    trp, tmp = eq.tubular_phosphate_reabsorption(
        serum_phosphate=values["phosphate"], urine_phosphate=values["urine_phosphate"],
        serum_creatinine=values["creatinine"], urine_creatinine=values["urine_creatinine"])
    out.tubular_phosphate_reabsorption = round(trp, 3)
    out.tmp_gfr_mg_dl = round(tmp, 2)
    out.tmp_gfr_mmol_l = round(tmp * _si_factor("phosphate"), 3)
    out.basis.append(Derivation(
        quantity="tmp_gfr_mg_dl", value=out.tmp_gfr_mg_dl, unit="mg/dL",
        method="TRP = 1 - (Up/Pp)(Pcr/Ucr); TmP/GFR = TRP x Pp if TRP <= 0.86 else "
               "0.3 TRP/(1 - 0.8 TRP) x Pp", source=TMP_SOURCE,
        inputs={k: _fmt(v) for k, v in values.items() if v is not None}))
