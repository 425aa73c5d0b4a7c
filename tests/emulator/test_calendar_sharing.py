"""Calendar events shared across the emulator's accounts, as Google shares invitations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError
from test_calendar_events import error_of, insert, timed
from test_calendar_recurrence import series
from test_calendar_sync import listing

from crmtui.emulator import Emulator

Trio = tuple[Google, Google, Google]


@pytest.fixture
def trio(google_factory: Callable[[str], Google]) -> Trio:
    return (google_factory("ann@example.com"), google_factory("bob@example.com"),
            google_factory("cat@example.com"))


def invite(ann: Google, *emails: str, **extra: Any) -> dict[str, Any]:
    """Ann invites ``emails`` (``sendUpdates`` is accepted and changes nothing here)."""
    body = timed("Kick-off", attendees=[{"email": e} for e in emails], **extra)
    return ann.calendar.events().insert(calendarId="primary", body=body,
                                        sendUpdates="all").execute()


def get(g: Google, event_id: str) -> dict[str, Any]:
    return g.calendar.events().get(calendarId="primary", eventId=event_id).execute()


def status_of(ev: dict[str, Any], email: str) -> str:
    return next(a["responseStatus"] for a in ev["attendees"] if a["email"] == email)


def test_invited_accounts_get_the_event_in_their_calendar(trio: Trio) -> None:
    ann, bob, cat = trio
    ev = invite(ann, "bob@example.com", "cat@example.com", "outsider@elsewhere.org")
    for guest in (bob, cat):
        items = listing(guest)["items"]
        assert [(e["id"], e["iCalUID"]) for e in items] == [(ev["id"], ev["iCalUID"])]
        copy = items[0]
        assert copy["organizer"] == {"email": "ann@example.com"}
        assert copy["creator"] == {"email": "ann@example.com"}
        mine = [a for a in copy["attendees"] if a.get("self")]
        assert [a["email"] for a in mine] == [guest.email]
    assert [a["email"] for a in ev["attendees"] if a.get("self")] == []


def test_the_organizers_patch_reaches_every_copy(trio: Trio) -> None:
    ann, bob, cat = trio
    ev = invite(ann, "bob@example.com", "cat@example.com")
    bob_before = get(bob, ev["id"])
    ann.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "summary": "Kick-off (moved)", "location": "Room 2"}).execute()
    for guest in (bob, cat):
        copy = get(guest, ev["id"])
        assert (copy["summary"], copy["location"], copy["sequence"]) == (
            "Kick-off (moved)", "Room 2", 1)
    assert get(bob, ev["id"])["etag"] != bob_before["etag"]


def test_a_guests_response_reaches_the_organizer_and_the_others(trio: Trio) -> None:
    ann, bob, cat = trio
    ev = invite(ann, "bob@example.com", "cat@example.com")
    copy = get(bob, ev["id"])
    attendees = [dict(a, responseStatus="accepted") if a.get("self") else a
                 for a in copy["attendees"]]
    answered = bob.calendar.events().patch(calendarId="primary", eventId=ev["id"],
                                           body={"attendees": attendees}).execute()
    assert status_of(answered, "bob@example.com") == "accepted"
    assert status_of(get(ann, ev["id"]), "bob@example.com") == "accepted"
    assert status_of(get(cat, ev["id"]), "bob@example.com") == "accepted"
    assert status_of(get(ann, ev["id"]), "cat@example.com") == "needsAction"


def test_a_removed_guests_copy_is_cancelled(trio: Trio) -> None:
    ann, bob, cat = trio
    ev = invite(ann, "bob@example.com", "cat@example.com")
    token = listing(cat)["nextSyncToken"]
    ann.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "attendees": [{"email": "bob@example.com"}]}).execute()
    assert get(cat, ev["id"])["status"] == "cancelled"
    assert get(bob, ev["id"])["status"] == "confirmed"
    delta = listing(cat, syncToken=token)["items"]
    assert [(e["id"], e["status"]) for e in delta] == [(ev["id"], "cancelled")]
    ann.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "attendees": [{"email": "bob@example.com"}, {"email": "cat@example.com"}]}).execute()
    assert get(cat, ev["id"])["status"] == "confirmed"


def test_a_guests_sync_token_sees_the_organizers_changes(trio: Trio) -> None:
    ann, bob, _ = trio
    ev = invite(ann, "bob@example.com")
    full = listing(bob)
    assert [e["id"] for e in full["items"]] == [ev["id"]]
    ann.calendar.events().patch(calendarId="primary", eventId=ev["id"],
                                body={"description": "agenda"}).execute()
    delta = listing(bob, syncToken=full["nextSyncToken"])
    assert [(e["id"], e["description"]) for e in delta["items"]] == [(ev["id"], "agenda")]
    ann.calendar.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    gone = listing(bob, syncToken=delta["nextSyncToken"])["items"]
    assert [(e["id"], e["status"]) for e in gone] == [(ev["id"], "cancelled")]


def test_private_properties_belong_to_each_copy_shared_ones_to_all(trio: Trio) -> None:
    ann, bob, _ = trio
    ev = invite(ann, "bob@example.com", extendedProperties={"private": {"crm": "ann-1"},
                                                            "shared": {"topic": "q4"}})
    assert get(bob, ev["id"])["extendedProperties"] == {"shared": {"topic": "q4"}}
    bob.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "extendedProperties": {"private": {"crm": "bob-9"}}}).execute()
    ann.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "extendedProperties": {"shared": {"topic": "q1"}}}).execute()
    assert get(bob, ev["id"])["extendedProperties"] == {"private": {"crm": "bob-9"},
                                                        "shared": {"topic": "q1"}}
    assert get(ann, ev["id"])["extendedProperties"] == {"private": {"crm": "ann-1"},
                                                        "shared": {"topic": "q1"}}
    found = listing(bob, privateExtendedProperty="crm=bob-9")["items"]
    assert [e["id"] for e in found] == [ev["id"]]
    assert listing(bob, privateExtendedProperty="crm=ann-1")["items"] == []


def test_only_the_organizer_changes_shared_properties(trio: Trio) -> None:
    ann, bob, _ = trio
    ev = invite(ann, "bob@example.com", extendedProperties={"shared": {"topic": "q4"}})
    with pytest.raises(HttpError) as exc:
        bob.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
            "extendedProperties": {"shared": {"topic": "mine"}}}).execute()
    assert error_of(exc)["reason"] == "forbiddenForNonOrganizer"
    assert exc.value.status_code == 403


def test_a_guest_deleting_the_invitation_declines_it(trio: Trio) -> None:
    ann, bob, _ = trio
    ev = invite(ann, "bob@example.com")
    bob.calendar.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert get(bob, ev["id"])["status"] == "cancelled"
    assert status_of(get(ann, ev["id"]), "bob@example.com") == "declined"
    assert get(ann, ev["id"])["status"] == "confirmed"


def test_each_copy_has_its_own_etag(trio: Trio) -> None:
    ann, bob, cat = trio
    ev = invite(ann, "bob@example.com", "cat@example.com")
    etags = {get(g, ev["id"])["etag"] for g in trio}
    assert len(etags) == 3


def test_a_shared_series_and_its_instances_reach_the_guest(trio: Trio) -> None:
    ann, bob, _ = trio
    master = insert(ann, {**series("Weekly sync", ["RRULE:FREQ=WEEKLY;COUNT=2"]),
                          "attendees": [{"email": "bob@example.com"}]})
    second = f"{master['id']}_20261208T090000Z"
    ann.calendar.events().patch(calendarId="primary", eventId=second,
                                body={"summary": "Weekly sync (special)"}).execute()
    items = listing(bob, singleEvents=True, orderBy="startTime")["items"]
    assert [e["summary"] for e in items] == ["Weekly sync", "Weekly sync (special)"]


def test_an_event_made_in_the_ui_invites_too(trio: Trio, emulator: Emulator) -> None:
    _, bob, _ = trio
    made = control(emulator, "POST", "/accounts/ann@example.com/events",
                   timed("Lunch", attendees=[{"email": "bob@example.com"}]))
    assert get(bob, made["id"])["organizer"] == {"email": "ann@example.com"}
    control(emulator, "PATCH", f"/accounts/ann@example.com/events/{made['id']}",
            {"summary": "Lunch (moved)"})
    assert get(bob, made["id"])["summary"] == "Lunch (moved)"
    control(emulator, "DELETE", f"/accounts/ann@example.com/events/{made['id']}")
    assert get(bob, made["id"])["status"] == "cancelled"
