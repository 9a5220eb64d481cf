"""``ectocalc assess CASE``: assess one patient case (case file or FHIR R4 Bundle)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from ectocalc.cli import app
from ectocalc.cli.output import AsOfOption, check_out, emit
from ectocalc.render import Audience

AssessFormat = Literal["json", "text", "html", "fhir"]


@app.command("assess")
def assess_command(
    case: Annotated[Path, typer.Argument(
        help="Case file (.json/.yaml) or FHIR R4 Bundle (.json).")],
    format: Annotated[AssessFormat, typer.Option(
        "--format", "-f", help="json, text, html or fhir (a FHIR R4 Bundle).")] = "text",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to FILE.")] = None,
    audience: Annotated[Audience, typer.Option(
        "--audience", help="clinician (full report) or patient (plain-language summary).",
    )] = "clinician",
    as_of: AsOfOption = None,
) -> None:
    """Assess one patient case: derived values, mechanism, types, syndromes, plans, monitoring."""
    from ectocalc import service
    from ectocalc.assess import as_of_date

    check_out(out, inputs=[case])  # before the analysis: never overwrite the input
    assessment = service.assess_file(case, as_of=as_of_date(as_of))
    if format == "fhir":
        import json

        from ectocalc.io.fhir_out import assessment_bundle

        emit(json.dumps(assessment_bundle(assessment), indent=2) + "\n", out)
        return
    color = out is None and format == "text" and sys.stdout.isatty()
    emit(service.render_assessment(assessment, format=format, audience=audience, color=color),
         out)
