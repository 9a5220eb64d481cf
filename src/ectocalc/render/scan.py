"""Text view of one CT quantification (:class:`~ectocalc.model.scan.ScanResult`), as
``ectocalc scan --format text`` prints it."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from ectocalc.imaging._knowledge import imaging_knowledge
from ectocalc.model.scan import ScanResult


def agatston_band(score: float) -> str:
    """Classic coronary Agatston band of a total score (``coronary_bands`` of
    ``knowledge/data/imaging.yaml``). Defined for coronary arteries: shown only for cardiac
    lesions, never for a whole-scan total over other sites.

    Examples
    --------
    >>> agatston_band(0), agatston_band(55.2), agatston_band(2933.3)
    ('0', '11-100', '> 400')
    """
    for band in imaging_knowledge().coronary_bands.bands:
        if band.upper is None or score <= band.upper:
            return band.label
    raise AssertionError("the last band is open")  # the schema guarantees it


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_scan(result: ScanResult, *, color: bool = False, width: int = 140) -> str:
    """The radiologist's view of a scan: acquisition, lesion table, totals by type, warnings.

    Slices are numbered from 1 (as in ``lesions.csv`` and the overlay file names).

    Examples
    --------
    >>> r = ScanResult(convention="agatston-1990", threshold_hu=130, kvp=120,
    ...     slice_increment_mm=3, pixel_spacing_mm=(0.7, 0.7),
    ...     calibration_mg_per_cm3_per_hu=0.78, agatston=0, volume_mm3=0, mass_mg=0)
    >>> render_scan(r).splitlines()[0].strip()
    'ectocalc scan'
    """
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color)
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
        where = " / ".join(x for x in (lesion.region, lesion.artery, lesion.structure)
                           if x) or lesion.type
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
    if result.anatomy is not None:
        anatomy = result.anatomy
        console.print(f"Anatomy: {anatomy.source}; body regions "
                      f"{', '.join(anatomy.body_regions) or 'not recognised'}; heart "
                      f"{'in' if anatomy.heart_in_field else 'not in'} the field"
                      + (f" ({anatomy.note})" if anatomy.note else ""))
    if result.by_region:
        regions = Table(title="By region (as reported)")
        for column in ("region", "Agatston", "volume mm3", "mass mg", "by artery"):
            regions.add_column(column, justify="left" if column in ("region", "by artery")
                               else "right")
        for name, totals in result.by_region.items():
            if totals is None:
                regions.add_row(name.replace("_", " "), "not scored", "", "", "")
                continue
            arteries = ", ".join(f"{a.upper()} {v:.1f}" for a, v in
                                 (totals.by_artery or {}).items())
            regions.add_row(name.replace("_", " "), f"{totals.agatston:.1f}",
                            f"{totals.volume_mm3:.1f}", f"{totals.mass_mg:.2f}", arteries)
        console.print(regions)
    if result.excluded:
        console.print("Not scored: " + ", ".join(f"{count} {reason}" for reason, count in
                                                 result.excluded.items()))
    by_type = Table(title="By type")
    for column in ("type", "Agatston", "volume mm3", "mass mg"):
        by_type.add_column(column, justify="left" if column == "type" else "right")
    for name, totals in result.by_type.items():
        by_type.add_row(name, f"{totals.agatston:.1f}", f"{totals.volume_mm3:.1f}",
                        f"{totals.mass_mg:.2f}")
    console.print(by_type)
    cardiac = [lesion.agatston for lesion in result.lesions
               if lesion.subtype == "cardiac" or lesion.region == "coronary"]
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
    return buffer.getvalue()
