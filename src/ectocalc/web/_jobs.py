"""Background imports: one worker thread per kind, progress that pages can poll.

An imported CT is quantified by :func:`ectocalc.service.quantify_scan` in a worker thread
(NumPy releases the GIL, so pages stay responsive); the result then goes into the record
(:func:`ectocalc.record.add_scan`). A case file or FHIR Bundle is read into the record by a
task given to :meth:`JobRunner.submit_case`, on its own worker (one at a time, the rest queue),
so a short case never waits behind a long CT. Pages poll :meth:`JobRunner.get` through htmx.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date as Date
from pathlib import Path
from typing import Literal

from ectocalc.errors import InputError
from ectocalc.web._uploads import UploadRefused

log = logging.getLogger("ectocalc.web")

JobState = Literal["queued", "running", "done", "failed"]
JobKind = Literal["ct", "case"]
Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: report how far a job is."""


@dataclass(frozen=True)
class Job:
    """A snapshot of one quantification (never holds images)."""

    id: str
    patient_id: str
    scan_id: str
    username: str
    state: JobState = "queued"
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    error: str | None = None
    fallback_date: Date | None = None
    """The study date to record when the CT carries none."""
    kind: JobKind = "ct"
    patients: tuple[str, ...] = ()
    """The patients a finished case import filed (``patient_id`` is empty until then)."""
    outcome: str | None = None
    """A finished case import: ``added`` or ``unchanged``."""

    @property
    def percent(self) -> int:
        """Progress of the current stage, 0-100."""
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        """Done or failed."""
        return self.state in ("done", "failed")


Finish = Callable[[Job, Path], None]
"""``finish(job, scan_dir)``: record the written result (runs in the worker)."""
CaseTask = Callable[[Progress], tuple[str, tuple[str, ...]]]
"""A case import run in the worker: returns (outcome, patients); raises UploadRefused when
refused."""


class JobRunner:
    """Runs quantifications one at a time, case imports one at a time, and keeps their progress.

    Parameters
    ----------
    finish : callable
        Called in the worker with the job and its scan folder once ``out/scan.json`` exists;
        an exception it raises marks the job failed.
    workers : int
        Concurrent quantifications (each holds a CT in memory).

    Case imports have one worker of their own, so their memory never adds up and a case never
    waits behind a CT.
    """

    def __init__(self, finish: Finish, *, workers: int = 1) -> None:
        self._finish = finish
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._waiting: dict[str, Path] = {}
        """Folders of queued jobs that have not started (removed if shut down before)."""
        self._pools: dict[JobKind, ThreadPoolExecutor] = {
            "ct": ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ectocalc-ct"),
            "case": ThreadPoolExecutor(max_workers=1, thread_name_prefix="ectocalc-case")}

    def _update(self, job_id: str, **changes: object) -> Job:
        with self._lock:
            job = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]
            self._jobs[job_id] = job
            return job

    def submit(self, *, scan_dir: Path, patient_id: str, username: str,
               study_date: Date | None = None) -> Job:
        """Queue the quantification of ``scan_dir/dicom`` (outputs into ``scan_dir/out``).

        ``study_date`` is recorded only when the CT has no StudyDate of its own.
        """
        job = Job(id=secrets.token_urlsafe(12), patient_id=patient_id,
                  scan_id=scan_dir.name, username=username, fallback_date=study_date)
        return self._start(job, lambda progress: self._quantify(job.id, scan_dir, progress),
                           scan_dir, keep=True)

    def submit_case(self, task: CaseTask, *, folder: Path, username: str) -> Job:
        """Queue a case import; ``folder`` (the upload's private copy) is removed afterwards.

        The task's UploadRefused or InputError becomes the job's one-line error, naming files
        inside ``folder`` relative to it.
        """
        job = Job(id=secrets.token_urlsafe(12), patient_id="", scan_id="", username=username,
                  kind="case")

        def run(progress: Progress) -> dict[str, object]:
            outcome, patients = task(progress)
            return {"outcome": outcome, "patients": patients,
                    "patient_id": patients[0] if len(patients) == 1 else ""}

        return self._start(job, run, folder, keep=False)

    def _start(self, job: Job, work: Callable[[Progress], dict[str, object]], folder: Path,
               *, keep: bool) -> Job:
        with self._lock:
            self._jobs[job.id] = job
            self._waiting[job.id] = folder
        self._pools[job.kind].submit(self._run, job.id, work, folder, keep)
        return job

    def get(self, job_id: str) -> Job | None:
        """The latest snapshot of a job, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def for_patient(self, patient_id: str) -> list[Job]:
        """Unfinished jobs of one patient."""
        with self._lock:
            return [j for j in self._jobs.values()
                    if j.patient_id == patient_id and not j.finished]

    def _quantify(self, job_id: str, scan_dir: Path, progress: Progress) -> dict[str, object]:
        from ectocalc import service

        service.quantify_scan(scan_dir / "dicom", out_dir=scan_dir / "out",
                              convention="all", progress=progress)
        job = self._update(job_id, stage="saving to the record", done=0, total=0)
        self._finish(job, scan_dir)
        return {}

    def _run(self, job_id: str, work: Callable[[Progress], dict[str, object]], folder: Path,
             keep: bool) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            self._update(job_id, stage=stage, done=done, total=total)

        with self._lock:
            self._waiting.pop(job_id, None)
        self._update(job_id, state="running", stage="reading")
        try:
            changes = work(progress)
        except (InputError, UploadRefused) as error:  # named inside the folder, not by path
            self._fail(job_id, folder, str(error).replace(f"{folder}/", "")
                       .replace(str(folder), "scan" if keep else "upload"))
        except Exception as error:  # a bug: the job fails visibly; the server keeps running
            # where it failed, not the message (which may quote patient data)
            log.error("import job failed: %s\n%s", type(error).__name__,
                      "".join(traceback.format_tb(error.__traceback__)))
            self._fail(job_id, folder, f"internal error ({type(error).__name__})")
        else:
            if not keep:  # before "done": a finished job has left nothing behind
                shutil.rmtree(folder, ignore_errors=True)
            self._update(job_id, state="done", stage="done", **changes)

    def _fail(self, job_id: str, folder: Path, message: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)  # nothing half-done stays behind
        # the message names files inside the folder: shown relative, never the server path
        for prefix in (f"{folder}/", str(folder), f"{folder.parent}/"):
            message = message.replace(prefix, "")
        # one line: a validation error listing several fields reads as "a; b"
        message = "; ".join(line.strip() for line in message.splitlines() if line.strip())
        self._update(job_id, state="failed", error=message)

    def shutdown(self) -> None:
        """Finish running jobs, drop queued ones (and their uploaded copies)."""
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            dropped, self._waiting = list(self._waiting.values()), {}
        for folder in dropped:
            shutil.rmtree(folder, ignore_errors=True)
