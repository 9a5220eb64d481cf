"""Content digests of a cohort's inputs, each distinct input hashed once (private).

Forty items that share four CT series hash four series, not forty: digests are kept per
resolved input path (a case file, a DICOM folder, a ``.zip`` or NIfTI file). An input whose
files have the same names, sizes and modification times as when it was last hashed reuses
that digest; the cache lives in the run folder (``DIR/digests.json``) so that a rerun does not
read the inputs' content again. The cache names no input: each is keyed by a hash of its
resolved path (salted with ``--deidentify``'s salt), since file names may hold identities.
An item of one input has that input's :func:`content_digest`; an item of several (a case and
its scans) the digest of their digests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from ectocalc.cohort._items import content_digest, files_of
from ectocalc.io.files import atomic_write

CACHE_FILE = "digests.json"
_VERSION = 1


def _signature(root: Path) -> str:
    """Names, sizes and modification times (ns) of the files of ``root``; "" if absent."""
    if not root.exists():
        return ""
    digest = hashlib.blake2b(digest_size=16)
    for file in files_of(root):
        stat = file.stat()
        name = str(file.relative_to(root)) if root.is_dir() else ""
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


class DigestCache:
    """Digests of input paths, computed once per distinct path and kept in ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        The run folder; ``digests.json`` is read from it (an unreadable or foreign file is
        ignored) and written back by :meth:`save`.
    salt : str, optional
        Mixed into the hash of each path (the de-identification salt).

    Attributes
    ----------
    hashed : int
        Inputs whose content was read by this object (the others came from the cache).
    """

    def __init__(self, out_dir: Path, salt: str = "") -> None:
        self._path = out_dir / CACHE_FILE
        self._salt = salt
        self._stored: dict[str, list[str]] = {}
        with suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads(self._path.read_text(encoding="utf-8"))
            if data.get("version") == _VERSION:
                self._stored = {str(k): [str(v[0]), str(v[1])]
                                for k, v in data["inputs"].items()}
        self._this_run: dict[str, str] = {}
        self.hashed = 0

    def of_root(self, root: Path) -> str:
        """The content digest of one input (``content_digest([root])``)."""
        key = hashlib.blake2b(f"{self._salt}\0{root.resolve()}".encode(),
                              digest_size=20).hexdigest()
        if key in self._this_run:
            return self._this_run[key]
        signature = _signature(root)
        stored = self._stored.get(key)
        if stored is not None and stored[0] == signature and signature:
            found = stored[1]
        else:
            found = content_digest([root])
            self.hashed += 1
            self._stored[key] = [signature, found]
        self._this_run[key] = found
        return found

    def of(self, paths: Iterable[Path]) -> str:
        """The digest of an item's inputs: one input's own digest, else a digest of theirs."""
        roots = list(paths)
        if len(roots) == 1:
            return self.of_root(roots[0])
        combined = hashlib.blake2b(digest_size=20)
        for root in roots:
            combined.update(self.of_root(root).encode() + b"\0")
        return combined.hexdigest()

    def save(self) -> None:
        """Write the cache of the inputs of this run (those of earlier runs are dropped)."""
        kept = {k: v for k, v in self._stored.items() if k in self._this_run}
        text = json.dumps({"version": _VERSION, "inputs": kept}, indent=0, sort_keys=True)
        atomic_write(self._path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
