"""``ectocalc record add|list|show|assess``: the patient record over time (contract §1, §5)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ectocalc.cli import app
from ectocalc.cli.output import AsOfOption, check_out, emit

if TYPE_CHECKING:  # the record (SQLAlchemy) loads only when a record command runs
    from ectocalc.record import AddResult, Store

record_app = typer.Typer(name="record", help="The patient record: results and scans over time.",
                         no_args_is_help=True)
app.add_typer(record_app)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLAlchemy URL (sqlite:///FILE, postgresql+psycopg://...); default "
                 "$ECTOCALC_DB, else a file in the user's data folder.")]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Write to FILE.")]
ListFormat = Literal["json", "text"]
ShowFormat = Literal["json", "text", "html"]
AssessFormat = Literal["json", "text", "html", "fhir"]


def _open(db: str | None, *, create: bool = True) -> Store:
    from ectocalc.record import open_store

    return open_store(db, create=create)


@record_app.command("add")
def add_command(
    files: Annotated[list[Path], typer.Argument(
        help="Case files, FHIR R4 Bundles and `scan --format json` outputs.")],
    db: DbOption = None,
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Patient id for scan results (or Bundles) that name none.")] = None,
    merge: Annotated[bool, typer.Option(
        "--merge", help="File a patient under the recorded patient with the same identifier "
                        "even when the sex or birth date differ (they are one person).")] = False,
) -> None:
    """Add files to the record, each wholly or not at all; the same content twice changes
    nothing. A patient whose identifier (system and value) is recorded with another sex or
    birth date is refused unless --merge. Exit 2 when any file failed (the others still went
    in)."""
    from ectocalc.record import add_files

    store = _open(db)
    try:
        results = add_files(store, files, patient_id=patient, progress=_report, merge=merge)
    finally:
        store.dispose()
    failed = [r.path for r in results if r.status == "failed"]
    counts = {status: sum(r.status == status for r in results)
              for status in ("added", "unchanged", "failed")}
    typer.echo(", ".join(f"{n} {status}" for status, n in counts.items())
               + (f" (failed: {', '.join(failed)})" if failed else ""), err=True)
    if failed:
        raise typer.Exit(2)


def _report(result: AddResult) -> None:
    if result.status == "failed":
        typer.echo(f"error: {result.error}", err=True)
    else:
        typer.echo(f"{result.status}: {result.path}")


@record_app.command("list")
def list_command(
    db: DbOption = None,
    format: Annotated[ListFormat, typer.Option("--format", "-f")] = "text",
) -> None:
    """The patients in the record, with their alerts and overdue monitoring."""
    from ectocalc.record import list_patients

    store = _open(db, create=False)
    try:
        rows = list_patients(store, details=True)
    finally:
        store.dispose()
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    from ectocalc.record._render import patients_text

    typer.echo(patients_text(rows, color=sys.stdout.isatty()), nl=False)


@record_app.command("show")
def show_command(
    patient: Annotated[str, typer.Argument(help="The patient's id.")],
    db: DbOption = None,
    format: Annotated[ShowFormat, typer.Option("--format", "-f")] = "text",
    out: OutOption = None,
) -> None:
    """One patient over time: series, trends, CAC progression, monitoring due."""
    from ectocalc.model.display import shown_view
    from ectocalc.record import patient_view
    from ectocalc.record._render import view_html, view_text

    check_out(out)  # before any work
    store = _open(db, create=False)
    try:
        view = shown_view(patient_view(store, patient))
    finally:
        store.dispose()
    if format == "json":
        text = json.dumps(view, indent=2) + "\n"
    elif format == "html":
        text = view_html(view)
    else:
        text = view_text(view, color=out is None and sys.stdout.isatty())
    emit(text, out)


@record_app.command("assess")
def assess_command(
    patient: Annotated[str, typer.Argument(help="The patient's id.")],
    as_of: AsOfOption = None,
    db: DbOption = None,
    format: Annotated[AssessFormat, typer.Option("--format", "-f")] = "text",
    out: OutOption = None,
) -> None:
    """Assess the patient from everything recorded up to DATE."""
    from ectocalc import service
    from ectocalc.assess import as_of_date
    from ectocalc.record import assess_patient

    check_out(out)  # before any work
    day = as_of_date(as_of)
    store = _open(db, create=False)
    try:
        assessment = assess_patient(store, patient, as_of=day)
    finally:
        store.dispose()
    if format == "fhir":
        from ectocalc.io.fhir_out import assessment_bundle

        emit(json.dumps(assessment_bundle(assessment, patient_id=patient), indent=2) + "\n",
             out)
        return
    color = out is None and format == "text" and sys.stdout.isatty()
    emit(service.render_assessment(assessment, format=format, color=color), out)

