"""A damaged data directory: each problem is one ``Error:`` line that names the file and says
what to do, and nothing is written over what is there."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from crmtui.store import DB_FILE
from crmtui.store.storage import read_files

from .conftest import Crm

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _db(crm: Crm) -> Path:
    return crm.data_dir / DB_FILE


def _config(crm: Crm) -> Path:
    return crm.data_dir / "config.toml"


# -- config.toml -----------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("contacts", "list"), ("users", "list"),
                                  ("users", "default", "ann@example.com"), ()])
def test_a_config_file_that_is_not_utf8_is_named(crm: Crm, ann: dict[str, Any],
                                                 args: tuple[str, ...]) -> None:
    _config(crm).write_bytes(b'default_user = "ann@example.com"\n\xe9t\xe9 = 1\n')
    err = crm.fails(*args)
    assert err.count("\n") == 1
    assert str(_config(crm)) in err and "not UTF-8" in err and "line 2" in err
    assert "remove it" in err


def test_a_config_file_with_a_syntax_error_is_named(crm: Crm, ann: dict[str, Any]) -> None:
    _config(crm).write_text("default_user = = 1\n")
    err = crm.fails("contacts", "list")
    assert str(_config(crm)) in err and "not valid TOML" in err and "line 1" in err
    assert "fix it or remove it" in err


def test_a_directory_in_place_of_the_config_file_is_named(crm: Crm, ann: dict[str, Any]
                                                          ) -> None:
    _config(crm).mkdir()
    err = crm.fails("contacts", "list")
    assert str(_config(crm)) in err and "is a directory" in err and "Errno" not in err


# -- the database file ----------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b" \n\n  \t\n"])
def test_an_empty_database_file_is_refused_and_never_replaced(crm: Crm, content: bytes) -> None:
    crm.data_dir.mkdir()
    _db(crm).write_bytes(content)
    for args in [("contacts", "list"), ("users", "list"),
                 ("users", "add", "--name", "Ann Lee", "--email", "ann@example.com")]:
        err = crm.fails(*args)
        assert f"the database {_db(crm)} is empty" in err
        assert "restore it from a backup, or move it away" in err
        assert _db(crm).read_bytes() == content


@pytest.mark.parametrize(("content", "reason"), [
    (b"{not json", "is not valid JSON"),
    (b"\xff\xfe{}", "is not valid JSON"),
    (b'["users"]', "does not hold a crmtui database"),
    (b'{"users": {"u1": "Ann"}}', "does not hold a crmtui database"),
])
def test_a_database_file_that_is_not_a_database_is_refused(crm: Crm, content: bytes,
                                                           reason: str) -> None:
    crm.data_dir.mkdir()
    _db(crm).write_bytes(content)
    for args in [("contacts", "list"),
                 ("users", "add", "--name", "Ann Lee", "--email", "ann@example.com")]:
        err = crm.fails(*args)
        assert str(_db(crm)) in err and reason in err and "move it away" in err
        assert _db(crm).read_bytes() == content


def test_a_directory_in_place_of_the_database_is_refused(crm: Crm) -> None:
    _db(crm).mkdir(parents=True)
    err = crm.fails("contacts", "list")
    assert f"{_db(crm)} is a directory" in err and "Errno" not in err


@pytest.mark.skipif(AS_ROOT, reason="root reads a file whatever its mode")
def test_a_database_file_that_cannot_be_read_is_refused(crm: Crm, ann: dict[str, Any]) -> None:
    _db(crm).chmod(0)
    try:
        err = crm.fails("contacts", "list")
    finally:
        _db(crm).chmod(0o600)
    assert str(_db(crm)) in err and "permission denied" in err and "Errno" not in err


def test_no_database_file_starts_a_new_database(crm: Crm) -> None:
    crm.data_dir.mkdir()
    assert "No users yet" in crm.ok("users", "list")
    crm.add_user("Ann Lee", "ann@example.com")
    assert [u["email"] for u in crm.json("users", "list")] == ["ann@example.com"]


# -- a record changed by hand ---------------------------------------------------------------------

def _edit(crm: Crm, table: str, record_id: str, **fields: Any) -> None:
    # The base and its journal, written back as one file (with no _storage table, so that the
    # journal, now in it, is ignored).
    data = read_files(_db(crm))
    data[table][record_id].update(fields)
    _db(crm).write_text(json.dumps(data))


@pytest.mark.parametrize("field", [{"gn": "x"}, {"emails": "not a list"}])
def test_a_contact_changed_by_hand_is_named_with_its_id_and_file(
        crm: Crm, ann: dict[str, Any], field: dict[str, Any]) -> None:
    bob = crm.add_contact("--given", "Bob")
    _edit(crm, "contacts", bob["id"], **field)
    for args in [("contacts", "list"), ("contacts", "show", bob["id"])]:
        err = crm.fails(*args)
        assert err.count("\n") == 1
        assert f"the record {bob['id']} of the table 'contacts' in {_db(crm)}" in err
        assert next(iter(field)) in err and "restore the file from a backup" in err


def test_a_user_tag_and_activity_changed_by_hand_are_named(crm: Crm, ann: dict[str, Any]
                                                           ) -> None:
    tag = crm.json("tags", "add", "Clients")
    activity = crm.json("activities", "add", "--title", "Call", "--start",
                        "2030-01-01T10:00:00+00:00")
    for table, record_id, args in [("tags", tag["id"], ("tags", "list")),
                                   ("activities", activity["id"], ("activities", "list")),
                                   ("users", ann["id"], ("users", "list"))]:
        _edit(crm, table, record_id, hologram=True)
        err = crm.fails(*args)
        assert f"the record {record_id} of the table {table!r} in {_db(crm)}" in err
        assert "hologram" in err


# -- the lock file ---------------------------------------------------------------------------------

def _lock(crm: Crm) -> Path:
    return crm.data_dir / (DB_FILE + ".lock")


def _break_lock(crm: Crm, how: str) -> None:
    lock = _lock(crm)
    lock.unlink()
    if how == "directory":
        lock.mkdir()
    elif how == "link":
        lock.symlink_to(crm.data_dir / "missing" / "lock")
    else:
        lock.touch()
        lock.chmod(0)


@pytest.mark.parametrize(("how", "reason"), [
    ("directory", "a directory is in its place"),
    ("link", "it is a symbolic link"),
    pytest.param("mode", "permission denied",
                 marks=pytest.mark.skipif(AS_ROOT, reason="root opens a file whatever its mode")),
])
def test_a_lock_file_that_cannot_be_used_lets_reads_go_on_and_refuses_writes(
        crm: Crm, ann: dict[str, Any], how: str, reason: str) -> None:
    crm.add_contact("--given", "Bob")
    _break_lock(crm, how)
    before = _db(crm).read_bytes()
    assert sorted(c["given_name"] for c in crm.json("contacts", "list")) == ["Ann", "Bob"]
    assert "Ann Lee" in crm.ok("users", "list")
    err = crm.fails("contacts", "add", "--given", "Cleo")
    assert err.count("\n") == 1 and "Errno" not in err
    assert f"cannot use the lock file {_lock(crm)}: {reason}" in err
    assert "Nothing was written" in err
    assert _db(crm).read_bytes() == before
