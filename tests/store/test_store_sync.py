"""Sync settings, sync state, links, the journal, accounts, and dump / load."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmtui.model import (
    Account,
    AccountState,
    Conflict,
    Contact,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
)
from crmtui.store import NotFound, StoreConflict, TinyDBRepository, open_store
from crmtui.store.tinydb_sync import JOURNAL_MAX_CONFLICTS, JOURNAL_MAX_RUNS

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CONTACTS, ACTIVITIES = SyncKind.CONTACTS, SyncKind.ACTIVITIES


# --------------------------------------------------------------------------- settings


def test_settings_default_and_saved(repo: TinyDBRepository, ann: User, ann_private_tag: Tag
                                    ) -> None:
    default = repo.get_sync_settings(ann.id)
    assert default == SyncSettings(user_id=ann.id)
    saved = SyncSettings(user_id=ann.id, contacts_auto=True, contacts_period=15,
                         contacts_tag_id=ann_private_tag.id, activities_auto=True,
                         activities_period=1, activities_from=date(2024, 2, 1))
    repo.save_sync_settings(saved)
    assert repo.get_sync_settings(ann.id) == saved
    repo.save_sync_settings(saved.evolve(contacts_period=30))
    assert repo.get_sync_settings(ann.id).contacts_period == 30


@pytest.mark.parametrize("kind", [TagKind.PUBLIC, TagKind.CORPORATE])
def test_sync_tag_must_be_private(repo: TinyDBRepository, ann: User, kind: TagKind) -> None:
    tag = repo.add_tag(Tag(name="Shared", kind=kind))
    with pytest.raises(ValidationError, match=f"must be a private tag.*is a {kind.value} tag"
                       ) as info:
        repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=tag.id))
    assert info.value.field == "contacts_tag_id"
    assert repo.get_sync_settings(ann.id).contacts_tag_id == ""


def test_sync_tag_must_be_the_users_own(repo: TinyDBRepository, ann: User, bob: User,
                                        ann_private_tag: Tag) -> None:
    with pytest.raises(ValidationError, match="private tag of another user"):
        repo.save_sync_settings(SyncSettings(user_id=bob.id, contacts_tag_id=ann_private_tag.id))
    with pytest.raises(NotFound, match="no tag"):
        repo.save_sync_settings(SyncSettings(user_id=bob.id, contacts_tag_id="missing"))
    with pytest.raises(NotFound, match="no user"):
        repo.save_sync_settings(SyncSettings(user_id="ghost"))


# --------------------------------------------------------------------------- state and links


def test_sync_state_per_user_and_kind(repo: TinyDBRepository, ann: User, bob: User) -> None:
    assert repo.get_sync_state(ann.id, CONTACTS) == {}
    repo.set_sync_state(ann.id, CONTACTS, {"token": "t1", "group": "contactGroups/1"})
    repo.set_sync_state(ann.id, ACTIVITIES, {"token": "cal"})
    repo.set_sync_state(ann.id, CONTACTS, {"token": "t2"})  # replaces, not merges
    assert repo.get_sync_state(ann.id, CONTACTS) == {"token": "t2"}
    assert repo.get_sync_state(ann.id, ACTIVITIES) == {"token": "cal"}
    assert repo.get_sync_state(bob.id, CONTACTS) == {}
    state = repo.get_sync_state(ann.id, CONTACTS)
    state["token"] = "mutated"
    assert repo.get_sync_state(ann.id, CONTACTS) == {"token": "t2"}  # a copy


def link(user: User, local: str, remote: str, kind: SyncKind = CONTACTS, etag: str = "e"
         ) -> SyncLink:
    return SyncLink(user_id=user.id, kind=kind, local_id=local, remote_id=remote, etag=etag,
                    base={"given_name": local}, synced=T0)


def test_links(repo: TinyDBRepository, ann: User, bob: User) -> None:
    repo.put_link(link(ann, "c1", "people/1"))
    repo.put_link(link(ann, "c2", "people/2"))
    repo.put_link(link(ann, "a1", "people/1", kind=ACTIVITIES))  # another kind: no clash
    repo.put_link(link(bob, "c1", "people/1"))  # another user: no clash
    assert repo.get_link(ann.id, CONTACTS, "c1") == link(ann, "c1", "people/1")
    assert repo.link_by_remote(ann.id, CONTACTS, "people/2") == link(ann, "c2", "people/2")
    assert repo.link_by_remote(ann.id, ACTIVITIES, "people/2") is None
    assert repo.get_link(ann.id, CONTACTS, "nope") is None
    assert {lk.local_id for lk in repo.list_links(ann.id, CONTACTS)} == {"c1", "c2"}
    assert len(repo.list_links(bob.id, CONTACTS)) == 1
    # Updating a link keeps it unique; relinking to a new remote frees the old one.
    repo.put_link(link(ann, "c1", "people/1", etag="e2"))
    assert repo.get_link(ann.id, CONTACTS, "c1").etag == "e2"  # type: ignore[union-attr]
    repo.put_link(link(ann, "c1", "people/9"))
    assert repo.link_by_remote(ann.id, CONTACTS, "people/1") is None
    assert repo.link_by_remote(ann.id, CONTACTS, "people/9").local_id == "c1"  # type: ignore[union-attr]
    repo.delete_link(ann.id, CONTACTS, "c1")
    repo.delete_link(ann.id, CONTACTS, "c1")  # deleting twice is harmless
    assert repo.get_link(ann.id, CONTACTS, "c1") is None
    assert repo.link_by_remote(ann.id, CONTACTS, "people/9") is None
    repo.put_link(link(ann, "c3", "people/9"))  # the remote id is free again


def test_duplicate_remote_id_is_a_conflict(repo: TinyDBRepository, ann: User) -> None:
    repo.put_link(link(ann, "c1", "people/1"))
    with pytest.raises(StoreConflict, match="people/1 is already linked"):
        repo.put_link(link(ann, "c2", "people/1"))
    assert repo.get_link(ann.id, CONTACTS, "c2") is None
    assert repo.link_by_remote(ann.id, CONTACTS, "people/1").local_id == "c1"  # type: ignore[union-attr]


def test_link_index_survives_rollback_and_reopen(repo: TinyDBRepository, ann: User) -> None:
    repo.put_link(link(ann, "c1", "people/1"))
    with pytest.raises(RuntimeError), repo.transaction():
        repo.put_link(link(ann, "c2", "people/2"))
        raise RuntimeError
    assert repo.link_by_remote(ann.id, CONTACTS, "people/2") is None
    again = open_store(repo.data_dir)
    try:
        assert again.link_by_remote(ann.id, CONTACTS, "people/1").local_id == "c1"  # type: ignore[union-attr]
        with pytest.raises(StoreConflict):
            again.put_link(link(ann, "c9", "people/1"))
    finally:
        again.close()


# --------------------------------------------------------------------------- journal


def test_runs_newest_first_and_replaced_by_id(repo: TinyDBRepository, ann: User) -> None:
    first = SyncRun(user_id=ann.id, kind=CONTACTS, started=T0)
    second = SyncRun(user_id=ann.id, kind=ACTIVITIES, started=T0 + timedelta(hours=1))
    repo.add_run(first)
    repo.add_run(second)
    done = first.evolve(status="ok", finished=T0 + timedelta(minutes=1), counts={"added": 3})
    repo.add_run(done)
    assert repo.list_runs(ann.id) == [second, done]
    assert repo.list_runs(ann.id, CONTACTS) == [done]
    assert repo.list_runs(ann.id, limit=1) == [second]
    assert repo.list_runs("someone-else") == []


def test_journal_keeps_the_latest_runs_per_user(repo: TinyDBRepository, ann: User, bob: User
                                                ) -> None:
    extra = 5
    with repo.transaction():
        for i in range(JOURNAL_MAX_RUNS + extra):
            repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, started=T0 + timedelta(minutes=i),
                                 id=f"ann{i}"))
        for i in range(3):
            repo.add_run(SyncRun(user_id=bob.id, kind=CONTACTS, started=T0, id=f"bob{i}"))
    runs = repo.list_runs(ann.id)
    assert len(runs) == JOURNAL_MAX_RUNS
    assert runs[0].id == f"ann{JOURNAL_MAX_RUNS + extra - 1}"
    assert runs[-1].id == f"ann{extra}"  # the oldest ones went
    assert len(repo.list_runs(bob.id)) == 3  # another user's journal is not trimmed


def test_journal_trims_by_instant_not_by_text(repo: TinyDBRepository, ann: User,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crmtui.store.tinydb_sync.JOURNAL_MAX_RUNS", 2)
    tokyo = ZoneInfo("Asia/Tokyo")
    # As text "2024-01-01T10:00+09:00" sorts after "2024-01-01T05:00+00:00", yet it is older.
    repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, id="oldest",
                         started=datetime(2024, 1, 1, 10, 0, tzinfo=tokyo)))
    repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, id="middle",
                         started=datetime(2024, 1, 1, 5, 0, tzinfo=UTC)))
    repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, id="newest",
                         started=datetime(2024, 1, 1, 6, 0, tzinfo=UTC)))
    assert [r.id for r in repo.list_runs(ann.id)] == ["newest", "middle"]


def test_conflicts_of_a_run_are_capped(repo: TinyDBRepository, ann: User) -> None:
    extra = 7
    conflicts = [Conflict(record_id=f"c{i}", field_name="phone", kept=str(i), lost="old",
                          winner="crm", at=T0) for i in range(JOURNAL_MAX_CONFLICTS + extra)]
    repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, conflicts=conflicts, errors=["first"]))
    (run,) = repo.list_runs(ann.id)
    assert len(run.conflicts) == JOURNAL_MAX_CONFLICTS
    assert run.conflicts[0].record_id == f"c{extra}"  # the latest ones are kept
    assert run.conflicts[-1].record_id == f"c{JOURNAL_MAX_CONFLICTS + extra - 1}"
    assert run.errors[0] == "first"
    assert run.errors[1] == f"{extra} older conflicts of this run were not kept in the journal"


# --------------------------------------------------------------------------- accounts


def test_accounts(repo: TinyDBRepository, ann: User, bob: User) -> None:
    acc = repo.add_account(Account(user_id=ann.id, email="ann@gmail.com"))
    assert repo.get_account(acc.id) == acc
    with pytest.raises(StoreConflict, match="already has a linked google account"):
        repo.add_account(Account(user_id=ann.id, email="ann2@gmail.com"))
    with pytest.raises(NotFound, match="no user"):
        repo.add_account(Account(user_id="ghost", email="g@gmail.com"))
    bobs = repo.add_account(Account(user_id=bob.id, email="bob@gmail.com"))
    repo.update_account(acc.evolve(state=AccountState.NEEDS_RECONNECT, state_message="expired"))
    assert repo.get_account(acc.id).state is AccountState.NEEDS_RECONNECT
    assert repo.list_accounts(ann.id) == [repo.get_account(acc.id)]
    assert len(repo.list_accounts()) == 2
    repo.delete_account(bobs.id)
    with pytest.raises(NotFound):
        repo.get_account(bobs.id)
    with pytest.raises(NotFound):
        repo.delete_account(bobs.id)
    with pytest.raises(NotFound):
        repo.update_account(bobs)


# --------------------------------------------------------------------------- dump and load


def test_dump_and_load_round_trip(repo: TinyDBRepository, ann: User, ann_private_tag: Tag,
                                  tmp_path: object) -> None:
    c = repo.add_contact(Contact(given_name="Tagged", tags=[ann_private_tag.id]))
    repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=ann_private_tag.id))
    repo.put_link(link(ann, c.id, "people/1"))
    repo.set_sync_state(ann.id, CONTACTS, {"token": "t"})
    repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS))
    dump = repo.dump()
    target = open_store(repo.data_dir.parent / "copy")
    try:
        counts = target.load_dump(dump)
        assert counts["contacts"] == 2 and counts["tags"] == 1 and counts["sync_links"] == 1
        assert target.dump() == dump
        assert target.link_by_remote(ann.id, CONTACTS, "people/1").local_id == c.id  # type: ignore[union-attr]
        with pytest.raises(StoreConflict, match="already exists"):
            target.load_dump(dump)
        assert target.count_contacts() == 2
    finally:
        target.close()


def test_load_dump_is_all_or_nothing(repo: TinyDBRepository) -> None:
    good = Contact(given_name="Good").to_dict()
    bad = Contact(given_name="Bad", tags=["missing-tag"]).to_dict()
    with pytest.raises(NotFound, match="carries a missing tag"):
        repo.load_dump({"contacts": [good, bad]})
    assert repo.count_contacts() == 0
    with pytest.raises(ValidationError, match=r"contacts\[2\]\.emails"):
        repo.load_dump({"contacts": [good, {**good, "id": "x2", "emails": [{"value": "a@x.com"}] * 2}]})
    with pytest.raises(ValidationError, match="unknown section"):
        repo.load_dump({"contactz": []})
    assert repo.count_contacts() == 0


def test_load_dump_refuses_a_taken_email_or_tag_name(repo: TinyDBRepository, tmp_path) -> None:
    source = open_store(tmp_path / "source")
    ann = source.add_user(User(name="Ann", email="ann@example.com"))
    source.add_tag(Tag(name="VIP", kind=TagKind.PUBLIC))
    source.add_tag(Tag(name="Mine", kind=TagKind.PRIVATE, owner_id=ann.id))
    dump = source.dump()

    repo.add_user(User(name="Other Ann", email="ANN@example.com"))
    before = repo.dump()
    with pytest.raises(StoreConflict, match="users: a user with the email ann@example.com"):
        repo.load_dump(dump)
    assert repo.dump() == before

    target = open_store(tmp_path / "target")
    target.add_tag(Tag(name="vip", kind=TagKind.PUBLIC))
    with pytest.raises(StoreConflict, match="tags: a tag named 'VIP' already exists"):
        target.load_dump(dump)
    assert target.list_tags(None) and len(target.list_users()) == 0

    # A private tag of the same name belongs to another scope: no clash.
    fresh = open_store(tmp_path / "fresh")
    fresh.load_dump({"tags": [Tag(name="vip", kind=TagKind.CORPORATE).to_dict()]})
    with pytest.raises(StoreConflict, match="tags: a tag named 'VIP'"):
        fresh.load_dump(dump)  # public and corporate share one scope
    fresh2 = open_store(tmp_path / "fresh2")
    other = fresh2.add_user(User(name="Zed", email="zed@example.com"))
    fresh2.add_tag(Tag(name="Mine", kind=TagKind.PRIVATE, owner_id=other.id))
    assert fresh2.load_dump(dump)["tags"] == 2
