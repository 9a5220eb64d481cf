"""The scales of one case: gather each scale's inputs from the case and its scans, then compute.

A scale whose inputs are incomplete or out of its range says so (``not_computed``) and lists
what is missing; one with nothing to go on is ``no_data``. Nothing is guessed: a yes/no input the
case does not state is taken as absent and listed in ``assumptions`` (MESA), as the published
calculators do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ectocalc.knowledge import Knowledge
from ectocalc.model.case import Case, Finding
from ectocalc.model.display import age_words
from ectocalc.model.display import reported as as_reported
from ectocalc.model.scales import (
    Adragao,
    AorticValveCalcium,
    CacDrs,
    KauppilaAac24,
    MesaChd,
    Scales,
    ScanScales,
)
from ectocalc.model.scan import Lesion, ScanResult
from ectocalc.reasoning.concepts import Mention, recognise
from ectocalc.scales._equations import (
    adragao_score,
    aortic_valve_severity,
    band,
    cac_drs_category,
    cac_drs_label,
    kauppila_score,
    mesa_chd_risk,
)
from ectocalc.scales._schema import (
    AdragaoSpec,
    AorticValveSpec,
    CacDrsSpec,
    KauppilaSpec,
    MesaSpec,
    ScalesFile,
    _Scale,
    load_scales,
)
from ectocalc.vocabulary import CKD_STAGES, ckd_stage_rank

_MESA_RISK = "scales.mesa_chd_10y.risk_percent"


@dataclass(frozen=True)
class _Score:
    """A calcium score for a structure, with where it came from."""

    agatston: float
    origin: str
    vessels: int | None = None
    vessels_from: str | None = None
    notes: list[str] = field(default_factory=list)


def compute_scales(case: Case, *, knowledge: Knowledge, scans: Sequence[ScanResult] = (),
                   ckd_stage: str | None = None,
                   mentions: Sequence[Mention] | None = None) -> Scales:
    """Every clinical scale the case allows (contract section 3 ``scales``).

    Parameters
    ----------
    case : Case
        The validated case; findings with ``origin="ct"`` are ignored (``scans`` is read instead).
    knowledge : Knowledge
        The bundle: ``scales.yaml`` coefficients and thresholds, concepts, bibliography.
    scans : sequence of ScanResult
        Quantified CTs; typed coronary and aortic-valve lesions give CAC and valve scores.
    ckd_stage : str, optional
        The assessment's CKD stage (``G3a``...``G5D``): adds the KDIGO 2017 3.3.1 note to AAC-24.
    mentions : sequence of Mention, optional
        Concepts already recognised in the case (the assessment's); recognised here if None.

    Returns
    -------
    Scales
        All five scales, each ``computed``, ``not_computed`` (with the reason) or ``no_data``.
    """
    spec = load_scales(knowledge)
    mentions = [m for m in (recognise(case, knowledge=knowledge) if mentions is None
                            else mentions) if m.present]
    reported = [(i, f) for i, f in enumerate(case.findings) if f.origin == "reported"]
    coronary = _coronary_score(reported, scans, spec.cac_drs)
    cite = knowledge.cite
    # KDIGO 2017 3.3.1 applies from G3a (a transplant stage ranks as its G stage).
    ckd = (ckd_stage in CKD_STAGES and ckd_stage_rank(ckd_stage) >= ckd_stage_rank("G3a")) or any(
        m.id in ("chronic_kidney_disease", "dialysis") and not m.family for m in mentions)
    return Scales(
        cac_drs=_cac_drs(coronary, reported, spec.cac_drs, cite, age=case.patient.age_years),
        mesa_chd_10y=_mesa(case, mentions, coronary, spec.mesa_chd_10y, cite),
        aortic_valve_calcium=_aortic_valve(_valve_score(reported, scans, spec),
                                           case.patient.sex, spec.aortic_valve_calcium, cite),
        kauppila_aac24=_kauppila(reported, spec.kauppila_aac24, cite, ckd=ckd),
        adragao=_adragao(reported, spec.adragao, cite),
    )


def scan_scales(result: ScanResult, *, knowledge: Knowledge) -> ScanScales | None:
    """The CAC-DRS and aortic-valve categories a scan's typed lesions allow, or None.

    Coronary lesions (anatomy region or subtype naming a coronary artery) give CAC-DRS;
    aortic-valve lesions give the valve score with its category for each sex (a scan does not
    know the patient's sex).

    Examples
    --------
    >>> from ectocalc.model.scan import Lesion, ScanResult
    >>> def lesion(i, region, agatston):
    ...     return Lesion(id=i, centroid_mm=(0, 0, 0), volume_mm3=1, mass_mg=1, peak_hu=400,
    ...                   agatston=agatston, type="vascular", region=region)
    >>> r = ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
    ...     slice_increment_mm=3, pixel_spacing_mm=(0.5, 0.5), calibration_mg_per_cm3_per_hu=0.78,
    ...     agatston=2570, volume_mm3=3, mass_mg=3, lesions=[lesion(1, "coronary_artery_lad", 120),
    ...     lesion(2, "coronary_artery_rca", 50), lesion(3, "aortic_valve", 2400)])
    >>> from ectocalc.knowledge import load_knowledge
    >>> s = scan_scales(r, knowledge=load_knowledge())
    >>> s.cac_drs.label, s.aortic_valve_calcium.by_sex
    ('CAC-DRS A2/N2', {'female': 'very_likely', 'male': 'likely'})
    """
    spec = load_scales(knowledge)
    coronary = _scan_coronary([result], spec.cac_drs)
    valve = _scan_valve([result], spec)
    if coronary is None and valve is None:
        return None
    return ScanScales(
        cac_drs=None if coronary is None else _cac_drs(coronary, [], spec.cac_drs,
                                                       knowledge.cite),
        aortic_valve_calcium=None if valve is None else _aortic_valve(
            valve, None, spec.aortic_valve_calcium, knowledge.cite))


# ---------------------------------------------------------------- gathering scores

def _matches(pattern: str, text: str | None) -> bool:
    """Whether a site or anatomy class name matches (underscores read as spaces)."""
    if not text:
        return False
    return re.search(pattern, text.lower().replace("_", " ")) is not None


def _territories(text: str, spec: CacDrsSpec) -> set[str]:
    return {v for v, pattern in spec.vessel_patterns.items() if _matches(pattern, text)}


def _is_coronary(lesion: Lesion, spec: CacDrsSpec) -> bool:
    return any(_matches(spec.coronary_pattern, t)
               for t in (lesion.region, lesion.structure, lesion.subtype))


def is_coronary(lesion: Lesion, scales: ScalesFile) -> bool:
    """Whether a CT lesion's region or subtype names a coronary artery (the CAC-DRS
    ``coronary_pattern`` of ``scales.yaml``), as the coronary score counts it."""
    return _is_coronary(lesion, scales.cac_drs)


def _scan_label(result: ScanResult) -> str:
    when = f" of {result.study_date.isoformat()}" if result.study_date else ""
    return f"CT{when} ({result.convention}"


def _latest(scans: Sequence[ScanResult], keep: Any) -> tuple[ScanResult, list[Lesion]] | None:
    """The most recent scan with lesions ``keep`` accepts, and those lesions."""
    found = [(s, [x for x in s.lesions if keep(x)]) for s in scans]
    found = [(s, lesions) for s, lesions in found if lesions]
    if not found:
        return None
    return max(enumerate(found), key=lambda i_f: (i_f[1][0].study_date is not None,
                                                 i_f[1][0].study_date, i_f[0]))[1]


def _scan_coronary(scans: Sequence[ScanResult], spec: CacDrsSpec) -> _Score | None:
    latest = _latest(scans, lambda x: _is_coronary(x, spec))
    if latest is None:
        return None
    scan, lesions = latest
    per_lesion = [_territories(f"{x.region or ''} {x.artery or ''} {x.structure or ''} "
                               f"{x.subtype or ''}", spec) for x in lesions]
    vessels = (len(set().union(*per_lesion)) if all(len(t) == 1 for t in per_lesion) else None)
    total = sum(x.agatston for x in lesions)
    return _Score(agatston=as_reported("scales.cac_drs.agatston", total),
                  origin=f"{_scan_label(scan)}: {len(lesions)} coronary lesion(s))",
                  vessels=vessels, vessels_from="coronary territories of the CT lesions")


def _coronary_score(reported: list[tuple[int, Finding]], scans: Sequence[ScanResult],
                    spec: CacDrsSpec) -> _Score | None:
    """The coronary calcium score: a reported total, else reported per-vessel scores, else CT."""
    scored = [(i, f) for i, f in reported
              if f.agatston is not None and _matches(spec.coronary_pattern, f.site)]
    from_scan = _scan_coronary(scans, spec)
    notes = []
    whole = [(i, f) for i, f in scored if not _territories(f.site, spec)]
    if whole:
        i, f = whole[-1]
        assert f.agatston is not None
        if from_scan is not None:
            notes.append(f"the reported score is used; ectocalc's {from_scan.origin} gives "
                         f"{from_scan.agatston:g}")
        return _Score(f.agatston, f"findings[{i}].agatston", f.vessels,
                      f"findings[{i}].vessels", notes)
    if scored:
        total = sum(f.agatston or 0.0 for _, f in scored)
        territories = set().union(*(_territories(f.site, spec) for _, f in scored
                                    if (f.agatston or 0) > 0))
        origin = "sum of findings[" + ", ".join(str(i) for i, _ in scored) + "].agatston"
        return _Score(total, origin, len(territories), "arteries named in the findings' sites",
                      notes)
    return from_scan


def reported_coronary_agatston(findings: Sequence[Finding], *,
                               knowledge: Knowledge) -> float | None:
    """The coronary Agatston score a radiology report gives in ``findings``, read as CAC-DRS
    reads it: a total at a coronary site, else the sum of per-artery scores; None without one.

    Findings found on a CT by ectocalc (``origin="ct"``) are not a report and are ignored.

    Examples
    --------
    >>> from ectocalc.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> reported_coronary_agatston([Finding(site="LAD", agatston=80),
    ...                             Finding(site="RCA", agatston=40)], knowledge=kb)
    120.0
    >>> reported_coronary_agatston([Finding(site="left knee")], knowledge=kb) is None
    True
    """
    reported = [(i, f) for i, f in enumerate(findings) if f.origin == "reported"]
    score = _coronary_score(reported, [], load_scales(knowledge).cac_drs)
    return None if score is None else score.agatston


def _scan_valve(scans: Sequence[ScanResult], spec: ScalesFile) -> _Score | None:
    pattern = spec.aortic_valve_calcium.site_pattern
    latest = _latest(scans, lambda x: _matches(pattern, x.region))
    if latest is None:
        return None
    scan, lesions = latest
    return _Score(as_reported("scales.aortic_valve_calcium.agatston",
                           sum(x.agatston for x in lesions)),
                  f"{_scan_label(scan)}: {len(lesions)} aortic valve lesion(s))")


def _valve_score(reported: list[tuple[int, Finding]], scans: Sequence[ScanResult],
                 spec: ScalesFile) -> _Score | None:
    pattern = spec.aortic_valve_calcium.site_pattern
    scored = [(i, f) for i, f in reported
              if f.agatston is not None and _matches(pattern, f.site)]
    if scored:
        i, f = scored[-1]
        assert f.agatston is not None
        return _Score(f.agatston, f"findings[{i}].agatston")
    return _scan_valve(scans, spec)


# ---------------------------------------------------------------- the scales

def _cac_drs(score: _Score | None, reported: list[tuple[int, Finding]], spec: CacDrsSpec,
             cite: Any, *, age: float | None = None) -> CacDrs:
    common = _common(spec, cite)
    if score is not None and age is not None and age < spec.min_age_years:
        return CacDrs(status="not_computed", **common,
                      not_computed=f"not computed: CAC-DRS and its statin and aspirin "
                      f"suggestions are for adults (from {spec.min_age_years:g} years); the "
                      f"patient is {age_words(age)} old")
    if score is None:
        unscored = [i for i, f in reported
                    if f.agatston is None and _matches(spec.coronary_pattern, f.site)]
        if unscored:
            return CacDrs(status="not_computed", **common,
                          not_computed="not computed: coronary calcification is reported "
                                       "without an Agatston score",
                          missing=[f"findings[{i}].agatston" for i in unscored])
        return CacDrs(status="no_data", **common)
    category = cac_drs_category(score.agatston, spec=spec)
    notes = list(score.notes)
    vessels = score.vessels
    if category.id != "A0" and not vessels:
        notes.append("N not reported: give the number of coronary arteries with calcium "
                     "(`vessels`) or an anatomy map with coronary territories")
        vessels = None
    elif category.id == "A0":
        vessels = None
    if vessels is not None:
        vessels = min(vessels, spec.max_vessels)
    suggestion = category.suggestion
    mark = " [check]" if spec.suggestion_check else ""
    notes.append(f"{spec.suggestion_note} ({cite(spec.suggestion_source)}{mark})")
    label = cac_drs_label(category.id, vessels)
    reading = (f"{label}: coronary calcium {score.agatston:g} (Agatston), {category.risk} risk; "
               f"suggested: {suggestion}")
    return CacDrs(status="computed", **common, label=label, reading=reading,
                  category=category.id, vessels=f"N{vessels}" if vessels else None,  # type: ignore[arg-type]
                  agatston=score.agatston, risk=category.risk, suggestion=suggestion,
                  inputs={"agatston": {"value": score.agatston, "from": score.origin},
                          "vessels": {"value": score.vessels, "from": score.vessels_from}},
                  notes=notes)


def _concept_input(mentions: list[Mention], ids: list[str], *,
                   family: bool = False) -> Mention | None:
    return next((m for m in mentions if m.id in ids and m.family == family), None)


def _binary_inputs(case: Case, mentions: list[Mention],
                   spec: MesaSpec) -> tuple[dict[str, tuple[bool, str]], list[str]]:
    """MESA's yes/no inputs: (value, where from), and the assumptions made."""
    rf = case.risk_factors
    concepts = spec.concepts
    values: dict[str, tuple[bool, str]] = {}
    assumptions: list[str] = []

    def from_concepts(name: str, ids: list[str], *, family: bool = False) -> bool:
        mention = _concept_input(mentions, ids, family=family)
        if mention is not None:
            values[name] = (True, f"{mention.origin}: '{mention.matched}'")
        return mention is not None

    if rf.diabetes is not None:
        values["diabetes"] = (rf.diabetes, "risk_factors.diabetes")
    elif not from_concepts("diabetes", concepts["diabetes"]):
        values["diabetes"] = (False, "not recorded")
        assumptions.append("diabetes not recorded: taken as absent")
    if rf.smoking is not None:
        values["current_smoker"] = (rf.smoking == "current", f"risk_factors.smoking: {rf.smoking}")
    elif not from_concepts("current_smoker", concepts["current_smoker"]):
        former = _concept_input(mentions, concepts["former_smoker"])
        unclear = _concept_input(mentions, concepts["smoking_unspecified"])
        if former is not None:
            values["current_smoker"] = (False, f"{former.origin}: '{former.matched}'")
        else:
            values["current_smoker"] = (False, "not recorded")
            assumptions.append(
                f"smoking recorded without saying current or former ({unclear.origin}): taken "
                "as not current; give risk_factors.smoking" if unclear is not None
                else "smoking not recorded: taken as not current")
    for name in ("lipid_lowering_drug", "bp_drug"):
        if not from_concepts(name, concepts[name]):
            values[name] = (False, "none in the medication list")
    if rf.family_history_chd is not None:
        values["family_history_mi"] = (rf.family_history_chd, "risk_factors.family_history_chd")
    elif not from_concepts("family_history_mi", concepts["family_history_mi"], family=True):
        values["family_history_mi"] = (False, "not recorded")
        assumptions.append("family history of heart attack not recorded: taken as absent")
    return values, assumptions


def _cholesterol(case: Case, analyte: str, spec: MesaSpec) -> tuple[float, str] | None:
    result = case.latest(analyte)
    if result is None:
        return None
    value = result.canonical_value
    if result.canonical_unit.lower() == "mmol/l":
        value *= spec.cholesterol_mg_dl_per_mmol_l
    dated = f" ({result.date.isoformat()})" if result.date else ""
    return round(value, 1), f"labs: {analyte} {result.value:g} {result.unit}{dated}"


def _mesa(case: Case, mentions: list[Mention], coronary: _Score | None, spec: MesaSpec,
          cite: Any) -> MesaChd:
    common = _common(spec, cite)
    patient = case.patient
    total = _cholesterol(case, "total_cholesterol", spec)
    hdl = _cholesterol(case, "hdl_cholesterol", spec)
    sbp = case.risk_factors.systolic_bp_mmhg
    relevant = (total, hdl, sbp, case.risk_factors.smoking, case.risk_factors.family_history_chd,
                coronary)
    if all(x is None for x in relevant):
        return MesaChd(status="no_data", **common)
    required: dict[str, Any] = {
        "patient.age_years": patient.age_years, "patient.sex": patient.sex,
        "patient.race_ethnicity": patient.race_ethnicity, "labs: total_cholesterol": total,
        "labs: hdl_cholesterol": hdl, "risk_factors.systolic_bp_mmhg": sbp}
    missing = [name for name, value in required.items() if value is None]
    binaries, assumptions = _binary_inputs(case, mentions, spec)
    inputs: dict[str, Any] = {
        "age_years": {"value": patient.age_years, "from": "patient.age_years"},
        "sex": {"value": patient.sex, "from": "patient.sex"},
        "race_ethnicity": {"value": patient.race_ethnicity, "from": "patient.race_ethnicity"},
        "total_cholesterol_mg_dl": {"value": total and total[0], "from": total and total[1]},
        "hdl_cholesterol_mg_dl": {"value": hdl and hdl[0], "from": hdl and hdl[1]},
        "systolic_bp_mmhg": {"value": sbp, "from": "risk_factors.systolic_bp_mmhg"},
        **{name: {"value": v, "from": origin} for name, (v, origin) in binaries.items()},
        "cac_agatston": {"value": coronary and coronary.agatston,
                         "from": coronary.origin if coronary else "no coronary calcium score"},
    }
    excluded = _concept_input(mentions, spec.excluded_by)
    if excluded is not None:
        return MesaChd(status="not_computed", **common, inputs=inputs,
                       not_computed="not computed: the score is for people without known "
                       f"coronary heart disease ({excluded.origin}: '{excluded.matched}')")
    if missing:
        return MesaChd(status="not_computed", **common, inputs=inputs, missing=missing,
                       not_computed="not computed: missing " + ", ".join(missing))
    assert total is not None and hdl is not None and sbp is not None
    assert patient.age_years is not None and patient.sex and patient.race_ethnicity
    arguments: dict[str, Any] = {
        "age_years": patient.age_years, "sex": patient.sex,
        "race_ethnicity": patient.race_ethnicity, "total_cholesterol_mg_dl": total[0],
        "hdl_cholesterol_mg_dl": hdl[0], "systolic_bp_mmhg": sbp,
        **{name: v for name, (v, _) in binaries.items()}, "spec": spec}
    try:
        without = mesa_chd_risk(**arguments)
        with_cac = (None if coronary is None
                    else mesa_chd_risk(**arguments, cac_agatston=coronary.agatston))
    except ValueError as error:
        return MesaChd(status="not_computed", **common, inputs=inputs, assumptions=assumptions,
                       not_computed=f"not computed: {error}")
    # The text states the risks as reported; the fields keep full precision.
    risk = as_reported(_MESA_RISK, without if with_cac is None else with_cac)
    without_r = as_reported(_MESA_RISK, without)
    if with_cac is None:
        label = f"{risk:.1f} % (no CAC score)"
        reading = (f"Estimated 10-year coronary heart disease risk {risk:.1f} % from risk "
                   "factors; a coronary calcium score would refine it")
    else:
        assert coronary is not None
        label = f"{risk:.1f} % with CAC; {without_r:.1f} % without"
        reading = (f"Estimated 10-year coronary heart disease risk {risk:.1f} % with CAC "
                   f"{coronary.agatston:g}; {without_r:.1f} % from risk factors alone")
    return MesaChd(status="computed", **common, label=label, reading=reading, inputs=inputs,
                   risk_percent=without if with_cac is None else with_cac,
                   with_cac=with_cac is not None, without_cac_percent=without,
                   cac_agatston=None if coronary is None else coronary.agatston,
                   assumptions=assumptions)


def _aortic_valve(score: _Score | None, sex: str | None, spec: AorticValveSpec,
                  cite: Any) -> AorticValveCalcium:
    thresholds = ", ".join(cite(n) for n in spec.named_by)
    common = {**_common(spec, cite), "notes": [f"thresholds from {thresholds}"]}
    if score is None:
        return AorticValveCalcium(status="no_data", **common)
    inputs = {"agatston": {"value": score.agatston, "from": score.origin},
              "sex": {"value": sex, "from": "patient.sex"}}
    by_sex: dict[str, str] = {s: aortic_valve_severity(score.agatston, sex=s, spec=spec)
                              for s in sorted(spec.bands)}
    if sex is None:
        return AorticValveCalcium(
            status="not_computed", **common, agatston=score.agatston, by_sex=by_sex,  # type: ignore[arg-type]
            inputs=inputs, missing=["patient.sex"],
            not_computed="not computed: the thresholds differ by sex and the sex is not given")
    severe = by_sex[sex]
    words = severe.replace("_", " ")
    return AorticValveCalcium(
        status="computed", **common, agatston=score.agatston, sex=sex,  # type: ignore[arg-type]
        severe_as=severe,  # type: ignore[arg-type]
        label=f"aortic valve calcium {score.agatston:g} AU: severe AS {words}",
        reading=(f"Aortic valve calcium {score.agatston:g} AU ({sex}): severe aortic stenosis "
                 f"{words}, where echocardiography is discordant (low gradient)"),
        inputs=inputs)


def _common(spec: _Scale, cite: Any) -> dict[str, Any]:
    """The fields every scale result carries: name, cited source, what it applies to."""
    return {"name": spec.name, "source": cite(spec.source), "applies_to": spec.applies_to}


def _readings(reported: list[tuple[int, Finding]], attribute: str
              ) -> tuple[Finding, str, dict[str, Any]] | None:
    """The latest finding with per-segment ``attribute`` readings (Kauppila, Adragão): the
    finding, its field path and the readings as a scale input; None without one."""
    found = [(i, f) for i, f in reported if getattr(f, attribute) is not None]
    if not found:
        return None
    i, finding = found[-1]
    where = f"findings[{i}].{attribute}"
    readings = getattr(finding, attribute)
    return finding, where, {"readings": {"value": {k: list(v) for k, v in readings.items()},
                                         "from": where}}


def _kauppila(reported: list[tuple[int, Finding]], spec: KauppilaSpec, cite: Any, *,
              ckd: bool) -> KauppilaAac24:
    common = _common(spec, cite)
    found = _readings(reported, "kauppila")
    if found is None:
        return KauppilaAac24(status="no_data", **common)
    finding, where, inputs = found
    assert finding.kauppila is not None
    try:
        total, anterior, posterior = kauppila_score(finding.kauppila, spec=spec)
    except ValueError as error:
        return KauppilaAac24(status="not_computed", **common, inputs=inputs,
                             not_computed=f"not computed: {where}: {error}",
                             missing=[f"{where}.{lv}" for lv in spec.levels
                                      if lv not in finding.kauppila])
    notes = []
    if finding.modality not in (None, "xray"):
        notes.append(f"the score was described for lateral radiographs; this reading is from "
                     f"{finding.modality}")
    if ckd and total > 0:
        notes.append(f"{spec.ckd_note} ({cite(spec.ckd_source)})")
    reading = (f"AAC-24 {total}/24 (anterior {anterior}, posterior {posterior}): "
               + ("abdominal aortic calcification present" if total else
                  "no abdominal aortic calcification"))
    return KauppilaAac24(status="computed", **common, label=f"AAC-24 {total}/24",
                         reading=reading, score=total, anterior=anterior, posterior=posterior,
                         inputs=inputs, notes=notes)


def _adragao(reported: list[tuple[int, Finding]], spec: AdragaoSpec, cite: Any) -> Adragao:
    common = _common(spec, cite)
    found = _readings(reported, "adragao")
    if found is None:
        return Adragao(status="no_data", **common)
    finding, where, inputs = found
    assert finding.adragao is not None
    try:
        score = adragao_score(finding.adragao, spec=spec)
    except ValueError as error:
        return Adragao(status="not_computed", **common, inputs=inputs,
                       not_computed=f"not computed: {where}: {error}",
                       missing=[f"{where}.{film}" for film in spec.sections
                                if film not in finding.adragao])
    high = band(score, spec.bands).id == "higher"
    reading = (f"Adragão {score}/8: " + ("3 or more, associated with cardiovascular events"
                                          if high else "below 3"))
    return Adragao(status="computed", **common, label=f"Adragão {score}/8", reading=reading,
                   score=score, high_risk=high, inputs=inputs)
