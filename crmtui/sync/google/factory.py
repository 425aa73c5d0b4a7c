"""Wiring: the Google adapters for an account, as the sync service's factories want them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crmtui.model import Account
from crmtui.store import Repository
from crmtui.sync.google.auth import (
    batch_uri,
    build_calendar_service,
    build_people_service,
    credentials_for_sync,
    link_with_browser,
)
from crmtui.sync.google.calendar import GoogleCalendar
from crmtui.sync.google.people import GooglePeople
from crmtui.sync.remote import CalendarRemote, ContactsRemote


def _connect(repo: Repository, directory: Path, account: Account, api: str
             ) -> tuple[Any, str]:
    """The ``api`` ("people" or "calendar") client for an account, on its saved (and
    refreshed) credentials and its endpoint (Google, or the emulator), with the matching batch
    URI."""
    creds = credentials_for_sync(repo, directory, account)
    build = build_people_service if api == "people" else build_calendar_service
    return build(creds, account.endpoint), batch_uri(account.endpoint, api)


def contacts_remote_factory(repo: Repository, data_dir: str | os.PathLike[str], *,
                            progress: Callable[[str], None] | None = None,
                            sleep: Callable[[float], None] | None = None,
                            ) -> Callable[[Account], ContactsRemote]:
    """Build the People adapter for an account (see :func:`_connect`)."""
    directory = Path(data_dir)

    def make(account: Account) -> ContactsRemote:
        service, uri = _connect(repo, directory, account, "people")
        return GooglePeople(service, batch_uri=uri, progress=progress, sleep=sleep or time.sleep)

    return make


def calendar_remote_factory(repo: Repository, data_dir: str | os.PathLike[str], *,
                            progress: Callable[[str], None] | None = None,
                            sleep: Callable[[float], None] | None = None,
                            ) -> Callable[[Account], CalendarRemote]:
    """Build the Calendar adapter (the account's primary calendar) for an account (see
    :func:`_connect`)."""
    directory = Path(data_dir)

    def make(account: Account) -> CalendarRemote:
        service, uri = _connect(repo, directory, account, "calendar")
        return GoogleCalendar(service, batch_uri=uri, progress=progress,
                              sleep=sleep or time.sleep)

    return make


def google_linker(repo: Repository, data_dir: str | os.PathLike[str], *,
                  client_secrets: Path | dict[str, Any], endpoint: str | None,
                  open_browser: bool, timeout: float = 600.0,
                  ) -> Callable[[str, Callable[[str], None], threading.Event], Account]:
    """The UI's "New → Google": ``link(user_id, show_url, cancelled)`` runs the browser flow
    (blocking: call it from a worker thread) and returns the linked account.

    ``show_url`` receives the consent URL; setting ``cancelled`` ends the wait
    (:class:`~crmtui.sync.google.auth.LinkCancelled`); other failures raise
    :class:`~crmtui.sync.google.auth.LinkError` saying why. ``endpoint`` None means
    ``$CRMTUI_GOOGLE_ENDPOINT`` or Google.
    """
    directory = Path(data_dir)

    def link(user_id: str, show_url: Callable[[str], None],
             cancelled: threading.Event) -> Account:
        return link_with_browser(repo, directory, user_id, client_secrets=client_secrets,
                                 endpoint=endpoint, open_browser=open_browser,
                                 print_url=show_url, timeout=timeout, cancel=cancelled)

    return link
