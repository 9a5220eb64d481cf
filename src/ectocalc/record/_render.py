"""Render the record's views: text tables with flags and arrows (Rich), HTML with one figure
per series (matplotlib, embedded as PNG data URIs)."""

from __future__ import annotations

import base64
import io
from datetime import date as Date
from typing import Any

from jinja2 import Environment
from rich.markup import escape

_ARROWS = {"rising": "↑", "falling": "↓", "stable": "→", None: ""}
_FLAG_STYLE = {"high": "yellow", "low": "cyan", "critical_high": "bold red",
               "critical_low": "bold red", "normal": ""}


def _step(previous: float | None, value: float) -> str:
    if previous is None:
        return ""
    return "↑" if value > previous else "↓" if value < previous else "→"


def _console(color: bool) -> Any:
    from rich.console import Console

    return Console(file=io.StringIO(), force_terminal=color, color_system="standard"
                   if color else None, width=110)


def view_text(view: dict[str, Any], *, color: bool = False) -> str:
    """``record show --format text``: every series as a table, then trends, progression,
    monitoring due and alerts."""
    from rich.table import Table

    console = _console(color)
    patient = view["patient"]
    console.print(f"[bold]Patient {escape(patient['id'])}[/bold]  sex {patient['sex'] or '?'}  "
                  f"age {patient['age_years'] if patient['age_years'] is not None else '?'}  "
                  f"CKD stage {view['ckd_stage'] or '-'}  (as of {patient['as_of']})")
    for name, points in view["series"].items():
        trend = view["trends"].get(name, {})
        title = f"{name} {_ARROWS.get(trend.get('direction'), '')}".strip()
        if trend.get("persistent_high"):
            title += "  PERSISTENTLY HIGH"
        table = Table(title=title, title_justify="left")
        for column in ("date", "value", "unit", "flag", "", "range / method"):
            table.add_column(column)
        previous = None
        for point in points:
            flag = point.get("flag", "")
            style = _FLAG_STYLE.get(flag, "")
            reference = point.get("reference_range")
            extra = (point.get("equation") or point.get("convention")
                     or (f"{reference[0]:g}–{reference[1]:g}" if reference else ""))
            table.add_row(point["date"], f"{point['value']:g}", point.get("unit", "Agatston"),
                          f"[{style}]{flag}[/{style}]" if style else flag,
                          _step(previous, point["value"]), extra or "")
            previous = point["value"]
        console.print(table)
    _trend_lines(console, view)
    return console.file.getvalue()  # type: ignore[no-any-return]


def _trend_lines(console: Any, view: dict[str, Any]) -> None:
    egfr = view["trends"].get("egfr")
    if egfr:
        slope = egfr["slope_per_year"]
        console.print("eGFR slope: " + (f"{slope:g} mL/min/1.73 m²/yr"
                                        + ("  RAPID DECLINE" if egfr["rapid_decline"] else "")
                                        if slope is not None else egfr.get("note", "n/a"))
                      + f"  ({egfr['method']}; {egfr['source']})")
    progression = view.get("cac_progression")
    if progression:
        annual = progression["annual_percent"]
        console.print(
            f"CAC (each CT's Agatston total) {progression['from']} → {progression['to']} "
            f"({progression['interval_years']:g} y): √ difference "
            f"{progression['sqrt_difference']:g} (Hokanson: "
            f"{'yes' if progression['hokanson'] else 'no'}), "
            f"{'n/a' if annual is None else f'{annual:g} %/yr'} (Raggi: "
            f"{'n/a' if progression['raggi'] is None else 'yes' if progression['raggi'] else 'no'})"
            f", incident: {'yes' if progression['incident'] else 'no'}")
        for pair in progression["pairs"]:
            for warning in pair["warnings"]:
                console.print(f"[yellow]warning[/yellow] {pair['from']} → {pair['to']}: {warning}")
    if view["monitoring_due"]:
        from rich.table import Table

        table = Table(title="Monitoring due (KDIGO 2017)", title_justify="left")
        for column in ("test", "last", "due", "status"):
            table.add_column(column)
        for item in view["monitoring_due"]:
            status = "[bold red]OVERDUE[/bold red]" if item["overdue"] else "ok"
            table.add_row(item["test"], item["last"] or "never", item["due"] or "-", status)
        console.print(table)
    for alert in view["alerts"]:
        console.print(escape(f"[{alert['severity']}] {alert['id']}: {alert['message']}"))
    console.print(escape(view["disclaimer"]))


def patients_text(rows: list[dict[str, Any]], *, color: bool = False) -> str:
    """``record list --format text``."""
    from rich.table import Table

    console = _console(color)
    table = Table(title=f"{len(rows)} patient(s)", title_justify="left")
    for column in ("id", "sex", "results", "scans", "last result", "alerts", "overdue"):
        table.add_column(column)
    for row in rows:
        alerts = ", ".join(a["id"] for a in row.get("alerts", []) if a["severity"] != "info")
        table.add_row(escape(row["id"]), row["sex"] or "", str(row["results"]), str(row["scans"]),
                      row["last_result"] or "", alerts, ", ".join(row.get("overdue", [])))
    console.print(table)
    return console.file.getvalue()  # type: ignore[no-any-return]


def _figure(name: str, points: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> str:
    """One series over time with its reference band (CAC: progression marked), as a data URI."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    dates: list[Any] = [Date.fromisoformat(p["date"]) for p in points]  # matplotlib: dates
    values = [p["value"] for p in points]
    figure = Figure(figsize=(6.4, 2.8), dpi=100)
    axes = figure.add_subplot()
    ranges = [p.get("reference_range") for p in points]
    if any(ranges):
        low = [r[0] if r else float("nan") for r in ranges]
        high = [r[1] if r else float("nan") for r in ranges]
        axes.fill_between(dates, low, high, step="mid", alpha=0.2, color="tab:green",
                          label="reference range")
    axes.plot(dates, values, marker="o", color="tab:blue", label=name)
    flagged = [(d, v) for d, v, p in zip(dates, values, points, strict=True)
               if p.get("flag") not in (None, "normal")]
    if flagged:
        axes.scatter(*zip(*flagged, strict=True), color="tab:red", zorder=3, label="out of range")
    for pair in pairs:
        marks = [m for m in ("hokanson", "raggi", "incident") if pair[m]]
        if marks:
            axes.annotate("progression: " + ", ".join(marks),
                          xy=(Date.fromisoformat(pair["to"]), pair["follow_up"]),
                          xytext=(-160, -24), textcoords="offset points", fontsize=8,
                          arrowprops={"arrowstyle": "->"})
    unit = points[-1].get("unit", "Agatston")
    axes.set_title(name, fontsize=10)
    axes.set_ylabel(unit, fontsize=8)
    axes.tick_params(labelsize=8)
    axes.legend(fontsize=7, loc="best")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Patient {{ v.patient.id }} over time</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:auto}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px}.high,.critical_high{color:#b00}
.overdue{color:#b00;font-weight:bold}</style></head><body>
<h1>Patient {{ v.patient.id }}</h1>
<p>Sex {{ v.patient.sex or "?" }}, age {{ v.patient.age_years or "?" }}, CKD stage
{{ v.ckd_stage or "-" }}, as of {{ v.patient.as_of }}.</p>
{% for name, points in v.series.items() %}
<section><h2>{{ name }}{% set t = v.trends.get(name, {}) %}
{% if t.get("direction") %} ({{ t.direction }}){% endif %}
{% if t.get("persistent_high") %} — persistently high{% endif %}</h2>
<img alt="{{ name }} over time" src="{{ figures[name] }}">
{% if t.get("persistent_high_source") %}<p>Persistence: {{ t.persistent_high_rule }}
({{ t.persistent_high_source }}). Direction: {{ t.direction_method }}.</p>{% endif %}
{% if name == "egfr" %}<p>Slope: {{ t.slope_per_year if t.slope_per_year is not none
 else t.note }}{% if t.slope_per_year is not none %} mL/min/1.73 m²/yr{% endif %}
{% if t.rapid_decline %} — <strong>rapid decline</strong>{% endif %} ({{ t.method }};
{{ t.rule }}; {{ t.source }}).</p>{% endif %}
</section>{% endfor %}
{% if v.cac_progression %}{% set p = v.cac_progression %}
<h2>CAC progression</h2>
<p>Each CT's Agatston total: coronary artery calcium only when the scan is a coronary CT.</p>
<table><tr><th>from</th><th>to</th><th>years</th><th>√ difference</th>
<th>Hokanson</th><th>%/yr</th><th>Raggi</th><th>incident</th><th>warnings</th></tr>
{% for q in p.pairs %}<tr><td>{{ q["from"] }}</td><td>{{ q.to }}</td><td>{{ q.interval_years }}</td>
<td>{{ q.sqrt_difference }}</td><td>{{ q.hokanson }}</td><td>{{ q.annual_percent }}</td>
<td>{{ q.raggi }}</td><td>{{ q.incident }}</td><td>{{ q.warnings | join("; ") }}</td></tr>
{% endfor %}</table><p>{{ p.hokanson_rule }} ({{ p.hokanson_source }}); {{ p.raggi_rule }}
({{ p.raggi_source }}).</p>{% endif %}
{% if v.monitoring_due %}<h2>Monitoring due</h2><table><tr><th>test</th><th>last</th>
<th>due</th><th>status</th><th>source</th></tr>{% for m in v.monitoring_due %}
<tr><td>{{ m.test }}</td><td>{{ m.last or "never" }}</td><td>{{ m.due or "-" }}</td>
<td class="{{ 'overdue' if m.overdue else '' }}">{{ "overdue" if m.overdue else "ok" }}</td>
<td>{{ m.source }}</td></tr>{% endfor %}</table>{% endif %}
{% if v.alerts %}<h2>Alerts</h2><ul>{% for a in v.alerts %}<li>[{{ a.severity }}]
{{ a.message }}{% if a.source %} ({{ a.source }}){% endif %}</li>{% endfor %}</ul>{% endif %}
<p><small>{{ v.disclaimer }}</small></p></body></html>
""")


def trend_figures(view: dict[str, Any], *, labels: dict[str, str] | None = None
                  ) -> dict[str, str]:
    """Each series of a ``record show`` view as a PNG data URI: values over time, reference
    band, out-of-range points in red, CAC progression marked; titled ``labels[name]`` when
    given (the web PDF's readable names), else the series name."""
    pairs = (view.get("cac_progression") or {}).get("pairs", [])
    return {name: _figure((labels or {}).get(name, name), points,
                          pairs if name == "cac_agatston" else [])
            for name, points in view["series"].items()}


def view_html(view: dict[str, Any]) -> str:
    """``record show --format html``: one figure per analyte (and CAC), tables for the rest."""
    return _PAGE.render(v=view, figures=trend_figures(view))
