"""``ectocalc cohort``: assess and quantify many cases and CT scans on Dask (contract §7)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

from ectocalc.cli import app
from ectocalc.errors import InputError

if TYPE_CHECKING:
    from ectocalc.cohort._run import Progress as CohortProgress


class _RateColumn(ProgressColumn):
    """Items per minute over the last completions (Rich's speed estimate)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- items/min" if speed is None else f"{speed * 60:.1f} items/min")


@contextmanager
def _bar(console: Console) -> Iterator[CohortProgress]:
    """A progress bar on stderr when it is a terminal; one summary line at the end always."""
    counts = {"done": 0, "failed": 0, "remaining": 0}

    def summary() -> None:
        console.print(f"cohort: {counts['done']} done, {counts['failed']} failed",
                      highlight=False)

    if not console.is_terminal:
        def record(event: str, done: int, failed: int, remaining: int) -> None:
            counts.update(done=done, failed=failed, remaining=remaining)

        yield record
        summary()
        return
    with Progress(TextColumn("cohort"), BarColumn(),
                  TextColumn("{task.fields[done]} done, {task.fields[failed]} failed, "
                             "{task.fields[remaining]} remaining"), _RateColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("cohort", total=None, done=0, failed=0, remaining=0)
        started = {"at": 0}

        def update(event: str, done: int, failed: int, remaining: int) -> None:
            counts.update(done=done, failed=failed, remaining=remaining)
            if event == "start":  # items reused from an earlier run do not count in the rate
                started["at"] = done + failed
                bar.update(task, total=remaining, completed=0)
            else:
                bar.update(task, completed=done + failed - started["at"])
            bar.update(task, done=done, failed=failed, remaining=remaining)

        yield update
    summary()


def _check(workers: int, scheduler: str | None, salt: str | None, deidentify: bool,
           db: str | None, convention: str) -> None:
    if workers < 1:
        raise InputError("--workers", "", f"must be at least 1, got {workers}")
    if salt is not None and not deidentify:
        raise InputError("--salt", "", "is used only with --deidentify")
    if db is not None and deidentify:
        raise InputError("--db", "", "the patient record needs identities; it cannot take a "
                                     "--deidentify run")
    if scheduler is not None and scheduler != "slurm" and "://" not in scheduler:
        raise InputError("--scheduler", "", f"'{scheduler}' is not an address such as "
                                            "tcp://host:8786 (or 'slurm')")
    from ectocalc.imaging.conventions import parse_conventions

    try:
        parse_conventions(convention)
    except KeyError as error:
        raise InputError("--convention", "", str(error.args[0])) from None


@app.command("cohort")
def cohort(
    inputs: Annotated[list[Path], typer.Argument(
        help="Case files, CT series (DICOM folder, .zip, NIfTI), folders of them, manifest "
             "CSV files (id,case,scan).", show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", help="Output folder: cohort.csv/.parquet, failures.csv, summary.html, "
                      "items/<id>/, manifest.sqlite.", show_default=False)],
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address (tcp://host:8786), or 'slurm' "
                            "(needs dask-jobqueue, the 'slurm' extra). Default: a local "
                            "cluster.")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="Local (or SLURM) worker processes, one thread each.")
    ] = min(os.cpu_count() or 1, 8),
    memory_limit: Annotated[str, typer.Option(
        "--memory-limit", help="Memory limit per worker, e.g. 4GiB ('auto' shares the "
                               "machine's memory).")] = "auto",
    db: Annotated[str | None, typer.Option(
        "--db", help="Also add each done item's case and scans to this patient record "
                     "(SQLAlchemy URL).")] = None,
    convention: Annotated[str, typer.Option(
        "--convention", help="Scoring convention(s), as for 'ectocalc scan'; further ones "
                             "get their own columns.")] = "agatston-1990",
    deidentify: Annotated[bool, typer.Option(
        "--deidentify", help="Salted-hash ids; no names or birth dates in any output.")
    ] = False,
    salt: Annotated[str | None, typer.Option(
        "--salt", help="Salt of --deidentify (default: DIR/salt, created once).")] = None,
) -> None:
    """Assess and quantify many cases and scans on Dask; exit 1 if any item failed."""
    from ectocalc.cohort import ClusterOptions, discover_items, run_cohort

    _check(workers, scheduler, salt, deidentify, db, convention)
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", "is a file; give a folder")
    items = discover_items(inputs)
    store = None
    if db is not None:  # opened first: a bad URL stops the run before it starts
        from ectocalc.record import open_store

        store = open_store(db)
    stderr = Console(stderr=True)
    with _bar(stderr) as progress:
        result = run_cohort(items, out, cluster=ClusterOptions(
            scheduler=scheduler, workers=workers, memory_limit=memory_limit),
            convention=convention, deidentify=deidentify, salt=salt, progress=progress)
    if store is not None:
        from ectocalc.cohort._record import add_to_record

        try:
            outcome = add_to_record(store, result.rows, items, out / "items")
        finally:
            store.dispose()
        stderr.print(f"record: {len(outcome.patients)} patient(s) updated; "
                     f"{len(outcome.skipped)} done item(s) left out (no patient id or date)",
                     highlight=False)
    stderr.print(f"wrote {out / 'cohort.csv'}, cohort.parquet, failures.csv, summary.html",
                 highlight=False)
    if result.failed:
        raise typer.Exit(1)
