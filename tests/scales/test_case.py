"""Scales of whole cases: inputs gathered from risk factors, labs, history, findings and scans."""

from __future__ import annotations

from typing import Any

import pytest

from ectocalc.io.case_file import case_from_mapping
from ectocalc.knowledge import load_knowledge
from ectocalc.model.case import Case
from ectocalc.model.scan import Lesion, ScanResult
from ectocalc.scales import compute_scales, scan_scales

BASE: dict[str, Any] = {
    "patient": {"age_years": 70, "sex": "male", "race_ethnicity": "hispanic"},
    "risk_factors": {"smoking": "never", "systolic_bp_mmhg": 130, "family_history_chd": False,
                     "diabetes": False},
    "labs": [{"analyte": "total_cholesterol", "value": 190, "unit": "mg/dL"},
             {"analyte": "hdl_cholesterol", "value": 50, "unit": "mg/dL"}],
    "medications": [{"text": "lisinopril 10 mg daily"}],
}
KAUPPILA = {"L1": [1, 0], "L2": [2, 0], "L3": [2, 1], "L4": [3, 2]}


def _case(**changes: Any) -> Case:
    return case_from_mapping({**BASE, **changes}, source="case.yaml")


def _scales(case: Case, **kw: Any):
    return compute_scales(case, knowledge=load_knowledge(), **kw)


def _lesion(i: int, region: str | None, agatston: float) -> Lesion:
    return Lesion(id=i, centroid_mm=(0.0, 0.0, 0.0), volume_mm3=10, mass_mg=5, peak_hu=500,
                  agatston=agatston, type="vascular", region=region)


def _scan(*lesions: Lesion) -> ScanResult:
    return ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
                      slice_increment_mm=3.0, pixel_spacing_mm=(0.6, 0.6),
                      calibration_mg_per_cm3_per_hu=0.78,
                      agatston=sum(x.agatston for x in lesions), volume_mm3=1, mass_mg=1,
                      lesions=list(lesions))


@pytest.mark.parametrize(("cac", "risk"), [(0, 3.06), (100, 10.43)])
def test_mesa_check_case(cac: float, risk: float) -> None:
    scales = _scales(_case(findings=[{"site": "coronary arteries", "modality": "ct",
                                      "agatston": cac, "vessels": 2}]))
    mesa = scales.mesa_chd_10y
    assert mesa is not None and mesa.status == "computed"
    assert mesa.risk_percent is not None and mesa.without_cac_percent is not None
    # Published check values, to the two decimals shown (the fields keep full precision).
    assert (round(mesa.risk_percent, 2), mesa.with_cac, round(mesa.without_cac_percent, 2)) == \
        (risk, True, 8.61)
    assert mesa.inputs["bp_drug"] == {"value": True,
                                      "from": "medications[0].text: 'lisinopril'"}
    assert mesa.assumptions == []
    assert mesa.source == "McClelland 2015 MESA CHD risk Table 2"


def test_mesa_without_cac_score() -> None:
    mesa = _scales(_case()).mesa_chd_10y
    assert mesa is not None
    assert mesa.risk_percent is not None and mesa.risk_percent == mesa.without_cac_percent
    assert (round(mesa.risk_percent, 2), mesa.with_cac) == (8.61, False)
    assert "no CAC score" in (mesa.label or "")


def test_mesa_cholesterol_in_mmol_per_l() -> None:
    labs = [{"analyte": "total_cholesterol", "value": 190 / 38.67, "unit": "mmol/L"},
            {"analyte": "hdl_cholesterol", "value": 50 / 38.67, "unit": "mmol/L"}]
    risk = _scales(_case(labs=labs)).mesa_chd_10y.risk_percent  # type: ignore[union-attr]
    assert risk is not None and round(risk, 2) == 8.61


def test_mesa_age_40_not_computed() -> None:
    mesa = _scales(_case(patient={**BASE["patient"], "age_years": 40})).mesa_chd_10y
    assert mesa is not None and mesa.status == "not_computed"
    assert mesa.not_computed == ("not computed: age 40 is outside the 45-85 years the MESA "
                                 "score was derived on")
    assert mesa.risk_percent is None


def test_mesa_missing_race_not_computed() -> None:
    mesa = _scales(_case(patient={"age_years": 70, "sex": "male"})).mesa_chd_10y
    assert mesa is not None and mesa.status == "not_computed"
    assert mesa.missing == ["patient.race_ethnicity"]
    assert mesa.not_computed == "not computed: missing patient.race_ethnicity"


def test_mesa_missing_lab_and_bp() -> None:
    mesa = _scales(_case(labs=BASE["labs"][:1], risk_factors={})).mesa_chd_10y
    assert mesa is not None
    assert mesa.missing == ["labs: hdl_cholesterol", "risk_factors.systolic_bp_mmhg"]


def test_no_cardiovascular_data_is_no_data() -> None:
    scales = _scales(case_from_mapping({"patient": {"age_years": 60, "sex": "female"}},
                                       source="c.yaml"))
    assert {s.status for s in (scales.mesa_chd_10y, scales.cac_drs, scales.aortic_valve_calcium,
                               scales.kauppila_aac24, scales.adragao)} == {"no_data"}
    assert scales.shown() == []


def test_mesa_binary_inputs_from_history() -> None:
    case = _case(risk_factors={"systolic_bp_mmhg": 130},
                 conditions=[{"text": "type 2 diabetes"}, {"text": "smokes 10 cigarettes a day"},
                             {"text": "father had a heart attack at 52"}],
                 medications=[{"text": "atorvastatin 40 mg"}, {"text": "hydrochlorothiazide"}])
    mesa = _scales(case).mesa_chd_10y
    assert mesa is not None and mesa.status == "computed"
    values = {k: mesa.inputs[k]["value"] for k in ("diabetes", "current_smoker",
                                                   "lipid_lowering_drug", "bp_drug",
                                                   "family_history_mi")}
    assert values == dict.fromkeys(values, True)
    from ectocalc.scales import mesa_chd_risk

    expected = mesa_chd_risk(age_years=70, sex="male", race_ethnicity="hispanic",
                             total_cholesterol_mg_dl=190, hdl_cholesterol_mg_dl=50,
                             systolic_bp_mmhg=130, diabetes=True, current_smoker=True,
                             lipid_lowering_drug=True, bp_drug=True, family_history_mi=True)
    assert mesa.risk_percent == expected


def test_mesa_unstated_inputs_are_listed_as_assumptions() -> None:
    mesa = _scales(_case(risk_factors={"systolic_bp_mmhg": 130},
                         conditions=[{"text": "smoker"}])).mesa_chd_10y
    assert mesa is not None
    assert mesa.inputs["current_smoker"]["value"] is False
    assert mesa.assumptions == [
        "diabetes not recorded: taken as absent",
        "smoking recorded without saying current or former (conditions[0].text): taken as not "
        "current; give risk_factors.smoking",
        "family history of heart attack not recorded: taken as absent"]


def test_mesa_former_smoker_is_not_current() -> None:
    mesa = _scales(_case(risk_factors={"systolic_bp_mmhg": 130},
                         conditions=[{"text": "ex-smoker, quit 2010"}])).mesa_chd_10y
    assert mesa is not None and mesa.inputs["current_smoker"]["value"] is False
    assert not any("smoking" in a for a in mesa.assumptions)


def test_mesa_does_not_apply_after_myocardial_infarction() -> None:
    mesa = _scales(_case(conditions=[{"text": "myocardial infarction 2019"}])).mesa_chd_10y
    assert mesa is not None and mesa.status == "not_computed"
    assert "without known coronary heart disease" in (mesa.not_computed or "")


def test_cac_drs_from_reported_score() -> None:
    cac = _scales(_case(findings=[{"site": "coronary arteries", "agatston": 420,
                                   "vessels": 3}])).cac_drs
    assert cac is not None
    assert (cac.category, cac.vessels, cac.label) == ("A3", "N3", "CAC-DRS A3/N3")
    assert cac.suggestion == "high-intensity statin; aspirin 81 mg"
    assert any("[check]" in n for n in cac.notes)


def test_cac_drs_zero_has_no_n() -> None:
    cac = _scales(_case(findings=[{"site": "coronary arteries", "agatston": 0}])).cac_drs
    assert cac is not None and (cac.label, cac.vessels) == ("CAC-DRS A0", None)


def test_cac_drs_n_not_reported() -> None:
    cac = _scales(_case(findings=[{"site": "coronary arteries", "agatston": 150}])).cac_drs
    assert cac is not None
    assert (cac.label, cac.vessels) == ("CAC-DRS A2, N not reported", None)
    assert any(n.startswith("N not reported") for n in cac.notes)


def test_cac_drs_from_per_vessel_findings() -> None:
    findings = [{"site": "LAD", "agatston": 60}, {"site": "right coronary artery", "agatston": 45},
                {"site": "left circumflex", "agatston": 0}]
    cac = _scales(_case(findings=findings)).cac_drs
    assert cac is not None
    assert (cac.agatston, cac.label) == (105, "CAC-DRS A2/N2")


def test_cac_drs_coronary_without_score_not_computed() -> None:
    cac = _scales(_case(findings=[{"site": "coronary arteries", "modality": "ct"}])).cac_drs
    assert cac is not None and cac.status == "not_computed"
    assert cac.missing == ["findings[0].agatston"]


def test_cac_from_scan_territories() -> None:
    scan = _scan(_lesion(1, "coronary_artery_lad", 80.0), _lesion(2, "coronary_artery_lcx", 30.0),
                 _lesion(3, "coronary_artery_lad", 10.0), _lesion(4, "aorta", 500.0))
    scales = _scales(_case(), scans=[scan])
    assert scales.cac_drs is not None
    assert (scales.cac_drs.agatston, scales.cac_drs.label) == (120.0, "CAC-DRS A2/N2")
    assert scales.mesa_chd_10y is not None and scales.mesa_chd_10y.with_cac
    assert scales.mesa_chd_10y.cac_agatston == 120.0


def test_cac_from_scan_without_territories() -> None:
    scan = _scan(_lesion(1, "coronary_arteries", 80.0))
    cac = _scales(_case(), scans=[scan]).cac_drs
    assert cac is not None and cac.label == "CAC-DRS A1, N not reported"


def test_reported_score_wins_over_scan_with_note() -> None:
    scan = _scan(_lesion(1, "coronary_arteries", 80.0))
    cac = _scales(_case(findings=[{"site": "coronary arteries", "agatston": 310, "vessels": 4}]),
                  scans=[scan]).cac_drs
    assert cac is not None and cac.label == "CAC-DRS A3/N4"
    assert any("gives 80" in n for n in cac.notes)


def test_aortic_valve_from_case() -> None:
    valve = _scales(_case(findings=[{"site": "aortic valve", "agatston": 2400}]))
    av = valve.aortic_valve_calcium
    assert av is not None and (av.severe_as, av.agatston, av.sex) == ("likely", 2400, "male")
    female = _scales(_case(patient={"age_years": 70, "sex": "female"},
                           findings=[{"site": "aortic valve", "agatston": 2400}]))
    assert female.aortic_valve_calcium.severe_as == "very_likely"  # type: ignore[union-attr]


def test_aortic_valve_without_sex_gives_both() -> None:
    av = _scales(_case(patient={"age_years": 70},
                       findings=[{"site": "aortic valve", "agatston": 1400}])).aortic_valve_calcium
    assert av is not None and av.status == "not_computed"
    assert av.by_sex == {"female": "likely", "male": "unlikely"}
    assert av.missing == ["patient.sex"]


def test_kauppila_and_adragao_from_case() -> None:
    scales = _scales(_case(conditions=[{"text": "CKD stage 4"}], findings=[
        {"site": "abdominal aorta", "modality": "xray", "kauppila": KAUPPILA},
        {"site": "pelvis and hands", "modality": "xray",
         "adragao": {"pelvis": [1, 1, 0, 0], "hands": [1, 0, 0, 0]}}]))
    aac, adragao = scales.kauppila_aac24, scales.adragao
    assert aac is not None and (aac.score, aac.anterior, aac.posterior) == (11, 8, 3)
    assert aac.label == "AAC-24 11/24"
    assert any("KDIGO 2017 CKD-MBD 3.3.1" in n for n in aac.notes)
    assert adragao is not None and (adragao.score, adragao.high_risk) == (3, True)


def test_kauppila_value_4_not_computed() -> None:
    case = _case(findings=[{"site": "abdominal aorta", "modality": "xray",
                            "kauppila": {**KAUPPILA, "L4": [4, 2]}}])
    aac = _scales(case).kauppila_aac24
    assert aac is not None and aac.status == "not_computed" and aac.score is None
    assert aac.not_computed == ("not computed: findings[0].kauppila: L4 anterior is 4; each wall "
                                "scores 0-3")


def test_kauppila_missing_level_not_computed() -> None:
    readings = {k: v for k, v in KAUPPILA.items() if k != "L2"}
    aac = _scales(_case(findings=[{"site": "aorta", "kauppila": readings}])).kauppila_aac24
    assert aac is not None and aac.missing == ["findings[0].kauppila.L2"]


def test_scan_scales() -> None:
    knowledge = load_knowledge()
    assert scan_scales(_scan(_lesion(1, "aorta", 40.0)), knowledge=knowledge) is None
    scales = scan_scales(_scan(_lesion(1, "aortic_valve", 1700.0),
                               _lesion(2, "coronary_artery_rca", 12.0)), knowledge=knowledge)
    assert scales is not None and scales.cac_drs is not None
    assert scales.cac_drs.label == "CAC-DRS A1/N1"
    assert scales.aortic_valve_calcium is not None
    assert scales.aortic_valve_calcium.by_sex == {"female": "very_likely",
                                                  "male": "indeterminate"}
    dumped = _scan(_lesion(1, "aorta", 1.0)).model_copy(update={"scales": scales})
    assert ScanResult.model_validate_json(dumped.model_dump_json()).scales == scales


def test_service_adds_scan_scales_and_rewrites_scan_json(tmp_path) -> None:
    import json

    from ectocalc.service import _with_scales

    (tmp_path / "scan.json").write_text("{}")
    typed = _with_scales(_scan(_lesion(1, "coronary_arteries", 250.0)), tmp_path)
    assert typed.scales is not None and typed.scales.cac_drs is not None
    written = json.loads((tmp_path / "scan.json").read_text())
    assert written["scales"]["cac_drs"]["label"] == "CAC-DRS A2, N not reported"
    assert written["scales"]["aortic_valve_calcium"] is None
    untyped = _with_scales(_scan(_lesion(1, None, 250.0)), None)
    assert untyped.scales is None


def test_aortic_valve_from_scan_in_an_assessment_case() -> None:
    scan = _scan(_lesion(1, "aortic_valve", 2100.0), _lesion(2, "aorta", 900.0))
    av = _scales(_case(), scans=[scan]).aortic_valve_calcium
    assert av is not None and (av.agatston, av.severe_as) == (2100.0, "likely")
    assert av.inputs["agatston"]["from"].endswith("1 aortic valve lesion(s))")


def test_not_computed_row_in_the_report() -> None:
    from ectocalc.render._scales import scale_rows

    scales = _scales(_case(patient={"age_years": 70, "sex": "male"}))
    (row,) = scale_rows(scales)
    assert (row.name, row.result, row.reading) == (
        "MESA 10-year CHD risk", "not computed", "missing patient.race_ethnicity")
