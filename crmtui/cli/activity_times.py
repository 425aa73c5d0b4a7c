"""When an activity takes place: ``--start``/``--end``/``--tz``/``--date`` and ``--rrule`` as
the commands take them, and as they show them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from crmtui.cli.output import fail
from crmtui.cli.session import local_zone
from crmtui.model import Activity, ValidationError, check_zone, parse_date, parse_datetime

_RECURRENCE_RE = re.compile(r"^(RRULE|EXRULE|RDATE|EXDATE)[:;]", re.I)


def parse_moment(option: str, text: str, zone: str) -> tuple[datetime, bool]:
    """An ISO date and time; a naive one is taken in ``zone`` (or the local zone).

    Returns the aware datetime and whether it was naive.
    """
    value = parse_datetime(option, text)
    if value.tzinfo is not None:
        return value, False
    return (value.replace(tzinfo=ZoneInfo(zone)) if zone else value.astimezone()), True


def recurrence_line(text: str) -> str:
    """``FREQ=WEEKLY`` -> ``RRULE:FREQ=WEEKLY``; full RRULE/EXDATE lines stay as they are."""
    line = text.strip()
    if not _RECURRENCE_RE.match(line):
        line = f"RRULE:{line}"
    if line.upper().startswith("RRULE") and "FREQ=" not in line.upper():
        raise ValidationError("--rrule", "an RRULE needs FREQ=..., e.g. FREQ=WEEKLY;BYDAY=MO",
                              text)
    return line


def time_zone(activity: Activity) -> str:
    """The zone :func:`when` shows a timed activity's times in ("" for an all-day one)."""
    if activity.all_day or activity.start is None:
        return ""
    return activity.timezone or activity.start.tzname() or "UTC"


def when(activity: Activity) -> str:
    """When an activity takes place, in its own zone, e.g. ``2026-11-24 10:00-11:00``."""
    if activity.all_day and activity.start_date is not None:
        last = activity.end_date
        span = activity.start_date.isoformat()
        if last is not None and last != activity.start_date:
            span += f"..{last.isoformat()}"
        return f"{span} all day"
    if activity.start is None:
        return ""
    text = f"{activity.start:%Y-%m-%d %H:%M}"
    if activity.end is not None:
        same_day = activity.end.date() == activity.start.date()
        text += f"-{activity.end:%H:%M}" if same_day else f" - {activity.end:%Y-%m-%d %H:%M}"
    return text


def new_times(activity: Activity, start: str | None, end: str | None, tz: str | None,
               date_: str | None, end_date: str | None, clear_end: bool) -> dict[str, Any]:
    """The time fields an edit changes; a moved start keeps the activity's length."""
    if date_ is not None and (start is not None or end is not None):
        raise click.UsageError("give --date (all-day) or --start/--end (timed), not both")
    if clear_end and (end is not None or end_date is not None):
        raise click.UsageError("give --end/--end-date or --clear-end, not both")
    changes: dict[str, Any] = {}
    zone = check_zone("--tz", tz) if tz is not None else None
    naive_zone = zone or activity.timezone or local_zone()
    if zone is not None:
        changes["timezone"] = zone
    if date_ is not None:
        first = parse_date("--date", date_)
        if end_date is not None:
            last = parse_date("--end-date", end_date)
        elif activity.all_day and activity.start_date and activity.end_date and not clear_end:
            last = first + (activity.end_date - activity.start_date)
        else:
            last = first
        changes.update(all_day=True, start=None, end=None, start_date=first, end_date=last)
    elif end_date is not None or (clear_end and activity.all_day):
        if not activity.all_day:
            fail("--end-date: the activity has times, not dates; give --date to make it all-day")
        changes["end_date"] = end_date
    if start is not None:
        new_start, naive = parse_moment("--start", start, naive_zone)
        if end is not None:
            new_end: datetime | None = parse_moment("--end", end, naive_zone)[0]
        elif not clear_end and not activity.all_day and activity.start and activity.end:
            new_end = new_start + (activity.end - activity.start)
        else:
            new_end = None
        changes.update(all_day=False, start_date=None, end_date=None, start=new_start,
                       end=new_end)
        if naive and zone is None:
            changes["timezone"] = naive_zone
    elif end is not None or (clear_end and not activity.all_day):
        if activity.all_day:
            fail("--end: the activity is all-day; give --end-date, or --start to give it times")
        changes["end"] = parse_moment("--end", end, naive_zone)[0] if end is not None else None
    return changes
