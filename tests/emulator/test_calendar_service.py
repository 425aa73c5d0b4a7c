"""Calendar list and calendars, saved state, quotas and the client's retries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError
from test_calendar_events import error_of, insert, timed
from test_calendar_recurrence import series
from test_calendar_sync import listing

from crmtui.emulator import Emulator


def test_calendar_list_has_the_primary_calendar(google: Google) -> None:
    found = google.calendar.calendarList().list().execute()
    assert found["kind"] == "calendar#calendarList"
    [entry] = found["items"]
    assert entry["id"] == "ann@example.com" and entry["primary"] is True
    assert entry["accessRole"] == "owner"
    again = google.calendar.calendarList().list(syncToken=found["nextSyncToken"]).execute()
    assert again["items"] == [] and again["nextSyncToken"]


@pytest.mark.parametrize("calendar_id", ["primary", "ann@example.com"])
def test_calendar_list_entry_and_calendar_by_alias_or_email(google: Google,
                                                            calendar_id: str) -> None:
    entry = google.calendar.calendarList().get(calendarId=calendar_id).execute()
    assert entry["id"] == "ann@example.com" and entry["primary"] is True
    calendar = google.calendar.calendars().get(calendarId=calendar_id).execute()
    assert (calendar["kind"], calendar["id"]) == ("calendar#calendar", "ann@example.com")


def test_another_accounts_calendar_is_not_found(google: Google,
                                                google_factory: Any) -> None:
    google_factory("bob@example.com")
    with pytest.raises(HttpError) as exc:
        google.calendar.events().list(calendarId="bob@example.com").execute()
    assert error_of(exc)["reason"] == "notFound"
    with pytest.raises(HttpError) as exc:
        google.calendar.calendars().get(calendarId="bob@example.com").execute()
    assert exc.value.status_code == 404


def test_events_survive_a_restart_with_state(tmp_path: Path) -> None:
    state = tmp_path / "emu.json"
    with Emulator(state_file=state) as emu:
        ann, bob = Google(emu, "ann@example.com"), Google(emu, "bob@example.com")
        shared = insert(ann, timed("Shared", attendees=[{"email": "bob@example.com"}],
                                   extendedProperties={"private": {"crm": "1"}}))
        weekly = insert(ann, series("Weekly", ["RRULE:FREQ=WEEKLY;COUNT=3"]))
        ann.calendar.events().delete(calendarId="primary",
                                     eventId=f"{weekly['id']}_20261208T090000Z").execute()
        token = listing(bob)["nextSyncToken"]
        before = listing(ann, showDeleted=True)["items"]
    with Emulator(state_file=state) as emu:
        ann, bob = Google(emu, "ann@example.com"), Google(emu, "bob@example.com")
        assert listing(ann, showDeleted=True)["items"] == before
        assert len(listing(ann, singleEvents=True)["items"]) == 3
        ann.calendar.events().patch(calendarId="primary", eventId=shared["id"],
                                    body={"summary": "Shared!"}).execute()
        delta = listing(bob, syncToken=token)["items"]
        assert [(e["id"], e["summary"]) for e in delta] == [(shared["id"], "Shared!")]
        with pytest.raises(HttpError) as exc:
            insert(ann, timed("Reuse", id=shared["id"]))
        assert exc.value.status_code == 409


def test_the_client_retries_a_403_rate_limit(google: Google, emulator: Emulator,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the minute passes while the client backs off
        waits.append(seconds)
        control(emulator, "POST", "/clock", {"advance": 61})

    monkeypatch.setattr("googleapiclient.http.time.sleep", sleep)
    control(emulator, "PUT", "/quotas/calendar", {"per_minute": 2, "status": 403})
    listing(google)
    listing(google)
    with pytest.raises(HttpError) as exc:
        listing(google)
    assert error_of(exc) == {"status": 403, "domain": "usageLimits",
                             "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert waits == []
    ev = google.calendar.events().insert(calendarId="primary",
                                         body=timed("After a wait")).execute(num_retries=2)
    assert ev["summary"] == "After a wait" and len(waits) == 1
