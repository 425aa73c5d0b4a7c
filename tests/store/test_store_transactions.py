"""The TinyDB file under transactions: one commit per transaction, the file lock, schema migration
and damaged files (the contract every store keeps is in conformance.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from crmtui.model import Activity, Contact, Participant, User
from crmtui.store import (
    DB_FILE,
    SCHEMA_VERSION,
    ContactQuery,
    NotFound,
    SchemaError,
    StorageError,
    StoreError,
    TinyDBRepository,
    open_store,
)
from crmtui.store.storage import AtomicJSONStorage, journal_path, read_files


class Boom(Exception):
    pass


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every commit to disk, in order (the path written)."""
    calls: list[Path] = []
    original = AtomicJSONStorage.flush

    def counting(self: AtomicJSONStorage) -> None:
        calls.append(self.path)
        original(self)

    monkeypatch.setattr(AtomicJSONStorage, "flush", counting)
    return calls


@pytest.fixture
def other(repo: TinyDBRepository) -> Iterator[TinyDBRepository]:
    """A second repository on the same file, as another process would have."""
    second = open_store(repo.data_dir)
    yield second
    second.close()


def on_disk(repo: TinyDBRepository) -> dict[str, dict[str, object]]:
    return read_files(repo.path)  # the base and its journal


def disk_id(repo: TinyDBRepository) -> tuple[object, ...]:
    """The identity of the database's files: a commit changes it."""
    journal = journal_path(repo.path)
    return stat_id(repo.path), stat_id(journal) if journal.exists() else None


def disk_bytes(repo: TinyDBRepository) -> tuple[bytes, bytes]:
    journal = journal_path(repo.path)
    return repo.path.read_bytes(), journal.read_bytes() if journal.exists() else b""


def stat_id(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


# --------------------------------------------------------------------------- commits


def test_several_writes_make_one_commit(repo: TinyDBRepository, ann: User,
                                        flushes: list[Path]) -> None:
    before = disk_id(repo)
    with repo.transaction():
        a = repo.add_contact(Contact(given_name="A"))
        repo.add_contact(Contact(given_name="B"))
        repo.update_contact(a.evolve(family_name="Z"))
        repo.add_activity(Activity(title="Call A", organizer_id=ann.id, participants=[Participant("contact", a.id)]))
        assert flushes == []
        assert disk_id(repo) == before  # nothing on disk before the end
    assert flushes == [repo.path]
    assert disk_id(repo) != before
    assert len(on_disk(repo)["contacts"]) == 3  # Ann's own contact, A and B


def test_each_write_outside_a_transaction_commits(repo: TinyDBRepository,
                                                  flushes: list[Path]) -> None:
    repo.add_contact(Contact(given_name="A"))
    repo.add_contact(Contact(given_name="B"))
    assert len(flushes) == 2


def test_reads_and_failed_checks_do_not_commit(repo: TinyDBRepository, ann: User,
                                               flushes: list[Path]) -> None:
    repo.contact_ids(ContactQuery(text="ann"), ann.id)
    repo.list_tags(ann.id)
    with pytest.raises(NotFound):
        repo.delete_contact("nope")
    with repo.transaction():
        repo.count_contacts()
    assert flushes == []


def test_nested_transactions_commit_once(repo: TinyDBRepository, flushes: list[Path]) -> None:
    with repo.transaction():
        repo.add_contact(Contact(given_name="Outer"))
        with repo.transaction():
            repo.add_contact(Contact(given_name="Inner"))
            with repo.transaction():
                repo.add_contact(Contact(given_name="Innermost"))
        assert flushes == []
    assert len(flushes) == 1
    assert len(on_disk(repo)["contacts"]) == 3


def test_failed_store_call_that_wrote_dooms_the_outer_transaction(
        repo: TinyDBRepository, ann: User) -> None:
    # add_activities inserts, then finds a missing participant: a write that failed half-way.
    good = Activity(title="Good", organizer_id=ann.id)
    bad = Activity(title="Bad", organizer_id=ann.id, participants=[Participant("contact", "missing")])
    with pytest.raises(StoreError) as info:
        with repo.transaction():
            repo.add_contact(Contact(given_name="Outer"))
            with pytest.raises(NotFound):
                repo.add_activities([good, bad])
    assert not isinstance(info.value, NotFound)
    assert repo.count_contacts() == 1  # Ann's own contact only
    with pytest.raises(NotFound):
        repo.get_activity(good.id)


def test_locked_database_gives_a_clear_error(repo: TinyDBRepository) -> None:
    impatient = TinyDBRepository(repo.data_dir, lock_timeout=0.05)
    with repo.transaction():
        repo.add_contact(Contact(given_name="X"))
        with pytest.raises(StoreError, match="locked by another crmtui process"):
            impatient.add_contact(Contact(given_name="Y"))
    impatient.add_contact(Contact(given_name="Y"))
    assert repo.count_contacts() == 2


# --------------------------------------------------------------------------- other processes


# --------------------------------------------------------------------------- schema and damage


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data))


def test_schema_zero_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "d" / DB_FILE
    _write(path, {"contacts": {
        "c1": {"given_name": "Old", "family_name": "Timer", "email": "old@example.com",
               "phone": "555 1234"},
        "c2": {"company": "NoComm"},
        "c3": {"given_name": "Both", "email": "x@example.com",
               "emails": [{"value": "kept@example.com", "type": "home", "primary": False}]},
    }})
    store = open_store(path.parent)
    try:
        old = store.get_contact("c1")
        assert [(e.value, e.primary) for e in old.emails] == [("old@example.com", True)]
        assert old.primary_phone == "555 1234"
        assert old.tags == [] and old.addresses == [] and old.middle_name == ""
        assert store.get_contact("c2").emails == []
        assert [e.value for e in store.get_contact("c3").emails] == ["kept@example.com"]
        assert store.contact_ids(ContactQuery(text="5551234"), None) == ["c1"]
    finally:
        store.close()
    data = orjson.loads(path.read_bytes())
    assert data["_meta"]["schema"] == {"schema": SCHEMA_VERSION}
    assert "email" not in data["contacts"]["c1"] and "phone" not in data["contacts"]["c1"]
    assert data["contacts"]["c1"]["emails"][0]["value"] == "old@example.com"


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "d" / DB_FILE
    _write(path, {"_meta": {"schema": {"schema": SCHEMA_VERSION + 1}},
                  "contacts": {"c1": {"given_name": "Future", "hologram": True}}})
    raw, before = path.read_bytes(), stat_id(path)
    with pytest.raises(SchemaError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade crmtui"):
        open_store(path.parent)
    assert path.read_bytes() == raw
    assert stat_id(path) == before


def test_invalid_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d" / DB_FILE
    _write(path, {"_meta": {"schema": {"schema": "one"}}})
    with pytest.raises(SchemaError, match="not valid"):
        open_store(path.parent)


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "is not valid JSON"),
    (b'{"contacts": {"c1": ', "is not valid JSON"),
    (b"\x00\x01\x02", "is not valid JSON"),
    (b"[1, 2, 3]", "does not hold a crmtui database"),
    (b'{"contacts": [1, 2]}', "does not hold a crmtui database"),
    (b'{"contacts": {"c1": 5}}', "record 'c1' of the table 'contacts' is not an object"),
    (b'"text"', "does not hold a crmtui database"),
])
def test_damaged_file_gives_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "d" / DB_FILE
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(StorageError, match=message) as info:
        open_store(path.parent)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_file_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    """An emptied database file is never taken for a new database (it used to be, and the next
    write replaced it); a missing file still is."""
    path = tmp_path / "d" / DB_FILE
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(StorageError, match="is empty.*restore it from a backup") as info:
        open_store(path.parent)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_missing_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "d" / DB_FILE
    store = open_store(path.parent)
    try:
        assert store.count_contacts() == 0
        store.add_contact(Contact(given_name="First"))
    finally:
        store.close()
    assert orjson.loads(path.read_bytes())["_meta"]["schema"]["schema"] == SCHEMA_VERSION


def test_file_emptied_while_open_is_refused_by_the_next_write(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d")
    try:
        store.add_contact(Contact(given_name="First"))
        store.path.write_bytes(b"")
        with pytest.raises(StorageError, match="is empty"):
            store.add_contact(Contact(given_name="Second"))
        with pytest.raises(StorageError, match="is empty"):
            store.count_contacts()
    finally:
        store.close()
    assert store.path.read_bytes() == b""


def test_stale_temporary_files_are_removed_on_open(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d")
    store.add_contact(Contact(given_name="Kept"))
    store.close()
    leftover = tmp_path / "d" / f".{DB_FILE}.abc123.tmp"
    leftover.write_bytes(b'{"half": ')
    again = open_store(tmp_path / "d")
    try:
        assert not leftover.exists()
        assert again.count_contacts() == 1
    finally:
        again.close()


def test_database_file_is_private(repo: TinyDBRepository) -> None:
    repo.add_contact(Contact(given_name="Secret"))
    assert os.stat(repo.path).st_mode & 0o777 == 0o600
