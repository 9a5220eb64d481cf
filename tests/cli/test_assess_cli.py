"""``ectocalc assess`` end to end: outputs, formats, and one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[2] / "examples" / "cases"


def test_version(run_cli) -> None:
    from ectocalc import __version__

    result = run_cli("--version")
    assert result.code == 0
    assert result.stdout.strip() == f"ectocalc {__version__}"


def test_json_is_one_document_with_contract_keys(run_cli) -> None:
    result = run_cli("assess", CASES / "ckd-hemodialysis.yaml", "--format", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    for key in ("derived", "mechanism", "types", "syndromes", "workup", "management",
                "monitoring", "chemistry", "imaging", "alerts", "disclaimer",
                "knowledge_version"):
        assert key in doc
    derived = doc["derived"]
    # Ca 9.6 + 0.8 x (4.0 - 3.6) = 9.92; x P 7.8 = 77.4 (the contract's own example)
    assert derived["corrected_calcium_mg_dl"] == 9.92
    assert derived["calcium_phosphate_product_mg2_dl2"] == 77.4
    assert derived["ckd_stage"] == "G5D"
    assert derived["calcium_phosphate_product_mmol2_l2"] == round(77.376 * 0.2495 * 0.3229, 2)
    assert derived["egfr_equation"] == "CKD-EPI 2021 creatinine"
    assert doc["disclaimer"]
    flags = {lab["analyte"]: lab["flag"] for lab in doc["labs"]}
    assert flags["phosphate"] == "high" and flags["calcium"] == "normal"
    monitoring = {(m["test"], tuple(m["interval_months"] or ())) for m in doc["monitoring"]}
    assert {("serum_calcium", (1, 3)), ("serum_phosphate", (1, 3)), ("pth", (3, 6)),
            ("alkaline_phosphatase", (12, 12))} <= monitoring
    assert all(m["source"].startswith("KDIGO 2017 3.1.") for m in doc["monitoring"])


def _decisions(doc: dict) -> dict:
    """What an assessment decides; evidence text quotes values in the units given, so it differs."""
    derived = {k: v for k, v in doc["derived"].items() if k != "basis"}
    return {
        "derived": derived,
        "flags": {lab["analyte"]: lab["flag"] for lab in doc["labs"]},
        "mechanism": [(m["id"], m["score"]) for m in doc["mechanism"]["differential"]],
        "primary": doc["mechanism"]["primary"],
        "types": [(t["id"], t["site"]) for t in doc["types"]],
        "syndromes": [(s["id"], s["certainty"]) for s in doc["syndromes"]],
        "workup": [w["id"] for w in doc["workup"]],
        "management": [m["id"] for m in doc["management"]],
        "monitoring": doc["monitoring"],
        "alerts": [a["id"] for a in doc["alerts"]],
        "chemistry": doc["chemistry"] and doc["chemistry"]["saturation_index"],
    }


def test_mg_dl_and_si_inputs_give_the_same_assessment(run_cli) -> None:
    conventional = json.loads(run_cli("assess", CASES / "ckd-hemodialysis.yaml",
                                      "--format", "json").stdout)
    si = json.loads(run_cli("assess", CASES / "ckd-hemodialysis-si.yaml",
                            "--format", "json").stdout)
    assert _decisions(conventional) == _decisions(si)
    assert conventional["management"], "the comparison must cover a non-empty plan"


def test_fhir_bundle_and_case_file_give_the_same_assessment(run_cli) -> None:
    fhir = json.loads(run_cli("assess", CASES / "ckd4-fhir.json", "--format", "json").stdout)
    plain = json.loads(run_cli("assess", CASES / "ckd4.yaml", "--format", "json").stdout)
    assert (fhir.pop("case_id"), plain.pop("case_id")) == ("ckd4-fhir", "ckd4")
    fhir.pop("source"), plain.pop("source")
    # Provenance differs by design: where each result came from, and the input's digest.
    assert fhir.pop("input_digest") != plain.pop("input_digest")
    for doc in (fhir, plain):
        for report in doc["labs"]:
            assert report.pop("input_ref")
            report.pop("resource_id")
        for derivation in doc["derived"]["basis"]:
            derivation.pop("input_refs")
    assert fhir == plain
    derived = fhir["derived"]
    assert derived["egfr_equation"] == "CKD-EPI 2021 creatinine-cystatin C"
    assert derived["ckd_stage"] == "G4" and derived["albuminuria_stage"] == "A3"
    assert derived["corrected_calcium_mg_dl"] == 8.96  # the reference's check value


def test_text_report_shows_values_flags_and_monitoring(run_cli) -> None:
    result = run_cli("assess", CASES / "ckd-hemodialysis.yaml", "--format", "text")
    assert result.code == 0, result.stderr
    for words in ("Laboratory results", "Derived values", "9.92", "77.4", "G5D", "Monitoring",
                  "KDIGO 2017 3.1.2", "Decision support"):
        assert words in result.stdout


def test_html_and_patient_outputs(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli("assess", CASES / "ckd-hemodialysis.yaml", "--format", "html", "--out", out)
    assert result.code == 0, result.stderr
    html = out.read_text()
    assert html.startswith("<!doctype html>") and "9.92" in html and "G5D" in html
    patient = run_cli("assess", CASES / "ckd-hemodialysis.yaml", "--audience", "patient")
    assert "Your calcification summary" in patient.stdout
    assert "not a diagnosis" in patient.stdout


def test_ionized_calcium_is_preferred_and_said(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "ica.yaml"
    case.write_text("patient: {age_years: 50, sex: male}\nlabs:\n"
                    "  - {analyte: calcium, value: 8.0, unit: mg/dL}\n"
                    "  - {analyte: albumin, value: 2.5, unit: g/dL}\n"
                    "  - {analyte: ionized_calcium, value: 1.45, unit: mmol/L}\n")
    derived = json.loads(run_cli("assess", case, "--format", "json").stdout)["derived"]
    assert derived["corrected_calcium_mg_dl"] == 9.2
    assert derived["calcium_basis"] == "measured ionized calcium"
    assert derived["calcium_status"] == "high"
    assert any("ionized" in note for note in derived["notes"])


def test_child_gets_no_egfr_and_says_why(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "child.yaml"
    case.write_text("patient: {age_years: 9, sex: female}\n"
                    "labs: [{analyte: creatinine, value: 0.5, unit: mg/dL}]\n")
    doc = json.loads(run_cli("assess", case, "--format", "json").stdout)
    assert doc["derived"]["egfr_ml_min_1_73m2"] is None
    assert any("adults" in note for note in doc["derived"]["notes"])


def test_implausible_value_is_a_warning_not_an_error(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "odd.yaml"
    case.write_text("patient: {age_years: 50, sex: male}\n"
                    "labs: [{analyte: calcium, value: 18, unit: mg/dL}]\n")
    result = run_cli("assess", case, "--format", "json")
    assert result.code == 0
    alerts = {a["id"]: a for a in json.loads(result.stdout)["alerts"]}
    assert alerts["implausible_value"]["severity"] == "warning"
    assert "Total calcium 18 mg/dL" in alerts["implausible_value"]["message"]
    assert alerts["critical_value"]["severity"] == "critical"
    assert "repeat the test today" in alerts["critical_value"]["message"]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("labs: [{analyte: calcium, value: 95, unit: mg/dL}]\n", "labs[0].value",
         "physiologically impossible"),
        ("labs: [{analyte: calcium, value: -1, unit: mg/dL}]\n", "labs[0].value",
         "physiologically impossible"),
        ("labs: [{analyte: calcium_score, value: 9, unit: mg/dL}]\n", "labs[0].analyte",
         "unknown analyte"),
        ("labs: [{analyte: calcium, value: 9, unit: stone}]\n", "labs[0].unit",
         "not convertible"),
        ("patient: {sex: male}\nlabs: [{analyte: creatinine, value: 1, unit: mg/dL}]\n",
         "patient.age_years", "age is required for eGFR"),
        ("patient: {age_years: 50}\nlabs: [{analyte: cystatin_c, value: 1, unit: mg/L}]\n",
         "patient.sex", "sex is required for eGFR"),
        ("patient: [\n", "", "malformed YAML"),
        ("labs: [{analyte: 12, value: 9, unit: mg/dL}]\n", "labs[0].analyte", "unknown analyte"),
        ("labs: [{analyte: calcium, value: 9, unit: mg/dL, date: 2024-13-45}]\n", "",
         "malformed YAML"),
        ("labs: [{analyte: calcium, value: .nan, unit: mg/dL}]\n", "labs[0].value",
         "finite number"),
        ("labs: [{analyte: calcium, value: 9, unit: mg/dL, reference_range: [.nan, 10]}]\n",
         "labs[0].reference_range", "finite"),
        ("patient: {age_years: .nan, sex: male}\n", "patient.age_years", "finite number"),
        ("version: true\n", "version", "unsupported case version"),
    ],
)
def test_bad_input_exits_2_with_one_line(run_cli, tmp_path: Path, text: str, field: str,
                                         words: str) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(text)
    out = tmp_path / "out.json"
    result = run_cli("assess", case, "--format", "json", "--out", out)
    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {case}: {field}")
    assert words in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_file_and_malformed_fhir(run_cli, tmp_path: Path) -> None:
    missing = run_cli("assess", tmp_path / "nope.yaml")
    assert missing.code == 2 and "file not found" in missing.stderr
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "not-a-type"}))
    bad = run_cli("assess", bundle)
    assert bad.code == 2 and bad.stderr.startswith(f"error: {bundle}: type")


MINERAL_CASE = """id: "<script>alert(1)</script>"
patient: {age_years: 60, sex: male}
labs:
  - {analyte: calcium, value: 9.6, unit: mg/dL}
  - {analyte: albumin, value: 4.0, unit: g/dL}
  - {analyte: phosphate, value: 8.0, unit: mg/dL}
  - {analyte: magnesium, value: 2.2, unit: mg/dL}
  - {analyte: bicarbonate, value: 22, unit: mmol/L}
conditions: [{text: "ESRD on HD"}]
"""


def test_chemistry_section_in_json_text_and_html(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "mineral.yaml"
    case.write_text(MINERAL_CASE)
    chemistry = json.loads(run_cli("assess", case, "--format", "json").stdout)["chemistry"]
    assert chemistry["database"] == "minteq.v4.dat" and chemistry["temperature_c"] == 37
    assert set(chemistry["saturation_index"]) == {
        "hydroxyapatite", "octacalcium_phosphate", "beta_tcp", "brushite",
        "amorphous_calcium_phosphate"}
    assert "not a calcification propensity (T50)" in chemistry["label"]
    # Phosphate 8 mg/dL lowered to 4.5 in the what-if: every index falls.
    for phase, value in chemistry["what_if"]["saturation_index"].items():
        assert value < chemistry["saturation_index"][phase]
    text = run_cli("assess", case).stdout
    assert "Serum supersaturation (minteq.v4.dat, 37 °C)" in text
    assert chemistry["reading"].split(" (")[0] in " ".join(text.split())
    html = run_cli("assess", case, "--format", "html").stdout
    assert "<script>" not in html  # case text is escaped, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Serum supersaturation" in html


def test_missing_chemistry_input_is_named(run_cli) -> None:
    doc = json.loads(run_cli("assess", CASES / "ckd4.yaml", "--format", "json").stdout)
    assert doc["chemistry"] is None
    (alert,) = [a for a in doc["alerts"] if a["id"] == "chemistry_not_computed"]
    assert "bicarbonate" in alert["message"]


def test_acute_kidney_injury_is_not_staged_as_ckd(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "aki.yaml"
    case.write_text("patient: {age_years: 65, sex: male}\n"
                    "labs: [{analyte: creatinine, value: 3.5, unit: mg/dL}]\n"
                    "conditions: [{text: AKI after contrast}]\n")
    doc = json.loads(run_cli("assess", case, "--format", "json").stdout)
    assert round(doc["derived"]["egfr_ml_min_1_73m2"], 1) == 18.6  # check value 3.5/65/M
    assert doc["derived"]["ckd_stage"] is None  # ...but not a CKD stage
    assert doc["monitoring"] == []
    assert any("Acute kidney injury" in note for note in doc["derived"]["notes"])
    case.write_text(case.read_text().replace("AKI after contrast", "AKI on CKD stage 4"))
    doc = json.loads(run_cli("assess", case, "--format", "json").stdout)
    assert doc["derived"]["ckd_stage"] == "G4"


def test_patient_summary_is_plain_and_keeps_certainty(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "pxe.yaml"
    case.write_text("patient: {age_years: 40, sex: female}\n"
                    "labs: [{analyte: calcium, value: 14, unit: mg/dL}]\n"
                    "findings: [{site: lateral neck skin, signs: [yellow papules]}]\n")
    text = run_cli("assess", case, "--audience", "patient").stdout
    # calcium 14 is critical: today, and where to go (issue 20)
    assert "need treatment TODAY" in text and "emergency department" in text
    assert "critical" not in text.lower() and "mg/dL" not in text  # no clinician wording
    # One major skin criterion only: Plomp 2010 "possible", said in plain words.
    assert "pseudoxanthoma elasticum (PXE)" in text and "(the findings may fit)" in text


def test_ckd_stage_3_without_creatinine_is_staged_g3a(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "ckd3.yaml"
    case.write_text("patient: {age_years: 60, sex: male}\nconditions: [{text: CKD stage 3}]\n")
    result = run_cli("assess", case, "--format", "json")
    assert result.code == 0, result.stderr
    derived = json.loads(result.stdout)["derived"]
    assert derived["ckd_stage"] == "G3a"
    assert any("3a or 3b" in note for note in derived["notes"])


def test_nan_in_json_and_bad_out_paths(run_cli, tmp_path: Path) -> None:
    case = tmp_path / "nan.json"
    case.write_text('{"labs": [{"analyte": "calcium", "value": NaN, "unit": "mg/dL"}]}')
    result = run_cli("assess", case)
    assert result.code == 2 and "NaN is not a number" in result.stderr
    folder = run_cli("assess", CASES / "ckd4.yaml", "--out", tmp_path)
    assert folder.code == 2 and folder.stderr.startswith(f"error: {tmp_path}: --out")
    missing = run_cli("assess", CASES / "ckd4.yaml", "--out", tmp_path / "no" / "r.txt")
    assert missing.code == 2 and "does not exist" in missing.stderr


def test_report_file_is_readable_by_others(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert run_cli("assess", CASES / "ckd4.yaml", "--format", "json", "--out", out).code == 0
    assert out.stat().st_mode & 0o044 == 0o044


def _bundle_file(tmp_path: Path, bundle: dict) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return path


@pytest.mark.parametrize(
    ("bundle", "field", "words"),
    [
        ({"resourceType": "Bundle", "type": "collection", "timestamp": "2026-01-01T00:00:00Z",
          "entry": [{"resource": {"resourceType": "Patient", "birthDate": "1960"}}]},
         "entry[0].resource.birthDate", "partial date"),
        ({"resourceType": "Bundle", "type": "collection",
          "entry": [{"resource": {"resourceType": "Patient", "birthDate": "1960-01-01"}}]},
         "timestamp", "reference date"),
    ],
)
def test_bad_fhir_bundles_exit_2(run_cli, tmp_path: Path, bundle: dict, field: str,
                                 words: str) -> None:
    path = _bundle_file(tmp_path, bundle)
    result = run_cli("assess", path)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}: {field}: ") and words in result.stderr


def test_as_of_and_provenance_reach_the_json(run_cli) -> None:
    now = json.loads(run_cli("assess", CASES / "ckd4.yaml", "--format", "json").stdout)
    assert now["as_of"] is None and now["patient"]["id"] == "p1"
    assert now["input_digest"].startswith("sha256:")
    assert {r["input_ref"] for r in now["labs"]} >= {"labs[0]", "labs[2]"}
    basis = {b["quantity"]: b["input_refs"] for b in now["derived"]["basis"]}
    assert basis["corrected_calcium_mg_dl"] == ["labs[2]", "labs[3]"]  # calcium, albumin
    assert basis["egfr_ml_min_1_73m2"] == ["labs[0]", "labs[1]"]  # creatinine, cystatin C
    # Every lab of the case is dated 2026-09-15: as of the day before, none was known yet.
    before = json.loads(run_cli("assess", CASES / "ckd4.yaml", "--format", "json",
                                "--as-of", "2026-09-14").stdout)
    assert (before["as_of"], before["labs"], before["derived"]["egfr_ml_min_1_73m2"]) == (
        "2026-09-14", [], None)
    assert before["input_digest"] == now["input_digest"]
    bad = run_cli("assess", CASES / "ckd4.yaml", "--as-of", "2026-13-01")
    assert bad.code == 2 and "--as-of" in bad.stderr


def test_a_click_usage_error_reads_as_one_line_of_words(run_cli, tmp_path) -> None:
    result = run_cli("user", "add", "bob", "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert "Choose from: clinician, viewer" in result.stderr and "\\n" not in result.stderr
