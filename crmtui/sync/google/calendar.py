"""Google Calendar through the Calendar API v3: :class:`GoogleCalendar` implements
:class:`crmtui.sync.remote.CalendarRemote` on the account's primary calendar.

Mapping (:func:`event_fields`, :func:`remote_event`, :func:`event_times`): an Event's ``summary``,
``description``, ``location``, ``start``/``end`` and ``recurrence`` become the canonical fields of
:data:`crmtui.sync.remote.EVENT_FIELDS` (without ``attendees``, which the engine derives from
:attr:`RemoteEvent.attendees`). Timed events read as UTC instants plus the start's IANA zone,
all-day events as dates with an inclusive end. A push writes only the Event fields of the
canonical fields that changed (``events.patch``, ``If-Match`` the etag read): reminders,
conference data, extended properties and attendees crmtui does not know are left as they are.

Requests: listings in pages of 2500 (``showDeleted``, ``singleEvents=false``, sync tokens; a 410
``fullSyncRequired`` falls back to a full listing from ``time_min``); every other call goes in
multipart batch requests of :data:`EVENT_BATCH` calls. Every request goes through
:class:`~crmtui.sync.google.retry.Retrier`; a call Google refuses inside a batch becomes that
record's ``error``, never an exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from googleapiclient.errors import HttpError

from crmtui.sync.google.retry import Result, Retrier, failure, list_pages, refused
from crmtui.sync.google.shapes import Malformed, check_event, event_name
from crmtui.sync.remote import (
    EVENT_BATCH,
    EVENT_CRM_ID_KEY,
    EVENT_FIELDS,
    Attendee,
    EventListing,
    EventResult,
    EventUpdate,
    Found,
    NewEvent,
    RemoteEvent,
)
from crmtui.sync.remote import Malformed as MalformedList

log = logging.getLogger(__name__)

CALENDAR = "primary"
PAGE_SIZE = 2500
# The Event field of each canonical text field.
TEXT_FIELDS = {"title": "summary", "notes": "description", "location": "location"}
OWN_FIELDS = tuple(f for f in EVENT_FIELDS if f != "attendees")

Json = dict[str, Any]


# --------------------------------------------------------------------------- reading an Event


def _utc(text: str) -> str:
    """An RFC 3339 instant as the UTC ``isoformat()`` the canonical fields use."""
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


def _text(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    return value if isinstance(value, str) else ""


def _time(event: Mapping[str, Any]) -> Json:
    start = event.get("start") or {}
    end = event.get("end") or {}
    if start.get("date"):
        first = str(start["date"])
        last = (date.fromisoformat(str(end["date"])) - timedelta(days=1)).isoformat() \
            if end.get("date") else first
        return {"all_day": True, "start": None, "end": None, "timezone": "",
                "start_date": first, "end_date": last}
    return {"all_day": False,
            "start": _utc(str(start["dateTime"])) if start.get("dateTime") else None,
            "end": _utc(str(end["dateTime"])) if end.get("dateTime") else None,
            "timezone": str(start.get("timeZone") or "UTC"),
            "start_date": None, "end_date": None}


def event_fields(event: Mapping[str, Any]) -> Json:
    """The canonical fields of an Event, without ``attendees`` (see
    :data:`crmtui.sync.remote.EVENT_FIELDS`)."""
    fields: Json = {ours: _text(event, theirs) for ours, theirs in TEXT_FIELDS.items()}
    fields["time"] = _time(event)
    fields["recurrence"] = [str(line) for line in event.get("recurrence") or []]
    return {key: fields[key] for key in OWN_FIELDS}


def _updated(event: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(event["updated"]))
    except (KeyError, ValueError):
        return None


def _original_start(event: Mapping[str, Any]) -> str:
    original = event.get("originalStartTime") or {}
    if original.get("date"):
        return str(original["date"])
    if original.get("dateTime"):
        return _utc(str(original["dateTime"]))
    return ""


def event_crm_id(event: Mapping[str, Any]) -> str:
    """The CRM id an event carries (its private extended property, else the shared one)."""
    props = event.get("extendedProperties") or {}
    for scope in ("private", "shared"):
        value = (props.get(scope) or {}).get(EVENT_CRM_ID_KEY)
        if value:
            return str(value)
    return ""


def remote_event(event: Mapping[str, Any], *, whole: bool = False) -> RemoteEvent:
    """An Event as the engine sees it (a cancelled tombstone may carry only its id: its
    ``fields`` are then empty). Raises :class:`~crmtui.sync.google.shapes.Malformed` when its
    fields are not what the API promises (:mod:`crmtui.sync.google.shapes`; ``whole``: an event
    as Google lists it, which has a start unless it is cancelled)."""
    check_event(event, whole=whole)
    try:
        return _remote_event(event)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:  # a shape
        raise Malformed(f"cannot be mapped ({exc})") from None  # the checks did not foresee


def read_events(events: Iterable[Any]) -> tuple[list[RemoteEvent], MalformedList]:
    """The Events that can be read, and the id and reason of each that cannot."""
    read: list[RemoteEvent] = []
    malformed: MalformedList = []
    for event in events:
        try:
            read.append(remote_event(event, whole=True))
        except Malformed as exc:
            name = event_name(event)
            log.warning("Google Calendar event %s cannot be read: %s", name or "(no id)", exc)
            malformed.append((name, str(exc)))
    return read, malformed


def _written(key: str, event: Any) -> EventResult:
    """The result of a write Google answered with ``event``."""
    try:
        return EventResult(key=key, event=remote_event(event))
    except Malformed as exc:
        return EventResult(key=key, error=f"Google's answer for it cannot be read ({exc})")


def _remote_event(event: Mapping[str, Any]) -> RemoteEvent:
    organizer = event.get("organizer") or {}
    return RemoteEvent(
        remote_id=str(event.get("id", "")), etag=str(event.get("etag", "")),
        updated=_updated(event), ical_uid=str(event.get("iCalUID", "")),
        fields=event_fields(event) if event.get("start") else {},
        attendees=[Attendee(email=str(a["email"]).lower(),
                            response=str(a.get("responseStatus") or "needsAction"),
                            organizer=bool(a.get("organizer")))
                   for a in event.get("attendees") or [] if a.get("email")],
        organizer_email=str(organizer.get("email", "")).lower(),
        organizer_self=bool(organizer.get("self")),
        crm_id=event_crm_id(event), cancelled=event.get("status") == "cancelled",
        series_id=str(event.get("recurringEventId", "")),
        original_start=_original_start(event), raw=dict(event))


# --------------------------------------------------------------------------- writing an Event


def event_times(time_: Mapping[str, Any]) -> tuple[Json, Json]:
    """Google's ``start`` and ``end`` (EventDateTime) for the canonical ``time``. Raises
    ValueError for a time that cannot be written (no start, a timed event without an end, an
    unknown zone)."""
    if time_.get("all_day"):
        if not time_.get("start_date"):
            raise ValueError("an all-day event without a start date")
        first = date.fromisoformat(str(time_["start_date"]))
        last = date.fromisoformat(str(time_.get("end_date") or first.isoformat()))
        return {"date": first.isoformat()}, {"date": (last + timedelta(days=1)).isoformat()}
    if not time_.get("start"):
        raise ValueError("a timed event without a start")
    if not time_.get("end"):
        raise ValueError("a timed event without an end")
    name = str(time_.get("timezone") or "UTC")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None

    def local(text: Any) -> Json:
        moment = datetime.fromisoformat(str(text))
        if moment.tzinfo is None:
            raise ValueError(f"{text!r} is not an instant")
        return {"dateTime": moment.astimezone(zone).isoformat(), "timeZone": name}

    return local(time_["start"]), local(time_["end"])


def _patch_times(time_: Mapping[str, Any]) -> tuple[Json, Json]:
    """:func:`event_times` for a patch: objects merge, so the other kind's keys are cleared."""
    start, end = event_times(time_)
    clear: Json = ({"dateTime": None, "timeZone": None} if time_.get("all_day")
                   else {"date": None})
    return {**start, **clear}, {**end, **clear}


def _crm_properties(crm_id: str) -> Json:
    return {"private": {EVENT_CRM_ID_KEY: crm_id}, "shared": {EVENT_CRM_ID_KEY: crm_id}}


def new_event_body(new: NewEvent) -> Json:
    """The ``events.insert`` body for a new event (the client id, the CRM id in the extended
    properties). Raises ValueError when a field cannot be mapped."""
    fields = new.fields
    start, end = event_times(fields["time"])
    body: Json = {"id": new.event_id, "extendedProperties": _crm_properties(new.crm_id)}
    body.update({theirs: str(fields[ours]) for ours, theirs in TEXT_FIELDS.items()
                 if fields.get(ours)})
    body.update(start=start, end=end)
    if fields.get("recurrence"):
        body["recurrence"] = [str(line) for line in fields["recurrence"]]
    if new.attendees:
        body["attendees"] = [{"email": email} for email in new.attendees]
    return body


def instance_suffix(original_start: str) -> str:
    """The instance part of a recurring event's instance id: ``YYYYMMDDTHHMMSSZ`` (UTC) for a
    timed original start, ``YYYYMMDD`` for a date."""
    if "T" not in original_start:
        return date.fromisoformat(original_start).strftime("%Y%m%d")
    moment = datetime.fromisoformat(original_start)
    if moment.tzinfo is None:
        raise ValueError(f"original start {original_start!r} is not an instant")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def attendee_entries(emails: Iterable[str], raw: Mapping[str, Any]) -> list[Json]:
    """The ``attendees`` list for ``emails``: the entry as read (``raw["attendees"]``, keeping
    its response, display name...) when there is one, else a new ``{"email"}``."""
    known = {str(a.get("email", "")).lower(): a for a in raw.get("attendees") or []}
    out: list[Json] = []
    for email in emails:
        entry = known.get(email.lower())
        out.append({k: v for k, v in entry.items() if k != "self"} if entry is not None
                   else {"email": email})
    return out


def patch_body(update: EventUpdate) -> Json:
    """The ``events.patch`` body of an update: the Event fields of the changed canonical
    fields only. Raises ValueError when a field cannot be mapped."""
    body: Json = {}
    fields = update.fields
    for name in dict.fromkeys(update.changed):
        if name in TEXT_FIELDS:
            body[TEXT_FIELDS[name]] = str(fields.get(name) or "")
        elif name == "time":
            body["start"], body["end"] = _patch_times(fields["time"])
        elif name == "recurrence":
            body["recurrence"] = [str(line) for line in fields.get("recurrence") or []]
        elif name == "attendees":
            body["attendees"] = attendee_entries(update.attendees, update.remote.raw)
        else:
            raise ValueError(f"unknown event field {name!r}")
    return body


def _refused(message: str) -> str:
    return f"Google refused it: {message}"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- the adapter


class GoogleCalendar:
    """:class:`crmtui.sync.remote.CalendarRemote` for one account's primary calendar, on a
    Calendar v3 service (``crmtui.sync.google.auth.build_calendar_service``). ``batch_uri`` is
    where multipart batches go (``auth.batch_uri(endpoint, "calendar")``); None sends their
    calls one by one. ``calendar``: the calendar's id ("primary": the account's own);
    ``send_updates``: whom Google e-mails about crmtui's writes ("none", "externalOnly", "all"),
    stated on every write."""

    def __init__(self, service: Any, *, batch_uri: str | None,
                 progress: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 6,
                 calendar: str = CALENDAR, send_updates: str = "none") -> None:
        self._calendar = calendar
        self._send_updates = send_updates
        self._service = service
        self._events = service.events()  # built once: the client builds methods on each call
        self._batch_uri = batch_uri
        self._progress = progress or (lambda message: None)
        self._retry = Retrier(sleep=sleep, max_attempts=max_attempts, on_retry=self._progress)

    def _all(self, requests: Mapping[str, Any], what: str) -> dict[str, Result]:
        """Run ``requests`` in batch requests of :data:`EVENT_BATCH` calls; each key's
        response or the HttpError it answered. A refused batch request is a RemoteError."""
        out: dict[str, Result] = {}
        keys = list(requests)
        for chunk in _chunks(keys, EVENT_BATCH):
            try:
                out.update(self._retry.execute_all({k: requests[k] for k in chunk}, what,
                                                   self._batch_uri))
            except HttpError as err:
                raise refused(what, err) from None
        return out

    # -- reading --------------------------------------------------------------------------------

    def list_changes(self, sync_token: str, time_min: datetime | None) -> EventListing:
        if sync_token:
            try:
                events, token = self._list(sync_token, None)
                read, malformed = read_events(events)
                return EventListing(events=read, sync_token=token, full=False,
                                    malformed=malformed)
            except HttpError as err:
                if failure(err).status != 410:
                    raise refused("events.list", err) from None
            self._progress("The calendar sync token has expired: listing every event")
        try:
            events, token = self._list("", time_min)
        except HttpError as err:
            raise refused("events.list", err) from None
        read, malformed = read_events(events)
        return EventListing(events=read, sync_token=token, full=True, malformed=malformed)

    def _list(self, sync_token: str, time_min: datetime | None) -> tuple[list[Json], str]:
        """Every page of a listing (raising the HttpError of a refused page)."""
        args: Json = {"calendarId": self._calendar, "showDeleted": True, "singleEvents": False,
                      "maxResults": PAGE_SIZE}
        if sync_token:
            args["syncToken"] = sync_token
        elif time_min is not None:
            moment = time_min if time_min.tzinfo else time_min.replace(tzinfo=UTC)
            args["timeMin"] = moment.astimezone(UTC).isoformat()
        return list_pages(self._retry,
                          lambda page: self._events.list(**args, **(
                              {"pageToken": page} if page else {})),
                          items="items", what="events.list", progress=self._progress,
                          label="Reading Google calendar events")

    def get(self, remote_ids: Sequence[str]) -> Found[RemoteEvent]:
        ids = list(dict.fromkeys(remote_ids))
        answers = self._get(ids)
        read, malformed = read_events(answers[i] for i in ids if isinstance(answers[i], dict))
        malformed += [(i, "Google's answer for it is not an event") for i in ids
                      if answers[i] is not None and not isinstance(answers[i], dict)]
        return Found(read, malformed)

    def _get(self, ids: Sequence[str]) -> dict[str, Result]:
        """``events.get`` of each id: the Event, or None when Google does not know it."""
        requests = {i: self._events.get(calendarId=self._calendar, eventId=i) for i in ids}
        out: dict[str, Result] = {}
        for key, answer in self._all(requests, "events.get").items():
            if isinstance(answer, HttpError):
                if failure(answer).status not in (404, 410):
                    raise refused("events.get", answer)
                answer = None
            out[key] = answer
        return out

    # -- creating -------------------------------------------------------------------------------

    def insert(self, events: Sequence[NewEvent]) -> list[EventResult]:
        results: dict[str, EventResult] = {}
        planned: list[tuple[str, NewEvent, Any]] = []
        for i, new in enumerate(events):
            key = str(i)
            try:
                planned.append((key, new, self._insert_request(new)))
            except (ValueError, TypeError, KeyError) as exc:
                results[key] = EventResult(key=new.crm_id, error=f"cannot be mapped: {exc}")
        for chunk in _chunks(planned, EVENT_BATCH):
            results.update(self._insert_batch(chunk))
        return [results[str(i)] for i in range(len(events))]

    def _insert_request(self, new: NewEvent) -> Any:
        body = new_event_body(new)
        if not (new.series_remote_id and new.original_start):
            return self._events.insert(calendarId=self._calendar, body=body,
                                       sendUpdates=self._send_updates)
        # A changed occurrence: write the exception of that instance of the series.
        event_id = f"{new.series_remote_id}_{instance_suffix(new.original_start)}"
        body = {k: v for k, v in body.items() if k not in ("id", "recurrence")}
        return self._events.patch(calendarId=self._calendar, eventId=event_id, body=body,
                                  sendUpdates=self._send_updates)

    def _insert_batch(self, planned: Sequence[tuple[str, NewEvent, Any]]
                      ) -> dict[str, EventResult]:
        answers = self._all({key: request for key, _, request in planned}, "events.insert")
        out: dict[str, EventResult] = {}
        duplicates: dict[str, NewEvent] = {}
        for key, new, _ in planned:
            answer = answers[key]
            if not isinstance(answer, HttpError):
                out[key] = _written(new.crm_id, answer)
                continue
            f = failure(answer)
            if f.status == 409 and not new.series_remote_id:
                duplicates[key] = new
            else:
                out[key] = EventResult(key=new.crm_id, error=_refused(f.message))
        if duplicates:
            found = self._get(list(dict.fromkeys(n.event_id for n in duplicates.values())))
            for key, new in duplicates.items():
                event = found.get(new.event_id)
                if (isinstance(event, dict) and event.get("status") != "cancelled"
                        and _crm_id_of(event, new.crm_id)):  # a re-run: already created
                    out[key] = _written(new.crm_id, event)
                else:
                    out[key] = EventResult(key=new.crm_id, taken=True,
                                           error=f"the event id {new.event_id} is taken in "
                                                 "Google")
        return out

    # -- updating -------------------------------------------------------------------------------

    def patch(self, updates: Sequence[EventUpdate]) -> list[EventResult]:
        results: dict[str, EventResult] = {}
        requests: dict[str, Any] = {}
        for i, up in enumerate(updates):
            key, remote_id = str(i), up.remote.remote_id
            try:
                body = patch_body(up)
            except (ValueError, TypeError, KeyError) as exc:
                results[key] = EventResult(key=remote_id, error=f"cannot be mapped: {exc}")
                continue
            if not body:  # nothing Google would see changes
                results[key] = EventResult(key=remote_id, event=up.remote)
                continue
            request = self._events.patch(calendarId=self._calendar, eventId=remote_id, body=body,
                                         sendUpdates=self._send_updates)
            if up.remote.etag:
                request.headers["If-Match"] = up.remote.etag
            requests[key] = request
        for key, answer in self._all(requests, "events.patch").items():
            remote_id = updates[int(key)].remote.remote_id
            if not isinstance(answer, HttpError):
                results[key] = _written(remote_id, answer)
                continue
            f = failure(answer)
            if f.status == 412:
                results[key] = EventResult(key=remote_id, stale=True,
                                           error="the event changed in Google since it was read")
            elif f.status in (404, 410):
                results[key] = EventResult(key=remote_id, error="gone")
            else:
                results[key] = EventResult(key=remote_id, error=_refused(f.message))
        return [results[str(i)] for i in range(len(updates))]

    # -- deleting -------------------------------------------------------------------------------

    def delete(self, remote_ids: Sequence[str]) -> list[EventResult]:
        requests = {str(i): self._events.delete(calendarId=self._calendar, eventId=remote_id,
                                                     sendUpdates=self._send_updates)
                    for i, remote_id in enumerate(remote_ids)}
        answers = self._all(requests, "events.delete")
        out: list[EventResult] = []
        for i, remote_id in enumerate(remote_ids):
            answer = answers[str(i)]
            if isinstance(answer, HttpError) and failure(answer).status not in (404, 410):
                out.append(EventResult(key=remote_id, error=_refused(failure(answer).message)))
            else:
                out.append(EventResult(key=remote_id))
        return out


def _crm_id_of(event: Mapping[str, Any], crm_id: str) -> bool:
    """Does the event carry ``crm_id`` (in its private or its shared properties)?"""
    props = event.get("extendedProperties") or {}
    return any((props.get(scope) or {}).get(EVENT_CRM_ID_KEY) == crm_id
               for scope in ("private", "shared"))
