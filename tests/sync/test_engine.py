"""The contact sync engine against the in-memory Google (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmtui.model import Account, Contact, SyncKind, SyncSettings, Tag, TagKind, User
from crmtui.store import ContactQuery, TinyDBRepository
from crmtui.sync.contacts import contact_fields
from crmtui.sync.engine import merge_fields
from crmtui.sync.fake import FakeContactsRemote
from crmtui.sync.service import SyncService


class World:
    def __init__(self, repo: TinyDBRepository, data_dir: Path) -> None:
        self.repo = repo
        self.user = repo.add_user(User(name="Ann Lee", email="ann@example.com"),
                                  Contact(given_name="Ann", family_name="Lee",
                                          emails=["ann@example.com"]))
        self.tag = repo.add_tag(Tag(name="Google", kind=TagKind.PRIVATE, owner_id=self.user.id))
        repo.save_sync_settings(SyncSettings(user_id=self.user.id, contacts_tag_id=self.tag.id))
        repo.add_account(Account(user_id=self.user.id, email="ann@example.com"))
        self.google = FakeContactsRemote()
        self.service = SyncService(repo, data_dir, lambda account: self.google)

    def add(self, given: str, *, tagged: bool = True, **kw: object) -> Contact:
        return self.repo.add_contact(Contact(given_name=given, owner_id=self.user.id,
                                             tags=[self.tag.id] if tagged else [], **kw))

    def sync(self, **kw: object):  # type: ignore[no-untyped-def]
        outcome = self.service.run(self.user.id, SyncKind.CONTACTS, **kw)  # type: ignore[arg-type]
        return outcome

    @property
    def group(self) -> str:
        return self.google.group_named("crmtui")

    def tagged(self) -> list[Contact]:
        return self.repo.find_contacts(ContactQuery(tag_ids=(self.tag.id,)), self.user.id)


@pytest.fixture
def world(repo: TinyDBRepository, tmp_path: Path) -> World:
    return World(repo, tmp_path)


def test_merge_takes_each_side_s_changes_and_the_newest_on_both() -> None:
    from datetime import UTC, datetime
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    base = {"a": 1, "b": 1, "c": 1, "d": 1}
    merge = merge_fields("abcd", base, {"a": 2, "b": 1, "c": 3, "d": 5},
                         {"a": 1, "b": 4, "c": 9, "d": 5}, local_time=late, remote_time=early,
                         record_id="x")
    assert merge.fields == {"a": 2, "b": 4, "c": 3, "d": 5}
    assert merge.to_remote == ["a", "c"] and merge.to_local == ["b"]
    [conflict] = merge.conflicts
    assert (conflict.field_name, conflict.kept, conflict.lost, conflict.winner) == (
        "c", 3, 9, "crm")


def test_first_sync_creates_the_group_and_pushes_tagged_contacts(world: World) -> None:
    world.add("Zoë", emails=["zoe@example.com"])
    world.add("Untagged", tagged=False)
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert [p.fields["given_name"] for p in world.google.in_group(world.group)] == ["Zoë"]
    assert outcome.report.google.created == 1
    assert world.google.calls["create"] == 1
    run = world.repo.list_runs(world.user.id)[0]
    assert run.status == "ok" and run.counts["google_created"] == 1


def test_gmail_contacts_in_the_group_are_imported_and_linked_by_email(world: World) -> None:
    known = world.add("Known", tagged=False, emails=["known@example.com"])
    world.sync()
    g = world.group
    world.google.gmail_create({"given_name": "New", "emails": [
        {"value": "new@example.com", "type": "work", "primary": True}]}, groups=[g])
    world.google.gmail_create({"given_name": "Known", "notes": "from gmail", "emails": [
        {"value": "KNOWN@example.com", "type": "work", "primary": True}]}, groups=[g])
    world.google.gmail_create({"given_name": "Elsewhere"}, groups=[])
    outcome = world.sync()
    assert outcome.ok
    names = sorted(c.given_name for c in world.tagged())
    assert names == ["Known", "New"]
    assert world.repo.count_contacts() == 3  # Ann, Known, New: no duplicate of Known
    assert world.repo.get_contact(known.id).notes == "from gmail"
    assert outcome.report.crm.created == 1 and outcome.report.crm.linked == 1


def test_incremental_sync_sends_only_changes_and_merges_per_field(world: World) -> None:
    zoe = world.add("Zoë", job_title="CEO", company="Nordlys")
    world.sync()
    [person] = world.google.in_group(world.group)
    world.google.calls.clear()
    world.sync()
    assert world.google.calls == {"ensure_group": 1, "list": 1}
    world.google.gmail_edit(person.remote_id, company="Nordlys AS")
    world.repo.update_contact(world.repo.get_contact(zoe.id).evolve(job_title="Founder"))
    outcome = world.sync()
    assert outcome.ok and not outcome.report.conflicts
    assert world.repo.get_contact(zoe.id).company == "Nordlys AS"
    assert world.google.people[person.remote_id].fields["job_title"] == "Founder"


def test_both_sides_change_a_field_newest_wins_and_is_journaled(world: World) -> None:
    zoe = world.add("Zoë", job_title="CEO")
    world.sync()
    [person] = world.google.in_group(world.group)
    world.google.gmail_edit(person.remote_id, job_title="Chair")  # the fake clock is in 2026-01
    world.repo.update_contact(world.repo.get_contact(zoe.id).evolve(job_title="Founder"))
    outcome = world.sync()
    assert world.google.people[person.remote_id].fields["job_title"] == "Founder"
    [conflict] = outcome.report.conflicts
    assert (conflict.kept, conflict.lost, conflict.winner) == ("Founder", "Chair", "crm")
    assert world.repo.list_runs(world.user.id)[0].conflicts[0].lost == "Chair"


def test_deleted_or_ungrouped_in_gmail_loses_the_tag_and_stays(world: World) -> None:
    a, b = world.add("A"), world.add("B")
    world.sync()
    ids = {p.fields["given_name"]: p.remote_id for p in world.google.in_group(world.group)}
    world.google.gmail_delete(ids["A"])
    world.google.gmail_ungroup(ids["B"], world.group)
    outcome = world.sync()
    assert outcome.report.crm.untagged == 2
    assert world.tagged() == []
    assert world.repo.get_contact(a.id) and world.repo.get_contact(b.id)
    assert world.repo.list_links(world.user.id, SyncKind.CONTACTS) == []


def test_deleted_or_untagged_in_crm_leaves_the_group_and_stays_in_gmail(world: World) -> None:
    a, b = world.add("A"), world.add("B")
    world.sync()
    world.repo.delete_contact(a.id)
    world.repo.tag_contacts([b.id], world.tag.id, world.user.id, remove=True)
    outcome = world.sync()
    assert outcome.report.google.removed == 2
    assert world.google.in_group(world.group) == []
    assert len([p for p in world.google.people.values() if not p.deleted]) == 2


def test_mass_unlink_guard_stops_and_yes_goes_ahead(world: World) -> None:
    for i in range(10):
        world.add(f"C{i}")
    world.sync()
    for p in world.google.in_group(world.group):  # all deleted in Gmail at once
        world.google.gmail_delete(p.remote_id)
    outcome = world.sync()
    assert outcome.status == "stopped" and "--yes" in outcome.message
    assert len(world.tagged()) == 10  # nothing was changed
    outcome = world.sync(confirmed=True)
    assert outcome.ok and world.tagged() == []


def test_dry_run_changes_nothing(world: World) -> None:
    world.add("Zoë")
    outcome = world.sync(dry_run=True)
    assert outcome.ok and outcome.report.plan
    assert world.google.people == {} and world.google.groups == {}
    assert world.repo.list_runs(world.user.id) == []


def test_rejected_record_is_skipped_and_retried(world: World) -> None:
    world.add("Good")
    world.add("Bad")
    world.google.reject = lambda f: "refused" if f["given_name"] == "Bad" else ""
    outcome = world.sync()
    assert outcome.ok and len(outcome.report.skipped) == 1 and "Bad" in outcome.report.skipped[0]
    assert [p.fields["given_name"] for p in world.google.in_group(world.group)] == ["Good"]
    world.google.reject = lambda f: ""
    world.sync()
    assert sorted(p.fields["given_name"] for p in world.google.in_group(world.group)) == [
        "Bad", "Good"]


def test_expired_token_full_listing_reconciles_without_duplicates(world: World) -> None:
    for i in range(3):
        world.add(f"C{i}")
    world.sync()
    world.google.expire_tokens()
    outcome = world.sync()
    assert outcome.ok and outcome.report.google.created == 0 and outcome.report.crm.created == 0
    assert len(world.google.in_group(world.group)) == 3


def test_interrupted_run_links_what_it_created(world: World) -> None:
    c = world.add("Zoë")
    # Google got the contact (with the CRM id) but the run died before linking it locally.
    world.google.ensure_group("", "crmtui")
    world.google.create([type("N", (), {"crm_id": c.id, "fields": contact_fields(c)})()],
                        world.group)
    outcome = world.sync()
    assert outcome.ok and outcome.report.google.created == 0
    assert len(world.google.people) == 1
    assert world.repo.get_link(world.user.id, SyncKind.CONTACTS, c.id) is not None


def test_stale_etag_is_reread_and_merged(world: World) -> None:
    zoe = world.add("Zoë", job_title="CEO")
    world.sync()
    [person] = world.google.in_group(world.group)
    world.repo.update_contact(world.repo.get_contact(zoe.id).evolve(job_title="Founder"))
    original = world.google.list_changes

    def list_then_edit(token, group):  # type: ignore[no-untyped-def]
        listing = original(token, group)
        world.google.gmail_edit(person.remote_id, company="Edited meanwhile")
        return listing

    world.google.list_changes = list_then_edit  # type: ignore[method-assign]
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert world.google.people[person.remote_id].fields["job_title"] == "Founder"
    assert world.repo.get_contact(zoe.id).company == "Edited meanwhile"


def test_own_writes_coming_back_are_not_looked_at_again(world: World,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing after a run returns that run's own writes; with the etags crmtui stored they
    count as unchanged, so the next run reads no CRM contact for them."""
    for i in range(5):
        world.add(f"C{i}")
    world.sync()
    loaded: list[str] = []
    original = world.repo.get_contacts

    def spy(ids, viewer_id=None):  # type: ignore[no-untyped-def]
        loaded.extend(ids)
        return original(ids, viewer_id)

    monkeypatch.setattr(world.repo, "get_contacts", spy)
    # Make the stored token older than the creates, as Google's is (taken before the writes).
    state = world.repo.get_sync_state(world.user.id, SyncKind.CONTACTS)
    world.repo.set_sync_state(world.user.id, SyncKind.CONTACTS,
                              {**state, "sync_token": "0", "local_stamp": state["last_sync"]})
    assert len(world.google.list_changes("0", world.group).contacts) == 5
    outcome = world.sync()
    assert outcome.ok and outcome.report.counts()["google_updated"] == 0
    assert loaded == []


def test_emails_differing_only_in_case_are_no_change_and_no_conflict() -> None:
    from datetime import UTC, datetime

    from crmtui.sync.contacts.mapping import respell, same_field
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    crm = {"emails": [{"value": "kari@nord.no", "type": "work", "primary": True}]}
    gmail = {"emails": [{"value": "KARI@NORD.no", "type": "work", "primary": True}]}
    for base in (None, crm, gmail):
        for local_time, remote_time in ((early, late), (late, early)):
            merge = merge_fields(["emails"], base, crm, gmail, local_time=local_time,
                                 remote_time=remote_time, record_id="x", same=same_field)
            assert merge.conflicts == [] and merge.to_local == [] and merge.to_remote == []
    # Gmail adds an email: the CRM gets it, and keeps its own spelling of the one it had.
    added = {"emails": [*gmail["emails"],
                        {"value": "kari@home.no", "type": "home", "primary": False}]}
    merge = merge_fields(["emails"], crm, crm, added, local_time=late, remote_time=early,
                         record_id="x", same=same_field)
    assert merge.to_local == ["emails"] and merge.to_remote == [] and merge.conflicts == []
    assert [e["value"] for e in respell(merge.fields, crm)["emails"]] == [
        "kari@nord.no", "kari@home.no"]
    # A different type is a change, not a case matter.
    home = {"emails": [{"value": "KARI@nord.no", "type": "home", "primary": True}]}
    merge = merge_fields(["emails"], crm, crm, home, local_time=late, remote_time=early,
                         record_id="x", same=same_field)
    assert merge.to_local == ["emails"] and merge.fields == home
    # Without ``same`` the merge compares values as they are.
    merge = merge_fields(["emails"], None, crm, gmail, local_time=late, remote_time=early,
                         record_id="x")
    assert len(merge.conflicts) == 1


def test_a_contact_tagged_again_after_its_gmail_copy_was_deleted_is_created_at_once(
        world: World) -> None:
    zoe = world.add("Zoë", emails=["zoe@example.com"])
    assert world.sync().ok
    old = world.repo.get_link(world.user.id, SyncKind.CONTACTS, zoe.id)
    assert old is not None
    world.repo.tag_contacts([zoe.id], world.tag.id, world.user.id, remove=True)
    assert world.sync().ok
    world.google.gmail_delete(old.remote_id)
    world.repo.tag_contacts([zoe.id], world.tag.id, world.user.id)
    outcome = world.sync()
    assert outcome.ok and outcome.report.google.created == 1
    link = world.repo.get_link(world.user.id, SyncKind.CONTACTS, zoe.id)
    assert link is not None and link.remote_id != old.remote_id
    assert world.google.people[link.remote_id].crm_id == zoe.id
    assert world.repo.get_sync_state(world.user.id, SyncKind.CONTACTS).get("parked") in ({}, None)
