"""``ectocalc scan``: quantify calcification on one CT (contract sections 1 and 4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ectocalc.cli import app
from ectocalc.errors import InputError
from ectocalc.model.scan import ScanResult

if TYPE_CHECKING:  # the imaging stack loads only when a scan is run
    from ectocalc.imaging.scan import StageProgress


class Format(StrEnum):
    json = "json"
    text = "text"


class Contrast(StrEnum):
    refuse = "refuse"
    lumen = "lumen"
    ignore = "ignore"


# Classic total-score bands of coronary calcium (references/imaging.md: 0 / 1-10 / 11-100 /
# 101-400 / > 400). They were defined for coronary arteries, so they are shown only for
# cardiac lesions, never for a whole-scan total over other sites.
_BANDS = ((0, "0"), (10, "1-10"), (100, "11-100"), (400, "101-400"))


def agatston_band(score: float) -> str:
    """Classic coronary Agatston band of a total score.

    Examples
    --------
    >>> agatston_band(0), agatston_band(55.2), agatston_band(2933.3)
    ('0', '11-100', '> 400')
    """
    for upper, label in _BANDS:
        if score <= upper:
            return label
    return "> 400"


@contextmanager
def _progress(console: Console) -> Iterator[StageProgress | None]:
    """Progress on stderr (loading slices, then analysis), only when stderr is a terminal."""
    if not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("loading CT", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_text(result: ScanResult, console: Console) -> None:
    """The radiologist's view: acquisition, lesion table, totals by type, warnings."""
    acq = result.acquisition
    console.print(f"[bold]ectocalc scan[/bold]  {result.source or ''}")
    console.print(
        f"Acquisition: {_fmt(acq.get('kvp'), 0)} kVp, slice thickness "
        f"{_fmt(acq.get('slice_thickness_mm'), 2)} mm, increment {result.slice_increment_mm:.2f}"
        f" mm, pixel {result.pixel_spacing_mm[0]:.3f} x {result.pixel_spacing_mm[1]:.3f} mm, "
        f"kernel {acq.get('kernel') or '-'}, "
        f"contrast {acq.get('contrast_agent') or 'none recorded'}")
    bounds = result.factor_thresholds_hu
    console.print(
        f"Convention: {result.convention}; threshold {result.threshold_hu:g} HU (scored as "
        f"{_fmt(result.kvp, 0)} kVp, Gräni 2018 row {_fmt(result.threshold_table_kvp, 0)} kV); "
        f"density factors from {', '.join(f'{b:g}' for b in bounds)} HU; c_HA "
        f"{result.calibration_mg_per_cm3_per_hu:g} mg/cm3/HU ({result.calibration_source})")
    table = Table(title="Lesions (bone excluded)")
    for column in ("id", "type / region", "slices", "area mm2 (sum)", "peak HU", "factor",
                   "Agatston", "volume mm3", "mass mg"):
        table.add_column(column, justify="left" if column in ("type / region", "slices")
                         else "right")
    pixel_area = result.pixel_spacing_mm[0] * result.pixel_spacing_mm[1]
    for lesion in result.lesions:
        where = lesion.type + (f" / {lesion.region}" if lesion.region else "") + \
            (f" ({lesion.subtype})" if lesion.subtype else "")
        slices = (f"{lesion.slices[0] + 1}" if len(lesion.slices) == 1
                  else f"{lesion.slices[0] + 1}-{lesion.slices[-1] + 1}")
        area = lesion.volume_mm3 / result.slice_increment_mm
        table.add_row(str(lesion.id), where, slices, f"{max(area, pixel_area):.1f}",
                      f"{lesion.peak_hu:.0f}", str(lesion.density_factor or "-"),
                      f"{lesion.agatston:.1f}", f"{lesion.volume_mm3:.1f}",
                      f"{lesion.mass_mg:.2f}")
    table.add_row("", "[bold]total[/bold]", "", "", "", "", f"[bold]{result.agatston:.1f}",
                  f"[bold]{result.volume_mm3:.1f}", f"[bold]{result.mass_mg:.2f}")
    console.print(table)
    by_type = Table(title="By type")
    for column in ("type", "Agatston", "volume mm3", "mass mg"):
        by_type.add_column(column, justify="left" if column == "type" else "right")
    for name, totals in result.by_type.items():
        by_type.add_row(name, f"{totals.agatston:.1f}", f"{totals.volume_mm3:.1f}",
                        f"{totals.mass_mg:.2f}")
    console.print(by_type)
    cardiac = [lesion.agatston for lesion in result.lesions if lesion.subtype == "cardiac"]
    if cardiac:
        console.print(f"Classic coronary Agatston band of the cardiac lesions (orientation only, "
                      f"not CAC-DRS): {agatston_band(sum(cardiac))}")
    conventions = result.conventions
    if conventions:
        side = Table(title="Same scan under other conventions")
        for column in ("convention", "Agatston", "volume mm3", "mass mg", "lesions"):
            side.add_column(column, justify="left" if column == "convention" else "right")
        for c in conventions:
            side.add_row(c["convention"], f"{c['agatston']:.1f}", f"{c['volume_mm3']:.1f}",
                         f"{c['mass_mg']:.2f}", str(c["lesion_count"]))
        console.print(side)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for key, value in result.outputs.items():
        console.print(f"wrote {key}: {', '.join(value) if isinstance(value, list) else value}")


@app.command("scan")
def scan(
    path: Annotated[Path, typer.Argument(
        help="DICOM series folder, .zip of one, or NIfTI file.")],
    anatomy: Annotated[Path | None, typer.Option(
        "--anatomy", help="Anatomy label map (NIfTI or DICOM SEG).")] = None,
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
    from ectocalc.service import quantify_scan

    stderr = Console(stderr=True)
    try:
        with _progress(stderr) as progress:
            result = quantify_scan(path, anatomy=anatomy, anatomy_names=anatomy_names, kvp=kvp,
                              convention=convention, calibration=calibration, out_dir=out,
                              contrast=contrast.value, progress=progress)
    except InputError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if output_format is Format.json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render_text(result, Console(width=140))
