"""Read a case: contract case file (JSON or YAML, version 1) or a FHIR R4 Bundle (JSON).

What is refused before any field is read (each with one :class:`InputError` line):

- a path that is not a regular file (a folder, a FIFO, a device) or is larger than
  :data:`MAX_BYTES`;
- malformed JSON or YAML, a key given twice in one mapping, a mapping key that is not text,
  nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES` values (YAML aliases
  count once per use), a number that is not finite or does not fit a float, a YAML value of
  another type than text, number, boolean, date or null;
- in a case file: a ``true``/``false`` where a number belongs (checked by the model), a lab
  dated after the case ``date`` (or, without one, after today: a result cannot come from the
  future, and it would otherwise hide the current value as the "latest"), a ``scans`` path
  that is the filesystem root, a folder of more than :data:`MAX_SCAN_ENTRIES` entries, or
  neither a regular file nor a folder.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date as Date
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ectocalc.errors import InputError
from ectocalc.io.errors import located
from ectocalc.labs.catalogue import Catalogue
from ectocalc.labs.results import make_lab_result
from ectocalc.model.case import Case, LabResult

MAX_BYTES = 64 * 2**20
"""Largest case file or bundle read, in bytes (a large Synthea bundle is a few MB)."""
MAX_DEPTH = 64
"""Deepest nesting accepted; a case file needs 5 levels, a FHIR bundle about 15."""
MAX_NODES = 2_000_000
"""Most values (scalars, lists, mappings) in one document, YAML aliases counted per use."""
MAX_SCAN_ENTRIES = 100_000
"""Most entries in a folder listed under ``scans`` (a CT series has a few thousand slices)."""
COMPARATORS = ("<", "<=", ">=", ">")
"""FHIR ``Quantity.comparator`` codes kept with a lab value (``ad``, "sufficient", is not)."""

_DATE = TypeAdapter(Date)
_DATETIME = TypeAdapter(datetime)
_LAB_KEYS = {"analyte", "loinc", "value", "unit", "date", "reference_range", "comparator"}
_SCALARS = (str, int, float, bool, Date, type(None))  # datetime is a Date subclass


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object."""


SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader on libyaml's C parser when PyYAML was built with it (the wheels are):
parsing a large case is ~10x faster than the pure-Python parser (``bench/bench_yaml.py``);
the same tags and types are read. libyaml itself refuses nesting past 1,000 levels."""


class UniqueKeys:
    """A PyYAML loader mix-in refusing a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key_node.value!r} is given twice",
                        key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc,no-any-return]


class _CaseYamlLoader(UniqueKeys, SAFE_LOADER):  # type: ignore[valid-type,misc]
    """The case reader's loader: :data:`SAFE_LOADER` with :class:`UniqueKeys`."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"key {key!r} is given twice")
        result[key] = value
    return result


def read_document(path: Path) -> Any:
    """Parse a JSON or YAML file, refusing a missing, unsafe or malformed one with one line.

    Raises
    ------
    InputError
        Naming the file (and the field, for a value the checks above refuse).
    """
    _check_regular_file(path)
    suffix = path.suffix.lower()
    if suffix not in {".json", ".yaml", ".yml"}:
        raise InputError(path, "", "expected a .json, .yaml or .yml file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, "", f"cannot read file: {error}") from None
    try:
        document = _parse_json(text, path) if suffix == ".json" else _parse_yaml(text, path)
    except RecursionError:
        raise InputError(path, "", f"nesting deeper than {MAX_DEPTH} levels") from None
    check_tree(document, str(path))
    return document


def _check_regular_file(path: Path) -> None:
    try:
        status = path.stat()
    except (OSError, ValueError):  # ValueError: a NUL byte in the name
        raise InputError(path, "", "file not found") from None
    if path.is_dir():
        raise InputError(path, "", "is a folder, not a case file")
    if not path.is_file():
        raise InputError(path, "", "is not a regular file (a pipe, device or socket)")
    if status.st_size > MAX_BYTES:
        raise InputError(path, "", f"file is larger than {MAX_BYTES // 2**20} MB")


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as error:
        raise InputError(path, "", f"malformed JSON at line {error.lineno} "
                                   f"column {error.colno}: {error.msg}") from None
    except ValueError as error:  # a refused constant, a duplicate key, a 5000-digit integer
        raise InputError(path, "", f"malformed JSON: {error}") from None


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_CaseYamlLoader)  # a safe loader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        if isinstance(error, yaml.reader.ReaderError):  # a control character, bad encoding
            where = f" at character {error.position + 1}"
        problem = (getattr(error, "problem", None) or getattr(error, "reason", None)
                   or "syntax error")
        raise InputError(path, "", f"malformed YAML{where}: {problem}") from None
    except (ValueError, OverflowError) as error:  # PyYAML's own date parsing, e.g. 2024-13-45
        raise InputError(path, "", f"malformed YAML: {error}") from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number (JSON allows only finite numbers)")


def check_tree(document: Any, source: str) -> None:
    """Refuse a parsed document that no case or bundle can be: see the module docstring.

    Walks without recursion, so a deep or alias-multiplied document cannot exhaust the stack
    or run for long: it stops at the first problem, or after :data:`MAX_NODES` values.

    Examples
    --------
    >>> check_tree({"labs": [{"value": 9.5}]}, "c.yaml")
    >>> check_tree({"labs": [{"value": 10**400}]}, "c.yaml")
    Traceback (most recent call last):
    ...
    ectocalc.errors.InputError: c.yaml: labs[0].value: number too large
    """
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    count = 0
    while stack:
        value, field, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError(source, "", f"more than {MAX_NODES} values in one document")
        if depth > MAX_DEPTH:
            raise InputError(source, field, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    shown = "a mapping key" if field == "" else f"a key in {field}"
                    raise InputError(source, field, f"{shown} is not text: {key!r} "
                                     "(quote it)")
                stack.append((item, f"{field}.{key}" if field else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{field}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            _check_number(value, source, field)
        elif not isinstance(value, _SCALARS):
            raise InputError(source, field, f"unsupported value of type {type(value).__name__}")


def _check_number(value: float, source: str, field: str) -> None:
    try:
        as_float = float(value)
    except OverflowError:
        raise InputError(source, field, "number too large") from None
    if not math.isfinite(as_float):
        raise InputError(source, field, f"{value} is not a finite number")


def load_case(path: str | Path, *, catalogue: Catalogue | None = None) -> Case:
    """Load a case file or FHIR R4 Bundle into a validated :class:`Case`.

    ``catalogue`` is the analyte catalogue of the knowledge bundle in use (default the
    packaged one): analytes, units and limits of a case file's results.

    Raises
    ------
    InputError
        Naming the file and field, for anything malformed, unknown or impossible.
    """
    path = Path(path)
    document = read_document(path)
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        from ectocalc.io.fhir import case_from_bundle  # only FHIR input pays for fhir.resources

        return case_from_bundle(document, source=str(path))
    return case_from_mapping(document, source=str(path), catalogue=catalogue)


def case_from_mapping(document: Any, *, source: str, catalogue: Catalogue | None = None) -> Case:
    """Validate a parsed case document (contract section 2) against ``catalogue`` (default the
    packaged knowledge's analytes)."""
    if not isinstance(document, dict):
        raise InputError(source, "", "a case must be a mapping of fields (id, patient, labs, ...)")
    document = dict(document)
    version = document.pop("version", 1)
    if version != 1 or isinstance(version, bool):
        raise InputError(source, "version", f"unsupported case version {version!r} (expected 1)")
    if "skipped" in document:  # set by loaders only
        raise InputError(source, "skipped", "unknown field")
    labs = document.get("labs") or []
    if not isinstance(labs, list):
        raise InputError(source, "labs", "must be a list")
    case_date = _case_date(document.get("date"), source)
    document["labs"] = [_lab(entry, source, f"labs[{i}]", case_date, catalogue)
                        for i, entry in enumerate(labs)]
    patient = document.get("patient")
    if (isinstance(patient, dict) and patient.get("birth_date") is not None
            and patient.get("date") is None and document.get("date") is not None):
        document["patient"] = {**patient, "date": document["date"]}  # age as of the case date
    _check_scans(document.get("scans"), source)
    document["source"] = source
    try:
        return Case.model_validate(document)
    except ValidationError as error:
        raise located(error, source) from None


def _case_date(value: Any, source: str) -> Date | None:
    if value is None:
        return None
    try:
        return _DATE.validate_python(value)
    except ValidationError:
        raise InputError(source, "date", f"not a date: {value!r}") from None


def latest_allowed_date(reference: Date | None, *,
                        name: str = "the case date") -> tuple[Date, str]:
    """The last date a result may carry, and its description: ``reference`` (the case's date),
    else today plus a day (time zones)."""
    if reference is not None:
        return reference, f"{name} {reference}"
    return Date.today() + timedelta(days=1), "today (a result cannot come from the future)"


def _lab(entry: Any, source: str, field: str, case_date: Date | None,
         catalogue: Catalogue | None) -> LabResult:
    if not isinstance(entry, dict):
        raise InputError(source, field, "each lab must be a mapping")
    unknown = set(entry) - _LAB_KEYS
    if unknown:
        raise InputError(source, f"{field}.{sorted(unknown)[0]}", "unknown field")
    if "value" not in entry:
        raise InputError(source, f"{field}.value", "missing")
    reference = entry.get("reference_range")
    if reference is not None and not (
        isinstance(reference, list | tuple) and len(reference) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in reference)
    ):
        raise InputError(source, f"{field}.reference_range", "must be [low, high] numbers")
    date = entry.get("date")
    taken_at = None  # lab dates may be date-times (contract section 2): keep the time of day
    if date is not None:
        try:
            if isinstance(date, str) and ("T" in date or ":" in date):
                date = _DATETIME.validate_python(date)
            if isinstance(date, datetime):
                taken_at = date.replace(tzinfo=None) if date.tzinfo is None else (
                    date - date.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
                date = date.date()
            date = _DATE.validate_python(date)
        except ValidationError:
            raise InputError(source, f"{field}.date", f"not a date: {date!r}") from None
        last, what = latest_allowed_date(case_date)
        if date > last:
            raise InputError(source, f"{field}.date", f"{date} is after {what}")
    comparator = entry.get("comparator")
    if comparator is not None and comparator not in COMPARATORS:
        raise InputError(source, f"{field}.comparator",
                         f"{comparator!r} is not one of {', '.join(COMPARATORS)}")
    text = {}
    for key in ("analyte", "loinc", "unit"):
        given = entry.get(key)
        if given is not None and (isinstance(given, bool) or not isinstance(given, str | int)):
            raise InputError(source, f"{field}.{key}", f"must be text, got {given!r}")
        text[key] = None if given is None else str(given)
    return make_lab_result(
        source=source, field=field, value=entry["value"], unit=text["unit"],
        analyte_name=text["analyte"], loinc=text["loinc"], date=date, comparator=comparator,
        taken_at=taken_at, catalogue=catalogue,
        reference_range=None if reference is None else (float(reference[0]), float(reference[1])),
    )


def _check_scans(scans: Any, source: str) -> None:
    """Refuse a scan path that reading would hang on or walk for long (before any reading)."""
    if not isinstance(scans, list):
        return  # the model names a wrong type
    base = Path(source).parent
    for index, scan in enumerate(scans):
        given = scan.get("path") if isinstance(scan, dict) else None
        if not isinstance(given, str) or not given or "\x00" in given:
            continue  # the model names a missing path; a NUL byte fails as "does not exist"
        field = f"scans[{index}].path"
        path = Path(given) if Path(given).is_absolute() else base / given
        if not path.exists():
            continue  # reported when the scans are quantified
        if path.is_dir():
            if path.resolve() == Path(path.resolve().anchor):
                raise InputError(source, field, "is the filesystem root, not a scan folder")
            if _more_entries_than(path, MAX_SCAN_ENTRIES):
                raise InputError(source, field, f"folder has more than {MAX_SCAN_ENTRIES} "
                                 "entries: give the folder of one CT series")
        elif not path.is_file():
            raise InputError(source, field, "is not a regular file or folder")


def _more_entries_than(folder: Path, limit: int) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(i >= limit for i, _ in enumerate(entries))
    except OSError as error:
        raise InputError(folder, "", f"cannot list folder: {error.strerror}") from None
