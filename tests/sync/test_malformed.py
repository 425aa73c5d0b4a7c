"""A malformed record skips only itself (issue 14): a Google contact or event whose fields are not
what the API promises is skipped, reported by its resource name with the reason and read again
next run, while the other records sync; a response that is not JSON is retried like a 5xx, then
fails the run with one clear line. Against the emulator, through the real client library: a
birthday with month 13 is stored in Gmail as it is; other shapes Google should never send (a
string where a list is, a start with neither date nor dateTime) are served by the emulator's
fault injection in place of Google's real answer."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from calkit import SINCE, Team
from synckit import Gmail, Syncer, fault, person
from test_contacts_e2e import add, crmtui, edit, ok, remote_id, tagged

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.model import Account, SyncKind, Tag, User
from crmtui.store import TinyDBRepository
from crmtui.sync.google import auth, factory
from crmtui.sync.google.calendar import CALENDAR
from crmtui.sync.google.calendar import PAGE_SIZE as EVENT_PAGE
from crmtui.sync.google.people import PAGE_SIZE, PERSON_FIELDS, SOURCES, GooglePeople
from crmtui.sync.remote import Listing
from crmtui.sync.state import ActivitiesState, ContactsState

Json = dict[str, Any]
CONNECTIONS = "/v1/people/me/connections$"
EVENTS = "/calendar/v3/calendars/primary/events$"
MONTH_13 = [{"date": {"year": 1990, "month": 13, "day": 1}}]


def _creds(emu: Emulator, email: str) -> Any:
    return auth.credentials_from_record(authorized_user(EmulatorControl(emu).create_account(email)))


def people_page(emu: Emulator, email: str, sync_token: str) -> Json:
    """The page of ``people.connections.list`` the sync is about to read (same fields, same
    token), as Google answers it."""
    service = auth.build_people_service(_creds(emu, email), emu.base_url)
    args: Json = {"resourceName": "people/me", "personFields": PERSON_FIELDS,
                  "pageSize": PAGE_SIZE, "requestSyncToken": True, "sources": SOURCES}
    if sync_token:
        args["syncToken"] = sync_token
    page: Json = service.people().connections().list(**args).execute()
    return page


def events_page(emu: Emulator, email: str, sync_token: str) -> Json:
    """The page of ``events.list`` the activity sync is about to read."""
    service = auth.build_calendar_service(_creds(emu, email), emu.base_url)
    args: Json = {"calendarId": CALENDAR, "showDeleted": True, "singleEvents": False,
                  "maxResults": EVENT_PAGE}
    if sync_token:
        args["syncToken"] = sync_token
    else:
        args["timeMin"] = (datetime.combine(SINCE, datetime.min.time(), UTC)
                           - timedelta(days=1)).isoformat()
    page: Json = service.events().list(**args).execute()
    return page


def spoil(page: Json, items: str, key: str, name: str, change: Callable[[Json], None]) -> Json:
    """``page`` with the item whose ``key`` is ``name`` changed by ``change``."""
    page = copy.deepcopy(page)
    [item] = [i for i in page[items] if i[key] == name]
    change(item)
    return page


# --------------------------------------------------------------------------- contacts


def test_a_contact_with_month_13_is_skipped_reported_and_read_again_until_fixed(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    ok(sync())
    bad = gmail.create(person("Bad", email="bad@example.com", birthdays=MONTH_13))
    gmail.create(person("Good", email="good@example.com"))
    report = ok(sync())
    name = bad["resourceName"]
    assert [c.given_name for c in repo.iter_contacts() if c.given_name in ("Good", "Bad")] == [
        "Good"]
    assert report.crm.created == 1
    assert report.skipped == [f"{name} (Google): cannot be read: birthday month 13"]
    assert name in ContactsState.read(repo, user.id).retry

    again = sync()  # nothing changed in Gmail: it is read again by name, still malformed
    assert again.ok and again.report.skipped == report.skipped
    assert sync.requests.calls("people:batchGet") == 1

    gmail.edit(name, birthdays=[{"date": {"year": 1990, "month": 12, "day": 1}}])
    fixed = ok(sync())
    assert fixed.skipped == [] and fixed.crm.created == 1
    [imported] = [c for c in repo.iter_contacts() if c.given_name == "Bad"]
    assert str(imported.birthday) == "1990-12-01"
    assert ContactsState.read(repo, user.id).retry == []


def test_a_string_where_a_list_is_skips_only_that_contact_until_google_reads_right(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        emulator: Emulator) -> None:
    ok(sync())
    bad = gmail.create(person("Nils", email="nils@example.com"))["resourceName"]
    gmail.create(person("Good", email="good@example.com"))
    page = people_page(emulator, gmail.email, ContactsState.read(repo, user.id).sync_token)

    def names_as_text(p: Json) -> None:
        p["names"] = "Nils"

    fault(emulator, CONNECTIONS, method="GET", status=200,
          body=spoil(page, "connections", "resourceName", bad, names_as_text))
    report = ok(sync())
    assert report.skipped == [f"{bad} (Google): cannot be read: names is a string, not a list"]
    assert [c.given_name for c in repo.iter_contacts() if c.given_name in ("Good", "Nils")] == [
        "Good"]

    # read again next run, by name: still malformed, reported again
    person_now = spoil(page, "connections", "resourceName", bad, names_as_text)["connections"]
    [spoiled] = [p for p in person_now if p["resourceName"] == bad]
    spoiled["emailAddresses"] = {"value": "nils@example.com"}
    fault(emulator, "people:batchGet$", method="GET", status=200, body={"responses": [
        {"requestedResourceName": bad, "httpStatusCode": 200, "person": spoiled}]})
    again = ok(sync())
    assert again.skipped == [f"{bad} (Google): cannot be read: names is a string, not a list"]

    fixed = ok(sync())  # Google reads it right again: it syncs
    assert fixed.skipped == [] and fixed.crm.created == 1
    assert any(c.given_name == "Nils" for c in repo.iter_contacts())


def test_a_linked_contact_that_cannot_be_read_in_a_full_listing_stays_linked_and_tagged(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        emulator: Emulator) -> None:
    zoe = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    ok(sync())
    name = remote_id(repo, user, zoe)
    gmail.edit(name, birthdays=MONTH_13)
    EmulatorControl(emulator).invalidate_sync_tokens()  # the next listing is a full one
    edit(repo, user, zoe, job_title="CEO")  # changed in crmtui meanwhile
    report = ok(sync())
    assert report.skipped == [f"{name} (Google): cannot be read: birthday month 13"]
    assert report.crm.untagged == 0 and report.google.removed == 0
    assert tagged(repo, user, zoe, sync_tag) and remote_id(repo, user, zoe) == name
    assert name in gmail.members()

    gmail.edit(name, birthdays=[{"date": {"year": 1990, "month": 3, "day": 1}}])
    ok(sync())  # both sides' changes meet
    got = repo.get_contact(zoe.id, user.id)
    assert str(got.birthday) == "1990-03-01" and got.job_title == "CEO"
    assert [o.get("title") for o in gmail.get(name).get("organizations", [])] == ["CEO"]


def test_a_contact_read_again_after_a_stale_write_that_cannot_be_read_says_why(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Edited in Gmail between the listing and crmtui's write: the write is refused as stale and
    the contact read again; Google's answer cannot be read, and the report gives that reason
    (not "gone from Google"). The next run settles it."""
    synced = add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    ok(sync())
    rid = remote_id(repo, user, synced)
    listed = GooglePeople.list_changes

    def list_then_spoil_in_gmail(self: GooglePeople, sync_token: str, group: str) -> Listing:
        listing = listed(self, sync_token, group)
        gmail.edit(rid, birthdays=MONTH_13)
        return listing

    monkeypatch.setattr(GooglePeople, "list_changes", list_then_spoil_in_gmail)
    edit(repo, user, synced, job_title="Founder")
    report = ok(sync())
    assert len(report.skipped) == 1
    assert "cannot be read from Google (birthday month 13)" in report.skipped[0]
    assert "gone from Google" not in report.skipped[0]
    monkeypatch.undo()
    gmail.edit(rid, birthdays=[{"date": {"year": 1990, "month": 3, "day": 1}}])
    ok(sync())
    found = gmail.get(rid)
    assert [o.get("title") for o in found.get("organizations", [])] == ["Founder"]
    assert str(repo.get_contact(synced.id).birthday) == "1990-03-01"


# --------------------------------------------------------------------------- events


def test_an_event_whose_start_has_no_date_skips_only_itself_and_is_read_again(
        team: Team, emulator: Emulator) -> None:
    ann = team.add("ann", "Ann")
    bad = ann.calendar.create("Bad", "2026-03-03T10:00:00+00:00",
                              "2026-03-03T11:00:00+00:00")["id"]
    ann.calendar.create("Good", "2026-03-04T10:00:00+00:00", "2026-03-04T11:00:00+00:00")
    page = events_page(emulator, ann.calendar.email, "")

    def no_start(event: Json) -> None:
        event["start"] = {"timeZone": "UTC"}

    fault(emulator, EVENTS, method="GET", status=200,
          body=spoil(page, "items", "id", bad, no_start))
    first = team.sync(ann)
    assert first.ok, first.message
    why = f"{bad} (Google Calendar): cannot be read: its start has neither a date nor a date " \
          "and time"
    assert first.report.skipped == [why]
    assert [a.title for a in team.activities()] == ["Good"]
    assert bad in ActivitiesState.read(team.repo, ann.user.id).retry

    spoiled = spoil(page, "items", "id", bad, no_start)["items"]
    [one] = [e for e in spoiled if e["id"] == bad]
    fault(emulator, f"{EVENTS[:-1]}/{bad}$", method="GET", status=200, body=one)
    again = team.sync(ann)
    assert again.ok and again.report.skipped == [why]

    fixed = team.sync(ann)
    assert fixed.ok and fixed.report.skipped == []
    assert sorted(a.title for a in team.activities()) == ["Bad", "Good"]


def test_a_linked_event_that_cannot_be_read_in_a_full_listing_stays_linked(
        team: Team, emulator: Emulator) -> None:
    ann = team.add("ann", "Ann")
    made = ann.calendar.create("Kept", "2026-03-03T10:00:00+00:00",
                               "2026-03-03T11:00:00+00:00")["id"]
    assert team.sync(ann).ok
    [kept] = team.activities()
    page = events_page(emulator, ann.calendar.email, "")

    def attendees_as_object(event: Json) -> None:
        event["attendees"] = {"email": "bob@example.com"}

    fault(emulator, EVENTS, method="GET", status=410)  # the token expired: a full listing
    fault(emulator, EVENTS, method="GET", status=200,
          body=spoil(page, "items", "id", made, attendees_as_object))
    outcome = team.sync(ann)
    assert outcome.ok, outcome.message
    assert outcome.report.skipped == [
        f"{made} (Google Calendar): cannot be read: attendees is an object, not a list"]
    assert outcome.report.crm.untagged == 0
    assert team.event_id(ann, kept) == made
    assert team.repo.get_link(ann.user.id, SyncKind.ACTIVITIES, kept.id) is not None
    assert team.sync(ann).report.skipped == []  # read again: fine now


# --------------------------------------------------------------------------- not JSON


HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_an_html_page_instead_of_json_is_retried_like_a_5xx(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        emulator: Emulator, sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "crmtui.sync.google.retry")
    add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    fault(emulator, CONNECTIONS, method="GET", count=2, status=200, body=HTML,
          headers={"Content-Type": "text/html"})
    report = ok(sync())
    assert report.google.created == 1 and len(sleeps) == 2
    assert sum("an HTML page instead of JSON" in r.getMessage() for r in caplog.records) == 2


def test_the_command_fails_with_one_line_when_google_keeps_answering_html(
        repo: TinyDBRepository, user: User, sync_tag: Tag, account: Account, gmail: Gmail,
        data_dir: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(factory, "time", SimpleNamespace(sleep=waits.append))
    add(repo, user, sync_tag, "Zoë", emails=["zoe@example.com"])
    html = {"Content-Type": "text/html"}
    fault(emulator, CONNECTIONS, method="GET", count=6, status=502, body=HTML, headers=html)
    result = crmtui(data_dir, "sync", "contacts")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "502" in errors[0] and "6 attempts" in errors[0], result.stderr
    assert len(waits) == 5
    assert "Traceback" not in result.stderr + result.stdout and "<html" not in result.stderr

    fault(emulator, CONNECTIONS, method="GET", count=6, status=200, body=HTML, headers=html)
    result = crmtui(data_dir, "sync", "contacts")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "HTML page instead of JSON" in errors[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout and "<html" not in result.stderr
    assert not [c for c in gmail.contacts() if c.get("names")]  # nothing was written

    result = crmtui(data_dir, "sync", "contacts")  # Google answers right again
    assert result.exit_code == 0, (result.stdout, result.stderr)
