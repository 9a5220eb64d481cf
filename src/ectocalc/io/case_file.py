"""Read a case: contract case file (JSON or YAML, version 1) or a FHIR R4 Bundle (JSON)."""

from __future__ import annotations

import json
from datetime import date as Date
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ectocalc.errors import InputError
from ectocalc.io.errors import located
from ectocalc.labs.results import make_lab_result
from ectocalc.model.case import Case, LabResult

_DATE = TypeAdapter(Date)
_LAB_KEYS = {"analyte", "loinc", "value", "unit", "date", "reference_range"}


def read_document(path: Path) -> Any:
    """Parse a JSON or YAML file, refusing a missing or malformed one with one clear line."""
    if path.is_dir():
        raise InputError(path, "", "is a folder, not a case file")
    if not path.is_file():
        raise InputError(path, "", "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, "", f"cannot read file: {error}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except ValueError as error:
            if not isinstance(error, json.JSONDecodeError):
                raise InputError(path, "", str(error)) from None
            raise InputError(path, "", f"malformed JSON at line {error.lineno} "
                                       f"column {error.colno}: {error.msg}") from None
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            return yaml.safe_load(text)
        except ValueError as error:  # PyYAML's own date parsing, e.g. 2024-13-45
            raise InputError(path, "", f"malformed YAML: {error}") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or "syntax error"
            raise InputError(path, "", f"malformed YAML{where}: {problem}") from None
    raise InputError(path, "", "expected a .json, .yaml or .yml file")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number (JSON allows only finite numbers)")


def load_case(path: str | Path) -> Case:
    """Load a case file or FHIR R4 Bundle into a validated :class:`Case`.

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
    return case_from_mapping(document, source=str(path))


def case_from_mapping(document: Any, *, source: str) -> Case:
    """Validate a parsed case document (contract section 2)."""
    if not isinstance(document, dict):
        raise InputError(source, "", "a case must be a mapping of fields (id, patient, labs, ...)")
    document = dict(document)
    version = document.pop("version", 1)
    if version != 1 or isinstance(version, bool):
        raise InputError(source, "version", f"unsupported case version {version!r} (expected 1)")
    labs = document.get("labs") or []
    if not isinstance(labs, list):
        raise InputError(source, "labs", "must be a list")
    document["labs"] = [_lab(entry, source, f"labs[{i}]") for i, entry in enumerate(labs)]
    patient = document.get("patient")
    if (isinstance(patient, dict) and patient.get("birth_date") is not None
            and patient.get("date") is None and document.get("date") is not None):
        document["patient"] = {**patient, "date": document["date"]}  # age as of the case date
    document["source"] = source
    try:
        return Case.model_validate(document)
    except ValidationError as error:
        raise located(error, source) from None


def _lab(entry: Any, source: str, field: str) -> LabResult:
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
    if date is not None:
        try:
            date = _DATE.validate_python(date)
        except ValidationError:
            raise InputError(source, f"{field}.date", f"not a date: {date!r}") from None
    text = {}
    for key in ("analyte", "loinc", "unit"):
        given = entry.get(key)
        if given is not None and not isinstance(given, str | int | float):
            raise InputError(source, f"{field}.{key}", f"must be text, got {given!r}")
        text[key] = None if given is None else str(given)
    return make_lab_result(
        source=source, field=field, value=entry["value"], unit=text["unit"],
        analyte_name=text["analyte"], loinc=text["loinc"], date=date,
        reference_range=None if reference is None else (float(reference[0]), float(reference[1])),
    )
