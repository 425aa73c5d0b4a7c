"""The README's "Team" section followed from scratch on a fresh database: the admin's grants, the
first use (the schema and its trigram index made by a user who is not a superuser), an existing
data directory copied in, a member's config.toml, and a member role with only the rights the
README lists for everyday use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from store.pgserver import ADMIN_URL, new_database, pg_server, pg_url  # noqa: F401

from crmtui.cli import cli
from crmtui.model import Contact
from crmtui.store import open_store


def crmtui(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)


def ok(data_dir: Path, *args: str) -> str:
    result = crmtui(data_dir, *args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def roles(pg_url: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    """Two login roles, the app's and a member's, dropped afterwards (with the database)."""
    suffix = uuid.uuid4().hex[:8]
    app, member = f"crm_app_{suffix}", f"crm_member_{suffix}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for role in (app, member):
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
    yield app, member
    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        for role in (app, member):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_readme_team_section(pg_url: str, roles: tuple[str, str],  # noqa: F811
                                 tmp_path: Path) -> None:
    app, member = roles
    dbname = pg_url.rsplit("/", 1)[1]
    # 1. The admin: a login for crmtui with CONNECT and CREATE on the database and its schema.
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'GRANT CONNECT, CREATE ON DATABASE "{dbname}" TO "{app}"')
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{app}"')
    app_url = pg_url.replace("postgres@", f"{app}@")

    # 2. An existing data directory moves in.
    old = tmp_path / "old"
    repo = open_store(old)
    repo.add_contact(Contact(given_name="Zoë", family_name="Ångström"))
    repo.close()
    ok(tmp_path / "admin", "db", "copy", "--from", str(old), "--to", app_url)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = "
                            "'contacts_search_trgm'").fetchone() == (1,)
        assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'contacts'"
                            ).fetchone() == (app,)
    ok(tmp_path / "admin", "--database", app_url, "users", "add", "--name", "Ann Lee",
       "--email", "ann@example.com")

    # 3. A member's own data directory names the database in config.toml.
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "config.toml").write_text(f'database = "{app_url}"\n')
    assert "Zoë" in ok(ann, "contacts", "list", "--search", "angstrom")

    # Everyday rights alone (no CREATE): SELECT, INSERT, UPDATE, DELETE and sequence USAGE.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'GRANT CONNECT ON DATABASE "{dbname}" TO "{member}"')
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{member}"')
        conn.execute("SET ROLE " + f'"{app}"')
        conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public '
                     f'TO "{member}"')
        conn.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{member}"')
    member_url = pg_url.replace("postgres@", f"{member}@")
    ok(ann, "--database", member_url, "contacts", "add", "--given", "Bo", "--family", "Ek")
    assert "Bo Ek" in ok(ann, "--database", member_url, "contacts", "list", "--search", "ek")
