"""Calendar API v3: the primary calendar of each account and its events, as Google serves them.

Served under ``/calendar/v3/``: ``calendarList.list/get``, ``calendars.get``, ``events.list``
(sync tokens, ``showDeleted``, ``singleEvents``, ``timeMin``/``timeMax``, extended-property,
``iCalUID`` and ``q`` filters, ``orderBy``, paging), ``events.get/insert/patch/update/delete``,
``events.instances`` and ``events.import``. See the reference on Google's APIs, sections 1.3-1.5, 2
and 4.

Storage: ``account.data["calendar"]["events"]`` maps an event id to the stored copy of the event in
that account's primary calendar: the Event resource as Google returns it, without the ``self`` flags
(added when rendering for the calendar's owner), plus internal keys starting with ``_`` (``_seq``:
the change number that orders the calendar's changes for sync tokens; ``_guests``: the accounts
holding a copy of an organizer's event; ``_dismissed``: a guest removed the event from their
calendar). Nothing is ever hard-deleted: a deleted event is a ``cancelled`` tombstone. A modified or
cancelled instance of a recurring event is stored as an exception whose id is the instance's id.

Shared events: an event whose attendees are accounts of the emulator is copied into each of their
primary calendars under the same id and iCalUID; every write of the organizer reaches the copies
(an attendee removed from the list gets a cancelled copy); an attendee's ``responseStatus`` reaches
the organizer's copy and from there the others. ``extendedProperties.private``, ``reminders`` and
``colorId`` belong to each copy; ``extendedProperties.shared`` only the organizer may change.

Choices where the reference is open (its section 8): ``maxResults`` above 2500 is capped to 2500
(below 1 is a 400); a sync token lives ``sync_token_lifetime`` seconds (30 days), and is also refused
(410 ``fullSyncRequired``) when unparseable, issued for another calendar, or issued before
``/__emulator/sync-tokens/invalidate``, and an ``updatedMin`` further back is a 410
``updatedMinTooLongAgo``; ``syncToken`` with a forbidden parameter or with
``showDeleted=false`` is a 400 ``invalid``; only ``orderBy`` suppresses ``nextSyncToken``; recurring
series without an end are expanded two years past the later of now and their start when no
``timeMax`` bounds them; the calendar's time zone is UTC.

Control routes (no authentication) under ``/__emulator/accounts/{email}/events``: ``GET``
(``?deleted=true`` includes cancelled events), ``POST`` (insert as if made in the Calendar UI),
``PATCH .../{id}`` and ``DELETE .../{id}`` (cancel); they propagate to attendees as the API does.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from crmtui.emulator.control import account_or_404
from crmtui.emulator.errors import ApiError, calendar_error, not_found
from crmtui.emulator.server import Request, Response, Route
from crmtui.emulator.state import (
    CALENDAR_SCOPES,
    Account,
    EmulatorState,
    decode_token,
    encode_token,
    parse_rfc3339,
    rfc3339,
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


class CalendarApi:
    """Google Calendar API v3 for the emulator's accounts."""

    name = "calendar"

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.sync_token_lifetime = SYNC_TOKEN_LIFETIME
        self._last_etag = 0

    # -- module interface ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        def api(method: str, path: str, handler: Any) -> Route:
            return Route(method, API + path, handler, api="calendar", scopes=CALENDAR_SCOPES)

        def ctl(method: str, path: str, handler: Any) -> Route:
            return Route(method, CONTROL + path, handler, api="control", auth=False)

        cal = "/calendars/(?P<cal>[^/]+)"
        one = cal + "/events/(?P<id>[^/]+)"
        return [
            api("GET", "/users/me/calendarList", self.calendar_list),
            api("GET", "/users/me/calendarList/(?P<cal>[^/]+)", self.calendar_list_entry),
            api("GET", cal, self.get_calendar),
            api("GET", cal + "/events", self.list_events),
            api("POST", cal + "/events", self.insert_event),
            api("POST", cal + "/events/import", self.import_event),
            api("GET", one + "/instances", self.list_instances),
            api("GET", one, self.get_event),
            api("PATCH", one, self.patch_event),
            api("PUT", one, self.update_event),
            api("DELETE", one, self.delete_event),
            ctl("GET", "", self.control_list),
            ctl("POST", "", self.control_insert),
            ctl("PATCH", "/(?P<id>[^/]+)", self.control_patch),
            ctl("DELETE", "/(?P<id>[^/]+)", self.control_delete),
        ]

    def new_account(self, account: Account) -> None:
        account.data[self.name] = {"events": {}, "created": rfc3339(self.state.clock.now())}

    def dump(self, account: Account) -> Any:
        data = account.data[self.name]
        return {"created": data["created"], "events": list(data["events"].values())}

    def load(self, account: Account, data: Any) -> None:
        account.data[self.name] = {"created": data["created"],
                                   "events": {ev["id"]: ev for ev in data["events"]}}

    # -- accounts and calendars ------------------------------------------------------------------

    def _events(self, account: Account) -> dict[str, Event]:
        events: dict[str, Event] = account.data[self.name]["events"]
        return events

    def _owner(self, req: Request, key: str = "cal") -> Account:
        """The account whose primary calendar the request names (its own, or ``primary``)."""
        assert req.account is not None
        wanted = req.params[key]
        if wanted == "primary" or wanted.lower() == req.account.email:
            return req.account
        raise not_found("calendar")

    def _list_entry(self, account: Account) -> dict[str, Any]:
        return {"kind": "calendar#calendarListEntry",
                "etag": self._calendar_etag(account), "id": account.email,
                "summary": account.email, "timeZone": CALENDAR_TIME_ZONE, "colorId": "14",
                "backgroundColor": "#9fe1e7", "foregroundColor": "#000000", "selected": True,
                "accessRole": "owner",
                "defaultReminders": [{"method": "popup", "minutes": 10}],
                "notificationSettings": {"notifications": [
                    {"type": "eventCreation", "method": "email"},
                    {"type": "eventChange", "method": "email"},
                    {"type": "eventCancellation", "method": "email"},
                    {"type": "eventResponse", "method": "email"}]},
                "primary": True,
                "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}

    def _calendar_etag(self, account: Account) -> str:
        created = parse_rfc3339(account.data[self.name]["created"])
        return f'"{int(created.timestamp() * 1_000_000) * 2}"'

    def calendar_list(self, req: Request) -> dict[str, Any]:
        assert req.account is not None
        sync = req.arg("syncToken")
        items = [self._list_entry(req.account)]
        if sync is not None:
            self._check_sync_token(sync, req.account, "calendarList")
            items = []  # the primary calendar's entry never changes
        return {"kind": "calendar#calendarList", "etag": self._calendar_etag(req.account),
                "nextSyncToken": self._sync_token(req.account, self.state.seq, "calendarList"),
                "items": items}

    def calendar_list_entry(self, req: Request) -> dict[str, Any]:
        return self._list_entry(self._owner(req))

    def get_calendar(self, req: Request) -> dict[str, Any]:
        account = self._owner(req)
        return {"kind": "calendar#calendar", "etag": self._calendar_etag(account),
                "id": account.email, "summary": account.email, "timeZone": CALENDAR_TIME_ZONE,
                "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}

    # -- sync tokens -----------------------------------------------------------------------------

    def _sync_token(self, account: Account, seq: int, kind: str = "events") -> str:
        return encode_token({"k": kind, "c": account.email, "s": seq, "e": self.state.sync_epoch,
                             "t": round(self.state.clock.time(), 3)})

    def _check_sync_token(self, token: str, account: Account, kind: str = "events") -> int:
        """The change number a sync token was issued at; 410 when it cannot be used."""
        payload = decode_token(token)
        if (payload is None or payload.get("k") != kind or payload.get("c") != account.email
                or payload.get("e") != self.state.sync_epoch
                or not isinstance(payload.get("s"), int) or payload["s"] > self.state.seq
                or not isinstance(payload.get("t"), int | float)
                or self.state.clock.time() - payload["t"] > self.sync_token_lifetime):
            raise _full_sync_required()
        return int(payload["s"])

    # -- finding events --------------------------------------------------------------------------

    def _horizon(self, ev: Event, time_min: datetime | None) -> datetime:
        start = _instant(_moment(ev["start"], "start"))
        return max(self.state.clock.now(), time_min or start, start) + EXPANSION_HORIZON

    def _instances(self, account: Account, master: Event, until: datetime) -> list[Event]:
        """The series' instances starting before ``until``, exceptions in place of their
        instance (cancelled ones included)."""
        events = self._events(account)
        zone = master["start"].get("timeZone")
        start, end = _moment(master["start"], "start"), _moment(master["end"], "end")
        duration = end - start
        out = []
        for occ in _occurrences(master, until):
            iid = f"{master['id']}_{_suffix(occ)}"
            stored = events.get(iid)
            out.append(stored if stored is not None else
                       self._synthesize(master, iid, occ, occ + duration, zone))
        return out

    @staticmethod
    def _synthesize(master: Event, iid: str, occ: datetime | date, end: datetime | date,
                    zone: str | None) -> Event:
        inst = {k: copy.deepcopy(v) for k, v in master.items()
                if k not in ("recurrence", "_guests", "_dismissed")}
        inst.update(id=iid, recurringEventId=master["id"], originalStartTime=_edt(occ, zone),
                    start=_edt(occ, zone), end=_edt(end, zone))
        return inst

    def _find(self, account: Account, event_id: str) -> Event | None:
        """A stored event, or an unmodified instance of a stored recurring event."""
        events = self._events(account)
        if event_id in events:
            return events[event_id]
        series, sep, suffix = event_id.rpartition("_")
        master = events.get(series) if sep else None
        if master is None or not master.get("recurrence"):
            return None
        try:
            when = (datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                    if "T" in suffix else _instant(datetime.strptime(suffix, "%Y%m%d")))
        except ValueError:
            return None
        for inst in self._instances(account, master, when + timedelta(seconds=1)):
            if inst["id"] == event_id:
                return inst
        return None

    def _get_or_404(self, account: Account, event_id: str) -> Event:
        found = self._find(account, event_id)
        if found is None:
            raise not_found("calendar")
        return found

    # -- writing ---------------------------------------------------------------------------------

    def _store(self, account: Account, ev: Event, old: Event | None) -> Event:
        """Store ``ev`` as a change: a new etag and change number, and a new ``updated`` unless
        only the reminders changed (as Google does)."""
        now = self.state.clock.now()
        micros = int(now.timestamp() * 1_000_000) * 2
        previous = int(old["etag"].strip('"')) if old and "etag" in old else 0
        self._last_etag = max(micros, previous + 1, self._last_etag + 1)  # never twice the same
        ev["etag"] = f'"{self._last_etag}"'
        unchanged = old is not None and "updated" in old and (
            {k: v for k, v in _public(old).items() if k != "reminders"}
            == {k: v for k, v in _public(ev).items() if k != "reminders"})
        ev["updated"] = old["updated"] if old is not None and unchanged else rfc3339(now)
        ev["_seq"] = self.state.next_seq()
        self._events(account)[ev["id"]] = ev
        return ev

    def _new_id(self, account: Account) -> str:
        while True:
            event_id = "".join(secrets.choice(BASE32HEX) for _ in range(26))
            if event_id not in self._events(account):
                return event_id

    def _insert(self, account: Account, body: dict[str, Any], *,
                organizer: dict[str, Any] | None = None) -> Event:
        ev = _clean(body)
        event_id = body.get("id")
        if event_id is not None:
            if not isinstance(event_id, str) or not CLIENT_ID.fullmatch(event_id):
                raise _invalid("Invalid resource id value.")
            if self._find(account, event_id) is not None:
                raise calendar_error(409, "duplicate", "The requested identifier already exists.")
        else:
            event_id = self._new_id(account)
        _check_times(ev)
        now = self.state.clock.now()
        link = base64.urlsafe_b64encode(f"{event_id} {account.email}".encode()).decode()
        ev.update(id=event_id, htmlLink="https://www.google.com/calendar/event?eid="
                  + link.rstrip("="),
                  created=now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                  creator={"email": account.email},
                  organizer=organizer or {"email": account.email})
        ev.setdefault("status", "confirmed")
        ical = body.get("iCalUID")
        ev["iCalUID"] = ical if isinstance(ical, str) and ical else f"{event_id}@google.com"
        sequence = body.get("sequence")
        ev["sequence"] = sequence if isinstance(sequence, int) and sequence >= 0 else 0
        ev.setdefault("reminders", {"useDefault": True})
        ev.setdefault("eventType", "default")
        _attendees(ev, None)
        _finish(ev)
        return self._store(account, ev, None)

    def _check_if_match(self, req: Request | None, current: Event) -> None:
        wanted = req.headers.get("if-match") if req is not None else None
        if wanted is not None and wanted.strip() not in ("*", current.get("etag")):
            raise calendar_error(412, "conditionNotMet", "Precondition Failed",
                                 location="If-Match", location_type="header")

    def _modify(self, account: Account, event_id: str, body: dict[str, Any], *, replace: bool,
                req: Request | None) -> Event:
        """events.patch (``replace=False``) and events.update (``replace=True``)."""
        current = self._get_or_404(account, event_id)
        self._check_if_match(req, current)
        changes = _clean(body)
        if replace:
            ev = changes
            for key in KEPT_ON_UPDATE:
                if key in current:
                    ev[key] = copy.deepcopy(current[key])
            ev.setdefault("status", "confirmed")
            ev.setdefault("reminders", {"useDefault": True})
        else:
            ev = _merge({k: v for k, v in current.items() if not k.startswith("_")}, changes)
        for key in ("_guests", "_dismissed"):
            if key in current:
                ev[key] = current[key]
        _finish(ev)
        _check_times(ev)
        _attendees(ev, current.get("attendees"))
        organizer = (current.get("organizer") or {}).get("email")
        if organizer != account.email and self.state.account(organizer or "") is not None:
            return self._guest_write(account, current, ev)
        if any(ev.get(k) != current.get(k) for k in SEQUENCE_FIELDS):
            ev["sequence"] = int(current.get("sequence", 0)) + 1
        stored = self._store(account, ev, current)
        self._propagate(account, stored)
        return stored

    def _delete(self, account: Account, event_id: str, req: Request | None) -> None:
        current = self._get_or_404(account, event_id)
        self._check_if_match(req, current)
        if current.get("status") == "cancelled":
            raise calendar_error(410, "deleted", "Resource has been deleted")
        organizer = (current.get("organizer") or {}).get("email")
        if organizer != account.email and self.state.account(organizer or "") is not None:
            self._guest_delete(account, current)
            return
        events = self._events(account)
        series = [current] + [ev for ev in list(events.values())
                              if ev.get("recurringEventId") == current["id"]
                              and ev.get("status") != "cancelled"]
        for ev in series:
            cancelled = {k: v for k, v in ev.items() if k != "_seq"}
            cancelled["status"] = "cancelled"
            self._propagate(account, self._store(account, cancelled, ev))

    # -- shared events -----------------------------------------------------------------------------

    def _propagate(self, organizer: Account, ev: Event) -> None:
        """Bring every guest's copy of the organizer's event ``ev`` up to date."""
        guests = {entry["email"] for entry in ev.get("attendees") or []
                  if entry["email"] != organizer.email and entry["email"] in self.state.accounts}
        for email in sorted(guests | set(ev.get("_guests", []))):
            guest = self.state.accounts[email]
            old = self._events(guest).get(ev["id"])
            if old is not None and old.get("iCalUID") != ev.get("iCalUID"):
                continue  # an unrelated event of the guest's that happens to share the id
            if email in guests:
                new = {k: copy.deepcopy(v) for k, v in _public(ev).items()}
                source = old or {}
                _with_private(new, _private(source))
                for key in PER_COPY:
                    new.pop(key, None)
                    if key in source:
                        new[key] = copy.deepcopy(source[key])
                new.setdefault("reminders", {"useDefault": True})
                if source.get("_dismissed"):
                    new["_dismissed"] = True
                    new["status"] = "cancelled"
            elif old is None or old.get("status") == "cancelled":
                continue
            else:
                new = {k: v for k, v in old.items() if k != "_dismissed"}
                new["status"] = "cancelled"
            if old is None or _public(old) != _public(new):
                self._store(guest, new, old)
        ev["_guests"] = sorted(guests)

    def _organizer_copy(self, ev: Event) -> tuple[Account, Event] | None:
        organizer = self.state.account((ev.get("organizer") or {}).get("email") or "")
        if organizer is None:
            return None
        found = self._find(organizer, ev["id"])
        if found is None or found.get("iCalUID") != ev.get("iCalUID"):
            return None
        return organizer, found

    def _guest_write(self, guest: Account, current: Event, ev: Event) -> Event:
        """A guest changes their copy: shared properties are the organizer's; their response
        reaches the organizer's copy and, from there, the other guests."""
        shared = (ev.get("extendedProperties") or {}).get("shared")
        if shared != (current.get("extendedProperties") or {}).get("shared"):
            raise calendar_error(403, "forbiddenForNonOrganizer",
                                 "Shared properties can only be changed by the organizer of the "
                                 "event.", domain="calendar")
        if ev.get("status") != "cancelled":
            ev.pop("_dismissed", None)
        stored = self._store(guest, ev, current)
        mine = next((a for a in ev.get("attendees") or [] if a["email"] == guest.email), None)
        found = self._organizer_copy(stored)
        if mine is not None and found is not None:
            self._set_response(found[0], found[1], guest.email, mine["responseStatus"])
        return self._events(guest)[stored["id"]]

    def _set_response(self, organizer: Account, ev: Event, email: str, status: str) -> None:
        entries = ev.get("attendees") or []
        if all(a["email"] != email or a.get("responseStatus") == status for a in entries):
            return
        new = {k: copy.deepcopy(v) for k, v in ev.items() if k != "_seq"}
        for entry in new["attendees"]:
            if entry["email"] == email:
                entry["responseStatus"] = status
        self._propagate(organizer, self._store(organizer, new, ev))

    def _guest_delete(self, guest: Account, current: Event) -> None:
        """A guest removes an invitation from their calendar: it is cancelled there and they
        decline it."""
        new = {k: v for k, v in current.items() if k != "_seq"}
        new.update(status="cancelled", _dismissed=True)
        self._store(guest, new, current)
        found = self._organizer_copy(current)
        if found is not None:
            self._set_response(found[0], found[1], guest.email, "declined")

    # -- events.list -------------------------------------------------------------------------------

    def list_events(self, req: Request) -> dict[str, Any]:
        account = self._owner(req)
        sync = req.arg("syncToken")
        single = _bool(req.arg("singleEvents"))
        order = req.arg("orderBy")
        if sync is not None:
            for name in FORBIDDEN_WITH_SYNC:
                if req.arg(name) is not None:
                    raise _invalid(f"The parameter {name} cannot be used together with "
                                   f"syncToken.", location=name)
            if (req.arg("showDeleted") or "").lower() == "false":
                raise _invalid("showDeleted cannot be false together with syncToken.",
                               location="showDeleted")
        if order not in (None, "startTime", "updated"):
            raise _invalid(f"Invalid value for: {order} is not a valid value", location="orderBy")
        if order == "startTime" and not single:
            raise calendar_error(400, "badRequest", "The requested ordering is not available "
                                 "for the particular query.")
        time_min, time_max = _timestamp(req, "timeMin"), _timestamp(req, "timeMax")
        if time_min is not None and time_max is not None and time_min >= time_max:
            raise _time_range_empty("timeMax")
        updated_min = _timestamp(req, "updatedMin")
        if updated_min is not None and (self.state.clock.time() - updated_min.timestamp()
                                        > self.sync_token_lifetime):
            raise calendar_error(410, "updatedMinTooLongAgo", "The requested minimum "
                                 "modification time lies too far in the past.",
                                 domain="calendar", location="updatedMin")
        private = _property_filters(req.args("privateExtendedProperty"), "privateExtendedProperty")
        shared = _property_filters(req.args("sharedExtendedProperty"), "sharedExtendedProperty")
        limit = _max_results(req, DEFAULT_MAX_RESULTS)
        after, high = self._page(req)
        low = self._check_sync_token(sync, account) if sync is not None else None
        incremental = low is not None or updated_min is not None
        show_deleted = incremental or _bool(req.arg("showDeleted"))

        events = self._events(account)
        candidates = [ev for ev in events.values()
                      if (low is None or ev["_seq"] > low)
                      and (updated_min is None or parse_rfc3339(ev["updated"]) >= updated_min)]
        ical = req.arg("iCalUID")
        words = (req.arg("q") or "").lower().split()
        candidates = [
            ev for ev in candidates
            if (ical is None or ev.get("iCalUID") == ical)
            and all((_private(ev) or {}).get(k) == v for k, v in private)
            and all(((ev.get("extendedProperties") or {}).get("shared") or {}).get(k) == v
                    for k, v in shared)
            and (not words or _matches_text(ev, words))]
        if single:
            items = self._expand(account, candidates, time_min, time_max)
        else:
            items = [ev for ev in candidates if self._overlaps(ev, time_min, time_max)]
        if not show_deleted:
            items = [ev for ev in items if ev.get("status") != "cancelled"
                     or (not single and self._live_exception(account, ev))]
        page, more = self._paginate(items, order, after, limit)
        out: dict[str, Any] = {
            "kind": "calendar#events", "etag": f'"p{high:014x}"', "summary": account.email,
            "updated": max([account.data[self.name]["created"]]
                           + [ev["updated"] for ev in events.values()]),
            "timeZone": CALENDAR_TIME_ZONE, "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": [_tombstone(ev) if ev.get("status") == "cancelled" and not (
                _bool(req.arg("showDeleted")) or updated_min is not None)
                else _render(ev, account.email) for ev in page]}
        if more:
            out["nextPageToken"] = encode_token({"f": _fingerprint(req), "h": high,
                                                 "a": self._key(page[-1], order)})
        elif order is None:
            out["nextSyncToken"] = self._sync_token(account, high)
        return out

    def _page(self, req: Request) -> tuple[list[str] | None, int]:
        """Where the page token says to continue, and the change number the listing began at."""
        token = req.arg("pageToken")
        if not token:
            return None, self.state.seq
        payload = decode_token(token)
        if (payload is None or payload.get("f") != _fingerprint(req)
                or not isinstance(payload.get("h"), int) or not isinstance(payload.get("a"), list)):
            raise _invalid("Invalid page token value.", location="pageToken")
        return [str(part) for part in payload["a"]], int(payload["h"])

    @staticmethod
    def _key(ev: Event, order: str | None) -> list[str]:
        if order == "startTime":
            return [_sort_time(_moment(ev["start"], "start")), ev["id"]]
        if order == "updated":
            return [ev["updated"], ev["id"]]
        return [ev["id"]]

    def _paginate(self, items: list[Event], order: str | None, after: list[str] | None,
                  limit: int) -> tuple[list[Event], bool]:
        keyed = sorted(((self._key(ev, order), ev) for ev in items), key=lambda kv: kv[0])
        rest = [ev for key, ev in keyed if after is None or key > after]
        return rest[:limit], len(rest) > limit

    def _live_exception(self, account: Account, ev: Event) -> bool:
        master = self._events(account).get(ev.get("recurringEventId") or "")
        return master is not None and master.get("status") != "cancelled"

    def _overlaps(self, ev: Event, time_min: datetime | None, time_max: datetime | None) -> bool:
        """``timeMin`` bounds the end, ``timeMax`` the start, both exclusive; a series overlaps
        when one of its instances does."""
        if time_min is None and time_max is None:
            return True
        if not ev.get("recurrence"):
            start, end = _span(ev)
            return (time_min is None or end > time_min) and (time_max is None or start < time_max)
        first, last = _moment(ev["start"], "start"), _moment(ev["end"], "end")
        duration = last - first
        until = time_max or self._horizon(ev, time_min)
        return any(time_min is None or _instant(occ + duration) > time_min
                   for occ in _occurrences(ev, until))

    def _expand(self, account: Account, candidates: list[Event], time_min: datetime | None,
                time_max: datetime | None) -> list[Event]:
        """``singleEvents=true``: series become their instances; exceptions stand in for theirs."""
        ids = {ev["id"] for ev in candidates}
        out: list[Event] = []
        for ev in candidates:
            if ev.get("recurrence") and ev.get("status") != "cancelled":
                until = time_max or self._horizon(ev, time_min)
                out += [inst for inst in self._instances(account, ev, until)
                        if self._overlaps(inst, time_min, time_max)]
            elif ev.get("recurringEventId") in ids:
                continue  # listed with its series
            elif self._overlaps(ev, time_min, time_max):
                out.append(ev)
        return out

    # -- the other event methods -------------------------------------------------------------------

    def list_instances(self, req: Request) -> dict[str, Any]:
        account = self._owner(req)
        master = self._get_or_404(account, req.params["id"])
        time_min, time_max = _timestamp(req, "timeMin"), _timestamp(req, "timeMax")
        if time_min is not None and time_max is not None and time_min >= time_max:
            raise _time_range_empty("timeMax")
        limit = _max_results(req, MAX_RESULTS)
        after, high = self._page(req)
        items: list[Event] = []
        if master.get("recurrence"):
            until = time_max or self._horizon(master, time_min)
            items = [inst for inst in self._instances(account, master, until)
                     if self._overlaps(inst, time_min, time_max)]
        original = req.arg("originalStart")
        if original is not None:
            items = [inst for inst in items
                     if _instant(_moment(inst["originalStartTime"], "start"))
                     == _instant(_moment({"dateTime": original}, "start"))]
        show_deleted = _bool(req.arg("showDeleted"))
        items = [inst for inst in items if show_deleted or inst.get("status") != "cancelled"]
        page, more = self._paginate(items, "startTime", after, limit)
        out: dict[str, Any] = {
            "kind": "calendar#events", "etag": f'"p{high:014x}"', "summary": account.email,
            "updated": master["updated"], "timeZone": CALENDAR_TIME_ZONE,
            "accessRole": "owner", "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": [_render(inst, account.email) for inst in page]}
        if more:
            out["nextPageToken"] = encode_token({"f": _fingerprint(req), "h": high,
                                                 "a": self._key(page[-1], "startTime")})
        return out

    def get_event(self, req: Request) -> Response | dict[str, Any]:
        account = self._owner(req)
        ev = self._get_or_404(account, req.params["id"])
        if req.headers.get("if-none-match", "").strip() == ev["etag"]:
            return Response(304, None, {"ETag": ev["etag"]})
        return _render(ev, account.email)

    def insert_event(self, req: Request) -> dict[str, Any]:
        account = self._owner(req)
        ev = self._insert(account, _body(req))
        self._propagate(account, ev)
        return _render(ev, account.email)

    def import_event(self, req: Request) -> dict[str, Any]:
        """A private copy keyed by its iCalUID (an existing one is replaced); no invitations."""
        account = self._owner(req)
        body = _body(req)
        ical = body.get("iCalUID")
        if not isinstance(ical, str) or not ical:
            raise _required("Missing iCalUID.")
        organizer = body.get("organizer")
        organizer = ({"email": organizer["email"].strip().lower()}
                     if isinstance(organizer, dict) and isinstance(organizer.get("email"), str)
                     else {"email": account.email})
        existing = next((ev for ev in self._events(account).values()
                         if ev.get("iCalUID") == ical and "recurringEventId" not in ev), None)
        if existing is None:
            ev = self._insert(account, {k: v for k, v in body.items() if k != "id"},
                              organizer=organizer)
            return _render(ev, account.email)
        replaced = _clean(body)
        for key in KEPT_ON_UPDATE:
            if key in existing:
                replaced[key] = copy.deepcopy(existing[key])
        replaced["organizer"] = organizer
        replaced.setdefault("status", "confirmed")
        replaced.setdefault("reminders", {"useDefault": True})
        _finish(replaced)
        _check_times(replaced)
        _attendees(replaced, existing.get("attendees"))
        return _render(self._store(account, replaced, existing), account.email)

    def patch_event(self, req: Request) -> dict[str, Any]:
        account = self._owner(req)
        ev = self._modify(account, req.params["id"], _body(req), replace=False, req=req)
        return _render(ev, account.email)

    def update_event(self, req: Request) -> dict[str, Any]:
        account = self._owner(req)
        ev = self._modify(account, req.params["id"], _body(req), replace=True, req=req)
        return _render(ev, account.email)

    def delete_event(self, req: Request) -> Response:
        self._delete(self._owner(req), req.params["id"], req)
        return Response(204, None)

    # -- control routes ------------------------------------------------------------------------------

    def _control_account(self, req: Request) -> Account:
        return account_or_404(self.state, req.params["email"])

    def control_list(self, req: Request) -> dict[str, Any]:
        account = self._control_account(req)
        deleted = _bool(req.arg("deleted"))
        events = sorted(self._events(account).values(), key=lambda ev: ev["id"])
        return {"items": [_render(ev, account.email) for ev in events
                          if deleted or ev.get("status") != "cancelled"]}

    def control_insert(self, req: Request) -> dict[str, Any]:
        account = self._control_account(req)
        ev = self._insert(account, _body(req))
        self._propagate(account, ev)
        return _render(ev, account.email)

    def control_patch(self, req: Request) -> dict[str, Any]:
        account = self._control_account(req)
        ev = self._modify(account, req.params["id"], _body(req), replace=False, req=None)
        return _render(ev, account.email)

    def control_delete(self, req: Request) -> dict[str, Any]:
        self._delete(self._control_account(req), req.params["id"], None)
        return {}
