"""The one place where the services are built, for the commands and for the TUI alike: the sync
service on the Google adapters, the browser flow that links a Google account, and the TUI's
:class:`~crmtui.screens.context.Services`.

The Google client libraries load when first used (a sync, a link), not before: they take a third
of a second to import, and the TUI paints its first rows without them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmtui import config, paths
from crmtui.model import Account
from crmtui.store import Repository

if TYPE_CHECKING:
    from crmtui.screens.context import Services
    from crmtui.sync.remote import CalendarRemote, ContactsRemote
    from crmtui.sync.service import SyncService

SEND_UPDATES = {"none": "none", "external": "externalOnly", "all": "all"}  # Google's words
LINK_TIMEOUT = 300.0  # seconds the browser flow waits for the user's consent


def sync_service(repo: Repository, base: Path, notes: Callable[[str], None]) -> SyncService:
    """The sync service on the Google adapters, whose notes (retries, waits) go to ``notes``."""
    from crmtui.sync.service import SyncService

    def contacts_remote(account: Account) -> ContactsRemote:
        from crmtui.sync.google.factory import contacts_remote_factory

        return contacts_remote_factory(base, progress=notes)(account)

    def calendar_remote(account: Account) -> CalendarRemote:
        from crmtui.sync.google.factory import calendar_remote_factory

        settings = repo.get_sync_settings(account.user_id)  # the calendar, whom to e-mail
        return calendar_remote_factory(base, progress=notes,
                                       calendar=settings.activities_calendar,
                                       send_updates=SEND_UPDATES[settings.activities_send_updates]
                                       )(account)

    return SyncService(repo, base, contacts_remote, calendar_remote)


def tui_services(repo: Repository, base: Path, user_id: str, *, demo: bool = False,
                 google_endpoint: str = "", client_secrets: Path | dict[str, Any] | None = None
                 ) -> Services:
    """The TUI's services: the repository, the sync service on the Google adapters (their
    retry notes relayed to the app's sync log), and the browser flow for "New → Google".

    ``client_secrets``: the OAuth client to link with (the demo's emulator client); else the
    config's ``google_client_secrets`` file, and without one "New → Google" says how to set it.
    """
    from crmtui.screens.context import NoteRelay, Services

    notes = NoteRelay()
    service = sync_service(repo, base, notes)
    if client_secrets is None:
        configured = config.load(base).get("google_client_secrets")
        client_secrets = Path(str(configured)).expanduser() if configured else None
    secrets = client_secrets

    def link(user_id: str, show_url: Callable[[str], None],
             cancelled: threading.Event) -> Account:
        from crmtui.sync.accounts import AccountService
        from crmtui.sync.google.factory import google_linker
        from crmtui.sync.remote import LinkError

        if secrets is None:
            raise LinkError(
                f"no OAuth client is set up: put google_client_secrets = \"PATH\" (the JSON "
                f"of a Desktop app OAuth client from the Google Cloud console) in "
                f"{paths.config_file(base)}, or run `crmtui account link google "
                f"--client-secrets FILE`")
        google = google_linker(base, client_secrets=secrets, endpoint=google_endpoint or None,
                               open_browser=False, timeout=LINK_TIMEOUT)
        return AccountService(repo, base, google).link_with_browser(user_id, show_url, cancelled)

    services = Services(repo, user_id, base, sync=service, link_google=link, demo=demo,
                        google_endpoint=google_endpoint, sync_notes=notes)
    service.now = lambda: services.now()  # one clock for the app and its sync journal
    return services
