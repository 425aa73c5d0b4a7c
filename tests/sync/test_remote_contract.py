"""One contract for :class:`crmtui.sync.remote.ContactsRemote`, run against the in-memory fake
(:class:`crmtui.sync.fake.FakeContactsRemote`, what the engine's unit tests use) and against the
People adapter (:class:`crmtui.sync.google.people.GooglePeople`) on the emulator, so the fake
cannot drift from Google. Each implementation comes with a ``Side``: the other side of the sync,
acting "in Gmail" (create, edit, delete a contact, take it out of the group, rename or delete the
group, expire the sync tokens, refuse the credentials).

The CalendarRemote contract is in ``test_calendar_contract.py`` (there is no calendar fake yet:
it runs against the Calendar adapter only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from synckit import control

from crmtui.emulator import Emulator
from crmtui.emulator.state import authorized_user
from crmtui.sync.fake import FakeContactsRemote
from crmtui.sync.google import auth
from crmtui.sync.google.people import GooglePeople, person_body, to_fields
from crmtui.sync.google.people_mapping import PERSON_FIELD_OF
from crmtui.sync.remote import (
    CONTACT_FIELDS,
    AuthError,
    ContactsRemote,
    ContactUpdate,
    NewContact,
    RemoteContact,
    RemoteError,
    WriteResult,
)

GROUP = "crmtui"
EMAIL = "ann@example.com"
Json = dict[str, Any]


def fields(**values: Any) -> Json:
    """Complete canonical fields: empty but for ``values``."""
    base: Json = {name: "" for name in CONTACT_FIELDS}
    base.update(emails=[], phones=[], addresses=[], birthday=None)
    base.update(values)
    return base


def email(value: str) -> Json:
    return {"value": value, "type": "work", "primary": True}


class Side(Protocol):
    """The remote under test, and Gmail acting on the same account."""

    remote: ContactsRemote

    def create(self, values: Json, *, groups: tuple[str, ...] = ()) -> str:
        """A contact made in Gmail (in ``groups``); its resource name."""

    def edit(self, remote_id: str, **changes: Any) -> None:
        """Change canonical fields of a contact in Gmail."""

    def delete(self, remote_id: str) -> None: ...

    def ungroup(self, remote_id: str, group: str) -> None: ...

    def rename_group(self, group: str, name: str) -> None: ...

    def delete_group(self, group: str) -> None: ...

    def make_group(self, name: str) -> str: ...

    def expire_sync_tokens(self) -> None: ...

    def refuse_credentials(self) -> None: ...


class FakeSide:
    def __init__(self) -> None:
        self.fake = FakeContactsRemote()
        self.remote: ContactsRemote = self.fake

    def create(self, values: Json, *, groups: tuple[str, ...] = ()) -> str:
        return self.fake.gmail_create(values, groups=groups)

    def edit(self, remote_id: str, **changes: Any) -> None:
        self.fake.gmail_edit(remote_id, **changes)

    def delete(self, remote_id: str) -> None:
        self.fake.gmail_delete(remote_id)

    def ungroup(self, remote_id: str, group: str) -> None:
        self.fake.gmail_ungroup(remote_id, group)

    def rename_group(self, group: str, name: str) -> None:
        self.fake.gmail_rename_group(group, name)

    def delete_group(self, group: str) -> None:
        self.fake.gmail_delete_group(group)

    def make_group(self, name: str) -> str:
        return self.fake.gmail_create_group(name)

    def expire_sync_tokens(self) -> None:
        self.fake.expire_tokens()

    def refuse_credentials(self) -> None:
        self.fake.refuse_credentials()


class GoogleSide:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        info = control(emu, "POST", "/accounts", {"email": EMAIL})
        creds = auth.credentials_from_record(authorized_user(info))
        self.service = auth.build_people_service(creds, emu.base_url)
        self.remote: ContactsRemote = GooglePeople(self.service, batch_uri=auth.batch_uri(emu.base_url, "people"),
                                   sleep=lambda seconds: None)

    def _ctl(self, method: str, path: str, body: Any = None) -> Any:
        return control(self.emu, method, f"/accounts/{EMAIL}/{path}", body)

    def create(self, values: Json, *, groups: tuple[str, ...] = ()) -> str:
        body = person_body(values, {})
        body["memberships"] = ["contactGroups/myContacts", *groups]
        made: str = self._ctl("POST", "contacts", body)["resourceName"]
        return made

    def edit(self, remote_id: str, **changes: Any) -> None:
        [person] = [c for c in self._ctl("GET", "contacts")["contacts"]
                    if c["resourceName"] == remote_id]
        wanted = {**to_fields(person), **changes}
        body = person_body(wanted, person, dict.fromkeys(PERSON_FIELD_OF[f] for f in changes))
        self._ctl("PATCH", "contacts/" + remote_id.removeprefix("people/"), body)

    def delete(self, remote_id: str) -> None:
        self._ctl("DELETE", "contacts/" + remote_id.removeprefix("people/"))

    def ungroup(self, remote_id: str, group: str) -> None:
        self._ctl("POST", f"groups/{group}/members", {"remove": [remote_id]})

    def rename_group(self, group: str, name: str) -> None:
        self._ctl("PATCH", f"groups/{group}", {"name": name})

    def delete_group(self, group: str) -> None:
        self._ctl("DELETE", f"groups/{group}")

    def make_group(self, name: str) -> str:
        made: str = self._ctl("POST", "groups", {"name": name})["resourceName"]
        return made

    def expire_sync_tokens(self) -> None:
        control(self.emu, "POST", "/sync-tokens/invalidate")

    def refuse_credentials(self) -> None:
        control(self.emu, "POST", "/tokens/revoke", {"email": EMAIL})
        control(self.emu, "POST", "/tokens/expire", {"email": EMAIL})


@pytest.fixture(params=["fake", "google"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.param == "fake":
        yield FakeSide()
        return
    emu: Emulator = request.getfixturevalue("emulator")
    yield GoogleSide(emu)


@pytest.fixture
def group(side: Side) -> str:
    """The sync group's resource name (created through the remote)."""
    made = side.remote.ensure_group("", GROUP)
    assert made is not None
    return made.resource_name


def written(results: list[WriteResult]) -> list[RemoteContact]:
    assert all(r.contact is not None for r in results), results
    return [r.contact for r in results if r.contact is not None]


def make(side: Side, group: str, n: int, prefix: str = "crm") -> list[str]:
    """``n`` contacts created through the remote, in the group; their remote ids."""
    results = side.remote.create([NewContact(f"{prefix}{i}", fields(
        given_name=f"P{i}", emails=[email(f"p{i}@x.org")])) for i in range(n)], group)
    return [c.remote_id for c in written(results)]


# --------------------------------------------------------------------------- the group


def test_the_group_is_created_when_absent_then_found_by_name(side: Side) -> None:
    made = side.remote.ensure_group("", GROUP)
    assert made is not None and made.created and not made.recreated and made.name == GROUP
    again = side.remote.ensure_group("", GROUP)
    assert again is not None and again.resource_name == made.resource_name
    assert not again.created and not again.recreated


def test_a_dry_run_creates_no_group(side: Side) -> None:
    assert side.remote.ensure_group("", GROUP, create=False) is None
    made = side.remote.ensure_group("", GROUP)
    assert made is not None and made.created  # the dry run had created nothing


def test_the_remembered_group_is_found_after_a_rename(side: Side, group: str) -> None:
    side.rename_group(group, "Renamed in Gmail")
    found = side.remote.ensure_group(group, GROUP)
    assert found is not None and found.resource_name == group
    assert found.name == "Renamed in Gmail" and not found.created and not found.recreated


def test_a_deleted_group_is_created_again(side: Side, group: str) -> None:
    side.delete_group(group)
    assert side.remote.ensure_group(group, GROUP, create=False) is None
    made = side.remote.ensure_group(group, GROUP)
    assert made is not None and made.created and made.recreated
    assert made.resource_name != group and made.name == GROUP


def test_a_deleted_group_is_replaced_by_one_of_its_name(side: Side, group: str) -> None:
    side.delete_group(group)
    other = side.make_group(GROUP)
    found = side.remote.ensure_group(group, GROUP)
    assert found is not None and found.resource_name == other
    assert found.recreated and not found.created


# --------------------------------------------------------------------------- listing


def test_a_first_listing_is_full(side: Side, group: str) -> None:
    ours = make(side, group, 2)
    theirs = side.create(fields(given_name="Gmail", emails=[email("g@x.org")]))
    listing = side.remote.list_changes("", group)
    assert listing.full and listing.sync_token
    got = {rc.remote_id: rc for rc in listing.contacts}
    assert set(got) == {*ours, theirs}
    assert [got[r].crm_id for r in ours] == ["crm0", "crm1"] and not got[theirs].crm_id
    assert got[ours[0]].in_group and not got[theirs].in_group
    assert got[theirs].fields == fields(given_name="Gmail", emails=[email("g@x.org")])
    assert not any(rc.deleted for rc in listing.contacts)


def test_a_sync_token_lists_only_what_changed(side: Side, group: str) -> None:
    a, b, c = make(side, group, 3)
    token = side.remote.list_changes("", group).sync_token
    assert side.remote.list_changes(token, group).contacts == []
    side.edit(a, given_name="Changed")
    d = side.create(fields(given_name="New"), groups=(group,))
    listing = side.remote.list_changes(token, group)
    assert not listing.full and listing.sync_token
    got = {rc.remote_id: rc for rc in listing.contacts}
    assert set(got) == {a, d}
    assert got[a].fields["given_name"] == "Changed" and got[a].in_group
    assert got[a].fields["emails"] == [email("p0@x.org")]
    assert got[d].in_group and not got[d].crm_id
    assert side.remote.list_changes(listing.sync_token, group).contacts == []


def test_deletions_come_as_tombstones_and_leave_full_listings(side: Side, group: str) -> None:
    a, b = make(side, group, 2)
    token = side.remote.list_changes("", group).sync_token
    side.delete(b)
    [gone] = side.remote.list_changes(token, group).contacts
    assert gone.remote_id == b and gone.deleted and not gone.in_group
    assert gone.fields == {} and not gone.crm_id  # a tombstone carries nothing else
    assert [rc.remote_id for rc in side.remote.list_changes("", group).contacts] == [a]


def test_leaving_the_group_in_gmail_is_a_change(side: Side, group: str) -> None:
    a, b = make(side, group, 2)
    token = side.remote.list_changes("", group).sync_token
    side.ungroup(a, group)
    [out] = side.remote.list_changes(token, group).contacts
    assert out.remote_id == a and not out.in_group and not out.deleted
    assert out.crm_id == "crm0" and out.fields["given_name"] == "P0"


def test_an_expired_sync_token_lists_everything(side: Side, group: str) -> None:
    names = make(side, group, 3)
    token = side.remote.list_changes("", group).sync_token
    side.delete(names[0])
    side.expire_sync_tokens()
    listing = side.remote.list_changes(token, group)
    assert listing.full
    assert sorted(rc.remote_id for rc in listing.contacts) == sorted(names[1:])
    assert side.remote.list_changes(listing.sync_token, group).contacts == []


def test_listings_span_pages(side: Side, group: str) -> None:
    names = make(side, group, 1005)  # pages of 1000
    listing = side.remote.list_changes("", group)
    assert sorted(rc.remote_id for rc in listing.contacts) == sorted(names)
    for i in range(0, 1005, 100):
        side.edit(names[i], notes="changed")
    changed = side.remote.list_changes(listing.sync_token, group)
    assert sorted(rc.remote_id for rc in changed.contacts) == sorted(names[::100])


# --------------------------------------------------------------------------- reading


def test_get_reads_the_current_state_and_leaves_out_missing_contacts(side: Side, group: str
                                                                     ) -> None:
    a, b, c = make(side, group, 3)
    side.edit(a, job_title="Edited")
    side.ungroup(c, group)
    side.delete(b)
    got = side.remote.get([a, b, c, "people/c999999"], group)
    assert [rc.remote_id for rc in got] == [a, c]
    assert got[0].fields["job_title"] == "Edited" and got[0].in_group
    assert not got[1].in_group and got[1].crm_id == "crm2"
    assert [rc.remote_id for rc in side.remote.get([a, a], group)] == [a]


# --------------------------------------------------------------------------- creating


def test_created_contacts_carry_their_crm_id_and_are_in_the_group(side: Side, group: str
                                                                  ) -> None:
    wanted = [fields(given_name="Ada", family_name="Lovelace", emails=[email("ada@x.org")],
                     company="Engines", job_title="Analyst", notes="Counts",
                     birthday="1815-12-10"),
              fields(given_name="Bob")]
    results = side.remote.create([NewContact("c1", wanted[0]), NewContact("c2", wanted[1])],
                                 group)
    assert [r.key for r in results] == ["c1", "c2"]
    made = written(results)
    assert [c.crm_id for c in made] == ["c1", "c2"] and all(c.in_group for c in made)
    assert [c.fields for c in made] == wanted and all(c.etag for c in made)
    listing = side.remote.list_changes("", group)
    assert {(rc.crm_id, rc.in_group) for rc in listing.contacts} == {("c1", True), ("c2", True)}
    assert [rc.fields for rc in side.remote.get([c.remote_id for c in made], group)] == wanted


def test_a_record_google_rejects_is_reported_and_the_others_are_written(side: Side, group: str
                                                                        ) -> None:
    batch = [NewContact(f"crm{i}", fields(given_name=f"P{i}")) for i in range(4)]
    batch[1].fields["given_name"] = 12345  # not a string: Google refuses it
    batch[2].fields["birthday"] = "1990-02-30"  # not a date
    results = side.remote.create(batch, group)
    assert [r.key for r in results] == ["crm0", "crm1", "crm2", "crm3"]
    for bad in results[1:3]:
        assert bad.contact is None and bad.error and not bad.stale
    assert results[0].contact is not None and results[3].contact is not None
    listing = side.remote.list_changes("", group)
    assert sorted(rc.crm_id for rc in listing.contacts) == ["crm0", "crm3"]


# --------------------------------------------------------------------------- updating


def test_an_update_writes_only_the_changed_fields(side: Side, group: str) -> None:
    [a] = make(side, group, 1)
    [rc] = side.remote.get([a], group)
    token = side.remote.list_changes("", group).sync_token
    new = {**rc.fields, "job_title": "Boss", "notes": "not in changed: not written"}
    [result] = side.remote.update([ContactUpdate(rc, new, ["job_title"])], group)
    assert result.key == a and result.contact is not None and not result.error
    assert result.contact.fields == {**rc.fields, "job_title": "Boss"}
    assert result.contact.etag != rc.etag and result.contact.in_group
    [again] = side.remote.get([a], group)
    assert again.fields == {**rc.fields, "job_title": "Boss"} and again.crm_id == "crm0"
    assert [c.remote_id for c in side.remote.list_changes(token, group).contacts] == [a]
    # the etag the update answered is current: a second update goes through
    [second] = side.remote.update([ContactUpdate(result.contact, {
        **result.contact.fields, "company": "Engines"}, ["company"])], group)
    assert second.contact is not None and second.contact.fields["company"] == "Engines"


def test_an_update_with_nothing_to_write_changes_nothing(side: Side, group: str) -> None:
    [a] = make(side, group, 1)
    [rc] = side.remote.get([a], group)
    token = side.remote.list_changes("", group).sync_token
    [result] = side.remote.update([ContactUpdate(rc, dict(rc.fields), ["notes"])], group)
    assert result.contact is not None and result.contact.etag == rc.etag
    assert side.remote.list_changes(token, group).contacts == []


def test_a_stale_etag_is_reported_and_the_others_are_updated(side: Side, group: str) -> None:
    names = make(side, group, 3)
    read = side.remote.get(names, group)
    side.edit(names[0], given_name="Gmail")
    side.delete(names[1])
    results = side.remote.update(
        [ContactUpdate(rc, {**rc.fields, "job_title": "Boss"}, ["job_title"]) for rc in read],
        group)
    assert [r.key for r in results] == names
    assert results[0].stale and results[0].contact is None
    assert results[1].contact is None and results[1].error and not results[1].stale
    assert results[2].contact is not None and results[2].contact.fields["job_title"] == "Boss"
    [kept] = side.remote.get(names[:1], group)
    assert kept.fields["given_name"] == "Gmail" and kept.fields["job_title"] == ""


def test_a_membership_change_makes_an_etag_stale(side: Side, group: str) -> None:
    [a] = make(side, group, 1)
    [rc] = side.remote.get([a], group)
    side.ungroup(a, group)
    [result] = side.remote.update([ContactUpdate(rc, {**rc.fields, "notes": "x"}, ["notes"])],
                                  group)
    assert result.stale


# --------------------------------------------------------------------------- the group's members


def test_contacts_leave_and_join_the_group_and_unknown_ids_come_back(side: Side, group: str
                                                                     ) -> None:
    a, b, c = make(side, group, 3)
    side.delete(c)
    unknown = "people/c999999"
    token = side.remote.list_changes("", group).sync_token
    assert side.remote.remove_from_group([a, b, unknown], group) == [unknown]
    listing = side.remote.list_changes("", group)
    assert {rc.remote_id: rc.in_group for rc in listing.contacts} == {a: False, b: False}
    changed = side.remote.list_changes(token, group)
    assert {rc.remote_id: rc.in_group for rc in changed.contacts} == {a: False, b: False}
    assert side.remote.add_to_group([a, unknown], group) == [unknown]
    assert [(rc.remote_id, rc.in_group) for rc in side.remote.get([a, b], group)] == [
        (a, True), (b, False)]


def test_a_contact_only_in_the_group_stays_in_gmail_when_it_leaves(side: Side, group: str
                                                                   ) -> None:
    only = side.create(fields(given_name="Only"), groups=(group,))
    if isinstance(side, GoogleSide):  # out of My Contacts: the sync group is its only group
        side._ctl("POST", "groups/myContacts/members", {"remove": [only]})
    assert side.remote.remove_from_group([only], group) == []
    [still] = side.remote.get([only], group)
    assert not still.in_group and not still.deleted


# --------------------------------------------------------------------------- credentials


def test_refused_credentials_are_an_auth_error(side: Side, group: str) -> None:
    [a] = make(side, group, 1)
    side.refuse_credentials()
    with pytest.raises(AuthError):
        side.remote.list_changes("", group)
    with pytest.raises(AuthError):
        side.remote.get([a], group)
    with pytest.raises(AuthError):
        side.remote.create([NewContact("x", fields(given_name="X"))], group)


def test_writes_to_a_group_that_is_gone_are_refused(side: Side, group: str) -> None:
    [a] = make(side, group, 1)
    side.delete_group(group)
    with pytest.raises(RemoteError):
        side.remote.create([NewContact("x", fields(given_name="X"))], group)
    with pytest.raises(RemoteError):
        side.remote.add_to_group([a], group)


def test_a_membership_that_does_not_change_is_no_change(side: Side, group: str) -> None:
    a, b = make(side, group, 2)
    side.ungroup(b, group)
    token = side.remote.list_changes("", group).sync_token
    assert side.remote.add_to_group([a], group) == []
    assert side.remote.remove_from_group([b], group) == []
    assert side.remote.list_changes(token, group).contacts == []
