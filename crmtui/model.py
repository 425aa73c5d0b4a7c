"""Domain model of crmtui: plain dataclasses with validation and no I/O.

Every entity validates itself on construction: names are trimmed, lengths are bounded, emails are
checked, timestamps must be timezone-aware. Invalid data raises :class:`ValidationError`, which
names the field and the value's problem.

Each entity converts to and from a JSON-compatible dict (``to_dict`` / ``from_dict``); that dict is
the storage format and the JSON export format (see README, "JSON schema").
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

# Bounds on text lengths (characters).
MAX_NAME = 200
MAX_TITLE = 500
MAX_SHORT = 200
MAX_LOCATION = 1000
MAX_NOTES = 20_000
MAX_VALUE = 320  # an email address can be 320 characters long
MAX_ITEMS = 50  # emails, phones, addresses, tags on a contact; participants on an activity

SYNC_PERIODS = (1, 5, 10, 15, 30, 60)
DEFAULT_SYNC_PERIOD = 60
DEFAULT_GROUP_NAME = "crmtui"


class ValidationError(ValueError):
    """Invalid data: ``field`` names what is wrong and ``problem`` says why."""

    def __init__(self, field: str, problem: str, value: Any = None) -> None:
        self.field = field
        self.problem = problem
        self.value = value
        shown = "" if value is None else f" (got {_preview(value)})"
        super().__init__(f"{field}: {problem}{shown}")


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- enumerations


class TagKind(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"
    CORPORATE = "corporate"


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


class AccountState(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"


class SyncKind(StrEnum):
    CONTACTS = "contacts"
    ACTIVITIES = "activities"


# Types of emails, phones and addresses ("typed values").
EMAIL_TYPES = ("work", "home", "other")
PHONE_TYPES = ("work", "home", "mobile", "main", "fax", "other")
ADDRESS_TYPES = ("work", "home", "other")


# --------------------------------------------------------------------------- helpers


def new_id() -> str:
    """A new random identifier (32 hex digits)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` for searching and sorting."""
    if text.isascii():  # the common case, ten times faster: nothing to decompose
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def clean_text(name: str, value: Any, max_len: int, *, required: bool = False,
               multiline: bool = False) -> str:
    """Trim ``value`` and check it is text of at most ``max_len`` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(name, "must be text", value)
    text = value.strip()
    if not multiline:
        text = " ".join(text.split())
    if required and not text:
        raise ValidationError(name, "must not be empty")
    if len(text) > max_len:
        raise ValidationError(name, f"is {len(text)} characters long, at most {max_len} allowed")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise ValidationError(name, "contains control characters", value)
    return text


_TRUSTED: ContextVar[bool] = ContextVar("crmtui_trusted_data", default=False)


@contextmanager
def trusted_data() -> Iterator[None]:
    """Within this block, email syntax is not checked again.

    For records the store validated when they were written: checking an address's syntax is
    most of the cost of reading a contact, and listing 100,000 contacts would spend seconds on
    it. Every other check still runs."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def check_email(name: str, value: Any) -> str:
    """Validate an email address's syntax and return it trimmed (domain lowercased)."""
    text = clean_text(name, value, MAX_VALUE, required=True)
    if _TRUSTED.get():
        return text
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(name, f"is not a valid email address: {exc}", text) from None
    return result.normalized


_PHONE_RE = re.compile(r"^\+?[0-9 ()./\-]{3,40}(?:\s*(?:x|ext\.?)\s*[0-9]{1,10})?$", re.I)


def check_phone(name: str, value: Any) -> str:
    text = clean_text(name, value, 60, required=True)
    if not _PHONE_RE.match(text) or sum(ch.isdigit() for ch in text) < 3:
        raise ValidationError(
            name, "is not a phone number (digits, spaces, + ( ) . / - and an extension)", text)
    return text


def check_aware(name: str, value: Any) -> datetime:
    if isinstance(value, str):
        value = parse_datetime(name, value)
    if not isinstance(value, datetime):
        raise ValidationError(name, "must be a date and time", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "must carry a time zone (naive date and time)", value.isoformat())
    return value


def parse_datetime(name: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(name, "is not an ISO 8601 date and time", text) from None


def parse_date(name: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise ValidationError(name, "must be a date without a time", value.isoformat())
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValidationError(name, "must be a date (YYYY-MM-DD)", value)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(name, "is not a date (YYYY-MM-DD)", value) from None


def check_zone(name: str, value: Any) -> str:
    text = clean_text(name, value, 64)
    if not text:
        return ""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(name, "is not a known IANA time zone", text) from None
    return text


def check_enum(name: str, enum: type[E], value: Any) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValidationError(name, f"must be one of {allowed}", value) from None


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    text = clean_text(name, value, 40).lower()
    if text not in choices:
        raise ValidationError(name, f"must be one of {', '.join(choices)}", value)
    return text


def check_id(name: str, value: Any, *, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise ValidationError(name, "is required")
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,100}", value):
        raise ValidationError(name, "is not a valid identifier", value)
    return value


def _dt_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _date_out(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _opt_dt(name: str, value: Any) -> datetime | None:
    return None if value in (None, "") else check_aware(name, value)


def _opt_date(name: str, value: Any) -> date | None:
    return None if value in (None, "") else parse_date(name, value)


def _check_list(name: str, value: Any, max_items: int | None = MAX_ITEMS) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(name, "must be a list", value)
    items = list(value)
    if max_items is not None and len(items) > max_items:
        raise ValidationError(name, f"has {len(items)} entries, at most {max_items} allowed")
    return items


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls``; unknown keys are refused."""
    if not isinstance(data, Mapping):
        raise ValidationError(cls.__name__.lower(), "must be an object", data)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValidationError(cls.__name__.lower(), f"unknown field(s): {', '.join(unknown)}")
    return dict(data)


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True, slots=True)
class Email:
    value: str
    type: str = "work"
    primary: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_email("email", self.value))
        object.__setattr__(self, "type", check_choice("email type", self.type or "other", EMAIL_TYPES))
        object.__setattr__(self, "primary", bool(self.primary))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "type": self.type, "primary": self.primary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Email:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class Phone:
    value: str
    type: str = "work"
    primary: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_phone("phone", self.value))
        object.__setattr__(self, "type", check_choice("phone type", self.type or "other", PHONE_TYPES))
        object.__setattr__(self, "primary", bool(self.primary))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "type": self.type, "primary": self.primary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Phone:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class Address:
    type: str = "work"
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    primary: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", check_choice("address type", self.type or "other",
                                                      ADDRESS_TYPES))
        object.__setattr__(self, "street", clean_text("address street", self.street, MAX_SHORT,
                                                      multiline=True))
        for name in ("city", "region", "postal_code", "country"):
            object.__setattr__(self, name, clean_text(f"address {name.replace('_', ' ')}",
                                                      getattr(self, name), MAX_SHORT))
        object.__setattr__(self, "primary", bool(self.primary))
        if not any((self.street, self.city, self.region, self.postal_code, self.country)):
            raise ValidationError("address", "is empty")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Address:
        return cls(**_known(cls, data))

    def one_line(self) -> str:
        return ", ".join(p for p in (self.street.replace("\n", ", "), self.postal_code, self.city,
                                     self.region, self.country) if p)


# --------------------------------------------------------------------------- entities


class _Entity:
    """Shared conversion of entity dataclasses to and from dicts."""

    _nested: dict[str, Any] = {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = _to_json(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        values = _known(cls, data)
        for name, item_cls in cls._nested.items():
            if name in values and values[name] is not None:
                values[name] = [item if isinstance(item, item_cls) else item_cls.from_dict(item)
                                # each entity bounds its own lists (a run's conflicts
                                # are capped by the store, not at MAX_ITEMS)
                                for item in _check_list(name, values[name], None)]
        return cls(**values)

    def evolve(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)  # type: ignore[type-var]


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


@dataclass(slots=True)
class User(_Entity):
    """A CRM user. ``contact_id`` is the user's own contact, whose emails are the user's."""

    name: str
    email: str
    contact_id: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.name = clean_text("name", self.name, MAX_NAME, required=True)
        self.email = check_email("email", self.email)
        self.contact_id = check_id("contact_id", self.contact_id, required=False)
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)


@dataclass(slots=True)
class Tag(_Entity):
    """A tag. A private tag has an owner (a user id) and only that user sees it."""

    name: str
    kind: TagKind = TagKind.PUBLIC
    owner_id: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.name = clean_text("tag name", self.name, 100, required=True)
        self.kind = check_enum("tag kind", TagKind, self.kind)
        self.owner_id = check_id("tag owner", self.owner_id, required=False)
        if self.kind is TagKind.PRIVATE and not self.owner_id:
            raise ValidationError("tag owner", "a private tag must have an owner")
        if self.kind is not TagKind.PRIVATE and self.owner_id:
            raise ValidationError("tag owner", f"a {self.kind.value} tag has no owner")
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)

    def visible_to(self, user_id: str | None) -> bool:
        return self.kind is not TagKind.PRIVATE or self.owner_id == user_id


@dataclass(slots=True)
class Contact(_Entity):
    given_name: str = ""
    family_name: str = ""
    middle_name: str = ""
    job_title: str = ""
    company: str = ""
    emails: list[Email] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    birthday: date | None = None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    owner_id: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)

    _nested = {"emails": Email, "phones": Phone, "addresses": Address}

    def __post_init__(self) -> None:
        self.given_name = clean_text("given_name", self.given_name, MAX_NAME)
        self.family_name = clean_text("family_name", self.family_name, MAX_NAME)
        self.middle_name = clean_text("middle_name", self.middle_name, MAX_NAME)
        self.job_title = clean_text("job_title", self.job_title, MAX_SHORT)
        self.company = clean_text("company", self.company, MAX_SHORT)
        if not (self.given_name or self.family_name or self.company or self.emails):
            raise ValidationError("name", "a contact needs a name, a company or an email")
        self.emails = [_coerce(e, Email) for e in _check_list("emails", self.emails)]
        self.phones = [_coerce(p, Phone) for p in _check_list("phones", self.phones)]
        self.addresses = [_coerce(a, Address) for a in _check_list("addresses", self.addresses)]
        seen: set[str] = set()
        for email in self.emails:
            key = email.value.casefold()
            if key in seen:
                raise ValidationError("emails", "the same address is listed twice", email.value)
            seen.add(key)
        self.birthday = _opt_date("birthday", self.birthday)
        self.notes = clean_text("notes", self.notes, MAX_NOTES, multiline=True)
        self.tags = list(dict.fromkeys(check_id("tags", t) for t in _check_list("tags", self.tags)))
        self.owner_id = check_id("owner_id", self.owner_id, required=False)
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)
        self.modified = check_aware("modified", self.modified)

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.given_name, self.middle_name, self.family_name) if p)
        return name or self.company or (self.emails[0].value if self.emails else "")

    @property
    def primary_email(self) -> str:
        for email in self.emails:
            if email.primary:
                return email.value
        return self.emails[0].value if self.emails else ""

    @property
    def primary_phone(self) -> str:
        for phone in self.phones:
            if phone.primary:
                return phone.value
        return self.phones[0].value if self.phones else ""


def _coerce(item: Any, cls: type[T]) -> T:
    if isinstance(item, cls):
        return item
    if isinstance(item, Mapping):
        return cls.from_dict(item)  # type: ignore[attr-defined]
    if isinstance(item, str) and cls in (Email, Phone):
        return cls(item)  # type: ignore[call-arg]
    raise ValidationError(cls.__name__.lower(), "must be an object", item)


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

    def involves(self, user_id: str) -> bool:
        return self.organizer_id == user_id or any(
            p.kind is ParticipantKind.USER and p.ref_id == user_id for p in self.participants)


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

    def __post_init__(self) -> None:
        self.user_id = check_id("user_id", self.user_id)
        self.contacts_auto = bool(self.contacts_auto)
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

    def __post_init__(self) -> None:
        self.user_id = check_id("user_id", self.user_id)
        self.kind = check_enum("kind", SyncKind, self.kind)
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
