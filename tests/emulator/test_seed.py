"""The demo's Google side: what seed_demo_google gives each account, seen through the client."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from emukit import Google

from crmtui.emulator import Emulator, running_emulator
from crmtui.emulator.seed import SYNC_GROUP, seed_demo_google

USERS = [("Alex Morgan", "alex@brightline.example.com"),
         ("Sofía Ramírez", "sofia@brightline.example.com"),
         ("Kenji Watanabe", "kenji@brightline.example.com")]
CRM_EMAILS = ["minh.tran@kogen-robotics.example.com", "lucia.jimenez@eiriksson.example.com"]
FIELDS = "names,emailAddresses,phoneNumbers,birthdays,memberships"


@pytest.fixture(scope="module")
def seeded() -> Iterator[Emulator]:
    with running_emulator() as emu:
        seed_demo_google(emu, USERS, crm_emails=CRM_EMAILS)
        yield emu


@pytest.fixture(scope="module")
def alex(seeded: Emulator) -> Google:
    return Google(seeded, USERS[0][1])


def contacts(google: Google) -> list[dict[str, Any]]:
    found = google.people.people().connections().list(
        resourceName="people/me", personFields=FIELDS, pageSize=1000).execute()
    return found.get("connections", [])


def events(google: Google) -> list[dict[str, Any]]:
    return google.calendar.events().list(calendarId="primary", maxResults=2500
                                         ).execute().get("items", [])


def sync_group(google: Google) -> dict[str, Any]:
    groups = google.people.contactGroups().list().execute()["contactGroups"]
    (group,) = [g for g in groups if g.get("name") == SYNC_GROUP]
    return google.people.contactGroups().get(resourceName=group["resourceName"],
                                             maxMembers=1000).execute()


def emails(person: dict[str, Any]) -> list[str]:
    return [e["value"] for e in person.get("emailAddresses", [])]


def test_every_demo_user_has_an_account(seeded: Emulator) -> None:
    for _, email in USERS:
        assert Google(seeded, email).calendar.calendarList().get(
            calendarId="primary").execute()["id"] == email


def test_the_demo_user_has_a_varied_address_book(alex: Google) -> None:
    book = contacts(alex)
    assert 55 <= len(book) <= 65
    assert sum(len(emails(p)) >= 2 for p in book) >= 3
    assert any(not emails(p) and p.get("phoneNumbers") for p in book)
    assert any(emails(p) and not p.get("phoneNumbers") for p in book)
    birthdays = [p["birthdays"][0]["date"] for p in book if p.get("birthdays")]
    assert any("year" in d for d in birthdays) and any("year" not in d for d in birthdays)
    every = [e for p in book for e in emails(p)]
    assert len(every) == len(set(every))


def test_some_contacts_are_in_the_sync_group_the_others_only_in_my_contacts(
        alex: Google) -> None:
    group = sync_group(alex)
    members = set(group["memberResourceNames"])
    assert 20 <= len(members) <= 30 and group["memberCount"] == len(members)
    book = contacts(alex)
    for person in book:
        groups = {m["contactGroupMembership"]["contactGroupResourceName"]
                  for m in person.get("memberships", [])}
        wanted = {"contactGroups/myContacts", group["resourceName"]}
        assert groups == (wanted if person["resourceName"] in members
                          else {"contactGroups/myContacts"})


def test_the_crm_emails_are_sync_group_contacts_named_after_them(alex: Google) -> None:
    members = set(sync_group(alex)["memberResourceNames"])
    by_email = {e: p for p in contacts(alex) for e in emails(p)}
    for address in CRM_EMAILS:
        assert by_email[address]["resourceName"] in members
    assert by_email[CRM_EMAILS[0]]["names"][0]["displayName"] == "Minh Tran"


def test_the_demo_user_has_a_calendar_over_the_coming_weeks(alex: Google) -> None:
    found = events(alex)
    assert 18 <= len(found) <= 25
    assert sum("recurrence" in e for e in found) == 1
    assert any("date" in e["start"] for e in found)
    zones = Counter(e["start"].get("timeZone") for e in found if "dateTime" in e["start"])
    assert zones.most_common(1)[0][0] == "Europe/Paris" and len(zones) >= 2
    assert any(e["organizer"]["email"] != alex.email for e in found)


def test_events_with_demo_users_reach_their_calendars(seeded: Emulator, alex: Google) -> None:
    shared = {e["iCalUID"]: e for e in events(alex)
              if any(a["email"] == USERS[1][1] for a in e.get("attendees", []))}
    assert len(shared) >= 2
    sofia = {e["iCalUID"]: e for e in events(Google(seeded, USERS[1][1]))}
    assert set(shared) <= set(sofia)
    uid = next(iter(shared))
    assert sofia[uid]["summary"] == shared[uid]["summary"]


def test_the_other_demo_users_have_empty_address_books(seeded: Emulator) -> None:
    assert contacts(Google(seeded, USERS[2][1])) == []


def test_seeding_is_deterministic(alex: Google) -> None:
    with running_emulator() as other:
        seed_demo_google(other, USERS, crm_emails=CRM_EMAILS)
        again = Google(other, USERS[0][1])

        def shape(google: Google) -> tuple[list[Any], list[Any]]:
            people = sorted((p.get("names", [{}])[0].get("displayName", ""), emails(p))
                            for p in contacts(google))
            times = sorted((e["summary"], json.dumps(e["start"], sort_keys=True))
                           for e in events(google))
            return people, times

        assert shape(again) == shape(alex)
