"""``ectocalc user add`` (password on stdin) and ``ectocalc serve --help``."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult

from ectocalc.record import get_user, open_store
from ectocalc.web import verify_password


def _with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_user_add_stores_an_argon2_hash(run_cli: Callable[..., CliResult], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _with_stdin(monkeypatch, "a long password\n")
    result = run_cli("user", "add", "ana", "--role", "viewer", "--db", url)
    assert result.code == 0, result.stderr
    store = open_store(url)
    try:
        user = get_user(store, "ana")
    finally:
        store.dispose()
    assert user is not None and user.role == "viewer"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "a long password")


def test_user_add_refuses_short_passwords_and_duplicates(
        run_cli: Callable[..., CliResult], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _with_stdin(monkeypatch, "short\n")
    short = run_cli("user", "add", "ana", "--role", "clinician", "--db", url)
    assert short.code == 2 and "password" in short.stderr
    _with_stdin(monkeypatch, "a long password\n")
    assert run_cli("user", "add", "ana", "--role", "clinician", "--db", url).code == 0
    _with_stdin(monkeypatch, "another password\n")
    again = run_cli("user", "add", "ana", "--role", "clinician", "--db", url)
    assert again.code == 2 and "already exists" in again.stderr
    _with_stdin(monkeypatch, "another password\n")
    case = run_cli("user", "add", "ANA", "--role", "clinician", "--db", url)
    assert case.code == 2 and "already exists" in case.stderr  # names ignore case
    _with_stdin(monkeypatch, "a long password\n")
    role = run_cli("user", "add", "bob", "--role", "nurse", "--db", url)
    assert role.code == 2


@pytest.mark.parametrize("password",
                         ["12345678", " " * 16, "bob-the-builder-2", "1234567890123456"])
def test_user_add_refuses_weak_passwords(run_cli: Callable[..., CliResult], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         password: str) -> None:
    _with_stdin(monkeypatch, password + "\n")
    result = run_cli("user", "add", "Bob", "--role", "viewer", "--db",
                     f"sqlite:///{tmp_path / 'r.db'}")
    assert result.code == 2 and "password" in result.stderr
    assert result.stderr.count("\n") == 1


def test_user_reset_disable_remove_are_audited(run_cli: Callable[..., CliResult],
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from ectocalc.record import audit_entries

    url = f"sqlite:///{tmp_path / 'r.db'}"
    _with_stdin(monkeypatch, "a long password\n")
    assert run_cli("user", "add", "Ana", "--role", "admin", "--db", url).code == 0
    _with_stdin(monkeypatch, "plum orchard at dusk\n")
    assert run_cli("user", "reset-password", "ana", "--db", url).code == 0
    assert run_cli("user", "disable", "ANA", "--db", url).code == 0
    listed = run_cli("user", "list", "--db", url).stdout
    assert listed.startswith("Ana\tadmin\t") and listed.rstrip().endswith("disabled")
    assert run_cli("user", "enable", "ana", "--db", url).code == 0
    assert run_cli("user", "remove", "ana", "--db", url).code == 0
    missing = run_cli("user", "remove", "ana", "--db", url)
    assert missing.code == 2 and "no user 'ana'" in missing.stderr
    store = open_store(url)
    try:
        assert get_user(store, "ana") is None
        actions = [(e.action, e.detail) for e in audit_entries(store)]
    finally:
        store.dispose()
    assert actions == [("user_removed", "Ana"), ("user_enabled", "Ana"), ("user_disabled", "Ana"),
                       ("user_password_reset", "Ana"), ("user_added", "Ana (admin)")]


def test_serve_help_names_the_contract_options(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("serve", "--help")
    for option in ("--db", "--host", "--port"):
        assert option in result.stdout
