"""The PostgreSQL server the PostgreSQL tests use, and a fresh database per test.

The server is ``$CRMTUI_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/
postgres``: trust authentication, a superuser that may create databases). Each test gets a
database of its own, with a unique name, dropped afterwards. Where no server answers, the tests
that need one are skipped with the reason; under CI (``CI=true``) that is a failure instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from crmtui.store import Repository, open_store
from crmtui.store.pg_store import open_postgres

ADMIN_URL = os.environ.get("CRMTUI_TEST_POSTGRES",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


def _url(dbname: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


def _admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server's admin URL; skips (fails under CI) when no server can be reached."""
    try:
        with _admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = f"no PostgreSQL server at {ADMIN_URL}: {str(exc).strip().splitlines()[-1]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return ADMIN_URL


@pytest.fixture
def new_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """A factory of new, empty databases (their URLs), all dropped after the test."""
    made: list[str] = []

    def create() -> str:
        name = f"crmtui_test_{uuid.uuid4().hex[:12]}"
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return _url(name)

    yield create
    with _admin() as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(new_database: Callable[[], str]) -> str:
    """The URL of a new, empty database (dropped after the test)."""
    return new_database()


def backend_repo(request: pytest.FixtureRequest, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Repository]:
    """The body of a ``repo`` fixture parameterized by ``request.param`` ("tinydb" or
    "postgres"): the TinyDB store in ``tmp_path / "data"``, or a new PostgreSQL database, which
    ``$CRMTUI_DATABASE`` also names (so the command line run by the test uses it too), with
    ``tmp_path / "data"`` as the data directory beside it (tokens, locks, config)."""
    data_dir = tmp_path / "data"
    if request.param == "tinydb":
        repo: Repository = open_store(data_dir)
    else:
        url = request.getfixturevalue("new_database")()
        monkeypatch.setenv("CRMTUI_DATABASE", url)
        data_dir.mkdir(parents=True, exist_ok=True)
        repo = open_postgres(url)
    try:
        yield repo
    finally:
        repo.close()
