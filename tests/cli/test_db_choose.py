"""Choosing the store: --database, CRMTUI_DATABASE, ``database`` in config.toml; each way a
database can be unusable gets one ``Error:`` line that says what to do; the demo fills a database
with its data; OAuth tokens stay in the data directory."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from store.pgserver import ADMIN_URL, new_database, pg_server, pg_url  # noqa: F401

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.store.pg_store import open_postgres

from .conftest import Crm


def test_database_option_env_and_config(crm: Crm, pg_url: str,  # noqa: F811
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    crm.ok("--database", pg_url, "users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    assert not (crm.data_dir / "crmtui.json").exists()  # nothing went to the TinyDB file
    monkeypatch.setenv("CRMTUI_DATABASE", pg_url)
    assert [u["email"] for u in crm.json("users", "list")] == ["ann@example.com"]
    monkeypatch.delenv("CRMTUI_DATABASE")
    (crm.data_dir / "config.toml").write_text(f'database = "{pg_url}"\n')
    crm.ok("contacts", "add", "--given", "Zoë", "--family", "Ångström")
    assert [c["given_name"] for c in crm.json("contacts", "list", "--search", "angstrom")] == ["Zoë"]
    repo = open_postgres(pg_url)
    try:
        assert repo.count_contacts() == 2  # Ann's own contact and Zoë
    finally:
        repo.close()
    # Without the setting, the data directory's own file is used again: empty.
    (crm.data_dir / "config.toml").write_text("")
    assert crm.json("users", "list") == []


def test_not_a_database_url(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    err = crm.fails("--database", "mysql://db/crm", "users", "list")
    assert "--database: 'mysql://db/crm' is not a PostgreSQL URL" in err
    monkeypatch.setenv("CRMTUI_DATABASE", "crm.db")
    assert "CRMTUI_DATABASE: 'crm.db' is not a PostgreSQL URL" in crm.fails("users", "list")
    monkeypatch.delenv("CRMTUI_DATABASE")
    crm.data_dir.mkdir(parents=True, exist_ok=True)
    (crm.data_dir / "config.toml").write_text("database = 5\n")
    assert "database must be a PostgreSQL URL" in crm.fails("users", "list")


def test_server_that_is_down(crm: Crm) -> None:
    err = crm.fails("--database", "postgresql://postgres@127.0.0.1:1/crm", "users", "list")
    assert err.count("\n") == 1
    assert "cannot connect to postgresql://postgres@127.0.0.1:1/crm" in err
    assert "check that the server runs" in err


def test_url_without_a_database_name(crm: Crm) -> None:
    err = crm.fails("--database", "postgresql://postgres@127.0.0.1:5432", "users", "list")
    assert "names no database" in err


def test_missing_database(crm: Crm, pg_server: str) -> None:  # noqa: F811
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/crmtui_missing_{uuid.uuid4().hex[:8]}"
    err = crm.fails("--database", url, "users", "list")
    assert "does not exist" in err and "createdb crmtui_missing_" in err


def test_unknown_role(crm: Crm, pg_url: str) -> None:  # noqa: F811
    url = pg_url.replace("postgres@", "nobody_here@")
    assert "has no user 'nobody_here'" in crm.fails("--database", url, "users", "list")


@pytest.fixture
def plain_role(pg_url: str) -> Callable[[], str]:  # noqa: F811
    """A login role without rights to create tables; returns its URL for ``pg_url``."""
    name = f"crmtui_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
    yield lambda: pg_url.replace("postgres@", f"{name}@")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{name}"')
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_permission_errors(crm: Crm, pg_url: str, plain_role: Callable[[], str]  # noqa: F811
                           ) -> None:
    url = plain_role()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    err = crm.fails("--database", url, "users", "list")
    assert "not allowed to set up crmtui's tables" in err and "CREATE on its schema" in err
    # The schema made by its owner; the plain role may read but not write.
    open_postgres(pg_url).close()
    role = url.split("//", 1)[1].split("@", 1)[0]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    assert crm.json("--database", url, "users", "list") == []
    err = crm.fails("--database", url, "users", "add", "--name", "A B", "--email", "a@b.example")
    assert "not allowed by" in err and "INSERT, UPDATE and DELETE" in err


def test_newer_schema_is_refused_and_left_alone(crm: Crm, pg_url: str) -> None:  # noqa: F811
    crm.ok("--database", pg_url, "users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE crmtui_meta SET value = 99 WHERE key = 'schema'")
    err = crm.fails("--database", pg_url, "users", "list")
    assert "schema version 99, newer than this crmtui understands" in err
    assert "upgrade crmtui" in err
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert conn.execute("SELECT value FROM crmtui_meta WHERE key = 'schema'"
                            ).fetchone() == (99,)


def test_foreign_tables_are_not_taken_over(crm: Crm, pg_url: str) -> None:  # noqa: F811
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE contacts (name text)")
    assert "use an empty database for crmtui" in crm.fails("--database", pg_url, "users", "list")


def test_demo_fills_the_database(crm: Crm, pg_url: str) -> None:  # noqa: F811
    contacts = crm.json("--database", pg_url, "--demo", "contacts", "list")
    assert len(contacts) > 20
    assert not (crm.data_dir / "demo" / "crmtui.json").exists()
    # A second run finds the demo data and adds nothing.
    assert len(crm.json("--database", pg_url, "--demo", "contacts", "list")) == len(contacts)


def test_demo_refuses_a_database_with_other_data(crm: Crm, pg_url: str) -> None:  # noqa: F811
    crm.ok("--database", pg_url, "users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    err = crm.fails("--database", pg_url, "--demo", "contacts", "list")
    assert "not crmtui's demo" in err


def test_oauth_tokens_stay_in_the_data_directory(crm: Crm, pg_url: str, emulator: Emulator,  # noqa: F811
                                                 tmp_path: Path) -> None:
    crm.ok("--database", pg_url, "users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    info = EmulatorControl(emulator).create_account("ann@example.com")
    record = authorized_user(info)
    record.pop("scopes")
    creds = tmp_path / "ann.json"
    creds.write_text(json.dumps({k: v for k, v in record.items() if v is not None}))
    crm.ok("--database", pg_url, "account", "link", "google", "--credentials", str(creds),
           "--endpoint", emulator.base_url)
    tokens = list((crm.data_dir / "tokens").glob("*.json"))
    assert len(tokens) == 1
    secrets = [v for k, v in json.loads(tokens[0].read_text()).items()
               if k in ("token", "refresh_token", "client_secret") and v]
    assert secrets
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        everything = " ".join(
            str(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
    assert "ann@example.com" in everything  # the account itself is shared
    for secret in secrets:
        assert secret not in everything
    assert "refresh_token" not in everything
