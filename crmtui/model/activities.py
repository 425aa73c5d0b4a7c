"""Activities (tasks, calls, meetings, emails) and who takes part in them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from crmtui.model.common import (
    MAX_LOCATION,
    MAX_NOTES,
    MAX_TITLE,
    ValidationError,
    _check_list,
    _coerce,
    _Entity,
    _known,
    _opt_date,
    _opt_dt,
    check_aware,
    check_enum,
    check_id,
    check_zone,
    clean_text,
    new_id,
    parse_date,
    utcnow,
)


class ActivityType(StrEnum):
    TASK = "task"
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"


class ActivityStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ResponseStatus(StrEnum):
    """A participant's answer; the values are Google Calendar's attendee responseStatus."""

    NEEDS_ACTION = "needsAction"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


class ParticipantKind(StrEnum):
    USER = "user"
    CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class Participant:
    """A participant of an activity: a user or a contact, with their response."""

    kind: ParticipantKind
    ref_id: str
    response: ResponseStatus = ResponseStatus.NEEDS_ACTION

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", check_enum("participant kind", ParticipantKind, self.kind))
        object.__setattr__(self, "ref_id", check_id("participant", self.ref_id))
        object.__setattr__(self, "response",
                           check_enum("participant response", ResponseStatus, self.response))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "ref_id": self.ref_id, "response": self.response.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Participant:
        return cls(**_known(cls, data))


def _original_start(value: Any) -> datetime | date | None:
    """An occurrence's original start: a date (all-day series) or an aware date and time."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and len(value.strip()) == 10:
        return parse_date("original_start", value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return check_aware("original_start", value)


@dataclass(slots=True)
class Activity(_Entity):
    """A task, call, meeting or email.

    Timed activities have ``start`` and ``end`` (timezone-aware) and the IANA ``timezone`` they
    were planned in; all-day activities have ``all_day`` set and ``start_date`` / ``end_date``
    (inclusive). ``recurrence`` holds RRULE/EXDATE lines of a series; ``series_id`` links a
    changed occurrence to its series, and ``original_start`` says which occurrence it replaces
    (the start it had in the series: a date for an all-day series). ``ical_uid`` is the
    activity's identity in calendars (iCalendar UID), set once it is in a calendar.
    """

    title: str
    type: ActivityType = ActivityType.TASK
    start: datetime | None = None
    end: datetime | None = None
    timezone: str = ""
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    status: ActivityStatus = ActivityStatus.NOT_STARTED
    priority: Priority = Priority.MEDIUM
    location: str = ""
    notes: str = ""
    owner_id: str = ""
    organizer_id: str = ""
    participants: list[Participant] = field(default_factory=list)
    show_in_calendar: bool = False
    recurrence: list[str] = field(default_factory=list)
    series_id: str = ""
    original_start: datetime | date | None = None
    ical_uid: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    modified_by: str = ""  # the user who changed it last ("": unknown, or from before)

    _nested = {"participants": Participant}

    def __post_init__(self) -> None:
        self.title = clean_text("title", self.title, MAX_TITLE, required=True)
        self.type = check_enum("type", ActivityType, self.type)
        self.status = check_enum("status", ActivityStatus, self.status)
        self.priority = check_enum("priority", Priority, self.priority)
        self.location = clean_text("location", self.location, MAX_LOCATION)
        self.notes = clean_text("notes", self.notes, MAX_NOTES, multiline=True)
        self.owner_id = check_id("owner_id", self.owner_id, required=False)
        self.organizer_id = check_id("organizer_id", self.organizer_id, required=False)
        self.series_id = check_id("series_id", self.series_id, required=False)
        self.timezone = check_zone("timezone", self.timezone)
        self.all_day = bool(self.all_day)
        self.show_in_calendar = bool(self.show_in_calendar)
        if self.all_day:
            if self.start is not None or self.end is not None:
                raise ValidationError("start", "an all-day activity has dates, not times")
            self.start_date = _opt_date("start_date", self.start_date)
            self.end_date = _opt_date("end_date", self.end_date)
            if self.start_date is None:
                raise ValidationError("start_date", "an all-day activity needs a start date")
            if self.end_date is None:
                self.end_date = self.start_date
            if self.end_date < self.start_date:
                raise ValidationError("end_date", "is before the start date",
                                      self.end_date.isoformat())
        else:
            if self.start_date is not None or self.end_date is not None:
                raise ValidationError("start_date", "only an all-day activity has dates")
            self.start = _opt_dt("start", self.start)
            self.end = _opt_dt("end", self.end)
            if self.end is not None and self.start is None:
                raise ValidationError("start", "an activity with an end needs a start")
            if self.start is not None and self.end is not None and self.end < self.start:
                raise ValidationError("end", "is before the start", self.end.isoformat())
            if self.start is not None and self.timezone:
                self.start = self.start.astimezone(ZoneInfo(self.timezone))
                if self.end is not None:
                    self.end = self.end.astimezone(ZoneInfo(self.timezone))
        self.participants = [_coerce(p, Participant)
                             for p in _check_list("participants", self.participants)]
        keys = [(p.kind, p.ref_id) for p in self.participants]
        if len(set(keys)) != len(keys):
            raise ValidationError("participants", "the same participant is listed twice")
        self.recurrence = [clean_text("recurrence", r, 1000, required=True)
                           for r in _check_list("recurrence", self.recurrence)]
        for line in self.recurrence:
            if not re.match(r"^(RRULE|EXRULE|RDATE|EXDATE)[:;]", line):
                raise ValidationError("recurrence", "lines must start with RRULE, EXRULE, RDATE or "
                                      "EXDATE", line)
        self.original_start = _original_start(self.original_start)
        if self.original_start is not None and not self.series_id:
            raise ValidationError("original_start", "only an occurrence of a series has one")
        self.ical_uid = clean_text("ical_uid", self.ical_uid, 1024)
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)
        self.modified = check_aware("modified", self.modified)
        self.modified_by = check_id("modified_by", self.modified_by, required=False)

    @property
    def is_collective(self) -> bool:
        return len(self.participants) > 1

    def starts_on(self) -> date | None:
        """The local date the activity starts on."""
        if self.all_day:
            return self.start_date
        return self.start.date() if self.start is not None else None

    def sort_start(self) -> datetime | None:
        """A UTC instant to order activities by (all-day ones at midnight UTC)."""
        if self.all_day and self.start_date is not None:
            return datetime(self.start_date.year, self.start_date.month, self.start_date.day,
                            tzinfo=UTC)
        return self.start.astimezone(UTC) if self.start is not None else None

    def require_organizer(self) -> None:
        """Refuse an activity with no organizer (raises ValidationError): every stored
        activity has one, or it would be in nobody's list and no one's sync."""
        if not self.organizer_id:
            raise ValidationError("organizer_id", "is missing: an activity always has an "
                                  "organizer (a crmtui user)")

    def involves(self, user_id: str) -> bool:
        return self.organizer_id == user_id or any(
            p.kind is ParticipantKind.USER and p.ref_id == user_id for p in self.participants)
