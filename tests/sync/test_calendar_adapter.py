"""The Calendar adapter against the emulator, through the real client library and the factory
the command line uses: mapping round trips (time zones across DST, all-day, recurring),
client ids and the CRM id in extended properties, re-runs after a crash, taken ids, patches
that keep what crmtui does not own, stale etags, deletes, sync tokens and paging, request
counts, per-record failures and retries (nothing is slept: waits are recorded)."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
from synckit import Requests, control, fault

from crmtui.emulator import Emulator
from crmtui.model import Account
from crmtui.store import TinyDBRepository
from crmtui.sync.google.calendar import (
    GoogleCalendar,
    attendee_entries,
    event_fields,
    event_times,
    instance_suffix,
    remote_event,
)
from crmtui.sync.google.factory import calendar_remote_factory
from crmtui.sync.remote import (
    EVENT_CRM_ID_KEY,
    Attendee,
    EventUpdate,
    NewEvent,
    RemoteError,
    RemoteEvent,
)

Json = dict[str, Any]
EVENTS = "/calendar/v3/calendars/primary/events"
BATCH = "POST /batch/calendar/v3"

# Europe/Berlin leaves CET for CEST at 2026-03-29 01:00 UTC: 00:30Z is 01:30+01:00, 02:00Z is
# 04:00+02:00.
ACROSS_DST = {"all_day": False, "start": "2026-03-29T00:30:00+00:00",
              "end": "2026-03-29T02:00:00+00:00", "timezone": "Europe/Berlin",
              "start_date": None, "end_date": None}
THREE_DAYS = {"all_day": True, "start": None, "end": None, "timezone": "",
              "start_date": "2026-05-01", "end_date": "2026-05-03"}
WEEKLY_TIME = {"all_day": False, "start": "2026-06-01T07:00:00+00:00",
               "end": "2026-06-01T08:00:00+00:00", "timezone": "Europe/Paris",
               "start_date": None, "end_date": None}


def fields(title: str = "Meeting", time: Json | None = None, *, notes: str = "",
           location: str = "", recurrence: list[str] | None = None) -> Json:
    return {"title": title, "notes": notes, "location": location,
            "time": dict(time or ACROSS_DST), "recurrence": list(recurrence or [])}


def event_id(n: int) -> str:
    """A client id (base32hex, 5-1024 characters)."""
    return f"crm{n:08d}"


def new(n: int, **kw: Any) -> NewEvent:
    attendees = kw.pop("attendees", [])
    return NewEvent(crm_id=f"act-{n}", event_id=event_id(n), fields=fields(f"Event {n}", **kw),
                    attendees=attendees)


class Calendar:
    """Ann's primary calendar: the adapter under test (built by the factory), the waits it
    asked for, and changes made "in the Calendar UI" through the control API."""

    def __init__(self, emu: Emulator, remote: GoogleCalendar, email: str,
                 sleeps: list[float], messages: list[str]) -> None:
        self.emu = emu
        self.remote = remote
        self.sleeps = sleeps
        self.messages = messages
        self.requests = Requests(emu)
        self._base = "/accounts/" + urllib.parse.quote(email) + "/events"

    def ui_events(self, deleted: bool = False) -> list[Json]:
        found: list[Json] = control(self.emu, "GET", self._base
                                    + ("?deleted=true" if deleted else ""))["items"]
        return found

    def ui_event(self, eid: str) -> Json:
        return next(e for e in self.ui_events(deleted=True) if e["id"] == eid)

    def ui_insert(self, body: Json) -> Json:
        made: Json = control(self.emu, "POST", self._base, body)
        return made

    def ui_patch(self, eid: str, body: Json) -> Json:
        edited: Json = control(self.emu, "PATCH", f"{self._base}/{eid}", body)
        return edited

    def ui_delete(self, eid: str) -> None:
        control(self.emu, "DELETE", f"{self._base}/{eid}")

    def insert_one(self, item: NewEvent) -> RemoteEvent:
        [result] = self.remote.insert([item])
        assert result.error == "" and result.event is not None, result
        return result.event


@pytest.fixture
def cal(repo: TinyDBRepository, data_dir: Any, account: Account, emulator: Emulator
        ) -> Calendar:
    sleeps: list[float] = []
    messages: list[str] = []
    remote = calendar_remote_factory(data_dir, progress=messages.append,
                                     sleep=sleeps.append)(account)
    assert isinstance(remote, GoogleCalendar)
    return Calendar(emulator, remote, account.email, sleeps, messages)


# --------------------------------------------------------------------------- mapping, pure


def test_event_times_of_a_timed_event_are_in_its_zone_across_dst() -> None:
    start, end = event_times(ACROSS_DST)
    assert start == {"dateTime": "2026-03-29T01:30:00+01:00", "timeZone": "Europe/Berlin"}
    assert end == {"dateTime": "2026-03-29T04:00:00+02:00", "timeZone": "Europe/Berlin"}


def test_event_times_of_an_all_day_event_end_the_day_after() -> None:
    assert event_times(THREE_DAYS) == ({"date": "2026-05-01"}, {"date": "2026-05-04"})
    one_day = {**THREE_DAYS, "end_date": None}
    assert event_times(one_day) == ({"date": "2026-05-01"}, {"date": "2026-05-02"})


def test_event_times_refuse_what_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="without an end"):
        event_times({**ACROSS_DST, "end": None})
    with pytest.raises(ValueError, match="time zone"):
        event_times({**ACROSS_DST, "timezone": "Mars/Olympus"})


def test_event_fields_of_a_google_event() -> None:
    event = {"id": "abcde", "summary": "Review", "location": "Room 1",
             "start": {"dateTime": "2026-03-29T01:30:00+01:00", "timeZone": "Europe/Berlin"},
             "end": {"dateTime": "2026-03-29T04:00:00+02:00", "timeZone": "Europe/Berlin"},
             "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]}
    assert event_fields(event) == {"title": "Review", "notes": "", "location": "Room 1",
                                   "time": ACROSS_DST,
                                   "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]}
    no_zone = {"start": {"dateTime": "2026-01-01T10:00:00Z"},
               "end": {"dateTime": "2026-01-01T11:00:00Z"}}
    assert event_fields(no_zone)["time"] == {
        "all_day": False, "start": "2026-01-01T10:00:00+00:00",
        "end": "2026-01-01T11:00:00+00:00", "timezone": "UTC", "start_date": None,
        "end_date": None}
    all_day = {"start": {"date": "2026-05-01"}, "end": {"date": "2026-05-04"}}
    assert event_fields(all_day)["time"] == THREE_DAYS


def test_remote_event_reads_people_ids_and_instances() -> None:
    event = {"id": "ser_20260601T070000Z", "etag": '"42"', "status": "confirmed",
             "updated": "2026-04-01T10:00:00.123Z", "iCalUID": "ser@google.com",
             "start": {"date": "2026-06-02"}, "end": {"date": "2026-06-03"},
             "organizer": {"email": "Ann@Example.com", "self": True},
             "attendees": [{"email": "Bob@Example.com", "responseStatus": "accepted"},
                           {"email": "ann@example.com", "organizer": True, "self": True}],
             "extendedProperties": {"shared": {EVENT_CRM_ID_KEY: "act-9"}},
             "recurringEventId": "ser",
             "originalStartTime": {"dateTime": "2026-06-01T09:00:00+02:00",
                                   "timeZone": "Europe/Paris"}}
    got = remote_event(event)
    assert got.remote_id == "ser_20260601T070000Z" and got.etag == '"42"'
    assert got.updated == datetime(2026, 4, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert got.ical_uid == "ser@google.com" and got.crm_id == "act-9"
    assert got.organizer_email == "ann@example.com" and got.organizer_self
    assert got.attendees == [Attendee("bob@example.com", "accepted"),
                             Attendee("ann@example.com", "needsAction", organizer=True)]
    assert got.series_id == "ser" and got.original_start == "2026-06-01T07:00:00+00:00"
    assert not got.cancelled and got.fields["time"]["start_date"] == "2026-06-02"
    dated = remote_event({"id": "x", "originalStartTime": {"date": "2026-06-01"}})
    assert dated.original_start == "2026-06-01"


def test_a_tombstone_has_no_fields() -> None:
    got = remote_event({"kind": "calendar#event", "etag": '"1"', "id": "gone1",
                        "status": "cancelled"})
    assert got.cancelled and got.fields == {} and got.remote_id == "gone1"


def test_private_crm_id_wins_over_shared() -> None:
    got = remote_event({"id": "x", "extendedProperties": {
        "private": {EVENT_CRM_ID_KEY: "mine"}, "shared": {EVENT_CRM_ID_KEY: "theirs"}}})
    assert got.crm_id == "mine"


def test_instance_suffix_is_utc_for_a_time_and_the_day_for_a_date() -> None:
    assert instance_suffix("2026-03-29T01:30:00+01:00") == "20260329T003000Z"
    assert instance_suffix("2026-06-01T07:00:00+00:00") == "20260601T070000Z"
    assert instance_suffix("2026-06-01") == "20260601"


def test_attendee_entries_keep_what_google_knows() -> None:
    raw = {"attendees": [{"email": "bob@example.com", "responseStatus": "accepted",
                          "displayName": "Bob"},
                         {"email": "ann@example.com", "self": True, "organizer": True}]}
    assert attendee_entries(["Bob@example.com", "eve@example.com"], raw) == [
        {"email": "bob@example.com", "responseStatus": "accepted", "displayName": "Bob"},
        {"email": "eve@example.com"}]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(("time", "recurrence"), [
    (ACROSS_DST, []),
    (THREE_DAYS, []),
    (WEEKLY_TIME, ["RRULE:FREQ=WEEKLY;COUNT=5;BYDAY=MO"]),
], ids=["timed-across-dst", "all-day-three-days", "weekly"])
def test_insert_then_read_back_gives_the_same_fields(cal: Calendar, time: Json,
                                                     recurrence: list[str]) -> None:
    wanted = fields("Round trip", time, notes="Line 1\nLine 2", location="Berlin",
                    recurrence=recurrence)
    made = cal.insert_one(NewEvent(crm_id="act-1", event_id="roundtrip1", fields=wanted))
    assert made.fields == wanted
    [read] = cal.remote.get(["roundtrip1"])
    assert read.fields == wanted and read.etag == made.etag
    [listed] = cal.remote.list_changes("", None).events
    assert listed.fields == wanted


def test_a_dst_event_is_stored_in_its_zone(cal: Calendar) -> None:
    cal.insert_one(NewEvent(crm_id="act-1", event_id="berlin01", fields=fields()))
    stored = cal.ui_event("berlin01")
    assert stored["start"] == {"dateTime": "2026-03-29T01:30:00+01:00",
                               "timeZone": "Europe/Berlin"}
    assert stored["end"] == {"dateTime": "2026-03-29T04:00:00+02:00",
                             "timeZone": "Europe/Berlin"}


# --------------------------------------------------------------------------- inserting


def test_insert_uses_the_client_id_and_carries_the_crm_id(cal: Calendar) -> None:
    made = cal.insert_one(new(1, attendees=["Bob@example.com"]))
    stored = cal.ui_event(event_id(1))
    assert made.remote_id == event_id(1) == stored["id"]
    assert stored["extendedProperties"] == {"private": {EVENT_CRM_ID_KEY: "act-1"},
                                            "shared": {EVENT_CRM_ID_KEY: "act-1"}}
    assert stored["attendees"] == [{"email": "bob@example.com",
                                    "responseStatus": "needsAction"}]
    assert made.crm_id == "act-1" and made.organizer_self
    assert made.attendees == [Attendee("bob@example.com")]
    assert "location" not in stored and "description" not in stored


def test_inserting_again_links_the_event_instead_of_duplicating_it(cal: Calendar) -> None:
    first = cal.insert_one(new(1))
    again = cal.remote.insert([new(1), new(2)])
    assert [r.error for r in again] == ["", ""] and not any(r.taken for r in again)
    assert again[0].event is not None and again[0].event.remote_id == first.remote_id
    assert [r.key for r in again] == ["act-1", "act-2"]
    assert sorted(e["id"] for e in cal.ui_events()) == [event_id(1), event_id(2)]


def test_a_cancelled_id_or_another_records_id_is_taken(cal: Calendar) -> None:
    cal.insert_one(new(1))
    cal.insert_one(new(2))
    cal.ui_delete(event_id(1))
    other = NewEvent(crm_id="act-other", event_id=event_id(2), fields=fields())
    results = cal.remote.insert([new(1), other])
    assert [(r.key, r.taken, r.event) for r in results] == [("act-1", True, None),
                                                           ("act-other", True, None)]
    assert all("taken" in r.error for r in results)


def test_the_duplicates_of_a_batch_are_read_back_together(cal: Calendar) -> None:
    cal.remote.insert([new(i) for i in range(5)])
    cal.requests.reset()
    results = cal.remote.insert([new(i) for i in range(5)])
    assert all(r.event is not None and not r.error for r in results)
    counts = cal.requests()
    assert counts["by_path"][BATCH] == 2  # the inserts, then one batch of gets
    assert counts["by_path"][f"GET {EVENTS}/{event_id(0)}"] == 1


def test_an_invalid_id_and_an_unmappable_event_are_errors_not_exceptions(cal: Calendar) -> None:
    bad_id = NewEvent(crm_id="act-bad", event_id="UPPER-case", fields=fields())
    no_end = NewEvent(crm_id="act-noend", event_id="noend1",
                      fields=fields(time={**ACROSS_DST, "end": None}))
    results = cal.remote.insert([bad_id, no_end, new(3)])
    assert results[0].error == "Google refused it: Invalid resource id value."
    assert not results[0].taken
    assert results[1].error.startswith("cannot be mapped") and "without an end" in results[1].error
    assert results[2].event is not None
    assert [e["id"] for e in cal.ui_events()] == [event_id(3)]


def test_a_changed_occurrence_is_written_as_the_exception_of_its_instance(
        cal: Calendar) -> None:
    series = cal.insert_one(NewEvent(crm_id="act-s", event_id="series01",
                                     fields=fields("Weekly", WEEKLY_TIME,
                                                   recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])))
    moved = {**WEEKLY_TIME, "start": "2026-06-08T09:00:00+00:00",
             "end": "2026-06-08T10:00:00+00:00"}
    occurrence = NewEvent(crm_id="act-o", event_id="ignored01", fields=fields("Moved", moved),
                          series_remote_id=series.remote_id,
                          original_start="2026-06-08T07:00:00+00:00")
    made = cal.insert_one(occurrence)
    assert made.remote_id == "series01_20260608T070000Z"
    assert made.series_id == "series01" and made.original_start == "2026-06-08T07:00:00+00:00"
    assert made.crm_id == "act-o" and made.fields["title"] == "Moved"
    assert made.fields["time"] == moved and made.fields["recurrence"] == []
    listed = {e.remote_id: e for e in cal.remote.list_changes("", None).events}
    assert set(listed) == {"series01", "series01_20260608T070000Z"}
    assert listed["series01"].fields["title"] == "Weekly"


# --------------------------------------------------------------------------- patching


def test_patch_writes_only_what_changed_and_keeps_the_rest(cal: Calendar) -> None:
    cal.ui_insert({
        "id": "uiev0001", "summary": "Planning", "description": "Agenda",
        "start": {"dateTime": "2026-04-01T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-04-01T11:00:00+02:00", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "bob@example.com", "responseStatus": "accepted",
                       "displayName": "Bob Stone"},
                      {"email": "outsider@elsewhere.org", "responseStatus": "tentative",
                       "comment": "maybe"}],
        "reminders": {"useDefault": False, "overrides": [{"method": "email", "minutes": 30}]},
        "conferenceData": {"conferenceId": "abc-defg-hij",
                           "entryPoints": [{"entryPointType": "video",
                                            "uri": "https://meet.google.com/abc-defg-hij"}]},
        "extendedProperties": {"private": {"other": "kept"}}})
    [read] = cal.remote.get(["uiev0001"])
    before = cal.ui_event("uiev0001")
    new_fields = {**read.fields, "title": "Planning (moved)",
                  "time": {**read.fields["time"], "start": "2026-04-01T09:00:00+00:00",
                           "end": "2026-04-01T10:30:00+00:00"}}
    update = EventUpdate(remote=read, fields=new_fields, changed=["title", "time", "attendees"],
                         attendees=["bob@example.com", "outsider@elsewhere.org",
                                    "carol@example.com"])
    [result] = cal.remote.patch([update])
    assert result.error == "" and result.event is not None
    assert result.event.fields == new_fields
    after = cal.ui_event("uiev0001")
    assert after["attendees"] == [
        {"email": "bob@example.com", "responseStatus": "accepted", "displayName": "Bob Stone"},
        {"email": "outsider@elsewhere.org", "responseStatus": "tentative", "comment": "maybe"},
        {"email": "carol@example.com", "responseStatus": "needsAction"}]
    for kept in ("reminders", "conferenceData", "extendedProperties", "description"):
        assert after[kept] == before[kept]
    assert after["start"] == {"dateTime": "2026-04-01T11:00:00+02:00",
                              "timeZone": "Europe/Berlin"}


def test_patch_between_timed_and_all_day(cal: Calendar) -> None:
    made = cal.insert_one(new(1))
    to_all_day = {**made.fields, "time": THREE_DAYS}
    [result] = cal.remote.patch([EventUpdate(made, to_all_day, ["time"])])
    assert result.event is not None and result.event.fields == to_all_day
    assert cal.ui_event(event_id(1))["start"] == {"date": "2026-05-01"}
    back = {**to_all_day, "time": ACROSS_DST}
    [again] = cal.remote.patch([EventUpdate(result.event, back, ["time"])])
    assert again.event is not None and again.event.fields == back
    assert cal.ui_event(event_id(1))["start"] == {"dateTime": "2026-03-29T01:30:00+01:00",
                                                  "timeZone": "Europe/Berlin"}


def test_patch_sends_if_match_and_a_stale_etag_is_stale(cal: Calendar) -> None:
    made = cal.insert_one(new(1))
    other = cal.insert_one(new(2))
    cal.ui_patch(event_id(1), {"summary": "Changed in Google"})
    results = cal.remote.patch([
        EventUpdate(made, {**made.fields, "title": "Changed in the CRM"}, ["title"]),
        EventUpdate(other, {**other.fields, "notes": "fine"}, ["notes"])])
    assert results[0].stale and results[0].event is None and results[0].error
    assert results[1].event is not None and results[1].event.fields["notes"] == "fine"
    assert cal.ui_event(event_id(1))["summary"] == "Changed in Google"


def test_patch_of_a_deleted_or_unknown_event_is_gone(cal: Calendar) -> None:
    made = cal.insert_one(new(1))
    cal.ui_delete(event_id(1))
    unknown = RemoteEvent(remote_id="nosuchevent", fields=made.fields)
    results = cal.remote.patch([
        EventUpdate(unknown, {**made.fields, "title": "x"}, ["title"])])
    assert [(r.key, r.error) for r in results] == [("nosuchevent", "gone")]


def test_patch_with_nothing_to_change_makes_no_request(cal: Calendar) -> None:
    made = cal.insert_one(new(1))
    cal.requests.reset()
    [result] = cal.remote.patch([EventUpdate(made, made.fields, [])])
    assert result.event is made and cal.requests()["total"] == 0


# --------------------------------------------------------------------------- reading, deleting


def test_get_leaves_unknown_ids_out_and_keeps_cancelled_ones(cal: Calendar) -> None:
    cal.insert_one(new(1))
    cal.insert_one(new(2))
    cal.ui_delete(event_id(2))
    got = cal.remote.get([event_id(2), "unknown01", event_id(1), event_id(1)])
    assert [(e.remote_id, e.cancelled) for e in got] == [(event_id(2), True),
                                                         (event_id(1), False)]


def test_delete_twice_and_unknown_ids_are_done(cal: Calendar) -> None:
    cal.insert_one(new(1))
    first = cal.remote.delete([event_id(1), "unknown01"])
    second = cal.remote.delete([event_id(1)])
    assert [(r.key, r.error) for r in first + second] == [
        (event_id(1), ""), ("unknown01", ""), (event_id(1), "")]
    assert cal.ui_event(event_id(1))["status"] == "cancelled"


def test_a_refused_delete_is_that_records_error(cal: Calendar) -> None:
    cal.remote.insert([new(1), new(2)])
    fault(cal.emu, f"{EVENTS}/{event_id(1)}$", method="DELETE", status=403,
          body={"error": {"code": 403, "message": "Forbidden",
                          "errors": [{"domain": "global", "reason": "forbidden",
                                      "message": "Forbidden"}]}})
    results = cal.remote.delete([event_id(1), event_id(2)])
    assert [r.error for r in results] == ["Google refused it: Forbidden", ""]
    assert cal.ui_event(event_id(2))["status"] == "cancelled"
    assert cal.ui_event(event_id(1))["status"] == "confirmed"


# --------------------------------------------------------------------------- listings


def test_incremental_listing_after_a_full_one(cal: Calendar) -> None:
    cal.remote.insert([new(1), new(2), new(3)])
    full = cal.remote.list_changes("", None)
    assert full.full and len(full.events) == 3 and full.sync_token
    cal.ui_patch(event_id(1), {"summary": "Edited in Google"})
    cal.ui_delete(event_id(2))
    changes = cal.remote.list_changes(full.sync_token, None)
    assert not changes.full
    by_id = {e.remote_id: e for e in changes.events}
    assert set(by_id) == {event_id(1), event_id(2)}
    assert by_id[event_id(1)].fields["title"] == "Edited in Google"
    assert by_id[event_id(2)].cancelled
    assert cal.remote.list_changes(changes.sync_token, None).events == []


def test_an_expired_sync_token_falls_back_to_a_full_listing(cal: Calendar) -> None:
    cal.remote.insert([new(1), new(2)])
    token = cal.remote.list_changes("", None).sync_token
    control(cal.emu, "POST", "/sync-tokens/invalidate")
    cal.requests.reset()
    listing = cal.remote.list_changes(token, None)
    assert listing.full and {e.remote_id for e in listing.events} == {event_id(1), event_id(2)}
    assert listing.sync_token and listing.sync_token != token
    assert any("sync token" in m for m in cal.messages)
    log = [r for r in cal.requests.log() if r["path"] == EVENTS]
    assert [r["status"] for r in log] == [410, 200]
    assert "syncToken" in log[0]["query"] and "syncToken" not in log[1]["query"]
    assert not cal.remote.list_changes(listing.sync_token, None).full


def test_a_full_listing_starts_at_time_min(cal: Calendar) -> None:
    early = {**ACROSS_DST, "start": "2025-01-01T10:00:00+00:00",
             "end": "2025-01-01T11:00:00+00:00"}
    cal.remote.insert([new(1, time=early), new(2)])
    listing = cal.remote.list_changes("", datetime(2026, 1, 1, tzinfo=UTC))
    assert [e.remote_id for e in listing.events] == [event_id(2)]
    [query] = [r["query"] for r in cal.requests.log()
               if r["method"] == "GET" and r["path"] == EVENTS]
    assert "timeMin=2026-01-01T00:00:00+00:00" in query
    assert "showDeleted=true" in query and "singleEvents=false" in query


def test_listing_pages_past_2500(cal: Calendar) -> None:
    n = 2600
    results = cal.remote.insert([new(i) for i in range(n)])
    assert all(r.event is not None for r in results)
    cal.requests.reset()
    listing = cal.remote.list_changes("", None)
    assert len(listing.events) == n == len({e.remote_id for e in listing.events})
    log = [r for r in cal.requests.log() if r["path"] == EVENTS]
    assert len(log) == 2 and "maxResults=2500" in log[0]["query"]
    assert "pageToken" in log[1]["query"]
    assert any("2500 so far" in m for m in cal.messages)


# --------------------------------------------------------------------------- request counts


def test_250_inserts_are_3_batch_requests(cal: Calendar) -> None:
    cal.requests.reset()
    results = cal.remote.insert([new(i) for i in range(250)])
    assert sum(r.event is not None for r in results) == 250
    counts = cal.requests()
    assert counts["by_path"] == {BATCH: 3, f"POST {EVENTS}": 250}
    assert counts["http"] == 3 and counts["batch_parts"] == 250


def test_patches_gets_and_deletes_go_100_per_batch(cal: Calendar) -> None:
    made = [r.event for r in cal.remote.insert([new(i) for i in range(150)])]
    assert all(e is not None for e in made)
    cal.requests.reset()
    cal.remote.patch([EventUpdate(e, {**e.fields, "notes": "n"}, ["notes"])
                      for e in made if e is not None])
    cal.remote.get([event_id(i) for i in range(150)])
    cal.remote.delete([event_id(i) for i in range(150)])
    counts = cal.requests()
    assert counts["http"] == 6 and counts["by_path"][BATCH] == 6
    assert counts["batch_parts"] == 450


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [429, 503])
def test_a_storm_on_a_batch_request_is_retried(cal: Calendar, status: int) -> None:
    fault(cal.emu, "^/batch/calendar/v3$", method="POST", count=3, status=status)
    results = cal.remote.insert([new(1), new(2)])
    assert all(r.event is not None for r in results)
    assert len(cal.sleeps) == 3
    assert all(0 <= s <= bound for s, bound in zip(cal.sleeps, [1, 2, 4], strict=True))
    assert any(f"HTTP {status}" in m for m in cal.messages)


def test_failing_parts_are_retried_alone_after_retry_after(cal: Calendar) -> None:
    fault(cal.emu, f"^{EVENTS}$", method="POST", count=2, status=503,
          headers={"Retry-After": "5"})
    cal.requests.reset()
    results = cal.remote.insert([new(i) for i in range(4)])
    assert all(r.event is not None for r in results)
    assert cal.sleeps == [5]
    assert cal.requests()["batch_parts"] == 4 + 2  # four, then the two that answered 503


def test_a_storm_on_the_listing_is_retried(cal: Calendar) -> None:
    cal.insert_one(new(1))
    fault(cal.emu, f"^{EVENTS}$", method="GET", count=2, status=429)
    listing = cal.remote.list_changes("", None)
    assert [e.remote_id for e in listing.events] == [event_id(1)] and len(cal.sleeps) == 2


def test_a_storm_longer_than_the_retries_is_a_remote_error(cal: Calendar) -> None:
    fault(cal.emu, "^/batch/calendar/v3$", method="POST", count=10, status=503)
    with pytest.raises(RemoteError, match="HTTP 503.*after 6 attempts"):
        cal.remote.insert([new(1)])
    assert len(cal.sleeps) == 5 and cal.ui_events() == []


def test_a_refused_listing_is_a_remote_error(cal: Calendar) -> None:
    fault(cal.emu, f"^{EVENTS}$", method="GET", status=400)
    with pytest.raises(RemoteError, match="events.list: Google refused the request"):
        cal.remote.list_changes("", None)


# --------------------------------------------------------------------------- malformed records


@pytest.mark.parametrize(("event", "why"), [
    ({"id": "e1", "status": "confirmed", "start": {"timeZone": "UTC"}},
     "its start has neither a date nor a date and time"),
    ({"id": "e1", "status": "confirmed"}, "its start has neither a date nor a date and time"),
    ({"id": "e1", "start": {"date": "2026-02-30"}}, "start.date '2026-02-30' is not a date"),
    ({"id": "e1", "start": {"dateTime": "2026-02-03T10:00:00"}},
     "start.dateTime '2026-02-03T10:00:00' has no UTC offset"),
    ({"id": "e1", "start": {"date": "2026-02-03"}, "recurrence": "RRULE:FREQ=DAILY"},
     "recurrence is a string, not a list"),
    ({"id": "e1", "start": {"date": "2026-02-03"}, "summary": None},
     "summary is null, not a string"),
    ({"id": "e1", "start": {"date": "2026-02-03"}, "organizer": ["ann@example.com"]},
     "organizer is a list, not an object"),
    ({"start": {"date": "2026-02-03"}}, "the event has no id"),
])
def test_an_event_not_as_the_api_promises_is_set_apart_with_the_reason(
        event: Json, why: str) -> None:
    from crmtui.sync.google.calendar import read_events

    fine = {"id": "ok", "status": "cancelled"}  # a tombstone needs nothing else
    read, malformed = read_events([fine, event])
    assert [e.remote_id for e in read] == ["ok"]
    assert malformed == [(event.get("id", ""), why)]


def test_a_batch_answer_or_part_that_is_not_json_is_retried(cal: Calendar) -> None:
    made = cal.insert_one(new(1))
    html = {"Content-Type": "text/html"}
    fault(cal.emu, "/batch/calendar/v3$", method="POST", status=200,
          body="<html>502 Bad Gateway</html>", headers=html)
    fault(cal.emu, f"{EVENTS}/{made.remote_id}$", method="GET", status=200,
          body="<html>502 Bad Gateway</html>", headers=html)
    [got] = cal.remote.get([made.remote_id])
    assert got.remote_id == made.remote_id and len(cal.sleeps) == 2
    assert any("not a batch response" in m for m in cal.messages)
    assert any("an HTML page instead of JSON" in m for m in cal.messages)
