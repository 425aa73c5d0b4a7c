"""The Calendar API module's routes: ``calendarList``, ``calendars``, the event methods other than
the listings, and the control API's changes made "in Google Calendar"."""

from __future__ import annotations

import copy
from typing import Any

from crmtui.emulator.calendar.fields import (
    API,
    CALENDAR_TIME_ZONE,
    CONTROL,
    KEPT_ON_UPDATE,
    _attendees,
    _body,
    _bool,
    _check_times,
    _clean,
    _finish,
    _render,
    _required,
)
from crmtui.emulator.calendar.listing import ListingApi
from crmtui.emulator.errors import calendar_error
from crmtui.emulator.http import Request, Response, Route, account_or_404
from crmtui.emulator.state import (
    CALENDAR_SCOPES,
    Account,
)


class CalendarApi(ListingApi):
    """Google Calendar API v3 for the emulator's accounts."""

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

    # -- calendars -------------------------------------------------------------------------------

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

    # -- the other event methods -------------------------------------------------------------------

    def get_event(self, req: Request) -> Response | dict[str, Any]:
        account = self._owner(req)
        ev = self._get_or_404(account, req.params["id"])
        if req.headers.get("if-none-match", "").strip() == ev["etag"]:
            return Response(304, None, {"ETag": ev["etag"]})
        return _render(ev, account.email)

    def insert_event(self, req: Request) -> dict[str, Any]:
        """events.insert: an ``iCalUID`` that an event of the calendar already has (a cancelled
        one too, as for ids) is 409 ``duplicate``; ``events.import`` updates that event instead."""
        account = self._owner(req)
        body = _body(req)
        ical = body.get("iCalUID")
        if isinstance(ical, str) and ical and any(
                ev.get("iCalUID") == ical and "recurringEventId" not in ev
                for ev in self._events(account).values()):
            raise calendar_error(409, "duplicate", "The requested identifier already exists.")
        ev = self._insert(account, body)
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
