"""End-to-end behaviour of activity sync (issue #5, "Must show"): two and three CRM users, each
with an emulator Google account, synced through the real Calendar adapter and client library.
Every test checks both sides: the CRM through ``team.repo``, Google through the control API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calkit import Member, Team
from store.pgserver import backend_repo, new_database, pg_server  # noqa: F401
from synckit import control

from crmtui.model import (
    Activity,
    ActivityType,
    Participant,
    ParticipantKind,
    ResponseStatus,
    SyncKind,
)
from crmtui.store import ActivityQuery
from crmtui.sync.activities.actions import MergeEvent


@pytest.fixture(params=["tinydb", "postgres"])
def repo(request, tmp_path, monkeypatch):
    """Every test here runs on both stores (PostgreSQL: a database of its own)."""
    yield from backend_repo(request, tmp_path, monkeypatch)


UTCZ = ZoneInfo("UTC")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def person(m: Member, response: ResponseStatus = ResponseStatus.NEEDS_ACTION) -> Participant:
    return Participant(ParticipantKind.USER, m.user.id, response)


def task(team: Team, organizer: Member, title: str, *, start: datetime = T0,
         hours: float = 1, zone: str = "UTC", with_: tuple[Member, ...] = (),
         show: bool = True, **more: Any) -> Activity:
    """An activity organized by ``organizer`` (a participant too), with Show in calendar."""
    a = Activity(title=title, start=start, end=start + timedelta(hours=hours), timezone=zone,
                 owner_id=organizer.user.id, organizer_id=organizer.user.id,
                 participants=[person(organizer), *(person(m) for m in with_)],
                 show_in_calendar=show, **more)
    return team.repo.add_activity(a)


def synced(team: Team, m: Member) -> None:
    outcome = team.sync(m)
    assert outcome.ok, (outcome.status, outcome.message, outcome.report.skipped)


def by_title(team: Team, title: str) -> list[Activity]:
    return [a for a in team.activities() if a.title == title]


def one(team: Team, title: str) -> Activity:
    found = by_title(team, title)
    assert len(found) == 1, found
    return found[0]


def titled(m: Member, title: str) -> list[dict[str, Any]]:
    return [e for e in m.calendar.live() if e.get("summary") == title]


def emails(event: dict[str, Any]) -> set[str]:
    return {a["email"] for a in event.get("attendees", [])}


def users_of(a: Activity) -> set[str]:
    return {p.ref_id for p in a.participants if p.kind is ParticipantKind.USER}


def linked(team: Team, m: Member, a: Activity) -> str | None:
    link = team.repo.get_link(m.user.id, SyncKind.ACTIVITIES, a.id)
    return link.remote_id if link else None


def advance(team: Team, seconds: float) -> None:
    control(team.emu, "POST", "/clock", {"advance": seconds})


def insert(team: Team, m: Member, body: dict[str, Any]) -> dict[str, Any]:
    """An event made in Google Calendar with any body (all-day ones, say)."""
    made: dict[str, Any] = control(team.emu, "POST", f"/accounts/{m.calendar.email}/events", body)
    return made


def google_now(team: Team) -> datetime:
    return datetime.fromisoformat(control(team.emu, "GET", "/clock")["now"])


# --------------------------------------------------------------------------- push and pull


def test_push_sends_title_notes_location_times_and_attendees(team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    act = task(team, a, "Kick-off", with_=(b,), notes="Agenda:\n- scope", location="Room 1",
               zone="Europe/Berlin")
    synced(team, a)
    event = a.calendar.get(team.event_id(a, act))
    assert event["summary"] == "Kick-off"
    assert event["description"] == "Agenda:\n- scope"
    assert event["location"] == "Room 1"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == T0
    assert datetime.fromisoformat(event["end"]["dateTime"]) == T0 + timedelta(hours=1)
    assert event["start"]["timeZone"] == "Europe/Berlin"
    assert emails(event) == {"a@example.com", "b@example.com"}
    assert event["extendedProperties"]["private"]  # carries the CRM id
    # B's calendar holds the copy (same id), and nothing was created in the CRM.
    assert b.calendar.get(event["id"])["summary"] == "Kick-off"
    assert len(team.activities()) == 1


def test_pull_makes_a_task_shown_in_calendar_owned_and_organized_by_the_user(team: Team) -> None:
    a = team.add("a", "Amy")
    team.add("b", "Bob")
    ev = a.calendar.create("Dentist", "2026-03-04T08:30:00+01:00", "2026-03-04T09:00:00+01:00",
                           zone="Europe/Berlin", description="bring card", location="Main St")
    synced(team, a)
    act = one(team, "Dentist")
    assert act.type is ActivityType.TASK
    assert act.show_in_calendar
    assert act.owner_id == a.user.id and act.organizer_id == a.user.id
    assert act.notes == "bring card" and act.location == "Main St"
    assert act.start == datetime(2026, 3, 4, 7, 30, tzinfo=UTC)
    assert act.end == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    assert act.timezone == "Europe/Berlin"
    assert team.event_id(a, act) == ev["id"]
    assert act.ical_uid == ev["iCalUID"]
    # A second run changes nothing on either side.
    before = a.calendar.events(deleted=True)
    out = team.sync(a)
    assert out.ok and out.report.crm.created == 0 and out.report.google.created == 0
    assert a.calendar.events(deleted=True) == before


# --------------------------------------------------------------------------- sync-from date


def test_nothing_before_the_sync_from_date_is_synced(team: Team) -> None:
    a = team.add("a", "Amy")  # syncs from 2026-01-01
    early = task(team, a, "Old CRM", start=datetime(2025, 12, 31, 22, 0, tzinfo=UTC))
    on_day = task(team, a, "New CRM", start=datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    a.calendar.create("Old Google", "2025-12-30T10:00:00+00:00", "2025-12-30T11:00:00+00:00")
    a.calendar.create("New Google", "2026-01-01T00:30:00+00:00", "2026-01-01T01:00:00+00:00")
    synced(team, a)
    assert {e["summary"] for e in a.calendar.live()} == {"Old Google", "New Google", "New CRM"}
    assert linked(team, a, early) is None and linked(team, a, on_day) is not None
    assert {x.title for x in team.activities()} == {"Old CRM", "New CRM", "New Google"}


# --------------------------------------------------------------------------- the organizer rule


def test_a_participants_sync_does_not_push_the_organizers_activity(team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    act = task(team, a, "Amy's review", with_=(b,))
    out = team.sync(b)
    assert out.ok and out.report.google.created == 0
    assert b.calendar.live() == [] and a.calendar.live() == []
    assert linked(team, b, act) is None
    assert team.repo.get_activity(act.id).organizer_id == a.user.id


def test_an_organizer_without_sync_hands_the_activity_to_the_participant_who_syncs(
        team: Team) -> None:
    a = team.add("a", "Amy", since=None)  # no activity sync set up
    b, c = team.add("b", "Bob"), team.add("c", "Cal")
    act = task(team, a, "Handed over", with_=(b, c))
    synced(team, b)
    event = b.calendar.get(team.event_id(b, act))
    assert event["organizer"]["email"] == "b@example.com"
    assert team.repo.get_activity(act.id).organizer_id == b.user.id
    assert {"b@example.com", "c@example.com"} <= emails(event)
    # C's sync then links its copy to the same activity instead of pushing a second event.
    synced(team, c)
    assert linked(team, c, act) == event["id"]
    assert len(c.calendar.live()) == 1 and len(team.activities()) == 1


def test_the_organizer_handing_over_stays_in_the_meeting(team: Team) -> None:
    """Bob organizes a meeting with Alice (Bob not among its participants) and has no sync set
    up; Alice's sync makes her its organizer, and Bob stays in it: a participant in crmtui, an
    attendee in Google, and it is still in his own list."""
    bob = team.add("a", "Bob", since=None)
    alice = team.add("b", "Alice")
    act = team.repo.add_activity(Activity(
        title="Pricing", start=T0, end=T0 + timedelta(hours=1), timezone="UTC",
        owner_id=bob.user.id, organizer_id=bob.user.id, participants=[person(alice)],
        show_in_calendar=True))
    synced(team, alice)
    now = team.repo.get_activity(act.id)
    assert now.organizer_id == alice.user.id
    assert users_of(now) == {alice.user.id, bob.user.id}
    event = alice.calendar.get(team.event_id(alice, act))
    assert emails(event) >= {"a@example.com", "b@example.com"}
    assert act.id in {x.id for x in team.repo.find_activities(ActivityQuery(user_id=bob.user.id))}
    synced(team, alice)  # and it stays so: the next run changes nothing
    assert users_of(team.repo.get_activity(act.id)) == {alice.user.id, bob.user.id}


# --------------------------------------------------------------------------- collective tasks


@pytest.mark.parametrize("order", ["abc", "bca", "cab", "cba"])
def test_a_collective_task_made_in_google_is_one_activity_whatever_the_order(
        team: Team, order: str) -> None:
    members = {k: team.add(k, k.upper() + "mm") for k in "abc"}
    a, b, c = members["a"], members["b"], members["c"]
    ev = a.calendar.create("Offsite", attendees=("b@example.com", "c@example.com",
                                                "zed@outside.org"))
    for key in order:
        synced(team, members[key])
    act = one(team, "Offsite")
    assert users_of(act) == {b.user.id, c.user.id}  # A is not an attendee; the outsider is no user
    assert act.organizer_id == a.user.id
    for m in (a, b, c):
        assert linked(team, m, act) == ev["id"]
    # The outsider is still invited, nobody got a second event.
    assert "zed@outside.org" in emails(a.calendar.get(ev["id"]))
    assert all(len(m.calendar.live()) == 1 for m in (a, b, c))


def test_a_collective_task_lists_the_organizer_when_they_attend(team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    a.calendar.create("Standup", attendees=("a@example.com", "b@example.com"))
    synced(team, b)
    synced(team, a)
    act = one(team, "Standup")
    assert users_of(act) == {a.user.id, b.user.id} and act.organizer_id == a.user.id


def test_a_collective_task_made_in_the_crm_reaches_the_attendees_without_a_second_copy(
        team: Team) -> None:
    a, b, c = team.add("a", "Amy"), team.add("b", "Bob"), team.add("c", "Cal")
    act = task(team, a, "Planning", with_=(b, c))
    synced(team, a)
    rid = team.event_id(a, act)
    for m in (b, c):
        copy = m.calendar.get(rid)
        assert copy["summary"] == "Planning" and copy["organizer"]["email"] == "a@example.com"
    synced(team, b)
    synced(team, c)
    assert linked(team, b, act) == rid and linked(team, c, act) == rid
    assert len(team.activities()) == 1
    assert all(len(m.calendar.live()) == 1 for m in (a, b, c))


# --------------------------------------------------------------------------- edits


def edit(team: Team, a: Activity, **changes: Any) -> Activity:
    return team.repo.update_activity(team.repo.get_activity(a.id).evolve(**changes))


def test_the_organizers_edit_reaches_the_copies_and_keeps_what_crmtui_does_not_own(
        team: Team) -> None:
    a, b, c = team.add("a", "Amy"), team.add("b", "Bob"), team.add("c", "Cal")
    conference = {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.example/x"}],
                  "conferenceSolution": {"key": {"type": "hangoutsMeet"}},
                  "conferenceId": "x"}
    reminders = {"useDefault": False, "overrides": [{"method": "popup", "minutes": 7}]}
    ev = a.calendar.create("Review", attendees=("a@example.com", "b@example.com",
                                               "c@example.com", "zed@outside.org"),
                           reminders=reminders, conferenceData=conference)
    for m in (a, b, c):
        synced(team, m)
    act = one(team, "Review")
    advance(team, 60)
    edit(team, act, title="Review v2", location="Room 9", notes="new notes",
         start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=3))
    out = team.sync(a)
    assert out.ok and out.report.google.updated == 1
    mine = a.calendar.get(ev["id"])
    assert mine["reminders"] == reminders
    assert mine["conferenceData"]["conferenceId"] == "x"
    assert "zed@outside.org" in emails(mine)
    for m in (a, b, c):
        copy = m.calendar.get(ev["id"])
        assert copy["summary"] == "Review v2" and copy["location"] == "Room 9"
        assert copy["description"] == "new notes"
        assert datetime.fromisoformat(copy["start"]["dateTime"]) == T0 + timedelta(hours=2)
    # The attendees' syncs bring the change into nothing new: still one activity.
    synced(team, b)
    synced(team, c)
    assert len(team.activities()) == 1
    assert team.repo.get_activity(act.id).title == "Review v2"


def test_a_participants_local_edit_is_not_pushed_and_the_notes_say_so(team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    act = task(team, a, "Budget", with_=(b,))
    synced(team, a)
    synced(team, b)
    rid = team.event_id(a, act)
    before = a.calendar.get(rid)
    edit(team, act, title="Budget (Bob's idea)")
    out = team.sync(b)
    assert out.ok and out.report.google.updated == 0
    assert any("not sent to Google" in n and "title" in n for n in out.report.notes), \
        out.report.notes
    assert a.calendar.get(rid) == before
    assert b.calendar.get(rid)["summary"] == "Budget"
    assert team.repo.get_activity(act.id).title == "Budget (Bob's idea)"


# --------------------------------------------------------------------------- cancel and delete


def test_an_event_cancelled_in_google_leaves_the_activity_unlinked_and_hidden(
        team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    from_crm = task(team, a, "From CRM", with_=(b,))
    a.calendar.create("From Google")
    synced(team, a)
    from_google = one(team, "From Google")
    a.calendar.cancel(team.event_id(a, from_crm))
    a.calendar.cancel(team.event_id(a, from_google))
    out = team.sync(a)
    assert out.ok and out.report.crm.untagged == 2
    for act in (from_crm, from_google):
        now = team.repo.get_activity(act.id)  # still there
        assert not now.show_in_calendar
        assert linked(team, a, act) is None
    assert len(team.activities()) == 2
    # Nothing comes back on the next run.
    out = team.sync(a)
    assert out.ok and out.report.google.created == 0 and a.calendar.live() == []


@pytest.mark.parametrize("how", ["deleted", "hidden"])
def test_an_activity_deleted_or_hidden_in_the_crm_leaves_every_calendar(
        team: Team, how: str) -> None:
    a, b, c = team.add("a", "Amy"), team.add("b", "Bob"), team.add("c", "Cal")
    act = task(team, a, "Gone soon", with_=(b, c))
    keep = task(team, a, "Stays", with_=(b,))
    for m in (a, b, c):
        synced(team, m)
    rid = team.event_id(a, act)
    if how == "deleted":
        team.repo.delete_activity(act.id)
    else:
        edit(team, act, show_in_calendar=False)
    out = team.sync(a)
    assert out.ok and out.report.google.removed == 1
    for m in (a, b, c):
        assert m.calendar.get(rid)["status"] == "cancelled"
    assert a.calendar.get(team.event_id(a, keep))["status"] != "cancelled"
    assert linked(team, a, act) is None
    expected = {"Stays"} if how == "deleted" else {"Stays", "Gone soon"}
    assert {x.title for x in team.activities()} == expected
    # The participants' syncs then forget their links; the CRM keeps what it had.
    synced(team, b)
    synced(team, c)
    assert linked(team, b, act) is None and linked(team, c, act) is None
    assert {x.title for x in team.activities()} == expected
    if how == "hidden":
        assert not team.repo.get_activity(act.id).show_in_calendar


# --------------------------------------------------------------------------- conflicts


def conflicts(team: Team, m: Member) -> list[Any]:
    runs = team.repo.list_runs(m.user.id, SyncKind.ACTIVITIES)
    return runs[0].conflicts


def test_the_same_field_changed_on_both_sides_google_newer_wins_and_is_journalled(
        team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    act = task(team, a, "Plan", with_=(b,))
    synced(team, a)
    rid = team.event_id(a, act)
    edit(team, act, title="Plan (crm)")
    advance(team, 3600)  # Google's change is an hour later
    a.calendar.edit(rid, summary="Plan (google)")
    out = team.sync(a)
    assert out.ok
    assert team.repo.get_activity(act.id).title == "Plan (google)"
    assert a.calendar.get(rid)["summary"] == "Plan (google)"
    assert b.calendar.get(rid)["summary"] == "Plan (google)"
    [conflict] = conflicts(team, a)
    assert (conflict.record_id, conflict.field_name) == (act.id, "title")
    assert (conflict.kept, conflict.lost, conflict.winner) == ("Plan (google)", "Plan (crm)",
                                                               "google")


def test_the_same_field_changed_on_both_sides_crm_newer_wins_and_is_journalled(
        team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    act = task(team, a, "Plan", with_=(b,))
    synced(team, a)
    rid = team.event_id(a, act)
    a.calendar.edit(rid, location="Google room")
    later = google_now(team) + timedelta(hours=1)
    team.repo.update_activity(team.repo.get_activity(act.id).evolve(
        location="CRM room", modified=later), touch=False)
    out = team.sync(a)
    assert out.ok
    assert team.repo.get_activity(act.id).location == "CRM room"
    assert a.calendar.get(rid)["location"] == "CRM room"
    assert b.calendar.get(rid)["location"] == "CRM room"
    [conflict] = conflicts(team, a)
    assert (conflict.field_name, conflict.kept, conflict.lost, conflict.winner) == (
        "location", "CRM room", "Google room", "crm")


def _saved_by_a_person_during_the_pull(monkeypatch: pytest.MonkeyPatch, team: Team,
                                       act: Activity, **changes: Any) -> None:
    """A person saves ``changes`` to ``act`` after the sync read it (and patched the event),
    just before the sync writes what Google brought into crmtui."""
    settle = MergeEvent.settle

    def saved_first(self: MergeEvent, ctx: Any, result: Any) -> None:
        edit(team, act, **changes)
        settle(self, ctx, result)

    monkeypatch.setattr(MergeEvent, "settle", saved_first)


def test_an_activity_edit_saved_while_the_sync_runs_is_kept_and_sent_next_run(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    a = team.add("a", "Amy")
    act = task(team, a, "Plan", notes="old")
    synced(team, a)
    rid = team.event_id(a, act)
    a.calendar.edit(rid, location="Google room")
    _saved_by_a_person_during_the_pull(monkeypatch, team, act, title="Plan (crm)")
    synced(team, a)
    now = team.repo.get_activity(act.id)
    assert (now.title, now.location) == ("Plan (crm)", "Google room")
    monkeypatch.undo()
    synced(team, a)
    assert (a.calendar.get(rid)["summary"], a.calendar.get(rid)["location"]) == (
        "Plan (crm)", "Google room")
    now = team.repo.get_activity(act.id)
    assert (now.title, now.location) == ("Plan (crm)", "Google room")


def test_an_activity_field_google_changed_and_a_person_saved_during_the_sync_keeps_theirs(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    a = team.add("a", "Amy")
    act = task(team, a, "Plan")
    synced(team, a)
    rid = team.event_id(a, act)
    a.calendar.edit(rid, location="Google room")
    _saved_by_a_person_during_the_pull(monkeypatch, team, act, location="My room")
    out = team.sync(a)
    assert out.ok
    assert any("location saved in crmtui during the sync" in n for n in out.report.notes)
    assert team.repo.get_activity(act.id).location == "My room"
    monkeypatch.undo()
    synced(team, a)
    assert a.calendar.get(rid)["location"] == "My room"
    assert team.repo.get_activity(act.id).location == "My room"


def test_fields_changed_on_different_sides_are_both_kept_without_conflict(team: Team) -> None:
    a = team.add("a", "Amy")
    act = task(team, a, "Plan", notes="old")
    synced(team, a)
    rid = team.event_id(a, act)
    edit(team, act, title="Plan (crm)")
    advance(team, 60)
    a.calendar.edit(rid, description="notes from google")
    out = team.sync(a)
    assert out.ok and conflicts(team, a) == []
    now = team.repo.get_activity(act.id)
    assert (now.title, now.notes) == ("Plan (crm)", "notes from google")
    event = a.calendar.get(rid)
    assert (event["summary"], event["description"]) == ("Plan (crm)", "notes from google")


# --------------------------------------------------------------------------- time zones


BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


@pytest.mark.parametrize(("zone", "day"), [(BERLIN, 29), (NEW_YORK, 8)])
def test_times_keep_instant_and_zone_both_ways_across_a_dst_change(
        team: Team, zone: ZoneInfo, day: int) -> None:
    a = team.add("a", "Amy")
    name = str(zone)
    month = 3
    before = datetime(2026, month, day - 1, 9, 0, tzinfo=zone)  # standard time
    after = datetime(2026, month, day + 1, 9, 0, tzinfo=zone)  # summer time
    assert before.utcoffset() != after.utcoffset()
    pushed = [task(team, a, f"crm {i}", start=s.astimezone(UTC), zone=name)
              for i, s in enumerate((before, after))]
    for i, s in enumerate((before, after)):
        a.calendar.create(f"google {i}", s.isoformat(), (s + timedelta(hours=1)).isoformat(),
                          zone=name)
    synced(team, a)
    for act, s in zip(pushed, (before, after), strict=True):
        event = a.calendar.get(team.event_id(a, act))
        assert datetime.fromisoformat(event["start"]["dateTime"]) == s
        assert event["start"]["timeZone"] == name and event["end"]["timeZone"] == name
    for i, s in enumerate((before, after)):
        act = one(team, f"google {i}")
        assert act.start == s and act.timezone == name
        assert act.start.astimezone(zone).hour == 9
    # A run in the other direction changes nothing (no drift of an hour).
    out = team.sync(a)
    assert out.ok and out.report.google.updated == 0 and out.report.crm.updated == 0


def test_a_weekly_series_over_the_dst_change_keeps_its_local_time(team: Team) -> None:
    a = team.add("a", "Amy")
    first = datetime(2026, 3, 23, 9, 0, tzinfo=BERLIN)  # CET; the 30th is CEST
    rule = "RRULE:FREQ=WEEKLY;COUNT=3"
    act = task(team, a, "Weekly crm", start=first.astimezone(UTC), zone="Europe/Berlin",
               recurrence=[rule])
    ev = a.calendar.create("Weekly google", first.isoformat(),
                           (first + timedelta(hours=1)).isoformat(), zone="Europe/Berlin",
                           recurrence=[rule])
    synced(team, a)
    event = a.calendar.get(team.event_id(a, act))
    assert event["recurrence"] == [rule]
    assert event["start"]["timeZone"] == "Europe/Berlin"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == first
    pulled = one(team, "Weekly google")
    assert pulled.recurrence == [rule] and pulled.timezone == "Europe/Berlin"
    assert pulled.start == first
    assert team.event_id(a, pulled) == ev["id"]
    # Each series is one activity: no activity per instance.
    assert len(team.activities()) == 2


# --------------------------------------------------------------------------- all-day


@pytest.mark.parametrize("days", [1, 3])
def test_all_day_events_stay_all_day_on_the_same_dates(team: Team, days: int) -> None:
    a = team.add("a", "Amy")
    first = date(2026, 3, 5)
    last = first + timedelta(days=days - 1)  # inclusive in the CRM
    act = team.repo.add_activity(Activity(
        title="Away crm", all_day=True, start_date=first, end_date=last,
        owner_id=a.user.id, organizer_id=a.user.id, participants=[person(a)],
        show_in_calendar=True))
    insert(team, a, {"summary": "Away google", "start": {"date": "2026-04-10"},
                     "end": {"date": (date(2026, 4, 10) + timedelta(days=days)).isoformat()}})
    synced(team, a)
    event = a.calendar.get(team.event_id(a, act))
    assert event["start"] == {"date": first.isoformat()}
    assert event["end"] == {"date": (last + timedelta(days=1)).isoformat()}  # exclusive
    pulled = one(team, "Away google")
    assert pulled.all_day and pulled.start is None
    assert pulled.start_date == date(2026, 4, 10)
    assert pulled.end_date == date(2026, 4, 10) + timedelta(days=days - 1)
    out = team.sync(a)
    assert out.ok and out.report.google.updated == 0 and out.report.crm.updated == 0


# --------------------------------------------------------------------------- recurring series


def test_a_series_with_one_changed_occurrence_comes_in_as_series_and_occurrence(
        team: Team) -> None:
    a = team.add("a", "Amy")
    rule = "RRULE:FREQ=WEEKLY;COUNT=4"
    ev = a.calendar.create("Weekly", recurrence=[rule])  # Mondays 10:00 UTC from 2026-03-02
    a.calendar.edit(f"{ev['id']}_20260309T100000Z", summary="Weekly (moved)",
                    start={"dateTime": "2026-03-10T14:00:00+00:00", "timeZone": "UTC"},
                    end={"dateTime": "2026-03-10T15:00:00+00:00", "timeZone": "UTC"})
    synced(team, a)
    series = one(team, "Weekly")
    assert series.recurrence == [rule] and series.series_id == ""
    occurrence = one(team, "Weekly (moved)")
    assert occurrence.series_id == series.id
    assert occurrence.original_start == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert occurrence.start == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert occurrence.recurrence == []
    assert len(team.activities()) == 2
    out = team.sync(a)
    assert out.ok and out.report.crm.created == 0 and len(team.activities()) == 2


def test_an_occurrence_made_in_the_crm_becomes_the_instances_exception(team: Team) -> None:
    a = team.add("a", "Amy")
    series = task(team, a, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    synced(team, a)
    rid = team.event_id(a, series)
    original = T0 + timedelta(days=14)
    moved = task(team, a, "Weekly (later)", start=original + timedelta(hours=3),
                 series_id=series.id, original_start=original)
    synced(team, a)
    exception = a.calendar.get(team.event_id(a, moved))
    assert exception["id"] == f"{rid}_20260316T100000Z"
    assert exception["recurringEventId"] == rid
    assert exception["summary"] == "Weekly (later)"
    assert datetime.fromisoformat(exception["start"]["dateTime"]) == original + timedelta(hours=3)
    assert datetime.fromisoformat(exception["originalStartTime"]["dateTime"]) == original
    assert a.calendar.get(rid)["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    assert len(team.activities()) == 2


def test_an_occurrence_cancelled_in_google_becomes_an_exdate_of_the_series(team: Team) -> None:
    a = team.add("a", "Amy")
    series = task(team, a, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])  # from 2 March
    synced(team, a)
    rid = team.event_id(a, series)
    a.calendar.cancel(f"{rid}_20260316T100000Z")  # the third occurrence, cancelled in Google
    synced(team, a)
    assert team.repo.get_activity(series.id).recurrence == [
        "RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20260316T100000Z"]
    assert len(team.activities()) == 1  # no activity for the cancelled occurrence
    team.requests.reset()
    synced(team, a)  # and the next run has nothing to do
    assert team.repo.get_activity(series.id).recurrence[-1] == "EXDATE:20260316T100000Z"


def test_an_exdate_added_in_crmtui_leaves_the_occurrence_out_in_google(team: Team) -> None:
    a = team.add("a", "Amy")
    series = task(team, a, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    synced(team, a)
    team.repo.update_activity(team.repo.get_activity(series.id).evolve(
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20260316T100000Z"]))
    synced(team, a)
    master = a.calendar.get(team.event_id(a, series))
    assert master["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20260316T100000Z"]


def test_an_occurrence_of_a_series_before_the_sync_from_date_says_why_once(team: Team) -> None:
    """A changed occurrence after "Synchronize from" whose series starts before it: the series
    is not synchronized, and the run says so with that reason, once (not "next run sends it")."""
    a = team.add("a", "Amy", since=date(2026, 3, 10))
    series = task(team, a, "Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])  # from 2 March
    original = T0 + timedelta(days=14)
    task(team, a, "Weekly (later)", start=original + timedelta(hours=3), series_id=series.id,
         original_start=original)
    first = team.sync(a)
    assert first.ok
    [why] = [s for s in first.report.skipped if "Weekly (later)" in s]
    assert "before the \"Synchronize from\" date (2026-03-10)" in why
    assert "next run" not in why
    again = team.sync(a)
    assert again.ok and not [s for s in again.report.skipped if "Weekly (later)" in s]
    assert a.calendar.live() == []


# --------------------------------------------------------------------------- responses


def test_an_attendees_response_in_google_reaches_the_crm_after_the_organizers_sync(
        team: Team) -> None:
    a, b, c = team.add("a", "Amy"), team.add("b", "Bob"), team.add("c", "Cal")
    act = task(team, a, "Lunch", with_=(b, c))
    synced(team, a)
    rid = team.event_id(a, act)
    attendees = [dict(x, responseStatus="accepted") if x["email"] == "b@example.com" else x
                 for x in b.calendar.get(rid)["attendees"]]
    advance(team, 60)
    b.calendar.edit(rid, attendees=attendees)
    assert {x["email"]: x.get("responseStatus") for x in a.calendar.get(rid)["attendees"]
            }["b@example.com"] == "accepted"
    synced(team, a)
    responses = {p.ref_id: p.response for p in team.repo.get_activity(act.id).participants}
    assert responses[b.user.id] is ResponseStatus.ACCEPTED
    assert responses[c.user.id] is ResponseStatus.NEEDS_ACTION


# --------------------------------------------------------------------------- dry run


def test_a_dry_run_plans_and_writes_nothing_on_either_side(team: Team) -> None:
    a, b = team.add("a", "Amy"), team.add("b", "Bob")
    changed = task(team, a, "Will change", with_=(b,))
    removed = task(team, a, "Will go")
    synced(team, a)
    task(team, a, "New in CRM")
    a.calendar.create("New in Google")
    edit(team, changed, title="Changed")
    team.repo.delete_activity(removed.id)
    before_google = {m.calendar.email: m.calendar.events(deleted=True) for m in (a, b)}
    before_crm = {x.id: x for x in team.activities()}
    before_links = team.repo.link_index(a.user.id, SyncKind.ACTIVITIES)
    before_state = team.repo.get_sync_state(a.user.id, SyncKind.ACTIVITIES)
    out = team.sync(a, dry_run=True)
    assert out.ok and out.report.dry_run
    plan = "\n".join(out.report.plan)
    assert "Google: create 'New in CRM'" in plan
    assert "crmtui: import 'New in Google'" in plan
    assert "Google: update 'Changed' (title)" in plan
    assert f"Google: remove {removed.id[:8]}" in plan
    assert {m.calendar.email: m.calendar.events(deleted=True) for m in (a, b)} == before_google
    assert {x.id: x for x in team.activities()} == before_crm
    assert team.repo.link_index(a.user.id, SyncKind.ACTIVITIES) == before_links
    assert team.repo.get_sync_state(a.user.id, SyncKind.ACTIVITIES) == before_state
    # The real run then does what was planned.
    out = team.sync(a)
    assert out.ok and out.report.google.created == 1 and out.report.crm.created == 1
    assert out.report.google.updated == 1 and out.report.google.removed == 1
