"""``ectocalc cohort`` on a local Dask cluster: table = single-item service calls, failures
recorded, reruns redo only what is not done, bad arguments exit 2."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import pytest

from ectocalc import service
from ectocalc.cohort import content_digest, discover_items
from ectocalc.errors import InputError

if TYPE_CHECKING:
    from conftest import Cohort


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def manifest(out: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(out / "manifest.sqlite") as db:
        return {i: (s, a) for i, s, a in db.execute("SELECT id, status, attempts FROM items")}


def scan_values(scan: Any) -> dict[str, Any]:
    values = {"agatston": scan.agatston, "volume_mm3": scan.volume_mm3,
              "mass_mg": scan.mass_mg, "lesion_count": len(scan.lesions)}
    for name, totals in scan.by_type.items():
        values |= {f"agatston_{name}": totals.agatston, f"mass_mg_{name}": totals.mass_mg,
                   f"volume_mm3_{name}": totals.volume_mm3}
    return values


def case_values(assessment: Any) -> dict[str, Any]:
    d = assessment.derived
    return {"mechanism": assessment.mechanism.primary, "ckd_stage": d.ckd_stage,
            "egfr_ml_min_1_73m2": d.egfr_ml_min_1_73m2,
            "corrected_calcium_mg_dl": d.corrected_calcium_mg_dl,
            "calcium_phosphate_product_mg2_dl2": d.calcium_phosphate_product_mg2_dl2,
            "sex": assessment.patient["sex"], "age_years": assessment.patient["age_years"]}


def test_table_matches_single_item_service_calls(cohort_source: Cohort,
                                                 cohort_run: tuple[Path, list[Path]]) -> None:
    out, _ = cohort_run
    rows = {row["id"]: row for row in pq.read_table(out / "cohort.parquet").to_pylist()}
    expected_ids = {*cohort_source.scans, *cohort_source.cases, "pair-ckd4",
                    "broken-garbage", "broken-truncated", "broken-zip"}
    assert set(rows) == expected_ids
    for name, path in cohort_source.scans.items():
        direct = scan_values(service.quantify_scan(path))
        assert direct["agatston"] > 0
        assert {k: rows[name][k] for k in direct} == direct
        assert (rows[name]["kind"], rows[name]["status"]) == ("scan", "done")
    for name, path in cohort_source.cases.items():
        if name in cohort_source.broken:
            continue
        assessment = service.assess_case(service.read_case(path))
        assert {k: rows[name][k] for k in case_values(assessment)} == case_values(assessment)
        if assessment.imaging:  # ct-linked.yaml: assessed with the scan it lists
            assert {k: rows[name][k] for k in scan_values(assessment.imaging[0])} == \
                scan_values(assessment.imaging[0])
    paired = service.assess_case(service.read_case(cohort_source.cases["ckd4"]),
                                 scans=[service.quantify_scan(cohort_source.scans["ph-b"])])
    pair = rows["pair-ckd4"]
    assert pair["kind"] == "case+scan"
    assert {k: pair[k] for k in case_values(paired)} == case_values(paired)
    assert {k: pair[k] for k in scan_values(paired.imaging[0])} == \
        scan_values(paired.imaging[0])
    assert rows["ckd-hemodialysis"]["ckd_stage"] == "G5D"


def test_csv_equals_parquet_and_failures_are_listed(cohort_source: Cohort,
                                                    cohort_run: tuple[Path, list[Path]]) -> None:
    out, _ = cohort_run
    table = pq.read_table(out / "cohort.parquet").to_pylist()
    text_rows = read_csv(out / "cohort.csv")
    assert [row["id"] for row in text_rows] == [row["id"] for row in table]
    for typed, text in zip(table, text_rows, strict=True):
        for key, value in typed.items():
            if isinstance(value, float):
                assert float(text[key]) == value, (typed["id"], key)
            elif value is None:
                assert text[key] == ""
    failures = {row["id"]: row["error"] for row in read_csv(out / "failures.csv")}
    assert sorted(failures) == sorted(cohort_source.broken)
    assert "patient.sex" in failures["bad-case"]
    assert all(error and "\n" not in error for error in failures.values())
    for row in table:
        done = (out / "items" / row["id"] / "DONE").is_file()
        assert done == (row["status"] == "done")
        assert (row["status"] == "failed") == (row["id"] in cohort_source.broken)
    assert (out / "items" / "ph-a" / "scan" / "scan.json").is_file()
    assert (out / "items" / "ct-linked" / "assessment.json").is_file()
    summary = (out / "summary.html").read_text()
    assert "data:image/png;base64," in summary and "broken-zip" in summary


def test_rerun_redoes_only_changed_and_failed_items(cohort_source: Cohort,
                                                    cohort_run: tuple[Path, list[Path]],
                                                    tmp_path: Path,
                                                    skip_if_settings_changed) -> None:
    from typer.testing import CliRunner

    from ectocalc.cli import app

    out, inputs = cohort_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = manifest(copy)
    assert all(attempts == 1 for _, attempts in before.values())
    marker = (copy / "items" / "ph-a" / "DONE").stat().st_mtime_ns
    changed = cohort_source.root / "cases" / "ckd4.yaml"
    original = changed.read_text()
    try:
        changed.write_text(original.replace("value: 5.1", "value: 5.2"))
        result = CliRunner().invoke(app, ["cohort", *map(str, inputs), "--out", str(copy),
                                          "--workers", "1"])
    finally:
        changed.write_text(original)
    assert result.exit_code == 1
    skip_if_settings_changed(copy / "items" / "ph-a", copy / "items" / "ckd4")
    after = manifest(copy)
    redone = {"ckd4", "pair-ckd4", *cohort_source.broken}  # the pair's case changed too
    assert {i for i, (_, attempts) in after.items() if attempts == 2} == redone
    assert (copy / "items" / "ph-a" / "DONE").stat().st_mtime_ns == marker
    rows = {row["id"]: row for row in read_csv(copy / "cohort.csv")}
    assert float(rows["ckd4"]["phosphate_mg_dl"]) == 5.2


def test_discovery_ids_and_bad_inputs(cohort_source: Cohort, tmp_path: Path) -> None:
    items = discover_items([cohort_source.root / "scans", cohort_source.scans["ph-a"]])
    assert [i.id for i in items] == ["broken-garbage", "broken-truncated", "broken-zip",
                                     "ph-a", "ph-b", "ph-c"]  # ph-a named twice: one item
    bad = tmp_path / "bad.csv"
    bad.write_text("id,case\nx,a.yaml\n")
    with pytest.raises(InputError, match="scan"):
        discover_items([bad])
    bad.write_text("id,case,scan\nx,a.yaml,\nx,b.yaml,\n")
    with pytest.raises(InputError, match="not unique"):
        discover_items([bad])


@pytest.mark.parametrize("args, field", [
    (["missing-folder"], "does not exist"),
    (["{scans}", "--workers", "0"], "--workers"),
    (["{scans}", "--convention", "nonsense"], "--convention"),
    (["{scans}", "--salt", "x"], "--salt"),
    (["{scans}", "--deidentify", "--db", "sqlite:///x.db"], "--db"),
    (["{scans}", "--scheduler", "localhost"], "--scheduler"),
])
def test_bad_arguments_exit_2_with_one_line(cohort_source: Cohort, tmp_path: Path, run_cli,
                                            args: list[str], field: str) -> None:
    args = [a.format(scans=cohort_source.root / "scans") for a in args]
    result = run_cli("cohort", *args, "--out", tmp_path / "out")
    assert result.code == 2
    assert field in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_db_puts_cases_scans_and_assessments_in_the_record(
        cohort_source: Cohort, cohort_run: tuple[Path, list[Path]], tmp_path: Path,
        run_cli) -> None:
    from ectocalc.record import open_store, patient_view

    copy = tmp_path / "out"
    shutil.copytree(cohort_run[0], copy)
    url = f"sqlite:///{tmp_path / 'record.db'}"
    inputs = [cohort_source.root / "pairs.csv", cohort_source.cases["ckd4"]]
    result = run_cli("cohort", *inputs, "--out", copy, "--db", url)
    assert result.code == 0, result.stderr
    recorded = manifest(copy)
    assert [recorded[i] for i in ("pair-ckd4", "ckd4")] == [("done", 1)] * 2  # reused
    patient_id = service.read_case(cohort_source.cases["ckd4"]).patient.id
    store = open_store(url)
    try:
        view = patient_view(store, patient_id)
    finally:
        store.dispose()
    pair = {row["id"]: row for row in read_csv(copy / "cohort.csv")}["pair-ckd4"]
    assert [point["value"] for point in view["series"]["cac_agatston"]] == \
        [float(pair["agatston"])]
    assert view["series"]["phosphate"][0]["value"] == 5.1


def test_rerun_says_how_many_items_it_skipped(cohort_source: Cohort,
                                              cohort_run: tuple[Path, list[Path]],
                                              tmp_path: Path, skip_if_settings_changed) -> None:
    from typer.testing import CliRunner

    from ectocalc.cli import app

    out, inputs = cohort_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    first = read_csv(out / "cohort.csv")
    done_before = sum(row["status"] == "done" for row in first)
    result = CliRunner().invoke(app, ["cohort", *map(str, inputs), "--out", str(copy),
                                      "--workers", "1"])
    assert result.exit_code == 1  # the broken items fail again
    skip_if_settings_changed(out / "items" / "ph-a", copy / "items" / "ph-a")
    broken = len(cohort_source.broken)
    assert done_before == len(first) - broken
    assert (f"cohort: {done_before} done, {broken} failed; {done_before} skipped (done by an "
            "earlier run, inputs and settings unchanged)") in result.output


def test_each_distinct_input_is_hashed_once_and_cached_in_the_run_folder(
        cohort_source: Cohort, tmp_path: Path) -> None:
    from ectocalc.cohort._digests import CACHE_FILE, DigestCache

    scans = list(cohort_source.scans.values())[:2]
    case = cohort_source.root / "cases" / "ckd4.yaml"
    first = DigestCache(tmp_path)
    digests = [first.of([scans[i % 2]]) for i in range(10)] + [first.of([case, scans[0]])]
    assert first.hashed == 3  # two series and one case file, whatever the number of items
    assert digests[0] == content_digest([scans[0]]) != digests[1]
    first.save()
    stored = (tmp_path / CACHE_FILE).read_text()
    assert scans[0].name not in stored and "ckd4" not in stored  # file names may be identities

    again = DigestCache(tmp_path)  # a rerun: nothing read, same digests
    assert [again.of([scans[i % 2]]) for i in range(10)] + [again.of([case, scans[0]])] \
        == digests
    assert again.hashed == 0

    copied = tmp_path / "case.yaml"  # an edit keeping the size: a new time, a new digest
    shutil.copy2(case, copied)
    cache = DigestCache(tmp_path)
    before = cache.of([copied])
    cache.save()
    text = copied.read_text()
    copied.write_text(text.replace("value: 5.1", "value: 5.2"))
    assert len(copied.read_text()) == len(text)
    changed = DigestCache(tmp_path)
    assert changed.of([copied]) == content_digest([copied]) != before
    assert changed.hashed == 1
