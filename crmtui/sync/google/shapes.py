"""Is a record Google sent what the API promises? :func:`check_person` and :func:`check_event`
raise :class:`Malformed`, saying which field is wrong and how, for a Person or an Event crmtui
cannot read: a string where a list is, a list where an object is, a null where a string is, a
date that is no date (a birthday with month 13, an instant without its UTC offset), an event
that is not cancelled and whose start has neither ``date`` nor ``dateTime``...

Only the fields crmtui reads are checked (the rest are kept as they are, never looked at). The
adapters skip such a record and name it in ``Listing.malformed`` / ``Found.malformed``, so the
sync core reports it and reads it again next run, while the other records sync.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

Check = Callable[[Any, str], None]


class Malformed(ValueError):
    """A record whose fields are not what the API promises; the message says which and how."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong(where: str, value: Any, wanted: str) -> Malformed:
    return Malformed(f"{where} is {_kind(value)}, not {wanted}")


def string(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise _wrong(where, value, "a string")


def boolean(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise _wrong(where, value, "a boolean")


def integer(value: Any, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong(where, value, "a whole number")


def timestamp(value: Any, where: str) -> None:
    """An RFC 3339 instant with its UTC offset (``Z`` or ``+hh:mm``)."""
    string(value, where)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"{where} {value!r} is not a date and time") from None
    if moment.tzinfo is None:
        raise Malformed(f"{where} {value!r} has no UTC offset")


def day(value: Any, where: str) -> None:
    """A ``YYYY-MM-DD`` date."""
    string(value, where)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Malformed(f"{where} {value!r} is not a date") from None


def obj(fields: Mapping[str, Check]) -> Check:
    """An object whose keys in ``fields``, when present, pass their checks."""
    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _wrong(where, value, "an object")
        for key, inner in fields.items():
            if key in value:
                inner(value[key], f"{where}.{key}" if where else key)
    return check


def items(inner: Check) -> Check:
    """A list whose items pass ``inner``."""
    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise _wrong(where, value, "a list")
        for i, item in enumerate(value):
            inner(item, f"{where}[{i}]")
    return check


def map_of(inner: Check) -> Check:
    """An object whose every value passes ``inner``."""
    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _wrong(where, value, "an object")
        for key, item in value.items():
            inner(item, f"{where}.{key}")
    return check


# --------------------------------------------------------------------------- a Person


def _birthday_date(value: Any, where: str) -> None:
    """Google's Date: a full date, a yearless one (year 0 or absent), a year alone or a year
    and month (day 0 or absent)."""
    obj({"year": integer, "month": integer, "day": integer})(value, where)
    year, month, mday = (int(value.get(k) or 0) for k in ("year", "month", "day"))
    if not 0 <= year <= 9999:
        raise Malformed(f"birthday year {year}")
    if not 0 <= month <= 12:
        raise Malformed(f"birthday month {month}")
    if mday and not month:
        raise Malformed(f"birthday day {mday} without a month")
    if mday and not 1 <= mday <= calendar.monthrange(year or 2000, month)[1]:
        raise Malformed(f"birthday day {mday} of month {month}"
                        + (f" in {year}" if year else ""))


_ITEM_METADATA = obj({"primary": boolean})
_TYPED = obj({"value": string, "type": string, "metadata": _ITEM_METADATA})
_PERSON_FIELDS: dict[str, Check] = {
    "resourceName": string,
    "etag": string,
    "names": items(obj({"givenName": string, "middleName": string, "familyName": string,
                        "metadata": _ITEM_METADATA})),
    "organizations": items(obj({"name": string, "title": string,
                                "metadata": _ITEM_METADATA})),
    "biographies": items(obj({"value": string, "metadata": _ITEM_METADATA})),
    "emailAddresses": items(_TYPED),
    "phoneNumbers": items(_TYPED),
    "addresses": items(obj({"type": string, "streetAddress": string, "city": string,
                            "region": string, "postalCode": string, "country": string,
                            "metadata": _ITEM_METADATA})),
    "birthdays": items(obj({"date": _birthday_date, "text": string,
                            "metadata": _ITEM_METADATA})),
    "memberships": items(obj({"contactGroupMembership": obj(
        {"contactGroupResourceName": string})})),
    "clientData": items(obj({"key": string, "value": string})),
}
_PERSON_METADATA = obj({"deleted": boolean,
                        "sources": items(obj({"type": string, "updateTime": timestamp,
                                              "etag": string}))})


def person_name(person: Any) -> str:
    """A Person's resource name ("" when it has none that can be read)."""
    name = person.get("resourceName") if isinstance(person, dict) else None
    return name if isinstance(name, str) else ""


def check_person(person: Any) -> None:
    """Raise :class:`Malformed` unless every Person field crmtui reads is as the API promises
    (a tombstone, ``metadata.deleted``, needs only its resource name and metadata)."""
    if not isinstance(person, dict):
        raise Malformed(f"the contact is {_kind(person)}, not an object")
    if not person_name(person).startswith("people/"):
        raise Malformed("the contact has no resource name")
    obj({"metadata": _PERSON_METADATA, "etag": string})(person, "")
    if (person.get("metadata") or {}).get("deleted"):
        return
    obj(_PERSON_FIELDS)(person, "")


# --------------------------------------------------------------------------- an Event


def _event_time(value: Any, where: str) -> None:
    obj({"date": day, "dateTime": timestamp, "timeZone": string})(value, where)


_EVENT_FIELDS: dict[str, Check] = {
    "etag": string, "status": string, "iCalUID": string, "recurringEventId": string,
    "summary": string, "description": string, "location": string, "updated": timestamp,
    "start": _event_time, "end": _event_time, "originalStartTime": _event_time,
    "recurrence": items(string),
    "attendees": items(obj({"email": string, "responseStatus": string, "organizer": boolean,
                            "self": boolean})),
    "organizer": obj({"email": string, "self": boolean}),
    "extendedProperties": obj({"private": map_of(string), "shared": map_of(string)}),
}


def event_name(event: Any) -> str:
    """An Event's id ("" when it has none that can be read)."""
    name = event.get("id") if isinstance(event, dict) else None
    return name if isinstance(name, str) else ""


def check_event(event: Any, *, whole: bool = True) -> None:
    """Raise :class:`Malformed` unless every Event field crmtui reads is as the API promises;
    ``whole`` (an event as Google lists it): one that is not cancelled has a start with a
    ``date`` or a ``dateTime``."""
    if not isinstance(event, dict):
        raise Malformed(f"the event is {_kind(event)}, not an object")
    if not event_name(event):
        raise Malformed("the event has no id")
    obj(_EVENT_FIELDS)(event, "")
    if not whole or event.get("status") == "cancelled":
        return
    start = event.get("start")
    if not start or not (start.get("date") or start.get("dateTime")):
        raise Malformed("its start has neither a date nor a date and time")
