"""The sync service the command line and the TUI share.

:meth:`SyncService.run` runs one sync for one user and kind: it checks the set-up, holds a
cross-process lock (the TUI and a cron ``crmtui sync`` never sync the same user and kind at once),
builds the Google client through the factory it was given (the entry layer wires the real adapter;
tests wire the emulator or the in-memory fake), lets the kind read and plan and the
:class:`~crmtui.sync.runner.Runner` apply the plan, and journals the run (with every conflict)
together with the new sync state. :meth:`SyncService.status` is the one answer to "when did it
last run, when does it run next, is it running, why did it fail".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from crmtui.model import Account, SyncKind, SyncRun, utcnow
from crmtui.store import Repository, SyncLocked
from crmtui.sync.engine import (
    AccountNeeded,
    GuardStop,
    ProgressFn,
    SyncReport,
    SyncSetupError,
    no_progress,
)
from crmtui.sync.remote import (
    AuthError,
    CalendarRemote,
    ContactsRemote,
    ReconnectNeeded,
    RemoteError,
)
from crmtui.sync.state import (
    STATE_TYPES,
    Failure,
    FailureKind,
    KindState,
    SyncStatus,
    next_run,
)

# What a run needs loads with the first run: the TUI asks this service for each kind's status
# at start-up, and paints its first rows without the syncs' code.
if TYPE_CHECKING:
    from crmtui.sync.runner import KindSync

log = logging.getLogger(__name__)

ContactsFactory = Callable[[Account], ContactsRemote]
CalendarFactory = Callable[[Account], CalendarRemote]


class SyncBusy(RuntimeError):
    """Another sync of the same user and kind is running (in this or another process)."""


@dataclass
class SyncOutcome:
    """How a run ended: ``status`` is ok, failed or stopped (the guard asked to confirm);
    ``failure`` says why it did not end well, for the caller to choose what to say."""

    status: str
    report: SyncReport
    message: str = ""
    failure: FailureKind | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class SyncService:
    def __init__(self, repo: Repository, data_dir: str | os.PathLike[str],
                 contacts_remote: ContactsFactory | None = None,
                 calendar_remote: CalendarFactory | None = None, *,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.repo = repo
        self.now = now  # the clock of the journal and of "last sync" (tests move it)
        self.data_dir = Path(data_dir)
        self.contacts_remote = contacts_remote
        self.calendar_remote = calendar_remote
        self._running: set[tuple[str, SyncKind]] = set()

    def account(self, user_id: str) -> Account:
        """The user's linked Google account, ready to sync (else AccountNeeded)."""
        from crmtui.sync.accounts import AccountService

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

    def state(self, user_id: str, kind: SyncKind) -> KindState:
        """What the user's sync of ``kind`` remembers."""
        return STATE_TYPES[kind].read(self.repo, user_id)

    def status(self, user_id: str, kind: SyncKind, now: datetime | None = None) -> SyncStatus:
        """The last run, the next automatic run, whether one is running, and the last failure."""
        moment = now or self.now()
        settings = self.repo.get_sync_settings(user_id)
        automatic, minutes = settings.schedule(kind)
        last_run = self.state(user_id, kind).last_sync
        failure = None
        latest = self.repo.list_runs(user_id, kind, limit=1)
        if latest and latest[0].status in ("failed", "stopped"):
            at = latest[0].finished or latest[0].started
            if last_run is None or at > last_run:
                failure = Failure(at, latest[0].errors[-1] if latest[0].errors else "")
        set_up = self.kind_set_up(user_id, kind)
        period = timedelta(minutes=minutes)
        return SyncStatus(
            kind=kind, set_up=set_up, automatic=automatic, period=period, last_run=last_run,
            next_run=next_run(automatic=automatic, period=period,
                              last_run=last_run, last_failure=failure, now=moment),
            running=(user_id, kind) in self._running, last_failure=failure)

    def run(self, user_id: str, kind: SyncKind, *, dry_run: bool = False,
            confirmed: bool = False, progress: ProgressFn = no_progress) -> SyncOutcome:
        """Run one sync; never raises for a failed run (the outcome says why), only SyncBusy."""
        if (self.calendar_remote if kind is SyncKind.ACTIVITIES else self.contacts_remote) is None:
            raise SyncSetupError(f"{kind.value} sync is not wired in this service")
        with ExitStack() as held:
            try:  # one at a time: a file lock, or the shared database's lock
                held.enter_context(self.repo.sync_lock(user_id, kind, self.data_dir / "locks"))
            except SyncLocked as exc:
                raise SyncBusy(str(exc)) from None
            self._running.add((user_id, kind))
            try:
                return self._run_locked(user_id, kind, dry_run, confirmed, progress)
            finally:
                self._running.discard((user_id, kind))

    def _kind_sync(self, account: Account, kind: SyncKind, report: SyncReport,
                   dry_run: bool) -> KindSync:
        from crmtui.sync.activities import ActivitySync
        from crmtui.sync.contacts import ContactSync

        user_id = account.user_id
        settings = self.repo.get_sync_settings(user_id)
        if kind is SyncKind.CONTACTS:
            assert self.contacts_remote is not None  # checked in run()
            return ContactSync(self.repo, user_id, settings, self.contacts_remote(account),
                               report, dry_run=dry_run)
        assert self.calendar_remote is not None  # checked in run()
        return ActivitySync(self.repo, user_id, settings, self.calendar_remote(account), report,
                            sync_set_up=self.sync_set_up, dry_run=dry_run)

    def _run_locked(self, user_id: str, kind: SyncKind, dry_run: bool, confirmed: bool,
                    progress: ProgressFn) -> SyncOutcome:
        from crmtui.sync.accounts import AccountService
        from crmtui.sync.runner import Runner

        run = SyncRun(user_id=user_id, kind=kind, started=self.now())
        report = SyncReport(kind=kind.value, dry_run=dry_run)
        runner = Runner(progress=progress, dry_run=dry_run, confirmed=confirmed)
        state: KindState | None = None
        account: Account | None = None
        log.info("%s sync of user %s%s", kind.value, user_id, " (dry run)" if dry_run else "")
        try:
            account = self.account(user_id)
            state = runner.run(self._kind_sync(account, kind, report, dry_run))
            if state is not None:
                state.last_sync = self.now()
            outcome = SyncOutcome("ok", report)
        except GuardStop as stop:
            outcome = SyncOutcome("stopped", report, str(stop), FailureKind.GUARD_STOPPED)
        except AuthError as exc:
            if isinstance(exc, ReconnectNeeded) and account is not None:
                # Google refused the saved authorization: linking again is the only way on
                AccountService(self.repo, self.data_dir).mark_needs_reconnect(account.id,
                                                                              str(exc))
            outcome = SyncOutcome("failed", report, f"Google refused the account: {exc}",
                                  FailureKind.ACCOUNT)
        except AccountNeeded as exc:
            outcome = SyncOutcome("failed", report, str(exc), FailureKind.ACCOUNT)
        except SyncSetupError as exc:
            outcome = SyncOutcome("failed", report, str(exc), FailureKind.SETUP_MISSING)
        except RemoteError as exc:
            log.warning("%s sync: Google gave up: %s", kind.value, exc)
            outcome = SyncOutcome("failed", report, str(exc), FailureKind.GOOGLE_UNAVAILABLE)
        except Exception as exc:  # a bug: journal it as failed, then let it surface
            log.exception("%s sync of user %s: internal error", kind.value, user_id)
            if not dry_run:
                Runner.commit(self.repo, run.evolve(
                    finished=self.now(), status="failed", counts=report.counts(),
                    errors=[f"internal error: {exc!r}"], conflicts=report.conflicts), None)
            raise
        if not dry_run:
            errors = list(report.skipped) + ([outcome.message] if outcome.message else [])
            Runner.commit(self.repo, run.evolve(finished=self.now(), status=outcome.status,
                                                counts=report.counts(), errors=errors,
                                                conflicts=report.conflicts),
                          state if outcome.ok else None)
        return outcome

