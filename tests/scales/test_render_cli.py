"""The scales in the reports and on the command line (``ectocalc assess`` on the examples)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ectocalc.render import render
from ectocalc.service import assess_file

CASES = Path(__file__).resolve().parents[2] / "examples" / "cases"
CV = CASES / "cardiovascular-risk.yaml"
CKD = CASES / "ckd-kauppila.yaml"


def test_cli_json_cardiovascular(run_cli) -> None:
    result = run_cli("assess", CV, "--format", "json")
    assert result.code == 0, result.stderr
    scales = json.loads(result.stdout)["scales"]
    assert {k: scales["cac_drs"][k] for k in ("category", "vessels", "label")} == {
        "category": "A2", "vessels": "N3", "label": "CAC-DRS A2/N3"}
    mesa = scales["mesa_chd_10y"]
    assert {k: mesa[k] for k in ("risk_percent", "with_cac", "without_cac_percent")} == {
        "risk_percent": 10.43, "with_cac": True, "without_cac_percent": 8.61}
    assert scales["kauppila_aac24"]["status"] == "no_data"
    assert "cac_progression" not in scales


def test_cli_text_cardiovascular(run_cli) -> None:
    result = run_cli("assess", CV, "--format", "text")
    assert result.code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Clinical scales" in text
    assert "MESA 10-year CHD risk" in text and "10.4 % with CAC; 8.6 % without" in text
    assert "CAC-DRS A2/N3" in text


def test_cli_text_ckd_kauppila(run_cli) -> None:
    result = run_cli("assess", CKD, "--format", "text")
    assert result.code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "AAC-24 11/24" in text and "Adragão 3/8" in text
    doc = json.loads(run_cli("assess", CKD, "--format", "json").stdout)["scales"]
    assert (doc["kauppila_aac24"]["score"], doc["adragao"]["score"]) == (11, 3)
    assert doc["adragao"]["high_risk"] is True


def test_kauppila_value_4_in_a_file(tmp_path: Path, run_cli) -> None:
    case = tmp_path / "bad.yaml"
    case.write_text(CKD.read_text().replace("L4: [3, 2]", "L4: [4, 2]"))
    result = run_cli("assess", case, "--format", "json")
    if result.code == 2:  # refused by the loader: one line naming file and field
        assert result.stderr.count("\n") == 1 and "kauppila" in result.stderr
    else:
        aac = json.loads(result.stdout)["scales"]["kauppila_aac24"]
        assert aac["status"] == "not_computed" and aac["score"] is None
        assert "L4 anterior is 4" in aac["not_computed"]


def test_html_report_shows_scales() -> None:
    html = render(assess_file(CV), format="html")
    assert "<h2>Clinical scales</h2>" in html
    assert "CAC-DRS A2/N3" in html and "MESA 10-year CHD risk" in html


def test_patient_summary_in_plain_words() -> None:
    text = render(assess_file(CV), format="text", audience="patient")
    assert "about 10 in 100" in text
    assert "moderate amount of calcium was seen in the arteries of your heart" in text
    assert not re.search(r"\d+\.\d+ ?%", text)  # no decimal percentages
    assert "CAC-DRS" not in text and "A2" not in text
    ckd = render(assess_file(CKD), format="text", audience="patient")
    assert "main artery of your belly" in ckd
