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

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, RichLog, Static

from crmtui.model import Activity, Contact, SyncKind, SyncRun
from crmtui.screens.context import Command, Services, sync_commands
from crmtui.screens.sync_bar import KIND_LABEL, SyncBar, local_time
from crmtui.store.repository import NotFound

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
    """Every conflict in the journal: newest first, which value won and which was overwritten."""

    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="conflicts-summary")
        yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield SyncBar(self.services)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "Kind", "Record", "Field", "Kept", "Overwritten", "Won")
        self.refresh_data()
        table.focus()

    def commands(self) -> list[Command]:
        return [*sync_commands("contacts"), *sync_commands("activities")]

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
        table.clear()
        now = self.services.now()
        rows = 0
        for run in self.services.repo.list_runs(self.services.user_id, limit=200):
            for conflict in sorted(run.conflicts, key=lambda c: c.at, reverse=True):
                winner = "Google" if conflict.winner == "google" else "crmtui"
                loser = "crmtui" if conflict.winner == "google" else "Google"
                table.add_row(local_time(conflict.at, now), KIND_LABEL[run.kind],
                              _short(self.record_name(run.kind, conflict.record_id), 28),
                              conflict.field_name.replace("_", " "), _short(conflict.kept, 30),
                              _short(conflict.lost, 30),
                              f"{winner} (newer); {loser}'s value overwritten")
                rows += 1
        self.query_one("#conflicts-summary", Static).update(
            f"{rows} conflict{'s' if rows != 1 else ''} in the journal: a field changed on both "
            "sides since the last sync; the most recent change was kept."
            if rows else
            "No conflicts in the journal: no field has changed on both sides between syncs.")
