"""A contact's page: every field, its history (the activities with the contact, upcoming and
past, newest first), its sync status, and what to do from there: ``n`` a new activity with the
contact, ``m`` an email and ``p`` a call with the system's opener (``mailto:``, ``tel:``), ``c``
copies the address, ``e`` edits, ``t`` tags. Escape returns to the list."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from crmtui.model import (
    Activity,
    ActivityStatus,
    ActivityType,
    Contact,
    TagKind,
)
from crmtui.screens.activity_form import (
    STATUS_LABELS,
    TYPE_LABELS,
    ActivityForm,
    contact_key,
    local_zone,
)
from crmtui.screens.contact_form import ContactForm
from crmtui.screens.context import Command, Services
from crmtui.screens.opener import Opener, mailto, system_open, tel
from crmtui.screens.tags import TagEditor
from crmtui.screens.undo import record_undo, tags_changed
from crmtui.store.repository import ActivityQuery, NotFound, StoreError
from crmtui.widgets.picker import Choice, Picker
from crmtui.widgets.sync_status import SyncStatusView

NONE = "—"


class ContactDetailScreen(Screen[None]):
    """Every field of one contact, as the viewing user may see it."""

    DEFAULT_CSS = """
    ContactDetailScreen .detail-section { margin-top: 1; color: $accent; text-style: bold; }
    ContactDetailScreen #detail-history-title { margin-top: 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="contact.back"),
        Binding("e", "edit_contact", "Edit", id="contact.edit"),
        Binding("t", "edit_tags", "Tags", id="contact.tags"),
        Binding("n", "new_activity", "New activity", id="contact.new_activity"),
        Binding("m", "email", "Email", id="contact.email"),
        Binding("p", "call", "Call", id="contact.call"),
        Binding("c", "copy_address", "Copy", id="contact.copy"),
    ]

    def __init__(self, services: Services, contact: Contact, *,
                 opener: Opener = system_open) -> None:
        """``opener`` hands a ``mailto:`` or ``tel:`` address to the system (tests give their
        own)."""
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.contact = contact
        self.opener = opener
        self.zone, self.zone_name = local_zone()
        self.history: list[Activity] = []
        """The activities with the contact, newest first (as shown)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(self.heading(), id="detail-heading")
            history = self.history_table()
            yield Static(self.history_title(), classes="detail-section",
                         id="detail-history-title")
            yield Static(history, id="detail-history")
            yield Static("Details", classes="detail-section")
            yield Static(self.fields(), id="detail-fields")
            yield Static("Sync", classes="detail-section")
            yield SyncStatusView(self.repo, self.user_id, self.contact, id="detail-sync")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail", VerticalScroll).focus()

    def refresh_data(self) -> None:
        """Reload the contact (it changed); back to the list when it was deleted."""
        try:
            self.contact = self.repo.get_contact(self.contact.id, self.user_id)
        except NotFound:
            self.notify("This contact was deleted.", severity="warning")
            self.app.pop_screen()
            return
        self.query_one("#detail-heading", Static).update(self.heading())
        self.query_one("#detail-fields", Static).update(self.fields())
        self.query_one("#detail-history", Static).update(self.history_table())
        self.query_one("#detail-history-title", Static).update(self.history_title())
        self.query_one(SyncStatusView).show_for(self.contact)

    def commands(self) -> list[Command]:
        return [
            Command("contact", "new activity with this contact", "new_activity",
                    "An activity with this contact as participant", menu="New activity"),
            Command("contact", "email", "email", "Write to the primary email with the "
                    "system's mail program", menu="Email"),
            Command("contact", "call", "call", "Call the primary phone with the system's "
                    "phone program", menu="Call"),
            Command("contact", "copy email", "copy_address('email')",
                    "Copy the primary email address", menu="Copy email"),
            Command("contact", "copy phone", "copy_address('phone')",
                    "Copy the primary phone number", menu="Copy phone"),
            Command("contact", "edit", "edit_contact", "Edit this contact", menu="Edit"),
            Command("contact", "tags…", "edit_tags", "Assign or remove tags", menu="Tags…"),
        ]

    # -- history ----------------------------------------------------------------------------------

    def load_history(self) -> list[Activity]:
        """The activities with the contact, newest first (those without a date last)."""
        found = self.repo.find_activities(ActivityQuery(contact_ids=(self.contact.id,),
                                                        sort="start", descending=True))
        dated = [a for a in found if a.sort_start() is not None]
        return dated + [a for a in found if a.sort_start() is None]

    def history_title(self) -> str:
        count = len(self.history)
        return f"Activities ({count})  ·  n: new activity with {self.contact.display_name}"

    def history_table(self) -> RenderableType:
        try:
            self.history = self.load_history()
        except StoreError as exc:
            return Text(f"Cannot read the activities: {exc}", style="red")
        if not self.history:
            return Text("No activity with this contact yet: press n to plan one.", style="dim")
        now = self.services.now()
        table = Table(box=None, padding=(0, 1), show_edge=False, expand=True,
                      header_style="bold dim")
        table.add_column(f"When ({self.zone_name})", no_wrap=True)
        table.add_column("", no_wrap=True, width=1)
        table.add_column("Title", ratio=1, overflow="ellipsis", no_wrap=True)
        table.add_column("Type", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        for a in self.history:
            start = a.sort_start()
            upcoming = start is not None and (a.end or start) >= now
            overdue = (not upcoming and start is not None and a.type is ActivityType.TASK
                       and a.status in (ActivityStatus.NOT_STARTED, ActivityStatus.IN_PROGRESS))
            style = "bold" if upcoming else "dim" if start is not None else ""
            mark = "▸" if upcoming else "!" if overdue else ""
            table.add_row(self.when(a), mark, Text(a.title, style=style),
                          TYPE_LABELS.get(a.type, a.type.value),
                          Text(STATUS_LABELS.get(a.status, a.status.value),
                               style="red" if overdue else ""))
        return table

    def when(self, a: Activity) -> str:
        if a.all_day and a.start_date is not None:
            return f"{a.start_date:%Y-%m-%d} all day"
        if a.start is None:
            return "no date"
        return a.start.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    # -- actions ----------------------------------------------------------------------------------

    def action_new_activity(self) -> None:
        self.app.push_screen(ActivityWithContact(self.services, self.contact), self._saved)

    def _saved(self, activity_id: str | None) -> None:
        if activity_id:
            self.notify("Activity saved.", title=self.contact.display_name)
            self.refresh_data()

    def _address(self, what: str) -> str:
        return self.contact.primary_email if what == "email" else self.contact.primary_phone

    def _hand_over(self, what: str, url: str) -> None:
        value = self._address(what)
        if not value:
            self.notify(f"{self.contact.display_name} has no {what}: press e to add one.",
                        severity="warning", title=what.capitalize())
            return
        if self.opener(url):
            self.notify(f"Opened {url} with the system's opener.", title=what.capitalize())
            return
        self.app.copy_to_clipboard(value)
        self.notify(f"No program here opens {url.split(':')[0]}: addresses; {value} was copied "
                    "instead.", severity="warning", title=what.capitalize())

    def action_email(self) -> None:
        self._hand_over("email", mailto(self.contact.primary_email))

    def action_call(self) -> None:
        self._hand_over("phone", tel(self.contact.primary_phone))

    def action_copy_address(self, what: str = "") -> None:
        """Copy the primary email (``what``: "email", "phone"; "": the email, else the
        phone)."""
        kinds = [what] if what else ["email", "phone"]
        for kind in kinds:
            value = self._address(kind)
            if value:
                self.app.copy_to_clipboard(value)
                self.notify(f"Copied {value}.", title="Copy")
                return
        self.notify(f"{self.contact.display_name} has no {' or '.join(kinds)} to copy.",
                    severity="warning", title="Copy")

    def action_edit_contact(self) -> None:
        self.app.push_screen(ContactForm(self.services, self.contact), self._changed)

    def action_edit_tags(self) -> None:
        undo = tags_changed(self.repo, [self.contact.id], self.user_id)

        def edited(changed: bool | None) -> None:
            if changed:
                record_undo(self.app, undo)
            self._changed(changed)

        self.app.push_screen(TagEditor(self.services, [self.contact.id]), edited)

    def _changed(self, result: object) -> None:
        if result:
            self.refresh_data()

    def heading(self) -> RenderableType:
        c = self.contact
        title = Text(c.display_name, style="bold")
        role = " at ".join(p for p in (c.job_title, c.company) if p)
        if role and role != c.display_name:
            return Group(title, Text(role, style="italic"))
        return title

    def fields(self) -> Table:
        c = self.contact
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", justify="right", no_wrap=True)
        grid.add_column(overflow="fold")
        name = " ".join(p for p in (c.given_name, c.middle_name, c.family_name) if p)
        grid.add_row("Name", name or NONE)
        grid.add_row("Job title", c.job_title or NONE)
        grid.add_row("Company", c.company or NONE)
        grid.add_row("Emails", _typed([(e.value, e.type, e.primary) for e in c.emails]))
        grid.add_row("Phones", _typed([(p.value, p.type, p.primary) for p in c.phones]))
        grid.add_row("Addresses", _typed([(a.one_line(), a.type, a.primary)
                                          for a in c.addresses]))
        grid.add_row("Birthday", _birthday(c.birthday, self.services.now().date()))
        grid.add_row("Tags", self.tag_text())
        grid.add_row("Owner", self.owner_name())
        grid.add_row("Notes", Text(c.notes) if c.notes else NONE)
        grid.add_row("Created", _when(c.created))
        grid.add_row("Modified", _when(c.modified))
        return grid

    def tag_text(self) -> Text:
        tags = [t for t in self.repo.list_tags(self.user_id) if t.id in self.contact.tags]
        if not tags:
            return Text(NONE)
        text = Text()
        for i, tag in enumerate(tags):
            if i:
                text.append("  ")
            label = tag.name if tag.kind is TagKind.PUBLIC else f"{tag.name} ({tag.kind.value})"
            text.append(f" {label} ", style="reverse")
        return text

    def owner_name(self) -> str:
        if not self.contact.owner_id:
            return NONE
        try:
            return self.repo.get_user(self.contact.owner_id).name
        except NotFound:
            return NONE


class ActivityWithContact(ActivityForm):
    """The activity form for a new activity, the contact already among the participants."""

    def __init__(self, services: Services, contact: Contact) -> None:
        super().__init__(services)
        self.contact = contact

    def on_mount(self) -> None:
        # Runs before the form's own on_mount (Textual calls the subclass's handler first),
        # which then takes the prefilled participant as the form's starting state.
        email = self.contact.primary_email
        self.query_one("#participants", Picker).add(Choice(
            contact_key(self.contact.id), self.contact.display_name,
            f"contact · {email}" if email else "contact"))


def _typed(items: list[tuple[str, str, bool]]) -> Text:
    """Typed values, one a line: ``value  (type)``, the primary one marked."""
    if not items:
        return Text(NONE)
    text = Text()
    for i, (value, kind, primary) in enumerate(items):
        if i:
            text.append("\n")
        text.append(value)
        text.append(f"  {kind}", style="dim")
        if primary:
            text.append("  ★ primary", style="bold")
    return text


def _birthday(day: date | None, today: date) -> str:
    if day is None:
        return NONE
    age = today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    return f"{day.isoformat()}  ({age} years)"


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
