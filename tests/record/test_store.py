"""Opening the record: schema by migration, newer schema refused, URL choice, users and audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ectocalc.errors import InputError
from ectocalc.record import (
    audit,
    audit_entries,
    create_user,
    default_url,
    get_user,
    list_users,
    open_store,
    schema_revision,
)
from ectocalc.record._store import Store

TABLES = {"patients", "identifiers", "sources", "lab_results", "conditions", "medications",
          "genetics", "findings", "scans", "assessments", "users", "audit_log",
          "alembic_version"}


def test_open_creates_every_table_at_head(store: Store, db_url: str) -> None:
    assert set(inspect(store.engine).get_table_names()) >= TABLES
    assert schema_revision(store) == "0003"
    again = open_store(db_url)  # opening again changes nothing
    assert schema_revision(again) == "0003"
    again.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
    store.dispose()


def test_newer_schema_is_refused_with_one_line(store: Store, db_url: str, run_cli) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(InputError, match="revision 9999 is newer than this ectocalc"):
        open_store(db_url)
    result = run_cli("record", "list", "--db", db_url)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "newer than this ectocalc" in result.stderr


def test_url_from_environment_else_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECTOCALC_DB", "sqlite:////tmp/elsewhere.db")
    assert default_url() == "sqlite:////tmp/elsewhere.db"
    monkeypatch.delenv("ECTOCALC_DB")
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg-data")
    assert default_url() == "sqlite:////tmp/xdg-data/ectocalc/ectocalc.db"


@pytest.mark.parametrize("url", ["not a url", "mysql://x/y"])
def test_bad_url_is_input_error(url: str) -> None:
    with pytest.raises(InputError):
        open_store(url)


def test_users_and_audit(store: Store) -> None:
    alice = create_user(store, "alice", "clinician", "$argon2id$fake")
    create_user(store, "bob", "viewer", "$argon2id$other")
    assert get_user(store, "alice") == alice and get_user(store, "nobody") is None
    assert [u.username for u in list_users(store)] == ["alice", "bob"]
    with pytest.raises(InputError, match="already exists"):
        create_user(store, "alice", "viewer", "x")
    with pytest.raises(InputError, match="already exists"):  # names ignore case
        create_user(store, "ALİCE".replace("İ", "I"), "viewer", "x")
    assert get_user(store, "Alice") == alice
    with pytest.raises(InputError, match="not one of"):
        create_user(store, "carol", "nurse", "x")  # type: ignore[arg-type]
    audit(store, "alice", "login")
    audit(store, "alice", "view_patient", patient_id="MRN-1")
    entries = audit_entries(store)
    assert [(e.action, e.patient_id) for e in entries] == [("view_patient", "MRN-1"),
                                                           ("login", None)]
    assert [e.action for e in audit_entries(store, patient_id="MRN-1")] == ["view_patient"]


def test_migrations_match_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ectocalc.record._schema import Base

    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


@pytest.mark.parametrize("command", [["list"], ["show", "P1"], ["assess", "P1"]])
def test_reading_a_missing_record_leaves_no_empty_one(tmp_path: Path, run_cli,
                                                      command: list[str]) -> None:
    path = tmp_path / "sub" / "never.db"
    result = run_cli("record", *command, "--db", f"sqlite:///{path}")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "no record here yet" in result.stderr
    assert str(path) in result.stderr
    assert not path.exists() and not path.parent.exists()


def test_migration_0003_keeps_the_oldest_of_two_names_differing_in_case(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from ectocalc.record._store import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:  # a record written before user names ignored case
        command.upgrade(_alembic_config(connection), "0002")
        connection.execute(text(
            "INSERT INTO users (username, role, password_hash, created_at) VALUES "
            "('Alice', 'clinician', 'h1', '2026-01-01'), ('alice', 'viewer', 'h2', "
            "'2026-01-02'), ('bob', 'viewer', 'h3', '2026-01-03')"))
    engine.dispose()
    store = open_store(url)
    try:
        assert {u.username: u.disabled for u in list_users(store)} == {
            "Alice": False, "alice": True, "bob": False}
        alice = get_user(store, "ALICE")
        assert alice is not None and alice.password_hash == "h1"
        with pytest.raises(InputError, match="already exists"):
            create_user(store, "BOB", "viewer", "x")
    finally:
        store.dispose()
