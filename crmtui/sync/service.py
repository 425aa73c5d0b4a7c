"""The sync service the command line and the TUI share.

:meth:`SyncService.run` runs one sync for one user and kind: it checks the set-up, holds a
cross-process lock (the TUI and a cron ``crmtui sync`` never sync the same user and kind at once),
builds the Google client through the factory it was given (the CLI wires the real adapter; tests
wire the emulator or the in-memory fake), runs the engine, reports progress through a callback, and
records the run in the journal (with every conflict) and the last-sync time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from crmtui.model import Account, SyncKind, SyncRun, utcnow
from crmtui.store import Repository
from crmtui.sync.accounts import AccountService
from crmtui.sync.activities import ActivitySync
from crmtui.sync.contacts import ContactSync
from crmtui.sync.engine import GuardStop, ProgressFn, SyncReport, SyncSetupError, no_progress
from crmtui.sync.remote import (
    AuthError,
    CalendarRemote,
    ContactsRemote,
    ReconnectNeeded,
    RemoteError,
)

ContactsFactory = Callable[[Account], ContactsRemote]
CalendarFactory = Callable[[Account], CalendarRemote]


def is_due(auto: bool, period_minutes: int, last_sync: str | None,
           now: datetime | None = None) -> bool:
    """Whether an automatic sync is due: on, and ``period_minutes`` passed since ``last_sync``."""
    if not auto:
        return False
    if not last_sync:
        return True
    elapsed = (now or utcnow()) - datetime.fromisoformat(last_sync)
    return elapsed >= timedelta(minutes=period_minutes)


class SyncBusy(RuntimeError):
    """Another sync of the same user and kind is running (in this or another process)."""


@dataclass
class SyncOutcome:
    """How a run ended: ``status`` is ok, failed or stopped (the guard asked to confirm)."""

    status: str
    report: SyncReport
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class SyncService:
    def __init__(self, repo: Repository, data_dir: str | os.PathLike[str],
                 contacts_remote: ContactsFactory,
                 calendar_remote: CalendarFactory | None = None) -> None:
        self.repo = repo
        self.data_dir = Path(data_dir)
        self.contacts_remote = contacts_remote
        self.calendar_remote = calendar_remote

    def account(self, user_id: str) -> Account:
        """The user's linked Google account, ready to sync (else SyncSetupError)."""
        return AccountService(self.repo, self.data_dir).ready_account(user_id)

    def sync_set_up(self, user_id: str) -> bool:
        """Whether the user has activity sync set up: a Google account and a "synchronize from"
        date (an activity organized by someone without goes to a participant's calendar)."""
        return self.kind_set_up(user_id, SyncKind.ACTIVITIES)

    def kind_set_up(self, user_id: str, kind: SyncKind) -> bool:
        """Whether the user can sync ``kind``: a Google account linked, and the kind set up."""
        if not any(a.provider == "google" for a in self.repo.list_accounts(user_id)):
            return False
        return self.repo.get_sync_settings(user_id).is_set_up(kind)

    def last_sync(self, user_id: str, kind: SyncKind) -> datetime | None:
        stamp = self.repo.get_sync_state(user_id, kind).get("last_sync")
        return datetime.fromisoformat(stamp) if stamp else None

    def run(self, user_id: str, kind: SyncKind, *, dry_run: bool = False,
            confirmed: bool = False, progress: ProgressFn = no_progress) -> SyncOutcome:
        """Run one sync; never raises for a failed run (the outcome says why), only SyncBusy."""
        if kind is SyncKind.ACTIVITIES and self.calendar_remote is None:
            raise SyncSetupError("activity sync is not wired in this service")
        lock_dir = self.data_dir / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_dir / f"sync-{user_id}-{kind.value}.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise SyncBusy(f"a {kind.value} sync of this user is already running") from None
        try:
            return self._run_locked(user_id, kind, dry_run, confirmed, progress)
        finally:
            lock.release()

    def _run_locked(self, user_id: str, kind: SyncKind, dry_run: bool, confirmed: bool,
                    progress: ProgressFn) -> SyncOutcome:
        run = SyncRun(user_id=user_id, kind=kind, started=utcnow())
        report = SyncReport(kind=kind.value, dry_run=dry_run)
        final: list[dict[str, Any]] = []
        # The run is journaled when it ends, with the new sync state, in one commit (a run killed
        # half way leaves no entry; the lock already tells whether one is running).
        try:
            account = self.account(user_id)
            settings = self.repo.get_sync_settings(user_id)
            if kind is SyncKind.CONTACTS:
                ContactSync(self.repo, user_id, settings, self.contacts_remote(account),
                            progress=progress, dry_run=dry_run, confirmed=confirmed,
                            report=report, finish=final.append).run()
            else:
                assert self.calendar_remote is not None  # checked in run()
                ActivitySync(self.repo, user_id, settings, self.calendar_remote(account),
                             account_email=account.email, progress=progress, dry_run=dry_run,
                             confirmed=confirmed, report=report, finish=final.append,
                             sync_set_up=self.sync_set_up).run()
            outcome = SyncOutcome("ok", report)
        except GuardStop as stop:
            outcome = SyncOutcome("stopped", report, str(stop))
        except AuthError as exc:
            if isinstance(exc, ReconnectNeeded):  # linking again is the only way on
                AccountService(self.repo, self.data_dir).mark_needs_reconnect(account.id,
                                                                               str(exc))
            outcome = SyncOutcome("failed", report, f"Google refused the account: {exc}")
        except (RemoteError, SyncSetupError) as exc:
            outcome = SyncOutcome("failed", report, str(exc))
        except Exception as exc:  # a bug: journal it as failed, then let it surface
            if not dry_run:
                self.repo.add_run(run.evolve(finished=utcnow(), status="failed",
                                             counts=report.counts(),
                                             errors=[f"internal error: {exc!r}"],
                                             conflicts=report.conflicts))
            raise
        if not dry_run:
            errors = list(report.skipped) + ([outcome.message] if outcome.message else [])
            with self.repo.transaction():  # the new sync state and the journal: one commit
                if outcome.ok and final:
                    self.repo.set_sync_state(user_id, kind, final[0])
                self.repo.add_run(run.evolve(finished=utcnow(), status=outcome.status,
                                             counts=report.counts(), errors=errors,
                                             conflicts=report.conflicts))
        return outcome
