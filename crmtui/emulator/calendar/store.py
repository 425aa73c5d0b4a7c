"""The Calendar API's storage: events of each account's primary calendar, their etags and
change numbers, recurring series, and shared events' copies (see the package's docstring)."""

from __future__ import annotations

import base64
import copy
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crmtui.emulator.calendar.fields import (
    BASE32HEX,
    CALENDAR_TIME_ZONE,
    CLIENT_ID,
    EXPANSION_HORIZON,
    KEPT_ON_UPDATE,
    PER_COPY,
    SEQUENCE_FIELDS,
    SYNC_TOKEN_LIFETIME,
    Event,
    _attendees,
    _check_times,
    _clean,
    _edt,
    _finish,
    _full_sync_required,
    _instant,
    _invalid,
    _merge,
    _moment,
    _occurrences,
    _private,
    _public,
    _suffix,
    _with_private,
)
from crmtui.emulator.errors import calendar_error, not_found
from crmtui.emulator.http import Request
from crmtui.emulator.state import (
    Account,
    EmulatorState,
    decode_token,
    encode_token,
    parse_rfc3339,
    rfc3339,
)


class CalendarStore:
    """Each account's primary calendar: its events, sync tokens, finding, writing, and the
    copies of shared events."""

    name = "calendar"

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.sync_token_lifetime = SYNC_TOKEN_LIFETIME
        self._last_etag = 0

    # -- module interface ------------------------------------------------------------------------
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
