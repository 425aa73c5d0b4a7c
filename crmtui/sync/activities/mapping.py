"""An activity as the canonical fields of a calendar event (see
:data:`crmtui.sync.remote.EVENT_FIELDS`), and back; the CRM's users as calendars know them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crmtui.model import (
    Activity,
    Participant,
    ParticipantKind,
    ResponseStatus,
    SyncLink,
)
from crmtui.store import Repository
from crmtui.sync.engine import full_base, lean_base
from crmtui.sync.remote import EVENT_FIELDS, Attendee, RemoteEvent

# A link keeps the base without the values that are these defaults (see engine.lean_base).
BASE_DEFAULTS: dict[str, Any] = {"title": "", "notes": "", "location": "", "time": None,
                                 "recurrence": [], "attendees": []}
ITEM_DEFAULTS: dict[str, dict[str, Any]] = {
    "time": {"all_day": False, "start": None, "end": None, "timezone": "", "start_date": None,
             "end_date": None}}
ATTENDEE_DEFAULTS: dict[str, Any] = {"response": "needsAction", "organizer": False}


def lean_link_base(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The base an activity link keeps (:func:`link_base` gives it back whole)."""
    return lean_base(fields, BASE_DEFAULTS, ITEM_DEFAULTS)


def link_base(link: SyncLink) -> dict[str, Any]:
    """The whole base of an activity link."""
    return full_base(link.base, BASE_DEFAULTS, ITEM_DEFAULTS)


def _google_uid(event_id: str) -> str:
    return f"{event_id}@google.com"  # the iCalUID Google gives an event made without one


def lean_link_remote(rc: RemoteEvent) -> dict[str, Any]:
    """What an activity link keeps of the event: whether the user organizes it, its iCalUID
    (unless it is the one Google derives from the event id) and its attendees (without their
    default values); :func:`link_remote` gives them back whole."""
    out: dict[str, Any] = {}
    if rc.organizer_self:
        out["organizer_self"] = True
    if rc.ical_uid != _google_uid(rc.remote_id):
        out["ical_uid"] = rc.ical_uid
    if rc.attendees:
        out["attendees"] = [lean_base(vars(a), ATTENDEE_DEFAULTS, {}) for a in rc.attendees]
    return out


def link_remote(link: SyncLink) -> dict[str, Any]:
    """``organizer_self``, ``ical_uid`` and ``attendees`` (as dicts of :class:`Attendee`) of
    the event a link was made with."""
    stored = link.remote
    return {"organizer_self": bool(stored.get("organizer_self")),
            "ical_uid": stored.get("ical_uid", _google_uid(link.remote_id)),
            "attendees": [{**ATTENDEE_DEFAULTS, **a} for a in stored.get("attendees") or []]}


DEFAULT_LENGTH = timedelta(hours=1)  # a timed activity without an end lasts this long in Google
UNTITLED = "(no title)"



# --------------------------------------------------------------------------- users as calendars know them


@dataclass
class Directory:
    """The CRM's users as calendars know them: emails to user ids, and whom to invite."""

    by_email: dict[str, str] = field(default_factory=dict)  # folded email -> user id
    invite: dict[str, str] = field(default_factory=dict)  # user id -> the email to invite
    set_up: dict[str, bool] = field(default_factory=dict)  # user id -> has activity sync

    def user_of(self, email: str) -> str:
        return self.by_email.get(email.casefold(), "")

    def known(self, attendees: Iterable[Attendee]) -> list[str]:
        """The user ids of these attendees that are CRM users, sorted."""
        return sorted({uid for a in attendees if (uid := self.user_of(a.email))})


def build_directory(repo: Repository, sync_set_up: Callable[[str], bool]) -> Directory:
    """Every user's emails (login, own contact, linked Google account); the Google account's is
    the one invited, since that is the calendar the event must reach."""
    out = Directory()
    google = {a.user_id: a.email for a in repo.list_accounts() if a.provider == "google"}
    for user in repo.list_users():
        for email in [*repo.user_emails(user.id), google.get(user.id, "")]:
            if email:
                out.by_email.setdefault(email.casefold(), user.id)
        out.invite[user.id] = (google.get(user.id) or user.email).casefold()
        out.set_up[user.id] = sync_set_up(user.id)
    return out


# --------------------------------------------------------------------------- canonical fields


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def activity_time(a: Activity) -> dict[str, Any] | None:
    """The canonical ``time`` of an activity (see :data:`crmtui.sync.remote.EVENT_FIELDS`), or
    None when it has no start (it cannot be a calendar event)."""
    if a.all_day and a.start_date is not None:
        end = a.end_date or a.start_date
        return {"all_day": True, "start": None, "end": None, "timezone": "",
                "start_date": a.start_date.isoformat(), "end_date": end.isoformat()}
    if a.start is None:
        return None
    end = a.end if a.end is not None else a.start + DEFAULT_LENGTH
    return {"all_day": False, "start": _utc(a.start), "end": _utc(end),
            "timezone": a.timezone or "UTC", "start_date": None, "end_date": None}


def user_participants(a: Activity) -> list[str]:
    return sorted(p.ref_id for p in a.participants if p.kind is ParticipantKind.USER)


def activity_fields(a: Activity) -> dict[str, Any] | None:
    """The canonical fields of an activity; None when it cannot be an event (no start)."""
    when = activity_time(a)
    if when is None:
        return None
    return {"title": a.title, "notes": a.notes, "location": a.location, "time": when,
            "recurrence": list(a.recurrence), "attendees": user_participants(a)}


def event_fields(rc: RemoteEvent, users: Directory) -> dict[str, Any]:
    """The canonical fields of an event, attendees as CRM user ids."""
    out = {name: rc.fields.get(name) for name in EVENT_FIELDS if name != "attendees"}
    out["title"] = out["title"] or UNTITLED
    out["notes"] = out["notes"] or ""
    out["location"] = out["location"] or ""
    out["recurrence"] = list(out["recurrence"] or [])
    out["attendees"] = users.known(rc.attendees)
    return out


def starts_on(fields: Mapping[str, Any]) -> date | None:
    """The local date canonical fields start on (in the event's own time zone)."""
    when = fields.get("time") or {}
    if when.get("all_day"):
        return date.fromisoformat(when["start_date"]) if when.get("start_date") else None
    if not when.get("start"):
        return None
    start = datetime.fromisoformat(when["start"])
    try:
        zone = ZoneInfo(when.get("timezone") or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return start.astimezone(zone).date()


def apply_fields(a: Activity, fields: Mapping[str, Any],
                 participants: list[Participant] | None = None) -> Activity:
    """``a`` with the canonical ``fields`` (validated by the model)."""
    when = fields["time"]
    changes: dict[str, Any] = {"title": fields["title"] or UNTITLED, "notes": fields["notes"],
                               "location": fields["location"],
                               "recurrence": list(fields["recurrence"])}
    if when["all_day"]:
        changes.update(all_day=True, start=None, end=None, timezone="",
                       start_date=date.fromisoformat(when["start_date"]),
                       end_date=date.fromisoformat(when["end_date"]))
    else:
        zone = when.get("timezone") or "UTC"
        changes.update(all_day=False, start_date=None, end_date=None, timezone=zone,
                       start=datetime.fromisoformat(when["start"]),
                       end=datetime.fromisoformat(when["end"]))
    if participants is not None:
        changes["participants"] = participants
    return a.evolve(**changes)


def merged_participants(a: Activity | None, user_ids: Sequence[str],
                        attendees: Sequence[Attendee], users: Directory) -> list[Participant]:
    """The participants of an activity whose user participants become ``user_ids``: its contacts
    and the users that stay keep their place; responses come from Google where it has one."""
    responses = {users.user_of(at.email): at.response for at in attendees}
    wanted = set(user_ids)
    out: list[Participant] = []
    for p in (a.participants if a is not None else []):
        if p.kind is ParticipantKind.USER:
            if p.ref_id not in wanted:
                continue
            wanted.discard(p.ref_id)
            response = responses.get(p.ref_id, p.response.value)
            out.append(Participant(ParticipantKind.USER, p.ref_id, ResponseStatus(response)))
        else:
            out.append(p)
    for uid in user_ids:
        if uid in wanted:
            out.append(Participant(ParticipantKind.USER, uid,
                                   ResponseStatus(responses.get(uid, "needsAction"))))
    return out


def invite_list(user_ids: Sequence[str], remote: RemoteEvent | None, users: Directory
                ) -> list[str]:
    """Every attendee email the event must have: the ones the CRM does not know, as they are, then
    the CRM users (by the address they already have on the event, else the one to invite)."""
    out: list[str] = []
    present: dict[str, str] = {}
    for at in (remote.attendees if remote is not None else []):
        uid = users.user_of(at.email)
        if not uid:
            out.append(at.email)
        else:
            present.setdefault(uid, at.email)
    for uid in user_ids:
        email = present.get(uid) or users.invite.get(uid)
        if email and email not in out:
            out.append(email)
    return out


def event_id_for(activity_id: str, generation: int = 0) -> str:
    """The client-chosen event id of an activity (crmtui ids are hex, a subset of base32hex);
    a later generation after an earlier event of the activity was deleted in Google."""
    return activity_id if generation == 0 else f"{activity_id}v{generation}"


def label(fields: Mapping[str, Any] | None, fallback: str) -> str:
    title = (fields or {}).get("title") or ""
    return repr(title) if title else fallback[:8]


def original_start(a: Activity) -> str:
    """An occurrence's original start as the adapter wants it (a date, or a UTC instant)."""
    original = a.original_start
    if original is None:
        return ""
    if isinstance(original, datetime):
        return _utc(original)
    return original.isoformat()
