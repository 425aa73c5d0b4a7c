"""The contract of :class:`crmtui.sync.remote.CalendarRemote`, in the form of the ContactsRemote
contract (``test_remote_contract.py``): each implementation comes with a ``Side`` acting "in
Google Calendar". There is no in-memory calendar fake yet, so it runs against the Calendar adapter
on the emulator only; a fake joins by adding a ``side`` parameter."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from synckit import control

from crmtui.emulator import Emulator
from crmtui.model import Account
from crmtui.store import TinyDBRepository
from crmtui.sync.google.factory import calendar_remote_factory
from crmtui.sync.remote import CalendarRemote, EventUpdate, NewEvent

Json = dict[str, Any]
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
TIME = {"all_day": False, "start": "2026-03-02T10:00:00+00:00",
        "end": "2026-03-02T11:00:00+00:00", "timezone": "UTC", "start_date": None,
        "end_date": None}


def fields(title: str, **more: Any) -> Json:
    return {"title": title, "notes": "", "location": "", "time": dict(TIME), "recurrence": [],
            **more}


def new(n: int, **more: Any) -> NewEvent:
    return NewEvent(crm_id=f"act-{n}", event_id=f"crm{n:08d}", fields=fields(f"Event {n}", **more))


class GoogleCalendarSide:
    def __init__(self, emu: Emulator, remote: CalendarRemote, email: str) -> None:
        self.emu = emu
        self.remote = remote
        self._base = "/accounts/" + urllib.parse.quote(email) + "/events"

    def create(self, title: str) -> str:
        made: str = control(self.emu, "POST", self._base, {
            "summary": title, "start": {"dateTime": TIME["start"], "timeZone": "UTC"},
            "end": {"dateTime": TIME["end"], "timeZone": "UTC"}})["id"]
        return made

    def edit(self, event_id: str, **body: Any) -> None:
        control(self.emu, "PATCH", f"{self._base}/{event_id}", body)

    def cancel(self, event_id: str) -> None:
        control(self.emu, "DELETE", f"{self._base}/{event_id}")

    def expire_sync_tokens(self) -> None:
        control(self.emu, "POST", "/sync-tokens/invalidate")


@pytest.fixture(params=["google"])
def side(request: pytest.FixtureRequest, repo: TinyDBRepository, data_dir: Path,
         account: Account, emulator: Emulator) -> GoogleCalendarSide:
    remote = calendar_remote_factory(data_dir, sleep=lambda seconds: None)(account)
    return GoogleCalendarSide(emulator, remote, account.email)


def made(side: GoogleCalendarSide, *items: NewEvent) -> list[str]:
    results = side.remote.insert(list(items))
    assert all(r.event is not None and not r.error for r in results), results
    return [r.event.remote_id for r in results if r.event is not None]


def test_a_first_listing_is_full_then_a_token_lists_changes_and_cancellations(
        side: GoogleCalendarSide) -> None:
    a, b = made(side, new(1), new(2))
    theirs = side.create("From Calendar")
    listing = side.remote.list_changes("", SINCE)
    assert listing.full and listing.sync_token
    got = {e.remote_id: e for e in listing.events}
    assert set(got) == {a, b, theirs}
    assert got[a].crm_id == "act-1" and not got[theirs].crm_id
    assert got[a].fields["title"] == "Event 1" and got[a].fields["time"] == TIME
    assert side.remote.list_changes(listing.sync_token, SINCE).events == []
    side.edit(a, summary="Renamed")
    side.cancel(b)
    changed = side.remote.list_changes(listing.sync_token, SINCE)
    assert not changed.full
    got = {e.remote_id: e for e in changed.events}
    assert set(got) == {a, b}
    assert got[a].fields["title"] == "Renamed" and not got[a].cancelled
    assert got[b].cancelled


def test_an_expired_sync_token_lists_everything(side: GoogleCalendarSide) -> None:
    names = made(side, new(1), new(2))
    token = side.remote.list_changes("", SINCE).sync_token
    side.expire_sync_tokens()
    listing = side.remote.list_changes(token, SINCE)
    assert listing.full and sorted(e.remote_id for e in listing.events) == sorted(names)
    assert side.remote.list_changes(listing.sync_token, SINCE).events == []


def test_get_reads_the_current_state_and_leaves_out_unknown_ids(side: GoogleCalendarSide
                                                                ) -> None:
    a, b = made(side, new(1), new(2))
    side.cancel(b)
    got = side.remote.get([a, b, "unknown00000"])
    assert [e.remote_id for e in got] == [a, b]
    assert not got[0].cancelled and got[1].cancelled


def test_insert_gives_one_result_per_event_and_a_rerun_finds_the_event(
        side: GoogleCalendarSide) -> None:
    bad = NewEvent(crm_id="act-9", event_id="crm00000009",
                   fields=fields("Bad", time={**TIME, "end": None}))
    results = side.remote.insert([new(1), bad, new(2)])
    assert [r.key for r in results] == ["act-1", "act-9", "act-2"]
    assert results[1].event is None and results[1].error
    first = results[0].event
    assert first is not None and first.crm_id == "act-1" and first.remote_id == "crm00000001"
    [again] = side.remote.insert([new(1)])  # a re-run after a crash
    assert again.event is not None and again.event.remote_id == first.remote_id
    assert not again.error and not again.taken


def test_patch_writes_the_changed_fields_and_reports_a_stale_etag(side: GoogleCalendarSide
                                                                  ) -> None:
    a, b = made(side, new(1), new(2))
    read = side.remote.get([a, b])
    side.edit(b, summary="In Calendar")
    results = side.remote.patch(
        [EventUpdate(e, {**e.fields, "location": "Room 1", "notes": "not in changed"},
                     ["location"]) for e in read])
    assert [r.key for r in results] == [a, b]
    done = results[0].event
    assert done is not None and done.fields["location"] == "Room 1"
    assert done.fields["notes"] == "" and done.etag != read[0].etag
    assert results[1].stale and results[1].event is None
    [kept] = side.remote.get([b])
    assert kept.fields["title"] == "In Calendar" and kept.fields["location"] == ""


def test_delete_cancels_and_an_unknown_or_cancelled_event_counts_as_done(
        side: GoogleCalendarSide) -> None:
    a, b = made(side, new(1), new(2))
    side.cancel(b)
    results = side.remote.delete([a, b, "unknown00000"])
    assert [r.key for r in results] == [a, b, "unknown00000"]
    assert all(not r.error for r in results)
    assert all(e.cancelled for e in side.remote.get([a, b]))
