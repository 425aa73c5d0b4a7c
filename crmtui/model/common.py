"""What every part of the domain shares: validation, the conversion of entities to and from dicts.

Invalid data raises :class:`ValidationError`, which names the field and the value's problem. The
``check_*`` helpers validate one value each; :class:`_Entity` gives the entity dataclasses their
``to_dict`` / ``from_dict`` / ``evolve``.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""A control character (Unicode category Cc: U+0000-U+001F and U+007F-U+009F) other than tab
and newline: one regular expression, not a category lookup per character (reading a contact
checks every text it holds)."""


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
    if _CONTROL.search(text):
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
    # Imported when first needed: it takes some 20-30 ms of start-up to load, and the TUI
    # shows its first contacts (read trusted) without it.
    from email_validator import EmailNotValidError, validate_email

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


def _coerce(item: Any, cls: type[T]) -> T:
    """``item`` as a ``cls``: as it is, from its dict, or (for a class marked ``_from_text``,
    an email or a phone) from its text alone."""
    if isinstance(item, cls):
        return item
    if isinstance(item, Mapping):
        return cls.from_dict(item)  # type: ignore[attr-defined]
    if isinstance(item, str) and getattr(cls, "_from_text", False):
        return cls(item)  # type: ignore[call-arg]
    raise ValidationError(cls.__name__.lower(), "must be an object", item)
