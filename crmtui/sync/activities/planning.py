"""Reading both sides and the stored status of an activity sync, and planning it.

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

:class:`ActivitySync` reads; :func:`plan_activities` (pure: no I/O) decides every action; the
runner (:mod:`crmtui.sync.runner`) applies them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from crmtui.model import Activity, SyncLink, SyncSettings, utcnow
from crmtui.store import ActivityQuery, Repository
from crmtui.sync.activities.actions import (
    KIND,
    ActivityRun,
    CreateEvent,
    CreateOccurrence,
    DeleteEvent,
    DropLink,
    ExcludeOccurrence,
    ImportEvent,
    LinkEvent,
    LocalActivity,
    MergeEvent,
    RefreshEvent,
    UnlinkEvent,
    exdate_line,
    keep_organizer,
    merge_event,
)
from crmtui.sync.activities.mapping import (
    Directory,
    activity_fields,
    build_directory,
    event_fields,
    label,
    link_base,
    link_remote,
    starts_on,
    user_participants,
)
from crmtui.sync.engine import ProgressFn, SyncReport, SyncSetupError, doubtful_records
from crmtui.sync.remote import (
    EVENT_FIELDS,
    Attendee,
    CalendarRemote,
    RemoteEvent,
    malformed_in,
)
from crmtui.sync.runner import Action, Plan
from crmtui.sync.state import ActivitiesState


@dataclass
class ActivityPlan(Plan):
    """An activity sync's plan; the properties list its actions by what they do."""

    not_pushed: list[str] = field(default_factory=list)  # participants' edits: the log says so

    @property
    def creates(self) -> list[str]:
        return [a.record for a in self.actions if isinstance(a, CreateEvent)]

    @property
    def imports(self) -> list[RemoteEvent]:
        return [a.remote for a in self.of(ImportEvent)]

    @property
    def links(self) -> list[tuple[str, RemoteEvent]]:
        return [(a.activity_id, a.remote) for a in self.of(LinkEvent)]

    @property
    def merges(self) -> list[MergeEvent]:
        return self.of(MergeEvent)

    @property
    def unlink(self) -> list[tuple[str, str, bool]]:
        return [(a.activity_id, a.why, a.clear) for a in self.of(UnlinkEvent)]

    @property
    def drop(self) -> list[tuple[str, str]]:
        return [(a.activity_id, a.why) for a in self.of(DropLink)]

    @property
    def deletes(self) -> list[tuple[str, str, str]]:
        return [(a.activity_id, a.remote_id, a.why) for a in self.of(DeleteEvent)]


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
    plan = ActivityPlan(linked=len(index),
                        guard_reason="many linked events are gone from Google Calendar")
    actions = plan.actions
    merges: list[Action] = []
    by_remote = {rid: aid for aid, rid in index.items()}
    seen: dict[str, RemoteEvent] = {}
    handled: set[str] = set()
    # An activity whose event was cancelled is free to be linked again: the organizer's sync
    # may have put it in Google once more, as a new event that carries its CRM id.
    freed = {by_remote[rc.remote_id] for rc in changes
             if rc.cancelled and rc.remote_id in by_remote}
    claimed: set[str] = set(index) - freed

    def gone(aid: str, why: str) -> None:
        mine = local.get(aid)
        actions.append(UnlinkEvent(aid, why, bool(mine and mine.drives)))
        handled.add(aid)

    # Cancellations last: an activity linked again to a new event is then not unlinked.
    for rc in sorted(changes, key=lambda rc: rc.cancelled):
        aid = by_remote.get(rc.remote_id)
        if rc.cancelled:
            series = by_remote.get(rc.series_id) if rc.series_id else None
            if series is not None and series in existing and rc.original_start:
                actions.append(ExcludeOccurrence(series, exdate_line(rc.original_start)))
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
            actions.append(LinkEvent(match, rc, local[match].fields))
            merges += merge_event(local[match], None, rc, users, report, listed=True, now=now)
            continue
        fields = event_fields(rc, users)
        day = starts_on(fields)
        if rc.series_id and rc.original_start:
            day = day or since
        if day is None or day < since:
            continue  # before the "synchronize from" date: not synced
        actions.append(ImportEvent(rc, fields))

    if full:
        listed = {rc.remote_id for rc in changes if not rc.cancelled}
        for aid, rid in index.items():
            if aid in handled or rid in listed:
                continue
            base_day = starts_on(link_base(links[aid])) if aid in links else None
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
                actions.append(DeleteEvent(aid, rid, "deleted in crmtui"))
            else:
                actions.append(DropLink(aid, "deleted in crmtui"))
            handled.add(aid)
            continue
        mine = local.get(aid)
        if mine is None:
            if aid in seen:  # a caller's bug: an activity Google changed must be loaded
                raise ValueError(f"activity {aid} changed in Google but was not read")
            continue
        assert link is not None  # every loaded linked activity's link is read
        rc = seen.get(aid) or from_link(link)
        if mine.drives and mine.fields is not None:
            merges += merge_event(mine, link_base(link), rc, users, report, listed=aid in seen,
                                  now=now)
        elif mine.attends:
            remote = event_fields(rc, users)
            if mine.fields is not None and mine.activity.modified > link.synced:
                edits = [n for n in EVENT_FIELDS if mine.fields.get(n) != remote.get(n)]
                if edits:
                    plan.not_pushed.append(
                        f"{label(mine.fields, aid)}: changes made in crmtui ({', '.join(edits)})"
                        " are not sent to Google by your sync: you take part in it, and only "
                        "the organizer's sync sends an activity")
            if aid in seen:
                merges.append(RefreshEvent(aid, rc, remote))
        elif organized_here:
            why = ("Show in calendar cleared in crmtui"
                   if not mine.activity.show_in_calendar else "no longer yours to synchronize")
            actions.append(DeleteEvent(aid, rid, why))
        else:
            actions.append(DropLink(aid, "no longer in your calendar sync"))
        handled.add(aid)

    for aid, mine in local.items():
        if mine.drives and aid not in claimed and aid not in handled:
            if mine.fields is None:
                report.skipped.append(f"{label(None, aid)}: has no start, so it cannot be in "
                                      "a calendar")
                continue
            create = CreateOccurrence if mine.activity.series_id else CreateEvent
            actions.append(create(mine))
    actions += merges
    return plan


def from_link(link: SyncLink) -> RemoteEvent:
    """The event as it was last read, rebuilt from the link (for a patch with its etag)."""
    raw = link_remote(link)
    return RemoteEvent(remote_id=link.remote_id, etag=link.etag,
                       fields={k: v for k, v in link_base(link).items() if k != "attendees"},
                       attendees=[Attendee(**a) for a in raw.get("attendees", [])],
                       organizer_self=bool(raw.get("organizer_self")),
                       ical_uid=raw.get("ical_uid", ""), raw=raw)


@dataclass
class ActivitySync:
    """One activity sync of one user: reads both sides and the status, and plans."""

    repo: Repository
    user_id: str
    settings: SyncSettings
    remote: CalendarRemote
    report: SyncReport
    sync_set_up: Callable[[str], bool] | None = None  # whether a user has activity sync
    dry_run: bool = False

    def prepare(self, progress: ProgressFn) -> tuple[ActivityPlan, ActivityRun]:
        """Read both sides and the stored status; the plan, and the context to run it in."""
        self.started = utcnow()
        report = self.report
        since = self.settings.activities_from
        if since is None:
            raise SyncSetupError("activity sync is not set up: run `crmtui sync setup activities "
                                 "--from DATE` (activities starting on or after DATE are synced)")
        users = build_directory(self.repo, self.sync_set_up or (lambda uid: uid == self.user_id))
        users.set_up[self.user_id] = True
        self.users = users
        state = ActivitiesState.read(self.repo, self.user_id)
        self.state = state
        progress("Reading changes from Google Calendar", 0, 0)
        time_min = datetime.combine(since, time(), UTC) - timedelta(days=1)
        listing = self.remote.list_changes(state.sync_token, time_min)
        self.listing_token = listing.sync_token
        changes = list(listing.events)
        malformed = list(listing.malformed)
        retry = [r for r in state.retry
                 if r not in {e.remote_id for e in changes} | {r for r, _ in malformed}]
        if retry:  # events that could not be imported (or read) last time
            found = self.remote.get(retry)
            changes += found
            malformed += malformed_in(found)
        # An event that cannot be read skips only itself: reported, read again next run; its
        # linked activity sits this run out and is looked at again.
        unread = {remote_id for remote_id, _ in malformed if remote_id}
        for remote_id, why in malformed:
            report.skipped.append(f"{remote_id or 'an event without an id'} (Google Calendar): "
                                  f"cannot be read: {why}")
        if state.sync_token and listing.full:
            report.notes.append("Google's sync token had expired: every event was listed and "
                                "reconciled through the stored links.")
        # Series before their changed occurrences, so an occurrence finds its series' activity.
        changes.sort(key=lambda rc: bool(rc.series_id))
        linked = self.repo.link_index(self.user_id, KIND)
        index = {aid: rid for aid, (rid, _) in linked.items()}
        changes, unread_now = self._confirmed(  # (records that cannot be read wait: below)
            changes, {aid: rid for aid, rid in index.items() if rid not in unread},
            etags=dict(linked.values()), full=listing.full)
        for remote_id, why in unread_now:
            report.skipped.append(f"{remote_id} (Google Calendar): cannot be read: {why}")
        unread |= {remote_id for remote_id, _ in unread_now}
        if not listing.full:
            known = {rid: etag for rid, etag in linked.values() if etag}
            changes = [rc for rc in changes if rc.cancelled or known.get(rc.remote_id) != rc.etag]
        existing = self.repo.activity_ids()
        self.existing = existing
        changes = self._without_deleted(changes, index, existing)
        local, uids = self._local(index, changes, since,
                                  None if listing.full else state.local_stamp,
                                  state.retry_local, existing)
        waiting = {aid for aid, rid in index.items() if rid in unread}
        planned = {aid: rid for aid, rid in index.items() if aid not in waiting}
        mine = {aid: a for aid, a in local.items() if aid not in waiting}
        wanted_links = (set(planned) if listing.full
                        else (set(mine) | set(planned) - existing) & set(planned))
        links = self.repo.get_links(self.user_id, KIND, wanted_links)
        plan = plan_activities(mine, links, planned, changes, full=listing.full,
                               existing=existing, uids=uids, users=users, since=since,
                               report=report)
        report.notes += plan.not_pushed
        self.ctx = ActivityRun(self.repo, self.user_id, self.remote, users, report, local,
                               remote_ids=dict(index), generations=dict(state.generations),
                               since=since)
        self.ctx.failed_imports += sorted(unread)
        self.ctx.retry_local |= waiting
        return plan, self.ctx

    def final_state(self) -> ActivitiesState:
        """The state a successful run ends with."""
        ctx = self.ctx
        return ActivitiesState(
            sync_token=self.listing_token, retry=ctx.failed_imports,
            retry_local=sorted(ctx.retry_local),
            generations={a: g for a, g in ctx.generations.items() if a in self.existing},
            local_stamp=self.started)

    def _confirmed(self, changes: list[RemoteEvent], index: Mapping[str, str], *,
                   etags: Mapping[str, str],
                   full: bool) -> tuple[list[RemoteEvent], list[tuple[str, str]]]:
        """The listing, with what it says of linked events checked by ``events.get``: a linked
        event it shows cancelled or in a version older than the one crmtui last wrote or read,
        and (in a full listing) one it leaves out, is read again, and the read is what the plan
        goes by (a listing may lag Google's writes; a direct read does not)."""
        by_remote = {rid: aid for aid, rid in index.items()}
        known = dict(etags)
        listed = [rc for rc in changes if rc.remote_id in by_remote]
        # only a version other than the one crmtui knows can be an older one
        stored = self.repo.get_links(self.user_id, KIND, [
            by_remote[rc.remote_id] for rc in listed
            if not (rc.cancelled) and rc.etag != known.get(rc.remote_id)])
        doubtful = doubtful_records(listed, stored, by_remote, lambda rc: rc.cancelled)
        missing = set(by_remote) - {rc.remote_id for rc in changes} if full else set()
        if not doubtful and not missing:
            return changes, []
        found = self.remote.get(sorted(doubtful | missing))
        unread = malformed_in(found)
        unreadable = {rid for rid, _ in unread}
        fresh = {rc.remote_id: rc for rc in found}
        out = [fresh.get(rc.remote_id, rc) if rc.remote_id in doubtful else rc for rc in changes
               if rc.remote_id not in unreadable]
        out += [fresh[rid] for rid in sorted(missing)
                if rid in fresh and not fresh[rid].cancelled]
        return out, unread

    def _without_deleted(self, changes: list[RemoteEvent], index: Mapping[str, str],
                         existing: set[str]) -> list[RemoteEvent]:
        """The listing without the events another user's sync links to an activity deleted in
        crmtui: that user's sync removes them from Google, and importing this user's copy
        meanwhile would bring the deleted activity back."""
        mine = set(index.values())
        unlinked = {rc.remote_id for rc in changes if not rc.cancelled
                    and rc.remote_id not in mine}
        if not unlinked:
            return changes
        deleted: set[str] = set()
        for user in self.repo.list_users():
            if user.id == self.user_id:
                continue
            deleted |= {rid for aid, (rid, _) in self.repo.link_index(user.id, KIND).items()
                        if rid in unlinked and aid not in existing}
        if not deleted:
            return changes
        self.report.notes.append(
            f"{len(deleted)} event(s) of your calendar belong to activities deleted in crmtui; "
            "they are not imported (their organizer's sync removes them from Google).")
        return [rc for rc in changes if rc.remote_id not in deleted]

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
               stamp: datetime | None, retry: Sequence[str], existing: set[str]
               ) -> tuple[dict[str, LocalActivity], dict[str, str]]:
        by_remote = {rid: aid for aid, rid in index.items()}
        unlinked = [rc for rc in changes if rc.remote_id not in by_remote and not rc.cancelled]
        uids = self.repo.activity_ids_by_uid({rc.ical_uid for rc in unlinked if rc.ical_uid})
        wanted: set[str] = {by_remote[rc.remote_id] for rc in changes if rc.remote_id in by_remote}
        wanted |= {rc.crm_id for rc in unlinked if rc.crm_id} | set(uids.values()) | set(retry)
        found: dict[str, Activity] = {}
        if stamp:
            query = ActivityQuery(modified_since=stamp)
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
            if drives and (a.organizer_id or a.owner_id) != self.user_id:
                a = keep_organizer(a)  # this user takes it over; its organizer stays in it
            local[a.id] = LocalActivity(a, activity_fields(a), drives, attends)
        return local, uids
