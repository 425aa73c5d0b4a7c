"""iCalendar (RFC 5545) export of activities, written with icalendar.

One VEVENT per activity that the exporting user organizes or takes part in:

=========================  ========================================================================
property                   from
=========================  ========================================================================
UID                        the activity's calendar UID (``ical_uid``, set by calendar sync), else
                           its id; a changed occurrence of an exported series carries the
                           series' UID with RECURRENCE-ID (its original start, else its start)
                           and ``X-CRMTUI-ID`` (its own id)
RELATED-TO                 the series (RELTYPE=PARENT) of a changed occurrence
SUMMARY                    title
DTSTART, DTEND             timed: in the activity's time zone (TZID, with VTIMEZONE), else UTC;
                           all-day: VALUE=DATE, DTEND the day after the last day (exclusive)
LOCATION, DESCRIPTION      location, notes
STATUS                     CANCELLED for a cancelled activity, else CONFIRMED; the crmtui status
                           is in ``X-CRMTUI-STATUS``
PRIORITY                   high 1, medium 5, low 9
RRULE, EXDATE, ...         the recurrence lines as they are
ORGANIZER, ATTENDEE        ``mailto:`` the user's email or the contact's primary email, CN the name,
                           PARTSTAT the response (a contact without an email is left out)
CREATED, LAST-MODIFIED     created, modified (UTC)
X-CRMTUI-TYPE              task, call, meeting or email
X-CRMTUI-SHOW-IN-CALENDAR  TRUE or FALSE
=========================  ========================================================================

An activity without a start date cannot be a calendar event; it is left out and counted as
``undated``. Importing .ics files is not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Event, vCalAddress, vText

from crmtui.model import (
    Activity,
    ActivityStatus,
    Contact,
    Participant,
    ParticipantKind,
    Priority,
    User,
    utcnow,
)
from crmtui.store import ActivityQuery, Repository

from .common import ExportReport, FormatError

PRODID = "-//crmtui//crmtui//EN"
PRIORITIES = {Priority.HIGH: 1, Priority.MEDIUM: 5, Priority.LOW: 9}
PARTSTAT = {"needsAction": "NEEDS-ACTION", "accepted": "ACCEPTED", "tentative": "TENTATIVE",
            "declined": "DECLINED"}


def export_ics(repo: Repository, name: str, viewer_id: str, out: IO[str]) -> ExportReport:
    """The activities ``viewer_id`` organizes or takes part in, as an iCalendar text."""
    repo.get_user(viewer_id)
    activities = repo.find_activities(ActivityQuery(user_id=viewer_id))
    dated = {a.id: a for a in activities if a.starts_on() is not None}
    users = {u.id: u for u in repo.list_users()}
    contact_ids = list(dict.fromkeys(p.ref_id for a in dated.values() for p in a.participants
                                     if p.kind is ParticipantKind.CONTACT))
    contacts = {c.id: c for c in repo.get_contacts(contact_ids)}
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    stamp = utcnow().replace(microsecond=0)
    for activity in dated.values():
        cal.add_component(_event(name, activity, dated, users, contacts, stamp))
    cal.add_missing_timezones()
    counts = {"activities": len(dated), "undated": len(activities) - len(dated)}
    out.write(cal.to_ical().decode("utf-8"))
    return ExportReport(counts=counts)


def _original(a: Activity) -> Any:
    """The RECURRENCE-ID of a changed occurrence: its original start, else its start."""
    original = a.original_start
    if original is None:
        return _start(a)
    if isinstance(original, datetime):
        return original.astimezone(ZoneInfo(a.timezone) if a.timezone else UTC)
    return original


def _event(name: str, a: Activity, exported: Mapping[str, Activity], users: Mapping[str, User],
           contacts: Mapping[str, Contact], stamp: datetime) -> Event:
    event = Event()
    if a.series_id in exported:
        series = exported[a.series_id]
        event.add("uid", series.ical_uid or series.id)
        event.add("recurrence-id", _original(a))
        event.add("x-crmtui-id", a.id)
    else:
        event.add("uid", a.ical_uid or a.id)
    if a.series_id:
        event.add("related-to", a.series_id, parameters={"RELTYPE": "PARENT"})
    event.add("dtstamp", stamp)
    event.add("summary", a.title)
    event.add("dtstart", _start(a))
    if a.all_day and a.end_date is not None:
        event.add("dtend", a.end_date + timedelta(days=1))
    elif a.end is not None:
        event.add("dtend", _local(a, a.end))
    if a.location:
        event.add("location", a.location)
    if a.notes:
        event.add("description", a.notes)
    event.add("status", "CANCELLED" if a.status is ActivityStatus.CANCELLED else "CONFIRMED")
    event.add("priority", PRIORITIES[a.priority])
    if a.recurrence:
        for key, value in _recurrence(name, a).items():
            event[key] = value
    organizer = users.get(a.organizer_id)
    if organizer is not None:
        event.add("organizer", _address(organizer.email, organizer.name))
    for p in a.participants:
        attendee = _attendee(p, users, contacts)
        if attendee is not None:
            event.add("attendee", attendee)
    event.add("created", a.created.astimezone(UTC))
    event.add("last-modified", a.modified.astimezone(UTC))
    event.add("x-crmtui-type", a.type.value)
    event.add("x-crmtui-status", a.status.value)
    event.add("x-crmtui-show-in-calendar", "TRUE" if a.show_in_calendar else "FALSE")
    return event


def _start(a: Activity) -> Any:
    if a.all_day:
        return a.start_date
    assert a.start is not None  # only dated activities are exported
    return _local(a, a.start)


def _local(a: Activity, when: datetime) -> datetime:
    """A timed activity's instant in its own zone (the model keeps it there), else in UTC."""
    return when if a.timezone else when.astimezone(UTC)


def _recurrence(name: str, a: Activity) -> Component:
    """The activity's RRULE/EXDATE/... lines as properties (an invalid one refuses the export)."""
    text = "BEGIN:VEVENT\r\n" + "\r\n".join(a.recurrence) + "\r\nEND:VEVENT\r\n"
    try:
        parsed = Event.from_ical(text)
    except ValueError as exc:
        problems = [str(exc)]
    else:
        problems = [f"{prop}: {problem}" for prop, problem in parsed.errors]
        rules = parsed.get("RRULE", [])
        problems += [f"RRULE: {rule.to_ical().decode()!r} has no FREQ"
                     for rule in (rules if isinstance(rules, list) else [rules])
                     if "FREQ" not in rule]
    if problems:
        raise FormatError(name, f"activity {a.id} ({a.title})", "recurrence: the rule cannot "
                          f"be written to iCalendar: {'; '.join(problems)}; correct it and export "
                          "again")
    return parsed


def _address(email: str, cn: str, partstat: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(cn)
    if partstat is not None:
        address.params["PARTSTAT"] = partstat
    return address


def _attendee(p: Participant, users: Mapping[str, User], contacts: Mapping[str, Contact]
              ) -> vCalAddress | None:
    partstat = PARTSTAT[p.response.value]
    if p.kind is ParticipantKind.USER:
        user = users.get(p.ref_id)
        return None if user is None else _address(user.email, user.name, partstat)
    contact = contacts.get(p.ref_id)
    if contact is None or not contact.primary_email:
        return None
    return _address(contact.primary_email, contact.display_name, partstat)


__all__ = ["export_ics"]
