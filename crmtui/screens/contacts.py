"""The contacts list: a search box, a lazily rendered table of every matching contact, a status.

The query (search text and sort) runs in a thread worker; the table then holds only the matching
ids and asks the repository for the contacts on screen as they come into view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from crmtui.model import Contact
from crmtui.screens.contact_detail import ContactDetailScreen
from crmtui.screens.context import Services
from crmtui.store.repository import ContactQuery, NotFound, Repository, StoreError
from crmtui.widgets import Column, LazyTable

SEARCH_DELAY = 0.15
"""Seconds of quiet typing before the search runs."""

COLUMNS = (
    Column("name", "Name", ratio=4, min_width=14),
    Column("company", "Company", ratio=4, min_width=10),
    Column("job_title", "Job title", ratio=3, min_width=8),
    Column("email", "Email", ratio=5, min_width=12),
    Column("phone", "Phone", width=19),
    Column("tags", "Tags", ratio=3, min_width=8, sortable=False),
)
SORTABLE = tuple(c for c in COLUMNS if c.sortable)


def list_name(contact: Contact) -> str:
    """The name as the list shows (and sorts) it: family name first."""
    given = " ".join(p for p in (contact.given_name, contact.middle_name) if p)
    if contact.family_name and given:
        return f"{contact.family_name}, {given}"
    return contact.family_name or given or contact.display_name


class TagNames:
    """Names of the tags a user can see, reloaded when the repository's data changed."""

    def __init__(self, repo: Repository, viewer_id: str) -> None:
        self.repo = repo
        self.viewer_id = viewer_id
        self._generation = -1
        self._names: dict[str, str] = {}

    def names(self) -> dict[str, str]:
        generation = self.repo.generation
        if generation != self._generation:
            self._names = {t.id: t.name for t in self.repo.list_tags(self.viewer_id)}
            self._generation = generation
        return self._names

    def of(self, contact: Contact) -> list[str]:
        names = self.names()
        return sorted((names[t] for t in contact.tags if t in names), key=str.casefold)


@dataclass(frozen=True, slots=True)
class QueryResult:
    query: ContactQuery
    ids: list[str]
    total: int
    error: str = ""


class ContactsScreen(Screen[None]):
    """Browse and search contacts."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding acts before the keys that follow it are dispatched, so what is typed
        # right after "/" lands in the search box (check_action lets "/" through while there).
        Binding("slash", "focus_search", "Search", id="contacts.search", priority=True),
        Binding("s", "cycle_sort", "Sort column", id="contacts.sort"),
        Binding("r", "reverse_sort", "Reverse sort", id="contacts.reverse"),
        Binding("escape", "leave_search", "Back to the list", id="contacts.leave_search"),
        Binding("down", "leave_search", "Back to the list", show=False,
                id="contacts.leave_search_down"),
    ]

    class Loaded(Message):
        """A query finished in the worker."""

        def __init__(self, result: QueryResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.repo = repo = services.repo
        self.user_id = user_id = services.user_id
        self.tags = TagNames(repo, user_id)
        self.contact_query = ContactQuery()
        self.result: QueryResult | None = None
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="search-bar"):
            yield Label("Search", id="search-label")
            yield Input(placeholder="names, emails, phones, companies  (press / to type here)",
                        id="search", compact=True)
        yield LazyTable(COLUMNS, self.load_rows, empty_text="Loading contacts…", id="contacts")
        yield Static("Loading contacts…", id="status")
        yield Footer()

    @property
    def table(self) -> LazyTable:
        return self.query_one("#contacts", LazyTable)

    def on_mount(self) -> None:
        self.table.set_sort(self.contact_query.sort, self.contact_query.descending)
        self.table.focus()
        self.run_query(self.contact_query)

    # -- rows -------------------------------------------------------------------------------------

    def load_rows(self, ids: Sequence[str]) -> list[tuple[str, ...]]:
        """The table's loader: the cells of the contacts ``ids``."""
        try:
            contacts: list[Contact | None] = list(self.repo.get_contacts(ids, self.user_id))
        except NotFound:  # deleted since the search ran: fetch one by one
            contacts = []
            for cid in ids:
                try:
                    contacts.append(self.repo.get_contact(cid, self.user_id))
                except NotFound:
                    contacts.append(None)
        return [self.row(c) if c is not None else ("(deleted)",) for c in contacts]

    def row(self, contact: Contact) -> tuple[str, ...]:
        return (list_name(contact), contact.company, contact.job_title, contact.primary_email,
                contact.primary_phone, ", ".join(self.tags.of(contact)))

    # -- querying ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="contacts-query")
    def run_query(self, query: ContactQuery) -> None:
        try:
            result = QueryResult(query, self.repo.contact_ids(query, self.user_id),
                                 self.repo.count_contacts())
        except StoreError as exc:
            result = QueryResult(query, [], 0, error=str(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(result))

    def on_contacts_screen_loaded(self, message: Loaded) -> None:
        result = message.result
        if result.query != self.contact_query:
            return  # a newer query is on its way
        self.result = result
        self.table.empty_text = (f"No contact matches “{result.query.text.strip()}”."
                                 if result.query.text.strip() else "No contacts yet.")
        if result.error:
            self.notify(f"Cannot list the contacts: {result.error}", severity="error",
                        title="Contacts")
        self.table.set_rows(result.ids)
        self.table.set_sort(result.query.sort, result.query.descending)
        self.update_status()

    def update_status(self) -> None:
        result = self.result
        if result is None:
            return
        if result.error:
            self.query_one("#status", Static).update(f"Cannot list the contacts: {result.error}")
            return
        column = next(c for c in SORTABLE if c.key == result.query.sort)
        order = "descending" if result.query.descending else "ascending"
        found = len(result.ids)
        if result.query.text.strip():
            text = (f"{found:,} of {result.total:,} contacts match "
                    f"“{result.query.text.strip()}”")
        else:
            text = f"{found:,} contact{'s' if found != 1 else ''}"
        busy = "  ·  searching…" if result.query != self.contact_query else ""
        self.query_one("#status", Static).update(
            f"{text}  ·  sorted by {column.label.lower()}, {order}{busy}")

    def set_query(self, query: ContactQuery) -> None:
        if query != self.contact_query:
            self.contact_query = query
            self.table.set_sort(query.sort, query.descending)
            self.update_status()
            self.run_query(query)

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        text = event.value
        self._search_timer = self.set_timer(
            SEARCH_DELAY, lambda: self.set_query(replace(self.contact_query, text=text)))

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self.set_query(replace(self.contact_query, text=event.value))
        self.set_focus(self.table)

    # -- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_search = isinstance(self.focused, Input)
        if action == "focus_search":
            return not in_search
        if action == "leave_search":
            return in_search
        return True

    # Focus moves at once, not after the pending events as widget.focus() does.

    def action_focus_search(self) -> None:
        self.set_focus(self.query_one("#search", Input))

    def action_leave_search(self) -> None:
        self.set_focus(self.table)

    def action_cycle_sort(self) -> None:
        keys = [c.key for c in SORTABLE]
        following = keys[(keys.index(self.contact_query.sort) + 1) % len(keys)]
        self.set_query(replace(self.contact_query, sort=following, descending=False))

    def action_reverse_sort(self) -> None:
        self.set_query(replace(self.contact_query, descending=not self.contact_query.descending))

    @on(LazyTable.HeaderClicked, "#contacts")
    def header_clicked(self, event: LazyTable.HeaderClicked) -> None:
        key = event.column.key
        if key == self.contact_query.sort:
            self.action_reverse_sort()
        else:
            self.set_query(replace(self.contact_query, sort=key, descending=False))

    @on(LazyTable.Selected, "#contacts")
    def open_contact(self, event: LazyTable.Selected) -> None:
        try:
            contact = self.repo.get_contact(event.key, self.user_id)
        except NotFound:
            self.notify("This contact was deleted meanwhile.", severity="warning")
            return
        self.app.push_screen(ContactDetailScreen(self.repo, self.user_id, contact))
