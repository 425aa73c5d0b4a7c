"""What a sync remembers between runs, typed; and what a caller may ask about a kind's sync.

The store keeps each user's and kind's state as a JSON object; :class:`ContactsState` and
:class:`ActivitiesState` are the only code that reads or writes its keys. Every caller that wants to
know when a kind last ran, when it runs next or why it last failed asks
:meth:`crmtui.sync.service.SyncService.status`, which answers with a :class:`SyncStatus`.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from crmtui.model import SyncKind
from crmtui.store import Repository


def _stamp(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@dataclass
class KindState:
    """What every kind remembers: the Google sync token, records to look at again, when it
    last ran and from which local modification time the next run reads changes."""

    sync_token: str = ""
    retry: list[str] = field(default_factory=list)  # remote ids whose import failed
    retry_local: list[str] = field(default_factory=list)  # CRM ids to look at again
    local_stamp: datetime | None = None  # local changes from this moment are the next run's
    last_sync: datetime | None = None  # when the last successful run ended

    kind: ClassVar[SyncKind]

    @classmethod
    def read(cls, repo: Repository, user_id: str) -> Self:
        """The state the store keeps for ``user_id`` (the one place that reads it)."""
        state: Self = cls.from_dict(repo.get_sync_state(user_id, cls.kind))
        return state

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in names}
        values["local_stamp"] = _stamp(data.get("local_stamp"))
        values["last_sync"] = _stamp(data.get("last_sync"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["local_stamp"] = _iso(self.local_stamp)
        out["last_sync"] = _iso(self.last_sync)
        return out


@dataclass
class ContactsState(KindState):
    kind = SyncKind.CONTACTS
    group: str = ""  # the sync group's resource name
    group_name: str = ""  # the group's name in crmtui's settings at the last run (a new one
    # there renames the group in Gmail; a new one in Gmail is followed)
    parked: dict[str, str] = field(default_factory=dict)  # contact id -> the Gmail contact it
    # left the group with (tagged again, that contact goes back into the group)


@dataclass
class ActivitiesState(KindState):
    kind = SyncKind.ACTIVITIES
    generations: dict[str, int] = field(default_factory=dict)  # activity id -> how many event
    # ids were taken before (the next event id is derived from it)


STATE_TYPES: dict[SyncKind, type[KindState]] = {SyncKind.CONTACTS: ContactsState,
                                                SyncKind.ACTIVITIES: ActivitiesState}


class FailureKind(enum.Enum):
    """Why a run did not end well, for callers to choose what to say (never parse the text)."""

    SETUP_MISSING = "setup missing"  # the kind's settings are incomplete (tag, from date)
    ACCOUNT = "account"  # no Google account linked, or it needs to be reconnected
    GOOGLE_UNAVAILABLE = "google unavailable"  # Google could not be reached or refused the run
    GUARD_STOPPED = "guard stopped"  # the mass-unlink guard asks to confirm
    INTERNAL = "internal"  # a defect of crmtui; the log has the traceback


@dataclass(frozen=True)
class Failure:
    """A failed run as the journal keeps it."""

    at: datetime
    message: str


@dataclass(frozen=True)
class SyncStatus:
    """One user's sync of one kind, as every screen and command shows it."""

    kind: SyncKind
    set_up: bool  # a Google account is linked and the kind is set up
    automatic: bool
    period: timedelta
    last_run: datetime | None  # the end of the last successful run
    next_run: datetime | None  # the next automatic run (None: not automatic)
    running: bool  # a run of this process is going on now
    last_failure: Failure | None  # the last run failed or was stopped by the guard (after
    # the last successful one): the next automatic run waits a period from then

    def due(self, now: datetime) -> bool:
        """Whether an automatic run should start now: not running, and its time has come."""
        return not self.running and self.next_run is not None and self.next_run <= now


def next_run(*, automatic: bool, period: timedelta, last_run: datetime | None,
             last_failure: Failure | None, now: datetime) -> datetime | None:
    """When the next automatic run is due: a period after the last run, or after the last
    failure (a failed run waits one period before the next try); ``now`` when it never ran;
    None when the kind synchronizes only when asked."""
    if not automatic:
        return None
    since = max((t for t in (last_run, last_failure.at if last_failure else None) if t),
                default=None)
    return since + period if since else now
