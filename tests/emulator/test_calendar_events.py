"""Calendar events: insert, get, patch, update, delete, import, preconditions, validation.

``timed``, ``all_day`` and ``error_of`` are shared with the other Calendar test modules.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError

from crmtui.emulator import Emulator


def timed(summary: str, start: str = "2026-12-01T10:00:00Z", end: str = "2026-12-01T11:00:00Z",
          **extra: Any) -> dict[str, Any]:
    """An event body with dateTime start and end."""
    return {"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def all_day(summary: str, first: str, after_last: str, **extra: Any) -> dict[str, Any]:
    """An all-day event body (the end date is exclusive)."""
    return {"summary": summary, "start": {"date": first}, "end": {"date": after_last}, **extra}


def error_of(exc: pytest.ExceptionInfo[HttpError]) -> dict[str, Any]:
    """The ``errors[0]`` item of a Calendar error, with the status and top-level message."""
    body = json.loads(exc.value.content)["error"]
    assert body["message"] == body["errors"][0]["message"]
    return {"status": exc.value.status_code, **body["errors"][0]}


def insert(g: Google, body: dict[str, Any]) -> dict[str, Any]:
    return g.calendar.events().insert(calendarId="primary", body=body).execute()


def test_insert_fills_googles_server_fields(google: Google) -> None:
    ev = insert(google, timed("Standup"))
    assert re.fullmatch(r"[a-v0-9]{26}", ev["id"])
    assert ev["iCalUID"] == ev["id"] + "@google.com"
    assert re.fullmatch(r'"\d+"', ev["etag"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", ev["created"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev["updated"])
    assert ev["creator"] == {"email": "ann@example.com", "self": True}
    assert ev["organizer"] == {"email": "ann@example.com", "self": True}
    assert (ev["status"], ev["sequence"], ev["kind"]) == ("confirmed", 0, "calendar#event")
    assert ev["reminders"] == {"useDefault": True}
    assert ev["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")


def test_insert_with_a_client_id_and_its_reuse(google: Google) -> None:
    ev = insert(google, timed("Mine", id="crm0000000042"))
    assert ev["id"] == "crm0000000042"
    with pytest.raises(HttpError) as exc:
        insert(google, timed("Again", id="crm0000000042"))
    assert error_of(exc) == {"status": 409, "domain": "global", "reason": "duplicate",
                             "message": "The requested identifier already exists."}


def test_a_deleted_events_id_cannot_be_reused(google: Google) -> None:
    insert(google, timed("Gone", id="crm0000000043"))
    google.calendar.events().delete(calendarId="primary", eventId="crm0000000043").execute()
    with pytest.raises(HttpError) as exc:
        insert(google, timed("Again", id="crm0000000043"))
    assert error_of(exc)["reason"] == "duplicate"


@pytest.mark.parametrize("bad", ["abc", "UPPERCASE1", "has-dash-123", "wxyz12345"])
def test_client_ids_must_be_base32hex(google: Google, bad: str) -> None:
    with pytest.raises(HttpError) as exc:
        insert(google, timed("Bad id", id=bad))
    assert error_of(exc) == {"status": 400, "domain": "global", "reason": "invalid",
                             "message": "Invalid resource id value."}


def test_client_ical_uid_is_kept(google: Google) -> None:
    ev = insert(google, timed("From elsewhere", iCalUID="uid-1@crmtui"))
    assert ev["iCalUID"] == "uid-1@crmtui"


def test_start_and_end_must_be_the_same_kind(google: Google) -> None:
    body = {"summary": "Mixed", "start": {"date": "2026-12-01"},
            "end": {"dateTime": "2026-12-01T11:00:00Z"}}
    with pytest.raises(HttpError) as exc:
        insert(google, body)
    assert error_of(exc) == {
        "status": 400, "domain": "global", "reason": "invalid",
        "message": "Start and end times must either both be date or both be dateTime."}


def test_missing_end_is_refused(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        insert(google, {"summary": "Open", "start": {"dateTime": "2026-12-01T10:00:00Z"}})
    assert error_of(exc) == {"status": 400, "domain": "global", "reason": "required",
                             "message": "Missing end time."}


def test_end_before_start_is_an_empty_range(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        insert(google, timed("Backwards", "2026-12-01T10:00:00Z", "2026-12-01T09:00:00Z"))
    assert error_of(exc)["reason"] == "timeRangeEmpty"
    assert exc.value.status_code == 400


def test_a_date_time_needs_an_offset_or_a_zone(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        insert(google, timed("Floating", "2026-12-01T10:00:00", "2026-12-01T11:00:00"))
    assert error_of(exc)["message"] == "Missing time zone definition for start time."
    ev = insert(google, {"summary": "Zoned",
                         "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Paris"},
                         "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "Europe/Paris"}})
    assert ev["start"] == {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Paris"}


def test_all_day_events_keep_their_dates(google: Google) -> None:
    ev = insert(google, all_day("Holiday", "2026-12-24", "2026-12-27"))
    got = google.calendar.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["start"] == {"date": "2026-12-24"} and got["end"] == {"date": "2026-12-27"}


def test_reminders_conference_and_zones_are_returned_untouched(google: Google) -> None:
    reminders = {"useDefault": False, "overrides": [{"method": "popup", "minutes": 15}]}
    conference = {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.example/x"}]}
    ev = insert(google, {"summary": "Call", "reminders": reminders, "conferenceData": conference,
                         "start": {"dateTime": "2026-12-01T10:00:00-05:00",
                                   "timeZone": "America/New_York"},
                         "end": {"dateTime": "2026-12-01T11:00:00-05:00",
                                 "timeZone": "America/New_York"}})
    got = google.calendar.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["reminders"] == reminders and got["conferenceData"] == conference
    assert got["start"]["timeZone"] == "America/New_York"


def test_attendees_get_a_response_status_and_the_organizer_flag(google: Google) -> None:
    ev = insert(google, timed("Meet", attendees=[
        {"email": "Someone@Elsewhere.org", "displayName": "someone@elsewhere.org"},
        {"email": "ann@example.com", "responseStatus": "accepted"}]))
    assert ev["attendees"] == [
        {"email": "someone@elsewhere.org", "responseStatus": "needsAction"},
        {"email": "ann@example.com", "responseStatus": "accepted", "organizer": True,
         "self": True}]


def test_get_unknown_event_is_404(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        google.calendar.events().get(calendarId="primary", eventId="nosuchevent").execute()
    assert error_of(exc) == {"status": 404, "domain": "global", "reason": "notFound",
                             "message": "Not Found"}


def test_get_with_if_none_match_is_304_when_unchanged(google: Google) -> None:
    ev = insert(google, timed("Cached"))
    req = google.calendar.events().get(calendarId="primary", eventId=ev["id"])
    req.headers["If-None-Match"] = ev["etag"]
    with pytest.raises(HttpError) as exc:
        req.execute()
    assert exc.value.status_code == 304
    req = google.calendar.events().get(calendarId="primary", eventId=ev["id"])
    req.headers["If-None-Match"] = '"1"'
    assert req.execute()["id"] == ev["id"]


def test_patch_merges_and_changes_etag_and_updated(google: Google, emulator: Emulator) -> None:
    ev = insert(google, timed("Plan", description="first",
                              extendedProperties={"private": {"localId": "7", "x": "1"}}))
    control(emulator, "POST", "/clock", {"advance": 5})
    patched = google.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "location": "Room 1", "extendedProperties": {"private": {"x": None}}}).execute()
    assert patched["summary"] == "Plan" and patched["description"] == "first"
    assert patched["location"] == "Room 1"
    assert patched["extendedProperties"] == {"private": {"localId": "7"}}
    assert patched["etag"] != ev["etag"] and patched["updated"] > ev["updated"]
    assert patched["created"] == ev["created"]
    assert patched["sequence"] == 1  # the location changed


def test_patch_replaces_arrays_wholesale(google: Google) -> None:
    ev = insert(google, timed("Team", attendees=[{"email": "a@x.org"}, {"email": "b@x.org"}]))
    patched = google.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "attendees": [{"email": "c@x.org"}]}).execute()
    assert [a["email"] for a in patched["attendees"]] == ["c@x.org"]


def test_a_reminders_change_keeps_updated_but_not_the_etag(google: Google,
                                                          emulator: Emulator) -> None:
    ev = insert(google, timed("Remind me"))
    control(emulator, "POST", "/clock", {"advance": 5})
    patched = google.calendar.events().patch(calendarId="primary", eventId=ev["id"], body={
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}
    }).execute()
    assert patched["updated"] == ev["updated"] and patched["etag"] != ev["etag"]


def test_update_replaces_the_event(google: Google) -> None:
    ev = insert(google, timed("Plan", description="gone after update", location="Here",
                              extendedProperties={"private": {"localId": "7"}}))
    updated = google.calendar.events().update(calendarId="primary", eventId=ev["id"],
                                              body=timed("Plan v2")).execute()
    assert updated["summary"] == "Plan v2" and updated["id"] == ev["id"]
    assert "description" not in updated and "location" not in updated
    assert "extendedProperties" not in updated
    assert updated["iCalUID"] == ev["iCalUID"] and updated["created"] == ev["created"]


def test_every_write_changes_the_etag(google: Google) -> None:
    ev = insert(google, timed("Etags"))
    seen = {ev["etag"]}
    for n in range(3):
        ev = google.calendar.events().patch(calendarId="primary", eventId=ev["id"],
                                            body={"description": str(n)}).execute()
        seen.add(ev["etag"])
    assert len(seen) == 4


def test_delete_is_204_then_410_and_get_shows_cancelled(google: Google) -> None:
    ev = insert(google, timed("Doomed"))
    assert google.calendar.events().delete(calendarId="primary", eventId=ev["id"]).execute() == ""
    got = google.calendar.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["status"] == "cancelled"
    with pytest.raises(HttpError) as exc:
        google.calendar.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert error_of(exc) == {"status": 410, "domain": "global", "reason": "deleted",
                             "message": "Resource has been deleted"}


def test_patching_status_back_restores_a_cancelled_event(google: Google) -> None:
    ev = insert(google, timed("Phoenix"))
    google.calendar.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    back = google.calendar.events().patch(calendarId="primary", eventId=ev["id"],
                                          body={"status": "confirmed"}).execute()
    assert back["status"] == "confirmed" and back["summary"] == "Phoenix"


@pytest.mark.parametrize("method", ["patch", "update", "delete"])
def test_stale_if_match_is_412(google: Google, method: str) -> None:
    ev = insert(google, timed("Guarded"))
    fresh = google.calendar.events().patch(calendarId="primary", eventId=ev["id"],
                                           body={"description": "newer"}).execute()
    events = google.calendar.events()
    kwargs: dict[str, Any] = {"calendarId": "primary", "eventId": ev["id"]}
    if method != "delete":
        kwargs["body"] = timed("Overwrite")
    req = getattr(events, method)(**kwargs)
    req.headers["If-Match"] = ev["etag"]
    with pytest.raises(HttpError) as exc:
        req.execute()
    assert error_of(exc) == {"status": 412, "domain": "global", "reason": "conditionNotMet",
                             "message": "Precondition Failed", "locationType": "header",
                             "location": "If-Match"}
    req = getattr(events, method)(**kwargs)
    req.headers["If-Match"] = fresh["etag"]
    req.execute()
    got = events.get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["etag"] != fresh["etag"]


def test_shared_properties_and_private_ones_are_separate(google: Google) -> None:
    ev = insert(google, timed("Props", extendedProperties={"private": {"a": "1"},
                                                           "shared": {"b": "2"}}))
    assert ev["extendedProperties"] == {"private": {"a": "1"}, "shared": {"b": "2"}}


def test_import_is_keyed_by_ical_uid(google: Google) -> None:
    body = timed("Imported", iCalUID="ext-77@example.org",
                 organizer={"email": "boss@example.org"})
    first = google.calendar.events().import_(calendarId="primary", body=body).execute()
    assert first["organizer"] == {"email": "boss@example.org"}
    again = google.calendar.events().import_(
        calendarId="primary", body={**body, "summary": "Imported v2"}).execute()
    assert again["id"] == first["id"] and again["summary"] == "Imported v2"


def test_insert_with_an_existing_ical_uid_is_409_duplicate(google: Google) -> None:
    first = insert(google, timed("First", iCalUID="uid-9@crmtui"))
    other = insert(google, timed("Other"))  # its iCalUID is Google's own (id@google.com)
    for body in (timed("Again", iCalUID="uid-9@crmtui"),
                 timed("Same as other", iCalUID=other["iCalUID"])):
        with pytest.raises(HttpError) as exc:
            insert(google, body)
        assert error_of(exc) == {"status": 409, "domain": "global", "reason": "duplicate",
                                 "message": "The requested identifier already exists."}
    google.calendar.events().delete(calendarId="primary", eventId=first["id"]).execute()
    with pytest.raises(HttpError) as exc:  # a cancelled event keeps its iCalUID, as its id
        insert(google, timed("After delete", iCalUID="uid-9@crmtui"))
    assert error_of(exc)["reason"] == "duplicate"
    imported = google.calendar.events().import_(  # import updates the event instead
        calendarId="primary", body=timed("Imported", iCalUID="uid-9@crmtui")).execute()
    assert imported["id"] == first["id"] and imported["status"] == "confirmed"
    assert imported["summary"] == "Imported"
    listed = google.calendar.events().list(calendarId="primary").execute()["items"]
    assert sorted(e["summary"] for e in listed) == ["Imported", "Other"]


def test_batch_of_inserts_and_patches(google: Google) -> None:
    answers: dict[str, Any] = {}

    def callback(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = exception or response

    existing = insert(google, timed("Before"))
    batch = google.calendar_batch(callback)
    for n in range(3):
        batch.add(google.calendar.events().insert(calendarId="primary",
                                                  body=timed(f"Batch {n}")), request_id=f"i{n}")
    batch.add(google.calendar.events().patch(calendarId="primary", eventId=existing["id"],
                                             body={"summary": "After"}), request_id="p")
    stale = google.calendar.events().patch(calendarId="primary", eventId=existing["id"],
                                           body={"summary": "Lost"})
    stale.headers["If-Match"] = '"1"'
    batch.add(stale, request_id="stale")
    batch.execute()
    assert sorted(answers[f"i{n}"]["summary"] for n in range(3)) == ["Batch 0", "Batch 1",
                                                                      "Batch 2"]
    assert answers["p"]["summary"] == "After"
    assert isinstance(answers["stale"], HttpError) and answers["stale"].status_code == 412
    listed = google.calendar.events().list(calendarId="primary").execute()["items"]
    assert len(listed) == 4
