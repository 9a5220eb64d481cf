"""Derived laboratory indices of a case: corrected calcium, Ca×P, eGFR, KDIGO stages, TmP/GFR.

Each value comes with a :class:`Derivation` naming its method and source.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime as DateTime
from datetime import time as Time
from datetime import timedelta as TimeDelta
from typing import TYPE_CHECKING, Literal

from ectocalc.errors import InputError
from ectocalc.labs import equations as eq
from ectocalc.labs.catalogue import Catalogue, flag_value
from ectocalc.labs.results import age_at_sample
from ectocalc.model.assessment import Derivation, Derived, LabReport, UrineCalciumRatio
from ectocalc.model.case import Case, LabResult
from ectocalc.model.display import age_words, reported
from ectocalc.vocabulary import LabFlag, parse_ckd_stage

ChronicityBy = Literal["dialysis", "transplant", "history", "egfr"]

if TYPE_CHECKING:
    from ectocalc.knowledge import Knowledge
    from ectocalc.knowledge.schema import AcuteKidneyInjury

KDIGO_2012 = "KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:1-150), unchanged in KDIGO 2024"
CORRECTED_CA_SOURCE = ("Albumin-corrected calcium, Ca + 0.8 x (4.0 - albumin g/dL) "
                       "(common clinical form; Payne 1973 used slope 1.0)")
CAXP_SOURCE = ("KDOQI 2003 (target < 55 mg2/dL2; > 70 classic metastatic-calcification threshold); "
               "KDIGO 2017 3.1.5: judge Ca and P individually")
TMP_SOURCE = "Walton & Bijvoet 1975 nomogram, as equations (references/clinical.md)"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def derive(case: Case, *, knowledge: Knowledge, labs: Sequence[LabReport],
           on_dialysis: bool = False, recorded_ckd_stage: str | None = None,
           kidney_damage_marker: bool = False, acute_kidney_injury: bool = False,
           kidney_transplant: bool = False) -> Derived:
    """Compute every derived index the case's labs allow.

    Parameters
    ----------
    case : Case
        The validated case.
    knowledge : Knowledge
        The knowledge bundle (its analyte catalogue gives units and limits).
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
        steady state, so no CKD stage is derived from the eGFR. A creatinine rise meeting the
        KDIGO 2012 AKI criteria in the case's own results has the same effect, known CKD or not.
    kidney_transplant : bool
        A kidney transplant recipient (current): the GFR category carries the suffix T
        (``G1T`` ... ``G5T``, KDIGO 2012), and the transplant counts as a kidney-damage marker.

    Under 18 no CKD stage is given and CKD-EPI is not used: the bedside Schwartz equation
    (CKiD 2009) gives the eGFR when ``patient.height_cm`` is known.

    Raises
    ------
    InputError
        When creatinine or cystatin C is present but age or sex (needed by every eGFR
        equation) is missing.
    """
    out = Derived(on_dialysis=on_dialysis)
    cat = knowledge.analytes
    _calcium(case, cat, {report.analyte: report for report in labs}, out)
    _egfr(case, cat, out)
    out.acute_kidney_injury = creatinine_aki(case, knowledge)
    _stages(case, knowledge, out, recorded_ckd_stage=recorded_ckd_stage,
            kidney_damage_marker=kidney_damage_marker or kidney_transplant,
            acute_kidney_injury=acute_kidney_injury)
    if kidney_transplant and out.ckd_stage is not None and not out.on_dialysis:
        out.ckd_stage += "T"
        for item in out.basis:  # the derivation shows the stage the JSON reports (G2T)
            if item.quantity == "ckd_stage":
                item.value = out.ckd_stage
        out.notes.append("Kidney transplant recipient: the GFR category carries the suffix T "
                         "(KDIGO 2012); the post-transplant CKD-MBD care applies (KDIGO 2017 "
                         "chapter 5).")
    chronicity = _chronicity(case, knowledge, out, stated=kidney_damage_marker,
                             transplant=kidney_transplant)
    if chronicity is not None:
        out.ckd_chronicity_by, out.ckd_chronicity = chronicity
    if out.ckd_stage is not None and out.ckd_chronicity is None:
        out.notes.append("Chronicity not established (a single eGFR, or reduced results less "
                         "than 90 days apart): CKD needs abnormal kidney function or damage for "
                         "more than 3 months (KDIGO 2012); the CKD-MBD certainty and the "
                         "monitoring schedule wait for it.")
    _tmp_gfr(case, cat, out)
    _urine_indices(case, knowledge, out)
    _attach_input_refs(case, cat, out)
    return out


_UNIT_SUFFIXES = ("_mg_dl", "_g_dl", "_mg_l", "_mg_g")
_INPUT_ALIASES = {"acr_mg_g": "urine_albumin_creatinine_ratio"}


def _attach_input_refs(case: Case, cat: Catalogue, out: Derived) -> None:
    """Point each derivation at the results it read: the latest result of each analyte named
    by its ``inputs`` (``calcium_mg_dl`` is calcium), by input path and FHIR resource id."""
    for derivation in out.basis:
        refs: list[str] = []
        for key in derivation.inputs:
            analyte = _INPUT_ALIASES.get(key) or next(
                (key.removesuffix(s) for s in _UNIT_SUFFIXES if key.endswith(s)), key)
            result = case.latest(analyte) if analyte in cat.analytes else None
            if result is not None:
                refs += [r for r in (result.input_ref, result.resource_id) if r]
        derivation.input_refs = list(dict.fromkeys(refs))


def _when(case: Case, result: LabResult) -> DateTime | None:
    """When a result was taken: its date-time, its date (00:00), else the case date."""
    if result.taken_at is not None:
        return result.taken_at
    day = result.date or case.date
    return None if day is None else DateTime.combine(day, Time.min)


def creatinine_aki(case: Case, knowledge: Knowledge) -> str | None:
    """Acute kidney injury by the KDIGO 2012 creatinine criteria (AKI guideline 2.1.1), staged.

    The latest creatinine against earlier ones: a rise of at least 0.3 mg/dL within 48 hours,
    or to at least 1.5 times a value from the prior 7 days (``definitions.yaml``); the stage
    (2.1.2) is the rise over the lowest value of those 7 days. Undated results are taken as of the
    case date; results with dates but no times count as within 48 hours when at most 2 days
    apart (the safe reading). Two timed results of the same moment (overlapping panels) are
    not a rise: when they differ, that is a laboratory conflict (``lab_conflict``). Returns
    the evidence, or None.

    Examples
    --------
    >>> from datetime import date
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.labs.results import make_lab_result
    >>> def cr(v, d=None):
    ...     return make_lab_result(source="c", field="labs[0]", analyte_name="creatinine",
    ...                            value=v, unit="mg/dL", date=d)
    >>> case = Case(date=date(2026, 10, 3), labs=[cr(0.9, date(2026, 10, 1)), cr(2.6)])
    >>> creatinine_aki(case, load_knowledge())
    'creatinine 0.9 -> 2.6 mg/dL within 2 days (rise of at least 0.3 mg/dL within 48 h), KDIGO \
stage 2; an undated result is taken as of the case date: confirm when it was measured'
    """
    rule = knowledge.definitions.acute_kidney_injury
    unit = knowledge.analytes.analytes["creatinine"].canonical_unit
    series = sorted(((when, r.canonical_value, r.date is None and r.taken_at is None)
                     for r in case.labs
                     if r.analyte == "creatinine" and r.canonical_unit == unit
                     and (when := _when(case, r)) is not None), key=lambda wv: wv[0])
    if len(series) < 2:
        return None
    last_when, last, last_undated = series[-1]
    timed = all(r.taken_at is not None for r in case.labs if r.analyte == "creatinine")
    for when, value, undated in series[:-1]:
        gap = last_when - when
        if timed and not gap:
            continue  # two results of one moment (overlapping panels): a conflict, not a rise
        days = gap.days + gap.seconds / 86400
        span = (f"{gap.total_seconds() / 3600:.0f} hours" if timed
                else f"{gap.days} day{'s' if gap.days != 1 else ''}")
        # An undated result is placed at the case date: say so, the timing is an assumption.
        assumed = ("; an undated result is taken as of the case date: confirm when it was "
                   "measured" if last_undated or undated else "")
        within = (gap <= TimeDelta(hours=rule.rise_within_hours) if timed
                  else days <= rule.rise_within_hours / 24)
        if last - value >= rule.rise_mg_dl - 1e-9 and within:
            met = (f"rise of at least {rule.rise_mg_dl:g} mg/dL within "
                   f"{rule.rise_within_hours:g} h")
        elif last >= rule.ratio * value - 1e-9 and days <= rule.ratio_within_days:
            met = (f"at least {rule.ratio:g} x baseline within {rule.ratio_within_days:g} "
                   f"days")
        else:
            continue
        baseline = min(v for w, v, _ in series[:-1]
                       if (last_when - w).days <= rule.ratio_within_days)
        stage = _aki_stage(last, last / baseline, rule)
        return (f"creatinine {value:g} -> {last:g} mg/dL within {span} ({met}), KDIGO stage "
                f"{stage}{assumed}")
    return None


def _aki_stage(creatinine: float, ratio: float, rule: AcuteKidneyInjury) -> int:
    """KDIGO 2012 AKI stage (2.1.2) of a creatinine ``ratio`` x its baseline."""
    return next((s.stage for s in rule.stages
                 if ratio >= s.ratio_at_least - 1e-9
                 or (s.creatinine_at_least is not None
                     and creatinine >= s.creatinine_at_least - 1e-9)), 1)


def _adult_egfr_series(case: Case, cat: Catalogue) -> list[tuple[DateTime, float, float]]:
    """(when, CKD-EPI 2021 eGFR, creatinine mg/dL) of every dated creatinine of an adult of known
    sex, in time order; empty otherwise."""
    patient = case.patient
    if patient.age_years is None or patient.age_years < eq.ADULT_AGE_YEARS or patient.sex is None:
        return []
    unit = cat.analytes["creatinine"].canonical_unit
    sex = patient.sex
    return sorted((when, eq.egfr_ckd_epi_2021_creatinine(
                       r.canonical_value, age_years=age_at_sample(case, r), sex=sex),
                   r.canonical_value)
                  for r in case.labs if r.analyte == "creatinine" and r.canonical_unit == unit
                  and (when := _when(case, r)) is not None)


def _recently_normal(case: Case, knowledge: Knowledge) -> str | None:
    """Evidence that the latest reduced eGFR is acute kidney disease, not CKD, or None.

    Kidney function was normal less than 3 months before it; or it is the only reduced result,
    after a normal one at most ``presumed_baseline_days`` before, with creatinine at least the
    AKI ratio (1.5) times that presumed baseline (KDIGO 2012 AKI 2.1.1: a baseline "known or
    presumed"): a single reduced eGFR at an acute rise does not stage CKD.
    """
    rule = knowledge.definitions.kidney_function
    series = _adult_egfr_series(case, knowledge.analytes)
    if len(series) < 2 or series[-1][1] >= rule.impaired_egfr_below:
        return None
    last, _, last_creatinine = series[-1]
    earlier = series[:-1]
    normal = [(when, egfr) for when, egfr, _ in earlier
              if egfr >= rule.impaired_egfr_below and (last - when).days < rule.chronic_after_days]
    if normal:
        when, egfr = normal[-1]
        return (f"eGFR {reported('derived.egfr_ml_min_1_73m2', egfr):g} on {when.date()}, "
                f"{(last - when).days} days before the latest")
    when, egfr, creatinine = earlier[-1]
    ratio = knowledge.definitions.acute_kidney_injury.ratio
    if (all(e >= rule.impaired_egfr_below for _, e, _ in earlier)
            and (last - when).days <= rule.presumed_baseline_days
            and last_creatinine >= ratio * creatinine - 1e-9):
        return (f"eGFR {reported('derived.egfr_ml_min_1_73m2', egfr):g} on {when.date()}, "
                f"{(last - when).days} days before the latest, the only reduced result, with "
                f"creatinine {creatinine:g} -> {last_creatinine:g} mg/dL (at least {ratio:g} x "
                "a presumed baseline)")
    return None


def _chronicity(case: Case, knowledge: Knowledge, out: Derived, *, stated: bool,
                transplant: bool) -> tuple[ChronicityBy, str] | None:
    """What makes reduced kidney function chronic (KDIGO 2012: > 3 months), as an id with its
    evidence, or None."""
    if out.on_dialysis:
        return "dialysis", "maintenance dialysis"
    if transplant:
        return "transplant", "kidney transplant recipient"
    if stated:
        return "history", "chronic kidney disease stated in the history"
    rule = knowledge.definitions.kidney_function
    low = [(when, egfr) for when, egfr, _ in _adult_egfr_series(case, knowledge.analytes)
           if egfr < rule.impaired_egfr_below]
    if len(low) >= 2 and (low[-1][0] - low[0][0]).days >= rule.chronic_after_days:
        return "egfr", (f"eGFR below {rule.impaired_egfr_below:g} on {low[0][0].date()} and "
                        f"{low[-1][0].date()}, {(low[-1][0] - low[0][0]).days} days apart "
                        "(KDIGO 2012: more than 3 months)")
    return None


def _si_factor(cat: Catalogue, analyte_id: str) -> float:
    """Factor from the analyte's canonical unit to its SI unit (the catalogue's)."""
    si = cat.analytes[analyte_id].si
    assert si is not None, f"{analyte_id} has an SI unit in analytes.yaml"
    return si.factor


def _value(case: Case, cat: Catalogue, analyte_id: str) -> float | None:
    result = case.latest(analyte_id)
    if result is None or result.canonical_unit != cat.analytes[analyte_id].canonical_unit:
        return None
    return result.canonical_value


def _calcium(case: Case, cat: Catalogue, reports: dict[str, LabReport], out: Derived) -> None:
    calcium, albumin = _value(case, cat, "calcium"), _value(case, cat, "albumin")
    ionized, phosphate = _value(case, cat, "ionized_calcium"), _value(case, cat, "phosphate")
    ca_for_product, product_basis = calcium, "total"
    if calcium is not None and albumin is not None:
        corrected = eq.corrected_calcium_mg_dl(calcium, albumin)
        out.corrected_calcium_mg_dl = corrected
        out.corrected_calcium_mmol_l = corrected * _si_factor(cat, "calcium")
        out.basis.append(Derivation(
            quantity="corrected_calcium_mg_dl", value=out.corrected_calcium_mg_dl, unit="mg/dL",
            method="Ca + 0.8 x (4.0 - albumin)", source=CORRECTED_CA_SOURCE,
            inputs={"calcium_mg_dl": _fmt(calcium), "albumin_g_dl": _fmt(albumin)},
        ))
        ca_for_product, product_basis = corrected, "corrected"
    if ionized is not None:
        out.ionized_calcium_mmol_l = ionized
        out.calcium_basis = "measured ionized calcium"
        out.calcium_status = reports["ionized_calcium"].flag
        out.notes.append("Measured ionized calcium is present: calcium status is judged on it, "
                         "not on albumin-corrected calcium (more reliable in CKD and "
                         "hypoalbuminaemia).")
    elif out.corrected_calcium_mg_dl is not None:
        out.calcium_basis = "albumin-corrected total calcium"
        out.calcium_status = corrected_calcium_flag(out.corrected_calcium_mg_dl,
                                                    reports["calcium"], cat)
    elif calcium is not None:
        out.calcium_basis = "total calcium (no albumin to correct it)"
        out.calcium_status = reports["calcium"].flag
        out.notes.append("Albumin is missing: total calcium is not corrected.")
    if ca_for_product is not None and phosphate is not None:
        product = eq.calcium_phosphate_product(ca_for_product, phosphate)
        out.calcium_phosphate_product_mg2_dl2 = product
        out.calcium_phosphate_product_mmol2_l2 = (
            product * _si_factor(cat, "calcium") * _si_factor(cat, "phosphate"))
        out.basis.append(Derivation(
            quantity="calcium_phosphate_product_mg2_dl2",
            value=out.calcium_phosphate_product_mg2_dl2, unit="mg2/dL2",
            method=f"{product_basis} calcium x phosphate; x 0.0806 for mmol2/L2",
            source=CAXP_SOURCE,
            inputs={"calcium_mg_dl": _fmt(ca_for_product), "phosphate_mg_dl": _fmt(phosphate)},
        ))


def corrected_calcium_flag(corrected_mg_dl: float, calcium: LabReport,
                           catalogue: Catalogue) -> LabFlag | None:
    """Flag of an albumin-corrected calcium (mg/dL): against the range its total calcium was
    judged by (:func:`~ectocalc.labs.results.report_labs`: the laboratory's, else the age- and
    sex-partitioned interval under 18, else the adult one), with calcium's critical limits.

    Judged as reported (:func:`~ectocalc.model.display.reported`), so the flag agrees with the
    number shown beside it. The assessment and the patient record both flag through here.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> from ectocalc.labs.results import report_labs
    >>> from ectocalc.model.case import Patient
    >>> kb = load_knowledge()
    >>> calcium = LabResult(analyte="calcium", value=9.0, unit="mg/dL", canonical_value=9.0,
    ...                     canonical_unit="mg/dL")
    >>> def flag(age):  # 9.0 corrected: below the 9.2-10.5 mg/dL of ages 1 to <19 (CALIPER)
    ...     case = Case(patient=Patient(age_years=age, sex="female"), labs=[calcium])
    ...     return corrected_calcium_flag(9.0, report_labs(case, knowledge=kb)[0], kb.analytes)
    >>> flag(10), flag(50)
    ('low', 'normal')
    """
    return flag_value(reported("derived.corrected_calcium_mg_dl", corrected_mg_dl),
                      calcium.reference_range, catalogue.analytes["calcium"].critical)


def _egfr(case: Case, cat: Catalogue, out: Derived) -> None:
    creatinine, cystatin = _value(case, cat, "creatinine"), _value(case, cat, "cystatin_c")
    if creatinine is None and cystatin is None:
        return
    marker = "creatinine" if creatinine is not None else "cystatin C"
    patient = case.patient
    source = case.source or "case"
    if patient.age_years is None:
        raise InputError(source, "patient.age_years",
                         f"age is required for eGFR ({marker} is present)")
    age = age_at_sample(case, case.latest("creatinine" if creatinine is not None
                                            else "cystatin_c"))
    if age < eq.ADULT_AGE_YEARS:
        _egfr_child(case, creatinine, out, age=age)
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
    out.egfr_by_equation = {name: value for name, (value, _) in candidates.items()}
    # Combined creatinine-cystatin C is the most accurate (KDIGO 2024); then creatinine.
    best = next(n for n in (eq.CKD_EPI_2021_CR_CYS, eq.CKD_EPI_2021_CR, eq.CKD_EPI_2012_CYS)
                if n in candidates)
    value, inputs = candidates[best]
    out.egfr_ml_min_1_73m2 = value
    out.egfr_equation = best
    out.basis.append(Derivation(
        quantity="egfr_ml_min_1_73m2", value=out.egfr_ml_min_1_73m2, unit="mL/min/1.73m2",
        method=best, source=eq.EGFR_SOURCES[best],
        inputs={**inputs, "age_years": _fmt(age), "sex": sex},
    ))
    _bound_note(case, out)
    if out.on_dialysis:
        out.notes.append("On dialysis: eGFR equations do not estimate kidney function under "
                         "dialysis; the value is shown for completeness only.")


def _bound_note(case: Case, out: Derived) -> None:
    """Say so when the eGFR was computed from a creatinine or cystatin C that is a bound."""
    for analyte in ("creatinine", "cystatin_c"):
        result = case.latest(analyte)
        if result is not None and result.comparator is not None and out.egfr_equation:
            side = "higher" if result.comparator in ("<", "<=") else "lower"
            out.notes.append(f"{analyte.replace('_', ' ')} is a bound ({result.comparator} "
                             f"{result.value:g} {result.unit}): the eGFR is computed from the "
                             f"bound, and the true eGFR is {side}.")


def _egfr_child(case: Case, creatinine: float | None, out: Derived, *, age: float) -> None:
    """Bedside Schwartz eGFR (CKiD 2009) for a child aged 1 or over with a height (``age`` at
    the sample); CKD-EPI is adult-only."""
    height = case.patient.height_cm
    shown = age_words(age)
    if age < eq.SCHWARTZ_MIN_AGE_YEARS:
        out.notes.append(f"eGFR not computed: the patient is {shown} old; the bedside "
                         f"Schwartz equation was derived in children aged 1 to 16 (CKiD 2009), "
                         f"and in the first year GFR is still maturing (creatinine first "
                         f"reflects the mother's). Judge creatinine against its age interval.")
        return
    if creatinine is None or height is None:
        out.notes.append(f"eGFR not computed: CKD-EPI is for adults (age >= 18) and the patient "
                         f"is {shown} old; the bedside Schwartz equation (CKiD 2009) needs "
                         f"creatinine and patient.height_cm.")
        return
    value = eq.egfr_schwartz_bedside(creatinine, height_cm=height)
    out.egfr_ml_min_1_73m2 = value
    out.egfr_equation = eq.SCHWARTZ_BEDSIDE
    out.egfr_by_equation = {eq.SCHWARTZ_BEDSIDE: value}
    out.basis.append(Derivation(
        quantity="egfr_ml_min_1_73m2", value=out.egfr_ml_min_1_73m2, unit="mL/min/1.73m2",
        method="0.413 x height (cm) / creatinine (mg/dL)",
        source=eq.EGFR_SOURCES[eq.SCHWARTZ_BEDSIDE],
        inputs={"creatinine_mg_dl": _fmt(creatinine), "height_cm": _fmt(height),
                "age_years": _fmt(age)}))


def _stages(case: Case, knowledge: Knowledge, out: Derived, *, recorded_ckd_stage: str | None,
            kidney_damage_marker: bool, acute_kidney_injury: bool) -> None:
    acr = _value(case, knowledge.analytes, "urine_albumin_creatinine_ratio")
    if acr is not None:
        out.albuminuria_stage = eq.albuminuria_category(acr)
        out.basis.append(Derivation(
            quantity="albuminuria_stage", value=out.albuminuria_stage, unit=None,
            method="ACR A1 < 30, A2 30-300, A3 > 300 mg/g", source=KDIGO_2012,
            inputs={"acr_mg_g": _fmt(acr)}))
    damage = kidney_damage_marker or (acr is not None and acr >= 30)
    if (case.patient.age_years is not None
            and case.patient.age_years < eq.ADULT_AGE_YEARS):
        # CONTRACT §3: ckd_stage is null under 18, on dialysis too; the rules still read the
        # dialysis (reasoning/facts.py keeps it and ranks it as G5D).
        out.notes.append("Under 18: no CKD stage is assigned here (adult KDIGO categories; "
                         "paediatric nephrology stages children)"
                         + ("; the child's maintenance dialysis is still used by the rules."
                            if out.on_dialysis else "."))
        return
    if out.on_dialysis:
        out.ckd_stage = "G5D"
        method = "maintenance dialysis in the history"
    elif out.acute_kidney_injury is not None or (acute_kidney_injury
                                                 and not kidney_damage_marker):
        if out.acute_kidney_injury is not None:
            out.notes.append(f"Acute kidney injury (KDIGO 2012 AKI 2.1.1): "
                             f"{out.acute_kidney_injury}.")
        if out.egfr_ml_min_1_73m2 is not None:
            out.notes.append("Acute kidney injury: creatinine is not at steady state, so the eGFR "
                             "does not stage CKD (KDIGO 2012); no CKD stage is derived from it.")
        if not (recorded_ckd_stage and out.acute_kidney_injury is not None):
            return
        out.ckd_stage = parse_ckd_stage(recorded_ckd_stage)
        method = "CKD stage recorded in the history (eGFR not at steady state during AKI)"
    elif out.egfr_ml_min_1_73m2 is not None:
        egfr = reported("derived.egfr_ml_min_1_73m2", out.egfr_ml_min_1_73m2)
        category = eq.gfr_category(egfr)
        if category in {"G1", "G2"} and not damage:
            out.notes.append(f"eGFR category {category} without a marker of kidney damage is "
                             "not CKD (KDIGO 2012).")
            return
        recent = None if kidney_damage_marker else _recently_normal(case, knowledge)
        if recent is not None:
            out.notes.append(f"Kidney function was recently normal ({recent}): "
                             f"the reduced eGFR is acute kidney disease, not CKD (KDIGO 2012: "
                             f"CKD needs more than 3 months); no CKD stage is derived from it.")
            return
        out.ckd_stage = category
        method = f"KDIGO GFR category of eGFR {egfr:g}"
    elif recorded_ckd_stage:
        out.ckd_stage = parse_ckd_stage(recorded_ckd_stage)
        method = "CKD stage recorded in the history (no creatinine or cystatin C to compute eGFR)"
        if recorded_ckd_stage.upper() == "3":
            # KDIGO split stage 3 into G3a and G3b; they share the 3.1.2 schedule.
            out.notes.append("CKD stage 3 recorded without 3a or 3b: taken as G3a, the milder "
                             "category; measure creatinine to stage it.")
    else:
        return
    out.basis.append(Derivation(quantity="ckd_stage", value=out.ckd_stage, method=method,
                                source=KDIGO_2012))


def _tmp_gfr(case: Case, cat: Catalogue, out: Derived) -> None:
    measured = {name: _value(case, cat, name) for name in
                ("phosphate", "urine_phosphate", "creatinine", "urine_creatinine")}
    values = {name: v for name, v in measured.items() if v is not None}
    if len(values) < len(measured):
        return
    trp, tmp = eq.tubular_phosphate_reabsorption(
        serum_phosphate=values["phosphate"], urine_phosphate=values["urine_phosphate"],
        serum_creatinine=values["creatinine"], urine_creatinine=values["urine_creatinine"])
    out.tubular_phosphate_reabsorption = trp
    out.tmp_gfr_mg_dl = tmp
    out.tmp_gfr_mmol_l = tmp * _si_factor(cat, "phosphate")
    out.basis.append(Derivation(
        quantity="tmp_gfr_mg_dl", value=out.tmp_gfr_mg_dl, unit="mg/dL",
        method="TRP = 1 - (Up/Pp)(Pcr/Ucr); TmP/GFR = TRP x Pp if TRP <= 0.86 else "
               "0.3 TRP/(1 - 0.8 TRP) x Pp", source=TMP_SOURCE,
        inputs={k: _fmt(v) for k, v in values.items() if v is not None}))


def _urine_indices(case: Case, knowledge: Knowledge, out: Derived) -> None:
    """Urine calcium/creatinine ratio (judged for age), calcium/creatinine clearance ratio and
    fractional excretion of phosphate, from the latest spot urine and serum values.

    The cut-offs and their sources are in ``definitions.yaml`` (urine_indices); without that
    section nothing is derived.
    """
    cat, indices = knowledge.analytes, knowledge.definitions.urine_indices
    values = {name: _value(case, cat, name) for name in
              ("urine_calcium", "urine_creatinine", "urine_phosphate", "calcium", "creatinine",
               "phosphate")}
    ucr = values["urine_creatinine"]
    if indices is None or ucr is None or ucr <= 0:
        return
    uca, up = values["urine_calcium"], values["urine_phosphate"]
    sca, scr, sp = values["calcium"], values["creatinine"], values["phosphate"]
    if uca is not None:
        mg_mg = eq.urine_calcium_creatinine_ratio(uca, ucr)
        ratio = UrineCalciumRatio(mg_mg=mg_mg,
                                  mmol_mmol=mg_mg * eq.CREATININE_PER_CALCIUM_MOLAR_MASS)
        age = case.patient.age_years
        band = None if age is None else next(
            (b for b in indices.calcium_creatinine_ratio if b.age[0] <= age < b.age[1]), None)
        source = "Spot urine calcium / urine creatinine (mg/mg; x 2.822 for mmol/mmol)"
        if band is not None:
            ratio.upper_limit_mmol_mmol = band.upper_mmol_mmol
            ratio.age_band = f"{band.age[0]:g}-{band.age[1]:g} y"
            ratio.flag = "high" if ratio.mmol_mmol > band.upper_mmol_mmol else "normal"
            source += f"; upper limit for age {knowledge.cite(band.source)}"
        out.urine_calcium_creatinine_ratio = ratio
        out.basis.append(Derivation(
            quantity="urine_calcium_creatinine_ratio", value=mg_mg, unit="mg/mg",
            method="urine calcium / urine creatinine", source=source,
            inputs={"urine_calcium_mg_dl": _fmt(uca), "urine_creatinine_mg_dl": _fmt(ucr)}))
        if sca is not None and scr is not None and sca > 0:
            cccr = eq.calcium_creatinine_clearance_ratio(
                urine_calcium=uca, serum_calcium=sca, serum_creatinine=scr, urine_creatinine=ucr)
            out.calcium_creatinine_clearance_ratio = cccr
            rule = indices.clearance_ratio
            out.basis.append(Derivation(
                quantity="calcium_creatinine_clearance_ratio", value=cccr, unit="1",
                method=f"(UCa x SCr) / (SCa x UCr); < {rule.fhh_below:g} suggests FHH, "
                       f"> {rule.phpt_above:g} primary hyperparathyroidism",
                source=knowledge.cite(rule.source),
                inputs={"urine_calcium_mg_dl": _fmt(uca), "calcium_mg_dl": _fmt(sca),
                        "creatinine_mg_dl": _fmt(scr), "urine_creatinine_mg_dl": _fmt(ucr)}))
    if up is not None and sp is not None and scr is not None and sp > 0:
        fepo4 = eq.fractional_excretion_phosphate(
            urine_phosphate=up, serum_phosphate=sp, serum_creatinine=scr, urine_creatinine=ucr)
        out.fractional_excretion_phosphate = fepo4
        rule_p = indices.fractional_excretion_phosphate
        out.basis.append(Derivation(
            quantity="fractional_excretion_phosphate", value=fepo4, unit="%",
            method=f"(UP x SCr) / (SP x UCr) x 100; with low phosphate > "
                   f"{rule_p.renal_loss_above:g} % is renal loss",
            source=knowledge.cite(rule_p.source),
            inputs={"urine_phosphate_mg_dl": _fmt(up), "phosphate_mg_dl": _fmt(sp),
                    "creatinine_mg_dl": _fmt(scr), "urine_creatinine_mg_dl": _fmt(ucr)}))
