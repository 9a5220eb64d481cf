"""``ectocalc scan``: quantify calcification on one CT (contract sections 1 and 4)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app
from ectocalc.errors import InputError


class Format(StrEnum):
    json = "json"
    text = "text"


class Contrast(StrEnum):
    refuse = "refuse"
    lumen = "lumen"
    ignore = "ignore"


@app.command("scan")
def scan(
    path: Annotated[Path, typer.Argument(
        help="DICOM series folder, .zip of one, or NIfTI file.")],
    anatomy: Annotated[Path | None, typer.Option(
        "--anatomy", help="Anatomy label map (NIfTI, TotalSegmentator folder of masks, or "
                          "DICOM SEG), or 'auto' to run TotalSegmentator; default: built-in "
                          "anatomy.")] = None,
    anatomy_names: Annotated[Path | None, typer.Option(
        "--anatomy-names", help='NAMES.json for the label map, e.g. {"1": "aorta"}.')] = None,
    kvp: Annotated[float | None, typer.Option(
        "--kvp", help="Tube voltage (overrides the data).")] = None,
    convention: Annotated[str, typer.Option(
        "--convention",
        help="agatston-1990 (default), comp2comp, deepcac, ai-cac, van-velzen; a comma-"
             "separated list or 'all' scores side by side (first = primary).")
    ] = "agatston-1990",
    calibration: Annotated[float | None, typer.Option(
        "--calibration", help="c_HA in mg HA/cm3/HU for mass (default 0.78).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write lesions.csv, seg.dcm, sr.dcm, PNG overlays, scan.json.")] = None,
    output_format: Annotated[Format, typer.Option("--format", help="json or text.")
                             ] = Format.text,
    contrast: Annotated[Contrast, typer.Option(
        "--contrast",
        help="Contrast-enhanced scan: refuse (default), lumen (lumen-relative threshold) or "
             "ignore (score at the plain threshold, with a warning).")] = Contrast.refuse,
) -> None:
    """Quantify calcification on one CT: Agatston, volume and mass per lesion and type."""
    from ectocalc.cli.output import check_out_dir
    from ectocalc.render.scan import render_scan
    from ectocalc.service import quantify_scan

    check_out_dir(out, inputs=[path])

    from ectocalc.cli._progress import scan_progress, stderr_console

    stderr = stderr_console()
    try:
        with scan_progress(stderr) as progress:
            result = quantify_scan(path, anatomy=anatomy, anatomy_names=anatomy_names, kvp=kvp,
                              convention=convention, calibration=calibration, out_dir=out,
                              contrast=contrast.value, progress=progress)
    except InputError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if output_format is Format.json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render_scan(result, color=sys.stdout.isatty()), nl=False)
