"""Uploaded files: what kind they are, and unpacking a CT ``.zip`` without surprises.

An upload is a case file (JSON or YAML), a FHIR R4 Bundle (JSON), or a ``.zip`` of one DICOM
series. Its kind is decided from its bytes, not from the name the browser sent. A zip is
checked entry by entry before anything is written: no absolute paths, no ``..``, no links, no
encrypted entries, no entry naming the folder itself (``.``), no two entries of one name, no
name that is both a file and a folder, no name part longer than a file system allows, a bounded
number of entries, a bounded unpacked size and a bounded compression ratio (zip bombs); while
unpacking, the bytes actually produced are counted too, since an entry's declared size can lie.
Messages quote an entry's name shortened, never the server's folders.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

UploadKind = Literal["case", "ct_zip"]

ZIP_MAGIC = b"PK\x03\x04"
CASE_SUFFIXES = (".json", ".yaml", ".yml")


class UploadRefused(ValueError):
    """An upload that is not accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on a CT zip.

    Parameters
    ----------
    max_entries : int
        Files in the archive (a CT series is a few thousand slices at most).
    max_unpacked_bytes : int
        Total size once unpacked.
    max_ratio : float
        Largest uncompressed/compressed ratio of one entry (DICOM compresses ~2-10×).
    """

    max_entries: int = 10_000
    max_unpacked_bytes: int = 4 * 1024**3
    max_ratio: float = 100.0


def upload_kind(head: bytes, filename: str) -> UploadKind:
    """The kind of an upload from its first bytes (and, for YAML, its name).

    Raises
    ------
    UploadRefused
        Neither a zip nor a JSON/YAML text file (status 415).

    Examples
    --------
    >>> upload_kind(b"PK\\x03\\x04...", "x.bin"), upload_kind(b' {"id": 1}', "c.txt")
    ('ct_zip', 'case')
    >>> upload_kind(b"id: a\\n", "c.yaml")
    'case'
    >>> upload_kind(b"\\x89PNG", "c.yaml")
    Traceback (most recent call last):
    ...
    ectocalc.web._uploads.UploadRefused: not a case file (JSON/YAML), FHIR Bundle or CT .zip
    """
    if head.startswith(ZIP_MAGIC):
        return "ct_zip"
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        if text.lstrip().startswith("{"):
            return "case"
        if filename.lower().endswith(CASE_SUFFIXES):
            return "case"
    raise UploadRefused("not a case file (JSON/YAML), FHIR Bundle or CT .zip", status=415)


def case_suffix(head: bytes, filename: str) -> str:
    """The suffix the case reader needs: ``.json`` for JSON text, else ``.yaml``.

    Examples
    --------
    >>> case_suffix(b'{"id": 1}', "upload"), case_suffix(b"id: 1", "c.yml")
    ('.json', '.yaml')
    """
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    return ".json" if text.startswith("{") or filename.lower().endswith(".json") else ".yaml"


MAX_NAME_PART = 255
"""Longest file or folder name (bytes, UTF-8) most file systems accept."""
MAX_NAME = 1024
"""Longest entry name (characters)."""


def _safe_member(info: zipfile.ZipInfo, limits: ZipLimits) -> PurePosixPath | None:
    """The relative path an entry may be written to (None for a folder entry)."""
    name, shown = info.filename, _shown(info.filename)
    if info.flag_bits & 0x1:
        raise UploadRefused(f"zip entry {shown!r} is encrypted")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UploadRefused(f"zip entry {shown!r} is a link")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise UploadRefused(f"zip entry {shown!r} points outside the archive")
    if len(name) > MAX_NAME or any(len(part.encode()) > MAX_NAME_PART
                                            for part in path.parts):
        raise UploadRefused(f"zip entry {shown!r}: name too long")
    if info.is_dir():
        return None
    if not path.parts:
        raise UploadRefused(f"zip entry {shown!r} names the folder itself, not a file")
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        raise UploadRefused(f"zip entry {shown!r} expands suspiciously (zip bomb?)")
    return path


def unpack_zip(archive: Path, dest: Path, *, limits: ZipLimits = ZipLimits()) -> int:
    """Check every entry of ``archive``, then unpack it into the new folder ``dest``.

    Parameters
    ----------
    archive : Path
        The uploaded zip.
    dest : Path
        A folder that must not exist yet; on refusal it is removed again (nothing stays).
    limits : ZipLimits

    Returns
    -------
    int
        Number of files written.

    Raises
    ------
    UploadRefused
        Not a valid zip, or an entry breaks a rule (status 422).
    """
    import shutil

    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_entries:
                raise UploadRefused(f"zip has more than {limits.max_entries} entries")
            if sum(i.file_size for i in infos) > limits.max_unpacked_bytes:
                raise UploadRefused("zip unpacks to more than the allowed size")
            planned = [(i, p) for i in infos if (p := _safe_member(i, limits)) is not None]
            if not planned:
                raise UploadRefused("zip holds no files")
            _check_names(planned)
            dest.mkdir(parents=True)
            try:
                _extract(zf, planned, dest, limits)
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
    except zipfile.BadZipFile as error:
        raise UploadRefused(f"not a readable zip ({error})") from None
    return len(planned)


def _shown(name: str) -> str:
    """An entry name as messages quote it (at most 60 characters)."""
    return name if len(name) <= 60 else f"{name[:28]}…{name[-28:]}"


def _check_names(planned: list[tuple[zipfile.ZipInfo, PurePosixPath]]) -> None:
    """Refuse two entries of one name, and a name that is a file and a folder at once."""
    files: set[PurePosixPath] = set()
    for info, path in planned:
        if path in files:
            raise UploadRefused(f"zip holds two entries named {_shown(info.filename)!r}")
        files.add(path)
    for _, path in planned:
        folder = next((parent for parent in path.parents if parent in files), None)
        if folder is not None:
            raise UploadRefused(f"zip entry {_shown(str(folder))!r} is a file and a folder")


def _extract(zf: zipfile.ZipFile, planned: list[tuple[zipfile.ZipInfo, PurePosixPath]],
             dest: Path, limits: ZipLimits) -> None:
    root = dest.resolve()
    written = 0
    for info, rel in planned:
        target = (root / Path(*rel.parts)).resolve()
        if not target.is_relative_to(root) or target == root:
            raise UploadRefused(f"zip entry {_shown(info.filename)!r} points outside the "
                                "archive")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > limits.max_unpacked_bytes:
                        raise UploadRefused("zip unpacks to more than the allowed size")
                    out.write(chunk)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as error:
            raise UploadRefused(f"zip entry {_shown(info.filename)!r} cannot be unpacked "
                                f"({type(error).__name__})") from None

