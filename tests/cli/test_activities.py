"""`crmtui activities ...`: times and zones, participants, filters, edits, deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from .conftest import Crm


@pytest.fixture
def team(crm: Crm) -> dict[str, Any]:
    """Ann (the default user), Bob, and a contact Zoë."""
    ann = crm.add_user("Ann Lee", "ann@example.com", "--default")
    bob = crm.add_user("Bob Stone", "bob@example.com")
    zoe = crm.add_contact("--given", "Zoë", "--family", "Ångström",
                          "--email", "zoe@nordlys.example")
    return {"ann": ann, "bob": bob, "zoe": zoe}


def _add(crm: Crm, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = crm.json("activities", "add", *args)
    return result


def _titles(rows: list[dict[str, Any]]) -> list[str]:
    return [r["title"] for r in rows]


# --------------------------------------------------------------------------- add


def test_add_a_timed_meeting_in_a_zone(crm: Crm, team: dict[str, Any]) -> None:
    added = _add(crm, "--title", "Kickoff", "--type", "meeting",
                 "--start", "2026-11-25T10:00", "--end", "2026-11-25T11:30",
                 "--tz", "Europe/Paris", "--location", "Room 1", "--notes", "Agenda",
                 "--status", "in_progress", "--priority", "high", "--show-in-calendar",
                 "--participant", "bob@example.com", "--participant", "ZOE@nordlys.example",
                 "--rrule", "FREQ=WEEKLY;BYDAY=WE")
    assert added["start"] == "2026-11-25T10:00:00+01:00"
    assert added["end"] == "2026-11-25T11:30:00+01:00"
    assert added["timezone"] == "Europe/Paris" and added["all_day"] is False
    assert (added["type"], added["status"], added["priority"]) == ("meeting", "in_progress",
                                                                   "high")
    assert (added["location"], added["notes"], added["show_in_calendar"]) == ("Room 1", "Agenda",
                                                                               True)
    assert added["organizer_id"] == added["owner_id"] == team["ann"]["id"]
    assert added["participants"] == [
        {"kind": "user", "ref_id": team["bob"]["id"], "response": "needsAction"},
        {"kind": "contact", "ref_id": team["zoe"]["id"], "response": "needsAction"}]
    assert added["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=WE"]
    assert crm.json("activities", "show", added["id"]) == added


def test_defaults_and_human_output(crm: Crm, team: dict[str, Any]) -> None:
    out = crm.ok("activities", "add", "--title", "Call back", "--start", "2026-11-25T09:00Z",
                 "--type", "call")
    assert out.startswith("Added the call 'Call back' (2026-11-25 09:00; id ")
    (added,) = crm.json("activities", "list")
    assert (added["type"], added["status"], added["priority"]) == ("call", "not_started",
                                                                   "medium")
    assert added["show_in_calendar"] is False and added["participants"] == []


def test_a_naive_start_is_in_the_local_zone_unless_tz_is_given(
        crm: Crm, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    local = _add(crm, "--title", "Local", "--start", "2026-07-01T09:00")
    assert local["timezone"] == "America/New_York"
    assert local["start"] == "2026-07-01T09:00:00-04:00"
    # An offset given with the time is kept as it is.
    offset = _add(crm, "--title", "Offset", "--start", "2026-07-01T09:00+02:00")
    assert offset["start"] == "2026-07-01T09:00:00+02:00" and offset["timezone"] == ""
    tokyo = _add(crm, "--title", "Tokyo", "--start", "2026-07-01 09:00", "--tz", "Asia/Tokyo")
    assert tokyo["start"] == "2026-07-01T09:00:00+09:00"


def test_add_all_day(crm: Crm, team: dict[str, Any]) -> None:
    trip = _add(crm, "--title", "Trip", "--date", "2026-12-24", "--end-date", "2026-12-26")
    assert trip["all_day"] is True and trip["start"] is None
    assert (trip["start_date"], trip["end_date"]) == ("2026-12-24", "2026-12-26")
    day = _add(crm, "--title", "Day", "--all-day", "--date", "2026-12-31")
    assert day["end_date"] == "2026-12-31"


def test_organizer_and_participants_by_contact_id(crm: Crm, team: dict[str, Any]) -> None:
    added = _add(crm, "--title", "Lunch", "--organizer", "bob@example.com",
                 "--participant", team["zoe"]["id"][:6])
    assert added["organizer_id"] == team["bob"]["id"]
    assert added["owner_id"] == team["ann"]["id"]
    assert added["participants"] == [
        {"kind": "contact", "ref_id": team["zoe"]["id"], "response": "needsAction"}]


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2026-11-25T10:00", "--end", "2026-11-25T09:00"], "--end: is before the start"),
    (["--start", "tomorrow"], "--start: is not an ISO 8601 date and time"),
    (["--start", "2026-11-25T10:00", "--tz", "Mars/Olympus"], "--tz: is not a known IANA"),
    (["--end", "2026-11-25T10:00"], "--start: an activity with an end needs a start"),
    (["--all-day"], "--date: an all-day activity needs a start date"),
    (["--date", "2026-02-30"], "--date: is not a date"),
    (["--date", "2026-12-24", "--end-date", "2026-12-23"], "--end-date: is before the start"),
    (["--date", "2026-12-24", "--start", "2026-12-24T10:00"],
     "--start: an all-day activity has dates, not times"),
    (["--organizer", "zed@example.com"], "--organizer: no user has the email zed@example.com"),
    (["--participant", "nobody@example.com"],
     "--participant: no user or contact has the email nobody@example.com"),
    (["--participant", "ffffff"], "--participant: no contact has the id 'ffffff'"),
    (["--participant", "bob@example.com", "--participant", "bob@example.com"],
     "--participant: the same participant is listed twice"),
    (["--rrule", "BYDAY=MO"], "--rrule: an RRULE needs FREQ="),
    (["--title", " "], "--title: must not be empty"),
])
def test_add_validation_names_the_option_and_writes_nothing(
        crm: Crm, team: dict[str, Any], args: list[str], message: str) -> None:
    if "--title" not in args:
        args = ["--title", "Bad", *args]
    assert message in crm.fails("activities", "add", *args)
    assert crm.json("activities", "list", "--all") == []


def test_add_usage_errors(crm: Crm, team: dict[str, Any]) -> None:
    assert "Missing option '--title'" in crm.fails("activities", "add", code=2)
    assert "Invalid value for '--type'" in crm.fails("activities", "add", "--title", "x",
                                                     "--type", "party", code=2)


def test_a_participant_email_shared_by_two_contacts_needs_an_id(crm: Crm,
                                                                 team: dict[str, Any]) -> None:
    crm.add_contact("--given", "Other", "--email", "zoe@nordlys.example")
    err = crm.fails("activities", "add", "--title", "x", "--participant", "zoe@nordlys.example")
    assert "2 contacts have the email zoe@nordlys.example; give the contact's id" in err


# --------------------------------------------------------------------------- list


@pytest.fixture
def agenda(crm: Crm, team: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "past": _add(crm, "--title", "Past call", "--type", "call",
                     "--start", "2025-01-10T09:00", "--tz", "UTC"),
        "nov": _add(crm, "--title", "November meeting", "--type", "meeting", "--show-in-calendar",
                    "--start", "2026-11-25T23:30", "--tz", "Europe/Paris",
                    "--notes", "quarterly review"),
        "dec": _add(crm, "--title", "December trip", "--date", "2026-12-01",
                    "--end-date", "2026-12-03", "--show-in-calendar"),
        "bob": _add(crm, "--title", "Bob's own", "--organizer", "bob@example.com",
                    "--start", "2026-11-30T10:00", "--tz", "UTC"),
        "bob_ann": _add(crm, "--title", "Bob with Ann", "--organizer", "bob@example.com",
                        "--participant", "ann@example.com",
                        "--start", "2026-11-26T10:00", "--tz", "UTC"),
        "undated": _add(crm, "--title", "Someday"),
    }


def test_list_defaults_to_the_current_users_activities_by_start(
        crm: Crm, agenda: dict[str, dict[str, Any]]) -> None:
    assert _titles(crm.json("activities", "list")) == [
        "Past call", "November meeting", "Bob with Ann", "December trip", "Someday"]
    lines = crm.ok("activities", "list").splitlines()
    assert lines[0].split() == ["WHEN", "ZONE", "TYPE", "TITLE", "STATUS", "CALENDAR",
                                "ORGANIZER", "ID"]
    assert lines[2].startswith("2026-11-25 23:30") and "yes" in lines[2]
    assert "Europe/Paris" in lines[2] and "UTC" in lines[1]  # the zone each time is in
    assert lines[4].startswith("2026-12-01..2026-12-03 all day")
    assert "Bob Stone" in lines[3]


def test_list_by_user_and_all(crm: Crm, agenda: dict[str, dict[str, Any]]) -> None:
    assert _titles(crm.json("activities", "list", "--user", "bob@example.com")) == [
        "Bob with Ann", "Bob's own"]
    assert len(crm.json("activities", "list", "--all")) == 6
    assert _titles(crm.json("--user", "bob@example.com", "activities", "list")) == [
        "Bob with Ann", "Bob's own"]
    assert "give --user or --all, not both" in crm.fails(
        "activities", "list", "--all", "--user", "bob@example.com", code=2)
    assert "--user: no user has the email x@example.com" in crm.fails(
        "activities", "list", "--user", "x@example.com")


def test_list_date_range_is_inclusive_and_uses_local_dates(
        crm: Crm, agenda: dict[str, dict[str, Any]]) -> None:
    # The November meeting starts on the 25th in Paris (22:30 UTC): a date bound uses the 25th.
    assert _titles(crm.json("activities", "list", "--all", "--from", "2026-11-25",
                            "--to", "2026-11-30")) == [
        "November meeting", "Bob with Ann", "Bob's own"]
    assert _titles(crm.json("activities", "list", "--from", "2026-12-02")) == []
    assert _titles(crm.json("activities", "list", "--from", "2026-12-01")) == ["December trip"]
    assert _titles(crm.json("activities", "list", "--to", "2025-12-31")) == ["Past call"]
    assert "--to: is before --from" in crm.fails("activities", "list", "--from", "2026-12-01",
                                                 "--to", "2026-11-01")
    assert "--from: is not a date" in crm.fails("activities", "list", "--from", "Monday")


def test_list_calendar_type_and_search_filters(crm: Crm,
                                               agenda: dict[str, dict[str, Any]]) -> None:
    assert _titles(crm.json("activities", "list", "--calendar")) == [
        "November meeting", "December trip"]
    assert _titles(crm.json("activities", "list", "--no-calendar")) == [
        "Past call", "Bob with Ann", "Someday"]
    assert _titles(crm.json("activities", "list", "--type", "call")) == ["Past call"]
    assert _titles(crm.json("activities", "list", "--search", "QUARTERLY")) == [
        "November meeting"]
    assert _titles(crm.json("activities", "list", "--all", "--limit", "2")) == [
        "Past call", "November meeting"]
    assert crm.ok("activities", "list", "--type", "email") == "No activities.\n"


# --------------------------------------------------------------------------- show


def test_show_human(crm: Crm, agenda: dict[str, dict[str, Any]], team: dict[str, Any]) -> None:
    crm.ok("activities", "edit", agenda["nov"]["id"], "--add-participant", "zoe@nordlys.example")
    out = crm.ok("activities", "show", agenda["nov"]["id"][:6])
    assert out.splitlines()[0] == "November meeting"
    assert "when:         2026-11-25 23:30" in out
    assert "time zone:    Europe/Paris" in out
    assert "organizer:    Ann Lee <ann@example.com>" in out
    assert f"Zoë Ångström <zoe@nordlys.example> (contact {team['zoe']['id'][:8]}): needsAction" \
        in out
    assert "shown in calendar" in out and "quarterly review" in out
    assert "no activity has the id" in crm.fails("activities", "show", "0000000")


# --------------------------------------------------------------------------- edit


def test_edit_moving_the_start_keeps_the_length(crm: Crm, team: dict[str, Any]) -> None:
    a = _add(crm, "--title", "Demo", "--start", "2026-11-25T10:00", "--end", "2026-11-25T11:30",
             "--tz", "Europe/Paris")
    moved = crm.json("activities", "edit", a["id"], "--start", "2026-11-26T14:00")
    assert moved["start"] == "2026-11-26T14:00:00+01:00"  # naive: in the activity's zone
    assert moved["end"] == "2026-11-26T15:30:00+01:00"
    assert moved["title"] == "Demo" and moved["modified"] > a["modified"]
    longer = crm.json("activities", "edit", a["id"], "--end", "2026-11-26T17:00")
    assert longer["start"] == moved["start"] and longer["end"] == "2026-11-26T17:00:00+01:00"
    zoned = crm.json("activities", "edit", a["id"], "--tz", "UTC")
    assert zoned["start"] == "2026-11-26T13:00:00+00:00" and zoned["timezone"] == "UTC"
    open_ended = crm.json("activities", "edit", a["id"], "--clear-end")
    assert open_ended["end"] is None


def test_edit_between_all_day_and_timed(crm: Crm, team: dict[str, Any]) -> None:
    a = _add(crm, "--title", "Fair", "--date", "2026-12-01", "--end-date", "2026-12-03")
    moved = crm.json("activities", "edit", a["id"], "--date", "2026-12-10")
    assert (moved["start_date"], moved["end_date"]) == ("2026-12-10", "2026-12-12")
    shorter = crm.json("activities", "edit", a["id"], "--end-date", "2026-12-11")
    assert shorter["end_date"] == "2026-12-11"
    timed = crm.json("activities", "edit", a["id"], "--start", "2026-12-10T09:00", "--tz", "UTC")
    assert timed["all_day"] is False and timed["start_date"] is None
    assert timed["start"] == "2026-12-10T09:00:00+00:00" and timed["end"] is None
    back = crm.json("activities", "edit", a["id"], "--date", "2026-12-11")
    assert back["all_day"] is True and back["start"] is None
    assert back["end_date"] == "2026-12-11"


def test_edit_other_fields_and_participants(crm: Crm, team: dict[str, Any]) -> None:
    a = _add(crm, "--title", "Sync", "--participant", "bob@example.com", "--location", "Here",
             "--rrule", "FREQ=DAILY", "--notes", "n")
    edited = crm.json("activities", "edit", a["id"], "--title", "Weekly sync", "--type", "meeting",
                      "--status", "completed", "--priority", "low", "--clear-location",
                      "--show-in-calendar", "--organizer", "bob@example.com",
                      "--remove-participant", "bob@example.com",
                      "--add-participant", team["zoe"]["id"], "--clear-rrule")
    assert (edited["title"], edited["type"], edited["status"], edited["priority"]) == (
        "Weekly sync", "meeting", "completed", "low")
    assert edited["location"] == "" and edited["notes"] == "n"
    assert edited["show_in_calendar"] is True and edited["recurrence"] == []
    assert edited["organizer_id"] == team["bob"]["id"]
    assert edited["participants"] == [
        {"kind": "contact", "ref_id": team["zoe"]["id"], "response": "needsAction"}]
    out = crm.ok("activities", "edit", a["id"], "--no-show-in-calendar")
    assert out.startswith("Updated the meeting 'Weekly sync'")
    assert crm.json("activities", "show", a["id"])["show_in_calendar"] is False


def test_edit_errors_change_nothing(crm: Crm, team: dict[str, Any]) -> None:
    a = _add(crm, "--title", "Call", "--start", "2026-11-25T10:00", "--tz", "UTC")
    d = _add(crm, "--title", "Day", "--date", "2026-11-25")
    assert "nothing to change" in crm.fails("activities", "edit", a["id"], code=2)
    assert "not both" in crm.fails("activities", "edit", a["id"], "--date", "2026-11-26",
                                   "--start", "2026-11-26T10:00", code=2)
    assert "not both" in crm.fails("activities", "edit", a["id"], "--location", "x",
                                   "--clear-location", code=2)
    assert "--end: is before the start" in crm.fails("activities", "edit", a["id"],
                                                     "--end", "2026-11-25T09:00")
    assert "--end-date: the activity has times" in crm.fails("activities", "edit", a["id"],
                                                             "--end-date", "2026-11-27")
    assert "--end: the activity is all-day" in crm.fails("activities", "edit", d["id"],
                                                         "--end", "2026-11-27T10:00")
    assert "--remove-participant: bob@example.com does not take part" in crm.fails(
        "activities", "edit", a["id"], "--remove-participant", "bob@example.com")
    assert "--title: must not be empty" in crm.fails("activities", "edit", a["id"],
                                                     "--title", "")
    assert crm.json("activities", "show", a["id"]) == a
    assert crm.json("activities", "show", d["id"]) == d


# --------------------------------------------------------------------------- delete


def test_delete(crm: Crm, team: dict[str, Any], tty: None) -> None:
    a = _add(crm, "--title", "One", "--start", "2026-11-25T10:00", "--tz", "UTC")
    b = _add(crm, "--title", "Two")
    declined = crm.run("activities", "delete", a["id"], input="n\n")
    assert declined.exit_code == 1 and "One (2026-11-25 10:00" in declined.stderr
    assert len(crm.json("activities", "list")) == 2
    accepted = crm.run("activities", "delete", a["id"][:6], input="y\n")
    assert accepted.exit_code == 0 and accepted.stdout == "Deleted 1 activity.\n"
    assert crm.json("activities", "delete", b["id"], "--yes") == {"deleted": [b["id"]]}
    assert crm.json("activities", "list", "--all") == []


def test_delete_without_a_terminal_requires_yes(crm: Crm, team: dict[str, Any]) -> None:
    a = _add(crm, "--title", "One")
    assert "--yes" in crm.fails("activities", "delete", a["id"])
    assert _titles(crm.json("activities", "list")) == ["One"]


def test_naive_times_take_the_zones_offset_of_their_date(crm: Crm, team: dict[str, Any]) -> None:
    a = _add(crm, "--title", "x", "--start", "2026-03-29T01:30", "--end", "2026-03-29T03:30",
             "--tz", "Europe/Berlin")
    start, end = datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"])
    assert (end - start).total_seconds() == 3600  # across the spring-forward gap: one real hour
