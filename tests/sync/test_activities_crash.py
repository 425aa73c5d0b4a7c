"""An activity sync killed with SIGKILL at random moments, then run to completion, leaves every
activity in the calendar exactly once and loses nothing in the CRM (DESIGN.md section 3,
"Idempotent writes": client-chosen event ids, an insert answered 409 for an event carrying the
same CRM id is adopted, not duplicated).

The sync runs in a subprocess (``crash_worker.py ... activities``) against the emulator in this
process, with 300 new CRM activities, 40 events made in Google, and edits on both sides between
kills; a delay on the Calendar batch requests keeps inserts in flight when many kills land."""

from __future__ import annotations

import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

from calkit import Team
from crash_worker import start_worker, wait_for_request
from synckit import control, fault

from crmtui.model import Activity, ActivityType, SyncKind
from crmtui.store import ActivityQuery, open_store
from crmtui.sync.google.calendar import event_crm_id

CRM_NEW, GOOGLE_NEW, KILLS = 300, 40, 8


def serving() -> set[threading.Thread]:
    """The threads of in-process HTTP servers answering a request right now."""
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def settle(before: set[threading.Thread]) -> None:
    """Wait until the emulator has answered every request the killed worker had sent (threads
    that were not serving ``before`` it started; a delayed batch is still being served after
    the kill): Google would have handled them before anyone edits anything, and a write
    landing after an edit would look like a newer change in Google."""
    deadline = time.monotonic() + 10
    while serving() - before:
        assert time.monotonic() < deadline, "the emulator is still serving the killed worker"
        time.sleep(0.01)


def test_sigkilled_activity_syncs_then_a_clean_run_leave_each_activity_once(team: Team) -> None:
    rnd = random.Random(5)
    amy = team.add("a", "Amy")
    first = datetime(2026, 3, 2, 8, tzinfo=UTC)
    team.repo.add_activities([
        Activity(title=f"Crm{i:03d}", type=ActivityType.MEETING,
                 start=first + timedelta(days=i // 10, hours=i % 10),
                 end=first + timedelta(days=i // 10, hours=i % 10, minutes=30), timezone="UTC",
                 owner_id=amy.user.id, organizer_id=amy.user.id, show_in_calendar=True)
        for i in range(CRM_NEW)])
    for i in range(GOOGLE_NEW):
        day = first + timedelta(days=40 + i)
        amy.calendar.create(f"Google{i:03d}", day.isoformat(), (day + timedelta(hours=1))
                            .isoformat())
    team.repo.close()
    data_dir, user_id = team.data_dir, amy.user.id
    crm_titles: dict[str, str] = {}  # activity id -> the title last written in the CRM
    google_places: dict[str, str] = {}  # event id -> the location last written in Google
    killed_mid_insert = 0
    for kill in range(KILLS):
        fault(team.emu, "^/batch/calendar/v3$", method="POST", count=2, delay=0.2)
        team.emu.state.requests.clear()
        before = serving()
        proc = start_worker(data_dir, user_id, "activities")
        if kill % 2 == 0 and wait_for_request(team.emu, proc, "/batch/calendar/v3"):
            time.sleep(rnd.uniform(0.0, 0.25))  # an insert batch in flight
            killed_mid_insert += 1
        else:
            time.sleep(rnd.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        settle(before)
        store = open_store(data_dir)  # opens cleanly after every kill
        try:
            for a in rnd.sample(store.find_activities(ActivityQuery(show_in_calendar=True)), 4):
                title = f"{a.title.split(' ')[0]} crm edit {kill}"
                store.update_activity(a.evolve(title=title))
                crm_titles[a.id] = title
        finally:
            store.close()
        mine = [e for e in amy.calendar.live() if e["summary"].startswith("Google")
                and e["id"] not in google_places]
        for event in mine[:2]:
            google_places[event["id"]] = f"room {kill}"
            amy.calendar.edit(event["id"], location=f"room {kill}")
    assert killed_mid_insert >= 2
    control(team.emu, "DELETE", "/faults")  # delays the killed runs never reached
    for _ in range(2):  # the second run finds nothing left to repair
        proc = start_worker(data_dir, user_id, "activities")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (out, err)

    store = open_store(data_dir)
    try:
        live = amy.calendar.live()
        ids = [e["id"] for e in live]
        assert len(ids) == len(set(ids))
        crm_ids = [c for c in map(event_crm_id, live) if c]
        assert len(crm_ids) == len(set(crm_ids)), "an activity was sent to Google twice"
        assert len(live) == CRM_NEW + GOOGLE_NEW, "a duplicate or a missing event"
        activities = store.find_activities(ActivityQuery())
        assert len(activities) == CRM_NEW + GOOGLE_NEW, "a duplicate or a lost activity"
        assert len({a.title.split(" ")[0] for a in activities}) == CRM_NEW + GOOGLE_NEW
        links = store.list_links(user_id, SyncKind.ACTIVITIES)
        by_event = {link.remote_id: link.local_id for link in links}
        assert len(by_event) == len(links) == CRM_NEW + GOOGLE_NEW
        assert set(by_event) == set(ids), "a link to a dead event, or an unlinked event"
        assert {link.local_id for link in links} == {a.id for a in activities}
        assert all(a.show_in_calendar for a in activities)
        for event in live:  # each activity's event carries its CRM id, when it carries one
            assert event_crm_id(event) in ("", by_event[event["id"]])
        summaries = {by_event[e["id"]]: e["summary"] for e in live}
        for aid, title in crm_titles.items():
            assert store.get_activity(aid).title == title
            assert summaries[aid] == title
        for eid, place in google_places.items():
            assert store.get_activity(by_event[eid]).location == place
            assert amy.calendar.get(eid)["location"] == place
    finally:
        store.close()


def test_an_insert_whose_answer_was_lost_then_edited_in_crmtui_keeps_the_edit(
        team: Team) -> None:
    """The deterministic case behind the kills above: a run inserted the event and died before
    linking it; the activity was then edited in crmtui; the next run's insert finds the event
    (409, same CRM id) and adopts it. The edit must reach Google, and stay in the CRM."""
    amy = team.add("a", "Amy")
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    act = team.repo.add_activity(Activity(
        title="Before", start=start, end=start + timedelta(hours=1), timezone="UTC",
        owner_id=amy.user.id, organizer_id=amy.user.id, show_in_calendar=True))
    assert team.sync(amy).ok and team.sync(amy).ok  # the second: a token after the insert
    eid = team.event_id(amy, act)
    team.repo.delete_link(amy.user.id, SyncKind.ACTIVITIES, act.id)  # as if never linked
    team.repo.update_activity(team.repo.get_activity(act.id).evolve(title="After"))

    for _ in range(3):  # the adopting run, then a full listing, then an incremental one
        outcome = team.sync(amy)
        assert outcome.ok, outcome.message
        assert team.event_id(amy, act) == eid
        assert len(amy.calendar.live()) == 1
        assert team.repo.get_activity(act.id).title == "After"
        assert amy.calendar.get(eid)["summary"] == "After"
        control(team.emu, "POST", "/sync-tokens/invalidate")
