"""The run manifest: an SQLite file in the output folder with each item's status (private).

One row per item id: ``status`` (``running`` while submitted, then ``done`` or ``failed``),
``attempts`` (how many runs started it), the last ``error``, the input ``digest`` and settings
``stamp`` of the last attempt, and when it changed. Only the driver process writes it. The
item folder's ``DONE`` marker is what makes an item done; the manifest is the bookkeeping
(attempts, errors) around it. It stores no input paths, so a de-identified run stores no names.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

MANIFEST_FILE = "manifest.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    digest TEXT,
    stamp TEXT,
    updated TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class ManifestRow:
    id: str
    status: str
    attempts: int
    error: str | None
    digest: str | None
    stamp: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Manifest:
    """The manifest of one output folder (opened, and created if needed, on construction)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / MANIFEST_FILE
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def rows(self) -> dict[str, ManifestRow]:
        """Every item the manifest knows, by id."""
        cursor = self._db.execute(
            "SELECT id, status, attempts, error, digest, stamp FROM items")
        return {row[0]: ManifestRow(*row) for row in cursor}

    def start(self, ids: list[str], digests: dict[str, str], stamp: str) -> None:
        """Mark ``ids`` as running, one more attempt each (one transaction)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO items (id, status, attempts, digest, stamp, updated) "
                "VALUES (?, 'running', 1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "status = 'running', attempts = attempts + 1, error = NULL, "
                "digest = excluded.digest, stamp = excluded.stamp, updated = excluded.updated",
                [(i, digests[i], stamp, _now()) for i in ids])

    def finish(self, item_id: str, status: str, error: str | None) -> None:
        """Record the outcome of an item's attempt."""
        self._db.execute("UPDATE items SET status = ?, error = ?, updated = ? WHERE id = ?",
                         (status, error, _now(), item_id))

    def adopt(self, item_id: str, digest: str, stamp: str) -> None:
        """Record as done an item whose folder holds a current marker (attempts unchanged)."""
        self._db.execute(
            "INSERT INTO items (id, status, attempts, digest, stamp, updated) "
            "VALUES (?, 'done', 1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = 'done', "
            "error = NULL, digest = excluded.digest, stamp = excluded.stamp, "
            "updated = excluded.updated",
            (item_id, digest, stamp, _now()))
