"""What every screen is given: the services (built by the one factory in the entry layer,
``crmtui.cli.wiring``), the commands a section offers (its menu and the command palette), and the
data-refresh hook. These are the UI's types only; what is built, and how, is the entry layer's.

Screens never import the App (the App imports them): they receive :class:`Services`, and reach
app-wide behaviour through action strings (``"app.sync_now('contacts')"``,
``"app.section('settings')"``) that Textual runs on the App.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from crmtui.model import Account, SyncKind, utcnow
from crmtui.store.repository import Repository

if TYPE_CHECKING:
    from crmtui.sync.service import SyncService
    from crmtui.sync.state import SyncStatus

LinkGoogle = Callable[[str, Callable[[str], None], threading.Event], Account]
"""Runs the Google OAuth flow for a user (blocking, in a worker thread): ``(user_id, show_url,
cancelled)``. ``show_url`` receives the consent URL to show; setting ``cancelled`` stops the wait
(the call then raises). Returns the linked account; raises an exception whose text says why not."""


@dataclass
class Services:
    """The app's services, built once by the entry layer and passed to every screen."""

    repo: Repository
    user_id: str
    data_dir: Path
    sync: SyncService | None = None
    """The sync service (None: the app was started without Google wiring)."""
    link_google: LinkGoogle | None = None
    """The OAuth flow for Profile → Accounts → New → Google (None: not available here)."""
    demo: bool = False
    google_endpoint: str = ""
    """The built-in Google emulator's base URL in the demo, else ""."""
    now: Callable[[], datetime] = field(default=utcnow)
    """The clock (aware UTC); tests and snapshots fix it."""
    sync_notes: NoteRelay | None = None
    """The relay the sync service's adapters send their notes to (retries, waits)."""

    def status(self, kind: SyncKind, now: datetime | None = None) -> SyncStatus:
        """The user's sync of ``kind``: last and next run, running, last failure (also when
        the app runs without Google wiring: the store keeps the state)."""
        from crmtui.sync.service import SyncService  # loaded when first needed

        service = self.sync or SyncService(self.repo, self.data_dir)
        return service.status(self.user_id, kind, now or self.now())


@dataclass(frozen=True, slots=True)
class Command:
    """A command a section offers, in its actions menu and in the command palette.

    ``action`` is run on the screen (``"new_contact"``) or the App (``"app.sync_now('contacts')"``).
    ``menu`` is its place in the section's menu (``"Synchronize contacts → Synchronize now"``);
    "" keeps it out of the menu. The palette shows ``f"{category}: {label}"``.
    """

    category: str
    label: str
    action: str
    help: str = ""
    menu: str = ""

    @property
    def palette_text(self) -> str:
        return f"{self.category}: {self.label}"


@runtime_checkable
class HasCommands(Protocol):
    def commands(self) -> list[Command]:
        """The commands the screen offers now."""


@runtime_checkable
class Refreshable(Protocol):
    def refresh_data(self) -> None:
        """Reload what the screen shows: the data changed (another process, a sync)."""


class NoteRelay:
    """Passes the Google adapters' notes (retries, waits) to whoever listens now: the entry layer
    builds the factories once with the relay, the App points it at the running sync's log."""

    def __init__(self) -> None:
        self.target: Callable[[str], None] | None = None

    def __call__(self, message: str) -> None:
        target = self.target
        if target is not None:
            target(message)


SECTIONS = ("contacts", "activities", "accounts", "settings", "sync", "conflicts")
"""The App's sections (``app.section(NAME)``), on the keys 1 to 6."""


def sync_commands(kind: str) -> list[Command]:
    """The "Synchronize contacts|activities" menu of a section: Set up… and Synchronize now."""
    return [
        Command("sync", f"set up {kind[:-1] if kind == 'contacts' else 'activity'} sync…",
                "app.section('settings')", f"Open the sync settings of {kind}",
                menu=f"Synchronize {kind} → Set up…"),
        Command("sync", f"synchronize {kind} now", f"app.sync_now('{kind}')",
                f"Run {'an' if kind[0] in 'aeiou' else 'a'} {kind} sync with Google now, with a "
                "live log",
                menu=f"Synchronize {kind} → Synchronize now"),
    ]
