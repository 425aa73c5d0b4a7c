"""A record's sync status, for a contact's or an activity's page: synced or not, with which
Google account, when last, what the next sync does with it, what the last run skipped and why."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from crmtui.model import Activity, Contact
from crmtui.store import Repository
from crmtui.sync.record_status import RecordState, RecordStatusService, RecordSyncStatus

STYLES = {RecordState.SYNCED: "bold green", RecordState.PENDING: "bold yellow",
          RecordState.NOT_SYNCED: "bold", RecordState.NOT_SET_UP: "bold"}


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def render_status(status: RecordSyncStatus) -> Table:
    """The status as label/value rows."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Google", Text(status.headline, style=STYLES[status.state]))
    if status.last_synced is not None:
        grid.add_row("Last synced", _when(status.last_synced))
    if status.reason:
        grid.add_row("Why not" if status.state is RecordState.NOT_SYNCED else "To do",
                     status.reason)
    for i, what in enumerate(status.pending):
        grid.add_row("Pending" if i == 0 else "", what)
    for i, why in enumerate(status.skipped):
        when = f" (run of {_when(status.run_finished)})" if status.run_finished else ""
        grid.add_row("Skipped" if i == 0 else "", Text(why + (when if i == 0 else ""),
                                                        style="yellow"))
    return grid


class SyncStatusView(Static):
    """Shows one record's sync status; :meth:`show_for` reads it again."""

    DEFAULT_CSS = """
    SyncStatusView { height: auto; }
    """

    def __init__(self, repo: Repository, user_id: str, record: Contact | Activity, *,
                 id: str | None = None) -> None:
        super().__init__("", id=id)
        self.service = RecordStatusService(repo)
        self.user_id = user_id
        self.status: RecordSyncStatus | None = None
        self.record = record

    def on_mount(self) -> None:
        self.show_for(self.record)

    def show_for(self, record: Contact | Activity) -> None:
        self.record = record
        if isinstance(record, Contact):
            self.status = self.service.contact(self.user_id, record)
        else:
            self.status = self.service.activity(self.user_id, record)
        self.update(render_status(self.status))
