"""``record show`` on the shipped three-visit example: series, trends, progression, monitoring."""

from __future__ import annotations

import json
import math
from datetime import date as Date
from typing import Any

import pytest
from record_helpers import EXAMPLE

from ectocalc.model.display import shown_view
from ectocalc.record import add_files, patient_view, record_rules
from ectocalc.record._store import Store
from ectocalc.record._trends import cac_progression, egfr_trend, lab_trend

TODAY = Date(2026, 11, 30)


@pytest.fixture
def example(store: Store) -> Store:
    files = [*sorted(EXAMPLE.glob("visit-*.yaml")), *sorted(EXAMPLE.glob("scan-*.json"))]
    assert all(r.status == "added" for r in add_files(store, files, patient_id="MRN-0042"))
    return store


@pytest.fixture
def exact(example: Store) -> dict[str, Any]:
    """The view at full precision (the record's data)."""
    return patient_view(example, "MRN-0042", today=TODAY)


@pytest.fixture
def view(exact: dict[str, Any]) -> dict[str, Any]:
    """The view as every renderer shows it (rounded only there)."""
    return shown_view(exact)


def test_the_view_is_exact_and_only_its_rendering_rounds(exact: dict[str, Any]) -> None:
    # 1.81 mmol/L x 3.097 (phosphate mg/dL per mmol/L) = 5.60557 mg/dL, kept whole
    assert exact["series"]["phosphate"][-1]["value"] == pytest.approx(1.81 * 3.097, abs=1e-9)
    assert exact["patient"]["age_years"] == 66 + 274 / 365.2425
    assert shown_view(exact)["patient"]["age_years"] == 66.75


def test_phosphate_rises_and_is_persistently_high(view: dict[str, Any]) -> None:
    series = view["series"]["phosphate"]
    assert [p["date"] for p in series] == ["2024-03-01", "2025-03-01", "2026-03-01"]
    # 1.81 mmol/L x 3.097 = 5.6056 mg/dL: the record keeps canonical units
    assert [p["value"] for p in series] == [4.2, 4.9, 5.606]
    assert [p["flag"] for p in series] == ["normal", "high", "high"]
    trend = view["trends"]["phosphate"]
    assert trend["persistent_high"] is True and trend["direction"] == "rising"
    assert trend["persistent_high_source"] == "KDIGO 2017 CKD-MBD 4.1.5; KDIGO 2017 CKD-MBD 3.1.4"
    assert any(a["id"] == "persistent_high_phosphate" for a in view["alerts"])


def test_egfr_series_slope_and_rapid_decline(view: dict[str, Any],
                                             exact: dict[str, Any]) -> None:
    egfr = view["series"]["egfr"]
    assert [p["value"] for p in egfr] == [35.79, 27.21, 19.72]  # CKD-EPI 2021, female 64-66 y
    assert {p["equation"] for p in egfr} == {"CKD-EPI 2021 creatinine"}
    # 2024-03-01, 2025-03-01, 2026-03-01: calendar years apart, so 0, 1 and 2 years
    values = [p["value"] for p in exact["series"]["egfr"]]
    slope = (values[2] - values[0]) / 2  # least squares through 3 equally spaced points
    assert exact["trends"]["egfr"]["slope_per_year"] == pytest.approx(slope, abs=1e-9)
    trend = view["trends"]["egfr"]
    assert trend["slope_per_year"] == round(slope, 2) == -8.03
    assert trend["rapid_decline"] is True and trend["source"] == "KDIGO 2012 CKD 2.1.3"
    assert view["series"]["corrected_calcium"][0]["value"] == 9.28  # 9.2 + 0.8 x (4 - 3.9)


def test_cac_progression_by_both_methods(view: dict[str, Any]) -> None:
    progression = view["cac_progression"]
    years = 2.0  # two calendar years between the scans
    assert progression["interval_years"] == 2.0
    assert progression["sqrt_difference"] == round(math.sqrt(180.2) - 10, 2) == 3.42
    assert progression["hokanson"] is True
    assert progression["annual_percent"] == round((1.802 ** (1 / years) - 1) * 100, 2)
    assert progression["raggi"] is True and progression["incident"] is False
    assert [p["value"] for p in view["series"]["cac_agatston"]] == [100.0, 180.2]


def test_monitoring_due_and_overdue(view: dict[str, Any]) -> None:
    assert view["ckd_stage"] == "G4"
    due = {m["test"]: m for m in view["monitoring_due"]}
    assert (due["serum_phosphate"]["last"], due["serum_phosphate"]["due"]) == (
        "2026-03-01", "2026-09-01")  # KDIGO 2017 3.1.2, G4: every 3-6 months
    assert due["serum_phosphate"]["overdue"] is True
    assert (due["pth"]["due"], due["pth"]["overdue"]) == ("2027-03-01", False)
    assert due["alkaline_phosphatase"]["last"] is None and due["alkaline_phosphatase"]["overdue"]


def test_show_cli_json_text_and_html(example: Store, db_url: str, run_cli) -> None:
    shown = run_cli("record", "show", "MRN-0042", "--db", db_url, "--format", "json")
    assert shown.code == 0
    document = json.loads(shown.stdout)
    assert document["patient"]["id"] == "MRN-0042"
    assert document["trends"]["phosphate"]["persistent_high"] is True
    text = run_cli("record", "show", "MRN-0042", "--db", db_url, "--format", "text")
    assert "PERSISTENTLY HIGH" in text.stdout and "RAPID DECLINE" in text.stdout
    assert "OVERDUE" in text.stdout and "Hokanson: yes" in text.stdout
    page = run_cli("record", "show", "MRN-0042", "--db", db_url, "--format", "html")
    assert page.stdout.count('src="data:image/png;base64,') == len(document["series"])
    assert "progression" in page.stdout
    missing = run_cli("record", "show", "NOBODY", "--db", db_url)
    assert missing.code == 2 and "PATIENT" in missing.stderr


def test_list_cli_names_alerts_and_overdue(example: Store, db_url: str, run_cli) -> None:
    listed = run_cli("record", "list", "--db", db_url, "--format", "json")
    assert listed.code == 0
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["results"], row["scans"]) == ("MRN-0042", 15, 2)
    assert "serum_phosphate" in row["overdue"]
    assert {"id": "egfr_rapid_decline", "severity": "warning"} in row["alerts"]


def _point(day: str, value: float, flag: str = "normal") -> dict[str, Any]:
    return {"date": Date.fromisoformat(day), "value": value, "flag": flag}


def test_trend_rules_edges() -> None:
    rules = record_rules()
    one_high = [_point("2025-01-01", 4.0), _point("2026-01-01", 5.0, "high")]
    assert lab_trend(one_high, rules)["persistent_high"] is False
    flat = [_point("2025-01-01", 4.0), _point("2025-06-01", 4.2), _point("2026-01-01", 4.1)]
    assert lab_trend(flat, rules)["direction"] == "stable"
    short = egfr_trend([_point("2025-01-01", 40), _point("2025-06-01", 30),
                        _point("2025-12-01", 20)], rules)  # < 1 year: no slope
    assert short["slope_per_year"] is None and "spanning" in short["note"]


def test_progression_incident_and_acquisition_warning() -> None:
    base = {"kvp": 120, "slice_increment_mm": 3.0, "convention": "agatston-1990"}
    pairs = cac_progression([{"date": Date(2024, 1, 1), "value": 0.0, **base},
                             {"date": Date(2025, 1, 1), "value": 12.0, **base, "kvp": 100}],
                            record_rules())
    assert pairs[0]["incident"] is True and pairs[0]["annual_percent"] is None
    assert pairs[0]["raggi"] is None
    assert pairs[0]["warnings"] == ["scans differ in kvp: scores are not directly comparable"]


def test_the_age_is_carried_forward_and_shown_to_two_decimals(view: dict[str, Any]) -> None:
    """The stated age at the last visit plus the time since, as reported (not 66.7501865...)."""
    age = view["patient"]["age_years"]
    assert age == round(66 + 274 / 365.2425, 2) == 66.75   # 66 on 2026-03-01, 274 days on
