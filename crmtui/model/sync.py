"""What sync with an external account keeps: the account, the user's sync settings, the links
between local and remote records, and the journal of runs with their field conflicts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from crmtui.model.common import (
    MAX_NAME,
    ValidationError,
    _coerce,
    _Entity,
    _opt_date,
    _opt_dt,
    check_aware,
    check_choice,
    check_email,
    check_enum,
    check_id,
    clean_text,
    new_id,
    utcnow,
)
from crmtui.model.people import Tag, TagKind

SYNC_PERIODS = (1, 5, 10, 15, 30, 60)
SEND_UPDATES = ("none", "external", "all")  # whom event writes e-mail: nobody, the guests
# outside the user's domain, every guest (Google Calendar's sendUpdates none/externalOnly/all)
DEFAULT_SYNC_PERIOD = 60
DEFAULT_GROUP_NAME = "crmtui"


class AccountState(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"


class SyncKind(StrEnum):
    CONTACTS = "contacts"
    ACTIVITIES = "activities"


@dataclass(slots=True)
class Account(_Entity):
    """A linked external account. Credentials live in a 0600 file, never in the database."""

    user_id: str
    email: str
    provider: str = "google"
    endpoint: str = ""
    state: AccountState = AccountState.CONNECTED
    state_message: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.user_id = check_id("user_id", self.user_id)
        self.email = check_email("email", self.email)
        self.provider = check_choice("provider", self.provider, ("google",))
        self.endpoint = clean_text("endpoint", self.endpoint, 500)
        if self.endpoint and not re.match(r"^https?://", self.endpoint):
            raise ValidationError("endpoint", "must be an http:// or https:// URL", self.endpoint)
        self.state = check_enum("state", AccountState, self.state)
        self.state_message = clean_text("state_message", self.state_message, 1000)
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)


@dataclass(slots=True)
class SyncSettings(_Entity):
    """A user's sync settings for contacts and activities."""

    user_id: str
    contacts_auto: bool = False
    contacts_period: int = DEFAULT_SYNC_PERIOD
    contacts_tag_id: str = ""
    contacts_group_name: str = DEFAULT_GROUP_NAME
    activities_auto: bool = False
    activities_period: int = DEFAULT_SYNC_PERIOD
    activities_from: date | None = None
    activities_calendar: str = "primary"  # the calendar's id ("primary": the account's own)
    activities_send_updates: str = "none"  # whom crmtui's event writes e-mail: SEND_UPDATES

    def __post_init__(self) -> None:
        self.user_id = check_id("user_id", self.user_id)
        self.contacts_auto = bool(self.contacts_auto)
        self.activities_calendar = clean_text("activities_calendar", self.activities_calendar,
                                              1024, required=True)
        self.activities_send_updates = check_choice(
            "activities_send_updates", self.activities_send_updates, SEND_UPDATES)
        self.activities_auto = bool(self.activities_auto)
        for name in ("contacts_period", "activities_period"):
            value = getattr(self, name)
            if isinstance(value, bool) or value not in SYNC_PERIODS:
                raise ValidationError(
                    name, f"must be one of {', '.join(map(str, SYNC_PERIODS))} minutes", value)
        self.contacts_tag_id = check_id("contacts_tag_id", self.contacts_tag_id, required=False)
        self.contacts_group_name = clean_text("contacts_group_name", self.contacts_group_name,
                                              MAX_NAME, required=True)
        self.activities_from = _opt_date("activities_from", self.activities_from)

    def is_set_up(self, kind: SyncKind) -> bool:
        """Whether ``kind`` is set up: a sync tag chosen (contacts), a "synchronize from" date
        (activities). (A sync also needs a linked account.)"""
        if kind is SyncKind.CONTACTS:
            return bool(self.contacts_tag_id)
        return self.activities_from is not None

    def schedule(self, kind: SyncKind) -> tuple[bool, int]:
        """Whether ``kind`` synchronizes automatically, and its period in minutes."""
        if kind is SyncKind.CONTACTS:
            return self.contacts_auto, self.contacts_period
        return self.activities_auto, self.activities_period


TAG_KIND_WHY = {TagKind.PUBLIC: "a public tag, visible to everyone",
                TagKind.CORPORATE: "a corporate tag, shared by the whole company"}


def sync_tag_problem(tag: Tag, user_id: str) -> str:
    """Why ``tag`` cannot be the contacts' sync tag of ``user_id`` ("" when it can). The one
    rule: only a private tag of the user's own; the store, the settings service and a sync run
    all ask this."""
    if tag.kind is not TagKind.PRIVATE:
        return (f"the sync tag must be a private tag of yours (only a private tag can be a "
                f"sync tag: {tag.name!r} is {TAG_KIND_WHY[tag.kind]})")
    if tag.owner_id != user_id:
        return f"the sync tag must be a private tag of yours ({tag.name!r} is a private tag " \
               "of another user)"
    return ""


@dataclass(slots=True)
class SyncLink(_Entity):
    """A linked pair: a local record and a remote one, with the values both sides agreed on."""

    user_id: str
    kind: SyncKind
    local_id: str
    remote_id: str
    etag: str = ""
    base: dict[str, Any] = field(default_factory=dict)
    remote: dict[str, Any] = field(default_factory=dict)  # the remote record as last read
    synced: datetime = field(default_factory=utcnow)
    remote_updated: datetime | None = None  # the remote record's update time as last read
    # or written: a listed version older than this is not applied (Google's listings lag)

    def __post_init__(self) -> None:
        self.user_id = check_id("user_id", self.user_id)
        self.kind = check_enum("kind", SyncKind, self.kind)
        self.remote_updated = _opt_dt("remote_updated", self.remote_updated)
        self.local_id = check_id("local_id", self.local_id)
        self.remote_id = clean_text("remote_id", self.remote_id, 1024, required=True)
        self.etag = clean_text("etag", self.etag, 1024)
        if not isinstance(self.base, dict):
            raise ValidationError("base", "must be an object", self.base)
        if not isinstance(self.remote, dict):
            raise ValidationError("remote", "must be an object", self.remote)
        self.synced = check_aware("synced", self.synced)


@dataclass(slots=True)
class Conflict(_Entity):
    """A field changed on both sides: ``lost`` was overwritten by ``kept``."""

    record_id: str
    field_name: str
    kept: Any
    lost: Any
    winner: str  # "crm" or "google"
    at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.record_id = check_id("record_id", self.record_id)
        self.field_name = clean_text("field_name", self.field_name, 100, required=True)
        self.winner = check_choice("winner", self.winner, ("crm", "google"))
        self.at = check_aware("at", self.at)


@dataclass(slots=True)
class SyncRun(_Entity):
    """One sync session in the journal."""

    user_id: str
    kind: SyncKind
    started: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    status: str = "running"  # running, ok, failed, stopped
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    id: str = field(default_factory=new_id)

    _nested = {"conflicts": Conflict}

    def __post_init__(self) -> None:
        self.user_id = check_id("user_id", self.user_id)
        self.kind = check_enum("kind", SyncKind, self.kind)
        self.started = check_aware("started", self.started)
        self.finished = _opt_dt("finished", self.finished)
        self.status = check_choice("status", self.status, ("running", "ok", "failed", "stopped"))
        if not isinstance(self.counts, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in self.counts.values()):
            raise ValidationError("counts", "must map names to whole numbers", self.counts)
        self.errors = [str(e)[:2000] for e in self.errors]
        self.conflicts = [_coerce(c, Conflict) for c in self.conflicts]
        self.id = check_id("id", self.id)
