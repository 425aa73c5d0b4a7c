"""Activity sync when Google misbehaves, and how many requests it makes (issue #5; DESIGN.md
section 3, "Activities" and "Safety rules"): an expired sync token, stale etags, 429 and 5xx
storms (waits recorded in ``team.sleeps``, never slept), a record Google refuses, the mass-unlink
guard, and request counts of first, incremental and idle runs."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from calkit import Member, Team
from synckit import control, fault

from crmtui.model import Activity, ActivityType, SyncKind
from crmtui.sync.service import SyncOutcome

EVENTS = "/calendar/v3/calendars/primary/events"
BATCH = "^/batch/calendar/v3$"
INSERT = f"^{EVENTS}$"  # an events.insert part (POST) or the listing (GET)


def activity(member: Member, title: str, n: int = 0) -> Activity:
    """A one-hour meeting organized by ``member``, shown in the calendar, on a day after SINCE."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=n // 8, hours=n % 8)
    return Activity(title=title, type=ActivityType.MEETING, start=start,
                    end=start + timedelta(hours=1), timezone="UTC", owner_id=member.user.id,
                    organizer_id=member.user.id, show_in_calendar=True)


def add(team: Team, member: Member, count: int, prefix: str = "Act") -> list[Activity]:
    made = [activity(member, f"{prefix} {i:03d}", i) for i in range(count)]
    team.repo.add_activities(made)
    return made


def sync_ok(team: Team, member: Member, **kw: Any) -> SyncOutcome:
    outcome = team.sync(member, **kw)
    assert outcome.ok, (outcome.status, outcome.message, outcome.report.skipped)
    return outcome


def sync_hearing(team: Team, member: Member, when: str, then: Callable[[], None],
                 **kw: Any) -> SyncOutcome:
    """One activity sync that calls ``then()`` once, the first time a progress line starts with
    ``when`` (a moment between two of the run's requests)."""
    fired: list[bool] = []

    def hear(message: str, done: int, total: int) -> None:
        if message.startswith(when) and not fired:
            fired.append(True)
            then()

    team.requests.reset()
    outcome = team.service.run(member.user.id, SyncKind.ACTIVITIES, progress=hear, **kw)
    assert fired, f"no progress line {when!r}"
    return outcome


def assert_in_step(team: Team, member: Member) -> None:
    """Every activity of ``member`` with Show in calendar is in the calendar exactly once, each
    link points at a live event of its own, and there are no other events."""
    live = member.calendar.live()
    ids = [e["id"] for e in live]
    assert len(ids) == len(set(ids))
    crm_ids = [e.get("extendedProperties", {}).get("shared", {}).get("crmtuiId") for e in live]
    assert len([c for c in crm_ids if c]) == len({c for c in crm_ids if c}), "a duplicate event"
    links = team.repo.list_links(member.user.id, SyncKind.ACTIVITIES)
    shown = {a.id for a in team.activities() if a.show_in_calendar}
    assert {link.local_id for link in links} == shown
    assert sorted(link.remote_id for link in links) == sorted(ids)


def assert_idle(team: Team, member: Member) -> None:
    """Another run finds nothing to do on either side."""
    outcome = sync_ok(team, member)
    assert not any(outcome.report.counts().values()), outcome.report.counts()


def titles(member: Member) -> list[str]:
    return sorted(e["summary"] for e in member.calendar.live())


# --------------------------------------------------------------------------- 410: sync token gone


def test_an_invalidated_sync_token_lists_everything_and_reconciles_through_links(
        team: Team) -> None:
    amy = team.add("a", "Amy")
    acts = add(team, amy, 4)
    amy.calendar.create("From Google")
    sync_ok(team, amy)
    assert len(team.activities()) == 5
    edited = team.repo.update_activity(acts[0].evolve(title="Renamed in crmtui"))
    amy.calendar.edit(team.event_id(amy, acts[1]), location="Room 7")
    control(team.emu, "POST", "/sync-tokens/invalidate")

    outcome = sync_ok(team, amy)

    assert any("sync token had expired" in n for n in outcome.report.notes)
    assert outcome.report.google.created == 0 and outcome.report.crm.created == 0
    assert len(team.activities()) == 5 and len(amy.calendar.live()) == 5
    assert_in_step(team, amy)
    assert amy.calendar.get(team.event_id(amy, edited))["summary"] == "Renamed in crmtui"
    assert team.repo.get_activity(acts[1].id).location == "Room 7"
    assert "From Google" in {a.title for a in team.activities()}
    assert_idle(team, amy)


# --------------------------------------------------------------------------- 412: stale etag


def test_a_412_on_the_patch_is_read_again_and_retried(team: Team) -> None:
    amy = team.add("a", "Amy")
    [act] = add(team, amy, 1)
    sync_ok(team, amy)
    eid = team.event_id(amy, act)
    team.repo.update_activity(act.evolve(title="New title"))
    fault(team.emu, f"^{EVENTS}/{eid}$", method="PATCH", status=412)

    outcome = sync_ok(team, amy)

    assert outcome.report.skipped == []
    assert amy.calendar.get(eid)["summary"] == "New title"
    by_path = team.requests()["by_path"]
    assert by_path.get(f"PATCH {EVENTS}/{eid}") == 2  # refused, then accepted
    assert by_path.get(f"GET {EVENTS}/{eid}") == 1  # read again between the two
    assert team.repo.get_link(amy.user.id, SyncKind.ACTIVITIES, act.id).etag \
        == amy.calendar.get(eid)["etag"]


def test_an_event_changed_in_google_during_the_run_keeps_both_changes(team: Team) -> None:
    amy = team.add("a", "Amy")
    [act] = add(team, amy, 1)
    sync_ok(team, amy)
    eid = team.event_id(amy, act)
    team.repo.update_activity(act.evolve(title="Title from crmtui"))
    add(team, amy, 1, prefix="Newcomer")  # its insert comes before the patch

    def meanwhile() -> None:  # after the listing, before the patch
        amy.calendar.edit(eid, location="Location from Google")

    outcome = sync_hearing(team, amy, "Sending new activities", meanwhile)

    assert outcome.ok and outcome.report.skipped == []
    event = amy.calendar.get(eid)
    assert event["summary"] == "Title from crmtui"
    assert event["location"] == "Location from Google"
    mine = team.repo.get_activity(act.id)
    assert (mine.title, mine.location) == ("Title from crmtui", "Location from Google")
    assert team.requests()["by_path"].get(f"PATCH {EVENTS}/{eid}") == 2
    assert_idle(team, amy)


# --------------------------------------------------------------------------- 429 and 5xx storms


def test_429_and_5xx_storms_on_batches_parts_and_listing_complete_with_recorded_waits(
        team: Team) -> None:
    amy = team.add("a", "Amy")
    add(team, amy, 5)
    fault(team.emu, INSERT, method="GET", count=2, status=500)
    fault(team.emu, BATCH, method="POST", count=2, status=429, headers={"Retry-After": "7"})
    fault(team.emu, INSERT, method="POST", count=3, status=503)

    outcome = sync_ok(team, amy)

    assert outcome.report.google.created == 5 and outcome.report.skipped == []
    assert titles(amy) == [f"Act {i:03d}" for i in range(5)]
    assert_in_step(team, amy)
    assert len(team.sleeps) == 2 + 2 + 1  # listing twice, batch twice, the parts once
    assert team.sleeps[2:4] == [7.0, 7.0]  # Retry-After honoured
    assert all(s <= 2 for s in team.sleeps[:2] + team.sleeps[4:])  # backoff: 1 s, 2 s
    assert team.requests()["batch_parts"] == 5 + 3  # refused batches carry no parts; a resend


def test_a_storm_longer_than_the_retries_fails_cleanly_and_the_next_run_finishes(
        team: Team) -> None:
    amy = team.add("a", "Amy")
    add(team, amy, 250)

    def storm() -> None:  # after the first batch of inserts
        fault(team.emu, BATCH, method="POST", count=20, status=503)

    outcome = sync_hearing(team, amy, "Sending new activities", storm)

    assert outcome.status == "failed"
    assert "HTTP 503" in outcome.message and "6 attempts" in outcome.message
    assert len(team.sleeps) == 5
    links = team.repo.list_links(amy.user.id, SyncKind.ACTIVITIES)
    assert len(links) == len(amy.calendar.live()) == 100  # the first batch stays
    assert team.repo.get_sync_state(amy.user.id, SyncKind.ACTIVITIES).get("sync_token", "") == ""
    control(team.emu, "DELETE", "/faults")

    again = sync_ok(team, amy)

    assert again.report.google.created == 150
    assert len(amy.calendar.live()) == 250 and len(team.activities()) == 250
    assert_in_step(team, amy)
    assert_idle(team, amy)


# --------------------------------------------------------------------------- a refused record


def test_a_record_google_refuses_is_skipped_reported_and_sent_next_run(team: Team) -> None:
    amy = team.add("a", "Amy")
    acts = add(team, amy, 3)
    fault(team.emu, INSERT, method="POST", status=400,
          body={"error": {"code": 400, "message": "Invalid start time."}})

    outcome = sync_ok(team, amy)

    assert outcome.report.google.created == 2
    assert len(outcome.report.skipped) == 1
    assert "Google refused it" in outcome.report.skipped[0]
    assert "Invalid start time" in outcome.report.skipped[0]
    assert len(amy.calendar.live()) == 2
    refused = [a for a in acts
               if team.repo.get_link(amy.user.id, SyncKind.ACTIVITIES, a.id) is None]
    assert len(refused) == 1

    again = sync_ok(team, amy)

    assert again.report.google.created == 1 and again.report.skipped == []
    assert titles(amy) == ["Act 000", "Act 001", "Act 002"]
    assert_in_step(team, amy)


# --------------------------------------------------------------------------- mass-unlink guard


def test_many_events_cancelled_in_google_stop_the_run_until_confirmed(team: Team) -> None:
    amy = team.add("a", "Amy")
    acts = add(team, amy, 10)
    sync_ok(team, amy)
    gone = acts[:6]
    for a in gone:
        amy.calendar.cancel(team.event_id(amy, a))
    team.repo.update_activity(team.repo.get_activity(acts[9].id).evolve(title="Edited"))
    before = {e["id"]: e["etag"] for e in amy.calendar.events(deleted=True)}

    stopped = team.sync(amy)

    assert stopped.status == "stopped" and "6" in stopped.message
    assert len(team.repo.list_links(amy.user.id, SyncKind.ACTIVITIES)) == 10
    assert all(team.repo.get_activity(a.id).show_in_calendar for a in acts)
    assert {e["id"]: e["etag"] for e in amy.calendar.events(deleted=True)} == before
    # read only: the listing, and the direct reads that confirm the cancellations (batched)
    assert {p.split(" ")[0] for p in team.requests()["by_path"]} <= {"GET", "POST"}
    assert {p for p in team.requests()["by_path"] if p.startswith("POST")} <= {
        "POST /batch/calendar/v3"}
    assert team.sync(amy).status == "stopped"  # still stopped: nothing was settled

    done = sync_ok(team, amy, confirmed=True)

    assert done.report.crm.untagged >= 6
    links = team.repo.list_links(amy.user.id, SyncKind.ACTIVITIES)
    assert {link.local_id for link in links} == {a.id for a in acts[6:]}
    assert not any(team.repo.get_activity(a.id).show_in_calendar for a in gone)
    assert len(team.activities()) == 10  # nothing deleted in the CRM
    assert amy.calendar.get(team.event_id(amy, acts[9]))["summary"] == "Edited"
    assert_in_step(team, amy)


# --------------------------------------------------------------------------- request counts


N = 250


def list_pages(team: Team) -> int:
    return int(team.requests()["by_path"].get(f"GET {EVENTS}", 0))


def test_a_first_sync_uses_one_batch_per_hundred_activities(team: Team) -> None:
    amy = team.add("a", "Amy")
    add(team, amy, N)

    outcome = sync_ok(team, amy)

    counts = team.requests()
    assert outcome.report.google.created == N
    assert counts["http"] <= math.ceil(N / 100) + list_pages(team)
    assert counts["by_path"].get("POST /batch/calendar/v3") == math.ceil(N / 100)
    assert counts["batch_parts"] == N


@pytest.mark.parametrize("k", [1, 150])
def test_an_incremental_sync_of_k_changes_uses_few_requests(team: Team, k: int) -> None:
    amy = team.add("a", "Amy")
    acts = add(team, amy, N)
    sync_ok(team, amy)
    for a in acts[:k]:
        team.repo.update_activity(team.repo.get_activity(a.id).evolve(location="Moved"))

    outcome = sync_ok(team, amy)

    assert outcome.report.google.updated == k
    assert team.requests()["http"] <= math.ceil(k / 100) + 2
    assert sum(e.get("location") == "Moved" for e in amy.calendar.live()) == k


@pytest.mark.parametrize("k", [1, 150])
def test_an_incremental_sync_of_k_google_changes_uses_few_requests(team: Team, k: int) -> None:
    amy = team.add("a", "Amy")
    acts = add(team, amy, N)
    sync_ok(team, amy)
    for a in acts[:k]:
        amy.calendar.edit(team.event_id(amy, a), location="Moved")

    outcome = sync_ok(team, amy)

    assert outcome.report.crm.updated == k
    assert team.requests()["http"] <= math.ceil(k / 100) + 2
    assert sum(a.location == "Moved" for a in team.activities()) == k


def test_a_sync_with_nothing_to_do_makes_one_request(team: Team) -> None:
    amy = team.add("a", "Amy")
    add(team, amy, N)
    sync_ok(team, amy)
    sync_ok(team, amy)

    outcome = sync_ok(team, amy)

    assert team.requests()["http"] == 1
    assert set(team.requests()["by_path"]) == {f"GET {EVENTS}"}
    assert not any(outcome.report.counts().values())
