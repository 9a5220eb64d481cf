"""Shared fixtures: run the command line in-process, exactly as the console script does."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ectocalc.cli import main


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            ) -> Callable[..., CliResult]:
    """Call ``ectocalc ARGS...`` through :func:`ectocalc.cli.main` and capture its output."""

    def run(*args: str | Path) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["ectocalc", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


# --- A real PostgreSQL server for the record and web tests (helper H5) -----------------------

def _postgres_bin() -> Path | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the tests: yields a ``postgresql+psycopg://`` URL of a database
    on it in which new databases may be created.

    ``$ECTOCALC_TEST_POSTGRES_URL`` when set (CI starts the server); otherwise a throwaway
    cluster on 127.0.0.1, started here and stopped at the end. Skipped (with the reason shown)
    when neither is available, unless ``CI`` is ``true``: in CI a missing server fails the run.
    """
    import os
    import shutil
    import socket
    import subprocess
    import tempfile

    given = os.environ.get("ECTOCALC_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    binaries = _postgres_bin()
    if binaries is None:
        reason = "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " and CI=true: the PostgreSQL tests must run in CI")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="ectocalc-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as `postgres`
        import pwd

        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "postgres", "-E", "UTF8", "--no-sync"], check=True,
                   capture_output=True)
    subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-l",
                    str(root / "server.log"), "-w", "-o",
                    f"-h 127.0.0.1 -p {port} -k {root} -F", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A new empty database on the session's server (its ``postgresql+psycopg://`` URL),
    dropped after the test."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:16]}"
    server = make_url(postgres_server)
    plain = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The sub-folders' conftest.py files are plugins, not doctest modules: `--doctest-modules`
# would import each one again under the shared name "conftest" and refuse the second.
collect_ignore_glob = ["*/conftest.py", "conftest.py"]
