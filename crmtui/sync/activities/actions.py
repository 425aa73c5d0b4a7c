"""What an activity sync does, one action per record (see :mod:`crmtui.sync.runner`).

Nothing is deleted in the CRM: an event cancelled in Google unlinks the activity and clears Show
in calendar when this user drives it (:class:`UnlinkEvent`). An activity deleted in the CRM, or
with Show in calendar cleared, is deleted from the calendar of the user who drove it
(:class:`DeleteEvent`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from crmtui.model import (
    Activity,
    Participant,
    ParticipantKind,
    ResponseStatus,
    SyncKind,
    SyncLink,
    ValidationError,
    utcnow,
)
from crmtui.store import NotFound, Repository
from crmtui.sync.activities.mapping import (
    UNTITLED,
    Directory,
    activity_fields,
    apply_fields,
    event_fields,
    event_id_for,
    invite_list,
    label,
    lean_link_base,
    lean_link_remote,
    link_base,
    merged_participants,
    original_start,
)
from crmtui.sync.engine import SyncReport, changed_meanwhile, describe_merge, merge_fields
from crmtui.sync.remote import (
    EVENT_BATCH,
    EVENT_FIELDS,
    CalendarRemote,
    EventResult,
    EventUpdate,
    NewEvent,
    RemoteEvent,
    malformed_in,
    not_read_again,
)
from crmtui.sync.runner import ALL, Action, MergeAction

KIND = SyncKind.ACTIVITIES


@dataclass
class LocalActivity:
    """An activity as the planner sees it, and this user's role in it."""

    activity: Activity
    fields: dict[str, Any] | None  # None: no start, cannot be an event
    drives: bool  # this user's sync pushes it
    attends: bool  # this user takes part; someone else's sync pushes it

    @property
    def id(self) -> str:
        return self.activity.id


@dataclass
class ActivityRun:
    """What the actions of one activity sync work on."""

    repo: Repository
    user_id: str
    remote: CalendarRemote
    users: Directory
    report: SyncReport
    local: Mapping[str, LocalActivity]
    remote_ids: dict[str, str]  # activity id -> event id of every link (kept current)
    generations: dict[str, int] = field(default_factory=dict)  # see ActivitiesState
    retry_local: set[str] = field(default_factory=set)
    failed_imports: list[str] = field(default_factory=list)
    abandoned: set[str] = field(default_factory=set)
    later: list[Action] = field(default_factory=list)
    since: date | None = None  # the "Synchronize from" date

    def transaction(self) -> AbstractContextManager[Any]:
        return self.repo.transaction()

    def link(self, aid: str, rc: RemoteEvent, base: Mapping[str, Any]) -> None:
        self.repo.put_link(SyncLink(user_id=self.user_id, kind=KIND, local_id=aid,
                                    remote_id=rc.remote_id, etag=rc.etag,
                                    base=lean_link_base(base), remote=lean_link_remote(rc),
                                    synced=utcnow(), remote_updated=rc.updated))

    def why_no_series(self, a: Activity) -> str:
        """Why a changed occurrence cannot go to Google: its series is not there. When the
        series will not be sent (it starts before "Synchronize from", or it is not this user's
        to send) that is said, once; else the occurrence is looked at again next run."""
        try:
            series = self.repo.get_activity(a.series_id)
        except NotFound:
            return "its series is no longer in crmtui"
        starts = series.starts_on()
        if self.since is not None and starts is not None and starts < self.since:
            return (f"its series starts on {starts.isoformat()}, before the \"Synchronize "
                    f"from\" date ({self.since.isoformat()}), so it is not synchronized")
        if not series.show_in_calendar:
            return "its series does not have Show in calendar set"
        self.retry_local.add(a.id)
        return "its series is not in Google Calendar yet; next run sends it"

    def own(self, a: Activity) -> Activity:
        """Make this user the organizer of an activity whose organizer has no sync set up; the
        former organizer stays in it as a participant."""
        if a.organizer_id == self.user_id:
            return a
        return self.repo.revise_activity(
            a.id, lambda current: keep_organizer(current).evolve(organizer_id=self.user_id))

    def set_uid(self, aid: str, rc: RemoteEvent, a: Activity | None = None) -> None:
        if not rc.ical_uid:
            return
        current = a if a is not None else self.repo.get_activity(aid)
        if current.ical_uid != rc.ical_uid:
            self.repo.revise_activity(aid, lambda now: None if now.ical_uid == rc.ical_uid
                                      else now.evolve(ical_uid=rc.ical_uid))


def keep_organizer(a: Activity) -> Activity:
    """``a`` with its organizer among its participants (before another user takes it over)."""
    organizer = a.organizer_id or a.owner_id
    if not organizer or any(p.kind is ParticipantKind.USER and p.ref_id == organizer
                            for p in a.participants):
        return a
    return a.evolve(participants=[*a.participants, Participant(
        ParticipantKind.USER, organizer, ResponseStatus.ACCEPTED)])


def merge_event(mine: LocalActivity, base: Mapping[str, Any] | None, rc: RemoteEvent,
                users: Directory, report: SyncReport, *, listed: bool,
                now: datetime | None = None) -> list[Action]:
    """Merge an activity with its event: a :class:`MergeEvent` when something is to be written,
    a :class:`RefreshEvent` when only the link must remember a new etag or base."""
    remote = event_fields(rc, users)
    if mine.fields is None or not mine.drives:
        return [RefreshEvent(mine.id, rc, remote)]
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
        return [MergeEvent(mine.id, rc, merge.fields, merge.to_remote, to_local, mine.fields)]
    if listed or base is None or dict(base) != merge.fields:
        return [RefreshEvent(mine.id, rc, merge.fields)]
    return []


@dataclass
class CreateEvent(Action):
    """An activity this user drives, not in the calendar yet: insert its event (with a
    client-chosen id; a taken id is tried again under the next generation)."""

    mine: LocalActivity
    phase = 10
    batch_size = EVENT_BATCH
    attempts = 2
    message = "Sending new activities to Google Calendar"

    @property
    def record(self) -> str:
        return self.mine.id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"Google: create {label(self.mine.fields, self.mine.id)}")
        report.google.created += 1

    @classmethod
    def send(cls, ctx: ActivityRun, batch: Sequence[CreateEvent]
             ) -> list[tuple[CreateEvent, NewEvent, EventResult]]:
        news: list[tuple[CreateEvent, NewEvent]] = []
        for action in batch:
            a, fields = action.mine.activity, action.mine.fields
            assert fields is not None  # the planner creates only activities with a start
            new = NewEvent(crm_id=a.id, event_id=event_id_for(a.id, ctx.generations.get(a.id, 0)),
                           fields=fields,
                           attendees=invite_list(fields["attendees"], None, ctx.users))
            if a.series_id:
                new.series_remote_id = ctx.remote_ids.get(a.series_id, "")
                new.original_start = original_start(a)
                if not (new.series_remote_id and new.original_start):
                    ctx.report.skipped.append(f"{label(fields, a.id)}: {ctx.why_no_series(a)}")
                    continue
            news.append((action, new))
        results = ctx.remote.insert([new for _, new in news]) if news else []
        return [(action, new, result)
                for (action, new), result in zip(news, results, strict=True)]

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[CreateEvent],
             answer: list[tuple[CreateEvent, NewEvent, EventResult]], *,
             last: bool) -> list[Action]:
        taken: list[Action] = []
        report = ctx.report
        for action, new, result in answer:
            mine = action.mine
            if result.taken:
                if last:
                    report.skipped.append(f"{mine.id[:8]}: its event id is taken in Google; "
                                          "next run tries another")
                    ctx.retry_local.add(mine.id)
                else:
                    taken.append(action)
                ctx.generations[mine.id] = ctx.generations.get(mine.id, 0) + 1
                continue
            if result.event is None:
                report.skipped.append(f"{label(new.fields, mine.id)}: Google refused it "
                                      f"({result.error})")
                ctx.retry_local.add(mine.id)
                continue
            if result.event.cancelled:  # an occurrence deleted in Google
                report.skipped.append(f"{label(new.fields, mine.id)}: that occurrence was "
                                      "deleted in Google Calendar")
                continue
            a = ctx.own(mine.activity)
            fresh = event_fields(result.event, ctx.users)
            ctx.link(a.id, result.event, new.fields if fresh == new.fields else fresh)
            if fresh != new.fields:  # an earlier run's event, with other content: merge
                ctx.later += [m for m in merge_event(
                    LocalActivity(a, new.fields, True, False), None, result.event, ctx.users,
                    report, listed=True) if isinstance(m, MergeEvent)]
            ctx.set_uid(a.id, result.event, a)
            ctx.remote_ids[a.id] = result.event.remote_id
            report.google.created += 1
        return taken


@dataclass
class CreateOccurrence(CreateEvent):
    """A changed occurrence of a series: written as the exception of that instance, after the
    series' own event exists."""

    phase = 11


@dataclass
class ImportEvent(Action):
    """An event no activity matches: it becomes a new activity."""

    remote: RemoteEvent
    fields: dict[str, Any]  # its canonical fields
    phase = 20
    batch_size = EVENT_BATCH
    message = "Importing events from Google Calendar"

    @property
    def record(self) -> str:
        return self.remote.remote_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"crmtui: import {label(self.fields, self.remote.remote_id)}")
        report.crm.created += 1

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[ImportEvent], answer: None, *,
             last: bool) -> list[Action]:
        series_of = {rid: aid for aid, rid in ctx.remote_ids.items()}
        made: list[tuple[Activity, RemoteEvent, dict[str, Any]]] = []
        for action in batch:
            rc, fields = action.remote, action.fields
            series = series_of.get(rc.series_id, "") if rc.series_id else ""
            if rc.series_id and not series:
                continue  # an occurrence of a series that is not synced
            organizer = ctx.users.user_of(rc.organizer_email) or ctx.user_id
            try:
                a = apply_fields(
                    Activity(title=UNTITLED, owner_id=ctx.user_id, organizer_id=organizer,
                             show_in_calendar=True, ical_uid=rc.ical_uid, series_id=series,
                             # the model parses the date or instant the adapter gives
                             original_start=rc.original_start or None,  # type: ignore[arg-type]
                             modified=rc.updated or utcnow()),
                    fields, merged_participants(None, fields["attendees"], rc.attendees,
                                                ctx.users))
            except (ValidationError, ValueError, KeyError) as exc:
                ctx.report.skipped.append(f"{label(fields, rc.remote_id)} (Google Calendar): "
                                          f"cannot be imported: {exc}")
                ctx.failed_imports.append(rc.remote_id)
                continue
            made.append((a, rc, fields))
            series_of[rc.remote_id] = a.id  # its occurrences may be in this very batch
        ctx.repo.add_activities([a for a, _, _ in made])
        for a, rc, fields in made:
            ctx.link(a.id, rc, fields)
            ctx.remote_ids[a.id] = rc.remote_id
        ctx.report.crm.created += len(made)
        return []


@dataclass
class LinkEvent(Action):
    """An event found to be an activity's (by its CRM id or iCalUID); its merge and link follow
    as a :class:`MergeEvent` or :class:`RefreshEvent`."""

    activity_id: str
    remote: RemoteEvent
    fields: dict[str, Any] | None  # the activity's
    phase = 30
    batch_size = ALL  # CRM-only: one store transaction
    message = "Linking activities found on both sides"

    @property
    def record(self) -> str:
        return self.activity_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"link {label(self.fields, self.activity_id)} to its Google event")
        report.crm.linked += 1

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[LinkEvent], answer: None, *,
             last: bool) -> list[Action]:
        ctx.report.crm.linked += len(batch)
        return []


@dataclass
class MergeEvent(MergeAction):
    """A linked pair with something to write: the merged fields go to Google (``to_remote``,
    with ``If-Match``) and to the CRM (``to_local``)."""

    activity_id: str
    remote: RemoteEvent
    merged: dict[str, Any]
    to_remote: list[str]
    to_local: list[str]
    read: dict[str, Any] | None = None  # the activity's fields the merge was made on
    phase = 50
    batch_size = EVENT_BATCH
    message = "Updating changed activities"

    @property
    def record(self) -> str:
        return self.activity_id

    def describe(self, report: SyncReport) -> None:
        describe_merge(report, label(self.merged, self.activity_id), self.to_remote,
                       self.to_local)

    @classmethod
    def send(cls, ctx: ActivityRun, batch: Sequence[MergeEvent]) -> dict[str, EventResult]:
        updates = [EventUpdate(a.remote, a.merged, a.to_remote,
                               invite_list(a.merged["attendees"], a.remote, ctx.users))
                   for a in batch if a.to_remote]
        return {r.key: r for r in ctx.remote.patch(updates)} if updates else {}

    @property
    def remote_id(self) -> str:
        return self.remote.remote_id

    @classmethod
    def written(cls, result: EventResult) -> RemoteEvent | None:
        return result.event

    def refused(self, ctx: ActivityRun, why: str) -> None:
        ctx.report.skipped.append(f"{label(self.merged, self.activity_id)}: not updated in "
                                  f"Google ({why})")
        ctx.retry_local.add(self.activity_id)

    def settle(self, ctx: ActivityRun, result: EventResult | None) -> None:
        aid = self.activity_id
        remote = result.event if result and result.event else self.remote
        if self.to_local and not self._pull(ctx, remote):
            return
        if aid in ctx.local and ctx.local[aid].drives:
            ctx.own(ctx.repo.get_activity(aid))
        ctx.link(aid, remote, self.merged)
        ctx.set_uid(aid, remote)
        if self.to_remote:
            ctx.report.google.updated += 1

    def _pull(self, ctx: ActivityRun, remote: RemoteEvent) -> bool:
        """Write what Google brings into the activity; False (reported) if it does not fit. A
        field someone saved in crmtui since the merge read the activity keeps their value, and
        the next run sends it: the sync never writes over a person's edit."""
        names = [name for name in self.to_local if name in EVENT_FIELDS]
        kept: list[str] = []

        def change(a: Activity) -> Activity | None:
            now = activity_fields(a)
            if now is None:  # its time was taken away meanwhile: nothing fits
                kept[:] = names
                return None
            kept[:] = changed_meanwhile(names, self.read, now)
            fields = {**now, **{name: self.merged[name] for name in names if name not in kept}}
            people = merged_participants(a, fields["attendees"], remote.attendees, ctx.users)
            return apply_fields(a, fields, people)

        try:
            ctx.repo.revise_activity(self.activity_id, change)
        except (ValidationError, NotFound, ValueError, KeyError) as exc:
            ctx.report.skipped.append(f"{label(self.merged, self.activity_id)}: not updated in "
                                      f"crmtui ({exc})")
            ctx.retry_local.add(self.activity_id)
            return False
        ctx.report.crm.updated += 1
        if kept:
            ctx.report.notes.append(
                f"{label(self.merged, self.activity_id)}: {', '.join(kept)} saved in crmtui "
                "during the sync; kept, and sent to Google Calendar by the next sync")
            ctx.retry_local.add(self.activity_id)
        return True

    @classmethod
    def again(cls, ctx: ActivityRun, retry: list[MergeEvent]) -> list[Action]:
        """Changed in Google since it was read: read it again and merge again."""
        found = ctx.remote.get([a.remote.remote_id for a in retry])
        fresh = {rc.remote_id: rc for rc in found}
        unreadable = dict(malformed_in(found))
        pending: list[Action] = []
        for action in retry:
            aid = action.activity_id
            rc = fresh.get(action.remote.remote_id)
            link = ctx.repo.get_link(ctx.user_id, KIND, aid)
            if rc is None or rc.cancelled or link is None:
                ctx.report.skipped.append(not_read_again(
                    label(action.merged, aid), unreadable.get(action.remote.remote_id)))
                ctx.retry_local.add(aid)
                continue
            a = ctx.repo.get_activity(aid)
            again = merge_event(LocalActivity(a, activity_fields(a), True, False), link_base(link),
                                rc, ctx.users, ctx.report, listed=True)
            pending += [m for m in again if isinstance(m, MergeEvent)]
            with ctx.transaction():
                for refresh in again:
                    if isinstance(refresh, RefreshEvent):
                        ctx.link(refresh.activity_id, refresh.remote, refresh.fields)
        return pending


@dataclass
class RefreshEvent(Action):
    """Nothing to write, but the link must remember a new etag or base (and the activity its
    iCalUID)."""

    activity_id: str
    remote: RemoteEvent
    fields: dict[str, Any]
    phase = 60
    batch_size = ALL  # CRM-only: one store transaction

    @property
    def record(self) -> str:
        return self.activity_id

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[RefreshEvent], answer: None, *,
             last: bool) -> list[Action]:
        for action in batch:
            ctx.link(action.activity_id, action.remote, action.fields)
            ctx.set_uid(action.activity_id, action.remote)
        return []


@dataclass
class UnlinkEvent(Action):
    """The event is gone from Google (cancelled, or missing from a full listing): the activity
    stays, unlinked; ``clear``: Show in calendar is cleared too (this user drove it)."""

    activity_id: str
    why: str
    clear: bool
    phase = 70
    batch_size = ALL  # CRM-only: one store transaction
    unlinks = True
    message = "Unlinking activities whose events are gone"

    @property
    def record(self) -> str:
        return self.activity_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"crmtui: unlink {self.activity_id[:8]} ({self.why})")
        report.crm.untagged += 1

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[UnlinkEvent], answer: None, *,
             last: bool) -> list[Action]:
        existing = ctx.repo.activity_ids()
        for action in batch:
            ctx.repo.delete_link(ctx.user_id, KIND, action.activity_id)
            if action.clear and action.activity_id in existing:
                ctx.repo.revise_activity(action.activity_id,
                                         lambda a: a.evolve(show_in_calendar=False))
        ctx.report.crm.untagged += len(batch)
        return []


@dataclass
class DropLink(Action):
    """A link this user's sync no longer needs (someone else drives the activity, or it was
    deleted and another calendar holds its event)."""

    activity_id: str
    why: str
    phase = 75
    batch_size = ALL  # CRM-only: one store transaction

    @property
    def record(self) -> str:
        return self.activity_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"crmtui: forget the link of {self.activity_id[:8]} ({self.why})")

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[DropLink], answer: None, *,
             last: bool) -> list[Action]:
        for action in batch:
            ctx.repo.delete_link(ctx.user_id, KIND, action.activity_id)
        return []


def exdate_line(original_start: str) -> str:
    """The EXDATE line that leaves out the occurrence that started at ``original_start`` (a
    date, or a UTC instant, as the adapter gives it)."""
    if len(original_start) == 10:
        return f"EXDATE;VALUE=DATE:{original_start.replace('-', '')}"
    moment = datetime.fromisoformat(original_start.replace("Z", "+00:00")).astimezone(UTC)
    return f"EXDATE:{moment:%Y%m%dT%H%M%SZ}"


@dataclass
class ExcludeOccurrence(Action):
    """An occurrence cancelled in Google: the series activity leaves it out (an EXDATE line)."""

    series_id: str
    line: str
    written: bool = False  # the series was given the line (see exclude)
    phase = 65
    batch_size = ALL  # CRM-only: one store transaction
    message = "Leaving out occurrences cancelled in Google Calendar"

    @property
    def record(self) -> str:
        return self.series_id

    def exclude(self, series: Activity) -> Activity | None:
        """The series with the EXDATE line; None when it has it already (or is no series).
        ``written`` says which of the two the last call found."""
        self.written = not (self.line in series.recurrence or not series.recurrence)
        return series.evolve(recurrence=[*series.recurrence, self.line]) if self.written else None

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"crmtui: add {self.line} to the series {self.series_id[:8]} "
                           "(an occurrence cancelled in Google Calendar)")
        report.crm.updated += 1

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[ExcludeOccurrence], answer: None, *,
             last: bool) -> list[Action]:
        existing = ctx.repo.activity_ids()
        for action in batch:
            if action.series_id not in existing:
                continue
            # not as a crmtui edit: Google already leaves the occurrence out; the series' next
            # push (whenever it changes) states the EXDATE there too
            ctx.repo.revise_activity(action.series_id, action.exclude)
            if action.written:
                ctx.report.crm.updated += 1
        return []


@dataclass
class DeleteEvent(Action):
    """Deleted in crmtui, or Show in calendar cleared: removed from the organizer's calendar."""

    activity_id: str
    remote_id: str
    why: str
    phase = 80
    batch_size = EVENT_BATCH
    message = "Removing events from Google Calendar"

    @property
    def record(self) -> str:
        return self.activity_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"Google: remove {self.activity_id[:8]} from the calendar "
                           f"({self.why})")
        report.google.removed += 1

    @classmethod
    def send(cls, ctx: ActivityRun, batch: Sequence[DeleteEvent]) -> list[EventResult]:
        return ctx.remote.delete([a.remote_id for a in batch])

    @classmethod
    def land(cls, ctx: ActivityRun, batch: Sequence[DeleteEvent], answer: list[EventResult],
             *, last: bool) -> list[Action]:
        for action, result in zip(batch, answer, strict=True):
            if result.error:
                ctx.report.skipped.append(f"{action.activity_id[:8]}: not removed from Google "
                                          f"Calendar ({result.error})")
                continue
            ctx.repo.delete_link(ctx.user_id, KIND, action.activity_id)
            ctx.report.google.removed += 1
        return []
