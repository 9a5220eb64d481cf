"""``ectocalc cohort``: assess and quantify many cases and CT scans on Dask (contract §7)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app
from ectocalc.errors import InputError


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
    from ectocalc.cli._progress import cohort_progress, stderr_console
    from ectocalc.cohort import ClusterOptions, discover_items, run_cohort

    _check(workers, scheduler, salt, deidentify, db, convention)
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", "is a file; give a folder")
    items = discover_items(inputs)
    store = None
    if db is not None:  # opened first: a bad URL stops the run before it starts
        from ectocalc.record import open_store

        store = open_store(db)
    stderr = stderr_console()
    with cohort_progress(stderr) as progress:
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
