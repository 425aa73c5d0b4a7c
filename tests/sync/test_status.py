"""The sync service's one answer about a kind's sync (SyncService.status), the failure kind of a
run's outcome, and the plan's actions describing themselves (against the in-memory Google)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_engine import World

from crmtui.model import AccountState, SyncKind
from crmtui.store import TinyDBRepository
from crmtui.sync.state import FailureKind


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(repo: TinyDBRepository, tmp_path: Path) -> World:
    w = World(repo, tmp_path)
    w.clock = Clock()  # type: ignore[attr-defined]
    w.service.now = w.clock  # type: ignore[attr-defined]
    return w


def test_status_tells_the_last_and_next_run_from_the_schedule(world: World) -> None:
    uid, clock = world.user.id, world.clock  # type: ignore[attr-defined]
    manual = world.service.status(uid, SyncKind.CONTACTS)
    assert (manual.set_up, manual.automatic, manual.last_run, manual.next_run) == (
        True, False, None, None)
    world.repo.save_sync_settings(world.repo.get_sync_settings(uid).evolve(
        contacts_auto=True, contacts_period=15))
    never = world.service.status(uid, SyncKind.CONTACTS)
    assert never.next_run == clock.now and never.due(clock.now)
    assert world.sync().ok
    done = world.service.status(uid, SyncKind.CONTACTS)
    assert done.last_run == clock.now and done.last_failure is None
    assert done.next_run == clock.now + timedelta(minutes=15)
    assert not done.due(clock.now + timedelta(minutes=14))
    assert done.due(clock.now + timedelta(minutes=15))
    activities = world.service.status(uid, SyncKind.ACTIVITIES)
    assert not activities.set_up and activities.last_run is None


def test_a_failed_run_is_the_last_failure_and_delays_the_next_run(world: World) -> None:
    uid, clock = world.user.id, world.clock  # type: ignore[attr-defined]
    world.repo.save_sync_settings(world.repo.get_sync_settings(uid).evolve(
        contacts_auto=True, contacts_period=5))
    assert world.sync().ok
    clock.now += timedelta(minutes=10)
    world.google.refuse_credentials()
    outcome = world.sync()
    assert outcome.status == "failed" and outcome.failure is FailureKind.ACCOUNT
    status = world.service.status(uid, SyncKind.CONTACTS)
    assert status.last_failure is not None and status.last_failure.at == clock.now
    assert "Google refused the account" in status.last_failure.message
    assert status.last_run == clock.now - timedelta(minutes=10)
    assert status.next_run == clock.now + timedelta(minutes=5)  # a period after the failure
    world.google.credentials_refused = False
    clock.now += timedelta(minutes=5)
    assert world.sync().ok
    assert world.service.status(uid, SyncKind.CONTACTS).last_failure is None


def test_each_way_of_failing_has_its_kind(world: World) -> None:
    uid = world.user.id
    settings = world.repo.get_sync_settings(uid)
    world.repo.save_sync_settings(settings.evolve(contacts_tag_id=""))
    assert world.sync().failure is FailureKind.SETUP_MISSING
    world.repo.save_sync_settings(settings)
    account = world.repo.list_accounts(uid)[0]
    world.repo.update_account(account.evolve(state=AccountState.NEEDS_RECONNECT))
    assert world.sync().failure is FailureKind.ACCOUNT
    world.repo.update_account(account)
    assert world.sync().ok and world.sync().failure is None


def test_the_dry_run_prints_what_each_action_describes(world: World) -> None:
    world.add("Zoë", emails=["zoe@example.com"])
    world.add("Yann")
    outcome = world.sync(dry_run=True)
    assert outcome.ok
    assert sorted(outcome.report.plan) == ["Google: create Yann", "Google: create Zoë",
                                           "create the Google group 'crmtui'"]
    assert outcome.report.google.created == 2
    assert world.google.calls["create"] == 0 and world.repo.list_runs(world.user.id) == []
