"""Words, not ids: readable labels, evidence and citations for the clinician's HTML and PDF.

The core emits ids (``persistent_high_pth``, ``vitamin_d_25oh``), input references
(``findings[0].site``) and source names with ``[check]`` marks; researchers keep them in the
JSON. A clinician reads the knowledge base's labels instead (the id in a ``title`` tooltip),
the input the evidence points at, and full citations from ``bibliography.yaml``; an unconfirmed
source or detail is said in a tooltip ("unverified detail"), never as a raw marker. Labels come
from the knowledge files' ``label``/``name`` fields and, for ids no file names,
``knowledge/data/labels.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict

from ectocalc.knowledge import load_knowledge, register_file

CHECK = " [check]"
UNVERIFIED = "unverified detail"
_ID = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_REF = re.compile(r"\b(findings|medications|conditions|labs|procedures|family_history|"
                  r"scans|imaging)\[(\d+)\](?:\.(\w+))?(:)?")
_KIND = {"findings": "finding", "medications": "medication", "conditions": "condition",
         "labs": "result", "procedures": "procedure", "family_history": "family history",
         "scans": "scan", "imaging": "scan"}
_FIELD = {"text": "", "site": "site ", "code": "code ", "name": "", "analyte": ""}
_SEED = re.compile(r"\s*\(seed text [^)]*\)")


class LabelsFile(BaseModel):
    """``labels.yaml``: readable names of ids no other knowledge file names."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    labels: dict[str, str]


register_file("labels.yaml", LabelsFile)


@cache
def labels() -> dict[str, str]:
    """Every knowledge-base id -> its readable label (concepts, analytes, mechanisms, types,
    syndromes, work-up, management, then ``labels.yaml``)."""
    kb = load_knowledge()
    found: dict[str, str] = {c.id: c.label for c in kb.lexicon.concepts}
    found.update({key: a.label for key, a in kb.analytes.analytes.items()})
    found.update({m.id: m.label for m in kb.mechanisms.mechanisms})
    found.update({t.id: t.label for t in kb.types.types})
    found.update({s.id: s.name for s in kb.syndromes.syndromes})
    found.update({p.id: p.label for p in [*kb.workup.workup, *kb.management.management]})
    found.update(kb.part("labels.yaml", LabelsFile).labels)
    return found


def label(identifier: Any) -> str:
    """The readable label of an id (the id with spaces when the knowledge base has none).

    Examples
    --------
    >>> label("vitamin_d_25oh"), label("persistent_high_pth"), label("no_such_id")
    ('25-hydroxyvitamin D', 'PTH persistently high', 'no such id')
    """
    text = str(identifier)
    return labels().get(text) or text.replace("_", " ")


def labelled(identifier: Any) -> Markup:
    """The label as HTML with the id in a tooltip for researchers."""
    return Markup('<span class="term" title="{}">{}</span>').format(
        identifier, label(identifier))


def _reference(match: re.Match[str]) -> str:
    kind, index, field, colon = match.groups()
    number = int(index) + 1
    what = _FIELD.get(field or "", f"{(field or '').replace('_', ' ')} ")
    return f"{_KIND[kind]} {number} {what}".rstrip() + (":" if colon else "")


def words(text: Any) -> str:
    """Free text of the core (evidence, criteria, messages, notes) in a clinician's words:
    input references as what they point at, ids as labels, ``[check]`` marks removed.

    Examples
    --------
    >>> words("conditions[0].text: 'end-stage renal disease' (Chronic kidney disease)")
    "condition 1: 'end-stage renal disease' (Chronic kidney disease)"
    >>> words("syndrome ckd_mbd (definitive); heuristic [check]")
    'syndrome CKD-mineral and bone disorder (definitive); heuristic'
    """
    plain = _REF.sub(_reference, str(text)).replace(CHECK, "")
    return _ID.sub(lambda m: label(m.group(0)), plain)


@dataclass(frozen=True)
class Citation:
    """One source as a clinician reads it: the full reference, a link if it has one, whether
    it is unconfirmed, and the bibliography id (for the tooltip)."""

    text: str
    key: str | None
    unverified: bool
    url: str | None = None


@cache
def _by_short() -> list[tuple[str, str]]:
    sources = load_knowledge().bibliography.sources
    return sorted(((entry.short, key) for key, entry in sources.items()),
                  key=lambda pair: -len(pair[0]))


def citations(source: Any) -> list[Citation]:
    """The sources of a ``source`` text ("KDIGO 2017 CKD-MBD 4.1.8; Seed: …") as citations.

    A name not in the bibliography (e.g. a laboratory's own range) is kept as written.

    Examples
    --------
    >>> [c.text[-25:] for c in citations("KDIGO 2017 CKD-MBD 4.1.5; KDIGO 2017 CKD-MBD 3.1.4")]
    ['2017;7:1-59, 4.1.5, 3.1.4']
    """
    sources = load_knowledge().bibliography.sources
    found: list[Citation] = []
    sections: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in str(source or "").split(";"))):
        unverified = part.endswith(CHECK.strip())
        part = part.removesuffix(CHECK.strip()).strip()
        key = next((k for short, k in _by_short()
                    if part == short or part.startswith(short + " ")), None)
        if key is None:
            found.append(Citation(text=part, key=None, unverified=unverified))
            continue
        entry = sources[key]
        section = part[len(entry.short):].strip()
        if key in sections:  # the same source again (another section): cited once
            sections[key].append(section)
            continue
        sections[key] = [section]
        found.append(Citation(text=key, key=key, unverified=unverified or entry.check))
    result = []
    for c in found:
        if c.key is None:
            result.append(c)
            continue
        text = _SEED.sub("", " ".join(sources[c.key].citation.split()))
        shown = ", ".join(filter(None, sections[c.key]))
        url = next(iter(re.findall(r"https?://\S+", text)), None)
        result.append(Citation(text=f"{text}, {shown}" if shown else text, key=c.key,
                               unverified=c.unverified, url=url))
    return result


def cite(source: Any) -> Markup:
    """Readable citations as HTML: the bibliography id (and "unverified detail") in a tooltip,
    a link where the reference has one."""
    parts = []
    for c in citations(source):
        tip = "; ".join(filter(None, [c.key, UNVERIFIED if c.unverified else None]))
        body = (Markup('<a href="{}">{}</a>').format(c.url, c.text) if c.url
                else escape(c.text))
        parts.append(Markup('<cite title="{}">{}</cite>').format(tip, body) if tip
                     else Markup("<cite>{}</cite>").format(body))
    return Markup("; ").join(parts)


def add_filters(env: Environment) -> None:
    """Register ``label``, ``labelled``, ``words`` and ``cite`` on a Jinja2 environment."""
    env.filters.update(label=label, labelled=labelled, words=words, cite=cite)
