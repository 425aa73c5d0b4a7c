"""A read-only view of one contact with every field; ``e`` edits it, ``t`` edits its tags,
Escape returns to the list."""

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

from crmtui.model import Contact, TagKind
from crmtui.screens.contact_form import ContactForm
from crmtui.screens.context import Services
from crmtui.screens.tags import TagEditor
from crmtui.store.repository import NotFound

NONE = "—"


class ContactDetailScreen(Screen[None]):
    """Every field of one contact, as the viewing user may see it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="contact.back"),
        Binding("e", "edit_contact", "Edit", id="contact.edit"),
        Binding("t", "edit_tags", "Tags", id="contact.tags"),
    ]

    def __init__(self, services: Services, contact: Contact) -> None:
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.contact = contact

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(self.heading(), id="detail-heading")
            yield Static(self.fields(), id="detail-fields")
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

    def action_edit_contact(self) -> None:
        self.app.push_screen(ContactForm(self.services, self.contact), self._changed)

    def action_edit_tags(self) -> None:
        self.app.push_screen(TagEditor(self.services, [self.contact.id]), self._changed)

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
