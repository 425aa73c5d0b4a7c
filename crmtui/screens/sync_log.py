"""The sync section: the live log and progress of running syncs, the journal of recent runs, and the
Conflicts view (what value was overwritten by what, when, on which side).

The App owns the sync log (:class:`SyncLogModel`): it keeps it while no log screen is shown and
tells every log screen about new lines and progress.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, RichLog, Static

from crmtui.model import (
    Activity,
    Conflict,
    Contact,
    Participant,
    ParticipantKind,
    SyncKind,
    SyncRun,
)
from crmtui.screens.context import Command, Services, sync_commands
from crmtui.screens.sync_bar import KIND_LABEL, SyncBar, local_time
from crmtui.store.repository import NotFound
from crmtui.sync.activities.mapping import activity_fields
from crmtui.sync.activities.mapping import apply_fields as apply_activity_fields
from crmtui.sync.contacts.mapping import apply_fields as apply_contact_fields
from crmtui.sync.contacts.mapping import contact_fields

LOG_LINES = 2000
"""How many log lines the app keeps (the oldest go first)."""


@dataclass(frozen=True, slots=True)
class LogLine:
    at: datetime
    kind: SyncKind | None
    text: str
    style: str = ""

    def render(self) -> Text:
        line = Text(self.at.astimezone().strftime("%H:%M:%S "), style="dim")
        if self.kind is not None:
            line.append(f"{KIND_LABEL[self.kind]:<10} ", style="bold")
        line.append(self.text, style=self.style)
        return line


@dataclass(slots=True)
class KindProgress:
    message: str = "Idle"
    done: int = 0
    total: int = 0
    running: bool = False


class SyncLogModel:
    """The log lines and the progress of each kind, as the App records them."""

    def __init__(self) -> None:
        self.lines: deque[LogLine] = deque(maxlen=LOG_LINES)
        self.progress = {kind: KindProgress() for kind in SyncKind}


def _short(value: Any, width: int = 40) -> str:
    text = "—" if value in (None, "", [], {}) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run_counts(run: SyncRun) -> str:
    counts = run.counts
    crm = sum(counts.get(f"crm_{k}", 0) for k in ("created", "updated", "linked"))
    google = sum(counts.get(f"google_{k}", 0) for k in ("created", "updated", "removed"))
    return (f"crmtui {crm} · Google {google} · conflicts {counts.get('conflicts', 0)}"
            f" · skipped {counts.get('skipped', 0)}")


class SyncLogScreen(Screen[None]):
    """Synchronize now, with a live log and a progress bar per kind; the recent runs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "app.sync_now('contacts')", "Sync contacts", id="sync.contacts"),
        Binding("v", "app.sync_now('activities')", "Sync activities", id="sync.activities"),
        Binding("x", "clear_log", "Clear log", id="sync.clear"),
    ]

    def __init__(self, services: Services, model: SyncLogModel) -> None:
        super().__init__()
        self.services = services
        self.model = model

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sync-body"):
            for kind in SyncKind:
                with Horizontal(classes="sync-progress", id=f"progress-{kind.value}"):
                    yield Label(KIND_LABEL[kind], classes="sync-kind")
                    yield ProgressBar(show_eta=False, id=f"bar-{kind.value}")
                    yield Static("", classes="sync-status", id=f"status-{kind.value}")
            yield Static("Log", classes="sync-heading")
            yield RichLog(id="sync-log", wrap=True, markup=False, max_lines=LOG_LINES)
            yield Static("Recent runs", classes="sync-heading")
            yield DataTable(id="sync-runs", cursor_type="row", zebra_stripes=True)
        yield SyncBar(self.services)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in self.model.lines:
            log.write(line.render())
        if not self.model.lines:
            log.write(Text("No sync has run since crmtui started. Press y to synchronize "
                           "contacts and activities now (c: contacts, v: activities).",
                           style="dim"))
        for kind in SyncKind:
            self.show_progress(kind)
        runs = self.query_one("#sync-runs", DataTable)
        runs.add_columns("Started", "Kind", "Status", "Took", "Changes", "Errors")
        self.refresh_data()
        log.focus()

    def commands(self) -> list[Command]:
        return [*sync_commands("contacts"), *sync_commands("activities"),
                Command("sync", "clear the log", "clear_log", "Empty the log on screen")]

    def refresh_data(self) -> None:
        runs = self.query_one("#sync-runs", DataTable)
        runs.clear()
        now = self.services.now()
        for run in self.services.repo.list_runs(self.services.user_id, limit=20):
            took = (f"{(run.finished - run.started).total_seconds():.1f} s"
                    if run.finished else "—")
            style = {"ok": "green", "failed": "red", "stopped": "yellow"}.get(run.status, "")
            runs.add_row(local_time(run.started, now), KIND_LABEL[run.kind],
                         Text(run.status, style=style), took, run_counts(run),
                         _short("; ".join(run.errors), 60) if run.errors else "", key=run.id)

    def add_line(self, line: LogLine) -> None:
        self.query_one(RichLog).write(line.render())

    def show_progress(self, kind: SyncKind) -> None:
        state = self.model.progress[kind]
        bar = self.query_one(f"#bar-{kind.value}", ProgressBar)
        if state.running and state.total:
            bar.update(total=state.total, progress=state.done)
        elif state.running:
            bar.update(total=None)  # indeterminate: reading, no count yet
        else:
            bar.update(total=100, progress=100 if state.message != "Idle" else 0)
        self.query_one(f"#status-{kind.value}", Static).update(_short(state.message, 70))

    def action_clear_log(self) -> None:
        self.model.lines.clear()
        self.query_one(RichLog).clear()


class ConflictsScreen(Screen[None]):
    """Every conflict in the journal: newest first, which value won and which was overwritten.
    Enter shows a conflict whole; ``r`` restores the overwritten value (a change in crmtui that
    the next sync sends, as any edit)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "show_conflict", "Show", id="conflicts.show"),
        Binding("r", "restore", "Restore the overwritten value", id="conflicts.restore"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.rows: dict[str, tuple[SyncRun, Conflict]] = {}
        """Each row's key: the run and the conflict it shows."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="conflicts-summary")
        yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield SyncBar(self.services)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Who won before the values, so that it shows on an 80-column terminal too.
        table.add_column("When", key="when")
        table.add_column("Record", key="record")
        table.add_column("Field", key="field")
        table.add_column("Won", key="won")
        table.add_column("Kept", key="kept")
        table.add_column("Overwritten", key="lost")
        table.add_column("Kind", key="kind")
        self.refresh_data()
        table.focus()

    def commands(self) -> list[Command]:
        return [Command("conflict", "show", "show_conflict",
                        "The highlighted conflict in full", menu="Show…"),
                Command("conflict", "restore the overwritten value", "restore",
                        "Put back the value the sync overwrote (synchronized like any edit)",
                        menu="Restore the overwritten value"),
                *sync_commands("contacts"), *sync_commands("activities")]

    def record_name(self, kind: SyncKind, record_id: str) -> str:
        repo = self.services.repo
        try:
            if kind is SyncKind.CONTACTS:
                contact: Contact = repo.get_contact(record_id, self.services.user_id)
                return contact.display_name
            activity: Activity = repo.get_activity(record_id)
            return activity.title
        except NotFound:
            return f"(deleted {record_id[:8]})"

    def refresh_data(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        self.rows = {}
        now = self.services.now()
        for run in self.services.repo.list_runs(self.services.user_id, limit=200):
            ordered = sorted(enumerate(run.conflicts), key=lambda pair: pair[1].at, reverse=True)
            for index, conflict in ordered:
                key = f"{run.id}:{index}"
                self.rows[key] = (run, conflict)
                name = conflict.field_name
                table.add_row(local_time(conflict.at, now),
                              _short(self.record_name(run.kind, conflict.record_id), 24),
                              name.replace("_", " "),
                              "Google" if conflict.winner == "google" else "crmtui",
                              _short(readable(name, conflict.kept), 30),
                              _short(readable(name, conflict.lost), 30),
                              KIND_LABEL[run.kind], key=key)
        rows = len(self.rows)
        if rows:
            table.move_cursor(row=min(max(cursor, 0), rows - 1))
        self.query_one("#conflicts-summary", Static).update(
            f"{rows} conflict{'s' if rows != 1 else ''} in the journal: a field changed on both "
            "sides since the last sync; the most recent change was kept (Won). Enter shows one "
            "in full; r restores the overwritten value."
            if rows else
            "No conflicts in the journal: no field has changed on both sides between syncs.")

    def current(self) -> tuple[SyncRun, Conflict] | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key or "")

    def action_show_conflict(self) -> None:
        found = self.current()
        if found is None:
            return
        run, conflict = found

        def answered(restore: bool | None) -> None:
            if restore:
                self.restore(run, conflict)

        self.app.push_screen(ConflictDetail(
            conflict_text(run, conflict, self.record_name(run.kind, conflict.record_id))),
            answered)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_conflict()

    def action_restore(self) -> None:
        found = self.current()
        if found is not None:
            self.restore(*found)

    def restore(self, run: SyncRun, conflict: Conflict) -> None:
        """Put the overwritten value back in crmtui, as an edit (the next sync sends it)."""
        label = conflict.field_name.replace("_", " ")
        try:
            name = restore_value(self.services, run.kind, conflict)
        except (NotFound, ValueError, KeyError, TypeError) as exc:
            self.notify(f"Cannot restore the {label}: {exc}", severity="error",
                        title="Conflicts")
            return
        value = _short(readable(conflict.field_name, conflict.lost), 60)
        self.notify(f"The {label} of “{name}” is “{value}” again; the next {run.kind.value} "
                    "sync sends it to Google.", title="Conflicts")
        self.refresh_data()  # the other screens follow the store's change


class ConflictDetail(ModalScreen[bool]):
    """One conflict in full; ``r`` restores the overwritten value, Escape closes."""

    DEFAULT_CSS = """
    ConflictDetail { align: center middle; background: $background 60%; }
    ConflictDetail > VerticalScroll {
        width: 90; max-width: 100%; height: auto; max-height: 100%; padding: 1 2;
        border: round $accent; background: $panel;
    }
    ConflictDetail #conflict-text { height: auto; }
    ConflictDetail #conflict-hint { color: $text-muted; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "answer(True)", "Restore the overwritten value", id="conflict.restore"),
        Binding("escape,q", "answer(False)", "Close", id="conflict.close"),
    ]

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text, id="conflict-text")
            yield Static("r: restore the overwritten value (a change in crmtui, sent at the next "
                         "sync) · Esc: close", id="conflict-hint")
        yield Footer()  # the modal's keys, not the screen's underneath

    def action_answer(self, restore: bool) -> None:
        self.dismiss(restore)


def conflict_text(run: SyncRun, conflict: Conflict, record: str) -> Text:
    """Everything about a conflict, in full: the record, the field, both values, when, which
    side won."""
    winner = "Google" if conflict.winner == "google" else "crmtui"
    loser = "crmtui" if conflict.winner == "google" else "Google"
    text = Text()
    for label, value in (
            ("Record", f"{record} ({KIND_LABEL[run.kind].lower()[:-1]} {conflict.record_id})"),
            ("Field", conflict.field_name.replace("_", " ")),
            ("When", conflict.at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")),
            ("Won", f"{winner}: its change was the newer one"),
            ("Kept", readable(conflict.field_name, conflict.kept, multiline=True)),
            (f"Overwritten ({loser}'s)", readable(conflict.field_name, conflict.lost,
                                                  multiline=True))):
        text.append(f"{label}: ", style="bold")
        text.append(value + "\n")
    text.rstrip()
    return text


def readable(field: str, value: Any, *, multiline: bool = False) -> str:
    """A field's value as a person reads it: ``lucia@x.example (work, primary)`` rather than
    ``[{'value': ...}]``; "—" for nothing."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        parts = [readable_item(field, item) for item in value]
        if multiline and len(parts) > 1:  # one per line, under the label
            return "".join(f"\n  {part}" for part in parts)
        return "; ".join(parts)
    if isinstance(value, dict):
        return readable_item(field, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def readable_item(field: str, item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if field == "time":
        if item.get("all_day"):
            start, end = item.get("start_date") or "", item.get("end_date") or ""
            return f"{start} all day" if end in ("", start) else f"{start} to {end}, all day"
        zone = item.get("timezone") or "UTC"
        return f"{_when(item.get('start'), zone)} to {_when(item.get('end'), zone)} ({zone})"
    main = item.get("value")
    if main is None:  # an address: its parts, in order
        main = ", ".join(str(v) for k, v in item.items()
                         if v and k not in ("type", "primary") and not isinstance(v, bool))
    notes = [str(item["type"])] if item.get("type") else []
    if item.get("primary"):
        notes.append("primary")
    return f"{main} ({', '.join(notes)})" if notes else str(main)


def _when(moment: Any, zone: str) -> str:
    try:
        at = datetime.fromisoformat(str(moment)).astimezone(ZoneInfo(zone))
    except (ValueError, KeyError):
        return str(moment)
    return at.strftime("%Y-%m-%d %H:%M")


def restore_value(services: Services, kind: SyncKind, conflict: Conflict) -> str:
    """Put ``conflict.lost`` back into the record, as an edit made now (its modification time
    moves, so the next sync sends it to Google); returns the record's name."""
    repo, name = services.repo, conflict.field_name
    if kind is SyncKind.CONTACTS:
        contact = repo.get_contact(conflict.record_id, services.user_id)
        fields = contact_fields(contact)
        if name not in fields:
            raise KeyError(f"a contact has no field {name}")
        fields[name] = conflict.lost
        repo.update_contact(apply_contact_fields(contact, fields), services.user_id, touch=True)
        return contact.display_name
    activity = repo.get_activity(conflict.record_id)
    if name == "attendees":
        users = [Participant(ParticipantKind.USER, uid) for uid in conflict.lost or []]
        others = [p for p in activity.participants if p.kind is not ParticipantKind.USER]
        kept = {p.ref_id: p for p in activity.participants if p.kind is ParticipantKind.USER}
        changed = activity.evolve(participants=[kept.get(p.ref_id, p) for p in users] + others)
    else:
        event = activity_fields(activity)
        if event is None or name not in event:
            raise KeyError(f"the activity has no field {name} to restore")
        event[name] = conflict.lost
        changed = apply_activity_fields(activity, event)
    repo.update_activity(changed, touch=True)
    return activity.title


