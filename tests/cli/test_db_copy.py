"""``crmtui db copy``: a TinyDB data directory into PostgreSQL and back, with nothing changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from store.pgserver import new_database, pg_server, pg_url  # noqa: F401

from crmtui.cli import cli
from crmtui.demo import seed_demo
from crmtui.model import (
    Account,
    Conflict,
    Contact,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    TagKind,
)
from crmtui.store import ContactQuery, open_store
from crmtui.store.pg_store import open_postgres

TOKYO = timezone(timedelta(hours=9))


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "home"), *args],
                              catch_exceptions=False)


def normalized(dump: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {name: sorted(json.dumps(row, sort_keys=True) for row in rows)
            for name, rows in dump.items()}


def fill(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """A data directory with the demo data and sync records of every kind; returns its dump."""
    repo = open_store(directory)
    try:
        user_id = seed_demo(repo)
        tag = next(t for t in repo.list_tags(user_id, TagKind.PRIVATE))
        repo.save_sync_settings(SyncSettings(user_id=user_id, contacts_tag_id=tag.id))
        contact = repo.find_contacts(ContactQuery(limit=1), user_id)[0]
        repo.put_link(SyncLink(user_id=user_id, kind=SyncKind.CONTACTS, local_id=contact.id,
                               remote_id="people/c1", etag="e1", base={"given_name": "Zoë"},
                               synced=datetime(2026, 1, 2, 10, 0, tzinfo=TOKYO),
                               remote_updated=datetime(2026, 1, 2, 0, 0, 1, 5, tzinfo=UTC)))
        repo.set_sync_state(user_id, SyncKind.CONTACTS, {"token": "sync-token", "group": "g/1"})
        repo.add_run(SyncRun(user_id=user_id, kind=SyncKind.CONTACTS, status="ok",
                             counts={"created": 2},
                             conflicts=[Conflict(record_id=contact.id, field_name="company",
                                                 kept="A", lost="B", winner="crm")]))
        if not repo.list_accounts(user_id):
            repo.add_account(Account(user_id=user_id, email="alex@example.com"))
        return repo.dump()
    finally:
        repo.close()


def test_round_trip_tinydb_postgres_tinydb(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    original = fill(tmp_path / "one")
    assert all(original[name] for name in ("users", "tags", "contacts", "activities",
                                           "accounts", "sync_links", "sync_state", "journal"))
    result = run(tmp_path, "db", "copy", "--from", str(tmp_path / "one"), "--to", pg_url)
    assert result.exit_code == 0, result.stderr
    assert "Reading" in result.stderr and "Writing" in result.stderr
    assert f"from {tmp_path / 'one'} to postgresql://" in result.stdout
    assert result.stdout.startswith(f"Copied {len(original['users'])} users, "
                                    f"{len(original['tags'])} tags, "
                                    f"{len(original['contacts'])} contacts")
    pg = open_postgres(pg_url)
    try:
        assert normalized(pg.dump()) == normalized(original)
    finally:
        pg.close()
    result = run(tmp_path, "db", "copy", "--from", pg_url, "--to", str(tmp_path / "two"),
                 "--json")
    assert result.exit_code == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]
    assert counts["contacts"] == len(original["contacts"])
    back = open_store(tmp_path / "two")
    try:
        assert normalized(back.dump()) == normalized(original)
    finally:
        back.close()


def test_a_target_that_holds_data_is_refused_unless_forced(tmp_path: Path,
                                                           pg_url: str) -> None:  # noqa: F811
    original = fill(tmp_path / "one")
    assert run(tmp_path, "db", "copy", "--from", str(tmp_path / "one"), "--to", pg_url
               ).exit_code == 0
    again = run(tmp_path, "db", "copy", "--from", str(tmp_path / "one"), "--to", pg_url)
    assert again.exit_code == 1 and again.stdout == ""
    assert again.stderr.splitlines()[-1].startswith("Error: --to: postgresql://")
    assert "add --force" in again.stderr and "Traceback" not in again.stderr
    # A TinyDB target too; --force replaces what it holds, all of it.
    other = tmp_path / "other"
    repo = open_store(other)
    repo.add_contact(Contact(given_name="Old"))
    repo.close()
    refused = run(tmp_path, "db", "copy", "--from", pg_url, "--to", str(other))
    assert refused.exit_code == 1 and "already holds 1 contact" in refused.stderr
    forced = run(tmp_path, "db", "copy", "--from", pg_url, "--to", str(other), "--force")
    assert forced.exit_code == 0, forced.stderr
    repo = open_store(other)
    try:
        assert normalized(repo.dump()) == normalized(original)
    finally:
        repo.close()
    forced = run(tmp_path, "db", "copy", "--from", str(other), "--to", pg_url, "--force")
    assert forced.exit_code == 0, forced.stderr


def test_bad_sources_and_targets(tmp_path: Path) -> None:
    missing = run(tmp_path, "db", "copy", "--from", str(tmp_path / "nothing"), "--to",
                  str(tmp_path / "new"))
    assert missing.exit_code == 1 and "holds no crmtui database" in missing.stderr
    assert not (tmp_path / "nothing").exists()
    fill(tmp_path / "one")
    same = run(tmp_path, "db", "copy", "--from", str(tmp_path / "one"), "--to",
               str(tmp_path / "one") + "/")
    assert same.exit_code == 1 and "the same database" in same.stderr
    down = run(tmp_path, "db", "copy", "--from", str(tmp_path / "one"), "--to",
               "postgresql://postgres@127.0.0.1:1/crm")
    assert down.exit_code == 1 and "check that the server runs" in down.stderr
    assert "Traceback" not in down.stderr
