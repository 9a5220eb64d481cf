"""``summary.html``: counts, distributions and the failure table of a cohort (private).

Histograms (matplotlib, embedded as PNG) of the Agatston score and calcium mass of the done
items: for each calcification type with calcium in at least one item, and of the totals by
sex and by age band. Counts of items by status and kind, of primary mechanisms and CKD stages.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from ectocalc.cohort._table import AGE_BANDS, TYPES
from ectocalc.io.files import atomic_write

_TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ectocalc cohort summary</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left}figure{display:inline-block;margin:.5em}img{max-width:30em}</style></head>
<body><h1>Cohort summary</h1>
<p>{{ total }} items: {{ status.done }} done, {{ status.failed }} failed. Written {{ when }} by
ectocalc {{ version }}{% if knowledge %}, knowledge {{ knowledge|join(", ") }}{% endif %}.
Decision support for research use; values are those of each item's own outputs.</p>
<h2>Counts</h2>
{% for title, counts in tables %}<table><caption>{{ title }}</caption>
<tr><th>value</th><th>items</th></tr>
{% for key, n in counts %}<tr><td>{{ key }}</td><td>{{ n }}</td></tr>{% endfor %}
</table>{% endfor %}
<h2>Distributions</h2>
{% if figures %}{% for caption, png in figures %}<figure><img alt="{{ caption }}"
src="data:image/png;base64,{{ png }}"><figcaption>{{ caption }}</figcaption></figure>
{% endfor %}{% else %}<p>No done item has scan scores.</p>{% endif %}
<h2>Failures</h2>
{% if failures %}<table><tr><th>id</th><th>kind</th><th>reason</th></tr>
{% for row in failures %}<tr><td>{{ row.id }}</td><td>{{ row.kind }}</td>
<td>{{ row.error }}</td></tr>{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
</body></html>
""")


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _histogram(title: str, unit: str, groups: dict[str, list[float]], *,
               legend: bool) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(5, 3.2))
    axes = figure.subplots()
    axes.hist(list(groups.values()), bins=20, label=list(groups), stacked=len(groups) > 1)
    axes.set_title(title)
    axes.set_xlabel(unit)
    axes.set_ylabel("items")
    axes.ticklabel_format(axis="x", style="plain", useOffset=False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if legend:
        axes.legend(fontsize="small")
    return _png(figure)


def _grouped(rows: Sequence[dict[str, Any]], key: str, value: str,
             order: Sequence[str]) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {}
    for label in order:
        values = [row[value] for row in rows if row.get(key) == label]
        if values:
            groups[label] = values
    return groups


def _figures(done: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    scored = [row for row in done if row.get("agatston") is not None]
    figures = []
    for measure, unit in (("agatston", "Agatston score"), ("mass_mg", "calcium mass, mg HA")):
        for name in TYPES:
            values = [row[f"{measure}_{name}"] for row in scored]
            if any(values):
                caption = f"{unit}, {name.replace('_', ' ')}"
                figures.append((caption, _histogram(caption, unit, {name: values},
                                                    legend=False)))
        bands = [label for _, label in AGE_BANDS] + ["80+"]
        for key, order, by in (("sex", ["female", "male"], "sex"), ("age_band", bands, "age")):
            groups = _grouped(scored, key, measure, order)
            if groups:
                caption = f"{unit}, all types, by {by}"
                figures.append((caption, _histogram(caption, unit, groups, legend=True)))
    return figures


def write_summary(rows: Sequence[dict[str, Any]], path: Path, *, version: str) -> Path:
    """Write ``summary.html`` for the table ``rows`` (whole or not at all)."""
    done = [row for row in rows if row["status"] == "done"]
    failures = [row for row in rows if row["status"] == "failed"]

    cases = [row for row in done if row["kind"] != "scan"]

    def counts(key: str, among: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
        return sorted(Counter(str(row.get(key) or "-") for row in among).items())

    html = _TEMPLATE.render(
        total=len(rows), status={"done": len(done), "failed": len(failures)},
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", version=version,
        knowledge=sorted({row["knowledge_version"] for row in done
                          if row.get("knowledge_version")}),
        tables=[("items by kind (done)", counts("kind", done)),
                ("primary mechanism (done cases)", counts("mechanism", cases)),
                ("CKD stage (done cases)", counts("ckd_stage", cases))],
        figures=_figures(done), failures=failures)
    return atomic_write(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))
