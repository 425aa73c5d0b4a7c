"""Activities in the PostgreSQL repository: filters, sort and paging run in the database on
columns crmtui computes when it writes an activity (its start instant, its local start date, the
sort keys and the folded search text)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from crmtui.model import (
    Activity,
    ParticipantKind,
    ValidationError,
    check_aware,
    fold,
    utcnow,
)
from crmtui.store.pg_base import PostgresBase, clean, jsonb, like_word
from crmtui.store.repository import (
    ACTIVITY_SORTS,
    ActivityQuery,
    NotFound,
    StoreConflict,
    check_activity_refs,
    new_version,
)

_PRIORITY = {"high": 0, "medium": 1, "low": 2}
_COLUMNS = ("id, doc, organizer_id, all_day, start_at, local_date, sort_start, show_in_calendar, "
            "type, status, priority_rank, title_key, created, modified, ical_uid, series_id, "
            "search")
INSERT_ACTIVITY = f"INSERT INTO activities ({_COLUMNS}) VALUES ({', '.join(['%s'] * 17)})"
_UPDATE = ("UPDATE activities SET " + ", ".join(f"{c} = %s" for c in _COLUMNS.split(", ")[1:])
           + " WHERE id = %s")
_ORDER = {
    "start": ("sort_start",),
    "title": ("title_key",),
    "type": ("type", "sort_start"),
    "status": ("status", "sort_start"),
    "priority": ("priority_rank", "sort_start"),
    "created": ("created",),
    "modified": ("modified",),
}


def activity_row(activity: Activity) -> tuple[Any, ...]:
    doc = activity.to_dict()
    doc.pop("id")
    search = fold(" ".join((activity.title, activity.location, activity.notes)))
    return (activity.id, jsonb(doc), activity.organizer_id, activity.all_day,
            None if activity.all_day else activity.start, activity.starts_on(),
            activity.sort_start(), activity.show_in_calendar, activity.type.value,
            activity.status.value, _PRIORITY[activity.priority.value],
            clean(fold(activity.title)), activity.created, activity.modified, activity.ical_uid,
            activity.series_id, clean(search))


class ActivityTables(PostgresBase):
    """Adding, reading, changing and finding activities."""

    def add_activity(self, activity: Activity) -> Activity:
        self.add_activities([activity])
        return activity

    def add_activities(self, activities: Sequence[Activity]) -> None:
        for activity in activities:  # before anything is written
            activity.require_organizer()
        with self.transaction():
            ids = [a.id for a in activities]
            taken = self._ids_in("activities", ids)
            seen: set[str] = set()
            for aid in ids:
                if aid in taken or aid in seen:
                    raise StoreConflict(f"an activity with id {aid} already exists")
                seen.add(aid)
            self._check_activity_refs(activities, new_ids=seen)
            self._many(INSERT_ACTIVITY, [activity_row(a) for a in activities])

    def _check_activity_refs(self, activities: Sequence[Activity],
                             new_ids: Iterable[str] = ()) -> None:
        users = self._ids_in("users", list({u for a in activities
                                            for u in (a.owner_id, a.organizer_id) if u}
                                           | {p.ref_id for a in activities
                                              for p in a.participants
                                              if p.kind is ParticipantKind.USER}))
        contacts = self._ids_in("contacts", list({p.ref_id for a in activities
                                                  for p in a.participants
                                                  if p.kind is ParticipantKind.CONTACT}))
        series = self._ids_in("activities", list({a.series_id for a in activities
                                                  if a.series_id})) | set(new_ids)
        for activity in activities:
            check_activity_refs(activity, users, contacts, series)

    def _activity(self, aid: str, doc: Mapping[str, Any]) -> Activity:
        return self._record(Activity, "activities", aid, {**doc, "id": aid})

    def _activities_where(self, where: str, params: Any) -> list[Activity]:
        rows = self._all(f"SELECT id, doc FROM activities WHERE {where} ORDER BY seq", params)
        return [self._activity(aid, doc) for aid, doc in rows]

    def _replace_activity(self, activity: Activity) -> None:
        values = activity_row(activity)
        self._exec(_UPDATE, (*values[1:], values[0]))

    def get_activity(self, activity_id: str) -> Activity:
        row = self._one("SELECT doc FROM activities WHERE id = %s", (activity_id,))
        if row is None:
            raise NotFound(f"no activity {activity_id}")
        return self._activity(activity_id, row[0])

    def get_activities(self, activity_ids: Sequence[str]) -> list[Activity]:
        if not activity_ids:
            return []
        rows = dict(self._all("SELECT id, doc FROM activities WHERE id = ANY(%s)",
                              (list(activity_ids),)))
        return [self._activity(aid, rows[aid]) for aid in activity_ids if aid in rows]

    def activity_ids(self) -> set[str]:
        return {r[0] for r in self._all("SELECT id FROM activities")}

    def activity_ids_by_uid(self, uids: set[str]) -> dict[str, str]:
        if not uids:
            return {}
        return {uid: aid for uid, aid in self._all(
            "SELECT ical_uid, id FROM activities WHERE ical_uid = ANY(%s) ORDER BY seq",
            (sorted(uids),))}

    def update_activity(self, activity: Activity, *, touch: bool = True,
                        expected: datetime | None = None) -> Activity:
        with self.transaction():
            row = self._one("SELECT modified FROM activities WHERE id = %s FOR UPDATE",
                            (activity.id,))
            if row is None:
                raise NotFound(f"no activity {activity.id}")
            activity.require_organizer()
            if expected is not None and row[0] != expected:
                raise self.changed_meanwhile(self.get_activity(activity.id), expected)
            self._check_activity_refs([activity])
            if touch:
                activity = activity.evolve(modified=utcnow())
            else:
                activity = activity.evolve(modified=new_version(row[0], activity.modified))
            self._replace_activity(activity)
        return activity

    def delete_activity(self, activity_id: str) -> None:
        with self.transaction():
            if not self._ids_in("activities", [activity_id]):
                raise NotFound(f"no activity {activity_id}")
            self._exec("UPDATE activities SET series_id = '', "
                       "doc = jsonb_set(doc, '{series_id}', '\"\"') WHERE series_id = %s",
                       (activity_id,))
            self._exec("DELETE FROM activities WHERE id = %s", (activity_id,))

    def find_activities(self, query: ActivityQuery) -> list[Activity]:
        if query.sort not in ACTIVITY_SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(ACTIVITY_SORTS)}", query.sort)
        conds: list[str] = []
        params: dict[str, Any] = {}
        for name, op in (("start_from", ">="), ("start_to", "<")):
            bound = getattr(query, name)
            if bound is None:
                continue
            if isinstance(bound, datetime):
                check_aware(name, bound)  # a naive bound cannot be compared with a start
                params[name] = bound
                params[name + "_d"] = bound.date()
                conds.append(f"COALESCE(CASE WHEN all_day THEN local_date {op} %({name}_d)s "
                             f"ELSE start_at {op} %({name})s END, false)")
            elif isinstance(bound, date):
                params[name] = bound
                conds.append(f"COALESCE(local_date {op} %({name})s, false)")
        if query.modified_since is not None:
            check_aware("modified_since", query.modified_since)
            params["since"] = query.modified_since
            conds.append("modified >= %(since)s")
        if query.show_in_calendar is not None:
            params["cal"] = bool(query.show_in_calendar)
            conds.append("show_in_calendar = %(cal)s")
        if query.type is not None:
            params["type"] = query.type.value
            conds.append("type = %(type)s")
        if query.user_id is not None:
            params["user"] = query.user_id
            params["as_part"] = jsonb([{"kind": ParticipantKind.USER.value,
                                        "ref_id": query.user_id}])
            conds.append("(organizer_id = %(user)s OR doc -> 'participants' @> %(as_part)s)")
        for i, word in enumerate(fold(query.text).split()):
            params[f"w{i}"] = like_word(word)
            conds.append(f"search LIKE %(w{i})s")
        way = " DESC" if query.descending else ""
        order = ", ".join(f"{c}{way}" for c in (*_ORDER[query.sort], "id"))
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        params["offset"] = query.offset
        params["limit"] = query.limit
        rows = self._all(f"SELECT id, doc FROM activities {where} ORDER BY {order} "
                         "OFFSET %(offset)s LIMIT %(limit)s", params)
        return [self._activity(aid, doc) for aid, doc in rows]
