"""Sync links are lean (issue 12): the ids, the etag, the update time and the base of the fields
crmtui owns, and of the remote record only the few values an update needs, never a copy of it.
Sizes are those of the link as the store serializes it (compact JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from calkit import Team
from synckit import Gmail, Syncer

from crmtui.model import (
    Activity,
    Address,
    Contact,
    Email,
    Participant,
    ParticipantKind,
    Phone,
    SyncKind,
    Tag,
    User,
)
from crmtui.store import TinyDBRepository

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def size(repo: TinyDBRepository, user_id: str, kind: SyncKind, local_id: str) -> int:
    link = repo.get_link(user_id, kind, local_id)
    assert link is not None
    return len(json.dumps(link.to_dict(), separators=(",", ":")))


def rich_contact(user: User, tag: Tag) -> Contact:
    return Contact(
        given_name="Zoë", family_name="Ångström", owner_id=user.id, company="Nordlys",
        job_title="Founder",
        emails=[Email("zoe@nordlys.example", "work", True), Email("zoe@home.example", "home")],
        phones=[Phone("+47 900 11 222", "mobile", True), Phone("+47 22 33 44 55", "work")],
        addresses=[Address(street="Storgata 1", city="Oslo", postal_code="0155",
                           country="Norway", type="work")],
        tags=[tag.id])


def test_a_contact_link_keeps_no_copy_of_the_google_contact(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    pushed = repo.add_contact(rich_contact(user, sync_tag))
    plain = repo.add_contact(Contact(given_name="Ola", family_name="Nordmann", owner_id=user.id,
                                     emails=[Email("ola@example.com")], company="Nordlys",
                                     tags=[sync_tag.id]))
    assert sync().ok
    made = gmail.create({"names": [{"givenName": "Kari", "familyName": "Nordmann"}],
                         "emailAddresses": [{"value": "kari@example.com", "type": "home"}],
                         "phoneNumbers": [{"value": "+47 911 22 333", "type": "mobile"}]})
    assert sync().ok
    imported = repo.link_by_remote(user.id, SyncKind.CONTACTS, made["resourceName"])
    assert imported is not None
    sizes = {cid: size(repo, user.id, SyncKind.CONTACTS, cid)
             for cid in (pushed.id, plain.id, imported.local_id)}
    print("contact link sizes (bytes):", sorted(sizes.values()))
    assert sizes[pushed.id] < 900  # 2 emails, 2 phones, an address: 3.1 KB before
    assert sizes[plain.id] < 600
    assert sizes[imported.local_id] < 600
    for cid in sizes:
        link = repo.get_link(user.id, SyncKind.CONTACTS, cid)
        assert link is not None
        # no Person field Google can rebuild from the base is kept, nor anything Google computes
        assert not set(link.remote) & {"names", "emailAddresses", "phoneNumbers", "addresses",
                                       "organizations", "memberships", "resourceName"}
    pushed_link = repo.get_link(user.id, SyncKind.CONTACTS, pushed.id)
    assert pushed_link is not None
    assert "clientData" not in pushed_link.remote  # only its own crmtui id: not kept
    assert "etag" not in pushed_link.remote  # the link's own etag: not kept twice


def test_a_contact_link_keeps_what_crmtui_does_not_own_and_an_edit_keeps_it_in_gmail(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    contact = repo.add_contact(rich_contact(user, sync_tag))
    assert sync().ok
    link = repo.get_link(user.id, SyncKind.CONTACTS, contact.id)
    assert link is not None
    gmail.edit(link.remote_id, organizations=[{"name": "Nordlys", "title": "Founder",
                                                "department": "Board"}],
               birthdays=[{"date": {"month": 12, "day": 10}}])
    assert sync().ok
    link = repo.get_link(user.id, SyncKind.CONTACTS, contact.id)
    assert link is not None
    assert set(link.remote) >= {"organizations", "birthdays"}  # what the base cannot rebuild
    assert "emailAddresses" not in link.remote
    current = repo.get_contact(contact.id, user.id)
    repo.update_contact(current.evolve(job_title="Chair", notes="met in Oslo",
                                       emails=[*current.emails, Email("zoe@third.example")]),
                        user.id)
    assert sync().ok
    person = gmail.get(link.remote_id)
    assert [(o.get("title"), o.get("department")) for o in person["organizations"]] == [
        ("Chair", "Board")]
    assert person["birthdays"][0]["date"] == {"month": 12, "day": 10}
    assert [e["value"] for e in person["emailAddresses"]] == [
        "zoe@nordlys.example", "zoe@home.example", "zoe@third.example"]
    assert person["biographies"][0]["value"] == "met in Oslo"


def test_an_activity_link_is_small(team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    act = team.repo.add_activity(Activity(
        title="Kick-off", start=T0, end=T0 + timedelta(hours=1), timezone="Europe/Berlin",
        notes="Agenda: scope", location="Room 1", owner_id=a.user.id,
        organizer_id=a.user.id, show_in_calendar=True,
        participants=[Participant(ParticipantKind.USER, a.user.id),
                      Participant(ParticipantKind.USER, b.user.id)]))
    assert team.sync(a).ok
    found = size(team.repo, a.user.id, SyncKind.ACTIVITIES, act.id)
    print("activity link size (bytes):", found)
    assert found < 800
