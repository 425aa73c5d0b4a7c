"""The activities list: every activity of the filter, grouped by when it happens (earlier,
today, this week, later, without a date), with a status line, and the activity form.

The query runs in a thread worker, which also builds each row's cells; the table then holds the
row keys (group headings are rows too) and renders only the rows on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from crmtui.model import (
    Activity,
    ActivityStatus,
    ActivityType,
    ParticipantKind,
    SyncKind,
    fold,
)
from crmtui.screens.activity_form import STATUS_LABELS, TYPE_LABELS, ActivityForm, local_zone
from crmtui.screens.agenda import DAY, WEEK, AgendaPanel
from crmtui.screens.agenda import days_of as local_days
from crmtui.screens.confirm import Confirm
from crmtui.screens.contact_list import SearchInput
from crmtui.screens.context import Command, Services, sync_commands
from crmtui.screens.sync_bar import SyncBar
from crmtui.screens.undo import activity_deleted, record_undo
from crmtui.store.repository import ActivityQuery, ContactQuery, NotFound, StoreError
from crmtui.widgets import Column, LazyTable

FILTERS = ("mine", "all", "calendar")
FILTER_LABELS = {"mine": "Mine", "all": "All", "calendar": "Show in calendar"}
FILTER_HELP = {"mine": "organized by me or with me", "all": "everyone's",
               "calendar": "mine with Show in calendar"}

EARLIER, TODAY, THIS_WEEK, LATER, NO_DATE = "Earlier", "Today", "This week", "Later", "No date"
OVERDUE = "Overdue"
GROUPS = (OVERDUE, EARLIER, TODAY, THIS_WEEK, LATER, NO_DATE)
OPEN = (ActivityStatus.NOT_STARTED, ActivityStatus.IN_PROGRESS)

TYPE_FILTERS: tuple[ActivityType | None, ...] = (None, *ActivityType)
STATUS_FILTERS: dict[str, tuple[ActivityStatus, ...]] = {
    "any": (), "open": OPEN, **{s.value: (s,) for s in ActivityStatus}}
STATUS_FILTER_LABELS = {"any": "any status", "open": "open",
                        **{s.value: STATUS_LABELS[s].lower() for s in ActivityStatus}}
AGENDA_SPANS = ("", DAY, WEEK)
UPCOMING = (TODAY, THIS_WEEK, LATER)

HEADING = "#"
"""Row keys of group headings start with it (activity ids never do)."""

COLUMNS = (
    Column("when", "When", width=23),
    Column("title", "Title", ratio=5, min_width=16),
    Column("type", "Type", width=9),
    Column("organizer", "Organizer", ratio=2, min_width=10),
    Column("people", "People", width=7),
    Column("location", "Location", ratio=3, min_width=10),
    Column("status", "Status", width=12),
    Column("calendar", "Cal", width=4),
    Column("synced", "Sync", width=5),
)


def query_for(name: str, user_id: str) -> ActivityQuery:
    """The query of a filter: mine, all, or mine with Show in calendar."""
    if name == "all":
        return ActivityQuery()
    if name == "calendar":
        return ActivityQuery(user_id=user_id, show_in_calendar=True)
    return ActivityQuery(user_id=user_id)


def is_overdue(activity: Activity, now: datetime) -> bool:
    """An open task whose time has passed (its end, else its start; an all-day one the day
    after its last day)."""
    if activity.type is not ActivityType.TASK or activity.status not in OPEN:
        return False
    if activity.all_day:
        last = activity.end_date or activity.start_date
        return last is not None and last < now.astimezone().date()
    due = activity.end or activity.start
    return due is not None and due < now


def group_of(activity: Activity, today: date, zone: tzinfo,
             now: datetime | None = None) -> str:
    """Which group the activity is listed under; one running today is listed today; an open
    task whose time has passed (with ``now``) is overdue."""
    if now is not None and is_overdue(activity, now):
        return OVERDUE
    days = local_days(activity, zone)
    if days is None:
        return NO_DATE
    first, last = days
    if first <= today <= last:
        return TODAY
    if first < today:
        return EARLIER
    week_end = today + timedelta(days=6 - today.weekday())  # the Sunday of this week
    return THIS_WEEK if first <= week_end else LATER


def not_over(activity: Activity, now: datetime) -> bool:
    """Whether the activity is still to come or running at ``now`` (all-day ones: their
    days)."""
    if activity.all_day or activity.start is None:
        return True  # listed under today or later: its day is not over
    end = activity.end if activity.end is not None else activity.start
    return end > now


def when_text(activity: Activity, zone: tzinfo, today: date) -> str:
    days = local_days(activity, zone)
    if days is None:
        return "—"
    first, last = days

    def day(d: date) -> str:
        return d.strftime("%a %d %b" if d.year == today.year else "%a %d %b %Y")

    if activity.all_day:
        return f"{day(first)} all day" if last == first else f"{day(first)} → {last:%d %b}"
    assert activity.start is not None
    return f"{day(first)} {activity.start.astimezone(zone):%H:%M}"


@dataclass
class Listing:
    """What a query gave: the row keys (headings included), their cells, the count."""

    filter: str
    keys: list[str] = field(default_factory=list)
    cells: dict[str, tuple[str, ...]] = field(default_factory=dict)
    count: int = 0
    first_upcoming: int = -1
    error: str = ""
    criteria: Criteria | None = None
    activities: dict[str, Activity] = field(default_factory=dict)
    today_row: int = -1  # the first row of today's group (else the first upcoming)


@dataclass(frozen=True, slots=True)
class Criteria:
    """What the list shows besides the filter: the search text, a type, a status filter."""

    text: str = ""
    type: ActivityType | None = None
    status: str = "any"

    def apply(self, query: ActivityQuery) -> ActivityQuery:
        return replace(query, text=self.text, type=self.type,
                       statuses=STATUS_FILTERS[self.status])

    def describe(self) -> list[str]:
        parts = []
        if self.type is not None:
            parts.append(f"type: {TYPE_LABELS[self.type].lower()}")
        if self.status != "any":
            parts.append(f"status: {STATUS_FILTER_LABELS[self.status]}")
        if self.text.strip():
            parts.append(f"search: “{self.text.strip()}”")
        return parts


class ActivityTable(LazyTable):
    """A :class:`LazyTable` whose heading rows (keys starting with ``#``) are shown as group
    titles and skipped by the cursor (the table's keys: up/down and j/k, g/G, PageUp/PageDown,
    Home/End, Enter)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = LazyTable.COMPONENT_CLASSES | {
        "activity-table--heading"}

    DEFAULT_CSS = """
    ActivityTable > .activity-table--heading { color: $accent; text-style: bold; }
    """

    DROP_FIRST = ("synced", "calendar", "people", "location", "organizer", "type", "status")
    """The columns left out, in this order, when the table is too narrow for all of them (the
    agenda beside it, a small terminal): when and title stay."""

    def column_widths(self, width: int) -> tuple[int, ...]:
        """As :class:`LazyTable`'s, the columns of :attr:`DROP_FIRST` given no room (0) one
        after the other while the rest does not fit at its minimum widths."""
        if self._widths[0] == width:
            return self._widths[1]
        every = self.columns
        dropped: set[str] = set()
        for key in self.DROP_FIRST:
            if sum(c.width or c.min_width for c in every if c.key not in dropped) <= width:
                break
            dropped.add(key)
        kept = [c for c in every if c.key not in dropped]
        try:
            self.columns = tuple(kept)
            self._widths = (-1, ())
            widths = iter(super().column_widths(width))
        finally:
            self.columns = every
        result = tuple(0 if c.key in dropped else next(widths) for c in every)
        self._widths = (width, result)
        return result

    def _cells_strip(self, cells: Sequence[str], width: int, fill: Style,
                     styles: Sequence[Style]) -> Strip:
        widths = self.column_widths(width)
        shown = [i for i, w in enumerate(widths) if w > 0]
        if len(shown) == len(widths):
            return super()._cells_strip(cells, width, fill, styles)
        every, cached = self.columns, self._widths
        try:  # the columns shown only, at their widths
            self.columns = tuple(every[i] for i in shown)
            self._widths = (width, tuple(widths[i] for i in shown))
            return super()._cells_strip([cells[i] for i in shown if i < len(cells)], width,
                                        fill, [styles[i] for i in shown if i < len(styles)])
        finally:
            self.columns, self._widths = every, cached

    def is_heading(self, index: int) -> bool:
        keys = self.keys
        return 0 <= index < len(keys) and keys[index].startswith(HEADING)

    def land(self, index: int, step: int) -> int:
        """The nearest activity row from ``index`` going ``step``, else the other way."""
        count = self.row_count
        if not count:
            return 0
        index = max(0, min(index, count - 1))
        for direction in (step, -step):
            i = index
            while 0 <= i < count:
                if not self.is_heading(i):
                    return i
                i += direction
        return index

    def move_to(self, index: int, step: int) -> None:
        self.cursor_row = self.land(index, step)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor_row - 1, -1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor_row + 1, 1)

    def action_page_up(self) -> None:
        self.move_to(self.cursor_row - self._page_height, -1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor_row + self._page_height, 1)

    def action_first(self) -> None:
        self.move_to(0, 1)
        if self.cursor_row <= 1:
            self.scroll_to(y=0, animate=False)  # the first heading shows too

    def action_last(self) -> None:
        self.move_to(self.row_count - 1, -1)

    def action_select(self) -> None:
        if not self.is_heading(self.cursor_row):
            super().action_select()

    def on_click(self, event: events.Click) -> None:
        super().on_click(event)
        if self.is_heading(self.cursor_row):
            self.move_to(self.cursor_row, 1)

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y - 1
        if y > 0 and self.is_heading(index):
            width = self.scrollable_content_region.width
            style = self.get_component_rich_style("activity-table--heading")
            text = self.row_cells(index)[0]
            return Strip([Segment(" " + text, style)]).adjust_cell_length(width, style)
        return super().render_line(y)


FEATURE_BINDINGS: list[BindingType] = [
    Binding("slash", "focus_search", "Search", id="activities.search", priority=True),
    Binding("t", "today", "Today", id="activities.today"),
    Binding("v", "agenda", "Agenda", id="activities.agenda"),
    Binding("x", "cycle_type", "Type", id="activities.type"),
    Binding("s", "cycle_status", "Status", id="activities.status"),
]
"""The keys that find activities: search, today, the agenda, the type and status filters."""


class ActivitiesScreen(Screen[None]):
    """Browse activities by when they happen; create, edit, delete; filter."""

    DEFAULT_CSS = """
    ActivitiesScreen #activities-status { height: 1; padding: 0 1; background: $boost; }
    ActivitiesScreen #activity-search-bar { height: 1; margin: 0 1; background: $boost; }
    ActivitiesScreen #activity-search-label { padding: 0 1; background: $panel;
                                              color: $text-muted; text-style: bold; }
    ActivitiesScreen #activity-search-bar:focus-within #activity-search-label {
        background: $accent; color: $text; }
    ActivitiesScreen #activity-search { width: 1fr; height: 1; padding: 0 1; }
    ActivitiesScreen #activities-body { height: 1fr; }
    ActivitiesScreen #activities { width: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_activity", "New", id="activities.new"),
        Binding("e", "edit_activity", "Edit", id="activities.edit"),
        Binding("d", "delete_activity", "Delete", id="activities.delete"),
        Binding("f", "cycle_filter", "Filter", id="activities.filter"),
        Binding("c", "toggle_calendar", "Show in calendar", id="activities.calendar"),
        Binding("escape", "clear", "Back / clear", show=False,
                id="activities.clear_filter"),
        *FEATURE_BINDINGS,
    ]

    class Loaded(Message):
        """A query finished in the worker."""

        def __init__(self, listing: Listing) -> None:
            super().__init__()
            self.listing = listing

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.zone, self.zone_name = local_zone()
        self.filter = "mine"
        self.criteria = Criteria()
        self.listing: Listing | None = None
        self._want: str | None = None
        """The activity the cursor should land on when the next listing arrives."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="activity-search-bar"):
            yield Label("Search", id="activity-search-label")
            yield SearchInput(placeholder="titles, places, notes, people  (press / to type "
                              "here)",
                              id="activity-search", compact=True)
        with Horizontal(id="activities-body"):
            yield ActivityTable(self.columns(), self.load_rows, empty_text="Loading activities…",
                                id="activities")
            yield AgendaPanel(id="agenda")
        yield Static("Loading activities…", id="activities-status")
        yield SyncBar(self.services)
        yield Footer()

    def columns(self) -> tuple[Column, ...]:
        """The columns, the When heading naming the time zone the times are shown in."""
        return tuple(replace(c, label=f"When ({self.zone_name})") if c.key == "when" else c
                     for c in COLUMNS)

    @property
    def table(self) -> ActivityTable:
        return self.query_one("#activities", ActivityTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.run_query(self.filter)

    # -- data -------------------------------------------------------------------------------------

    def load_rows(self, keys: Sequence[str]) -> list[tuple[str, ...]]:
        cells = self.listing.cells if self.listing is not None else {}
        return [cells.get(k, ("(deleted)",)) for k in keys]

    @work(thread=True, exclusive=True, group="activities-query")
    def run_query(self, name: str) -> None:
        try:
            listing = self.make_listing(name)
        except Exception as exc:  # shown in the status line and a notification
            listing = Listing(name, error=str(exc) or type(exc).__name__,
                              criteria=self.criteria)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(listing))

    def make_listing(self, name: str) -> Listing:
        """Query and group (runs in the worker thread)."""
        criteria = self.criteria
        activities = self.find(criteria, query_for(name, self.user_id))
        users = {u.id: u.name for u in self.repo.list_users()}
        linked = self.repo.link_index(self.user_id, SyncKind.ACTIVITIES)
        zone = self.zone
        now = self.services.now()
        today = now.astimezone(zone).date()
        groups: dict[str, list[tuple[tuple[date, bool, str], Activity]]] = {g: [] for g in GROUPS}
        for a in activities:
            days = local_days(a, zone)
            start = a.sort_start()
            order = (days[0] if days else date.max, not a.all_day,
                     start.isoformat() if start else "")
            groups[group_of(a, today, zone, now)].append((order, a))
        listing = Listing(name, count=len(activities), criteria=criteria,
                          activities={a.id: a for a in activities})
        fallback = -1  # the first row of the upcoming groups
        for group in GROUPS:
            members = sorted(groups[group], key=lambda pair: pair[0])
            if not members:
                continue
            if listing.first_upcoming < 0 and group in UPCOMING:
                # The cursor starts on the next activity: the first one not over yet.
                ahead = [i for i, (_, a) in enumerate(members) if not_over(a, now)]
                if fallback < 0:
                    fallback = len(listing.keys) + 1
                if ahead:
                    listing.first_upcoming = len(listing.keys) + 1 + ahead[0]
            if group == TODAY:
                listing.today_row = len(listing.keys) + 1
            key = HEADING + group
            title = f"{group} · {today:%a %d %b}" if group == TODAY else group
            listing.keys.append(key)
            listing.cells[key] = (f"{title} ({len(members)})",)
            for _, a in members:
                listing.keys.append(a.id)
                listing.cells[a.id] = (
                    when_text(a, zone, today),
                    a.title + (" ↻" if a.recurrence or a.series_id else ""),
                    TYPE_LABELS.get(a.type, a.type.value),
                    users.get(a.organizer_id, ""),
                    str(len(a.participants)) if a.participants else "",
                    a.location,
                    STATUS_LABELS.get(a.status, a.status.value),
                    "✓" if a.show_in_calendar else "",
                    "●" if a.id in linked else "",
                )
        if listing.first_upcoming < 0:
            listing.first_upcoming = fallback
        return listing

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        listing = message.listing
        if listing.filter != self.filter or listing.criteria != self.criteria:
            return  # a newer query is on its way
        table = self.table
        before_key, before_index = table.cursor_key, table.cursor_row
        first = self.listing is None
        self.listing = listing
        if listing.error:
            self.notify(f"Cannot list the activities: {listing.error}", severity="error",
                        title="Activities")
        table.empty_text = ("No activities yet: press n to create one." if self.filter != "mine"
                            else "None of your activities: press n to create one, f for all.")
        table.set_rows(listing.keys, keep_cursor=False)
        table.invalidate()
        want = self._want or before_key
        self._want = None
        if want in listing.cells and not want.startswith(HEADING):
            index = listing.keys.index(want)
        elif first and listing.first_upcoming >= 0:
            index = listing.first_upcoming
        elif first:
            index = 0
        else:
            index = before_index
        table.move_to(index, 1)
        self.update_status()
        self.update_agenda()

    def update_status(self) -> None:
        listing = self.listing
        label = f"{FILTER_LABELS[self.filter]} ({FILTER_HELP[self.filter]})"
        if listing is None or listing.filter != self.filter:
            text = f"{label}  ·  loading…"
        elif listing.error:
            text = f"{label}  ·  cannot list the activities: {listing.error}"
        else:
            count = listing.count
            narrowed = "".join(f"  ·  {part}" for part in self.criteria.describe())
            text = (f"{label}: {count:,} activit{'y' if count == 1 else 'ies'}{narrowed}"
                    f"  ·  f: next filter, Esc: mine  ·  times in {self.zone_name}")
        self.query_one("#activities-status", Static).update(text)

    def refresh_data(self) -> None:
        """Reload from the repository, keeping the cursor on the same activity."""
        self.run_query(self.filter)

    def reload(self, want: str | None = None) -> None:
        self._want = want
        self.run_query(self.filter)

    # -- commands ---------------------------------------------------------------------------------

    def commands(self) -> list[Command]:
        return [
            Command("activity", "new", "new_activity", "Create an activity", menu="New…"),
            Command("activity", "edit", "edit_activity", "Edit the highlighted activity",
                    menu="Edit…"),
            Command("activity", "delete", "delete_activity", "Delete the highlighted activity",
                    menu="Delete…"),
            Command("activity", "filter: mine", "set_filter('mine')",
                    "Activities I organize or take part in", menu="Filter → Mine"),
            Command("activity", "filter: all", "set_filter('all')", "Everyone's activities",
                    menu="Filter → All"),
            Command("activity", "filter: calendar", "set_filter('calendar')",
                    "My activities with Show in calendar", menu="Filter → Show in calendar"),
            Command("activity", "toggle show in calendar", "toggle_calendar",
                    "Show the highlighted activity in the calendar, or stop showing it",
                    menu="Toggle Show in calendar"),
            *self.feature_commands(),
            *sync_commands("activities"),
        ]

    # -- actions ----------------------------------------------------------------------------------

    def action_set_filter(self, name: str) -> None:
        if name not in FILTERS:
            return
        if name != self.filter:
            self.filter = name
            self.update_status()
            self.reload(self.table.cursor_key)

    def action_cycle_filter(self) -> None:
        self.action_set_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def cursor_activity(self) -> Activity | None:
        key = self.table.cursor_key
        if key is None or key.startswith(HEADING):
            return None
        try:
            return self.repo.get_activity(key)
        except NotFound:
            self.notify("This activity was deleted meanwhile.", severity="warning")
            self.reload()
            return None

    def action_new_activity(self) -> None:
        self.app.push_screen(ActivityForm(self.services), self._saved)

    def action_edit_activity(self) -> None:
        activity = self.cursor_activity()
        if activity is not None:
            self.app.push_screen(ActivityForm(self.services, activity), self._saved)

    @on(LazyTable.Selected, "#activities")
    def _open(self, event: LazyTable.Selected) -> None:
        self.action_open_activity()

    def action_open_activity(self) -> None:
        """Enter: the activity's read-only page (``e`` there edits it)."""
        from crmtui.screens.activity_detail import ActivityDetailScreen

        activity = self.cursor_activity()
        if activity is not None:  # an edit there reaches the list as any change does
            self.app.push_screen(ActivityDetailScreen(self.services, activity))

    def _saved(self, activity_id: str | None) -> None:
        if activity_id:
            self.notify("Activity saved.", title="Activities")
            self.reload(activity_id)

    def action_delete_activity(self) -> None:
        activity = self.cursor_activity()
        if activity is None:
            return
        notes = []
        if activity.recurrence:
            notes.append("It is a recurring series: every occurrence goes.")
        if self.repo.get_link(self.user_id, SyncKind.ACTIVITIES, activity.id) is not None:
            notes.append("The next activity sync removes it from Google Calendar too.")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                undo = activity_deleted(self.repo, activity)
                self.repo.delete_activity(activity.id)
            except StoreError as exc:
                self.notify(f"Cannot delete “{activity.title}”: {exc}", severity="error")
                return
            record_undo(self.app, undo)
            self.notify(f"Deleted “{activity.title}”; ctrl+z undoes it.", title="Activities")
            self.reload()

        self.app.push_screen(Confirm(f"Delete “{activity.title}”?", " ".join(notes),
                                     yes="Delete"), answered)

    def action_toggle_calendar(self) -> None:
        activity = self.cursor_activity()
        if activity is None:
            return
        shown = not activity.show_in_calendar
        if activity.recurrence:
            self.ask_series_calendar(activity, shown)
            return
        self.set_calendar(activity, shown)

    def ask_series_calendar(self, activity: Activity, shown: bool) -> None:
        """A series changes as a whole: ask first, naming it and saying what the sync does."""
        linked = self.repo.get_link(self.user_id, SyncKind.ACTIVITIES, activity.id) is not None
        if shown:
            detail = ("Every occurrence of the series goes to Google Calendar at the next "
                      "activity sync.")
        else:
            detail = ("Every occurrence of the series leaves the calendar"
                      + (": the next activity sync removes them all from Google Calendar."
                         if linked else "."))

        def answered(yes: bool | None) -> None:
            if yes:
                self.set_calendar(activity, shown)

        verb = "Show" if shown else "Stop showing"
        self.app.push_screen(Confirm(f"{verb} the recurring series “{activity.title}” in the "
                                     "calendar?", detail,
                                     yes="Show the series" if shown else "Stop showing it"),
                             answered)

    def set_calendar(self, activity: Activity, shown: bool) -> None:
        try:
            self.repo.update_activity(activity.evolve(show_in_calendar=shown))
        except StoreError as exc:
            self.notify(f"Cannot change “{activity.title}”: {exc}", severity="error")
            return
        self.notify(f"“{activity.title}” is {'now shown' if shown else 'no longer shown'} "
                    "in the calendar.", title="Activities")
        self.reload(activity.id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_search":
            return not isinstance(self.focused, Input)
        if action in ("edit_activity", "delete_activity", "toggle_calendar"):
            key = self.table.cursor_key if self.is_mounted else None
            return True if key is not None and not key.startswith(HEADING) else None
        return True

    @on(LazyTable.Highlighted, "#activities")
    def _highlighted(self) -> None:
        self.refresh_bindings()
        self.update_agenda()

    # -- finding: search, today, agenda, type and status filters ---------------------------------

    PEOPLE_SEARCHED = 2000
    """At most this many contacts matching a searched word bring their activities."""

    def find(self, criteria: Criteria, query: ActivityQuery) -> list[Activity]:
        """The activities of ``query`` narrowed by ``criteria``. A search keeps those where
        every word occurs (accents and case aside) in the title, the place or the notes, or
        matches a contact taking part (name, email, phone, company, as in Contacts)."""
        query = criteria.apply(query)
        words = fold(criteria.text).split()
        if not words:
            return self.repo.find_activities(query)
        people = [set(self.repo.contact_ids(ContactQuery(text=word, limit=self.PEOPLE_SEARCHED),
                                            self.user_id)) for word in words]
        # Those with every word in their text, and those with a matching contact (a contact
        # matches a word at least): only the candidates are built, then each is checked.
        candidates = {a.id: a for a in self.repo.find_activities(query)}
        anyone = set().union(*people)
        if anyone:
            for a in self.repo.find_activities(replace(query, text="",
                                                       contact_ids=tuple(anyone))):
                candidates.setdefault(a.id, a)
        found = []
        for a in candidates.values():
            hay = fold(" ".join((a.title, a.location, a.notes)))
            with_them = {p.ref_id for p in a.participants if p.kind is ParticipantKind.CONTACT}
            if all(word in hay or with_them & matching
                   for word, matching in zip(words, people, strict=True)):
                found.append(a)
        return found

    def feature_commands(self) -> list[Command]:
        return [
            Command("activity", "search", "focus_search", "Type to find activities by title, "
                    "place or notes", menu="Search"),
            Command("activity", "go to today", "today", "Move to today's activities",
                    menu="Go to today"),
            Command("activity", "agenda: day", "agenda('day')",
                    "Show the highlighted activity's day beside the list", menu="Agenda → Day"),
            Command("activity", "agenda: week", "agenda('week')",
                    "Show the highlighted activity's week beside the list",
                    menu="Agenda → Week"),
            Command("activity", "agenda: hide", "agenda('')", "Hide the agenda",
                    menu="Agenda → Hide"),
            *(Command("activity", f"type: {TYPE_LABELS[t].lower() if t else 'any'}",
                      f"set_type('{t.value if t else ''}')",
                      f"Only {TYPE_LABELS[t].lower()}s" if t else "Every type",
                      menu=f"Type → {TYPE_LABELS[t] if t else 'Any'}")
              for t in TYPE_FILTERS),
            *(Command("activity", f"status: {label}", f"set_status('{key}')",
                      f"Only activities with status {label}" if key != "any"
                      else "Any status", menu=f"Status → {label.capitalize()}")
              for key, label in STATUS_FILTER_LABELS.items()),
        ]

    def set_criteria(self, criteria: Criteria) -> None:
        if criteria != self.criteria:
            self.criteria = criteria
            self.update_status()
            self.reload(self.table.cursor_key)

    @on(Input.Changed, "#activity-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.set_criteria(replace(self.criteria, text=event.value))

    @on(Input.Submitted, "#activity-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.set_focus(self.table)

    def action_focus_search(self) -> None:
        self.set_focus(self.query_one("#activity-search", Input))

    def action_clear(self) -> None:
        """Escape: leave the search box; else clear the search, type and status; else back to
        the filter "mine"."""
        if isinstance(self.focused, Input):
            self.set_focus(self.table)
        elif self.criteria != Criteria():
            self.query_one("#activity-search", Input).value = ""
            self.set_criteria(Criteria())
        else:
            self.action_set_filter("mine")

    def action_today(self) -> None:
        listing = self.listing
        if listing is None:
            return
        row = listing.today_row if listing.today_row >= 0 else listing.first_upcoming
        if row < 0:
            self.notify("Nothing from today on in this list.", title="Activities")
            return
        self.table.move_to(row, 1)

    def action_cycle_type(self) -> None:
        following = TYPE_FILTERS[(TYPE_FILTERS.index(self.criteria.type) + 1)
                                 % len(TYPE_FILTERS)]
        self.set_criteria(replace(self.criteria, type=following))

    def action_set_type(self, value: str) -> None:
        self.set_criteria(replace(self.criteria, type=ActivityType(value) if value else None))

    def action_cycle_status(self) -> None:
        keys = list(STATUS_FILTERS)
        self.action_set_status(keys[(keys.index(self.criteria.status) + 1) % len(keys)])

    def action_set_status(self, key: str) -> None:
        if key in STATUS_FILTERS:
            self.set_criteria(replace(self.criteria, status=key))

    @property
    def agenda(self) -> AgendaPanel:
        return self.query_one("#agenda", AgendaPanel)

    def action_agenda(self, span: str | None = None) -> None:
        """Show the agenda by ``span`` (day, week, "" hides it); None: the next of hidden, day,
        week."""
        if span is None:
            span = AGENDA_SPANS[(AGENDA_SPANS.index(self.agenda.span) + 1) % len(AGENDA_SPANS)]
        self.agenda.span = span
        self.update_agenda()

    def update_agenda(self) -> None:
        panel = self.agenda
        if not panel.span:
            panel.show((), date.today(), "", self.zone, date.today(), None)
            return
        listing = self.listing
        activities = listing.activities if listing is not None else {}
        today = self.services.now().astimezone(self.zone).date()
        key = self.table.cursor_key
        cursor = activities.get(key) if key else None
        days = local_days(cursor, self.zone) if cursor is not None else None
        day = max(days[0], min(today, days[1])) if days else today
        panel.show(activities.values(), day, panel.span, self.zone, today, key)

