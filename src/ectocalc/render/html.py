"""Clinician HTML report (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, Template, select_autoescape

from ectocalc.model.assessment import Assessment
from ectocalc.render._scales import scale_rows
from ectocalc.render._words import add_filters


@cache
def template(name: str) -> Template:
    """A packaged report template (autoescaped: case text never becomes markup)."""
    env = Environment(loader=PackageLoader("ectocalc.render", "templates"),
                      autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    add_filters(env)
    return env.get_template(name)


def clinician_html(assessment: Assessment) -> str:
    """The clinician report as a self-contained HTML page."""
    return template("clinician.html.j2").render(a=assessment,
                                                scales=scale_rows(assessment.scales))
