"""Clinician text report (Rich tables; flagged values highlighted)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ectocalc.model.assessment import Assessment, ChemistrySection
from ectocalc.render._scales import scales_table

FLAG_STYLE = {None: "", "normal": "", "low": "bold yellow", "high": "bold yellow",
              "critical_low": "bold white on red", "critical_high": "bold white on red"}
SEVERITY_STYLE = {"info": "cyan", "warning": "bold yellow", "critical": "bold white on red"}
FLAG_MARK = {"normal": "", "low": "L", "high": "H", "critical_low": "LL", "critical_high": "HH"}


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _fixed(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _range(reference: tuple[float, float] | None) -> str:
    return "" if reference is None else f"{reference[0]:g}–{reference[1]:g}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False,
                  show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _labs(a: Assessment) -> Table:
    table = _table("Laboratory results", "analyte", "value", "canonical", "SI", "reference",
                   "flag", "range source")
    for lab in a.labs:
        style = FLAG_STYLE[lab.flag]
        table.add_row(
            lab.label, f"{lab.comparator or ''} {lab.value:g} {lab.unit}".strip(),
            f"{lab.comparator or ''} {_num(lab.canonical_value)} {lab.canonical_unit}".strip(),
            f"{lab.comparator or ''} {_num(lab.si_value)} {lab.si_unit or ''}".strip()
            if lab.si_value is not None else "",
            f"{_range(lab.reference_range)} {lab.canonical_unit}" if lab.reference_range else "",
            Text((FLAG_MARK[lab.flag] or "—") if lab.flag else lab.flag_shown, style=style),
            lab.reference_source,
        )
    return table


def _derived(a: Assessment) -> RenderableType:
    d = a.derived
    table = _table("Derived values", "quantity", "value", "method", "source")
    for item in d.basis:
        value = item.value if isinstance(item.value, str) else _num(item.value)
        table.add_row(item.quantity, f"{value} {item.unit or ''}".strip(), item.method, item.source)
    extra = []
    if d.calcium_basis:
        status = d.calcium_status or "unknown"
        extra.append(Text.assemble("Calcium judged on: ", (d.calcium_basis, "bold"), " — ",
                                   (status, FLAG_STYLE.get(status, ""))))
    ratio = d.urine_calcium_creatinine_ratio
    if ratio is not None and ratio.flag is not None:
        extra.append(Text.assemble(
            f"Urine calcium/creatinine {_num(ratio.mg_mg)} mg/mg ({_num(ratio.mmol_mmol)} "
            f"mmol/mmol): ", (ratio.flag, FLAG_STYLE.get(ratio.flag, "")),
            f" for age {ratio.age_band} (upper limit {_num(ratio.upper_limit_mmol_mmol)} "
            "mmol/mmol)"))
    if len(d.egfr_by_equation) > 1:
        extra.append(Text("eGFR by equation: " + "; ".join(
            f"{k} {v:g}" for k, v in d.egfr_by_equation.items())))
    extra += [Text(f"• {note}", style="dim") for note in d.notes]
    return Group(table, *extra)


def _alerts(a: Assessment) -> Table:
    table = _table("Alerts", "severity", "alert", "message", "source")
    for alert in a.alerts:
        table.add_row(Text(alert.severity, style=SEVERITY_STYLE[alert.severity]), alert.id,
                      alert.message, alert.source or "")
    return table


def _mechanism(a: Assessment) -> RenderableType:
    m = a.mechanism
    table = _table(f"Mechanism — primary: {m.primary or 'undetermined'}"
                   + (f" (confidence {m.confidence})" if m.confidence else ""),
                   "mechanism", "score", "evidence", "against", "sources")
    for item in m.differential:
        table.add_row(item.id, f"{item.score:.2f}", "\n".join(item.evidence),
                      "\n".join(item.against), "\n".join(item.sources))
    notes = [Text(f"• {n}", style="dim") for n in m.notes]
    return Group(table, *notes)


def _plan(title: str, items: list[Any]) -> Table:
    table = _table(title, "id", "why", "evidence", "source")
    for item in items:
        why = item.reason
        if item.urgency:
            why = f"[{item.urgency.upper()}] {why}"
        if item.certainty:
            why += f"\n[certainty: {item.certainty}]"
        if item.cautions:
            why += "\nCAUTION: " + "; ".join(item.cautions)
        if item.withheld:
            why += "\nWITHHELD: " + "; ".join(item.withheld)
        table.add_row(item.id, why, "\n".join(item.evidence), item.source)
    return table


def _types(a: Assessment) -> Table:
    table = _table("Calcification types", "type", "site", "symptoms", "evidence", "source")
    for item in a.types:
        label = item.id + (f" ({item.subtype})" if item.subtype else "")
        table.add_row(label, item.site, ", ".join(item.symptoms), "\n".join(item.evidence),
                      item.source)
    return table


def _syndromes(a: Assessment) -> Table:
    table = _table("Recognised syndromes", "syndrome", "certainty", "criteria", "source")
    for item in a.syndromes:
        table.add_row(f"{item.name} [{item.id}]", item.certainty,
                      "\n".join(item.criteria + [f"note: {n}" for n in item.notes]), item.source)
    return table


def _monitoring(a: Assessment) -> Table:
    table = _table("Monitoring", "test", "every (months)", "why", "source")
    for item in a.monitoring:
        interval = ("as clinically indicated" if item.interval_months is None else
                    "–".join(f"{x:g}" for x in dict.fromkeys(item.interval_months)))
        table.add_row(item.test, interval, item.reason, item.source)
    return table


def _chemistry(chem: ChemistrySection) -> RenderableType:
    table = _table(f"Serum supersaturation ({chem.database}, {chem.temperature_c:g} °C)",
                   "phase", "saturation index", "what-if")
    what_if = chem.what_if.get("saturation_index", {})
    for phase, value in chem.saturation_index.items():
        table.add_row(phase, _fixed(value), _fixed(what_if.get(phase)))
    lines = [Text(chem.reading, style="bold"), Text(chem.label, style="italic"),
             Text(f"ionic strength {_num(chem.ionic_strength, 3)} mol/L; free Ca2+ "
                  f"{_num(chem.free_calcium_mmol_l, 3)} mmol/L")]
    lines += [Text(f"• {x}", style="dim") for x in chem.assumptions]
    return Group(table, *lines)


def _imaging(a: Assessment) -> RenderableType:
    parts: list[RenderableType] = []
    for scan in a.imaging:
        table = _table(f"CT {scan.source or ''} — {scan.convention}, threshold "
                       f"{scan.threshold_hu:g} HU: Agatston {scan.agatston:.1f}, volume "
                       f"{scan.volume_mm3:.1f} mm3, mass {scan.mass_mg:.1f} mg",
                       "lesion", "type", "region", "agatston", "volume mm3", "mass mg", "peak HU")
        for lesion in scan.lesions:
            table.add_row(str(lesion.id), lesion.type, lesion.region or "",
                          f"{lesion.agatston:.1f}", f"{lesion.volume_mm3:.1f}",
                          f"{lesion.mass_mg:.1f}", f"{lesion.peak_hu:.0f}")
        parts.append(table)
        parts += [Text(f"• {w}", style="yellow") for w in scan.warnings]
    return Group(*parts)


def clinician_text(a: Assessment, *, color: bool = False, width: int = 120) -> str:
    """The clinician report as text (ANSI colours only when ``color``)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color,
                      highlight=False, soft_wrap=False)
    patient = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in a.patient.items()
                        if v is not None)
    console.print(Panel(Text.assemble(
        (f"ectocalc assessment — {a.case_id or a.source or 'case'}\n", "bold"),
        f"Patient: {patient or 'not given'}\n", (a.disclaimer, "italic"))))
    sections: list[tuple[bool, RenderableType]] = [
        (bool(a.alerts), _alerts(a)),
        (bool(a.labs), _labs(a)),
        (True, _derived(a)),
        (bool(a.mechanism.differential), _mechanism(a)),
        (bool(a.types), _types(a)),
        (bool(a.syndromes), _syndromes(a)),
        (bool(a.workup), _plan("Work-up", a.workup)),
        (bool(a.management), _plan("Management", a.management)),
        (bool(a.monitoring), _monitoring(a)),
        (a.chemistry is not None, _chemistry(a.chemistry) if a.chemistry else Text("")),
        (bool(a.imaging), _imaging(a)),
        (bool(a.scales.shown()), scales_table(a.scales)),
        (bool(a.skipped_inputs), Group(Text("Inputs not used", style="bold"),
                                       *(Text(f"• {s}") for s in a.skipped_inputs))),
    ]
    for shown, renderable in sections:
        if shown:
            console.print(renderable)
            console.print()
    console.print(Text(f"knowledge {a.knowledge_version} · ectocalc {a.ectocalc_version}",
                       style="dim"))
    return buffer.getvalue()
