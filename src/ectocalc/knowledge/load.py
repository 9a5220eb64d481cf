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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ectocalc.knowledge import schema as s
from ectocalc.labs.catalogue import Catalogue
from ectocalc.vocabulary import ALERTS, MANAGEMENT, MECHANISMS, SYNDROMES, TYPES, WORKUP

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
    "analytes.yaml": ("analytes", Catalogue),
    "monitoring.yaml": ("monitoring", s.MonitoringFile),
    "definitions.yaml": ("definitions", s.DefinitionsFile),
    "chemistry.yaml": ("chemistry", s.ChemistryFile),
}
"""The core files: file name -> (attribute of :class:`Knowledge`, schema). Every one is required."""

EXTENSIONS: dict[str, type[BaseModel]] = {}
"""Further files of the bundle (imaging, scales, record, ...) -> schema; see :func:`register_file`.
Each is validated when the bundle loads and read with :meth:`Knowledge.part`."""

M = TypeVar("M", bound=BaseModel)

try:  # the C parser (libyaml) when PyYAML was built with it
    _SafeLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _SafeLoader = yaml.SafeLoader


class _Loader(_SafeLoader):  # type: ignore[misc]
    """The safe loader, refusing a key repeated in one mapping (YAML keeps the last silently:
    a second ``guards:`` would drop the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


def register_file(name: str, model: type[BaseModel]) -> None:
    """Make ``name`` (e.g. ``"imaging.yaml"``) a validated part of every bundle loaded after.

    The file's parsed YAML must validate against ``model``; entries that subclass
    :class:`~ectocalc.knowledge.schema.Sourced` (or carry ``named_by``) must cite bibliography
    ids. Read it with ``knowledge.part("imaging.yaml", ImagingFile)``. Every ``*.yaml`` file of
    the folder counts in the version hash whether registered or not.

    Examples
    --------
    >>> from ectocalc.knowledge.schema import Bibliography
    >>> register_file("bibliography.yaml", Bibliography)
    Traceback (most recent call last):
    ...
    ValueError: bibliography.yaml is a core knowledge file
    """
    if name in FILES:
        raise ValueError(f"{name} is a core knowledge file")
    EXTENSIONS[name] = model


@dataclass(frozen=True, eq=False)
class Knowledge:
    """One validated knowledge bundle: every clinical and conventional fact the analysis uses.

    Compared by identity (caches key on the bundle object). ``version`` is the schema version
    and a hash over every ``*.yaml`` file of the bundle folder, in name order.
    """

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
    analytes: Catalogue
    monitoring: s.MonitoringFile
    definitions: s.DefinitionsFile
    chemistry: s.ChemistryFile
    files: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Every ``*.yaml`` file of the bundle: its validated model (registered files) or its
    parsed YAML (files no schema is registered for yet)."""

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

    def part(self, name: str, model: type[M]) -> M:
        """The file ``name`` of this bundle validated against ``model``.

        Raises
        ------
        KnowledgeError
            The bundle has no such file, or it does not fit ``model``.
        """
        if name not in self.files:
            raise s.KnowledgeError(f"knowledge/{name}: not in this knowledge bundle")
        value = self.files[name]
        if isinstance(value, model):
            return value
        return _validate(name, value, model)


def _validate(name: str, data: Any, model: type[M]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise s.KnowledgeError(f"knowledge/{name}: {error}") from error


def _parse(path: Path) -> tuple[Any, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise s.KnowledgeError(f"knowledge/{path.name}: cannot be read: {error}") from error
    try:
        return yaml.load(raw, Loader=_Loader), raw
    except yaml.YAMLError as error:
        raise s.KnowledgeError(f"knowledge/{path.name}: not valid YAML: {error}") from error


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


LAB_ALERTS = ("critical_value", "implausible_value")
"""Contract alerts raised from the analyte catalogue (``labs.results.lab_alerts``)."""


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
    _check_complete([m.id for m in kb.mechanisms.mechanisms], MECHANISMS, "mechanisms.yaml")
    _check_complete([t.id for t in kb.types.types], TYPES, "types.yaml")
    _check_complete([x.id for x in kb.syndromes.syndromes], SYNDROMES, "syndromes.yaml")
    _check_complete([w.id for w in kb.workup.workup], WORKUP, "workup.yaml")
    _check_complete([m.id for m in kb.management.management], MANAGEMENT, "management.yaml")
    # critical_value and implausible_value are raised by labs/results.py from the catalogue.
    missing_alerts = [i for i in ALERTS if i not in {a.id for a in kb.alerts.alerts}
                      and i not in LAB_ALERTS]
    if missing_alerts:
        raise s.KnowledgeError(f"alerts.yaml: missing contract ids {missing_alerts}")

    concepts = frozenset(c.id for c in kb.lexicon.concepts)
    refs = s.References(concepts=concepts, sites=_ids(kb, "site"), signs=_ids(kb, "sign"),
                        analytes=frozenset(kb.analytes.analytes))
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

    for name, model in kb.files.items():
        if not isinstance(model, BaseModel):
            continue
        for path, node in _walk(model, name):
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


def _load(directory: Path) -> Knowledge:
    paths = sorted(directory.glob("*.yaml"), key=lambda p: p.name)
    names = [p.name for p in paths]
    missing = [name for name in FILES if name not in names]
    if missing:
        raise s.KnowledgeError(f"knowledge bundle {directory}: missing {', '.join(missing)}")
    digest = hashlib.sha256()
    files_: dict[str, Any] = {}
    for path in paths:
        data, raw = _parse(path)
        digest.update(f"{path.name}\0{len(raw)}\0".encode())
        digest.update(raw)
        model = FILES[path.name][1] if path.name in FILES else EXTENSIONS.get(path.name)
        files_[path.name] = data if model is None else _validate(path.name, data, model)
    core = {attribute: files_[name] for name, (attribute, _) in FILES.items()}
    versions = {getattr(m, "version", 1) for m in core.values()}
    kb = Knowledge(version=f"{max(versions)}+{digest.hexdigest()[:10]}",
                   files=MappingProxyType(files_), **core)
    _check_whole(kb)
    return kb


@cache
def _default() -> Knowledge:
    with as_file(files("ectocalc.knowledge").joinpath("data")) as directory:
        return _load(Path(directory))


def load_knowledge(directory: str | Path | None = None) -> Knowledge:
    """A validated knowledge bundle: the packaged one (loaded once) or the one in ``directory``.

    Bundles are independent: two folders load side by side into two :class:`Knowledge` objects.

    Raises
    ------
    KnowledgeError
        When a core file is missing, a file is not YAML, breaks its schema or cites an unknown
        source, or a contract identifier has no entry.
    """
    return _default() if directory is None else _load(Path(directory))
