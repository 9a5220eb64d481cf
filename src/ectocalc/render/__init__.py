"""Renderers: an :class:`~ectocalc.model.Assessment` as JSON, clinician or patient text/HTML."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the models load when something is rendered (``ectocalc --help`` is quick)
    from ectocalc.model.assessment import Assessment
    from ectocalc.render._scales import scale_rows
    from ectocalc.render._words import add_filters, citations, label, words

_LAZY = {"add_filters": "_words", "citations": "_words", "label": "_words", "words": "_words",
         "scale_rows": "_scales"}
"""Exports loaded on first use (they load the knowledge base and the scales)."""


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'ectocalc.render' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"ectocalc.render.{_LAZY[name]}"), name)

Format = Literal["json", "text", "html"]
Audience = Literal["clinician", "patient"]


def render(assessment: Assessment, *, format: Format, audience: Audience = "clinician",
           color: bool = False, width: int = 120) -> str:
    """Render an assessment for a reader.

    Examples
    --------
    >>> from ectocalc.model import Assessment
    >>> a = Assessment(disclaimer="Decision support only.", knowledge_version="1",
    ...                ectocalc_version="0")
    >>> render(a, format="json").startswith("{")
    True
    """
    from ectocalc.model.display import for_display

    assessment = for_display(assessment)  # the analysis keeps full precision; shown rounded
    if format == "json":
        return assessment.model_dump_json(indent=2) + "\n"
    if audience == "patient":
        from ectocalc.render.patient import patient_html, patient_text

        return patient_html(assessment) if format == "html" else patient_text(assessment)
    if format == "html":
        from ectocalc.render.html import clinician_html

        return clinician_html(assessment)
    from ectocalc.render.text import clinician_text

    return clinician_text(assessment, color=color, width=width)


__all__ = ["Audience", "Format", "add_filters", "citations", "label", "render", "scale_rows",
           "words"]
