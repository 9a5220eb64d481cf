"""The items of a cohort: what the inputs name, their ids and their content digests (private).

An item is one case file, one CT series, or one manifest row (a case with its scan). Inputs are
case files (``.yaml``/``.yml``/``.json``, FHIR Bundles included), CT series (a DICOM folder, a
``.zip`` of one, a NIfTI file), folders of them (searched recursively) and manifest CSV files
with the columns ``id,case,scan`` (contract §7; paths relative to the CSV file).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ectocalc.errors import InputError

CASE_SUFFIXES = (".yaml", ".yml", ".json")
SCAN_SUFFIXES = (".zip", ".nii", ".nii.gz")
MANIFEST_COLUMNS = ("id", "case", "scan")
GENERIC_SERIES_NAMES = frozenset({"dicom", "series", "ct", "scan"})
"""Folder names that say nothing about the item: the id is taken from the parent folder."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 20

ItemKind = Literal["case", "scan", "case+scan"]


@dataclass(frozen=True)
class Item:
    """One unit of work of a cohort.

    Attributes
    ----------
    id : str
        The item's identifier (manifest ``id``, else from the file or folder name); safe as a
        folder name, unique within the cohort.
    case : Path or None
        Case file or FHIR Bundle.
    scan : Path or None
        CT series (DICOM folder, ``.zip``, NIfTI). With ``case``, the case is assessed with
        this scan (in place of the scans the case file lists).
    """

    id: str
    case: Path | None
    scan: Path | None

    @property
    def kind(self) -> ItemKind:
        if self.case is not None and self.scan is not None:
            return "case+scan"
        return "case" if self.case is not None else "scan"


def safe_id(text: str) -> str:
    """``text`` as a folder-safe identifier (letters, digits, ``.``, ``_``, ``-``).

    Examples
    --------
    >>> safe_id("MRN 0042/ct"), safe_id("..")
    ('MRN_0042_ct', 'item')
    """
    return _UNSAFE.sub("_", text).strip("._") or "item"


def _is_scan_file(path: Path) -> bool:
    return path.name.lower().endswith(SCAN_SUFFIXES)


def is_dicom_folder(path: Path) -> bool:
    """True if ``path`` directly holds DICOM files (``.dcm``/``.ima``, or the ``DICM`` magic)."""
    for child in path.iterdir():
        if not child.is_file():
            continue
        if child.suffix.lower() in (".dcm", ".ima"):
            return True
        if not child.suffix:
            with child.open("rb") as handle:
                handle.seek(128)
                if handle.read(4) == b"DICM":
                    return True
    return False


def _name_of(path: Path) -> str:
    name = path.name
    for suffix in (*SCAN_SUFFIXES, *CASE_SUFFIXES):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    if path.is_dir() and name.lower() in GENERIC_SERIES_NAMES and path.parent.name:
        return path.parent.name
    return name


def _from_folder(folder: Path) -> Iterator[tuple[Path | None, Path | None]]:
    """Case files and CT series in ``folder`` and its subfolders, in sorted order."""
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if is_dicom_folder(child):
                yield None, child
            else:
                yield from _from_folder(child)
        elif child.name.lower().endswith(CASE_SUFFIXES):
            yield child, None
        elif _is_scan_file(child):
            yield None, child


def _manifest_rows(path: Path) -> Iterator[tuple[str, Path | None, Path | None]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(path, "header",
                                 f"a manifest needs the columns {','.join(MANIFEST_COLUMNS)}; "
                                 f"missing {', '.join(missing)}")
            rows = list(reader)
    except UnicodeDecodeError:
        raise InputError(path, "", "is not a UTF-8 CSV file") from None
    for number, row in enumerate(rows, start=2):
        item_id = (row.get("id") or "").strip()
        case, scan = ((row.get(key) or "").strip() for key in ("case", "scan"))
        if not item_id:
            raise InputError(path, f"line {number}: id", "is empty")
        if not case and not scan:
            raise InputError(path, f"line {number}", "needs a case, a scan or both")
        yield (item_id, path.parent / case if case else None,
               path.parent / scan if scan else None)


def discover_items(inputs: Sequence[str | Path]) -> list[Item]:
    """The items named by the command-line inputs, each once, with unique safe ids.

    Parameters
    ----------
    inputs : sequence of str or Path
        Case files, CT series, folders of them, manifest CSV files.

    Returns
    -------
    list of Item
        In input order (folders sorted). A path named twice is one item. Ids from manifests
        are kept (made folder-safe); other ids come from the file or folder name, with ``-2``,
        ``-3``, … appended when two would be equal.

    Raises
    ------
    InputError
        An input does not exist, is of an unknown kind, holds no items, or a manifest is
        malformed (missing columns, empty or duplicate ids).
    """
    named: list[tuple[str | None, Path | None, Path | None]] = []
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise InputError(path, "INPUT", "does not exist")
        if path.is_file() and path.suffix.lower() == ".csv":
            named.extend(_manifest_rows(path))
        elif path.is_file() and path.name.lower().endswith(CASE_SUFFIXES):
            named.append((None, path, None))
        elif (path.is_file() and _is_scan_file(path)) or (path.is_dir()
                                                           and is_dicom_folder(path)):
            named.append((None, None, path))
        elif path.is_dir():
            found = [(None, case, scan) for case, scan in _from_folder(path)]
            if not found:
                raise InputError(path, "INPUT", "holds no case files or CT series")
            named.extend(found)
        else:
            raise InputError(path, "INPUT", "is not a case file, CT series, folder or "
                                            "manifest CSV")
    return _with_ids(named)


def _with_ids(named: Iterable[tuple[str | None, Path | None, Path | None]]) -> list[Item]:
    items: list[Item] = []
    seen_paths: set[tuple[Path | None, Path | None]] = set()
    taken: set[str] = set()
    for given, case, scan in named:
        key = tuple(p.resolve() if p is not None else None for p in (case, scan))
        if given is None and key in seen_paths:
            continue
        seen_paths.add(key)  # type: ignore[arg-type]
        if given is not None:
            item_id = safe_id(given)
            if item_id in taken:
                raise InputError("manifest", "id", f"'{given}' is not unique")
        else:
            base = safe_id(_name_of(case or scan))  # type: ignore[arg-type]
            item_id, n = base, 1
            while item_id in taken:
                n += 1
                item_id = f"{base}-{n}"
        taken.add(item_id)
        items.append(Item(id=item_id, case=case, scan=scan))
    return items


def files_of(path: Path) -> list[Path]:
    """The files of an input: itself, or those under a folder (sorted)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path]


def content_digest(paths: Iterable[Path]) -> str:
    """BLAKE2b digest of the content of files and folders (names relative to each root).

    A path that does not exist contributes its absence, so creating it changes the digest.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("x")
    >>> content_digest([folder]) == content_digest([folder])
    True
    >>> content_digest([folder]) == content_digest([folder / "missing"])
    False
    """
    digest = hashlib.blake2b(digest_size=20)
    for root in paths:
        if not root.exists():
            digest.update(b"missing\0")
            continue
        for file in files_of(root):
            digest.update(str(file.relative_to(root) if root.is_dir() else "").encode() + b"\0")
            with file.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
            digest.update(b"\0")
    return digest.hexdigest()
