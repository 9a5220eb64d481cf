"""Background CT quantification: one worker thread, progress that pages can poll.

An imported CT is quantified by :func:`ectocalc.service.quantify_scan` in a worker thread
(NumPy releases the GIL, so pages stay responsive); the result then goes into the record
(:func:`ectocalc.record.add_scan`). Pages poll :meth:`JobRunner.get` through htmx.
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

log = logging.getLogger("ectocalc.web")

JobState = Literal["queued", "running", "done", "failed"]


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


class JobRunner:
    """Runs quantifications one at a time and keeps their progress.

    Parameters
    ----------
    finish : callable
        Called in the worker with the job and its scan folder once ``out/scan.json`` exists;
        an exception it raises marks the job failed.
    workers : int
        Concurrent quantifications (each holds a CT in memory).
    """

    def __init__(self, finish: Finish, *, workers: int = 1) -> None:
        self._finish = finish
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ectocalc-ct")

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
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job.id, scan_dir)
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

    def _run(self, job_id: str, scan_dir: Path) -> None:
        from ectocalc import service

        def progress(stage: str, done: int, total: int) -> None:
            self._update(job_id, stage=stage, done=done, total=total)

        self._update(job_id, state="running", stage="reading")
        try:
            service.quantify_scan(scan_dir / "dicom", out_dir=scan_dir / "out",
                                  convention="all", progress=progress)
            job = self._update(job_id, stage="saving to the record", done=0, total=0)
            self._finish(job, scan_dir)
        except InputError as error:  # named inside the scan folder, never the server's path
            self._fail(job_id, scan_dir, str(error).replace(f"{scan_dir}/", "")
                       .replace(str(scan_dir), "scan"))
        except Exception as error:  # a bug: the job fails visibly; the server keeps running
            # where it failed, not the message (which may quote patient data)
            log.error("CT job failed: %s\n%s", type(error).__name__,
                      "".join(traceback.format_tb(error.__traceback__)))
            self._fail(job_id, scan_dir, f"internal error ({type(error).__name__})")
        else:
            self._update(job_id, state="done", stage="done")

    def _fail(self, job_id: str, scan_dir: Path, message: str) -> None:
        shutil.rmtree(scan_dir, ignore_errors=True)  # nothing half-done stays behind
        # the message names files inside the scan folder: shown relative, never the server path
        for prefix in (f"{scan_dir}/", str(scan_dir), f"{scan_dir.parent}/"):
            message = message.replace(prefix, "")
        self._update(job_id, state="failed", error=message)

    def shutdown(self) -> None:
        """Finish running jobs, drop queued ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
