"""``cohort --db``: put each done case, its scans and its assessment into the patient record.

Runs in the driver after the cohort (one writer, one transaction per addition; adding the same
content again changes nothing, contract §5). A case joins the record as ``record add`` takes
it (it needs the patient's id and dated results); an item the record refuses is left out with
the record's reason. An undated scan takes the case's date (``date``,
else ``patient.date``), as undated results of a case file do. The assessment is the record's
own (:func:`ectocalc.record.assess_patient`, stored), as of the case's date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ectocalc import service
from ectocalc.cohort._items import Item
from ectocalc.model.scan import ScanResult


@dataclass
class RecordOutcome:
    """What went into the record: patients touched, and items left out with the reason."""

    patients: set[str] = field(default_factory=set)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _scans_of(folder: Path) -> list[ScanResult]:
    return [ScanResult.model_validate_json(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("scan*/scan.json"))]


def add_to_record(store: Any, rows: Sequence[dict[str, Any]], items: Sequence[Item],
                  items_dir: Path) -> RecordOutcome:
    """Add the done items of a cohort to the record ``store`` (an opened ``Store``).

    The case file goes in as ``ectocalc record add`` would take it (FHIR identifiers
    included); each scan the item quantified joins that patient; a scan alone goes in only
    if its result names a patient and a date.
    """
    from ectocalc.record import add_files, add_scan, assess_patient

    by_id = {item.id: item for item in items}
    outcome = RecordOutcome()
    for row in rows:
        item = by_id[row["id"]]
        folder = items_dir / item.id
        if row["status"] != "done":
            continue
        if item.case is None:
            for path in sorted(folder.glob("scan*/scan.json")):
                added = add_files(store, [path])[0]
                if added.error:
                    outcome.skipped.append((item.id, added.error))
                outcome.patients.update(added.patients)
            continue
        added = add_files(store, [item.case])[0]
        if added.error or len(added.patients) != 1:
            outcome.skipped.append((item.id, added.error or "the case names several patients"))
            continue
        patient_id = added.patients[0]
        case = service.read_case(item.case)
        on = case.date or case.patient.date
        for scan in _scans_of(folder):
            if scan.study_date is None and on is None:
                outcome.skipped.append((item.id, "a scan without a date (nor a case date)"))
                continue
            dated = scan if scan.study_date else scan.model_copy(update={"study_date": on})
            add_scan(store, dated, patient_id=patient_id, name=f"{item.id}/scan")
        assess_patient(store, patient_id, as_of=on)
        outcome.patients.add(patient_id)
    return outcome
