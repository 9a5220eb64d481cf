"""One cohort item as one Dask task: service calls, outputs written atomically (private).

:func:`run_task` runs on a worker and is given paths only. It writes the item's outputs into a
temporary folder ``items/.tmp-<id>-<random>/`` (``scan/`` or ``scan-<n>/`` for each CT with
the lesion CSV, DICOM SEG and SR, overlays and ``scan.json``; ``assessment.json`` and
``assessment.html`` for a case; ``row.json``, the item's table row), writes the ``DONE``
marker (input digest and settings stamp) last, and renames the folder to ``items/<id>/``. A
folder without a current ``DONE`` marker is not done. Any error becomes a failed row with a
one-line reason; the task itself never raises.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ectocalc import service
from ectocalc.cohort._deidentify import identity_of, scrub_dicom, scrub_files, scrub_text
from ectocalc.cohort._table import failed_row, item_row
from ectocalc.errors import InputError, one_line
from ectocalc.io.files import atomic_write
from ectocalc.model.scan import ScanResult

DONE = "DONE"
ROW = "row.json"
TEMPORARY_PREFIXES = (".tmp-", ".old-")


@dataclass(frozen=True)
class Task:
    """What a worker needs for one item (paths and settings, never arrays)."""

    id: str
    kind: str
    case: str | None
    scan: str | None
    items_dir: str
    convention: str
    deidentify: bool
    marker: dict[str, str]
    """Written as the ``DONE`` marker: ``digest`` of the inputs, ``stamp`` of the settings."""
    redact: tuple[str, ...] = ()
    """Strings removed from error messages (de-identified runs: paths, the original id)."""


def read_marker(folder: Path) -> dict[str, str] | None:
    """The ``DONE`` marker of an item folder, or None when the item is not done."""
    try:
        marker: dict[str, str] = json.loads((folder / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker


def read_row(folder: Path) -> dict[str, Any]:
    """The table row a done item stored."""
    row: dict[str, Any] = json.loads((folder / ROW).read_text(encoding="utf-8"))
    return row


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_json(path: Path, value: object) -> None:
    _write_text(path, json.dumps(value, indent=2, default=str))


def _finish_scan(result: ScanResult, folder: Path, root: Path, *,
                 pseudonym: str | None) -> ScanResult:
    """Output paths relative to the item folder; with a ``pseudonym``, identity scrubbed."""
    def relative(value: str) -> str:
        return str(Path(value).relative_to(root)) if Path(value).is_relative_to(root) else value

    outputs = {key: [relative(v) for v in value] if isinstance(value, list) else relative(value)
               for key, value in result.outputs.items()}
    outputs["json"] = str((folder / "scan.json").relative_to(root))
    update: dict[str, Any] = {"outputs": outputs}
    if pseudonym:
        acquisition = {k: v for k, v in result.acquisition.items()
                       if not k.startswith("patient")}
        update |= {"source": None, "acquisition": {**acquisition, "patient_id": pseudonym}}
        scrub_dicom(folder, pseudonym)
    result = result.model_copy(update=update)
    _write_text(folder / "scan.json", result.model_dump_json(indent=2))
    return result


def _compute(task: Task, root: Path) -> dict[str, Any]:
    case = service.read_case(task.case) if task.case else None
    if task.scan is not None:
        inputs = [service.CaseScan(index=0, path=Path(task.scan))]
    else:
        inputs = service.case_scans(case) if case is not None else []
    scans, identities = [], []
    for number, scan in enumerate(inputs, start=1):
        folder = root / ("scan" if len(inputs) == 1 else f"scan-{number}")
        result = service.quantify_scan(scan.path, anatomy=scan.anatomy,
                                       anatomy_names=scan.anatomy_names,
                                       convention=task.convention, out_dir=folder,
                                       study_date=scan.date)
        identities.append(str(result.acquisition.get("patient_id") or ""))
        scans.append(_finish_scan(result, folder, root,
                                  pseudonym=task.id if task.deidentify else None))
    assessment = None
    if case is not None:
        assessment = service.assess_case(case, scans=scans)
        if task.deidentify:
            patient = {k: v for k, v in assessment.patient.items() if k != "birth_date"}
            assessment = assessment.model_copy(update={
                "case_id": None, "source": None, "patient": {**patient, "id": task.id}})
        for format_ in ("json", "html"):
            _write_text(root / f"assessment.{format_}",
                        service.render_assessment(assessment, format=format_))
    if task.deidentify:
        scrub_files(root, [*task.redact, *(identity_of(case.patient) if case else []),
                           *identities])
    return item_row(task.id, task.kind, assessment=assessment, scans=scans,
                    knowledge_version=service.default_knowledge().version)


def _install(temporary: Path, final: Path) -> None:
    """Replace ``final`` by ``temporary`` (the old folder is moved aside, then deleted)."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(temporary, final)


def _reason(error: BaseException) -> str:
    if isinstance(error, InputError):
        return str(error)
    if isinstance(error, MemoryError):
        return "out of memory"
    return f"{type(error).__name__}: {error}"


def run_task(task: Task) -> dict[str, Any]:
    """Run one item; return its table row (``status`` ``done`` or ``failed``)."""
    items = Path(task.items_dir)
    temporary = items / f".tmp-{task.id}-{uuid.uuid4().hex[:8]}"
    try:
        temporary.mkdir(parents=True)
        row = _compute(task, temporary)
        _write_json(temporary / ROW, row)
        _write_json(temporary / DONE, task.marker)
        _install(temporary, items / task.id)
        return row
    except Exception as error:  # one failed item never stops the others
        reason = scrub_text(_reason(error), task.redact) if task.redact else _reason(error)
        return failed_row(task.id, task.kind, one_line(reason))
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
