"""`crmtui sync` for cron: `--due` runs only what is automatic and due; the service's rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from crmtui.cli import cli
from crmtui.model import Account, SyncKind, Tag, User
from crmtui.store import TinyDBRepository
from crmtui.sync.state import Failure, SyncStatus, next_run


def is_due(auto: bool, period: int, last_sync: str | None, now: datetime,
           failed: datetime | None = None) -> bool:
    """The sync status's rule for an automatic run, as the app and `sync --due` ask it."""
    last = datetime.fromisoformat(last_sync) if last_sync else None
    failure = Failure(failed, "Google unavailable") if failed else None
    every = timedelta(minutes=period)
    return SyncStatus(kind=SyncKind.CONTACTS, set_up=True, automatic=auto, period=every,
                      last_run=last, running=False, last_failure=failure,
                      next_run=next_run(automatic=auto, period=every, last_run=last,
                                        last_failure=failure, now=now)).due(now)


def test_a_failed_run_waits_a_period_from_the_failure() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    long_ago = (now - timedelta(hours=5)).isoformat()
    assert not is_due(True, 30, long_ago, now, failed=now - timedelta(minutes=29))
    assert is_due(True, 30, long_ago, now, failed=now - timedelta(minutes=30))
    assert not is_due(True, 30, None, now, failed=now - timedelta(minutes=1))


def test_is_due_follows_the_period() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert not is_due(False, 5, None, now)
    assert is_due(True, 5, None, now)
    assert not is_due(True, 30, (now - timedelta(minutes=29)).isoformat(), now)
    assert is_due(True, 30, (now - timedelta(minutes=30)).isoformat(), now)


def _run(data_dir: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--user", "ann@example.com",
                                    *args], catch_exceptions=False)


def test_sync_due_runs_only_when_the_period_has_passed(repo: TinyDBRepository, data_dir: Path,
                                                       user: User, sync_tag: Tag,
                                                       account: Account) -> None:
    manual = _run(data_dir, "sync", "--due")
    assert manual.exit_code == 0 and "not due" in manual.output  # type: ignore[attr-defined]
    assert repo.list_runs(user.id) == []

    repo.save_sync_settings(repo.get_sync_settings(user.id).evolve(contacts_auto=True,
                                                                   contacts_period=30))
    first = _run(data_dir, "sync", "--due")
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    assert "In Google:" in first.output  # type: ignore[attr-defined]
    assert [r.status for r in repo.list_runs(user.id, SyncKind.CONTACTS)] == ["ok"]

    again = _run(data_dir, "sync", "--due")
    assert "not due" in again.output  # type: ignore[attr-defined]
    assert len(repo.list_runs(user.id)) == 1

    plain = _run(data_dir, "sync")  # without --due: runs now
    assert plain.exit_code == 0 and len(repo.list_runs(user.id)) == 2  # type: ignore[attr-defined]


def test_one_sync_per_user_and_kind_at_a_time(repo: TinyDBRepository, data_dir: Path,
                                              user: User, sync_tag: Tag, account: Account,
                                              service) -> None:  # type: ignore[no-untyped-def]
    """While another process holds the user's contacts sync lock, a second sync refuses at once
    (the service raises SyncBusy; the command exits 3) and changes nothing."""
    import multiprocessing

    import pytest

    from crmtui.sync.service import SyncBusy

    lock_path = data_dir / "locks" / f"sync-{user.id}-contacts.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(lock_path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(SyncBusy, match="already running"):
            service.run(user.id, SyncKind.CONTACTS)
        busy = _run(data_dir, "sync", "contacts")
        assert busy.exit_code == 3  # type: ignore[attr-defined]
        assert "already running" in busy.output  # type: ignore[attr-defined]
        assert repo.list_runs(user.id) == []
    finally:
        release.set()
        holder.join(10)
    assert service.run(user.id, SyncKind.CONTACTS).ok


def _hold_lock(path: str, ready, release) -> None:  # type: ignore[no-untyped-def]
    from filelock import FileLock

    with FileLock(path):
        ready.set()
        release.wait(20)


def test_a_sync_run_is_in_the_log(repo: TinyDBRepository, data_dir: Path, user: User,
                                  sync_tag: Tag, account: Account) -> None:
    result = _run(data_dir, "sync", "contacts")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    log = (data_dir / "crmtui.log").read_text()
    assert "contacts sync of user" in log and "actions planned" in log
    assert f"contacts sync of user {user.id}: ok" in log
