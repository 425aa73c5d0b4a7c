"""A read-only page of one activity with every field (as Enter on a contact opens its page);
``e`` edits it, Escape returns to the list. Times are shown in the local time zone, which is
named, with the zone the activity was planned in when it differs."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from crmtui.model import Activity, ParticipantKind, User
from crmtui.screens.activity_form import (
    PRIORITY_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    ActivityForm,
    local_zone,
)
from crmtui.screens.context import Services
from crmtui.store.repository import NotFound
from crmtui.widgets.sync_status import SyncStatusView

NONE = "—"


class ActivityDetailScreen(Screen[None]):
    """Every field of one activity, read-only."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="activity.back"),
        Binding("e", "edit_activity", "Edit", id="activity.edit"),
    ]

    def __init__(self, services: Services, activity: Activity) -> None:
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.activity = activity
        self.zone, self.zone_name = local_zone()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(self.heading(), id="detail-heading")
            yield Static(self.fields(), id="detail-fields")
            yield SyncStatusView(self.repo, self.services.user_id, self.activity,
                                 id="detail-sync")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail", VerticalScroll).focus()

    def refresh_data(self) -> None:
        """Reload the activity (it changed); back to the list when it was deleted."""
        try:
            self.activity = self.repo.get_activity(self.activity.id)
        except NotFound:
            self.notify("This activity was deleted.", severity="warning")
            self.app.pop_screen()
            return
        self.query_one("#detail-heading", Static).update(self.heading())
        self.query_one("#detail-fields", Static).update(self.fields())
        self.query_one(SyncStatusView).show_for(self.activity)

    def action_edit_activity(self) -> None:
        self.app.push_screen(ActivityForm(self.services, self.activity), self._saved)

    def _saved(self, activity_id: str | None) -> None:
        if activity_id:
            self.notify("Activity saved.", title="Activities")
            self.refresh_data()

    def heading(self) -> Text:
        a = self.activity
        text = Text(a.title, style="bold")
        text.append(f"\n{TYPE_LABELS.get(a.type, a.type.value)} · "
                    f"{STATUS_LABELS.get(a.status, a.status.value)}", style="italic")
        return text

    def when(self) -> str:
        a = self.activity
        if a.all_day and a.start_date is not None:
            last = a.end_date or a.start_date
            return (f"{a.start_date:%a %d %b %Y}, all day" if last == a.start_date else
                    f"{a.start_date:%a %d %b %Y} to {last:%a %d %b %Y}, all day")
        if a.start is None:
            return "no date"
        start = a.start.astimezone(self.zone)
        text = f"{start:%a %d %b %Y %H:%M}"
        if a.end is not None:
            end = a.end.astimezone(self.zone)
            text += f"–{end:%H:%M}" if end.date() == start.date() else f" to {end:%a %d %b %H:%M}"
        text += f"  (time zone {self.zone_name})"
        if a.timezone and a.timezone != self.zone_name:
            there = a.start.astimezone(ZoneInfo(a.timezone))
            text += f"\n{there:%a %d %b %H:%M} where it was planned ({a.timezone})"
        return text

    def fields(self) -> Table:
        a = self.activity
        users = {u.id: u for u in self.repo.list_users()}
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", justify="right", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("When", self.when())
        if a.recurrence:
            grid.add_row("Repeats", "\n".join(a.recurrence))
        grid.add_row("Priority", PRIORITY_LABELS.get(a.priority, a.priority.value))
        organizer = users.get(a.organizer_id)
        grid.add_row("Organizer", f"{organizer.name} <{organizer.email}>" if organizer
                     else NONE)
        grid.add_row("Participants", self.participants(users) or NONE)
        grid.add_row("Location", a.location or NONE)
        grid.add_row("Show in calendar", "yes" if a.show_in_calendar else "no")
        grid.add_row("Notes", Text(a.notes) if a.notes else NONE)
        grid.add_row("Created", _stamp(a.created))
        grid.add_row("Modified", _stamp(a.modified))
        return grid

    def participants(self, users: dict[str, User]) -> str:
        lines = []
        contact_ids = [p.ref_id for p in self.activity.participants
                       if p.kind is ParticipantKind.CONTACT]
        try:
            contacts = {c.id: c for c in self.repo.get_contacts(contact_ids,
                                                                self.services.user_id)}
        except NotFound:
            contacts = {}
        for p in self.activity.participants:
            if p.kind is ParticipantKind.USER:
                user = users.get(p.ref_id)
                lines.append(f"{user.name} (user)" if user else "(unknown user)")
            else:
                contact = contacts.get(p.ref_id)
                lines.append(f"{contact.display_name} (contact)" if contact
                             else "(deleted contact)")
        return "\n".join(lines)


def _stamp(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
