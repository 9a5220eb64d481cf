"""Opening the record: which database, its schema (Alembic, in-package) and its sessions.

SQLite (the default, in the user's data folder) runs in WAL mode with a busy timeout, and every
writing transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of
failing; PostgreSQL is reached through ``postgresql+psycopg://``. The schema is brought to the
head revision when a database is opened, under a lock, so two processes opening a new record at
once do not race; a database whose schema is newer than this ectocalc knows is refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from ectocalc.errors import InputError

ENV_VAR = "ECTOCALC_DB"
_OPEN_ATTEMPTS = 5
"""Tries to open a SQLite record another process is creating at the same moment."""
SQLITE_BUSY_TIMEOUT_MS = 60_000
_MIGRATION_LOCK = 0x4563746F  # PostgreSQL advisory lock key ("Ecto")


def default_url() -> str:
    """The record's URL: ``$ECTOCALC_DB``, else ``ectocalc.db`` in the user's data folder."""
    given = os.environ.get(ENV_VAR)
    if given:
        return given
    from platformdirs import user_data_path

    folder = user_data_path("ectocalc", appauthor=False)
    return f"sqlite:///{folder / 'ectocalc.db'}"


@dataclass(frozen=True)
class Store:
    """An opened record: its engine, at the current schema revision."""

    engine: Engine
    url: str
    """The URL with any password hidden (safe to print)."""

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(ectocalc_write=write)
            with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                yield session

    def dispose(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open (creating or upgrading) the record at ``url`` (default :func:`default_url`).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL.
    create : bool
        Create a SQLite file that does not exist yet; when False, a missing file is an error
        (reading a record never leaves an empty one behind).

    Raises
    ------
    InputError
        An invalid URL, an unreachable database, a missing SQLite file (``create=False``), or
        a schema newer than this ectocalc.
    """
    url = url or default_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError("--db", "", "not a database URL (sqlite:///FILE or "
                                     "postgresql+psycopg://...)") from None
    shown = parsed.render_as_string(hide_password=True)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            if not create and not Path(database).expanduser().exists():
                raise InputError(shown, "--db", "no record here yet (add results with "
                                                "`ectocalc record add`)")
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(shown, "--db", f"cannot create folder: {error.strerror}") from None
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif parsed.get_backend_name() != "postgresql":
        raise InputError(shown, "--db",
                         "only sqlite and postgresql+psycopg databases are supported")
    try:
        engine = create_engine(parsed, **options)
    except (ArgumentError, ImportError) as error:
        raise InputError(shown, "--db", str(error)) from None
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    store = Store(engine=engine, url=shown)
    attempt = 0
    while True:
        attempt += 1
        try:
            _migrate(store)
            return store
        except OperationalError as error:
            reason = str(error.orig).splitlines()[0] if error.orig else "cannot connect"
            # SQLite can answer "locked" without its busy wait to a second process opening a
            # record another is creating (seen under load): transient, so try again.
            if engine.dialect.name == "sqlite" and "locked" in reason and \
                    attempt < _OPEN_ATTEMPTS:
                time.sleep(0.25 * attempt)
                continue
            engine.dispose()
            raise InputError(shown, "--db", f"cannot open the record: {reason}") from None


def _sqlite_setup(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys; explicit BEGIN (IMMEDIATE for writers)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("ectocalc_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location",
                           str(files("ectocalc.record").joinpath("migrations")))
    config.attributes["connection"] = connection
    return config


def _migrate(store: Store) -> None:
    """Bring the schema to head under a lock; refuse a schema from a newer ectocalc."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with store.engine.connect() as connection:
        connection = connection.execution_options(ectocalc_write=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _MIGRATION_LOCK})
            config = _alembic_config(connection)
            script = ScriptDirectory.from_config(config)
            known = {revision.revision for revision in script.walk_revisions()}
            current = set(MigrationContext.configure(connection).get_current_heads())
            unknown = current - known
            if unknown:
                raise InputError(store.url, "schema", f"revision {', '.join(sorted(unknown))} "
                                 "is newer than this ectocalc; upgrade ectocalc to open it")
            if current != set(script.get_heads()):
                command.upgrade(config, "head")


def schema_revision(store: Store) -> str | None:
    """The database's schema revision (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
