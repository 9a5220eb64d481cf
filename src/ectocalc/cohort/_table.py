"""The cohort table: one row per item (contract §7), written as CSV and Parquet (private).

Columns, in order: ``id``, ``kind``, ``status`` (``done`` | ``failed``), ``error``, the
assessment (mechanism, CKD and albuminuria stage, dialysis, sex, age and age band, key labs
and derived indices, alert ids), the scan scores of the primary convention (totals and, for
each calcification type, Agatston, volume and mass), the totals under each further requested
convention (``<convention>_agatston``, …) and the knowledge version. Values are those of the
service calls, unrounded; a missing value is empty in CSV and null in Parquet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from ectocalc.io.files import atomic_write
from ectocalc.model.assessment import Assessment
from ectocalc.model.scan import TYPE_ORDER, ScanResult

TYPES: tuple[str, ...] = TYPE_ORDER
MEASURES = ("agatston", "volume_mm3", "mass_mg")
KEY_LABS = {"phosphate_mg_dl": ("phosphate", "mg/dL"), "pth_pg_ml": ("pth", "pg/mL"),
            "albumin_g_dl": ("albumin", "g/dL"), "creatinine_mg_dl": ("creatinine", "mg/dL")}
"""Column → (analyte, canonical unit): the latest value, filled only in that unit."""
DERIVED = ("corrected_calcium_mg_dl", "calcium_phosphate_product_mg2_dl2",
           "egfr_ml_min_1_73m2", "egfr_equation", "ckd_stage", "albuminuria_stage",
           "on_dialysis")
AGE_BANDS = ((18, "<18"), (40, "18-39"), (60, "40-59"), (80, "60-79"))
"""Upper bounds (exclusive) and labels; 80 and over is ``80+``."""

_STRING, _FLOAT, _INT, _BOOL = pa.string(), pa.float64(), pa.int64(), pa.bool_()
BASE_COLUMNS: dict[str, pa.DataType] = {
    "id": _STRING, "kind": _STRING, "status": _STRING, "error": _STRING,
    "mechanism": _STRING, "mechanism_confidence": _STRING,
    "corrected_calcium_mg_dl": _FLOAT, "calcium_phosphate_product_mg2_dl2": _FLOAT,
    "egfr_ml_min_1_73m2": _FLOAT, "egfr_equation": _STRING, "ckd_stage": _STRING,
    "albuminuria_stage": _STRING, "on_dialysis": _BOOL, "sex": _STRING,
    "age_years": _FLOAT, "age_band": _STRING, **dict.fromkeys(KEY_LABS, _FLOAT),
    "alerts": _STRING, "scan_count": _INT, "convention": _STRING, "lesion_count": _INT,
    **dict.fromkeys(MEASURES, _FLOAT),
    **{f"{m}_{t}": _FLOAT for t in TYPES for m in MEASURES},
}
"""Every column present in every table, with its Parquet type."""
TAIL_COLUMNS: dict[str, pa.DataType] = {"knowledge_version": _STRING}


def age_band(age: float | None) -> str | None:
    """Age band label of an age in years.

    Examples
    --------
    >>> age_band(17.9), age_band(40), age_band(79.99), age_band(80), age_band(None)
    ('<18', '40-59', '60-79', '80+', None)
    """
    if age is None:
        return None
    for upper, label in AGE_BANDS:
        if age < upper:
            return label
    return "80+"


def _latest_scan(scans: Sequence[ScanResult]) -> ScanResult | None:
    """The most recent scan (undated scans count as oldest; ties: the last given)."""
    if not scans:
        return None
    order = sorted(range(len(scans)),
                   key=lambda i: (scans[i].study_date is not None, scans[i].study_date, i))
    return scans[order[-1]]


def _scan_columns(scan: ScanResult | None, count: int) -> dict[str, Any]:
    row: dict[str, Any] = {"scan_count": count}
    if scan is None:
        return row
    row.update(convention=scan.convention, lesion_count=len(scan.lesions),
               agatston=scan.agatston, volume_mm3=scan.volume_mm3, mass_mg=scan.mass_mg)
    for name in TYPES:
        totals = scan.by_type.get(name)
        for measure in MEASURES:
            row[f"{measure}_{name}"] = getattr(totals, measure) if totals else 0.0
    for summary in scan.conventions[1:]:  # the first is the primary, already in the row
        for measure in MEASURES:
            row[f"{summary['convention']}_{measure}"] = summary[measure]
    return row


def _assessment_columns(a: Assessment) -> dict[str, Any]:
    row: dict[str, Any] = {"mechanism": a.mechanism.primary,
                           "mechanism_confidence": a.mechanism.confidence,
                           "sex": a.patient.get("sex"), "age_years": a.patient.get("age_years"),
                           "alerts": ";".join(alert.id for alert in a.alerts),
                           "knowledge_version": a.knowledge_version}
    row["age_band"] = age_band(row["age_years"])
    row.update({name: getattr(a.derived, name) for name in DERIVED})
    for column, (analyte, unit) in KEY_LABS.items():
        values = [lab for lab in a.labs if lab.analyte == analyte and lab.canonical_unit == unit]
        dated = sorted(values, key=lambda lab: (lab.date is not None, lab.date))
        row[column] = dated[-1].canonical_value if dated else None
    return row


def item_row(item_id: str, kind: str, *, assessment: Assessment | None,
             scans: Sequence[ScanResult], knowledge_version: str) -> dict[str, Any]:
    """The table row of a done item.

    Scores come from the most recent of the item's scans (a case's ``imaging``); the
    assessment columns are empty for a scan alone.
    """
    row: dict[str, Any] = {"id": item_id, "kind": kind, "status": "done", "error": None,
                           "knowledge_version": knowledge_version}
    row.update(_scan_columns(_latest_scan(scans), len(scans)))
    if assessment is not None:
        row.update(_assessment_columns(assessment))
    return row


def failed_row(item_id: str, kind: str, error: str) -> dict[str, Any]:
    """The table row of a failed item: its one-line reason, no values."""
    return {"id": item_id, "kind": kind, "status": "failed", "error": error}


def columns_of(rows: Sequence[dict[str, Any]]) -> dict[str, pa.DataType]:
    """The table's columns: the fixed ones, then per-convention totals found in ``rows``."""
    extra = sorted({key for row in rows for key in row}
                   - BASE_COLUMNS.keys() - TAIL_COLUMNS.keys())
    return {**BASE_COLUMNS, **dict.fromkeys(extra, _FLOAT), **TAIL_COLUMNS}


def _csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return buffer.getvalue()


def write_tables(rows: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write ``cohort.csv``, ``cohort.parquet`` and ``failures.csv`` (each whole or not at all).

    ``failures.csv`` has the columns ``id``, ``kind``, ``error`` (one line per failed item).
    Floats are written in full (``repr``), so reading the CSV back gives the same values.
    """
    columns = columns_of(rows)
    schema = pa.schema(list(columns.items()))
    table = pa.Table.from_pylist([{key: row.get(key) for key in columns} for row in rows],
                                 schema=schema)
    failed = [row for row in rows if row["status"] == "failed"]
    return [
        atomic_write(out_dir / "cohort.csv", lambda tmp: tmp.write_text(
            _csv_text(rows, list(columns)), encoding="utf-8")),
        atomic_write(out_dir / "cohort.parquet", lambda tmp: pq.write_table(table, tmp)),
        atomic_write(out_dir / "failures.csv", lambda tmp: tmp.write_text(
            _csv_text(failed, ["id", "kind", "error"]), encoding="utf-8")),
    ]
