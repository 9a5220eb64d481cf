"""``ectocalc phantom``: write the synthetic CT phantom (the demo input of ``ectocalc scan``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app


@app.command("phantom")
def phantom(
    out: Annotated[Path, typer.Argument(
        help="Output folder (created): dicom/, truth.json, anatomy label map.")],
    seed: Annotated[int, typer.Option(
        "--seed", help="Noise seed; equal seeds give identical files.")] = 0,
    slice_increment: Annotated[float, typer.Option(
        "--slice-increment", min=0.1, help="Slice increment = thickness, mm.")] = 3.0,
    kvp: Annotated[int, typer.Option(
        "--kvp", min=1, help="Tube voltage written to the KVP tag.")] = 120,
) -> None:
    """Write a synthetic CT with known calcium (QRM-like inserts, plaques, skin nodules, bone)."""
    from ectocalc.datasets import write_phantom

    # Keep the scanned length (~180 mm) whatever the increment.
    slices = max(1, round(180.0 / slice_increment))
    truth = write_phantom(out, seed=seed, slice_increment_mm=slice_increment, kvp=kvp,
                          slices=slices)
    typer.echo(f"DICOM series: {truth.parent / 'dicom'} ({slices} slices)")
    typer.echo(f"ground truth: {truth}")
    anatomy = truth.parent / "anatomy.nii.gz"
    if anatomy.exists():
        typer.echo(f"anatomy:      {anatomy} + {truth.parent / 'anatomy_names.json'}")
    typer.echo(f"try:          ectocalc scan {truth.parent / 'dicom'}")
