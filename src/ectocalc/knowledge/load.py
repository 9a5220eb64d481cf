"""Load and check the knowledge base (``knowledge/data/*.yaml``) once per process.

Every file is validated against :mod:`ectocalc.knowledge.schema`; then the base is checked as a
whole: every ``source`` names a bibliography entry, every rule condition uses the grammar and
names known concepts, sites, signs, analytes and criteria, and every contract identifier has an
entry. Any defect raises :class:`~ectocalc.knowledge.schema.KnowledgeError` naming the file and
the entry: a broken knowledge base never yields an assessment.

Examples
--------
>>> kb = load_knowledge()
>>> [m.id for m in kb.mechanisms.mechanisms][:2]
['metastatic', 'dystrophic']
>>> kb.cite("kdigo_2017_ckd_mbd:4.1.5")
'KDIGO 2017 CKD-MBD 4.1.5'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ectocalc.knowledge import schema as s
from ectocalc.labs.catalogue import load_catalogue

FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "bibliography.yaml": ("bibliography", s.Bibliography),
    "concepts.yaml": ("lexicon", s.Lexicon),
    "mechanisms.yaml": ("mechanisms", s.MechanismsFile),
    "causes.yaml": ("causes", s.CausesFile),
    "types.yaml": ("types", s.TypesFile),
    "syndromes.yaml": ("syndromes", s.SyndromesFile),
    "workup.yaml": ("workup", s.WorkupFile),
    "management.yaml": ("management", s.ManagementFile),
    "alerts.yaml": ("alerts", s.AlertsFile),
}
"""File name -> (attribute of :class:`Knowledge`, schema)."""

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Knowledge:
    """The whole validated knowledge base."""

    version: str
    bibliography: s.Bibliography
    lexicon: s.Lexicon
    mechanisms: s.MechanismsFile
    causes: s.CausesFile
    types: s.TypesFile
    syndromes: s.SyndromesFile
    workup: s.WorkupFile
    management: s.ManagementFile
    alerts: s.AlertsFile

    def cite(self, source: str) -> str:
        """Readable citation for ``id`` or ``id:section``, marked ``[check]`` when unconfirmed.

        Examples
        --------
        >>> load_knowledge().cite("seed_ectopic")
        'Seed: ectopic calcification overview'
        """
        key, _, section = source.partition(":")
        entry = self.bibliography.sources[key]
        text = f"{entry.short} {section}" if section else entry.short
        return f"{text} [check]" if entry.check else text


def _read(directory: Traversable | Path, name: str, model: type[M]) -> tuple[M, bytes]:
    try:
        raw = directory.joinpath(name).read_bytes()
    except OSError as error:
        raise s.KnowledgeError(f"knowledge/{name}: cannot be read: {error}") from error
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise s.KnowledgeError(f"knowledge/{name}: not valid YAML: {error}") from error
    try:
        return model.model_validate(data), raw
    except ValidationError as error:
        raise s.KnowledgeError(f"knowledge/{name}: {error}") from error


def _walk(node: Any, path: str) -> Iterator[tuple[str, BaseModel]]:
    """Every model inside ``node`` with its dotted path."""
    if isinstance(node, BaseModel):
        yield path, node
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = getattr(item, "id", None) or i
            yield from _walk(item, f"{path}[{label}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _walk(item, f"{path}.{key}")


def _ids(kb: Knowledge, kind: str) -> frozenset[str]:
    return frozenset(c.id for c in kb.lexicon.concepts if c.kind == kind)


def _check_unique(items: list[Any], where: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise s.KnowledgeError(f"{where}: duplicate id '{item.id}'")
        seen.add(item.id)


def _check_complete(present: list[str], required: tuple[str, ...], where: str) -> None:
    missing = [i for i in required if i not in present]
    extra = [i for i in present if i not in required]
    if missing or extra:
        raise s.KnowledgeError(f"{where}: missing contract ids {missing}, unknown ids {extra}")


def _check_whole(kb: Knowledge) -> None:
    """Cross-file checks: sources, rule conditions, referenced ids, contract completeness."""
    _check_unique(kb.lexicon.concepts, "knowledge/concepts.yaml")
    _check_unique(kb.causes.causes, "knowledge/causes.yaml")
    _check_unique(kb.alerts.alerts, "knowledge/alerts.yaml")
    for items, where in ((kb.mechanisms.mechanisms, "mechanisms.yaml"),
                         (kb.types.types, "types.yaml"), (kb.syndromes.syndromes, "syndromes.yaml"),
                         (kb.workup.workup, "workup.yaml"),
                         (kb.management.management, "management.yaml")):
        _check_unique(items, f"knowledge/{where}")
    _check_complete([m.id for m in kb.mechanisms.mechanisms], s.MECHANISMS, "mechanisms.yaml")
    _check_complete([t.id for t in kb.types.types], s.TYPES, "types.yaml")
    _check_complete([x.id for x in kb.syndromes.syndromes], s.SYNDROMES, "syndromes.yaml")
    _check_complete([w.id for w in kb.workup.workup], s.WORKUP, "workup.yaml")
    _check_complete([m.id for m in kb.management.management], s.MANAGEMENT, "management.yaml")

    concepts = frozenset(c.id for c in kb.lexicon.concepts)
    refs = s.References(concepts=concepts, sites=_ids(kb, "site"), signs=_ids(kb, "sign"),
                        analytes=frozenset(load_catalogue().analytes))
    for cause in kb.causes.causes:
        unknown = set(cause.concepts) - concepts
        if unknown:
            raise s.KnowledgeError(f"causes.yaml[{cause.id}]: unknown concepts {sorted(unknown)}")
    for entry in kb.types.types:
        for site in [*entry.sites, *entry.weak_sites, *entry.subtypes]:
            if site not in refs.sites:
                raise s.KnowledgeError(f"types.yaml[{entry.id}]: unknown site '{site}'")
        for sign in entry.signs:
            if sign not in refs.signs:
                raise s.KnowledgeError(f"types.yaml[{entry.id}]: unknown sign '{sign}'")

    for name, (attribute, _) in FILES.items():
        for path, node in _walk(getattr(kb, attribute), name):
            cited = [node.source] if isinstance(node, s.Sourced) else []
            for source in [*cited, *getattr(node, "named_by", [])]:
                if source.partition(":")[0] not in kb.bibliography.sources:
                    raise s.KnowledgeError(f"{path}: source '{source}' is not in "
                                           f"bibliography.yaml")
            when = getattr(node, "when", None)
            if when is not None:
                syndrome_refs = refs
                if isinstance(node, s.Level):
                    owner = next(x for x in kb.syndromes.syndromes
                                 if path.startswith(f"syndromes.yaml.syndromes[{x.id}]"))
                    syndrome_refs = s.References(
                        concepts=refs.concepts, sites=refs.sites, signs=refs.signs,
                        analytes=refs.analytes, criteria=frozenset(c.id for c in owner.criteria))
                s.check_condition(when, path=path, refs=syndrome_refs)


def _load(directory: Traversable | Path) -> Knowledge:
    parsed: dict[str, BaseModel] = {}
    digest = hashlib.sha256()
    for name, (attribute, model) in FILES.items():
        parsed[attribute], raw = _read(directory, name, model)
        digest.update(raw)
    versions = {getattr(m, "version", 1) for m in parsed.values()}
    kb = Knowledge(version=f"{max(versions)}+{digest.hexdigest()[:10]}", **parsed)  # type: ignore[arg-type]
    _check_whole(kb)
    return kb


@cache
def _default() -> Knowledge:
    return _load(files("ectocalc.knowledge").joinpath("data"))


def load_knowledge(directory: Path | None = None) -> Knowledge:
    """The validated knowledge base: the packaged one (cached) or one read from ``directory``.

    Raises
    ------
    KnowledgeError
        When a file is missing, is not YAML, breaks the schema or cites an unknown source.
    """
    return _default() if directory is None else _load(directory)
