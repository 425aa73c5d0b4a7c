"""The journal beside the base file: commits that cost what they change, torn records, compaction,
other processes catching up, and a database written by the previous crmtui.

The crash tests that kill a writing process at random instants are in test_store_processes.py;
the states a kill can leave are built here one by one, at every byte where it matters."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from crmtui.model import (
    Account,
    Activity,
    Contact,
    Participant,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
)
from crmtui.store import DB_FILE, ContactQuery, StorageError, TinyDBRepository, open_store
from crmtui.store import storage as storage_module
from crmtui.store.storage import STORAGE_TABLE, AtomicJSONStorage, journal_path, read_files

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, params=["whole", "lazy"])
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: with the base's tables read whole, and with large tables (here:
    of 5 documents or more, 3 to a line) read a line at a time as documents are asked for."""
    if request.param == "lazy":
        monkeypatch.setattr(storage_module, "LINE_DOCS", 3)
        monkeypatch.setattr(storage_module, "LAZY_MIN_DOCS", 5)
    return str(request.param)


def stat_id(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


def in_memory(repo: TinyDBRepository) -> dict[str, dict[str, Any]]:
    return {name: dict(docs) for name, docs in repo._data.items() if docs}


def on_disk(repo: TinyDBRepository) -> dict[str, dict[str, Any]]:
    return {name: docs for name, docs in read_files(repo.path).items() if docs}


def records(path: Path) -> list[bytes]:
    """The journal's lines after its header."""
    return journal_path(path).read_bytes().splitlines(keepends=True)[1:]


# --------------------------------------------------------------------------- commits


def test_a_commit_appends_what_it_changed_and_leaves_the_base_alone(repo: TinyDBRepository
                                                                    ) -> None:
    repo.add_contacts([Contact(id=f"c{i}", given_name=f"N{i}", notes="n" * 300)
                       for i in range(200)])
    base = stat_id(repo.path)
    journal = journal_path(repo.path)
    size = journal.stat().st_size
    repo.update_contact(repo.get_contact("c7").evolve(family_name="Changed"))
    repo.delete_contact("c8")
    assert stat_id(repo.path) == base  # the base is not rewritten
    added = records(repo.path)[-2:]
    assert journal.stat().st_size == size + sum(map(len, added))
    first, second = (orjson.loads(line)["commit"] for line in added)
    assert list(first) == ["contacts"] and list(first["contacts"]) == ["c7"]
    assert first["contacts"]["c7"]["family_name"] == "Changed"
    assert second == {"contacts": {"c8": None}}  # a deleted document
    assert all(len(line) < 1000 for line in added)  # in proportion to the change (200 contacts)
    again = open_store(repo.data_dir)
    try:
        assert again.get_contact("c7").family_name == "Changed"
        assert again.count_contacts() == 199
    finally:
        again.close()


def _every_write(repo: TinyDBRepository) -> list[Callable[[], object]]:
    """One call of every repository method that writes, in an order that works."""
    ann = User(id="u-ann", name="Ann", email="ann@example.com")
    own = Contact(id="c-ann", given_name="Ann", emails=["ann@example.com"])
    private = Tag(id="t-p", name="Google", kind=TagKind.PRIVATE, owner_id="u-ann")
    vip = Tag(id="t-vip", name="VIP")
    link = SyncLink(user_id="u-ann", kind=SyncKind.CONTACTS, local_id="c1", remote_id="people/1",
                    etag="e1", base={"given_name": "One"}, synced=T0)
    series = Activity(id="a-series", title="Weekly", recurrence=["RRULE:FREQ=WEEKLY"],
                      start=T0, end=T0, timezone="UTC", organizer_id="u-ann")
    return [
        lambda: repo.add_user(ann, own),
        lambda: repo.add_tag(private),
        lambda: repo.add_tag(vip),
        lambda: repo.add_contact(Contact(id="c1", given_name="One")),
        lambda: repo.add_contacts([Contact(id=f"c{i}", given_name=f"N{i}") for i in (2, 3, 4)]),
        lambda: repo.update_contact(repo.get_contact("c2").evolve(company="ACME")),
        lambda: repo.tag_contacts(["c1", "c2"], "t-vip", "u-ann"),
        lambda: repo.tag_contacts(["c2"], "t-vip", "u-ann", remove=True),
        lambda: repo.add_activity(Activity(id="a1", title="Call", organizer_id="u-ann",
                                           participants=[Participant("contact", "c3")])),
        lambda: repo.add_activity(series),
        lambda: repo.add_activity(Activity(id="a-occ", title="Moved", series_id="a-series",
                                           original_start=T0, start=T0, end=T0,
                                           timezone="UTC", organizer_id="u-ann")),
        lambda: repo.update_activity(repo.get_activity("a1").evolve(title="Call back")),
        lambda: repo.delete_contact("c3"),  # also taken out of the activity
        lambda: repo.add_activity(Activity(id="a2", title="Gone", organizer_id="u-ann")),
        lambda: repo.delete_activity("a2"),
        lambda: repo.save_sync_settings(SyncSettings(user_id="u-ann", contacts_tag_id="t-p")),
        lambda: repo.set_sync_state("u-ann", SyncKind.CONTACTS, {"token": "one"}),
        lambda: repo.set_sync_state("u-ann", SyncKind.CONTACTS, {"token": "two"}),
        lambda: repo.put_link(link),
        lambda: repo.put_link(link.evolve(etag="e2")),
        lambda: repo.add_run(SyncRun(id="r1", user_id="u-ann", kind=SyncKind.CONTACTS,
                                     started=T0)),
        lambda: repo.add_run(SyncRun(id="r1", user_id="u-ann", kind=SyncKind.CONTACTS,
                                     started=T0, status="ok")),
        lambda: repo.add_account(Account(id="acc", user_id="u-ann", email="ann@gmail.com")),
        lambda: repo.update_account(repo.get_account("acc").evolve(email="ann2@gmail.com")),
        lambda: repo.delete_account("acc"),
        lambda: repo.delete_link("u-ann", SyncKind.CONTACTS, "c1"),
        lambda: repo.delete_tag("t-p", "u-ann"),  # also clears the sync settings' tag
        lambda: repo.load_dump({"contacts": [Contact(id="c9", given_name="Imported").to_dict()]}),
    ]


def test_every_write_reaches_the_files(repo: TinyDBRepository) -> None:
    """After each write, the files (base and journal, read as the next process will) hold what
    the repository holds in memory: no write goes unnoticed by the journal."""
    for i, write in enumerate(_every_write(repo)):
        write()
        assert on_disk(repo) == in_memory(repo), f"write {i}"
    # Rewrote the base: the new database's first commit, and delete_tag (it changes sync
    # settings in place without saying which); everything else went to the journal.
    assert repo._storage.compactions == 2


def test_a_rolled_back_transaction_appends_nothing(repo: TinyDBRepository) -> None:
    repo.add_contact(Contact(id="c1", given_name="Kept"))
    before = journal_path(repo.path).read_bytes()
    with pytest.raises(RuntimeError), repo.transaction():
        repo.update_contact(repo.get_contact("c1").evolve(given_name="Lost"))
        raise RuntimeError
    assert journal_path(repo.path).read_bytes() == before
    assert repo.get_contact("c1").given_name == "Kept"


# --------------------------------------------------------------------------- torn records


def _two_commits(tmp_path: Path) -> tuple[Path, bytes, int]:
    """A database whose journal's last record changes "c1"; the journal, and where that record
    starts."""
    repo = open_store(tmp_path / "d")
    repo.add_contact(Contact(id="c1", given_name="Before", notes="é" * 20))
    repo.update_contact(repo.get_contact("c1").evolve(given_name="After"))
    repo.close()
    journal = journal_path(repo.path).read_bytes()
    return repo.path, journal, len(journal) - len(records(repo.path)[-1])


def test_a_torn_last_record_is_dropped_at_every_byte(tmp_path: Path) -> None:
    path, journal, start = _two_commits(tmp_path)
    for cut in range(start, len(journal)):  # every way the last record can be cut short
        journal_path(path).write_bytes(journal[:cut])
        store = open_store(path.parent)
        try:
            assert store.get_contact("c1").given_name == "Before", cut
        finally:
            store.close()
    journal_path(path).write_bytes(journal)
    store = open_store(path.parent)
    try:
        assert store.get_contact("c1").given_name == "After"
    finally:
        store.close()


@pytest.mark.parametrize("damage", [
    lambda record: record[:-2] + b"!}\n",                   # its commit's bytes changed
    lambda record: record.replace(b'"size":', b'"size":1'),   # its size is wrong
    lambda record: record[:20] + b"\n",                     # cut short, and a newline written
])
def test_a_last_record_that_fails_its_checks_is_dropped(tmp_path: Path,
                                                         damage: Callable[[bytes], bytes]
                                                         ) -> None:
    path, journal, start = _two_commits(tmp_path)
    journal_path(path).write_bytes(journal[:start] + damage(journal[start:]))
    store = open_store(path.parent)
    try:
        assert store.get_contact("c1").given_name == "Before"
        # The next commit cuts the bad record off before it appends.
        store.update_contact(store.get_contact("c1").evolve(given_name="Next"))
    finally:
        store.close()
    assert records(path)[-1].startswith(b'{"crc":')
    assert read_files(path)["contacts"]["c1"]["given_name"] == "Next"
    again = open_store(path.parent)
    try:
        assert again.get_contact("c1").given_name == "Next"
    finally:
        again.close()


def test_a_damaged_record_followed_by_others_is_refused(tmp_path: Path) -> None:
    path, journal, start = _two_commits(tmp_path)
    first = journal.index(b"\n") + 1  # the first record after the header
    damaged = journal[:first + 3] + b"X" + journal[first + 4:]
    journal_path(path).write_bytes(damaged)
    with pytest.raises(StorageError, match="journal .* is damaged at byte") as info:
        open_store(path.parent)
    assert str(journal_path(path)) in str(info.value)
    assert journal_path(path).read_bytes() == damaged  # left as it is


# --------------------------------------------------------------------------- compaction


@pytest.fixture
def small_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compact when the journal passes half the base (no minimum size)."""
    monkeypatch.setattr(storage_module, "COMPACT_MIN", 0)
    monkeypatch.setattr(storage_module, "COMPACT_SHARE", 0.5)


def _base_meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = orjson.loads(path.read_bytes())[STORAGE_TABLE]["base"]
    return meta


def test_the_journal_is_compacted_into_the_base_when_it_grows(repo: TinyDBRepository,
                                                               small_journal: None) -> None:
    repo.add_contacts([Contact(id=f"c{i}", given_name=f"N{i}") for i in range(20)])
    generation = _base_meta(repo.path)["generation"]
    journal = journal_path(repo.path)
    sizes = []
    for i in range(40):
        repo.update_contact(repo.get_contact(f"c{i % 20}").evolve(notes=f"edit {i}"))
        sizes.append(journal.stat().st_size if journal.exists() else 0)
        assert journal.exists() or _base_meta(repo.path)["generation"] > generation
        assert sizes[-1] <= 0.5 * repo.path.stat().st_size + 2000
    assert _base_meta(repo.path)["generation"] > generation + 2  # compacted several times
    assert 0 in sizes  # the journal is removed by a compaction
    assert on_disk(repo) == in_memory(repo)
    base = orjson.loads(repo.path.read_bytes())  # still one plain JSON document
    assert set(base["contacts"]) >= {f"c{i}" for i in range(20)}


def test_compaction_killed_before_its_rename_leaves_the_previous_commit(
        repo: TinyDBRepository, small_journal: None, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.add_contacts([Contact(id=f"c{i}", given_name="Old") for i in range(5)])
    before = on_disk(repo)

    def killed(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # the process dies between writing the new base and the rename

    monkeypatch.setattr(storage_module.os, "replace", killed)
    repo._storage.mark_dirty()  # the next commit compacts
    with pytest.raises(KeyboardInterrupt):
        repo.update_contact(repo.get_contact("c1").evolve(given_name="New"))
    monkeypatch.undo()
    again = open_store(repo.data_dir)
    try:
        assert in_memory(again) == before
    finally:
        again.close()


def test_compaction_killed_before_removing_the_journal_leaves_the_new_commit(
        repo: TinyDBRepository, small_journal: None, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.add_contacts([Contact(id=f"c{i}", given_name="Old") for i in range(5)])
    repo.update_contact(repo.get_contact("c2").evolve(given_name="Journaled"))
    journal = journal_path(repo.path)
    assert journal.exists()
    old_journal = journal.read_bytes()

    def killed(path: object) -> None:
        raise KeyboardInterrupt  # the process dies after the rename, before removing it

    monkeypatch.setattr(storage_module.os, "unlink", killed)
    repo._storage.mark_dirty()
    with pytest.raises(KeyboardInterrupt):
        repo.update_contact(repo.get_contact("c1").evolve(given_name="New"))
    monkeypatch.undo()
    assert journal.read_bytes() == old_journal  # left behind, of the previous base
    after = open_store(repo.data_dir)
    try:
        assert after.get_contact("c1").given_name == "New"
        assert after.get_contact("c2").given_name == "Journaled"  # in the new base, not twice
        after.update_contact(after.get_contact("c3").evolve(given_name="Later"))
        assert not journal.read_bytes().startswith(old_journal[:40])  # replaced, not appended
    finally:
        after.close()
    last = open_store(repo.data_dir)
    try:
        assert [c.given_name for c in last.get_contacts(["c1", "c2", "c3"])] == \
            ["New", "Journaled", "Later"]
    finally:
        last.close()


def test_a_journal_of_another_base_is_ignored(tmp_path: Path) -> None:
    """A journal whose header names another base (say the base was restored from a backup) is
    never applied to this one."""
    repo = open_store(tmp_path / "d")
    with repo.transaction():
        repo.add_contact(Contact(id="c1", given_name="Base"))
        repo._storage.mark_dirty()  # this commit rewrites the base
    repo.update_contact(repo.get_contact("c1").evolve(given_name="Journaled"))
    repo.close()
    backup = tmp_path / "backup.json"
    shutil.copy(repo.path, backup)
    raw = orjson.loads(backup.read_bytes())
    raw[STORAGE_TABLE]["base"]["id"] = "0123456789abcdef"
    repo.path.write_bytes(orjson.dumps(raw))
    store = open_store(tmp_path / "d")
    try:
        assert store.get_contact("c1").given_name == "Base"
    finally:
        store.close()


# --------------------------------------------------------------------------- other processes


def test_another_process_reads_only_the_new_records(repo: TinyDBRepository,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    repo.add_contacts([Contact(id=f"c{i}", given_name=f"Name{i}") for i in range(50)])
    other = open_store(repo.data_dir)
    try:
        assert other.contact_ids(ContactQuery(text="zebulon"), None) == []  # builds its index
        bases: list[Path] = []
        original = AtomicJSONStorage._load_base

        def counting(self: AtomicJSONStorage) -> Any:
            bases.append(self.path)
            return original(self)

        monkeypatch.setattr(AtomicJSONStorage, "_load_base", counting)
        generation = other.generation
        repo.update_contact(repo.get_contact("c7").evolve(given_name="Zebulon"))
        repo.delete_contact("c8")
        assert other.refresh() is True
        assert other.generation > generation
        assert other.contact_ids(ContactQuery(text="zebulon"), None) == ["c7"]
        assert other.count_contacts() == 49
        assert other.refresh() is False
        assert bases == []  # the base was not read again
        # It commits after catching up, and the first process sees that too.
        other.update_contact(other.get_contact("c9").evolve(given_name="Zebulon"))
        assert sorted(repo.contact_ids(ContactQuery(text="zebulon"), None)) == ["c7", "c9"]
        assert bases == []
    finally:
        other.close()


def test_another_process_reloads_after_a_compaction(repo: TinyDBRepository,
                                                    small_journal: None) -> None:
    repo.add_contacts([Contact(id=f"c{i}", given_name=f"Name{i}") for i in range(10)])
    other = open_store(repo.data_dir)
    try:
        compactions = repo._storage.compactions
        i = 0
        while repo._storage.compactions == compactions:
            repo.update_contact(repo.get_contact(f"c{i % 10}").evolve(notes=f"edit {i}"))
            i += 1
        assert other.refresh() is True
        assert in_memory(other) == in_memory(repo)
        other.add_contact(Contact(id="late", given_name="Late"))  # commits on the new base
        assert repo.get_contact("late").given_name == "Late"
    finally:
        other.close()


# --------------------------------------------------------------------------- older files


def test_a_database_of_the_previous_crmtui_opens_and_then_gets_a_journal(tmp_path: Path
                                                                         ) -> None:
    """The fixture was written by crmtui before the journal: one JSON file, schema 1."""
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    fixture = FIXTURES / "schema1-crmtui.json"
    shutil.copy(fixture, data_dir / DB_FILE)
    assert STORAGE_TABLE not in orjson.loads(fixture.read_bytes())
    repo = open_store(data_dir)
    try:
        ann = repo.find_user("ann@example.com")
        assert ann is not None and ann.id == "u-ann"
        assert repo.count_contacts() == 6
        assert repo.get_contact("c-3").tags == ["t-vip"]
        assert repo.contact_ids(ContactQuery(text="emile3"), ann.id) == ["c-3"]
        assert repo.get_activity("a-1").participants == [Participant("contact", "c-1")]
        assert repo.get_sync_settings(ann.id).contacts_tag_id == "t-google"
        assert repo.get_sync_state(ann.id, SyncKind.CONTACTS)["token"] == "abc"
        link = repo.get_link(ann.id, SyncKind.CONTACTS, "c-1")
        assert link is not None and link.remote_id == "people/1"
        assert [r.id for r in repo.list_runs(ann.id)] == ["r-1"]
        assert repo.get_account("acc-1").email == "ann@gmail.com"
        # Opening migrated it to the current schema, which wrote a base that names itself;
        # the commits after that go to the journal.
        assert _base_meta(repo.path)["generation"] == 1
        base = stat_id(repo.path)
        repo.update_contact(repo.get_contact("c-2").evolve(company="Globex"))
        repo.update_contact(repo.get_contact("c-4").evolve(company="Initech"))
        assert stat_id(repo.path) == base
        assert len(records(repo.path)) == 2
    finally:
        repo.close()
    again = open_store(data_dir)
    try:
        assert [c.company for c in again.get_contacts(["c-1", "c-2", "c-4"])] == \
            ["ACME", "Globex", "Initech"]
        assert again.count_contacts() == 6
    finally:
        again.close()


# --------------------------------------------------------------------------- large tables


def test_a_large_table_is_read_a_line_at_a_time(tmp_path: Path, layout: str) -> None:
    if layout != "lazy":
        pytest.skip("about the lazy layout")
    repo = open_store(tmp_path / "d")
    with repo.transaction():
        repo.add_contacts([Contact(id=f"c{i:02}", given_name=f"N{i}") for i in range(30)])
        repo._storage.mark_dirty()  # written into the base
    repo.close()
    base = orjson.loads(repo.path.read_bytes())
    assert list(base["contacts"]) == sorted(base["contacts"])  # sorted by id
    assert base[STORAGE_TABLE]["base"]["lines"]["contacts"] == [f"c{i:02}" for i in range(0, 30, 3)]
    store = open_store(tmp_path / "d")
    try:
        contacts = store._table("contacts")
        lines = contacts._lazy  # type: ignore[attr-defined]
        assert lines is not None and lines.parsed == {}
        assert store.get_contact("c17").given_name == "N17"
        store.update_contact(store.get_contact("c04").evolve(given_name="Changed"))
        store.delete_contact("c05")
        assert sorted(lines.parsed) == [1, 5]  # the lines of c04/c05 and c17, nothing else
        assert "c05" not in contacts and contacts.get("c99") is None
        assert store.count_contacts() == 29  # counting reads the rest
        assert contacts._lazy is None and type(contacts) is storage_module._Table  # type: ignore[attr-defined]
        assert store.get_contact("c04").given_name == "Changed"
    finally:
        store.close()
    again = open_store(tmp_path / "d")
    try:
        assert again.count_contacts() == 29
        assert again.get_contact("c04").given_name == "Changed"
    finally:
        again.close()


def test_a_damaged_line_of_a_large_table_is_reported_when_read(tmp_path: Path,
                                                                layout: str) -> None:
    if layout != "lazy":
        pytest.skip("about the lazy layout")
    repo = open_store(tmp_path / "d")
    with repo.transaction():
        repo.add_contacts([Contact(id=f"c{i:02}", given_name=f"N{i}") for i in range(30)])
        repo._storage.mark_dirty()
    repo.close()
    raw = repo.path.read_bytes()
    repo.path.write_bytes(raw.replace(b'"c10":{', b'"c10":{{', 1))
    store = open_store(tmp_path / "d")
    try:
        assert store.get_contact("c20").given_name == "N20"
        with pytest.raises(StorageError, match="is not valid JSON"):
            store.get_contact("c10")
        with pytest.raises(StorageError, match="is not valid JSON"):
            store.count_contacts()  # reading the whole table fails the same way
        assert store.get_contact("c21").given_name == "N21"  # and the rest is still there
    finally:
        store.close()
