"""``ectocalc assess CASE``: assess one patient case (case file or FHIR R4 Bundle)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app
from ectocalc.cli.output import emit
from ectocalc.render import Audience, Format


@app.command("assess")
def assess_command(
    case: Annotated[Path, typer.Argument(
        help="Case file (.json/.yaml) or FHIR R4 Bundle (.json).")],
    format: Annotated[Format, typer.Option("--format", "-f", help="json, text or html.")] = "text",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to FILE.")] = None,
    audience: Annotated[Audience, typer.Option(
        "--audience", help="clinician (full report) or patient (plain-language summary).",
    )] = "clinician",
) -> None:
    """Assess one patient case: derived values, mechanism, types, syndromes, plans, monitoring."""
    from ectocalc import service

    assessment = service.assess_file(case)
    color = out is None and format == "text" and sys.stdout.isatty()
    emit(service.render_assessment(assessment, format=format, audience=audience, color=color),
         out)
