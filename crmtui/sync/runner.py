"""The one runner that carries out a sync plan, for contacts and activities alike.

A sync is three steps (vdirsyncer's ``sync()`` is the model):

1. **read** both sides and the stored status (the kind's ``prepare``),
2. **plan**: a pure function turns them into a :class:`Plan`, a list of :class:`Action` objects,
   each of which can describe itself (the dry run prints those descriptions) and apply itself,
3. **run**: :class:`Runner` checks the mass-unlink guard, then applies the actions, a batch at a
   time: the Google side of a batch first (outside any transaction), then its CRM side in one
   store transaction. A write Google refused for a stale version is read again, merged again and
   sent again (the action's ``again``) up to its ``attempts``. Progress is reported per batch.
   When every action ran, the kind's new state is returned for the service to commit together
   with the journal entry (a run killed half way leaves the old state, which the next run
   repairs: every write is idempotent).

Actions of one class run together, in the order of their ``phase``; an action may discover more
work while it applies (an interrupted run had already created an event, which must now be merged)
and hand it to :meth:`Runner.enqueue`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from crmtui.model import SyncRun
from crmtui.store import Repository
from crmtui.sync.engine import GuardStop, ProgressFn, SyncReport, check_guard, chunks
from crmtui.sync.state import KindState

log = logging.getLogger(__name__)

STALE_RETRIES = 2  # a write refused for a stale etag is re-read, re-merged and re-sent this often
ALL = 1 << 62  # the batch size of CRM-only actions: all of them in one store transaction


class Context(Protocol):
    """What the runner needs of a kind's run: its report, store transactions, and the records
    an action gave up on (their later actions in this run are skipped)."""

    report: SyncReport
    abandoned: set[str]
    later: list[Action]  # work an action discovered while applying, for the runner to queue

    def transaction(self) -> AbstractContextManager[Any]: ...


class Action:
    """One thing a sync does to one record. Subclasses set the class attributes and implement
    :meth:`describe` and :meth:`land` (and :meth:`send` when Google is written)."""

    phase: ClassVar[int] = 0  # classes run in this order
    batch_size: ClassVar[int] = 1000  # actions per Google request / store transaction
    attempts: ClassVar[int] = 1  # how often an action may be sent (stale versions, taken ids)
    message: ClassVar[str] = ""  # the progress line; "" for book-keeping (not counted)
    unlinks: ClassVar[bool] = False  # counted by the mass-unlink guard

    @property
    def record(self) -> str:
        """The id of the record this action is about."""
        raise NotImplementedError

    def describe(self, report: SyncReport) -> None:
        """Dry run: add this action's plan line and the counts it would make to ``report``."""

    @classmethod
    def send(cls, ctx: Any, batch: Sequence[Any]) -> Any:
        """Write a batch to Google (outside any transaction); the answer goes to :meth:`land`."""
        return None

    @classmethod
    def land(cls, ctx: Any, batch: Sequence[Any], answer: Any, *, last: bool) -> list[Any]:
        """Settle a batch in the CRM (inside one store transaction) with Google's ``answer``;
        returns the actions to send again (a stale version, a taken id); ``last`` says there is
        no attempt left (they must be reported as failed instead)."""
        raise NotImplementedError

    @classmethod
    def again(cls, ctx: Any, retry: list[Any]) -> list[Any]:
        """Ready actions to be sent again (read what is stale again and merge again)."""
        return retry


class Written(Protocol):
    """Google's answer to one write of a batch."""

    stale: bool  # refused: the version sent (etag) is no longer the current one
    error: str


class MergeAction(Action):
    """Merged fields to write to a linked record: Google's side (``to_remote``, with the version
    read) and the CRM's (``to_local``). A write refused for a stale version is read again and
    merged again (:meth:`again`) and sent again, up to ``attempts``; then it is reported as
    changed again in Google and looked at again next run. Subclasses say what Google's answer
    holds (:meth:`written`), how a refused record is reported (:meth:`refused`) and how a written
    one is settled in the CRM (:meth:`settle`)."""

    attempts = STALE_RETRIES + 1
    to_remote: list[str]
    to_local: list[str]

    @property
    def remote_id(self) -> str:
        raise NotImplementedError

    @classmethod
    def written(cls, result: Any) -> Any:
        """The record Google answered with (None when it refused the write)."""
        raise NotImplementedError

    def refused(self, ctx: Any, why: str) -> None:
        raise NotImplementedError

    def settle(self, ctx: Any, result: Any) -> None:
        """Settle a record Google took, or that had nothing for Google (``result`` None)."""
        raise NotImplementedError

    @classmethod
    def land(cls, ctx: Any, batch: Sequence[Any], answer: dict[str, Written], *,
             last: bool) -> list[Any]:
        stale: list[Any] = []
        for action in batch:
            result = answer.get(action.remote_id)
            if action.to_remote and (result is None or cls.written(result) is None):
                if result is not None and result.stale and not last:
                    stale.append(action)
                else:
                    action.refused(ctx, "changed again in Google" if result and result.stale
                                   else (result.error if result else "no answer"))
                continue
            action.settle(ctx, result)
        return stale


A = TypeVar("A", bound=Action)


@dataclass
class Plan:
    """What a run will do: its actions, and what the mass-unlink guard needs to know."""

    actions: list[Action] = field(default_factory=list)
    linked: int = 0  # linked records before the run
    guard_reason: str = "many linked records are gone from Google"
    guard_always: bool = False  # stop whenever something would be unlinked (group deleted)

    def of(self, kind: type[A]) -> list[A]:
        """The actions of one class, in plan order."""
        return [a for a in self.actions if type(a) is kind]

    def unlinking(self) -> int:
        return sum(1 for a in self.actions if a.unlinks)


class KindSync(Protocol):
    """A kind's reading and planning (``ContactSync``, ``ActivitySync``)."""

    def prepare(self, progress: ProgressFn) -> tuple[Plan, Any]:
        """Read both sides and the status; the plan and the context its actions run in."""
        ...

    def final_state(self) -> KindState:
        """The state a run that applied every action ends with."""
        ...


class Runner:
    """Carries out one run of a kind (see the module's documentation)."""

    def __init__(self, *, progress: ProgressFn, dry_run: bool = False,
                 confirmed: bool = False) -> None:
        self.progress = progress
        self.dry_run = dry_run
        self.confirmed = confirmed
        self._queue: dict[type[Action], list[Action]] = {}
        self._done = 0
        self._total = 0

    def run(self, sync: KindSync) -> KindState | None:
        """Read and plan, check the guard, then describe (dry run: None) or apply the plan and
        return the state to commit. Raises GuardStop when a real run would unlink an unusual
        share of the linked records."""
        plan, ctx = sync.prepare(self.progress)
        self.ctx: Context = ctx
        report = ctx.report
        try:
            check_guard(plan.unlinking(), plan.linked, reason=plan.guard_reason,
                        confirmed=self.confirmed,
                        always=plan.guard_always and plan.unlinking() > 0)
        except GuardStop as stop:
            if not self.dry_run:
                log.warning("%s sync stopped by the mass-unlink guard: %s", report.kind, stop)
                raise
            report.notes.append(f"A real run would stop here: {stop}")
        if self.dry_run:
            for action in plan.actions:
                action.describe(report)
            return None
        log.info("%s sync: %d actions planned", report.kind, len(plan.actions))
        for action in plan.actions:
            self.enqueue(action)
        while self._queue:
            cls = min(self._queue, key=lambda c: c.phase)
            self._apply(cls, self._queue.pop(cls))
        return sync.final_state()

    @staticmethod
    def commit(repo: Repository, run: SyncRun, state: KindState | None) -> None:
        """Journal the run and, when it applied its plan, store the new sync state: one commit
        (a run killed half way leaves no entry and the old state, which the next run repairs)."""
        with repo.transaction():
            if state is not None:
                repo.set_sync_state(run.user_id, run.kind, state.to_dict())
            repo.add_run(run)
        log.info("%s sync of user %s: %s %s", run.kind.value, run.user_id, run.status,
                 " ".join(f"{k}={v}" for k, v in run.counts.items() if v))
        for error in run.errors:
            log.info("%s sync: %s", run.kind.value, error)

    def enqueue(self, action: Action) -> None:
        """Add an action to the run (also while it applies: the next pass of its class)."""
        self._queue.setdefault(type(action), []).append(action)
        if action.message:
            self._total += 1

    def _apply(self, cls: type[Action], actions: list[Action]) -> None:
        ctx = self.ctx
        todo = actions
        for attempt in range(1, cls.attempts + 1):
            retry: list[Action] = []
            for batch in chunks(todo, cls.batch_size):
                live = [a for a in batch if a.record not in ctx.abandoned]
                if live:
                    answer = cls.send(ctx, live)
                    with ctx.transaction():
                        retry += cls.land(ctx, live, answer, last=attempt == cls.attempts)
                    for found in ctx.later:
                        self.enqueue(found)
                    ctx.later.clear()
                if cls.message:
                    self._done += len(batch)
                    self.progress(cls.message, self._done, self._total)
            if not retry:
                return
            log.info("%s sync: %d writes to send again (%s)", ctx.report.kind, len(retry),
                     cls.__name__)
            self._total += len(retry) if cls.message else 0
            todo = cls.again(ctx, retry)

