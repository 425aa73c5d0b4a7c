"""Calendar API v3 listings: ``events.list`` (sync tokens, time ranges, filters, ordering,
expansion into single events, paging) and ``events.instances``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmtui.emulator.calendar.fields import (
    CALENDAR_TIME_ZONE,
    DEFAULT_MAX_RESULTS,
    FORBIDDEN_WITH_SYNC,
    MAX_RESULTS,
    Event,
    _bool,
    _fingerprint,
    _instant,
    _invalid,
    _matches_text,
    _max_results,
    _moment,
    _occurrences,
    _private,
    _property_filters,
    _render,
    _sort_time,
    _span,
    _time_range_empty,
    _timestamp,
    _tombstone,
)
from crmtui.emulator.calendar.store import CalendarStore
from crmtui.emulator.errors import calendar_error
from crmtui.emulator.http import Request
from crmtui.emulator.state import (
    Account,
    decode_token,
    encode_token,
    parse_rfc3339,
)


class ListingApi(CalendarStore):
    """``events.list`` and ``events.instances``: filters, expansion of recurring series, paging."""

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
