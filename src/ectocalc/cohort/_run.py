"""Running a cohort on Dask: plan, submit one task per item, collect, write (private)."""

from __future__ import annotations

import fcntl
import logging
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ectocalc import __version__, service
from ectocalc.cohort._deidentify import load_salt, pseudonym
from ectocalc.cohort._digests import DigestCache
from ectocalc.cohort._items import Item
from ectocalc.cohort._manifest import Manifest
from ectocalc.cohort._summary import write_summary
from ectocalc.cohort._table import failed_row, write_tables
from ectocalc.cohort._task import (
    TEMPORARY_PREFIXES,
    Task,
    read_marker,
    read_row,
    run_task,
)
from ectocalc.errors import InputError, one_line

ITEMS = "items"
LOCK_FILE = ".lock"
ALLOWED_FAILURES = 1
"""Times a local task may be on a worker that dies (killed, out of memory) before it fails."""
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""Local workers keep glibc's default trimming: Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` makes
every large array an mmap/munmap with fresh page faults, about a third more CPU time per scan
(measured on the phantom); one item at a time reuses the freed memory instead."""
WORKER_DIED = ("worker died while running this item (killed, or over its memory limit) "
               "{n} time(s)")

WARM_MODULES = ("ectocalc.service", "ectocalc.cohort._task", "ectocalc.imaging",
                "ectocalc.imaging.scan", "pydicom", "highdicom", "scipy.ndimage")
"""Imported on every worker as soon as it is up, while the driver still plans the run, so that
no item pays the imports (1.7-2.4 s measured on the first task of each worker)."""

Progress = Callable[[str, int, int, int, int], None]
"""``progress(event, done, failed, skipped, remaining)``; event is ``start``, ``item`` or
``end``; done and failed count this run's items, skipped those an earlier run left done."""


@dataclass(frozen=True)
class ClusterOptions:
    """Where the tasks run.

    Attributes
    ----------
    scheduler : str or None
        None: a local cluster of ``workers`` processes, one thread each, each limited to
        ``memory_limit`` (Dask's ``"auto"`` shares the machine's memory). ``"slurm"``: a
        dask-jobqueue ``SLURMCluster`` of ``workers`` one-core jobs (optional extra
        ``ectocalc[slurm]``). Otherwise a scheduler address such as ``tcp://host:8786``.
    """

    scheduler: str | None = None
    workers: int = 2
    memory_limit: str = "auto"


@dataclass
class CohortResult:
    """The outcome of a run: every item's row (input order), and what this run did."""

    rows: list[dict[str, Any]]
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["status"] == "failed"]


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` (one run per output folder at a time)."""
    with (out_dir / LOCK_FILE).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(out_dir, "--out", "another cohort run is using this folder"
                             ) from None
        yield


def _connect(options: ClusterOptions, stack: ExitStack) -> Any:
    """A Dask client for ``options``; ``stack`` closes it and its local or SLURM cluster.

    No ``with client``: the client may be made in another thread than the one that closes it
    (Dask's current-client context variable belongs to one thread's context).
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if options.scheduler is None:
        with dask.config.set(WORKER_ENVIRON):
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=options.workers, threads_per_worker=1, processes=True,
                memory_limit=options.memory_limit, dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
                scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES})
    elif options.scheduler == "slurm":
        try:
            from dask_jobqueue import SLURMCluster  # type: ignore[import-not-found]
        except ImportError:
            raise InputError("--scheduler", "slurm", "needs dask-jobqueue: pip install "
                             "'ectocalc[slurm]'") from None
        cluster = SLURMCluster(cores=1, processes=1, memory=options.memory_limit
                               if options.memory_limit != "auto" else "4GiB")
        cluster.scale(jobs=options.workers)
    else:
        cluster = None
    if cluster is not None:
        stack.callback(cluster.close)
        client = Client(cluster)  # type: ignore[no-untyped-call]
    else:
        try:
            client = Client(options.scheduler,  # type: ignore[no-untyped-call]
                            timeout="10s")
        except (OSError, TimeoutError) as error:
            raise InputError("--scheduler", options.scheduler or "",
                             f"cannot connect: {one_line(str(error), limit=200)}") from None
    stack.callback(client.close)
    return client


def warm_imports(modules: Sequence[str] = WARM_MODULES) -> list[str]:
    """Import ``modules`` (on a worker, through ``client.run``); the ones that are missing."""
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _started(options: ClusterOptions, stack: ExitStack) -> Any:
    """A client of a started cluster whose workers have imported :data:`WARM_MODULES`."""
    client = _connect(options, stack)
    # Warming is only a head start: a worker that cannot warm up (another Python, a missing
    # extra) still runs its tasks, and they report what is wrong as failed rows.
    with suppress(Exception):
        client.run(warm_imports)
    return client


class _Cluster:
    """The run's cluster, started in a background thread while the driver plans the run.

    ``start()`` begins starting it (cluster, client, warm imports on the workers);
    ``client()`` waits for it (starting it first if ``start`` was not called); leaving the
    ``with`` block closes it, waiting for a start still under way.
    """

    def __init__(self, options: ClusterOptions) -> None:
        self._options = options
        self._stack = ExitStack()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cohort-cluster")
        self._future: Future[Any] | None = None

    def start(self) -> None:
        if self._future is None:
            self._future = self._pool.submit(_started, self._options, self._stack)

    def client(self) -> Any:
        self.start()
        assert self._future is not None
        return self._future.result()  # an InputError of the start is raised here

    def __enter__(self) -> _Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
        self._stack.close()


def _inputs_of(item: Item, scans_of: dict[Path, list[Path]]) -> list[Path]:
    """The files whose content makes the item: the case, and its scan or listed scans.

    ``scans_of`` keeps the scans of each case file read in this run (each read once).
    """
    paths = [p for p in (item.case, item.scan) if p is not None]
    if item.case is not None and item.scan is None:
        if item.case not in scans_of:
            scans_of[item.case] = []
            with suppress(InputError):  # a bad case fails in its task; its digest the file's
                case = service.read_case(item.case)
                scans_of[item.case] = [p for scan in service.case_scans(case, check=False)
                                       for p in scan.files]
        paths.extend(scans_of[item.case])
    return paths


def _may_run(items_dir: Path, out_ids: Sequence[str]) -> bool:
    """True if some item has no ``DONE`` marker at all: the cluster will surely be needed."""
    return any(read_marker(items_dir / out_id) is None for out_id in out_ids)


def _clean_temporary(items_dir: Path) -> None:
    for child in items_dir.iterdir():
        if child.name.startswith(TEMPORARY_PREFIXES):
            shutil.rmtree(child, ignore_errors=True)


def _failure_of(future: Any, task: Task) -> dict[str, Any]:
    """The failed row of a task whose future did not return (worker death, cancellation)."""
    from dask.distributed import KilledWorker

    if future.status == "cancelled":
        return failed_row(task.id, task.kind, "cancelled (the scheduler dropped the task)")
    error = future.exception()
    if isinstance(error, KilledWorker):
        reason = WORKER_DIED.format(n=ALLOWED_FAILURES + 1)
    else:
        reason = f"{type(error).__name__}: {error}" if error else "task lost"
    return failed_row(task.id, task.kind, one_line(reason))


def _no_progress(event: str, done: int, failed: int, skipped: int, remaining: int) -> None:
    """The progress callback of a run nobody watches."""


def run_cohort(items: Sequence[Item], out_dir: Path, *, cluster: ClusterOptions,
               convention: str = "agatston-1990", deidentify: bool = False,
               salt: str | None = None, progress: Progress | None = None) -> CohortResult:
    """Assess and quantify every item on Dask; write the tables and summary into ``out_dir``.

    Items whose folder ``items/<id>/`` holds a ``DONE`` marker with the same input digest and
    settings stamp (knowledge version, ectocalc version, convention, de-identification) are
    reused (skipped); the others run, one Dask task each, and are recorded in the manifest.
    Each distinct input is hashed once, and not at all when its files' sizes and times are
    those recorded in ``DIR/digests.json``; when some item has never run, the cluster starts
    (and its workers import the analysis modules) while the inputs are hashed.

    Parameters
    ----------
    items : sequence of Item
    out_dir : Path
        Created if needed.
    cluster : ClusterOptions
    convention : str
        As ``ectocalc scan --convention`` (first = primary; further ones get columns).
    deidentify : bool
        Salted-hash ids, scrubbed DICOM identity and messages (see ``_deidentify``).
    salt : str, optional
        With ``deidentify``: the salt, instead of the one stored in ``out_dir/salt``.
    progress : callable, optional
        Called when the run starts, after each item and at the end.

    Returns
    -------
    CohortResult

    Raises
    ------
    InputError
        Another run holds ``out_dir``, the scheduler cannot be reached, or ``dask-jobqueue``
        is missing for ``slurm``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    items_dir = out_dir / ITEMS
    items_dir.mkdir(exist_ok=True)
    report = progress or _no_progress
    with _locked(out_dir), _Cluster(cluster) as dask_cluster:
        _clean_temporary(items_dir)
        key = load_salt(out_dir, salt) if deidentify else ""
        out_ids = [pseudonym(key, item.id) if deidentify else item.id for item in items]
        if _may_run(items_dir, out_ids):
            dask_cluster.start()
        stamp = "|".join([service.default_knowledge().version, __version__, convention,
                          "deidentified" if deidentify else "identified"])
        tasks: dict[str, Task] = {}
        digests: dict[str, str] = {}
        cache = DigestCache(out_dir, key)
        scans_of: dict[Path, list[Path]] = {}
        for item, out_id in zip(items, out_ids, strict=True):
            inputs = _inputs_of(item, scans_of)
            digests[out_id] = cache.of(inputs)
            tasks[out_id] = Task(
                id=out_id, kind=item.kind, case=str(item.case) if item.case else None,
                scan=str(item.scan) if item.scan else None, items_dir=str(items_dir),
                convention=convention, deidentify=deidentify,
                marker={"digest": digests[out_id], "stamp": stamp},
                redact=(item.id, *map(str, inputs), *(str(p.resolve()) for p in inputs))
                if deidentify else ())
        cache.save()
        manifest = Manifest(out_dir)
        try:
            return _execute(tasks, items_dir, manifest, dask_cluster, report)
        finally:
            manifest.close()


def _execute(tasks: dict[str, Task], items_dir: Path, manifest: Manifest,
             cluster: _Cluster, report: Progress) -> CohortResult:
    rows: dict[str, dict[str, Any]] = {}
    reused = []
    for out_id, task in tasks.items():
        if read_marker(items_dir / out_id) == task.marker:
            rows[out_id] = read_row(items_dir / out_id)
            manifest.adopt(out_id, task.marker["digest"], task.marker["stamp"])
            reused.append(out_id)
    pending = [out_id for out_id in tasks if out_id not in rows]
    done, failed, skipped = 0, 0, len(reused)
    report("start", done, failed, skipped, len(pending))
    if pending:
        from dask.distributed import as_completed

        client = cluster.client()  # connected first: an attempt is a submission
        manifest.start(pending, {i: tasks[i].marker["digest"] for i in pending},
                       tasks[pending[0]].marker["stamp"])
        run = uuid.uuid4().hex[:8]
        futures = {client.submit(run_task, tasks[i], key=f"cohort-{run}-{i}"): i
                   for i in pending}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            out_id = futures[future]
            row = (future.result() if future.status == "finished"
                   else _failure_of(future, tasks[out_id]))
            rows[out_id] = row
            manifest.finish(out_id, row["status"], row.get("error"))
            done += row["status"] == "done"
            failed += row["status"] == "failed"
            report("item", done, failed, skipped, len(pending) - done - failed)
    ordered = [rows[out_id] for out_id in tasks]
    out_dir = items_dir.parent
    write_tables(ordered, out_dir)
    write_summary(ordered, out_dir / "summary.html", version=__version__)
    report("end", done, failed, skipped, 0)
    return CohortResult(rows=ordered, ran=pending, reused=reused)
