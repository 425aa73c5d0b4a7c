"""The sync line above every section's footer: each kind's last sync, and its next one (automatic
sync), or that it is running now."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from crmtui.model import SyncKind
from crmtui.screens.context import Services

KIND_LABEL = {SyncKind.CONTACTS: "Contacts", SyncKind.ACTIVITIES: "Activities"}


def local_time(moment: datetime, now: datetime) -> str:
    """``HH:MM`` today, else ``YYYY-MM-DD HH:MM``, in the local time zone."""
    here = moment.astimezone()
    if here.date() == now.astimezone().date():
        return here.strftime("%H:%M")
    return here.strftime("%Y-%m-%d %H:%M")


def describe(services: Services, kind: SyncKind, running: bool) -> Text:
    """``Contacts: last 15:02, next 16:02`` (or ``synchronizing…``, ``never``, ``manual``)."""
    text = Text()
    text.append(f"{KIND_LABEL[kind]}: ", style="bold")
    now = services.now()
    status = services.status(kind, now)
    if running or status.running:
        text.append("synchronizing…", style="italic")
        return text
    last, following = status.last_run, status.next_run
    text.append(f"last {local_time(last, now)}" if last else "never synchronized")
    if following is None:
        text.append(", manual")
    elif following <= now:
        text.append(", next: due now")
    else:
        text.append(f", next {local_time(following, now)}")
    return text


class SyncBar(Static):
    """One line: the last and next sync of contacts and of activities."""

    DEFAULT_CSS = """
    SyncBar {
        height: auto;
        max-height: 2;
        padding: 0 2;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, services: Services, *, id: str | None = "sync-bar") -> None:
        super().__init__(id=id)
        self.services = services
        self.running: frozenset[SyncKind] = frozenset()

    def on_mount(self) -> None:
        self.show()
        self.set_interval(30, self.show)

    def show(self, running: frozenset[SyncKind] | None = None) -> None:
        """Repaint from the store (``running``: the kinds syncing now, when it changed)."""
        if running is not None:
            self.running = running
        line = Text()
        for i, kind in enumerate(SyncKind):
            if i:
                line.append("  ·  ")
            line.append_text(describe(self.services, kind, kind in self.running))
        self.update(line)
