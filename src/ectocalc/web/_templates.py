"""Jinja2 environment of the web pages (autoescaped), sharing the HTML report's sections.

The patient page shows the current assessment exactly as the clinician HTML report does: the
report template (``ectocalc/render/templates/clinician.html.j2``) is reused through a loader
that serves its ``<body>`` as the template ``report_body.html.j2``, so the page and the report
can never drift apart. Its styling comes from ``static/app.css`` (pages allow no inline CSS).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date as Date
from functools import cache
from typing import Any
from urllib.parse import quote

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    PackageLoader,
    TemplateNotFound,
    select_autoescape,
)
from markupsafe import Markup

from ectocalc.render import add_filters

REPORT_BODY = "report_body.html.j2"


class ReportBodyLoader(BaseLoader):
    """Serves the body of the packaged clinician report as :data:`REPORT_BODY`."""

    def __init__(self) -> None:
        self._report = PackageLoader("ectocalc.render", "templates")

    def get_source(self, environment: Environment, template: str
                   ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template != REPORT_BODY:
            raise TemplateNotFound(template)
        source, filename, uptodate = self._report.get_source(environment, "clinician.html.j2")
        start, end = source.find("<body>"), source.rfind("</body>")
        if start < 0 or end < 0:
            raise TemplateNotFound(template)
        return source[start + len("<body>"):end], filename, uptodate


def _json_script(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(raw, escaped)
    return Markup(text)


def patient_path(patient_id: Any) -> str:
    """A record id as one URL path segment (every reserved character encoded, ``/`` too).

    Examples
    --------
    >>> patient_path("http://hospital.example/mrn|100234")
    'http%3A%2F%2Fhospital.example%2Fmrn%7C100234'
    """
    return quote(str(patient_id), safe="")


@cache
def environment() -> Environment:
    """The pages' Jinja2 environment (created once)."""
    env = Environment(
        loader=ChoiceLoader([PackageLoader("ectocalc.web", "templates"), ReportBodyLoader()]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters["json_script"] = _json_script
    env.filters["pid"] = patient_path
    add_filters(env)
    env.globals["today"] = Date.today
    return env


def render_page(name: str, **context: Any) -> str:
    """Render a page or a partial."""
    return environment().get_template(name).render(**context)
