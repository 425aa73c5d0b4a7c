"""Calendar API v3: limits, the errors Google answers, times and recurrence rules, and the
Event resource's cleaning, merging and rendering."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from crmtui.emulator.errors import ApiError, calendar_error
from crmtui.emulator.http import Request
from crmtui.emulator.state import (
    parse_rfc3339,
)

API = "/calendar/v3"
CONTROL = "/__emulator/accounts/(?P<email>[^/]+)/events"
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
CLIENT_ID = re.compile(r"[a-v0-9]{5,1024}")
DEFAULT_MAX_RESULTS = 250
MAX_RESULTS = 2500
SYNC_TOKEN_LIFETIME = 30 * 86400.0
EXPANSION_HORIZON = timedelta(days=730)
MAX_INSTANCES = 10_000
CALENDAR_TIME_ZONE = "UTC"
FORBIDDEN_WITH_SYNC = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                       "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")
IGNORED_PARAMS = frozenset({"pageToken", "alt", "prettyPrint", "fields", "quotaUser", "key",
                            "userIp", "$.xgafv", "access_token", "oauth_token", "maxResults"})
WRITABLE = frozenset({
    "summary", "description", "location", "colorId", "start", "end", "endTimeUnspecified",
    "recurrence", "attendees", "extendedProperties", "reminders", "status", "transparency",
    "visibility", "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests",
    "anyoneCanAddSelf", "source", "attachments", "conferenceData", "eventType", "gadget",
    "focusTimeProperties", "outOfOfficeProperties", "workingLocationProperties",
    "birthdayProperties", "hangoutLink", "locked", "privateCopy", "attendeesOmitted",
    "eventLabelId"})
KEPT_ON_UPDATE = ("id", "created", "creator", "organizer", "iCalUID", "htmlLink",
                  "recurringEventId", "originalStartTime", "sequence", "eventType")
PER_COPY = ("reminders", "colorId")  # besides extendedProperties.private
SEQUENCE_FIELDS = ("start", "end", "recurrence", "location")
STATUSES = ("confirmed", "tentative", "cancelled")
RESPONSES = ("needsAction", "declined", "tentative", "accepted")
ORDER = ("kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary",
         "description", "location", "colorId", "creator", "organizer", "start", "end",
         "endTimeUnspecified", "recurrence", "recurringEventId", "originalStartTime",
         "transparency", "visibility", "iCalUID", "sequence", "attendees", "extendedProperties",
         "reminders", "eventType")

Event = dict[str, Any]


# -- errors ------------------------------------------------------------------------------------

def _invalid(message: str, location: str | None = None) -> ApiError:
    return calendar_error(400, "invalid", message, location=location)


def _required(message: str) -> ApiError:
    return calendar_error(400, "required", message)


def _full_sync_required() -> ApiError:
    return calendar_error(410, "fullSyncRequired",
                          "Sync token is no longer valid, a full sync is required.",
                          domain="calendar", location="syncToken")


def _time_range_empty(location: str | None = None) -> ApiError:
    return calendar_error(400, "timeRangeEmpty", "The specified time range is empty.",
                          domain="calendar", location=location)


# -- times and recurrence ----------------------------------------------------------------------

def _fmt(moment: datetime) -> str:
    """A dateTime as Google writes it: the offset of the event's zone, ``Z`` for UTC."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _zone(name: str, which: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(f"Invalid time zone definition for {which} time.") from None


def _moment(edt: dict[str, Any], which: str) -> datetime | date:
    """The start or end of an event: an aware datetime, or a date for all-day events."""
    if "date" in edt and edt["date"] is not None:
        try:
            return date.fromisoformat(str(edt["date"]))
        except ValueError:
            raise _invalid(f"Invalid {which} time.") from None
    text = edt.get("dateTime")
    if not isinstance(text, str):
        raise _required(f"Missing {which} time.")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"Invalid {which} time.") from None
    zone = edt.get("timeZone")
    if zone is not None:
        tz = _zone(str(zone), which)
        value = value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    elif value.tzinfo is None:
        raise _invalid(f"Missing time zone definition for {which} time.")
    return value


def _instant(value: datetime | date) -> datetime:
    """An instant for comparisons; a date is its midnight in the calendar's zone (UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), UTC)


def _sort_time(value: datetime | date) -> str:
    return _instant(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _span(ev: Event) -> tuple[datetime, datetime]:
    return (_instant(_moment(ev["start"], "start")), _instant(_moment(ev["end"], "end")))


def _check_times(ev: Event) -> None:
    """Google's validation of ``start`` and ``end``; a ``dateTime`` is then written with the
    offset of its ``timeZone``, or of the calendar's zone (UTC) without one, as Google does."""
    start, end = ev.get("start"), ev.get("end")
    if not isinstance(start, dict) or not start:
        raise _required("Missing start time.")
    if not isinstance(end, dict) or not end:
        raise _required("Missing end time.")
    begin, finish = _moment(start, "start"), _moment(end, "end")
    if isinstance(begin, datetime) != isinstance(finish, datetime):
        raise _invalid("Start and end times must either both be date or both be dateTime.")
    if finish < begin or (not isinstance(begin, datetime) and finish == begin):
        raise _time_range_empty()
    if ev.get("recurrence"):
        if isinstance(begin, datetime) and "timeZone" not in start:
            raise _invalid("Missing time zone definition for start time.")
        try:
            _rules(ev)
        except (ValueError, TypeError):
            raise _invalid("Invalid recurrence rule.") from None
    for edt, moment in ((start, begin), (end, finish)):
        if isinstance(moment, datetime):
            edt["dateTime"] = _fmt(moment if "timeZone" in edt else moment.astimezone(UTC))


def _rule_line(line: str, zone: ZoneInfo | None) -> str:
    """A recurrence line dateutil accepts: UNTIL, EXDATE and RDATE times in UTC (floating ones
    are in the event's zone); for all-day events, floating dates."""
    if zone is None:  # all-day: dates and floating times
        return re.sub(r"(UNTIL=\d{8}(?:T\d{6})?)Z", r"\1", line)
    name, _, value = line.partition(":")
    kind, *params = name.split(";")
    kind = kind.upper()
    if kind in ("EXDATE", "RDATE") and "VALUE=DATE" not in name.upper():
        tzid = next((p[5:] for p in params if p.upper().startswith("TZID=")), None)
        source = _zone(tzid, "start") if tzid else zone
        utc = [v if v.endswith("Z") else datetime.strptime(v, "%Y%m%dT%H%M%S").replace(
            tzinfo=source).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") for v in value.split(",")]
        return f"{kind}:{','.join(utc)}"
    if kind in ("RRULE", "EXRULE"):
        def until(m: re.Match[str]) -> str:
            text = m.group(1)
            local = (datetime.strptime(text, "%Y%m%dT%H%M%S") if "T" in text else
                     datetime.combine(datetime.strptime(text, "%Y%m%d").date(), time(23, 59, 59)))
            utc = local.replace(tzinfo=zone).astimezone(UTC)
            return "UNTIL=" + utc.strftime("%Y%m%dT%H%M%SZ")
        return re.sub(r"UNTIL=(\d{8}(?:T\d{6})?)(?![\dTZ])", until, line)
    return line


def _rules(ev: Event) -> Any:
    """The event's recurrence as a dateutil ``rruleset`` starting at its start."""
    start = _moment(ev["start"], "start")
    zone = start.tzinfo if isinstance(start, datetime) else None
    dtstart = start if isinstance(start, datetime) else datetime.combine(start, time())
    lines = [_rule_line(str(line), zone if isinstance(zone, ZoneInfo) else None)
             for line in ev.get("recurrence") or []]
    return rrulestr("\n".join(lines), dtstart=dtstart, forceset=True)


def _occurrences(ev: Event, until: datetime) -> Iterator[datetime | date]:
    """Original starts of the series' instances starting before ``until``."""
    all_day = "date" in ev["start"] and ev["start"]["date"] is not None
    for occ in islice(_rules(ev), MAX_INSTANCES):
        if _instant(occ) >= until:
            return
        yield occ.date() if all_day else occ


def _suffix(occ: datetime | date) -> str:
    if isinstance(occ, datetime):
        return occ.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return occ.strftime("%Y%m%d")


def _edt(value: datetime | date, zone: str | None) -> dict[str, Any]:
    if isinstance(value, datetime):
        out: dict[str, Any] = {"dateTime": _fmt(value)}
        if zone is not None:
            out["timeZone"] = zone
        return out
    return {"date": value.isoformat()}


# -- small helpers -----------------------------------------------------------------------------

def _bool(value: str | None) -> bool:
    return value is not None and value.lower() == "true"


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Patch semantics: objects merge, arrays and scalars replace, ``null`` removes."""
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _public(ev: Event) -> Event:
    """What a copy shows, without what changes on every write."""
    return {k: v for k, v in ev.items() if not k.startswith("_") and k not in ("etag", "updated")}


def _private(ev: Event) -> dict[str, str] | None:
    return (ev.get("extendedProperties") or {}).get("private")


def _with_private(ev: Event, private: dict[str, str] | None) -> None:
    props = dict(ev.get("extendedProperties") or {})
    props.pop("private", None)
    if private:
        props["private"] = private
    if props:
        ev["extendedProperties"] = props
    else:
        ev.pop("extendedProperties", None)


def _body(req: Request) -> dict[str, Any]:
    data = req.json()
    if not isinstance(data, dict):
        raise calendar_error(400, "parseError", "Parse Error")
    return data


def _clean(body: dict[str, Any]) -> Event:
    """The writable fields of a request body, type-checked as Google's JSON parser does."""
    ev = {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE}
    for key in ("start", "end", "reminders", "extendedProperties", "conferenceData", "source"):
        if ev.get(key) is not None and not isinstance(ev[key], dict):
            raise _invalid(f"Invalid value for: {key}")
    for key in ("recurrence", "attendees", "attachments"):
        if ev.get(key) is not None and not isinstance(ev[key], list):
            raise _invalid(f"Invalid value for: {key}")
    for line in ev.get("recurrence") or []:
        if not isinstance(line, str):
            raise _invalid("Invalid recurrence rule.")
    for scope, props in (ev.get("extendedProperties") or {}).items():
        if scope not in ("private", "shared") or (props is not None and not isinstance(props, dict)):
            raise _invalid("Invalid value for: extendedProperties")
        for value in (props or {}).values():
            if value is not None and not isinstance(value, str):
                raise _invalid("Invalid value for: extendedProperties")
    if ev.get("status") is not None and ev["status"] not in STATUSES:
        raise _invalid("Invalid value for: status")
    return ev


def _finish(ev: Event) -> None:
    """Drop nulls left in extended properties; empty maps disappear."""
    props = ev.get("extendedProperties")
    if isinstance(props, dict):
        cleaned = {scope: {k: v for k, v in (values or {}).items() if v is not None}
                   for scope, values in props.items()}
        cleaned = {scope: values for scope, values in cleaned.items() if values}
        if cleaned:
            ev["extendedProperties"] = cleaned
        else:
            ev.pop("extendedProperties", None)
    for key in [k for k, v in ev.items() if v is None]:
        del ev[key]


def _attendees(ev: Event, previous: list[dict[str, Any]] | None) -> None:
    """Attendee entries as Google keeps them: lower-case emails, ``responseStatus`` kept or
    ``needsAction``, ``organizer: true`` on the organizer's own entry."""
    if "attendees" not in ev:
        return
    before = {a.get("email"): a for a in previous or []}
    organizer = ev["organizer"]["email"]
    out = []
    for raw in ev["attendees"] or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("email"), str) or not raw["email"]:
            raise _required("Missing attendee email.")
        entry = {k: v for k, v in raw.items() if k not in ("self", "organizer") and v is not None}
        entry["email"] = raw["email"].strip().lower()
        if entry.get("displayName", "").lower() == entry["email"]:
            del entry["displayName"]
        if entry["email"] == organizer:
            entry["organizer"] = True
        status = entry.get("responseStatus") or before.get(entry["email"], {}).get(
            "responseStatus", "needsAction")
        if status not in RESPONSES:
            raise _invalid("Invalid value for: attendees.responseStatus")
        entry["responseStatus"] = status
        out.append(entry)
    if out:
        ev["attendees"] = out
    else:
        ev.pop("attendees", None)


def _render(ev: Event, owner: str) -> Event:
    """The event as the owner of the calendar sees it (``self`` flags, Google's key order)."""
    out = {k: copy.deepcopy(v) for k, v in ev.items() if not k.startswith("_")}
    out["kind"] = "calendar#event"
    for key in ("organizer", "creator"):
        if isinstance(out.get(key), dict) and out[key].get("email") == owner:
            out[key]["self"] = True
    for entry in out.get("attendees") or []:
        if entry.get("email") == owner:
            entry["self"] = True
    rank = {k: i for i, k in enumerate(ORDER)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(ORDER))))


def _tombstone(ev: Event) -> Event:
    out = {"kind": "calendar#event", "etag": ev["etag"], "id": ev["id"], "status": "cancelled"}
    for key in ("recurringEventId", "originalStartTime"):
        if key in ev:
            out[key] = copy.deepcopy(ev[key])
    return out


def _matches_text(ev: Event, words: list[str]) -> bool:
    fields = [ev.get("summary"), ev.get("description"), ev.get("location")]
    for entry in ev.get("attendees") or []:
        fields += [entry.get("email"), entry.get("displayName")]
    fields.append((ev.get("organizer") or {}).get("email"))
    text = " ".join(str(f) for f in fields if f).lower()
    return all(word in text for word in words)


def _property_filters(values: list[str], name: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key:
            raise _invalid(f"Invalid value for: {name}", location=name)
        pairs.append((key, wanted))
    return pairs


def _timestamp(req: Request, name: str) -> datetime | None:
    text = req.arg(name)
    if text is None:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise _invalid(f"Bad Request: {name} must be an RFC 3339 timestamp with a time zone "
                       f"offset.", location=name) from None


def _max_results(req: Request, default: int) -> int:
    text = req.arg("maxResults")
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _invalid(f"Invalid value '{text}'. Values must be within the range: [1, "
                       f"{MAX_RESULTS}]", location="maxResults") from None
    if value < 1:
        raise _invalid(f"Invalid value '{text}'. Values must be within the range: [1, "
                       f"{MAX_RESULTS}]", location="maxResults")
    return min(value, MAX_RESULTS)


def _fingerprint(req: Request) -> str:
    items = sorted((k, v) for k, vs in req.query.items() if k not in IGNORED_PARAMS for v in vs)
    return hashlib.sha1(repr((req.path, items)).encode()).hexdigest()[:16]
