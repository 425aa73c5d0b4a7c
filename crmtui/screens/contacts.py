"""The contacts list: a search box, a lazily rendered table of every matching contact, a status.

The query (search text, tag filter and sort) runs as soon as the text changes (no typing delay):
answered at once when the store has the answer at hand in memory
(:meth:`~crmtui.store.repository.Repository.quick_contact_ids`: the TinyDB store once its search
index is built), else in a thread worker; the table then holds only the matching ids and asks the
repository for the contacts on screen as they come into view. When the search text grows, the new search narrows the
previous result instead of scanning every contact; recent results are kept while the data does
not change, so erasing letters is instant too.

Start: with a store opened ``deferred`` (the ``crmtui`` command opens it so), the first rows come
from the store's front page (:meth:`~crmtui.store.repository.Repository.first_page`) before the
whole database is read; the query thread then waits for the rest and replaces them. A search
typed before the search index is built is answered at once with its first matches (a scan in
the sort order), then in full.

On a database near enough (:meth:`~crmtui.store.repository.Repository.quick_first_page`: the
PostgreSQL store), each letter's first matches are asked as the key is handled, and every match
once typing pauses for :data:`TYPING_PAUSE` seconds.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from crmtui.model import Contact, SyncKind
from crmtui.screens.confirm import Confirm
from crmtui.screens.contact_list import (
    COLUMNS,
    SORTABLE,
    QueryResult,
    SearchInput,
    TagNames,
    TagPicker,
    list_name,
)
from crmtui.screens.context import Command, Services, sync_commands
from crmtui.screens.sync_bar import SyncBar, local_time
from crmtui.screens.tags import TagEditor
from crmtui.screens.undo import UndoEntry, contacts_deleted, record_undo, tags_changed
from crmtui.store.repository import ContactQuery, NotFound, StoreConflict, StoreError
from crmtui.widgets import LazyTable

PREPARE_DELAY = 0.2
"""Seconds after the first rows show before the search texts are indexed in a thread."""
SNAPSHOT_IN_THREAD = 2000
"""More contacts than this to tag: their tags are read for undo in a thread, not in the UI."""
FIRST_PAINT_WAIT = 0.25
"""Seconds the query thread waits at most for the first matches to be painted."""
CACHED_RESULTS = 16
"""Query results kept for reuse while the data does not change (erasing search letters)."""
TYPING_PAUSE = 0.2
"""Seconds without a new letter before a search whose first matches show asks for every match
(a database then answers the letters typed quickly without that work in its way)."""


class ContactsScreen(Screen[None]):
    """Browse, search, filter, select and edit contacts."""

    DEFAULT_CSS = """
    /* A fixed height: a keystroke in the search box then needs no layout pass. */
    ContactsScreen #search { height: 1; }
    ContactsScreen #status { height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding acts before the keys that follow it are dispatched, so what is typed
        # right after "/" lands in the search box (check_action lets "/" through while there).
        Binding("slash", "focus_search", "Search", id="contacts.search", priority=True),
        Binding("n", "new_contact", "New", id="contacts.new"),
        Binding("e", "edit_contact", "Edit", id="contacts.edit"),
        Binding("d", "delete_contacts", "Delete", id="contacts.delete"),
        Binding("t", "edit_tags", "Tags", id="contacts.tags"),
        Binding("f", "filter_by_tag", "Tag filter", id="contacts.tag_filter"),
        Binding("space", "toggle_selection", "Select", id="contacts.select"),
        Binding("asterisk", "select_all", "Select all", id="contacts.select_all"),
        Binding("s", "cycle_sort", "Sort column", id="contacts.sort"),
        Binding("r", "reverse_sort", "Reverse sort", id="contacts.reverse"),
        Binding("escape", "clear", "Back / clear", id="contacts.clear"),
        Binding("down", "leave_search", "Back to the list", show=False,
                id="contacts.leave_search_down"),
    ]

    class Loaded(Message):
        """A query finished in the worker (``painted``: set once the result is painted)."""

        def __init__(self, result: QueryResult, painted: threading.Event | None = None) -> None:
            super().__init__()
            self.result = result
            self.painted = painted

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.repo = repo = services.repo
        self.user_id = user_id = services.user_id
        self.tags = TagNames(repo, user_id)
        self.contact_query = ContactQuery()
        self.result: QueryResult | None = None
        self._results: OrderedDict[ContactQuery, QueryResult] = OrderedDict()
        self._cursor_to: str | None = None
        self._seen_generation = -1
        self._prepare_scheduled = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="search-bar"):
            yield Label("Search", id="search-label")
            yield SearchInput(placeholder="names, emails, phones, companies  "
                              "(press / to type here)", id="search", compact=True)
        yield LazyTable(COLUMNS, self.load_rows, empty_text="Loading contacts…", marks=True,
                        id="contacts")
        yield Static("Loading contacts…", id="status", markup=False)
        yield SyncBar(self.services)
        yield Footer()

    @property
    def table(self) -> LazyTable:
        return self.query_one("#contacts", LazyTable)

    @property
    def selected(self) -> set[str]:
        """The ids of the selected (marked) contacts."""
        return self.table.marked

    def on_mount(self) -> None:
        self.watch(self.query_one("#search", Input), "value", self.search_changed, init=False)
        self.table.set_sort(self.contact_query.sort, self.contact_query.descending)
        self.table.focus()
        try:
            first = self.repo.first_page(self.contact_query, self.user_id)
            # The data the first rows show: the screen's resume, which follows at start-up,
            # then finds nothing changed and leaves the reading to _query_when_shown.
            generation = self.repo.generation if first is not None else -1
        except StoreError:
            first = None
        if first is None:
            self.run_query(self.contact_query, None)
            return
        # A store still reading: its first contacts now, every one once they are read (the
        # reading starts once these rows are on the terminal, so it does not delay them).
        ids, total = first
        self.show_result(QueryResult(self.contact_query, ids, total, generation=generation,
                                     partial=True))
        after_frame = getattr(self.app, "call_after_first_frame", self.call_after_refresh)
        after_frame(self._query_when_shown)

    def _query_when_shown(self) -> None:
        if self.result is not None and self.result.partial \
                and self.result.query == self.contact_query:
            self.run_query(self.contact_query, None)

    def on_screen_resume(self) -> None:
        # Back from the detail view (which may have edited): show what changed.
        if self.result is not None and self.repo.generation != self._seen_generation:
            self.refresh_data()

    # -- the section protocol ---------------------------------------------------------------------

    def commands(self) -> list[Command]:
        return [
            Command("contact", "new", "new_contact", "Create a contact", menu="New contact"),
            Command("contact", "edit", "edit_contact", "Edit the contact under the cursor",
                    menu="Edit contact"),
            Command("contact", "delete", "delete_contacts",
                    "Delete the selected contacts (or the one under the cursor)",
                    menu="Delete contacts"),
            Command("contact", "tags…", "edit_tags",
                    "Assign or remove tags on the selected contacts; create tags",
                    menu="Tags…"),
            Command("contact", "search", "focus_search", "Type to filter the list",
                    menu="Search"),
            Command("contact", "filter by tag", "filter_by_tag",
                    "Show only the contacts with one tag", menu="Filter by tag"),
            Command("contact", "select all that match", "select_all",
                    "Select every contact the search and the tag filter find (again: none)",
                    menu="Select all that match"),
            *sync_commands("contacts"),
        ]

    def refresh_data(self) -> None:
        """Re-run the current query (the data changed), the cursor staying on its contact."""
        self._results.clear()
        self.tags.invalidate()
        self.table.invalidate()
        self.query_one(SyncBar).show()
        self.run_query(self.contact_query, None)

    # -- rows -------------------------------------------------------------------------------------

    def load_rows(self, ids: Sequence[str]) -> list[tuple[str, ...]]:
        """The table's loader: the cells of the contacts ``ids``.

        It runs while the table paints, so it asks the repository as little as it can: each
        call waits for the store's lock, which a running sync holds while it commits a batch."""
        names = self.tags.names()
        try:
            contacts: list[Contact | None] = list(self.repo.get_contacts(ids, self.user_id))
        except NotFound:  # deleted since the search ran: fetch one by one
            contacts = []
            for cid in ids:
                try:
                    contacts.append(self.repo.get_contact(cid, self.user_id))
                except NotFound:
                    contacts.append(None)
        return [self.row(c, names) if c is not None else ("(deleted)",) for c in contacts]

    def row(self, contact: Contact, names: dict[str, str] | None = None) -> tuple[str, ...]:
        return (list_name(contact), contact.company, contact.job_title, contact.primary_email,
                contact.primary_phone, ", ".join(self.tags.of(contact, names)))

    # -- querying ---------------------------------------------------------------------------------

    def _narrowable(self, query: ContactQuery) -> QueryResult | None:
        """A finished result that ``query`` only narrows (same filters, the text grown)."""
        result = self.result
        if (result is None or result.error or result.partial
                or result.generation != self.repo.generation
                or replace(result.query, text=query.text) != query):
            return None
        if len(result.ids) * 4 >= result.total:
            return None  # a scan of every contact in memory order is faster than picking
        old, new = result.query.text.strip(), query.text.strip()
        if old and new.startswith(old) and new != old:
            return result
        return None

    @work(thread=True, exclusive=True, group="contacts-query")
    def run_query(self, query: ContactQuery, base: QueryResult | None,
                  first_shown: bool = False) -> None:
        """Every match of ``query`` (narrowing ``base``'s ids when given), first showing the
        first matches when the store has them sooner; ``first_shown``: they are on screen
        already (then, for a search, every match is asked once typing pauses)."""
        def first_matches() -> None:
            # The store still reading, or its search index building, or a database: the first
            # matches at once, before the whole answer.
            first = self.repo.first_page(query, self.user_id)
            if first is not None and not get_current_worker().is_cancelled:
                painted = threading.Event()
                self.post_message(self.Loaded(QueryResult(query, first[0], first[1],
                                                          partial=True), painted))
                # The full answer takes a while, and this thread would slow down the painting
                # of the first matches: they show first.
                painted.wait(FIRST_PAINT_WAIT)

        searching = bool(query.text.strip())
        if searching and first_shown and not self._typing_paused():
            # The first matches show already, and a newer query came meanwhile: the letters
            # typed quickly do not find the database busy with every match of the last one.
            return
        try:
            if searching and base is None and self.repo.loading:
                first_matches()  # from the front page of a store still reading
            self.repo.wait_until_loaded()  # a store opened on its front page reads the rest
            generation = self.repo.generation
            if searching and not first_shown:
                # a database's first page; from every contact, before the index is built
                first_matches()
            if base is not None:
                ids = self.repo.narrow_contact_ids(base.ids, query.text, self.user_id)
            else:
                ids = self.repo.contact_ids(query, self.user_id)
            result = QueryResult(query, ids, self.repo.count_contacts(), generation=generation)
        except StoreError as exc:
            result = QueryResult(query, [], 0, error=str(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(result))

    @staticmethod
    def _typing_paused() -> bool:
        """Wait :data:`TYPING_PAUSE` seconds in the query thread; False when a newer query
        cancelled it meanwhile."""
        worker = get_current_worker()
        deadline = time.monotonic() + TYPING_PAUSE
        while time.monotonic() < deadline:
            if worker.is_cancelled:
                return False
            time.sleep(0.01)
        return not worker.is_cancelled

    @work(thread=True, exclusive=True, group="contacts-prepare")
    def prepare_search(self) -> None:
        """Build the search index while the user looks at the list (the first letter typed is
        then answered at once)."""
        try:
            self.repo.prepare_search(self.contact_query.sort)
        except StoreError:
            return  # the search itself reports it
        # The contacts and their index live as long as the app: leave them out of the cyclic
        # garbage collector's full passes, which otherwise stall a keystroke now and then
        # (about 0.1 s with 100,000 contacts).
        gc.freeze()

    def on_contacts_screen_loaded(self, message: Loaded) -> None:
        result = message.result
        painted = message.painted
        if painted is not None:
            self.call_after_refresh(painted.set)
        if result.query != self.contact_query:
            return  # a newer query is on its way
        if not result.partial and not self._prepare_scheduled:
            # the first rows of every contact: index the search texts once they show
            self._prepare_scheduled = True
            self.set_timer(PREPARE_DELAY, self.prepare_search)
        if not result.error and not result.partial and result.generation == self.repo.generation:
            self._remember(result)
        self.show_result(result)

    def _remember(self, result: QueryResult) -> None:
        self._results[result.query] = result
        self._results.move_to_end(result.query)
        while len(self._results) > CACHED_RESULTS:
            self._results.popitem(last=False)

    def show_result(self, result: QueryResult) -> None:
        self.result = result
        self._seen_generation = result.generation
        text = result.query.text.strip()
        self.table.empty_text = (f"No contact matches “{text}”." if text
                                 else "No contact has this tag." if result.query.tag_ids
                                 else "No contacts yet.")
        if result.error:
            self.notify(f"Cannot list the contacts: {result.error}", severity="error",
                        title="Contacts")
        table = self.table
        previous_key, previous_row = table.cursor_key, table.cursor_row
        table.set_rows(result.ids)
        wanted = self._cursor_to
        self._cursor_to = None
        if wanted is not None and wanted in result.ids:
            table.cursor_row = result.ids.index(wanted)
        elif previous_key is not None and table.cursor_key != previous_key and not text \
                and previous_key not in result.ids:
            table.cursor_row = previous_row  # the contact is gone: stay at the same place
        if table.marked:  # contacts deleted meanwhile are no longer selected
            present = {k for k in table.marked if self._exists(k)}
            if present != table.marked:
                table.set_marked(present)
        table.set_sort(result.query.sort, result.query.descending)
        self.update_status()

    def _exists(self, contact_id: str) -> bool:
        try:
            self.repo.get_contact(contact_id)
        except NotFound:
            return False
        return True

    def last_sync_text(self) -> str:
        moment = self.services.status(SyncKind.CONTACTS).last_run
        if moment is None:
            return "never synchronized"
        return f"last sync {local_time(moment, self.services.now())}"

    def tag_filter_name(self) -> str:
        if not self.contact_query.tag_ids:
            return ""
        try:
            return self.repo.get_tag(self.contact_query.tag_ids[0], self.user_id).name
        except NotFound:
            return "(deleted tag)"

    def update_status(self) -> None:
        result = self.result
        if result is None:
            return
        status = self.query_one("#status", Static)
        if result.error:
            status.update(f"Cannot list the contacts: {result.error}", layout=False)
            return
        column = next(c for c in SORTABLE if c.key == result.query.sort)
        order = "descending" if result.query.descending else "ascending"
        found = len(result.ids)
        text = result.query.text.strip()
        if result.partial and text:
            parts = [f"the first {found:,} contacts that match “{text}”, searching all "
                     f"{result.total:,}…"]
        elif result.partial:
            parts = [f"{result.total:,} contact{'s' if result.total != 1 else ''}",
                     "reading the database…"]
        elif text or result.query.tag_ids:
            parts = [f"{found:,} of {result.total:,} contacts"]
            if text:
                parts[0] += f" match “{text}”"
        else:
            parts = [f"{found:,} contact{'s' if found != 1 else ''}"]
        if result.query.tag_ids:
            parts.append(f"tag: {self.tag_filter_name()}")
        if self.table.marked:
            parts.append(f"{len(self.table.marked):,} selected")
        parts.append(f"sorted by {column.label.lower()}, {order}")
        parts.append(self.last_sync_text())
        if result.query != self.contact_query:
            parts.append("searching…")
        # One line of fixed height: no layout pass (it would repaint the whole screen).
        status.update("  ·  ".join(parts), layout=False)

    def set_query(self, query: ContactQuery) -> None:
        if query == self.contact_query:
            return
        self.contact_query = query
        self.table.set_sort(query.sort, query.descending)
        cached = self._results.get(query)
        if cached is None or cached.generation != self.repo.generation:
            cached = self._quick_result(query)
            if cached is not None:
                self._remember(cached)
        if cached is not None:
            self.workers.cancel_group(self, "contacts-query")
            self._results.move_to_end(query)
            self.show_result(cached)
            if not cached.partial:
                return
            # the first matches: every one follows from the query thread
        else:
            self.update_status()
        # The query thread starts once the key typed is on screen: started before, it would
        # slow that frame down (the thread holds the interpreter while the screen paints).
        self.call_after_refresh(self._start_query, query, cached is not None)

    def _start_query(self, query: ContactQuery, first_shown: bool = False) -> None:
        if query == self.contact_query:  # else a newer query started or was answered
            self.run_query(query, self._narrowable(query), first_shown)

    def _quick_result(self, query: ContactQuery) -> QueryResult | None:
        """The result of ``query`` when the store has it at hand (see
        :meth:`~crmtui.store.repository.Repository.quick_contact_ids`): shown at once, in the
        frame that shows the key typed, rather than a frame later from the query thread."""
        try:
            answer = self.repo.quick_contact_ids(query, self.user_id)
        except StoreError:
            return None  # the query thread reports it
        if answer is not None:
            ids, total, generation = answer
            return QueryResult(query, ids, total, generation=generation)
        try:
            first = self.repo.quick_first_page(query, self.user_id)
        except StoreError:
            return None
        if first is None:
            return None
        ids, total, generation, every = first
        return QueryResult(query, ids, total, generation=generation, partial=not every)

    def search_changed(self, value: str) -> None:
        """The search text changed: called as the key is handled (a watcher of the box's
        value), so that a result at hand shows in the same frame as the letter typed, and a
        search starts a frame earlier than an ``Input.Changed`` message would start it."""
        self.set_query(replace(self.contact_query, text=value))

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.set_query(replace(self.contact_query, text=event.value))
        self.set_focus(self.table)

    # -- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_search = isinstance(self.focused, Input)
        if action == "focus_search":
            return not in_search
        if action == "leave_search":
            return in_search
        if action == "clear":
            return in_search or bool(self.table.marked or self.contact_query.text
                                     or self.contact_query.tag_ids)
        return True

    # Focus moves at once, not after the pending events as widget.focus() does.

    def action_focus_search(self) -> None:
        self.set_focus(self.query_one("#search", Input))

    def action_leave_search(self) -> None:
        self.set_focus(self.table)

    def action_clear(self) -> None:
        """Escape: leave the search box; else clear the selection, the search, the tag filter
        (one per press, in that order)."""
        if isinstance(self.focused, Input):
            self.set_focus(self.table)
        elif self.table.marked:
            self.table.set_marked(set())
            self.update_status()
        elif self.contact_query.text:
            self.query_one("#search", Input).value = ""  # search_changed runs the query
            self.set_query(replace(self.contact_query, text=""))
        elif self.contact_query.tag_ids:
            self.set_query(replace(self.contact_query, tag_ids=()))

    def action_cycle_sort(self) -> None:
        keys = [c.key for c in SORTABLE]
        following = keys[(keys.index(self.contact_query.sort) + 1) % len(keys)]
        self.set_query(replace(self.contact_query, sort=following, descending=False))

    def action_reverse_sort(self) -> None:
        self.set_query(replace(self.contact_query, descending=not self.contact_query.descending))

    def action_toggle_selection(self) -> None:
        key = self.table.cursor_key
        if key is None:
            return
        self.table.toggle_mark(key)
        self.table.action_cursor_down()
        self.update_status()

    def action_select_all(self) -> None:
        """Select every contact of the current search and tag filter; when they all are
        selected already, select none."""
        result = self.result
        if result is None or result.query != self.contact_query or not result.ids:
            self.notify("No contact to select.", severity="warning", title="Select all")
            return
        found = set(result.ids)
        marked = self.table.marked
        self.table.set_marked(marked - found if found <= marked else marked | found)
        self.update_status()

    def targets(self) -> list[str]:
        """The selected contacts in list order, else the one under the cursor."""
        marked = self.table.marked
        if marked:
            in_list = [k for k in self.table.keys if k in marked]
            return in_list + sorted(marked.difference(in_list))
        key = self.table.cursor_key
        return [key] if key is not None else []

    def action_new_contact(self) -> None:
        from crmtui.screens.contact_form import ContactForm  # loaded when first needed

        self.app.push_screen(ContactForm(self.services), self.contact_saved)

    def action_edit_contact(self) -> None:
        key = self.table.cursor_key
        if key is None:
            self.notify("No contact to edit.", severity="warning")
            return
        try:
            contact = self.repo.get_contact(key, self.user_id)
        except NotFound:
            self.notify("This contact was deleted meanwhile.", severity="warning")
            return
        from crmtui.screens.contact_form import ContactForm

        self.app.push_screen(ContactForm(self.services, contact), self.contact_saved)

    def contact_saved(self, contact_id: str | None) -> None:
        if contact_id is None:
            return
        self._cursor_to = contact_id
        self.refresh_data()

    def action_delete_contacts(self) -> None:
        ids = self.targets()
        if not ids:
            self.notify("No contact to delete.", severity="warning")
            return
        if len(ids) == 1:
            try:
                name = self.repo.get_contact(ids[0]).display_name
            except NotFound:
                name = "this contact"
            question = f"Delete {name}?"
        else:
            question = f"Delete {len(ids)} contacts?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete(ids)

        self.app.push_screen(Confirm(question, "ctrl+z (or u) undoes it while crmtui runs.",
                                     yes="Delete"), answered)

    class Deleted(Message):
        """A deletion finished in the worker."""

        def __init__(self, deleted: int, refused: list[str],
                     undo: UndoEntry | None = None) -> None:
            super().__init__()
            self.deleted = deleted
            self.refused = refused
            self.undo = undo

    @work(thread=True, group="contacts-delete")
    def delete(self, ids: list[str]) -> None:
        """Delete the contacts in one transaction (one write however many), in a thread."""
        deleted, refused = 0, []
        undo: UndoEntry | None = None
        try:
            undo = contacts_deleted(self.repo, ids)
            with self.repo.transaction():
                for cid in ids:
                    try:
                        self.repo.delete_contact(cid)  # checks before it writes
                        deleted += 1
                    except NotFound:
                        continue
                    except StoreConflict as exc:
                        refused.append(str(exc))
        except StoreError as exc:
            deleted, refused = 0, [str(exc)]
        self.post_message(self.Deleted(deleted, refused, undo if deleted else None))

    def on_contacts_screen_deleted(self, message: Deleted) -> None:
        self.table.set_marked(set())
        if message.deleted:
            record_undo(self.app, message.undo)
            self.notify(f"Deleted {message.deleted} contact"
                        f"{'s' if message.deleted != 1 else ''}; ctrl+z undoes it.",
                        title="Contacts")
        if message.refused:
            self.notify("Not deleted: " + "; ".join(message.refused), severity="error",
                        title="Contacts")
        self.refresh_data()

    def action_edit_tags(self) -> None:
        ids = self.targets()
        if not ids:
            self.notify("No contact to tag.", severity="warning")
            return
        if len(ids) > SNAPSHOT_IN_THREAD:  # reading their tags takes a while: not in the UI
            self.notify(f"Reading the tags of {len(ids):,} contacts…", title="Tags")
            self.open_tag_editor(ids)
            return
        self.show_tag_editor(ids, tags_changed(self.repo, ids, self.user_id))

    @work(thread=True, exclusive=True, group="contacts-tags-snapshot")
    def open_tag_editor(self, ids: list[str]) -> None:
        """Take the undo snapshot of many contacts' tags in a thread, then open the editor."""
        try:
            before: UndoEntry | None = tags_changed(self.repo, ids, self.user_id)
        except StoreError:
            before = None  # the editor says what is wrong with the store
        self.app.call_from_thread(self.show_tag_editor, ids, before)

    def show_tag_editor(self, ids: list[str], before: UndoEntry | None) -> None:
        self.app.push_screen(TagEditor(self.services, ids),
                             lambda changed: self.tags_edited(changed, before))

    def tags_edited(self, changed: bool | None, undo: UndoEntry | None = None) -> None:
        if changed:
            record_undo(self.app, undo)
            self.refresh_data()

    def action_filter_by_tag(self) -> None:
        if self.contact_query.tag_ids:
            self.set_query(replace(self.contact_query, tag_ids=()))
            return
        tags = self.repo.list_tags(self.user_id)
        if not tags:
            self.notify("There are no tags yet: press t to create one.", title="Tag filter")
            return

        def chosen(tag_id: str | None) -> None:
            if tag_id is not None:
                self.set_query(replace(self.contact_query,
                                       tag_ids=(tag_id,) if tag_id else ()))

        self.app.push_screen(TagPicker(tags), chosen)

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
        from crmtui.screens.contact_detail import ContactDetailScreen  # loaded when first needed

        self.app.push_screen(ContactDetailScreen(self.services, contact))


__all__ = ["COLUMNS", "ContactsScreen", "TagPicker", "list_name"]
