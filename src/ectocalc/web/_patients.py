"""What the pages and the API show of the record: the patient list, one patient, scans.

The record (:mod:`ectocalc.record`) is the source of truth; this module only reads it. A
patient's view and assessment are computed from everything recorded up to today, without
writing anything, and cached per record revision of that patient, so a page view after a
change is never stale.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path
from typing import Any, Literal

from ectocalc.knowledge import Knowledge
from ectocalc.model.assessment import Assessment
from ectocalc.model.display import shown_view
from ectocalc.model.scan import ScanResult
from ectocalc.record import Store
from ectocalc.web._revisions import Revision, patient_revision, record_revision

log = logging.getLogger("ectocalc.web")

SortKey = Literal["alerts", "overdue", "id"]
SORT_KEYS: tuple[SortKey, ...] = ("alerts", "overdue", "id")
_SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}


def alert_rank(alerts: list[dict[str, Any]]) -> tuple[int, int]:
    """Sort key of a patient's alerts: the worst severity, then how many.

    Examples
    --------
    >>> alert_rank([{"severity": "warning"}, {"severity": "critical"}])
    (3, 2)
    >>> alert_rank([])
    (0, 0)
    """
    worst = max((_SEVERITY_RANK.get(str(a.get("severity")), 0) for a in alerts), default=0)
    return worst, len(alerts)


def select_patients(patients: list[dict[str, Any]], *, query: str = "",
                    sort: SortKey = "alerts") -> list[dict[str, Any]]:
    """Filter the record's patient list by id (case-insensitive substring) and sort it.

    ``alerts``: worst alert first; ``overdue``: most overdue monitoring first; ``id``: by id.
    Ties are broken by id.

    Examples
    --------
    >>> rows = [{"id": "B", "alerts": [], "overdue": ["pth"]},
    ...         {"id": "A", "alerts": [{"severity": "warning"}], "overdue": []}]
    >>> [p["id"] for p in select_patients(rows, sort="alerts")]
    ['A', 'B']
    >>> [p["id"] for p in select_patients(rows, sort="overdue")]
    ['B', 'A']
    >>> [p["id"] for p in select_patients(rows, query="b")]
    ['B']
    """
    needle = query.strip().casefold()
    chosen = [p for p in patients if needle in str(p["id"]).casefold()]
    chosen.sort(key=lambda p: str(p["id"]))
    if sort == "alerts":
        chosen.sort(key=lambda p: alert_rank(p.get("alerts") or []), reverse=True)
    elif sort == "overdue":
        chosen.sort(key=lambda p: len(p.get("overdue") or []), reverse=True)
    return chosen


@dataclass(frozen=True)
class PatientData:
    """One patient as the pages show it, computed from one revision of the record.

    ``view`` is the ``record show`` document (contract §5) as shown (rounded by
    :func:`~ectocalc.model.display.shown_view`); ``assessment`` the assessment from
    everything recorded up to ``day`` (not stored: reading never writes to the record).
    """

    revision: Revision
    day: Date
    view: dict[str, Any]
    assessment: Assessment
    rendered: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Memo of what was rendered from this data (the page body, the API's JSON)."""

    def memo(self, key: str, render: Callable[[], str]) -> str:
        """``render()`` once per revision of the record: later calls return the memo."""
        if key not in self.rendered:
            self.rendered[key] = render()
        return self.rendered[key]

    @property
    def summary(self) -> dict[str, Any]:
        """The patient-list columns: alerts and overdue monitoring."""
        return {"alerts": [{"id": a["id"], "severity": a["severity"]}
                           for a in self.view.get("alerts", [])],
                "overdue": [m["test"] for m in self.view.get("monitoring_due", [])
                            if m.get("overdue")]}


class UnknownPatient(LookupError):
    """No such patient in the record."""


class PatientCache:
    """Computed patients, recomputed when the record's revision of a patient changes.

    Full data is kept for the ``size`` most recently viewed patients; list summaries (alerts,
    overdue tests) for every patient computed so far. :meth:`warm` computes patients in a
    background thread so the patient list fills in without blocking a request.
    """

    def __init__(self, store: Store, *, size: int = 2048,
                 knowledge: Knowledge | None = None) -> None:
        self._store = store
        self._knowledge = knowledge
        self._size = size
        self._data: OrderedDict[str, PatientData] = OrderedDict()
        self._summaries: dict[str, tuple[Revision, Date, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()
        self._queued: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._listing: tuple[tuple[int, int, int], list[dict[str, Any]]] | None = None
        self._version = 0  # bumped whenever a patient is (re)computed
        self._tables: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()

    def _compute(self, patient_id: str, revision: Revision, day: Date) -> PatientData:
        from ectocalc.record import assess_patient, patient_view

        view = shown_view(patient_view(self._store, patient_id, today=day,
                                       knowledge=self._knowledge))
        assessment = assess_patient(self._store, patient_id, as_of=day, save=False,
                                    knowledge=self._knowledge)
        data = PatientData(revision=revision, day=day, view=view, assessment=assessment)
        with self._lock:
            self._data[patient_id] = data
            self._data.move_to_end(patient_id)
            while len(self._data) > self._size:
                self._data.popitem(last=False)
            self._summaries[patient_id] = (revision, day, data.summary)
            self._version += 1
        return data

    def get(self, patient_id: str) -> PatientData:
        """The patient's current data (computed now if the record changed since).

        Raises
        ------
        UnknownPatient
        """
        revision = patient_revision(self._store, patient_id)
        if revision is None:
            raise UnknownPatient(patient_id)
        day = Date.today()
        with self._lock:
            data = self._data.get(patient_id)
            if data is not None and data.revision == revision and data.day == day:
                self._data.move_to_end(patient_id)
                return data
        return self._compute(patient_id, revision, day)

    def listing(self, revisions: dict[str, Revision]) -> list[dict[str, Any]]:
        """``record.list_patients`` (sex, results, scans, last result), recomputed only when the
        record changed."""
        from ectocalc.record import list_patients

        key = record_revision(revisions)
        with self._lock:
            if self._listing is not None and self._listing[0] == key:
                return self._listing[1]
        rows = list_patients(self._store)
        with self._lock:
            self._listing = (key, rows)
        return rows

    def table(self, revisions: dict[str, Revision], *, query: str, sort: SortKey
              ) -> tuple[list[dict[str, Any]], int]:
        """The patient list rows (listing + summaries, filtered and sorted) and the number of
        patients still being computed; the same request on an unchanged record is not redone."""
        summaries, pending = self.summaries(revisions)
        with self._lock:
            key = (record_revision(revisions), self._version, query, sort)
            if key in self._tables:
                return self._tables[key], pending
        rows = [{**row, **summaries.get(row["id"], {"alerts": None, "overdue": None})}
                for row in self.listing(revisions)]
        selected = select_patients(rows, query=query, sort=sort)
        with self._lock:
            self._tables[key] = selected
            while len(self._tables) > 64:
                self._tables.popitem(last=False)
        return selected, pending

    def summaries(self, revisions: dict[str, Revision]) -> tuple[dict[str, dict[str, Any]], int]:
        """Known list summaries of ``revisions``' patients, and how many are being (re)computed.

        Patients whose summary is missing or out of date are queued for :meth:`warm`; an out of
        date summary is still returned meanwhile.
        """
        day = Date.today()
        found: dict[str, dict[str, Any]] = {}
        stale = []
        with self._lock:
            for pid, revision in revisions.items():
                known = self._summaries.get(pid)
                if known is not None:
                    found[pid] = known[2]
                if known is None or known[0] != revision or known[1] != day:
                    stale.append(pid)
            for pid in stale:
                if pid not in self._queued:
                    self._queued.add(pid)
                    self._queue.append(pid)
        if stale:
            self._wake.set()
        return found, len(stale)

    def warm(self) -> None:
        """Start the background thread that computes queued patients (idempotent)."""
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="ectocalc-warm", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pid = self._queue.popleft() if self._queue else None
                if pid is not None:
                    self._queued.discard(pid)
            if pid is None:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                continue
            try:
                self.get(pid)
            except Exception as error:  # one bad patient must not stop the others
                # the type only: the message may quote patient data
                log.warning("could not compute a patient summary: %s", type(error).__name__)
            time.sleep(0.001)  # let request threads take the GIL

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()


@dataclass(frozen=True)
class ScanLink:
    """One recorded CT of a patient, and the web folder holding its images (if imported here).

    ``scan_id`` is None for scan results added from elsewhere (``record add scan.json``): their
    scores show, the slice viewer does not.
    """

    result: ScanResult
    scan_id: str | None


def scan_id_of(result: ScanResult, scans_dir: Path) -> str | None:
    """The web scan folder name of a result whose outputs were written under ``scans_dir``.

    Examples
    --------
    >>> r = ScanResult(convention="c", threshold_hu=130, kvp=120, slice_increment_mm=3,
    ...     pixel_spacing_mm=(1, 1), calibration_mg_per_cm3_per_hu=0.78, agatston=0,
    ...     volume_mm3=0, mass_mg=0, outputs={"json": "/d/scans/ab12/out/scan.json"})
    >>> scan_id_of(r, Path("/d/scans")), scan_id_of(r, Path("/elsewhere"))
    ('ab12', None)
    """
    written = result.outputs.get("json")
    if not isinstance(written, str):
        return None
    path = Path(written)
    try:
        relative = path.relative_to(scans_dir)
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) == 3 else None


def scan_patient(scan_dir: Path) -> str | None:
    """The patient an imported scan folder belongs to (its ``meta.json``)."""
    try:
        return str(json.loads((scan_dir / "meta.json").read_text())["patient_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
