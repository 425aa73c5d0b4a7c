"""A hypothesis state machine that drives the activity sync end to end for two users, A and B,
each with a Google account on a fresh emulator and activity sync set up (see ``calkit``): the
real Calendar adapter, one CRM. Rules create, edit, hide and delete activities in the CRM
(organized by A or B, some with the other as participant), create, edit and cancel events in
Google (either calendar, some with the other as attendee), inject faults (503 storms the adapter
rides out, a 429 with ``Retry-After``, a 410 on the sync token, a 503 storm on the batch endpoint
longer than the retry bound: the run fails half way) and sync A or B.

After a clean sync of everyone, twice (no fault pending, confirmed):

- everyone agrees: every activity with Show in calendar is linked by its organizer (its driver),
  and its title and times equal those of the event in the driver's calendar; every link of
  either user points at a live event of that user's calendar, and nothing else is linked;
- nothing is duplicated: no two activities share an iCalUID, no two live events of a calendar
  carry the same ``crmtuiId``, no two activities are linked to one event;
- nothing vanished without a journal entry: every activity that ever existed and was not
  deleted by a rule is still in the CRM; an event that was linked and that a rule cancelled in
  Google left its activity unlinked with Show in calendar cleared, and the driver's journal
  counts an unlinked activity;
- it converged: another sync of each, with nothing changed, writes nothing to Google and
  changes nothing in the CRM.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from calkit import Json, Team
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from synckit import control, fault

from crmtui.emulator import Emulator
from crmtui.model import Activity, ActivityType, Participant, ParticipantKind, SyncKind
from crmtui.store import ActivityQuery, open_store
from crmtui.sync.activities import activity_time
from crmtui.sync.google.calendar import event_crm_id, event_fields

MAX_ATTEMPTS = 6  # the Calendar adapter's retry bound (calendar_remote_factory's default)
RETRY_AFTER = 7.0  # seconds, asked by the 429 fault
BATCH = "^/batch/calendar/v3$"
CALENDAR = "^/(batch/)?calendar/v3"
FIRST_DAY = datetime(2026, 3, 2, 9, tzinfo=UTC)  # after calkit.SINCE
KEYS = ("a", "b")



class CalendarWorld:
    """A fresh emulator and CRM store with users A and B, and the model of what the rules did."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="crmtui-cal-sm-"))
        self.emu = Emulator()
        self.emu.start()
        self.repo = open_store(self.tmp / "data")
        self.team = Team(self.repo, self.tmp / "data", self.emu, self.tmp)
        self.members = {"a": self.team.add("a", "Amy"), "b": self.team.add("b", "Ben")}
        self.counter = 0
        self.known: set[str] = set()  # every activity id that existed
        self.deleted: set[str] = set()  # activity ids a rule deleted in the CRM
        self.cancelled: set[str] = set()  # event ids a rule cancelled in Google
        self.touched: set[str] = set()  # activity ids a rule changed in the CRM since a check
        self.links: dict[str, tuple[str, str]] = {}  # activity id -> (driver key, event id)

    def close(self) -> None:
        self.repo.close()
        self.emu.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def token(self, side: str) -> str:
        self.counter += 1
        return f"{side}[{self.counter}]"

    def slot(self, n: int) -> datetime:
        return FIRST_DAY + timedelta(days=n // 8, hours=n % 8)

    def activities(self) -> list[Activity]:
        return self.repo.find_activities(ActivityQuery())

    def key_of(self, user_id: str) -> str:
        return next(k for k, m in self.members.items() if m.user.id == user_id)

    def own_events(self, key: str) -> list[Json]:
        """The live events of ``key``'s calendar that ``key`` organizes."""
        email = self.members[key].calendar.email
        return [e for e in self.members[key].calendar.live()
                if (e.get("organizer") or {}).get("email", "").lower() == email]

    def sync(self, key: str, *, confirmed: bool = True) -> Any:
        member = self.members[key]
        waits = len(self.team.sleeps)
        outcome = self.team.sync(member, confirmed=confirmed)
        assert outcome.status in ("ok", "failed", "stopped"), outcome.status
        answered = [r["status"] for r in self.team.requests.log()]
        if 429 in answered and outcome.ok:
            assert RETRY_AFTER in self.team.sleeps[waits:], "Retry-After was not honoured"
        self.known.update(a.id for a in self.activities())
        return outcome

    # -- the checks after a clean sync of everyone -----------------------------------------------

    def crm_dump(self) -> dict[str, Any]:
        """The store but the sync state and the journal (a run always writes those)."""
        return {name: records for name, records in self.repo.dump().items()
                if name not in ("sync_state", "journal", "exported")}

    def check_converged(self) -> None:
        """After a clean sync of everyone, another sync of each, nothing changed in between,
        writes nothing on either side."""
        for key in KEYS:
            before = self.crm_dump()
            outcome = self.sync(key)
            assert outcome.ok, (key, outcome.status, outcome.message)
            writes = [f"{r['method']} {r['path']}" for r in self.team.requests.log()
                      if r["method"] != "GET" and r["batch"] != "outer"]
            assert writes == [], f"an idle sync of {key} wrote to Google: {writes}"
            assert self.crm_dump() == before, f"an idle sync of {key} changed the CRM"

    def check_agreement(self) -> None:
        activities = {a.id: a for a in self.activities()}
        for key, member in self.members.items():
            uid = member.user.id
            events = {e["id"]: e for e in member.calendar.events(deleted=True)}
            links = self.repo.list_links(uid, SyncKind.ACTIVITIES)
            remote = [link.remote_id for link in links]
            assert len(remote) == len(set(remote)), f"two activities share an event of {key}"
            for link in links:
                assert link.local_id in activities, f"{key} links a deleted activity"
                event = events.get(link.remote_id)
                assert event is not None and event.get("status") != "cancelled", (
                    f"{key} links {activities[link.local_id].title!r} to a gone event")
            linked = {link.local_id: link.remote_id for link in links}
            for a in activities.values():
                if not a.show_in_calendar or a.organizer_id != uid:
                    continue
                assert a.id in linked, f"{a.title!r} is shown but not in {key}'s calendar"
                fields = event_fields(events[linked[a.id]])
                assert fields["title"] == a.title, (fields["title"], a.title)
                assert fields["time"] == activity_time(a), (a.title, fields["time"],
                                                           activity_time(a))
            for aid in linked:
                a = activities[aid]
                assert a.show_in_calendar, f"{a.title!r} is hidden but linked for {key}"
            # nothing is left behind in Google: every live event is some activity's
            unlinked = {e["id"]: e.get("summary") for e in events.values()
                        if e.get("status") != "cancelled"}.keys() - set(linked.values())
            assert not unlinked, f"live events of {key} no activity links: {unlinked}"

    def check_no_duplicates(self) -> None:
        uids = [a.ical_uid for a in self.activities() if a.ical_uid]
        assert len(uids) == len(set(uids)), f"two activities share an iCalUID: {sorted(uids)}"
        for key, member in self.members.items():
            ids = [event_crm_id(e) for e in member.calendar.live() if event_crm_id(e)]
            assert len(ids) == len(set(ids)), f"duplicate events in {key}'s calendar: {ids}"

    def check_nothing_vanished(self) -> None:
        activities = {a.id: a for a in self.activities()}
        missing = self.known - self.deleted - set(activities)
        assert not missing, f"activities gone from the CRM: {missing}"
        for aid, (key, event_id) in self.links.items():
            if aid not in activities or event_id not in self.cancelled:
                continue
            a = activities[aid]
            uid = self.members[key].user.id
            link = self.repo.get_link(uid, SyncKind.ACTIVITIES, aid)
            assert link is None or link.remote_id != event_id, f"{a.title!r} still linked"
            if link is None and aid not in self.touched:
                assert not a.show_in_calendar, f"{a.title!r} cancelled, still shown"
                untagged = sum(run.counts.get("crm_untagged", 0) for run in
                               self.repo.list_runs(uid, SyncKind.ACTIVITIES))
                assert untagged > 0, f"{a.title!r} unlinked with no journal entry"

    def remember_links(self) -> None:
        self.links = {}
        for key, member in self.members.items():
            for link in self.repo.list_links(member.user.id, SyncKind.ACTIVITIES):
                a = self.repo.get_activity(link.local_id)
                if a.organizer_id == member.user.id:
                    self.links[link.local_id] = (key, link.remote_id)
        self.touched = set()


class ActivitySyncMachine(RuleBasedStateMachine):
    """Rules in the CRM and in both calendars, faults and syncs; checks after clean syncs."""

    def __init__(self) -> None:
        super().__init__()
        self.world = CalendarWorld()

    def teardown(self) -> None:
        self.world.close()

    # -- the CRM side ----------------------------------------------------------------------------

    @rule(organizer=st.sampled_from(KEYS), with_other=st.booleans(), shown=st.booleans(),
          slot=st.integers(min_value=0, max_value=40))
    def crm_create(self, organizer: str, with_other: bool, shown: bool, slot: int) -> None:
        w = self.world
        me = w.members[organizer].user
        other = w.members["b" if organizer == "a" else "a"].user
        start = w.slot(slot)
        made = w.repo.add_activity(Activity(
            title=w.token("crm"), type=ActivityType.MEETING, start=start,
            end=start + timedelta(hours=1), timezone="UTC", owner_id=me.id,
            organizer_id=me.id, show_in_calendar=shown,
            participants=[Participant(ParticipantKind.USER, other.id)] if with_other else []))
        w.known.add(made.id)

    @precondition(lambda self: self.world.activities())
    @rule(pick=st.integers(min_value=0), what=st.sampled_from(["title", "time", "show"]))
    def crm_edit(self, pick: int, what: str) -> None:
        w = self.world
        activities = w.activities()
        a = activities[pick % len(activities)]
        if what == "title":
            changed = a.evolve(title=w.token("crm"))
        elif what == "time":
            if a.start is None or a.all_day:
                return
            shift = timedelta(hours=1 + w.counter % 3)
            w.counter += 1
            changed = a.evolve(start=a.start + shift,
                               end=(a.end or a.start + timedelta(hours=1)) + shift)
        else:
            changed = a.evolve(show_in_calendar=not a.show_in_calendar)
        w.repo.update_activity(changed)
        w.touched.add(a.id)

    @precondition(lambda self: self.world.activities())
    @rule(pick=st.integers(min_value=0))
    def crm_delete(self, pick: int) -> None:
        w = self.world
        activities = w.activities()
        a = activities[pick % len(activities)]
        w.repo.delete_activity(a.id)
        w.deleted.add(a.id)

    # -- Google Calendar -------------------------------------------------------------------------

    @rule(who=st.sampled_from(KEYS), with_other=st.booleans(),
          slot=st.integers(min_value=0, max_value=40))
    def google_create(self, who: str, with_other: bool, slot: int) -> None:
        w = self.world
        other = w.members["b" if who == "a" else "a"]
        start = w.slot(slot)
        w.members[who].calendar.create(
            w.token("gm"), start.isoformat(), (start + timedelta(hours=1)).isoformat(),
            attendees=(other.calendar.email,) if with_other else ())

    @rule(who=st.sampled_from(KEYS), pick=st.integers(min_value=0),
          what=st.sampled_from(["title", "time"]))
    def google_edit(self, who: str, pick: int, what: str) -> None:
        w = self.world
        events = w.own_events(who)
        if not events:
            return
        event = events[pick % len(events)]
        if what == "title":
            w.members[who].calendar.edit(event["id"], summary=w.token("gm"))
            return
        start = datetime.fromisoformat(event["start"]["dateTime"]) + timedelta(minutes=30)
        end = datetime.fromisoformat(event["end"]["dateTime"]) + timedelta(minutes=30)
        w.members[who].calendar.edit(
            event["id"], start={"dateTime": start.isoformat(), "timeZone": "UTC"},
            end={"dateTime": end.isoformat(), "timeZone": "UTC"})

    @rule(who=st.sampled_from(KEYS), pick=st.integers(min_value=0))
    def google_cancel(self, who: str, pick: int) -> None:
        w = self.world
        events = w.own_events(who)
        if not events:
            return
        event = events[pick % len(events)]
        w.members[who].calendar.cancel(event["id"])
        w.cancelled.add(event["id"])

    # -- faults, tokens, interruptions -----------------------------------------------------------

    @rule(kind=st.sampled_from(["storm", "retry-after", "gone", "beyond-batch"]))
    def inject(self, kind: str) -> None:
        w = self.world
        if kind == "gone":
            control(w.emu, "POST", "/sync-tokens/invalidate")
        elif kind == "storm":
            fault(w.emu, CALENDAR, status=503, count=MAX_ATTEMPTS - 2)
        elif kind == "retry-after":
            fault(w.emu, CALENDAR, status=429, count=1,
                  headers={"Retry-After": str(int(RETRY_AFTER))})
        else:  # the run fails half way: its first batch of writes never gets through
            fault(w.emu, BATCH, status=503, count=MAX_ATTEMPTS)

    @rule(who=st.sampled_from(KEYS), confirmed=st.booleans())
    def sync(self, who: str, confirmed: bool) -> None:
        self.world.sync(who, confirmed=confirmed)

    @rule()
    def clean_sync_and_check(self) -> None:
        w = self.world
        control(w.emu, "DELETE", "/faults")
        for _ in range(2):
            for key in KEYS:
                outcome = w.sync(key)
                assert outcome.ok, (key, outcome.status, outcome.message,
                                    outcome.report.skipped)
        w.check_agreement()
        w.check_no_duplicates()
        w.check_nothing_vanished()
        w.check_converged()
        w.remember_links()


# SM_EXAMPLES=N runs N random (not derandomized) examples, to look further than CI does. A
# failing case is reported as found, not shrunk: shrinking these runs can take many minutes.
ActivitySyncMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SM_EXAMPLES", "15")), stateful_step_count=25,
    deadline=None, derandomize=not os.environ.get("SM_EXAMPLES"), database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_activity_sync_state_machine = ActivitySyncMachine.TestCase


def test_a_cancelled_event_is_checked_and_journaled() -> None:
    """A walk the machine may not find: A's shown activity goes to Google, A cancels it there,
    a run dies on the batch endpoint, then everyone syncs cleanly: the checks hold."""
    machine = ActivitySyncMachine()
    try:
        machine.crm_create(organizer="a", with_other=True, shown=True, slot=0)
        machine.google_create(who="b", with_other=True, slot=1)
        machine.clean_sync_and_check()
        assert machine.world.links, "nothing was linked"
        machine.google_cancel(who="a", pick=0)
        machine.crm_create(organizer="a", with_other=False, shown=True, slot=2)
        machine.inject(kind="beyond-batch")
        assert machine.world.sync("a").status == "failed"
        machine.clean_sync_and_check()
        a = machine.world.activities()
        assert len(a) == 3
        assert sum(1 for x in a if not x.show_in_calendar) == 1
    finally:
        machine.teardown()


def test_an_idle_sync_after_a_clean_one_writes_nothing() -> None:
    """Every run converges: after edits on both sides and in both calendars and a clean sync of
    everyone, another sync of each writes nothing to Google and changes nothing in the CRM."""
    machine = ActivitySyncMachine()
    try:
        machine.crm_create(organizer="a", with_other=True, shown=True, slot=0)
        machine.crm_create(organizer="b", with_other=True, shown=True, slot=1)
        machine.google_create(who="b", with_other=True, slot=2)
        machine.google_create(who="a", with_other=False, slot=3)
        machine.clean_sync_and_check()
        machine.world.check_converged()
        machine.crm_edit(pick=0, what="title")
        machine.google_edit(who="b", pick=0, what="time")
        machine.google_cancel(who="a", pick=0)
        machine.clean_sync_and_check()
        machine.world.check_converged()
    finally:
        machine.teardown()


def test_a_participant_does_not_bring_back_an_activity_deleted_in_crmtui() -> None:
    """B's meeting with A is imported by B's sync, then deleted in crmtui before A's sync has
    seen it: A's sync does not import A's copy (that would bring the activity back), and B's
    sync removes the event from Google."""
    machine = ActivitySyncMachine()
    try:
        w = machine.world
        machine.google_create(who="b", with_other=True, slot=3)
        assert w.sync("b").ok
        assert len(w.activities()) == 1
        machine.crm_delete(pick=0)
        outcome = w.sync("a")
        assert outcome.ok
        assert w.activities() == [], "A's sync brought back an activity deleted in crmtui"
        assert any("deleted in crmtui" in note for note in outcome.report.notes)
        assert w.sync("b").ok
        assert w.members["b"].calendar.live() == []
        machine.clean_sync_and_check()
        assert w.activities() == []
    finally:
        machine.teardown()


def test_an_activity_put_in_google_again_is_linked_again_not_copied() -> None:
    """B hides and shows again a meeting with A, syncing each time: B's sync cancels the event
    and creates a new one carrying the same CRM id. A's next sync sees both at once and links
    the activity to the new event, with no second copy and Show in calendar kept."""
    machine = ActivitySyncMachine()
    try:
        w = machine.world
        machine.crm_create(organizer="b", with_other=True, shown=True, slot=4)
        machine.clean_sync_and_check()
        [activity] = w.activities()
        a_link = w.repo.get_link(w.members["a"].user.id, SyncKind.ACTIVITIES, activity.id)
        assert a_link is not None
        machine.crm_edit(pick=0, what="show")
        assert w.sync("b").ok
        machine.crm_edit(pick=0, what="show")
        assert w.sync("b").ok
        assert w.sync("a").ok
        [again] = w.activities()
        assert again.id == activity.id and again.show_in_calendar
        relinked = w.repo.get_link(w.members["a"].user.id, SyncKind.ACTIVITIES, activity.id)
        assert relinked is not None and relinked.remote_id != a_link.remote_id
        machine.clean_sync_and_check()
    finally:
        machine.teardown()
