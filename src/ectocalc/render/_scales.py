"""The clinical scales in the reports: one row per scale (text, HTML) and plain words (patient).

Shown are the scales that were computed, and those that could not be computed although the case
has some of their inputs (with the reason); scales with no data stay out of the reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ectocalc.model.scales import Scales
from ectocalc.scales._schema import packaged_scales


@dataclass(frozen=True)
class ScaleRow:
    """One scale as a report row: its result, one-line reading, details and source."""

    name: str
    result: str
    reading: str
    details: list[str]
    source: str


def scale_rows(scales: Scales) -> list[ScaleRow]:
    """The rows of the scales section (computed or not computed with a reason).

    Examples
    --------
    >>> from ectocalc.model.scales import KauppilaAac24, Scales
    >>> row, = scale_rows(Scales(kauppila_aac24=KauppilaAac24(status="computed",
    ...     name="Kauppila AAC-24", label="AAC-24 11/24", reading="AAC-24 11/24: present",
    ...     source="Kauppila 1997", applies_to="lateral radiograph", score=11)))
    >>> row.result, row.reading
    ('AAC-24 11/24', 'AAC-24 11/24: present')
    """
    rows = []
    for scale in scales.shown():
        details = [*getattr(scale, "assumptions", []), *scale.notes]
        if scale.status == "computed":
            result, reading = scale.label or "", scale.reading or ""
        else:
            result = "not computed"
            reading = (scale.not_computed or "").removeprefix("not computed: ")
        rows.append(ScaleRow(scale.name, result, reading, details, scale.source))
    return rows


def scales_table(scales: Scales) -> RenderableType:
    """The scales section of the clinician text report (Rich)."""
    table = Table(title="Clinical scales", title_justify="left", show_lines=True)
    table.add_column("scale", ratio=2, overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("reading", ratio=4, overflow="fold")
    table.add_column("source", ratio=2, overflow="fold")
    for row in scale_rows(scales):
        details = "".join(f"\n• {d}" for d in row.details)
        table.add_row(row.name, row.result, Text(row.reading + details), row.source)
    return Group(table)


def _in_100(percent: float) -> str:
    """A risk as a natural frequency, rounded to a whole person."""
    people = round(percent)
    return "fewer than 1 in 100" if people < 1 else f"about {people} in 100"


def patient_scales(scales: Scales) -> list[tuple[str, list[str]]]:
    """Plain-language sections for the patient summary (no decimals, no category codes)."""
    spec = packaged_scales()
    lines: list[str] = []
    cac = scales.cac_drs
    if cac is not None and cac.status == "computed" and cac.category:
        lines += [spec.cac_drs.plain[cac.category], spec.cac_drs.plain["caveat"]]
    valve = scales.aortic_valve_calcium
    if valve is not None and valve.status == "computed" and valve.severe_as:
        plain = spec.aortic_valve_calcium.plain
        lines += [plain[valve.severe_as], plain["caveat"]]
    aac = scales.kauppila_aac24
    if aac is not None and aac.status == "computed" and aac.score is not None:
        plain24 = spec.kauppila_aac24.plain
        lines += [plain24["some" if aac.score else "none"], plain24["caveat"]]
    adragao = scales.adragao
    if adragao is not None and adragao.status == "computed":
        lines.append(spec.adragao.plain["higher" if adragao.high_risk else "lower"])
    sections = [("Calcium in your arteries and heart valves", lines)] if lines else []
    mesa = scales.mesa_chd_10y
    if mesa is not None and mesa.status == "computed" and mesa.risk_percent is not None:
        plain_mesa = spec.mesa_chd_10y.plain
        risk = [plain_mesa["intro"]]
        if mesa.with_cac:
            risk.append(plain_mesa["with_cac"])
        risk += [f"For people with the same details as you, {_in_100(mesa.risk_percent)} would "
                 "have such a heart problem within 10 years.", plain_mesa["caveat"]]
        sections.append(("Your heart risk estimate", risk))
    return sections
