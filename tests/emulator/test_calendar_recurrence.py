"""Calendar recurring events: expansion into instances, instance ids, exceptions."""

from __future__ import annotations

from typing import Any

import pytest
from emukit import Google
from googleapiclient.errors import HttpError
from test_calendar_events import all_day, error_of, insert
from test_calendar_sync import listing


def series(summary: str, rule: list[str], start: str = "2026-12-01T10:00:00",
           end: str = "2026-12-01T11:00:00", zone: str = "Europe/Paris") -> dict[str, Any]:
    return {"summary": summary, "recurrence": rule,
            "start": {"dateTime": start, "timeZone": zone},
            "end": {"dateTime": end, "timeZone": zone}}


def instances(g: Google, event_id: str, **params: Any) -> list[dict[str, Any]]:
    return g.calendar.events().instances(calendarId="primary", eventId=event_id,
                                         **params).execute()["items"]


def starts(items: list[dict[str, Any]]) -> list[str]:
    return [e["start"].get("dateTime") or e["start"]["date"] for e in items]


def test_single_events_expands_a_series_into_instances(google: Google) -> None:
    master = insert(google, series("Weekly", ["RRULE:FREQ=WEEKLY;COUNT=3"]))
    items = listing(google, singleEvents=True, orderBy="startTime")["items"]
    assert [e["id"] for e in items] == [f"{master['id']}_2026120{d}T090000Z" for d in (1, 8)] + [
        f"{master['id']}_20261215T090000Z"]
    assert starts(items) == ["2026-12-01T10:00:00+01:00", "2026-12-08T10:00:00+01:00",
                             "2026-12-15T10:00:00+01:00"]
    first = items[0]
    assert first["recurringEventId"] == master["id"]
    assert first["originalStartTime"] == {"dateTime": "2026-12-01T10:00:00+01:00",
                                          "timeZone": "Europe/Paris"}
    assert first["iCalUID"] == master["iCalUID"] and "recurrence" not in first
    plain = listing(google)["items"]
    assert [e["id"] for e in plain] == [master["id"]]
    assert plain[0]["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3"]


def test_instances_keep_local_time_across_daylight_saving(google: Google) -> None:
    master = insert(google, series("Across DST", ["RRULE:FREQ=WEEKLY;COUNT=2"],
                                   "2026-03-22T10:00:00", "2026-03-22T11:00:00"))
    assert starts(instances(google, master["id"])) == ["2026-03-22T10:00:00+01:00",
                                                       "2026-03-29T10:00:00+02:00"]


@pytest.mark.parametrize(("rule", "expected"), [
    ("RRULE:FREQ=DAILY;INTERVAL=2;COUNT=3", ["2026-12-01", "2026-12-03", "2026-12-05"]),
    ("RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261208T235959Z",
     ["2026-12-01", "2026-12-03", "2026-12-08"]),
    ("RRULE:FREQ=MONTHLY;BYDAY=1TU;COUNT=3", ["2026-12-01", "2027-01-05", "2027-02-02"]),
    ("RRULE:FREQ=YEARLY;COUNT=2", ["2026-12-01", "2027-12-01"]),
    ("RRULE:FREQ=WEEKLY;UNTIL=20261215", ["2026-12-01", "2026-12-08", "2026-12-15"]),
])
def test_common_rules(google: Google, rule: str, expected: list[str]) -> None:
    master = insert(google, series("Rule", [rule]))
    assert [s[:10] for s in starts(instances(google, master["id"]))] == expected


def test_exdate_and_rdate(google: Google) -> None:
    master = insert(google, series("Edited", ["RRULE:FREQ=DAILY;COUNT=3",
                                              "EXDATE;TZID=Europe/Paris:20261202T100000",
                                              "RDATE;TZID=Europe/Paris:20261210T100000"]))
    assert [s[:10] for s in starts(instances(google, master["id"]))] == [
        "2026-12-01", "2026-12-03", "2026-12-10"]


def test_an_endless_series_is_bounded_by_time_max(google: Google) -> None:
    master = insert(google, series("Forever", ["RRULE:FREQ=DAILY"]))
    items = listing(google, singleEvents=True, timeMin="2027-01-10T00:00:00Z",
                    timeMax="2027-01-13T00:00:00Z")["items"]
    assert [e["id"] for e in items] == [f"{master['id']}_202701{d}T090000Z"
                                        for d in (10, 11, 12)]
    assert [e["id"] for e in listing(google, timeMin="2027-06-01T00:00:00Z")["items"]] == [
        master["id"]]


def test_all_day_instances_have_date_ids(google: Google) -> None:
    master = insert(google, {**all_day("Birthday", "2026-12-05", "2026-12-06"),
                             "recurrence": ["RRULE:FREQ=YEARLY;COUNT=2"]})
    items = instances(google, master["id"])
    assert [e["id"] for e in items] == [f"{master['id']}_20261205", f"{master['id']}_20271205"]
    assert items[1]["start"] == {"date": "2027-12-05"} and items[1]["end"] == {
        "date": "2027-12-06"}


def test_a_timed_series_needs_a_time_zone(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        insert(google, {"summary": "No zone", "recurrence": ["RRULE:FREQ=DAILY"],
                        "start": {"dateTime": "2026-12-01T10:00:00Z"},
                        "end": {"dateTime": "2026-12-01T11:00:00Z"}})
    assert error_of(exc)["message"] == "Missing time zone definition for start time."


def test_a_bad_rule_is_refused(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        insert(google, series("Bad", ["RRULE:FREQ=SOMETIMES"]))
    assert exc.value.status_code == 400


def test_a_modified_instance_is_stored_as_an_exception(google: Google) -> None:
    master = insert(google, series("Weekly", ["RRULE:FREQ=WEEKLY;COUNT=3"]))
    second = f"{master['id']}_20261208T090000Z"
    got = google.calendar.events().get(calendarId="primary", eventId=second).execute()
    assert got["recurringEventId"] == master["id"]
    moved = google.calendar.events().patch(calendarId="primary", eventId=second, body={
        "summary": "Moved", "start": {"dateTime": "2026-12-09T15:00:00+01:00"},
        "end": {"dateTime": "2026-12-09T16:00:00+01:00"}}).execute()
    assert moved["id"] == second and moved["originalStartTime"]["dateTime"].startswith(
        "2026-12-08T10:00")
    expanded = listing(google, singleEvents=True, orderBy="startTime")["items"]
    assert [e["summary"] for e in expanded] == ["Weekly", "Moved", "Weekly"]
    assert expanded[1]["start"]["dateTime"] == "2026-12-09T15:00:00+01:00"
    plain = listing(google)["items"]
    assert sorted(e["id"] for e in plain) == sorted([master["id"], second])


def test_a_deleted_instance_disappears_from_the_expansion(google: Google) -> None:
    master = insert(google, series("Weekly", ["RRULE:FREQ=WEEKLY;COUNT=3"]))
    token = listing(google)["nextSyncToken"]
    first = f"{master['id']}_20261201T090000Z"
    google.calendar.events().delete(calendarId="primary", eventId=first).execute()
    assert len(listing(google, singleEvents=True)["items"]) == 2
    assert len(instances(google, master["id"])) == 2
    plain = {e["id"]: e for e in listing(google)["items"]}
    assert plain[first]["status"] == "cancelled"  # a cancelled exception of a live series
    assert plain[first]["recurringEventId"] == master["id"]
    delta = listing(google, syncToken=token)["items"]
    assert [(e["id"], e["status"]) for e in delta] == [(first, "cancelled")]


def test_deleting_the_series_cancels_it(google: Google) -> None:
    master = insert(google, series("Weekly", ["RRULE:FREQ=WEEKLY;COUNT=3"]))
    google.calendar.events().delete(calendarId="primary", eventId=master["id"]).execute()
    assert listing(google, singleEvents=True)["items"] == []
    assert listing(google)["items"] == []
