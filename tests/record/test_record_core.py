"""The record takes its flags, derived values and alerts from the core, with the knowledge bundle
it is given: a child's corrected calcium, two bundles side by side, the record's own alerts from
``alerts.yaml``, a reported coronary Agatston in the CAC series, calendar-year spans."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date as Date
from pathlib import Path
from typing import Any

import pytest
import yaml
from record_helpers import EXAMPLE, case_text

from ectocalc.assess import assess
from ectocalc.io.case_file import load_case
from ectocalc.knowledge import Knowledge, load_knowledge
from ectocalc.record import Store, add_files, open_store, patient_view, record_rules
from ectocalc.record._trends import egfr_trend

BUNDLE = Path(load_knowledge.__code__.co_filename).parent / "data"


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'record.db'}")
    yield store
    store.dispose()


def _bundle(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None],
            file: str) -> Knowledge:
    """A copy of the packaged bundle with one file changed."""
    folder = tmp_path / name
    shutil.copytree(BUNDLE, folder)
    data = yaml.safe_load((folder / file).read_text(encoding="utf-8"))
    change(data)
    (folder / file).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                               encoding="utf-8")
    return load_knowledge(folder)


def test_a_childs_corrected_calcium_is_low_in_the_record_as_in_the_assessment(
        record: Store, tmp_path: Path) -> None:
    # 9.0 + 0.8 x (4.0 - 4.0) = 9.0 mg/dL: within the adult 8.6-10.3 but below the 9.2-10.5 of
    # ages 1 to <19 (CALIPER, analytes.yaml). Regression: the record judged it "normal".
    path = tmp_path / "child.yaml"
    path.write_text(case_text("CHILD-10", "2026-05-04", [("calcium", 9.0, "mg/dL"),
                                                         ("albumin", 4.0, "g/dL")], age=10))
    assert add_files(record, [path])[0].status == "added"
    view = patient_view(record, "CHILD-10", today=Date(2026, 5, 4))
    [point] = view["series"]["corrected_calcium"]
    assert (point["value"], point["flag"], point["reference_range"]) == (9.0, "low", [9.2, 10.5])
    assessment = assess(load_case(path), knowledge=load_knowledge())
    assert assessment.derived.calcium_status == point["flag"] == "low"


def test_two_bundles_side_by_side_through_the_record(record: Store, tmp_path: Path) -> None:
    files = sorted(EXAMPLE.glob("visit-*.yaml"))
    assert all(r.status == "added" for r in add_files(record, files))

    def wider(data: dict[str, Any]) -> None:  # phosphate upper limit 4.5 -> 6.0 mg/dL
        data["analytes"]["phosphate"]["reference"] = [2.5, 6.0]

    packaged = load_knowledge()
    widened = _bundle(tmp_path, "wide", wider, "analytes.yaml")
    today = Date(2026, 11, 30)
    first = patient_view(record, "MRN-0042", today=today, knowledge=packaged)
    second = patient_view(record, "MRN-0042", today=today, knowledge=widened)
    again = patient_view(record, "MRN-0042", today=today, knowledge=packaged)
    # phosphate 4.2, 4.9, 5.6 mg/dL
    assert [p["flag"] for p in first["series"]["phosphate"]] == ["normal", "high", "high"]
    assert [p["flag"] for p in second["series"]["phosphate"]] == ["normal", "normal", "normal"]
    assert first == again  # the other bundle left nothing behind
    assert "persistent_high_phosphate" in {a["id"] for a in first["alerts"]}
    assert "persistent_high_phosphate" not in {a["id"] for a in second["alerts"]}
    assert first["knowledge_version"] != second["knowledge_version"]


def test_the_records_alerts_come_from_alerts_yaml(record: Store, tmp_path: Path) -> None:
    files = [*sorted(EXAMPLE.glob("visit-*.yaml")), *sorted(EXAMPLE.glob("scan-*.json"))]
    assert all(r.status == "added" for r in add_files(record, files, patient_id="MRN-0042"))

    def reworded(data: dict[str, Any]) -> None:
        entry = next(a for a in data["record"] if a["id"] == "egfr_rapid_decline")
        entry["message"] = "eGFR down {slope_per_year} per year"
        entry["severity"] = "critical"

    knowledge = _bundle(tmp_path, "alerts", reworded, "alerts.yaml")
    view = patient_view(record, "MRN-0042", today=Date(2026, 11, 30), knowledge=knowledge)
    alerts = {a["id"]: a for a in view["alerts"]}
    # eGFR 35.79, 27.21, 19.72 a calendar year apart: -8.03 per year
    assert alerts["egfr_rapid_decline"]["message"] == "eGFR down 8.03 per year"
    assert alerts["egfr_rapid_decline"]["severity"] == "critical"
    assert alerts["egfr_rapid_decline"]["source"] == "KDIGO 2012 CKD 2.1.3"
    assert alerts["cac_progression"]["message"] == (
        "calcium score progressed between the last two scans (hokanson, raggi)")


def test_a_record_alert_message_naming_an_unknown_value_is_refused(tmp_path: Path) -> None:
    from ectocalc.knowledge import KnowledgeError

    def broken(data: dict[str, Any]) -> None:
        data["record"][0]["message"] = "{patient_name} is high"

    with pytest.raises(KnowledgeError, match="unknown values"):
        _bundle(tmp_path, "broken", broken, "alerts.yaml")


def test_a_reported_coronary_agatston_joins_the_cac_series(record: Store, tmp_path: Path) -> None:
    report = tmp_path / "report.yaml"
    report.write_text("date: 2025-02-10\npatient: {id: CAC-1, age_years: 61, sex: male}\n"
                      "findings:\n  - {site: LAD, modality: ct, agatston: 60}\n"
                      "  - {site: RCA, modality: ct, agatston: 40}\n")
    later = tmp_path / "later.yaml"
    later.write_text("date: 2026-02-10\npatient: {id: CAC-1, age_years: 62, sex: male}\n"
                     "findings:\n  - {site: coronary arteries, modality: ct, agatston: 180}\n")
    assert all(r.status == "added" for r in add_files(record, [report, later]))
    view = patient_view(record, "CAC-1", today=Date(2026, 3, 1))
    series = view["series"]["cac_agatston"]
    # 60 + 40 per artery in the first report, a total of 180 in the second
    assert [(p["date"], p["value"], p["origin"]) for p in series] == [
        ("2025-02-10", 100.0, "reported"), ("2026-02-10", 180.0, "reported")]
    progression = view["cac_progression"]
    assert progression["interval_years"] == 1.0
    # sqrt(180) - sqrt(100) = 3.42 >= 2.5 (Hokanson); +80 % in one year >= 15 % (Raggi)
    assert progression["hokanson"] is True and progression["raggi"] is True
    assert progression["annual_percent"] == pytest.approx(80.0)


def test_results_a_calendar_year_apart_span_one_year() -> None:
    """365 days (2025-01-01 to 2026-01-01) is 1 year: the eGFR slope is not withheld."""
    points = [{"date": Date(2025, 1, 1), "value": 40.0}, {"date": Date(2025, 7, 2), "value": 36.0},
              {"date": Date(2026, 1, 1), "value": 30.0}]
    trend = egfr_trend(points, record_rules())
    assert trend["span_years"] == 1.0 and "note" not in trend
    assert trend["slope_per_year"] < -5 and trend["rapid_decline"] is True
