"""Two-way contact sync end to end: the sync service and the People adapter against the emulator,
through the real client library (DESIGN.md section 3, "Contacts", and the safety rules). Gmail
is changed through the emulator's control API; fixtures are in ``conftest.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from store.pgserver import backend_repo, new_database, pg_server  # noqa: F401
from synckit import Gmail, Requests, Syncer, client_data, control, fault, groups_of, person

from crmtui.cli import cli
from crmtui.emulator import Emulator
from crmtui.model import (
    Account,
    AccountState,
    Address,
    Contact,
    Email,
    Phone,
    SyncKind,
    Tag,
    User,
)
from crmtui.store import TinyDBRepository
from crmtui.sync.contacts.actions import MergeContact
from crmtui.sync.google.people import GooglePeople
from crmtui.sync.remote import CRM_ID_KEY, Listing


@pytest.fixture(params=["tinydb", "postgres"])
def repo(request, tmp_path, monkeypatch):
    """Every test here runs on both stores (PostgreSQL: a database of its own)."""
    yield from backend_repo(request, tmp_path, monkeypatch)


Json = dict[str, Any]


def add(repo: TinyDBRepository, user: User, tag: Tag | None, given: str, family: str = "",
        **kw: Any) -> Contact:
    """A contact of ``user``, carrying ``tag`` (None: untagged)."""
    return repo.add_contact(Contact(given_name=given, family_name=family, owner_id=user.id,
                                    tags=[tag.id] if tag else [], **kw))


def edit(repo: TinyDBRepository, user: User, contact: Contact, *, at: datetime | None = None,
         **changes: Any) -> Contact:
    """Change a contact in the CRM (modified now, or ``at``)."""
    current = repo.get_contact(contact.id, user.id).evolve(**changes)
    if at is None:
        return repo.update_contact(current, user.id)
    return repo.update_contact(current.evolve(modified=at), user.id, touch=False)


def remote_id(repo: TinyDBRepository, user: User, contact: Contact) -> str:
    link = repo.get_link(user.id, SyncKind.CONTACTS, contact.id)
    assert link is not None, f"{contact.given_name} is not linked"
    return link.remote_id


def tagged(repo: TinyDBRepository, user: User, contact: Contact, tag: Tag) -> bool:
    return tag.id in repo.get_contact(contact.id, user.id).tags


def values(found: Json, field: str, *keys: str) -> list[tuple[Any, ...]]:
    """``keys`` of every item of a rendered Person's ``field``."""
    return [tuple(item.get(k) for k in keys) for item in found.get(field) or []]


def crmtui(data_dir: Path, *args: str) -> Any:
    """``crmtui --data-dir DIR --user ann@example.com ARGS`` in process (a click Result)."""
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--user", "ann@example.com",
                                    *args], catch_exceptions=False)


def ok(outcome: Any) -> Any:
    assert outcome.ok, (outcome.status, outcome.message)
    return outcome.report


# --------------------------------------------------------------------------- first sync


def test_first_sync_creates_the_group_and_pushes_tagged_contacts(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    zoe = add(repo, user, sync_tag, "Zoë", "Berg", company="Nordlys", job_title="CEO",
              emails=[Email("zoe@nordlys.no", "work", True), Email("zoe@home.no", "home")],
              phones=[Phone("+47 22 33 44 55", "work", True), Phone("+47 900 11 222", "mobile")],
              addresses=[Address(type="work", street="Storgata 1", city="Oslo",
                                 postal_code="0155", country="Norway", primary=True)],
              birthday=date(1980, 2, 29), notes="Met at the Bergen fair")
    add(repo, user, None, "Untagged", emails=["untagged@example.com"])
    report = ok(sync())
    assert gmail.group_named("crmtui") == gmail.group
    [found] = gmail.contacts()
    assert found["resourceName"] == remote_id(repo, user, zoe)
    assert values(found, "names", "givenName", "familyName") == [("Zoë", "Berg")]
    assert values(found, "emailAddresses", "value", "type") == [
        ("zoe@nordlys.no", "work"), ("zoe@home.no", "home")]
    assert values(found, "phoneNumbers", "value", "type") == [
        ("+47 22 33 44 55", "work"), ("+47 900 11 222", "mobile")]
    assert values(found, "organizations", "name", "title") == [("Nordlys", "CEO")]
    assert values(found, "addresses", "streetAddress", "city", "postalCode", "country",
                  "type") == [("Storgata 1", "Oslo", "0155", "Norway", "work")]
    assert [b["date"] for b in found["birthdays"]] == [{"year": 1980, "month": 2, "day": 29}]
    assert values(found, "biographies", "value") == [("Met at the Bergen fair",)]
    assert client_data(found) == {CRM_ID_KEY: zoe.id}
    assert gmail.group in groups_of(found)
    assert report.google.created == 1 and "Created the Google group 'crmtui'." in report.notes
    run = repo.list_runs(user.id)[0]
    assert run.status == "ok" and run.counts["google_created"] == 1


def test_contacts_put_into_the_group_in_gmail_are_imported_and_tagged(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    ok(sync())
    nils = gmail.create(person("Nils", "Dahl", email="nils@fjord.no",
                               organizations=[{"name": "Fjord AS", "title": "CTO"}]))
    elsewhere = gmail.create(person("Elsewhere", email="else@example.com"), in_group=False)
    later = gmail.create(person("Later", email="later@example.com"), in_group=False)
    gmail.move_in(later["resourceName"])
    report = ok(sync())
    assert report.crm.created == 2
    imported = {c.given_name: c for c in repo.iter_contacts()}
    assert "Elsewhere" not in imported
    for name, found in (("Nils", nils), ("Later", later)):
        contact = imported[name]
        assert contact.tags == [sync_tag.id] and contact.owner_id == user.id
        assert remote_id(repo, user, contact) == found["resourceName"]
    assert [(e.value, e.type) for e in imported["Nils"].emails] == [("nils@fjord.no", "work")]
    assert (imported["Nils"].company, imported["Nils"].job_title) == ("Fjord AS", "CTO")
    assert gmail.get(elsewhere["resourceName"])  # untouched, still in Gmail


def test_a_gmail_contact_with_the_email_of_a_crm_contact_is_linked_not_duplicated(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    known = add(repo, user, None, "Kari", "Nord", emails=["kari@nord.no"], job_title="Buyer")
    ok(sync())
    found = gmail.create(person("Kari", "Nord", email="KARI@nord.no",
                                biographies=[{"value": "from Gmail"}]))
    before = repo.count_contacts()
    report = ok(sync())
    assert repo.count_contacts() == before
    assert report.crm.linked == 1 and report.crm.created == 0 and report.google.created == 0
    assert tagged(repo, user, known, sync_tag)
    assert remote_id(repo, user, known) == found["resourceName"]
    assert repo.get_contact(known.id).notes == "from Gmail"
    assert [c["resourceName"] for c in gmail.contacts()] == [found["resourceName"]]
    assert values(gmail.get(found["resourceName"]), "organizations", "title") == [("Buyer",)]


# --------------------------------------------------------------------------- incremental


def test_a_sync_right_after_the_first_changes_nothing(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer,
        requests: Requests) -> None:
    add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"], phones=["+47 22 33 44 55"])
    ok(sync())
    dump = repo.dump()["contacts"]
    report = ok(sync())
    assert report.counts() == dict.fromkeys(report.counts(), 0)
    assert repo.dump()["contacts"] == dump
    assert requests()["total"] == 2


def test_incremental_sync_sends_only_changes(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests) -> None:
    contacts = [add(repo, user, sync_tag, f"Person{i}", emails=[f"p{i}@example.com"])
                for i in range(5)]
    ok(sync())
    ok(sync())  # settles what the first run read back
    etags = {c["resourceName"]: c["etag"] for c in gmail.contacts()}
    edit(repo, user, contacts[2], job_title="Founder")
    report = ok(sync())
    assert report.google.updated == 1 and report.crm.updated == 0
    assert requests()["by_path"] == {f"GET /v1/{gmail.group}": 1,
                                     "GET /v1/people/me/connections": 1,
                                     "POST /v1/people:batchUpdateContacts": 1}
    changed = {c["resourceName"] for c in gmail.contacts() if c["etag"] != etags[c["resourceName"]]}
    assert changed == {remote_id(repo, user, contacts[2])}
    assert values(gmail.get(remote_id(repo, user, contacts[2])), "organizations", "title") == [
        ("Founder",)]


# --------------------------------------------------------------------------- merging


@pytest.fixture
def synced(repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer) -> Contact:
    """Zoë, synced and settled (CEO of Nordlys)."""
    zoe = add(repo, user, sync_tag, "Zoë", "Berg", company="Nordlys", job_title="CEO",
              emails=[Email("zoe@nordlys.no", "work", True)], notes="first note")
    ok(sync())
    ok(sync())
    return zoe


def test_a_field_changed_on_both_sides_crm_newer_wins_and_is_journaled(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer) -> None:
    rid = remote_id(repo, user, synced)
    gmail.edit(rid, organizations=[{"name": "Nordlys", "title": "Chair"}])
    edit(repo, user, synced, job_title="Founder", at=datetime.now(UTC) + timedelta(hours=1))
    report = ok(sync())
    assert values(gmail.get(rid), "organizations", "title") == [("Founder",)]
    assert repo.get_contact(synced.id).job_title == "Founder"
    [conflict] = repo.list_runs(user.id)[0].conflicts
    assert (conflict.record_id, conflict.field_name, conflict.kept, conflict.lost,
            conflict.winner) == (synced.id, "job_title", "Founder", "Chair", "crm")
    assert len(report.conflicts) == 1


def test_a_field_changed_on_both_sides_gmail_newer_wins_and_is_journaled(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer,
        emulator: Emulator) -> None:
    rid = remote_id(repo, user, synced)
    edit(repo, user, synced, job_title="Founder")
    control(emulator, "POST", "/clock", {"advance": 3600})
    gmail.edit(rid, organizations=[{"name": "Nordlys", "title": "Chair"}])
    ok(sync())
    assert repo.get_contact(synced.id).job_title == "Chair"
    assert values(gmail.get(rid), "organizations", "title") == [("Chair",)]
    [conflict] = repo.list_runs(user.id)[0].conflicts
    assert (conflict.field_name, conflict.kept, conflict.lost, conflict.winner) == (
        "job_title", "Chair", "Founder", "google")


def test_fields_changed_on_one_side_only_are_taken_from_that_side(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer,
        emulator: Emulator) -> None:
    rid = remote_id(repo, user, synced)
    control(emulator, "POST", "/clock", {"advance": 3600})  # Gmail's change is the newer
    gmail.edit(rid, biographies=[{"value": "note from Gmail"}],
               phoneNumbers=[{"value": "+47 900 11 222", "type": "mobile"}])
    edit(repo, user, synced, job_title="Founder")
    report = ok(sync())
    assert report.conflicts == [] and repo.list_runs(user.id)[0].conflicts == []
    zoe = repo.get_contact(synced.id)
    assert (zoe.job_title, zoe.notes) == ("Founder", "note from Gmail")
    assert [(p.value, p.type) for p in zoe.phones] == [("+47 900 11 222", "mobile")]
    found = gmail.get(rid)
    assert values(found, "organizations", "title") == [("Founder",)]
    assert values(found, "biographies", "value") == [("note from Gmail",)]
    assert values(found, "phoneNumbers", "value") == [("+47 900 11 222",)]


def test_person_fields_crmtui_does_not_own_survive_a_crm_edit(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer) -> None:
    rid = remote_id(repo, user, synced)
    gmail.edit(rid, urls=[{"value": "https://nordlys.no", "type": "work"}],
               organizations=[{"name": "Nordlys", "title": "CEO", "department": "Board"}],
               userDefined=[{"key": "Customer no", "value": "4711"}])
    ok(sync())
    edit(repo, user, synced, company="Nordlys AS", job_title="Founder", notes="new note")
    ok(sync())
    found = gmail.get(rid)
    assert values(found, "organizations", "name", "title", "department") == [
        ("Nordlys AS", "Founder", "Board")]
    assert values(found, "urls", "value") == [("https://nordlys.no",)]
    assert values(found, "userDefined", "key", "value") == [("Customer no", "4711")]
    assert values(found, "biographies", "value") == [("new note",)]


# --------------------------------------------------------------------------- leaving the sync


def test_deleted_or_ungrouped_in_gmail_is_untagged_in_the_crm(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    gone = add(repo, user, sync_tag, "Gone", emails=["gone@example.com"])
    out = add(repo, user, sync_tag, "Out", emails=["out@example.com"])
    stays = add(repo, user, sync_tag, "Stays", emails=["stays@example.com"])
    ok(sync())
    gmail.delete(remote_id(repo, user, gone))
    gmail.move_out(remote_id(repo, user, out))
    report = ok(sync())
    assert report.crm.untagged == 2
    for contact in (gone, out):
        assert repo.get_contact(contact.id).given_name == contact.given_name  # still there
        assert not tagged(repo, user, contact, sync_tag)
        assert repo.get_link(user.id, SyncKind.CONTACTS, contact.id) is None
    assert tagged(repo, user, stays, sync_tag)
    assert gmail.members() == [remote_id(repo, user, stays)]


def test_deleted_or_untagged_in_the_crm_is_removed_from_the_group_and_stays_in_gmail(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    deleted = add(repo, user, sync_tag, "Deleted", emails=["deleted@example.com"])
    untagged = add(repo, user, sync_tag, "Untagged", emails=["untagged@example.com"])
    stays = add(repo, user, sync_tag, "Stays", emails=["stays@example.com"])
    ok(sync())
    ids = {c.given_name: remote_id(repo, user, c) for c in (deleted, untagged, stays)}
    repo.delete_contact(deleted.id)
    repo.tag_contacts([untagged.id], sync_tag.id, user.id, remove=True)
    report = ok(sync())
    assert report.google.removed == 2
    assert gmail.members() == [ids["Stays"]]
    for name in ("Deleted", "Untagged"):
        found = gmail.get(ids[name])  # still in Gmail
        assert values(found, "names", "givenName") == [(name,)]
        assert "contactGroups/myContacts" in groups_of(found)
    assert repo.get_link(user.id, SyncKind.CONTACTS, untagged.id) is None
    assert not tagged(repo, user, untagged, sync_tag)


def test_leaving_and_rejoining_the_sync_never_duplicates_the_gmail_contact(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    """Out of the group and back (in Gmail, or by the tag in the CRM): the same Gmail contact."""
    zoe = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    kari = add(repo, user, sync_tag, "Kari", emails=["kari@example.com"])
    ok(sync())
    ids = {c.id: remote_id(repo, user, c) for c in (zoe, kari)}
    gmail.move_out(ids[zoe.id])
    repo.tag_contacts([kari.id], sync_tag.id, user.id, remove=True)
    ok(sync())
    assert gmail.members() == []
    gmail.move_in(ids[zoe.id])
    repo.tag_contacts([kari.id], sync_tag.id, user.id)
    report = ok(sync())
    assert report.crm.created == 0 and report.google.created == 0
    assert sorted(c["resourceName"] for c in gmail.contacts()) == sorted(ids.values())
    assert sorted(gmail.members()) == sorted(ids.values())
    assert repo.count_contacts() == 3
    assert {c.id: remote_id(repo, user, c) for c in (zoe, kari)} == ids
    assert tagged(repo, user, zoe, sync_tag)


# --------------------------------------------------------------------------- the group


def test_a_group_name_changed_in_the_settings_renames_the_group_in_gmail(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    add(repo, user, sync_tag, "Ada")
    ok(sync())
    group = gmail.group
    repo.save_sync_settings(repo.get_sync_settings(user.id).evolve(
        contacts_group_name="Customers"))
    dry = sync(dry_run=True)
    assert any("rename the group 'crmtui' to 'Customers'" in line for line in dry.report.plan)
    report = ok(sync())
    assert any("Renamed the Google group to 'Customers'" in n for n in report.notes)
    assert gmail.group_named("Customers") == group  # the same group, renamed
    assert len(gmail.members()) == 1
    gmail.rename_group("Clients")  # then renamed in Gmail: crmtui follows, does not undo it
    ok(sync())
    assert gmail.group_named("Clients") == group


def test_a_group_renamed_in_gmail_keeps_syncing_by_resource_name(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    first = add(repo, user, sync_tag, "First", emails=["first@example.com"])
    ok(sync())
    group = gmail.group
    gmail.rename_group("Customers")
    second = add(repo, user, sync_tag, "Second", emails=["second@example.com"])
    edit(repo, user, first, job_title="Founder")
    report = ok(sync())
    assert not [note for note in report.notes if "deleted" in note or "Created" in note]
    assert gmail.group_named("crmtui") == "" and gmail.group_named("Customers") == group
    assert sorted(gmail.members()) == sorted(remote_id(repo, user, c) for c in (first, second))
    assert values(gmail.get(remote_id(repo, user, first)), "organizations", "title") == [
        ("Founder",)]
    assert repo.get_sync_state(user.id, SyncKind.CONTACTS)["group"] == group


def test_a_group_deleted_in_gmail_is_recreated_and_filled_again_with_the_tagged_contacts(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    contacts = [add(repo, user, sync_tag, f"Person{i}", emails=[f"p{i}@example.com"])
                for i in range(6)]
    ok(sync())
    old = gmail.group
    gmail.delete_group()
    report = ok(sync())
    assert any("deleted in Gmail" in note for note in report.notes)
    assert any("filled again with the 6 contacts" in note for note in report.notes)
    assert report.crm.untagged == 0
    assert all(tagged(repo, user, c, sync_tag) for c in contacts)  # the tags stay
    assert repo.count_contacts() == 7 and len(gmail.contacts()) == 6  # nothing deleted
    new = gmail.group_named("crmtui")
    assert new and new != old
    assert sorted(gmail.members()) == sorted(remote_id(repo, user, c) for c in contacts)
    newcomer = add(repo, user, sync_tag, "Newcomer")
    again = ok(sync())
    assert not any("deleted in Gmail" in note for note in again.notes)  # reported once
    assert remote_id(repo, user, newcomer) in gmail.members() and len(gmail.members()) == 7


def test_a_small_group_deleted_in_gmail_is_recreated_and_the_next_run_writes_nothing(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests) -> None:
    people = [add(repo, user, sync_tag, f"Person{i}") for i in range(2)]
    ok(sync())
    gmail.delete_group()
    ok(sync())
    assert sorted(gmail.members()) == sorted(remote_id(repo, user, c) for c in people)
    requests.reset()
    ok(sync())
    assert writes(requests) == []


# --------------------------------------------------------------------------- safety rules


def test_an_expired_sync_token_leads_to_a_full_listing_without_duplicates_or_losses(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        emulator: Emulator) -> None:
    mine = [add(repo, user, sync_tag, f"Person{i}", emails=[f"p{i}@example.com"])
            for i in range(3)]
    ok(sync())
    theirs = gmail.create(person("Gmail", "Only", email="gmail@example.com"))
    ok(sync())
    ok(sync())
    control(emulator, "POST", "/clock", {"advance": 8 * 24 * 3600})
    edit(repo, user, mine[0], job_title="Founder", at=datetime.now(UTC) + timedelta(days=9))
    gmail.edit(remote_id(repo, user, mine[1]), biographies=[{"value": "from Gmail"}])
    report = ok(sync())
    assert any("sync token had expired" in note for note in report.notes)
    assert report.google.created == 0 and report.crm.created == 0 and report.crm.untagged == 0
    assert len(gmail.contacts()) == 4 and len(gmail.members()) == 4
    assert repo.count_contacts() == 5  # Ann, three of hers, one from Gmail
    assert values(gmail.get(remote_id(repo, user, mine[0])), "organizations", "title") == [
        ("Founder",)]
    assert repo.get_contact(mine[1].id).notes == "from Gmail"
    assert len(repo.list_links(user.id, SyncKind.CONTACTS)) == 4
    assert {link.remote_id for link in repo.list_links(user.id, SyncKind.CONTACTS)} >= {
        theirs["resourceName"]}


def test_a_stale_etag_is_reread_and_merged_never_overwritten(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer,
        requests: Requests, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = remote_id(repo, user, synced)
    listed = GooglePeople.list_changes

    def list_then_edit_in_gmail(self: GooglePeople, sync_token: str, group: str) -> Listing:
        listing = listed(self, sync_token, group)
        gmail.edit(rid, biographies=[{"value": "written in Gmail meanwhile"}])
        return listing

    monkeypatch.setattr(GooglePeople, "list_changes", list_then_edit_in_gmail)
    edit(repo, user, synced, job_title="Founder")
    report = ok(sync())
    assert report.google.updated == 1 and not report.skipped and not report.conflicts
    found = gmail.get(rid)
    assert values(found, "organizations", "title") == [("Founder",)]
    assert values(found, "biographies", "value") == [("written in Gmail meanwhile",)]
    assert requests.calls("people:batchGet") == 1  # read again
    monkeypatch.undo()
    ok(sync())
    assert repo.get_contact(synced.id).notes == "written in Gmail meanwhile"


def _saved_by_a_person_during_the_pull(monkeypatch: pytest.MonkeyPatch, repo: TinyDBRepository,
                                       user: User, contact: Contact, **changes: Any) -> None:
    """A person saves ``changes`` to ``contact`` after the sync read it (and wrote Gmail), just
    before the sync writes what Gmail brought into crmtui."""
    settle = MergeContact.settle

    def saved_first(self: MergeContact, ctx: Any, result: Any) -> None:
        edit(repo, user, contact, **changes)
        settle(self, ctx, result)

    monkeypatch.setattr(MergeContact, "settle", saved_first)


def test_a_crm_edit_saved_while_the_sync_runs_is_kept_beside_what_gmail_brings(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rid = remote_id(repo, user, synced)
    gmail.edit(rid, biographies=[{"value": "note from Gmail"}])
    _saved_by_a_person_during_the_pull(monkeypatch, repo, user, synced, job_title="Founder")
    ok(sync())
    zoe = repo.get_contact(synced.id)
    assert (zoe.job_title, zoe.notes) == ("Founder", "note from Gmail")
    monkeypatch.undo()
    ok(sync())  # the person's change goes to Gmail with the next run
    found = gmail.get(rid)
    assert values(found, "organizations", "title") == [("Founder",)]
    assert values(found, "biographies", "value") == [("note from Gmail",)]
    zoe = repo.get_contact(synced.id)
    assert (zoe.job_title, zoe.notes) == ("Founder", "note from Gmail")
    assert not ok(sync()).google.updated  # settled


def test_a_crm_edit_of_the_field_gmail_changed_saved_during_the_sync_wins_and_is_sent(
        repo: TinyDBRepository, user: User, synced: Contact, gmail: Gmail, sync: Syncer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rid = remote_id(repo, user, synced)
    gmail.edit(rid, biographies=[{"value": "note from Gmail"}])
    _saved_by_a_person_during_the_pull(monkeypatch, repo, user, synced, notes="my own note")
    report = ok(sync())
    assert repo.get_contact(synced.id).notes == "my own note"  # the most recent change
    assert any("notes saved in crmtui during the sync" in n for n in report.notes), report.notes
    monkeypatch.undo()
    ok(sync())
    assert values(gmail.get(rid), "biographies", "value") == [("my own note",)]
    assert repo.get_contact(synced.id).notes == "my own note"


def test_429_and_5xx_storms_are_retried_and_the_run_succeeds(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        emulator: Emulator, sleeps: list[float]) -> None:
    contacts = [add(repo, user, sync_tag, f"Person{i}") for i in range(3)]
    fault(emulator, "/v1/contactGroups$", method="GET", count=2, status=500)
    fault(emulator, "/v1/people/me/connections", count=2, status=503)
    fault(emulator, "people:batchCreateContacts", count=3, status=429,
          headers={"Retry-After": "7"})
    report = ok(sync())
    assert report.google.created == 3
    assert len(sleeps) == 7 and sleeps.count(7.0) == 3
    assert sorted(gmail.members()) == sorted(remote_id(repo, user, c) for c in contacts)
    assert len(gmail.contacts()) == 3


def test_a_storm_longer_than_the_retry_bound_fails_the_run_cleanly(
        repo: TinyDBRepository, user: User, synced: Contact, sync_tag: Tag, gmail: Gmail,
        sync: Syncer, emulator: Emulator) -> None:
    newcomer = add(repo, user, sync_tag, "Newcomer", emails=["new@example.com"])
    edit(repo, user, synced, job_title="Founder")
    fault(emulator, "people:batchUpdateContacts", count=6, status=503)
    failed = sync()
    assert failed.status == "failed"
    assert "batchUpdateContacts" in failed.message and "503" in failed.message
    run = repo.list_runs(user.id)[0]
    assert run.status == "failed" and failed.message in run.errors
    rid = remote_id(repo, user, newcomer)  # the creates before the storm were committed
    assert gmail.get(rid)
    report = ok(sync())
    assert report.google.created == 0 and report.google.updated == 1
    assert values(gmail.get(remote_id(repo, user, synced)), "organizations", "title") == [
        ("Founder",)]
    assert len(gmail.contacts()) == 2


def test_a_record_google_rejects_is_skipped_and_reported_and_retried_next_run(
        repo: TinyDBRepository, user: User, synced: Contact, sync_tag: Tag, gmail: Gmail,
        sync: Syncer, emulator: Emulator) -> None:
    rejected = add(repo, user, sync_tag, "Rejected", emails=["rejected@example.com"])
    edit(repo, user, synced, job_title="Founder")
    imported = gmail.create(person("Nils", email="nils@example.com"))
    fault(emulator, "people:batchCreateContacts", count=1, status=400,
          body={"error": {"code": 400, "message": "Invalid email address.",
                          "status": "INVALID_ARGUMENT"}})
    report = ok(sync())
    [skipped] = report.skipped
    assert "Rejected" in skipped and "Invalid email address." in skipped
    assert repo.list_runs(user.id)[0].errors == [skipped]
    assert repo.get_link(user.id, SyncKind.CONTACTS, rejected.id) is None
    assert values(gmail.get(remote_id(repo, user, synced)), "organizations", "title") == [
        ("Founder",)]
    assert any(c.given_name == "Nils" for c in repo.iter_contacts())
    assert len(gmail.contacts()) == 2  # Zoë and Nils
    report = ok(sync())
    assert report.google.created == 1 and not report.skipped
    assert gmail.get(remote_id(repo, user, rejected))
    assert imported["resourceName"] in gmail.members()


def test_a_gmail_contact_that_cannot_be_mapped_is_skipped_and_reported_and_retried(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    ok(sync())
    bad = gmail.create(person("Bad", email="not an email address"))
    gmail.create(person("Good", email="good@example.com"))
    report = ok(sync())
    [skipped] = report.skipped
    assert "Bad" in skipped and report.crm.created == 1
    assert sorted(c.given_name for c in repo.iter_contacts()) == ["Ann", "Good"]
    assert ok(sync()).skipped == [skipped]  # tried again, still refused, still reported
    gmail.edit(bad["resourceName"],
               emailAddresses=[{"value": "bad@example.com", "type": "home"}])
    report = ok(sync())
    assert report.crm.created == 1 and not report.skipped
    [imported] = [c for c in repo.iter_contacts() if c.given_name == "Bad"]
    assert imported.tags == [sync_tag.id] and imported.emails[0].value == "bad@example.com"


def test_an_update_google_rejects_is_skipped_and_reported_and_retried_next_run(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        emulator: Emulator) -> None:
    contacts = [add(repo, user, sync_tag, f"Person{i}", emails=[f"p{i}@example.com"])
                for i in range(3)]
    ok(sync())
    ok(sync())
    with repo.transaction():
        for contact in contacts:
            edit(repo, user, contact, job_title="Founder")
    # The batch is refused as a whole, then one of the single updates (a batch part) too.
    fault(emulator, "people:batchUpdateContacts", count=1, status=400)
    fault(emulator, ":updateContact$", count=1, status=400,
          body={"error": {"code": 400, "message": "Invalid job title.",
                          "status": "INVALID_ARGUMENT"}})
    report = ok(sync())
    [skipped] = report.skipped
    assert "Invalid job title." in skipped and report.google.updated == 2
    titles = {c["resourceName"]: values(c, "organizations", "title") for c in gmail.contacts()}
    [refused] = [rid for rid, title in titles.items() if title != [("Founder",)]]
    report = ok(sync())
    assert report.google.updated == 1 and not report.skipped
    assert values(gmail.get(refused), "organizations", "title") == [("Founder",)]


def test_a_dry_run_changes_nothing_on_either_side_and_prints_the_plan(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests, data_dir: Path) -> None:
    zoe = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    before = repo.dump()
    first = ok(sync(dry_run=True))
    assert gmail.groups() and gmail.group_named("crmtui") == ""  # not created
    assert repo.dump() == before
    assert any("create the Google group" in line for line in first.plan)
    assert any("Google: create Zoë" in line for line in first.plan)
    gone = add(repo, user, sync_tag, "Gone")
    ok(sync())
    ok(sync())
    edit(repo, user, zoe, job_title="Founder")
    add(repo, user, sync_tag, "Newcomer")
    gmail.create(person("Nils", email="nils@example.com"))
    gmail.delete(remote_id(repo, user, gone))
    people, groups, before = gmail.contacts(), gmail.groups(), repo.dump()
    report = ok(sync(dry_run=True))
    assert gmail.contacts() == people and gmail.groups() == groups
    assert repo.dump() == before
    assert not [key for key in requests()["by_path"] if not key.startswith("GET ")]
    plan = "\n".join(report.plan)
    for expected in ("Google: update Zoë (job_title)", "Google: create Newcomer",
                     "crmtui: import Nils from Gmail", "crmtui: remove the sync tag"):
        assert expected in plan
    printed = crmtui(data_dir, "sync", "contacts", "--dry-run")
    assert printed.exit_code == 0, (printed.stdout, printed.stderr)
    assert "Dry run: nothing was written" in printed.stdout
    assert "Google: create Newcomer" in printed.stdout
    repo.refresh()
    assert gmail.contacts() == people and repo.dump() == before


def test_a_refused_token_refresh_fails_the_run_and_marks_the_account(
        repo: TinyDBRepository, user: User, sync_tag: Tag, account: Account, sync: Syncer,
        emulator: Emulator, data_dir: Path) -> None:
    add(repo, user, sync_tag, "Zoë")
    ok(sync())
    control(emulator, "POST", "/tokens/revoke", {"email": account.email})
    control(emulator, "POST", "/tokens/expire", {"email": account.email})
    failed = sync()
    assert failed.status == "failed"
    assert "reconnect" in failed.message or "link google" in failed.message
    assert "Traceback" not in failed.message
    marked = repo.get_account(account.id)
    assert marked.state is AccountState.NEEDS_RECONNECT and marked.state_message
    assert repo.list_runs(user.id)[0].status == "failed"
    again = sync()  # a cron job's next run: a clear message, no call to Google
    assert again.status == "failed" and "link google" in again.message
    printed = crmtui(data_dir, "sync", "contacts")
    assert printed.exit_code == 1
    assert "link google" in printed.stderr and "Traceback" not in printed.stderr


# --------------------------------------------------------------------------- the command line


def test_the_command_syncs_prints_a_summary_and_logs_progress_on_stderr(
        repo: TinyDBRepository, user: User, sync_tag: Tag, account: Account, gmail: Gmail,
        data_dir: Path) -> None:
    add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    result = crmtui(data_dir, "sync", "contacts")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "In Google: 1 created" in result.stdout and "In crmtui: 0 created" in result.stdout
    assert "crmtui sync: " in result.stderr and "crmtui sync:" not in result.stdout
    assert "Traceback" not in result.stderr
    assert len(gmail.members()) == 1


def test_the_command_exits_1_when_the_guard_stops_it(
        repo: TinyDBRepository, user: User, sync_tag: Tag, account: Account, gmail: Gmail,
        data_dir: Path, sync: Syncer) -> None:
    people = [add(repo, user, sync_tag, f"Person{i}") for i in range(6)]
    ok(sync())
    for contact in people:  # all of them deleted in Gmail at once: the guard asks
        gmail.delete(remote_id(repo, user, contact))
    result = crmtui(data_dir, "sync", "contacts")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "--yes" in result.stderr and "Traceback" not in result.stderr
    result = crmtui(data_dir, "sync", "contacts", "--yes")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "6 untagged" in result.stdout


# --------------------------------------------------------------------------- every run converges


def writes(requests: Requests) -> list[str]:
    """The mutating requests of the last run (a batch counts by its parts)."""
    return [f"{r['method']} {r['path']}" for r in requests.log()
            if r["method"] != "GET" and r["batch"] != "outer"]


def spelled(repo: TinyDBRepository, contact: Contact) -> list[tuple[str, str]]:
    return [(e.value, e.type) for e in repo.get_contact(contact.id).emails]


@pytest.mark.parametrize("newer", ["crm", "gmail"])
def test_an_email_differing_only_in_case_links_quietly_and_keeps_each_spelling(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests, emulator: Emulator, newer: str) -> None:
    kari = add(repo, user, None, "Kari", "Nord", emails=[Email("kari@nord.no", "work", True)])
    ok(sync())
    if newer == "gmail":
        control(emulator, "POST", "/clock", {"advance": 3600})
    else:
        edit(repo, user, kari, at=datetime.now(UTC) + timedelta(hours=1))
    found = gmail.create(person("Kari", "Nord", email="Kari.Nord@NORD.no"))
    edit(repo, user, kari, emails=[Email("kari.nord@nord.no", "work", True)],
         **({"at": datetime.now(UTC) + timedelta(hours=1)} if newer == "crm" else {}))
    report = ok(sync())
    assert report.crm.linked == 1 and report.conflicts == []
    assert repo.list_runs(user.id)[0].conflicts == []
    assert remote_id(repo, user, kari) == found["resourceName"]
    assert spelled(repo, kari) == [("kari.nord@nord.no", "work")]
    rid = found["resourceName"]
    assert values(gmail.get(rid), "emailAddresses", "value", "type") == [
        ("Kari.Nord@NORD.no", "work")]
    report = ok(sync())
    assert report.counts() == dict.fromkeys(report.counts(), 0)
    assert writes(requests) == []
    assert values(gmail.get(rid), "emailAddresses", "value") == [("Kari.Nord@NORD.no",)]


def test_an_email_added_on_one_side_keeps_the_other_sides_spelling_of_the_rest(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests, emulator: Emulator) -> None:
    kari = add(repo, user, None, "Kari", emails=[Email("kari@nord.no", "work", True)])
    ok(sync())
    found = gmail.create(person("Kari", email="KARI@NORD.no"))
    ok(sync())
    rid = found["resourceName"]
    control(emulator, "POST", "/clock", {"advance": 60})
    gmail.edit(rid, emailAddresses=[{"value": "KARI@NORD.no", "type": "work"},
                                    {"value": "kari@home.no", "type": "home"}])
    report = ok(sync())
    assert report.conflicts == []
    assert spelled(repo, kari) == [("kari@nord.no", "work"), ("kari@home.no", "home")]
    edit(repo, user, kari, emails=[Email("kari@nord.no", "work", True),
                                   Email("kari@home.no", "home"), Email("k@nord.no", "work")])
    ok(sync())
    assert values(gmail.get(rid), "emailAddresses", "value", "type") == [
        ("KARI@NORD.no", "work"), ("kari@home.no", "home"), ("k@nord.no", "work")]
    assert spelled(repo, kari)[0] == ("kari@nord.no", "work")
    report = ok(sync())
    assert report.counts() == dict.fromkeys(report.counts(), 0) and writes(requests) == []


@pytest.mark.parametrize("left", ["untagged in crmtui", "taken out in Gmail"])
def test_a_contact_tagged_again_after_its_gmail_copy_was_deleted_is_created_by_one_sync(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests, left: str) -> None:
    zoe = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    ok(sync())
    old = remote_id(repo, user, zoe)
    if left == "untagged in crmtui":
        repo.tag_contacts([zoe.id], sync_tag.id, user.id, remove=True)
    else:
        gmail.move_out(old)
    ok(sync())
    gmail.delete(old)
    repo.tag_contacts([zoe.id], sync_tag.id, user.id)
    report = ok(sync())
    assert report.google.created == 1
    [found] = gmail.contacts()
    assert found["resourceName"] != old and gmail.members() == [found["resourceName"]]
    assert remote_id(repo, user, zoe) == found["resourceName"]
    assert client_data(found) == {CRM_ID_KEY: zoe.id}
    report = ok(sync())
    assert report.counts() == dict.fromkeys(report.counts(), 0) and writes(requests) == []
    assert repo.get_sync_state(user.id, SyncKind.CONTACTS).get("parked") in ({}, None)


def test_a_gmail_contact_brought_back_after_its_crm_contact_was_deleted_carries_the_new_id(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests) -> None:
    zoe = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    ok(sync())
    rid = remote_id(repo, user, zoe)
    repo.delete_contact(zoe.id)
    ok(sync())  # out of the group, still in Gmail
    gmail.move_in(rid)
    report = ok(sync())
    assert report.crm.created == 1
    [back] = [c for c in repo.iter_contacts() if c.given_name == "Zoë"]
    assert back.id != zoe.id and remote_id(repo, user, back) == rid
    assert client_data(gmail.get(rid)) == {CRM_ID_KEY: back.id}
    report = ok(sync())
    assert report.counts() == dict.fromkeys(report.counts(), 0) and writes(requests) == []


def test_a_push_corrects_a_crmtui_id_that_names_another_record(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    """A link made before the import corrected ids: the next write of the pair corrects it."""
    zoe = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    ok(sync())
    rid = remote_id(repo, user, zoe)
    gmail.edit(rid, clientData=[{"key": CRM_ID_KEY, "value": "0" * 32},
                                {"key": "other-app", "value": "kept"}])
    ok(sync())
    assert client_data(gmail.get(rid)) == {CRM_ID_KEY: zoe.id, "other-app": "kept"}
    edit(repo, user, zoe, job_title="Founder")
    ok(sync())
    found = gmail.get(rid)
    assert client_data(found) == {CRM_ID_KEY: zoe.id, "other-app": "kept"}
    assert values(found, "organizations", "title") == [("Founder",)]
