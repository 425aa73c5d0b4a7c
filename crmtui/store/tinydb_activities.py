"""Activities in the TinyDB repository."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from crmtui.model import Activity, ValidationError, check_aware, fold, utcnow
from crmtui.store.repository import (
    ACTIVITY_SORTS,
    ActivityQuery,
    NotFound,
    StoreConflict,
    new_version,
)
from crmtui.store.tinydb_base import ACTIVITIES, TinyDBBase


class ActivityTables(TinyDBBase):
    """Adding, reading, changing and finding activities."""

    def add_activity(self, activity: Activity) -> Activity:
        self.add_activities([activity])
        return activity

    def add_activities(self, activities: Sequence[Activity]) -> None:
        with self.transaction():
            table = self._table(ACTIVITIES)
            for activity in activities:  # before anything is written
                activity.require_organizer()
            for activity in activities:
                if activity.id in table:
                    raise StoreConflict(f"an activity with id {activity.id} already exists")
                self._insert(ACTIVITIES, activity)
            for activity in activities:  # series may come after their occurrences
                self._check_activity_refs(activity)

    def get_activity(self, activity_id: str) -> Activity:
        with self._rlock:
            self._read()
            doc = self._table(ACTIVITIES).get(activity_id)
            if doc is None:
                raise NotFound(f"no activity {activity_id}")
            return self._record(Activity, ACTIVITIES, activity_id, doc)

    def get_activities(self, activity_ids: Sequence[str]) -> list[Activity]:
        with self._rlock:
            self._read()
            table = self._table(ACTIVITIES)
            docs = [(aid, table[aid]) for aid in activity_ids if aid in table]
        return [self._record(Activity, ACTIVITIES, aid, doc) for aid, doc in docs]

    def activity_ids(self) -> set[str]:
        with self._rlock:
            self._read()
            return set(self._table(ACTIVITIES))

    def activity_ids_by_uid(self, uids: set[str]) -> dict[str, str]:
        if not uids:
            return {}
        with self._rlock:
            self._read()
            return {doc["ical_uid"]: aid for aid, doc in self._table(ACTIVITIES).items()
                    if doc.get("ical_uid") in uids}

    def update_activity(self, activity: Activity, *, touch: bool = True,
                        expected: datetime | None = None) -> Activity:
        with self.transaction():
            old = self._table(ACTIVITIES).get(activity.id)
            if old is None:
                raise NotFound(f"no activity {activity.id}")
            activity.require_organizer()
            if expected is not None and datetime.fromisoformat(old["modified"]) != expected:
                raise self.changed_meanwhile(self.get_activity(activity.id), expected)
            self._check_activity_refs(activity)
            if touch:
                activity = activity.evolve(modified=utcnow())
            else:
                activity = activity.evolve(modified=new_version(
                    datetime.fromisoformat(old["modified"]), activity.modified))
            self._replace(ACTIVITIES, activity)
        return activity

    def delete_activity(self, activity_id: str) -> None:
        with self.transaction():
            table = self._table(ACTIVITIES)
            if activity_id not in table:
                raise NotFound(f"no activity {activity_id}")
            occurrences = [aid for aid, d in table.items() if d.get("series_id") == activity_id]
            if occurrences:  # no longer occurrences of anything: no original start either
                self._update_fields(ACTIVITIES, {"series_id": "", "original_start": None},
                                    occurrences)
            self._remove(ACTIVITIES, [activity_id])

    def find_activities(self, query: ActivityQuery) -> list[Activity]:
        if query.sort not in ACTIVITY_SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(ACTIVITY_SORTS)}", query.sort)
        for name in ("start_from", "start_to"):
            bound = getattr(query, name)
            if isinstance(bound, datetime):
                check_aware(name, bound)  # a naive bound cannot be compared with a start
        with self._rlock:
            self._read()
            items = list(self._table(ACTIVITIES).items())
        words = fold(query.text).split()
        since = query.modified_since
        statuses = {s.value for s in query.statuses}
        contacts = set(query.contact_ids)
        if since is not None:
            check_aware("modified_since", since)
        out: list[Activity] = []
        for aid, doc in items:
            if since is not None and datetime.fromisoformat(doc["modified"]) < since:
                continue
            if query.show_in_calendar is not None and \
                    bool(doc.get("show_in_calendar")) != query.show_in_calendar:
                continue
            if query.type is not None and doc.get("type") != query.type.value:
                continue
            if statuses and doc.get("status", "not_started") not in statuses:
                continue
            if query.series_id is not None and doc.get("series_id") != query.series_id:
                continue
            if contacts and not any(p["kind"] == "contact" and p["ref_id"] in contacts
                                    for p in doc.get("participants", ())):
                continue
            if query.user_id is not None and not (
                    doc.get("organizer_id") == query.user_id or any(
                        p["kind"] == "user" and p["ref_id"] == query.user_id
                        for p in doc.get("participants", ()))):
                continue
            if words:
                hay = fold(" ".join((doc.get("title", ""), doc.get("location", ""),
                                     doc.get("notes", ""))))
                if not all(w in hay for w in words):
                    continue
            if (query.start_from is not None or query.start_to is not None) and \
                    not _in_range(doc, query.start_from, query.start_to):
                continue
            out.append(self._record(Activity, ACTIVITIES, aid, doc))
        out.sort(key=_ACTIVITY_KEYS[query.sort], reverse=query.descending)
        end = None if query.limit is None else query.offset + query.limit
        return out[query.offset:end]


def _in_range(doc: Mapping[str, Any], lo: date | datetime | None, hi: date | datetime | None
              ) -> bool:
    if doc.get("all_day"):
        day = date.fromisoformat(doc["start_date"]) if doc.get("start_date") else None
        if day is None:
            return False
        lo_d = lo.date() if isinstance(lo, datetime) else lo
        hi_d = hi.date() if isinstance(hi, datetime) else hi
        return (lo_d is None or day >= lo_d) and (hi_d is None or day < hi_d)
    if not doc.get("start"):
        return False
    start = datetime.fromisoformat(doc["start"])
    for bound, is_lo in ((lo, True), (hi, False)):
        if bound is None:
            continue
        if isinstance(bound, datetime):
            ok = start >= bound if is_lo else start < bound
        else:
            ok = start.date() >= bound if is_lo else start.date() < bound
        if not ok:
            return False
    return True


_FAR = datetime.max.replace(tzinfo=UTC)


def _activity_start(a: Activity) -> tuple[datetime, str]:
    return (a.sort_start() or _FAR, a.id)


_ACTIVITY_KEYS: dict[str, Callable[[Activity], Any]] = {
    "start": _activity_start,
    "title": lambda a: (fold(a.title), a.id),
    "type": lambda a: (a.type.value, _activity_start(a)),
    "status": lambda a: (a.status.value, _activity_start(a)),
    "priority": lambda a: (("high", "medium", "low").index(a.priority.value), _activity_start(a)),
    "created": lambda a: (a.created, a.id),
    "modified": lambda a: (a.modified, a.id),
}
