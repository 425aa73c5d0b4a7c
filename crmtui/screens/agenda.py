"""The agenda beside the activities list: the day (or the week) of the highlighted activity, hour
by hour, in the local time zone. It shows the activities the list shows (the same filters)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta, tzinfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from crmtui.model import Activity, ActivityStatus
from crmtui.screens.activity_form import TYPE_LABELS

DAY, WEEK = "day", "week"


def days_of(activity: Activity, zone: tzinfo) -> tuple[date, date] | None:
    """The first and last local day of the activity (all-day ones by their dates)."""
    if activity.all_day:
        if activity.start_date is None:
            return None
        return activity.start_date, activity.end_date or activity.start_date
    if activity.start is None:
        return None
    first = activity.start.astimezone(zone).date()
    last = activity.end.astimezone(zone).date() if activity.end is not None else first
    return first, max(first, last)


def on_day(activities: Iterable[Activity], day: date, zone: tzinfo) -> list[Activity]:
    """The activities happening on ``day``: the all-day ones first, then by start."""
    found = []
    for a in activities:
        days = days_of(a, zone)
        if days is not None and days[0] <= day <= days[1]:
            found.append(a)
    return sorted(found, key=lambda a: (not a.all_day, a.sort_start() or 0, a.title))


def week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def time_text(a: Activity, day: date, zone: tzinfo) -> str:
    if a.all_day or a.start is None:
        return "all day"
    start = a.start.astimezone(zone)
    end = a.end.astimezone(zone) if a.end is not None else None
    begins = start.strftime("%H:%M") if start.date() == day else "…"
    if end is None or end == start:
        return begins
    return f"{begins}–{end:%H:%M}" if end.date() == day else f"{begins}–…"


def day_table(activities: list[Activity], day: date, zone: tzinfo, cursor: str | None
              ) -> RenderableType:
    if not activities:
        return Text("  nothing planned", style="dim")
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, min_width=11)
    table.add_column(overflow="ellipsis", no_wrap=True, ratio=1)
    for a in activities:
        done = a.status in (ActivityStatus.COMPLETED, ActivityStatus.CANCELLED)
        style = "reverse" if a.id == cursor else "dim strike" if done else ""
        table.add_row(Text(time_text(a, day, zone), style="bold" if not done else "dim"),
                      Text(f"{a.title} ({TYPE_LABELS.get(a.type, a.type.value)})", style=style))
    return table


def render_agenda(activities: Iterable[Activity], day: date, span: str, zone: tzinfo,
                  today: date, cursor: str | None = None) -> RenderableType:
    """The day ``day`` (``span`` DAY) or its week (WEEK), ``cursor`` highlighted."""
    items = list(activities)
    days = [day] if span == DAY else week_of(day)
    parts: list[RenderableType] = []
    if span == WEEK:
        parts.append(Text(f"Week {day:%V} · {days[0]:%d %b} – {days[-1]:%d %b}",
                          style="bold"))
    for d in days:
        title = d.strftime("%A %d %B %Y" if span == DAY else "%a %d %b")
        if d == today:
            title += " · today"
        parts.append(Text(title, style="bold underline" if d == today else "bold"))
        parts.append(day_table(on_day(items, d, zone), d, zone, cursor))
    return Group(*parts)


class AgendaPanel(VerticalScroll):
    """The agenda: hidden, the day, or the week (``span``)."""

    DEFAULT_CSS = """
    AgendaPanel { width: 40%; min-width: 30; max-width: 56; height: 1fr; display: none;
                  border-left: tall $panel; padding: 0 1; }
    AgendaPanel.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.span = ""  # "", DAY or WEEK
        self.day: date | None = None

    def compose(self) -> Iterable[Static]:
        yield Static("", id="agenda-body")

    def show(self, activities: Iterable[Activity], day: date, span: str, zone: tzinfo,
             today: date, cursor: str | None) -> None:
        self.span, self.day = span, day
        self.set_class(bool(span), "-shown")
        if span:
            self.query_one("#agenda-body", Static).update(
                render_agenda(activities, day, span, zone, today, cursor))
