"""Members of a DICOM series given as a ``.zip`` archive, read with bounds.

A hostile or damaged archive must give one clear refusal, never a huge allocation: every
member is checked before it is inflated (encryption flag, declared size, compression ratio)
and while it is inflated (actual size, CRC), and the whole archive's declared size is bounded.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ectocalc.errors import InputError

MAX_MEMBER_BYTES = 256 * 2**20
"""Largest inflated member: a single-frame CT slice is a few MiB at most."""
MAX_TOTAL_BYTES = 16 * 2**30
"""Largest inflated archive (sum of the members' declared sizes)."""
MAX_RATIO = 200.0
"""Largest inflated/compressed ratio of a member above :data:`RATIO_FLOOR_BYTES`."""
RATIO_FLOOR_BYTES = 16 * 2**20
"""Members up to this size may compress arbitrarily well (a blank slice is mostly zeros)."""
CHUNK = 2**20


def is_zip(path: Path) -> bool:
    """True for a regular file with a zip signature."""
    return path.is_file() and zipfile.is_zipfile(path)


def _skipped(name: str) -> bool:
    base = Path(name).name
    return name.endswith("/") or base == "DICOMDIR" or base.startswith(".")


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise InputError(path, "", f"damaged zip archive ({error})") from None


def zip_members(path: Path) -> list[str]:
    """Names of the candidate DICOM files in the archive, after the size checks.

    Raises
    ------
    InputError
        A damaged or encrypted archive, two members of one name, a member or an archive that
        would inflate beyond the bounds above, or a member whose compression ratio marks a
        decompression bomb.
    """
    with _open(path) as archive:
        infos = [info for info in archive.infolist() if not _skipped(info.filename)]
    names = Counter(info.filename for info in infos)
    twice = next((name for name, n in names.items() if n > 1), None)
    if twice is not None:
        raise InputError(f"{path}!{twice}", "zip", "two members of this name: which one is the "
                         "slice cannot be told")
    total = 0
    for info in infos:
        where = f"{path}!{info.filename}"
        if info.flag_bits & 0x1:
            raise InputError(where, "zip", "encrypted member; decrypt the archive first")
        if info.file_size > MAX_MEMBER_BYTES:
            raise InputError(where, "zip", f"member inflates to {info.file_size} bytes, more "
                             f"than a CT slice can hold ({MAX_MEMBER_BYTES} bytes)")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > MAX_RATIO:
            raise InputError(where, "zip", f"compression ratio {ratio:.0f}:1 (decompression "
                             "bomb?)")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise InputError(path, "zip", f"archive inflates to {total} bytes (limit "
                         f"{MAX_TOTAL_BYTES})")
    return sorted(info.filename for info in infos)


def _inflate(archive: zipfile.ZipFile, name: str, where: str) -> bytes:
    """The member's bytes, read in chunks and never beyond its declared size."""
    info = archive.getinfo(name)
    parts, size = [], 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise InputError(where, "zip", "member inflates beyond its declared size")
                parts.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as error:
        raise InputError(where, "zip", f"damaged member ({error})") from None
    return b"".join(parts)


def open_zip_members(path: Path, names: list[str]) -> Iterator[tuple[str, io.BytesIO]]:
    """Yield ``("archive!member", bytes as a file)`` per name, opening the archive once."""
    with _open(path) as archive:
        for name in names:
            where = f"{path}!{name}"
            yield where, io.BytesIO(_inflate(archive, name, where))
