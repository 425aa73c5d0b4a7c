"""Two-way activity sync with Google Calendar (DESIGN.md section 3, "Activities").

The same engine as contacts: a pure plan (:func:`plan_activities`) from the local activities, the
stored links with their base values and the calendar's changes, merged per field by
:func:`~crmtui.sync.engine.merge_fields`; then the plan is applied a batch at a time, each batch's
local changes and links in one store transaction.

Who does what, for the user ``U`` who runs the sync:

- ``U`` *drives* an activity that has Show in calendar, starts on or after U's "synchronize from"
  date and is organized by U, or whose organizer has no sync set up while U takes part in it (U
  then becomes its organizer). Driven activities go to U's primary calendar, and U's sync merges
  both ways.
- ``U`` *attends* an activity with Show in calendar that U takes part in and someone else drives.
  U's sync links U's copy of the event to the same activity (by the CRM id the event carries in
  its shared extended properties, else by iCalUID), never a second copy; it pushes nothing, and
  says so when U changed the activity locally.
- An event of U's calendar that no activity matches is imported: its participants are the CRM
  users whose emails match attendees, its organizer the user matching the event's organizer, else
  U. Attendees the CRM does not know, conference data and reminders stay in Google untouched.
- Nothing is deleted in the CRM: an event cancelled in Google unlinks the activity and clears Show
  in calendar (when U drives it). An activity deleted in the CRM, or with Show in calendar cleared,
  is deleted from the calendar of the user who drove it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crmtui.model import (
    Activity,
    Participant,
    ParticipantKind,
    ResponseStatus,
    SyncKind,
    SyncLink,
    SyncSettings,
    ValidationError,
    utcnow,
)
from crmtui.store import ActivityQuery, NotFound, Repository
from crmtui.sync.engine import (
    GuardStop,
    ProgressFn,
    SyncReport,
    SyncSetupError,
    apply_merges,
    check_guard,
    chunks,
    describe_merge,
    merge_fields,
    no_progress,
)
from crmtui.sync.remote import (
    EVENT_BATCH,
    EVENT_FIELDS,
    Attendee,
    CalendarRemote,
    EventResult,
    EventUpdate,
    NewEvent,
    RemoteEvent,
)

DEFAULT_LENGTH = timedelta(hours=1)  # a timed activity without an end lasts this long in Google
UNTITLED = "(no title)"
KIND = SyncKind.ACTIVITIES


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


def _label(fields: Mapping[str, Any] | None, fallback: str) -> str:
    title = (fields or {}).get("title") or ""
    return repr(title) if title else fallback[:8]


# --------------------------------------------------------------------------- the plan


@dataclass
class LocalActivity:
    activity: Activity
    fields: dict[str, Any] | None  # None: no start, cannot be an event
    drives: bool  # this user's sync pushes it
    attends: bool  # this user takes part; someone else's sync pushes it

    @property
    def id(self) -> str:
        return self.activity.id


@dataclass
class Push:
    """Write merged fields to Google (``to_remote``) and/or the CRM (``to_local``)."""

    activity_id: str
    remote: RemoteEvent
    merged: dict[str, Any]
    to_remote: list[str]
    to_local: list[str]


@dataclass
class ActivityPlan:
    creates: list[str] = field(default_factory=list)  # driven, unlinked: insert
    imports: list[RemoteEvent] = field(default_factory=list)  # unmatched events: new activities
    links: list[tuple[str, RemoteEvent]] = field(default_factory=list)  # matched pairs
    merges: list[Push] = field(default_factory=list)  # something to write
    refreshed: list[tuple[str, RemoteEvent, dict[str, Any]]] = field(default_factory=list)
    unlink: list[tuple[str, str, bool]] = field(default_factory=list)  # gone from Google:
    # (activity id, why, clear Show in calendar); the mass-unlink guard counts these
    drop: list[tuple[str, str]] = field(default_factory=list)  # links crmtui no longer needs
    deletes: list[tuple[str, str, str]] = field(default_factory=list)  # (id, event id, why)
    not_pushed: list[str] = field(default_factory=list)  # participants' edits: the log says so
    linked_count: int = 0

    def unlinking(self) -> int:
        return len(self.unlink)


def plan_activities(local: Mapping[str, LocalActivity], links: Mapping[str, SyncLink],
                    index: Mapping[str, str], changes: Sequence[RemoteEvent], *, full: bool,
                    existing: set[str], uids: Mapping[str, str], users: Directory,
                    since: date, report: SyncReport, now: datetime | None = None
                    ) -> ActivityPlan:
    """Decide every action of one user's activity sync (pure: no I/O).

    ``local``: the activities that may need something (changed since the last sync, driven and
    not linked, linked ones Google changed, ones an event matches). ``links``: the links of those
    (activity id -> link); ``index``: activity id -> event id of every link of the user.
    ``changes``: events changed since the last sync (every event when ``full``). ``existing``:
    every activity id. ``uids``: iCalUID -> activity id, for the unlinked events' UIDs. ``since``:
    the "synchronize from" date."""
    plan = ActivityPlan(linked_count=len(index))
    by_remote = {rid: aid for aid, rid in index.items()}
    seen: dict[str, RemoteEvent] = {}
    handled: set[str] = set()
    claimed: set[str] = set(index)

    def gone(aid: str, why: str) -> None:
        mine = local.get(aid)
        plan.unlink.append((aid, why, bool(mine and mine.drives)))
        handled.add(aid)

    for rc in changes:
        aid = by_remote.get(rc.remote_id)
        if rc.cancelled:
            if aid is not None and aid not in handled:
                gone(aid, "cancelled in Google Calendar")
            continue
        if aid is not None:
            seen[aid] = rc
            continue
        match = ""
        for candidate in (rc.crm_id, uids.get(rc.ical_uid, "")):
            if candidate and candidate in existing and candidate not in claimed \
                    and candidate in local:
                match = candidate
                break
        if match:
            claimed.add(match)
            handled.add(match)
            plan.links.append((match, rc))
            _merge(plan, report, local[match], None, rc, users, now, listed=True)
            continue
        fields = event_fields(rc, users)
        day = starts_on(fields)
        if rc.series_id and rc.original_start:
            day = day or since
        if day is None or day < since:
            continue  # before the "synchronize from" date: not synced
        plan.imports.append(rc)

    if full:
        listed = {rc.remote_id for rc in changes if not rc.cancelled}
        for aid, rid in index.items():
            if aid in handled or rid in listed:
                continue
            base_day = starts_on(links[aid].base) if aid in links else None
            if base_day is not None and base_day < since:
                continue  # listed from the "synchronize from" date on: not expected
            gone(aid, "no longer in Google Calendar")

    for aid, rid in index.items():
        if aid in handled:
            continue
        link = links.get(aid)
        organized_here = bool(link and link.remote.get("organizer_self"))
        if aid not in existing:
            if organized_here:
                plan.deletes.append((aid, rid, "deleted in crmtui"))
            else:
                plan.drop.append((aid, "deleted in crmtui"))
            handled.add(aid)
            continue
        mine = local.get(aid)
        if mine is None:
            if aid in seen:  # a caller's bug: an activity Google changed must be loaded
                raise ValueError(f"activity {aid} changed in Google but was not read")
            continue
        assert link is not None  # every loaded linked activity's link is read
        rc = seen.get(aid) or _from_link(link)
        if mine.drives and mine.fields is not None:
            _merge(plan, report, mine, link.base, rc, users, now, listed=aid in seen)
        elif mine.attends:
            remote = event_fields(rc, users)
            if mine.fields is not None and mine.activity.modified > link.synced:
                edits = [n for n in EVENT_FIELDS if mine.fields.get(n) != remote.get(n)]
                if edits:
                    plan.not_pushed.append(
                        f"{_label(mine.fields, aid)}: changes made in crmtui ({', '.join(edits)})"
                        " are not sent to Google by your sync: you take part in it, and only "
                        "the organizer's sync sends an activity")
            if aid in seen:
                plan.refreshed.append((aid, rc, remote))
        elif organized_here:
            why = ("Show in calendar cleared in crmtui"
                   if not mine.activity.show_in_calendar else "no longer yours to synchronize")
            plan.deletes.append((aid, rid, why))
        else:
            plan.drop.append((aid, "no longer in your calendar sync"))
        handled.add(aid)

    for aid, mine in local.items():
        if mine.drives and aid not in claimed and aid not in handled:
            if mine.fields is None:
                report.skipped.append(f"{_label(None, aid)}: has no start, so it cannot be in "
                                      "a calendar")
                continue
            plan.creates.append(aid)
    return plan


def _from_link(link: SyncLink) -> RemoteEvent:
    """The event as it was last read, rebuilt from the link (for a patch with its etag)."""
    raw = dict(link.remote)
    return RemoteEvent(remote_id=link.remote_id, etag=link.etag,
                       fields={k: v for k, v in link.base.items() if k != "attendees"},
                       attendees=[Attendee(**a) for a in raw.get("attendees", [])],
                       organizer_self=bool(raw.get("organizer_self")),
                       ical_uid=raw.get("ical_uid", ""), raw=raw)


def _merge(plan: ActivityPlan, report: SyncReport, mine: LocalActivity,
           base: Mapping[str, Any] | None, rc: RemoteEvent, users: Directory,
           now: datetime | None, *, listed: bool) -> None:
    remote = event_fields(rc, users)
    if mine.fields is None or not mine.drives:
        plan.refreshed.append((mine.id, rc, remote))
        return
    merge = merge_fields(EVENT_FIELDS, base, mine.fields, remote,
                         local_time=mine.activity.modified, remote_time=rc.updated,
                         record_id=mine.id, now=now)
    report.conflicts += merge.conflicts
    to_local = list(merge.to_local)
    if "attendees" not in to_local and merged_participants(
            mine.activity, merge.fields["attendees"], rc.attendees, users) \
            != mine.activity.participants:
        to_local.append("responses")
    if merge.to_remote or to_local:
        plan.merges.append(Push(mine.id, rc, merge.fields, merge.to_remote, to_local))
    elif listed or base is None or dict(base) != merge.fields:
        plan.refreshed.append((mine.id, rc, merge.fields))


# --------------------------------------------------------------------------- running a sync


@dataclass
class ActivitySync:
    """One activity sync of one user: reads, plans and applies."""

    repo: Repository
    user_id: str
    settings: SyncSettings
    remote: CalendarRemote
    account_email: str = ""
    progress: ProgressFn = no_progress
    dry_run: bool = False
    confirmed: bool = False
    report: SyncReport | None = None
    finish: Callable[[dict[str, Any]], None] | None = None
    sync_set_up: Callable[[str], bool] | None = None
    retry_local: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.finish is None:
            self.finish = lambda state: self.repo.set_sync_state(self.user_id, KIND, state)
        if self.sync_set_up is None:
            self.sync_set_up = lambda uid: uid == self.user_id

    def run(self) -> SyncReport:
        started = utcnow()
        if self.report is None:
            self.report = SyncReport(kind=KIND.value, dry_run=self.dry_run)
        report = self.report
        since = self.settings.activities_from
        if since is None:
            raise SyncSetupError("activity sync is not set up: run `crmtui sync setup activities "
                                 "--from DATE` (activities starting on or after DATE are synced)")
        assert self.sync_set_up is not None
        self.users = build_directory(self.repo, self.sync_set_up)
        self.users.set_up[self.user_id] = True
        state = self.repo.get_sync_state(self.user_id, KIND)
        token = state.get("sync_token", "")
        self.progress("Reading changes from Google Calendar", 0, 0)
        time_min = datetime.combine(since, time(), UTC) - timedelta(days=1)
        listing = self.remote.list_changes(token, time_min)
        changes = list(listing.events)
        retry = [r for r in state.get("retry", []) if r not in {e.remote_id for e in changes}]
        if retry:  # events that could not be imported last time
            changes += self.remote.get(retry)
        if token and listing.full:
            report.notes.append("Google's sync token had expired: every event was listed and "
                                "reconciled through the stored links.")
        # Series before their changed occurrences, so an occurrence finds its series' activity.
        changes.sort(key=lambda rc: bool(rc.series_id))
        linked = self.repo.link_index(self.user_id, KIND)
        index = {aid: rid for aid, (rid, _) in linked.items()}
        if not listing.full:
            known = {rid: etag for rid, etag in linked.values() if etag}
            changes = [rc for rc in changes if rc.cancelled or known.get(rc.remote_id) != rc.etag]
        existing = self.repo.activity_ids()
        local, uids = self._local(index, changes, since,
                                  "" if listing.full else state.get("local_stamp", ""),
                                  state.get("retry_local", []), existing)
        wanted_links = (set(index) if listing.full
                        else (set(local) | set(index) - existing) & set(index))
        links = self.repo.get_links(self.user_id, KIND, wanted_links)
        plan = plan_activities(local, links, index, changes, full=listing.full,
                               existing=existing, uids=uids, users=self.users, since=since,
                               report=report)
        report.notes += plan.not_pushed
        try:
            check_guard(plan.unlinking(), plan.linked_count, confirmed=self.confirmed,
                        reason="many linked events are gone from Google Calendar")
        except GuardStop as stop:
            if not self.dry_run:
                raise
            report.notes.append(f"A real run would stop here: {stop}")
        if self.dry_run:
            self._describe(plan, local, report)
            return report
        generations: dict[str, int] = dict(state.get("generations", {}))
        failed = self._apply(plan, local, report, generations)
        assert self.finish is not None
        self.finish({**state, "sync_token": listing.sync_token, "retry": failed,
                     "retry_local": sorted(self.retry_local),
                     "generations": {a: g for a, g in generations.items() if a in existing},
                     "local_stamp": started.isoformat(), "last_sync": utcnow().isoformat()})
        return report

    # -- reading the CRM side ----------------------------------------------------------------

    def _roles(self, a: Activity, since: date) -> tuple[bool, bool]:
        """(drives, attends) for this user."""
        uid = self.user_id
        if not a.show_in_calendar:
            return False, False
        if a.series_id:
            day = since  # an occurrence goes with its series
        else:
            day = a.starts_on() or since
        if day < since:
            return False, False
        takes_part = uid in user_participants(a)
        organizer = a.organizer_id or a.owner_id
        if organizer == uid:
            return True, False
        if not self.users.set_up.get(organizer, False) and takes_part:
            return True, False
        return False, takes_part

    def _local(self, index: Mapping[str, str], changes: Sequence[RemoteEvent], since: date,
               stamp: str, retry: Sequence[str], existing: set[str]
               ) -> tuple[dict[str, LocalActivity], dict[str, str]]:
        by_remote = {rid: aid for aid, rid in index.items()}
        unlinked = [rc for rc in changes if rc.remote_id not in by_remote and not rc.cancelled]
        uids = self.repo.activity_ids_by_uid({rc.ical_uid for rc in unlinked if rc.ical_uid})
        wanted: set[str] = {by_remote[rc.remote_id] for rc in changes if rc.remote_id in by_remote}
        wanted |= {rc.crm_id for rc in unlinked if rc.crm_id} | set(uids.values()) | set(retry)
        found: dict[str, Activity] = {}
        if stamp:
            query = ActivityQuery(modified_since=datetime.fromisoformat(stamp))
        else:  # a full run looks at every activity that may be in the calendar
            query = ActivityQuery(show_in_calendar=True)
            wanted |= set(index)
        for a in self.repo.find_activities(query):
            found[a.id] = a
        missing = [aid for aid in wanted if aid in existing and aid not in found]
        for a in self.repo.get_activities(sorted(missing)):
            found[a.id] = a
        local: dict[str, LocalActivity] = {}
        for a in found.values():
            drives, attends = self._roles(a, since)
            if not (drives or attends or a.id in index or a.id in wanted):
                continue
            local[a.id] = LocalActivity(a, activity_fields(a), drives, attends)
        return local, uids

    # -- dry run --------------------------------------------------------------------------------

    def _describe(self, plan: ActivityPlan, local: Mapping[str, LocalActivity],
                  report: SyncReport) -> None:
        out = report.plan
        for aid in plan.creates:
            out.append(f"Google: create {_label(local[aid].fields, aid)}")
            report.google.created += 1
        for rc in plan.imports:
            out.append(f"crmtui: import {_label(event_fields(rc, self.users), rc.remote_id)}")
            report.crm.created += 1
        for aid, _rc in plan.links:
            out.append(f"link {_label(local[aid].fields, aid)} to its Google event")
            report.crm.linked += 1
        for push in plan.merges:
            describe_merge(report, _label(push.merged, push.activity_id), push.to_remote,
                           push.to_local)
        for aid, why, _clear in plan.unlink:
            out.append(f"crmtui: unlink {aid[:8]} ({why})")
            report.crm.untagged += 1
        for aid, why in plan.drop:
            out.append(f"crmtui: forget the link of {aid[:8]} ({why})")
        for aid, _rid, why in plan.deletes:
            out.append(f"Google: remove {aid[:8]} from the calendar ({why})")
            report.google.removed += 1

    # -- applying ---------------------------------------------------------------------------------

    def _apply(self, plan: ActivityPlan, local: Mapping[str, LocalActivity],
               report: SyncReport, generations: dict[str, int]) -> list[str]:
        total = (len(plan.creates) + len(plan.imports) + len(plan.links) + len(plan.merges)
                 + len(plan.unlink) + len(plan.deletes))
        done = 0

        def step(message: str, n: int) -> None:
            nonlocal done
            done += n
            self.progress(message, done, total)

        self._remote_ids = {aid: rid for aid, (rid, _) in
                            self.repo.link_index(self.user_id, KIND).items()}
        adopted = self._create(plan.creates, local, report, generations, step)
        failed = self._import(plan.imports, report, step)
        if plan.links:
            report.crm.linked += len(plan.links)
            step("Linking activities found on both sides", len(plan.links))
        self._apply_merges([*plan.merges, *adopted], local, report, step)
        if plan.refreshed:
            with self.repo.transaction():
                for aid, rc, fields in plan.refreshed:
                    self._link(aid, rc, fields)
                    self._set_uid(aid, rc)
        if plan.unlink:
            with self.repo.transaction():
                existing = self.repo.activity_ids()
                for aid, _why, clear in plan.unlink:
                    self.repo.delete_link(self.user_id, KIND, aid)
                    if clear and aid in existing:
                        a = self.repo.get_activity(aid)
                        self.repo.update_activity(a.evolve(show_in_calendar=False), touch=False)
            report.crm.untagged += len(plan.unlink)
            step("Unlinking activities whose events are gone", len(plan.unlink))
        if plan.drop:
            with self.repo.transaction():
                for aid, _why in plan.drop:
                    self.repo.delete_link(self.user_id, KIND, aid)
        for batch in chunks(plan.deletes, EVENT_BATCH):
            results = self.remote.delete([rid for _, rid, _ in batch])
            with self.repo.transaction():
                for (aid, _rid, _why), result in zip(batch, results, strict=True):
                    if result.error:
                        report.skipped.append(f"{aid[:8]}: not removed from Google Calendar "
                                              f"({result.error})")
                        continue
                    self.repo.delete_link(self.user_id, KIND, aid)
                    report.google.removed += 1
            step("Removing events from Google Calendar", len(batch))
        return failed

    def _new_event(self, a: Activity, fields: dict[str, Any], generation: int) -> NewEvent:
        new = NewEvent(crm_id=a.id, event_id=event_id_for(a.id, generation), fields=fields,
                       attendees=invite_list(fields["attendees"], None, self.users))
        if a.series_id:
            new.series_remote_id = self._remote_ids.get(a.series_id, "")
            new.original_start = _original(a)
        return new

    def _create(self, creates: Sequence[str], local: Mapping[str, LocalActivity],
                report: SyncReport, generations: dict[str, int], step: Any) -> list[Push]:
        """Insert the new events; returns the merges of events an interrupted run had
        inserted already, with other content (the activity changed since)."""
        adopted: list[Push] = []
        # Series and single activities first, then changed occurrences (which need their
        # series' event).
        waves = [[aid for aid in creates if not local[aid].activity.series_id],
                 [aid for aid in creates if local[aid].activity.series_id]]
        for wave in waves:
            pending = list(wave)
            for _attempt in range(2):  # a second round for ids taken by an earlier event
                retry: list[str] = []
                for batch in chunks(pending, EVENT_BATCH):
                    news = []
                    for aid in batch:
                        a = local[aid].activity
                        fields = local[aid].fields
                        assert fields is not None
                        new = self._new_event(a, fields, generations.get(aid, 0))
                        if a.series_id and not (new.series_remote_id and new.original_start):
                            report.skipped.append(f"{_label(fields, aid)}: its series is not in "
                                                  "Google Calendar yet; next run sends it")
                            self.retry_local.add(aid)
                            continue
                        news.append(new)
                    results = self.remote.insert(news) if news else []
                    with self.repo.transaction():
                        for new, result in zip(news, results, strict=True):
                            mine = local[new.crm_id]
                            if result.taken:
                                generations[new.crm_id] = generations.get(new.crm_id, 0) + 1
                                retry.append(new.crm_id)
                                continue
                            if result.event is None:
                                report.skipped.append(f"{_label(new.fields, new.crm_id)}: "
                                                      f"Google refused it ({result.error})")
                                self.retry_local.add(new.crm_id)
                                continue
                            if result.event.cancelled:  # an occurrence deleted in Google
                                report.skipped.append(f"{_label(new.fields, new.crm_id)}: that "
                                                      "occurrence was deleted in Google Calendar")
                                continue
                            a = self._own(mine.activity)
                            fresh = event_fields(result.event, self.users)
                            self._link(a.id, result.event,
                                       new.fields if fresh == new.fields else fresh)
                            if fresh != new.fields:  # an earlier run's event: merge with it
                                again = ActivityPlan()
                                _merge(again, report, LocalActivity(a, new.fields, True, False),
                                       None, result.event, self.users, None, listed=True)
                                adopted += again.merges
                            self._set_uid(a.id, result.event, a)
                            self._remote_ids[a.id] = result.event.remote_id
                            report.google.created += 1
                    step("Sending new activities to Google Calendar", len(batch))
                pending = retry
                if not pending:
                    break
            for aid in pending:
                report.skipped.append(f"{aid[:8]}: its event id is taken in Google; next run "
                                      "tries another")
                self.retry_local.add(aid)
        return adopted

    def _own(self, a: Activity) -> Activity:
        """Make this user the organizer of an activity whose organizer has no sync set up."""
        if a.organizer_id == self.user_id:
            return a
        current = self.repo.get_activity(a.id)
        return self.repo.update_activity(current.evolve(organizer_id=self.user_id), touch=False)

    def _set_uid(self, aid: str, rc: RemoteEvent, a: Activity | None = None) -> None:
        if not rc.ical_uid:
            return
        current = a if a is not None else self.repo.get_activity(aid)
        if current.ical_uid != rc.ical_uid:
            current = self.repo.get_activity(aid)
            self.repo.update_activity(current.evolve(ical_uid=rc.ical_uid), touch=False)

    def _import(self, imports: Sequence[RemoteEvent], report: SyncReport, step: Any
                ) -> list[str]:
        failed: list[str] = []
        series_of = {rid: aid for aid, rid in self._remote_ids.items()}
        for batch in chunks(imports, EVENT_BATCH):
            made: list[tuple[Activity, RemoteEvent, dict[str, Any]]] = []
            for rc in batch:
                fields = event_fields(rc, self.users)
                series = series_of.get(rc.series_id, "") if rc.series_id else ""
                if rc.series_id and not series:
                    continue  # an occurrence of a series that is not synced
                organizer = self.users.user_of(rc.organizer_email) or self.user_id
                try:
                    a = apply_fields(
                        Activity(title=UNTITLED, owner_id=self.user_id, organizer_id=organizer,
                                 show_in_calendar=True, ical_uid=rc.ical_uid,
                                 series_id=series,
                                 original_start=rc.original_start or None,
                                 modified=rc.updated or utcnow()),
                        fields, merged_participants(None, fields["attendees"], rc.attendees,
                                                    self.users))
                except (ValidationError, ValueError, KeyError) as exc:
                    report.skipped.append(f"{_label(fields, rc.remote_id)} (Google Calendar): "
                                          f"cannot be imported: {exc}")
                    failed.append(rc.remote_id)
                    continue
                made.append((a, rc, fields))
                series_of[rc.remote_id] = a.id  # its occurrences may be in this very batch
            with self.repo.transaction():
                self.repo.add_activities([a for a, _, _ in made])
                for a, rc, fields in made:
                    self._link(a.id, rc, fields)
                    self._remote_ids[a.id] = rc.remote_id
                    series_of[rc.remote_id] = a.id
            report.crm.created += len(made)
            step("Importing events from Google Calendar", len(batch))
        return failed

    def _apply_merges(self, merges: Sequence[Push], local: Mapping[str, LocalActivity],
                      report: SyncReport, step: Any) -> None:
        def send(pushes: Sequence[Push]) -> dict[str, EventResult]:
            updates = [EventUpdate(p.remote, p.merged, p.to_remote,
                                   invite_list(p.merged["attendees"], p.remote, self.users))
                       for p in pushes]
            return {r.key: r for r in self.remote.patch(updates)}

        def land(push: Push, result: EventResult | None) -> None:
            remote = result.event if result and result.event else push.remote
            if push.to_local and not self._pull(push, remote, report):
                return
            if push.activity_id in local and local[push.activity_id].drives:
                self._own(self.repo.get_activity(push.activity_id))
            self._link(push.activity_id, remote, push.merged)
            self._set_uid(push.activity_id, remote)
            if push.to_remote:
                report.google.updated += 1

        def fail(push: Push, why: str) -> None:
            report.skipped.append(f"{_label(push.merged, push.activity_id)}: not updated in "
                                  f"Google ({why})")
            self.retry_local.add(push.activity_id)

        apply_merges(merges, size=EVENT_BATCH, send=send, key=lambda p: p.remote.remote_id,
                     ok=lambda r: r.event is not None, land=land, fail=fail,
                     reread=lambda stale: self._reread(stale, report),
                     transaction=self.repo.transaction,
                     step=lambda n: step("Updating changed activities", n))

    def _reread(self, stale: list[Push], report: SyncReport) -> list[Push]:
        """Changed in Google since it was read: read again and merge again."""
        fresh = {rc.remote_id: rc for rc in self.remote.get([p.remote.remote_id for p in stale])}
        pending: list[Push] = []
        for push in stale:
            rc = fresh.get(push.remote.remote_id)
            link = self.repo.get_link(self.user_id, KIND, push.activity_id)
            if rc is None or rc.cancelled or link is None:
                report.skipped.append(f"{_label(push.merged, push.activity_id)}: gone from "
                                      "Google while syncing; next run settles it")
                self.retry_local.add(push.activity_id)
                continue
            a = self.repo.get_activity(push.activity_id)
            again = ActivityPlan()
            _merge(again, report, LocalActivity(a, activity_fields(a), True, False), link.base,
                   rc, self.users, None, listed=True)
            pending += again.merges
            with self.repo.transaction():
                for aid, rc2, fields in again.refreshed:
                    self._link(aid, rc2, fields)
        return pending

    def _pull(self, push: Push, remote: RemoteEvent, report: SyncReport) -> bool:
        """Write merged fields into the activity; False (and reported) if they do not fit."""
        try:
            a = self.repo.get_activity(push.activity_id)
            people = merged_participants(a, push.merged["attendees"], remote.attendees,
                                         self.users)
            self.repo.update_activity(apply_fields(a, push.merged, people), touch=False)
        except (ValidationError, NotFound, ValueError, KeyError) as exc:
            report.skipped.append(f"{_label(push.merged, push.activity_id)}: not updated in "
                                  f"crmtui ({exc})")
            self.retry_local.add(push.activity_id)
            return False
        report.crm.updated += 1
        return True

    def _link(self, aid: str, rc: RemoteEvent, base: Mapping[str, Any]) -> None:
        remote = {"organizer_self": rc.organizer_self, "ical_uid": rc.ical_uid,
                  "attendees": [vars(a) for a in rc.attendees]}
        self.repo.put_link(SyncLink(user_id=self.user_id, kind=KIND, local_id=aid,
                                    remote_id=rc.remote_id, etag=rc.etag, base=dict(base),
                                    remote=remote, synced=utcnow()))


def _original(a: Activity) -> str:
    """An occurrence's original start as the adapter wants it (a date, or a UTC instant)."""
    original = a.original_start
    if original is None:
        return ""
    if isinstance(original, datetime):
        return _utc(original)
    return original.isoformat()
