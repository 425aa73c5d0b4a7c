"""iCalendar export, parsed back with icalendar and checked field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import Activity, Contact, Participant, User
from crmtui.store import TinyDBRepository

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def _export(repo: TinyDBRepository, viewer: User, tmp_path: Path) -> dict[str, Event]:
    path = tmp_path / "calendar.ics"
    report = export_file(repo, path, viewer_id=viewer.id)
    cal = Calendar.from_ical(path.read_bytes())
    events = cal.walk("VEVENT")
    assert report.counts["activities"] == len(events)
    assert {tz["TZID"] for tz in cal.walk("VTIMEZONE")} >= {
        e["DTSTART"].params["TZID"] for e in events if "TZID" in e["DTSTART"].params}
    return {str(e.get("X-CRMTUI-ID", e["UID"])): e for e in events}


def test_timed_activity_keeps_its_zone(repo: TinyDBRepository, ann: User,
                                       tmp_path: Path) -> None:
    a = repo.add_activity(Activity(
        title="Call with Zoë 📞", type="call", start=datetime(2024, 7, 1, 9, 0, tzinfo=NEW_YORK),
        end=datetime(2024, 7, 1, 9, 45, tzinfo=NEW_YORK), timezone="America/New_York",
        location="Room 1, 2nd floor; east", notes="Agenda:\n- prices\n- dates",
        status="cancelled", priority="high", organizer_id=ann.id, show_in_calendar=True,
        created=datetime(2024, 6, 1, 8, 0, 0, 500, tzinfo=UTC),
        modified=datetime(2024, 6, 2, 10, 0, tzinfo=PARIS)))

    e = _export(repo, ann, tmp_path)[a.id]

    assert str(e["UID"]) == a.id and str(e["SUMMARY"]) == "Call with Zoë 📞"
    assert e["DTSTART"].dt == a.start and e["DTSTART"].dt.tzinfo.key == "America/New_York"
    assert e["DTSTART"].params["TZID"] == "America/New_York"
    assert e["DTEND"].dt == a.end
    assert str(e["LOCATION"]) == a.location and str(e["DESCRIPTION"]) == a.notes
    assert (str(e["STATUS"]), int(e["PRIORITY"])) == ("CANCELLED", 1)
    assert (str(e["X-CRMTUI-TYPE"]), str(e["X-CRMTUI-SHOW-IN-CALENDAR"])) == ("call", "TRUE")
    assert str(e["X-CRMTUI-STATUS"]) == "cancelled"
    assert e["CREATED"].dt == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    assert e["LAST-MODIFIED"].dt == datetime(2024, 6, 2, 8, 0, tzinfo=UTC)
    assert str(e["ORGANIZER"]) == "mailto:ann@example.com" and e["ORGANIZER"].params["CN"] == \
        "Ann Lee"
    assert "RRULE" not in e and "RECURRENCE-ID" not in e


def test_activity_without_zone_is_written_in_utc(repo: TinyDBRepository, ann: User,
                                                 tmp_path: Path) -> None:
    a = repo.add_activity(Activity(title="Zoneless", start=datetime(2024, 7, 1, 9, tzinfo=PARIS),
                                   organizer_id=ann.id))
    e = _export(repo, ann, tmp_path)[a.id]
    assert e["DTSTART"].dt == datetime(2024, 7, 1, 7, tzinfo=UTC)
    assert e["DTSTART"].dt.utcoffset().total_seconds() == 0 and "TZID" not in e["DTSTART"].params
    assert "DTEND" not in e


def test_all_day_multi_day_activity_has_an_exclusive_end(repo: TinyDBRepository, ann: User,
                                                         tmp_path: Path) -> None:
    a = repo.add_activity(Activity(title="Trade fair", all_day=True, start_date=date(2024, 2, 27),
                                   end_date=date(2024, 3, 1), organizer_id=ann.id,
                                   priority="low"))
    e = _export(repo, ann, tmp_path)[a.id]
    assert e["DTSTART"].dt == date(2024, 2, 27) and not isinstance(e["DTSTART"].dt, datetime)
    assert e["DTEND"].dt == date(2024, 3, 2)
    assert e["DTSTART"].params["VALUE"] == "DATE"
    assert (str(e["STATUS"]), int(e["PRIORITY"])) == ("CONFIRMED", 9)


def test_recurring_series_with_a_changed_occurrence(repo: TinyDBRepository, ann: User,
                                                    tmp_path: Path) -> None:
    series = Activity(title="Stand-up", start=datetime(2024, 3, 4, 9, tzinfo=PARIS),
                      end=datetime(2024, 3, 4, 9, 15, tzinfo=PARIS), timezone="Europe/Paris",
                      organizer_id=ann.id,
                      recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240401T000000Z",
                                  "EXDATE;TZID=Europe/Paris:20240306T090000"])
    moved = Activity(title="Stand-up (longer)", start=datetime(2024, 3, 11, 9, tzinfo=PARIS),
                     end=datetime(2024, 3, 11, 10, tzinfo=PARIS), timezone="Europe/Paris",
                     organizer_id=ann.id, series_id=series.id)
    repo.add_activities([series, moved])

    events = _export(repo, ann, tmp_path)

    master, occurrence = events[series.id], events[moved.id]
    rule = master["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO", "WE"]
    assert rule["UNTIL"] == [datetime(2024, 4, 1, tzinfo=UTC)]
    assert [d.dt for d in master["EXDATE"].dts] == [datetime(2024, 3, 6, 9, tzinfo=PARIS)]
    assert str(occurrence["UID"]) == series.id  # an occurrence shares its series' UID
    assert occurrence["RECURRENCE-ID"].dt == moved.start
    assert str(occurrence["RELATED-TO"]) == series.id
    assert occurrence["RELATED-TO"].params["RELTYPE"] == "PARENT"
    assert str(occurrence["SUMMARY"]) == "Stand-up (longer)"


def test_collective_activity_lists_attendees_with_their_answers(
        repo: TinyDBRepository, ann: User, bob: User, tmp_path: Path) -> None:
    zoe = repo.add_contact(Contact(given_name="Zoë", family_name="Ångström",
                                   emails=["zoe@old.example.com",
                                           {"value": "zoe@example.com", "primary": True}]))
    mute = repo.add_contact(Contact(given_name="No", family_name="Email"))
    a = repo.add_activity(Activity(
        title="Kick-off", type="meeting", start=datetime(2024, 9, 2, 14, tzinfo=PARIS),
        end=datetime(2024, 9, 2, 15, tzinfo=PARIS), timezone="Europe/Paris", organizer_id=bob.id,
        participants=[Participant("user", ann.id, "accepted"),
                      Participant("user", bob.id, "tentative"),
                      Participant("contact", zoe.id, "declined"),
                      Participant("contact", mute.id)]))

    e = _export(repo, ann, tmp_path)[a.id]  # Ann takes part: the event is hers too

    attendees = {str(x): (x.params["CN"], x.params["PARTSTAT"]) for x in e["ATTENDEE"]}
    assert attendees == {"mailto:ann@example.com": ("Ann Lee", "ACCEPTED"),
                         "mailto:bob@example.com": ("Bob Stone", "TENTATIVE"),
                         "mailto:zoe@example.com": ("Zoë Ångström", "DECLINED")}
    assert str(e["ORGANIZER"]) == "mailto:bob@example.com"


def test_only_the_viewers_activities_and_dated_ones(repo: TinyDBRepository, ann: User,
                                                    bob: User, tmp_path: Path) -> None:
    mine = repo.add_activity(Activity(title="Mine", start=datetime(2024, 1, 1, tzinfo=UTC),
                                      organizer_id=ann.id))
    repo.add_activity(Activity(title="Bob's", start=datetime(2024, 1, 1, tzinfo=UTC),
                               organizer_id=bob.id))
    repo.add_activity(Activity(title="Someday", organizer_id=ann.id))

    report = export_file(repo, tmp_path / "a.ics", viewer_id=ann.id)

    assert report.counts == {"activities": 1, "undated": 1}
    assert list(_export(repo, ann, tmp_path)) == [mine.id]


def test_full_database_exports_valid_calendar(full_db: TinyDBRepository, ann: User,
                                              tmp_path: Path) -> None:
    events = _export(full_db, ann, tmp_path)
    assert len(events) == 2  # the series and its occurrence; Bob organizes the conference


def test_importing_ics_is_not_supported(repo: TinyDBRepository, ann: User,
                                        tmp_path: Path) -> None:
    path = tmp_path / "in.ics"
    path.write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    with pytest.raises(FormatError, match="importing iCalendar .* not supported"):
        import_file(repo, path, viewer_id=ann.id)


@pytest.mark.parametrize("rule", ["RRULE:FREQ=SOMETIMES", "RRULE:COUNT=3", "EXDATE:someday"])
def test_an_invalid_rule_names_the_activity(repo: TinyDBRepository, ann: User, tmp_path: Path,
                                            rule: str) -> None:
    a = repo.add_activity(Activity(title="Odd", start=datetime(2024, 1, 1, tzinfo=UTC),
                                   organizer_id=ann.id, recurrence=[rule]))
    with pytest.raises(FormatError) as info:
        export_file(repo, tmp_path / "a.ics", viewer_id=ann.id)
    assert info.value.location == f"activity {a.id} (Odd)"
    assert info.value.reason.startswith("recurrence: the rule cannot be written to iCalendar")
    assert not (tmp_path / "a.ics").exists()
