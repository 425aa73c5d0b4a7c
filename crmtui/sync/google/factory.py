"""Wiring: the Google adapters for an account, as the sync core's services want them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crmtui.model import Account
from crmtui.sync.google.auth import (
    GoogleAuth,
    batch_uri,
    build_calendar_service,
    build_people_service,
    credentials_for_sync,
)
from crmtui.sync.google.calendar import GoogleCalendar
from crmtui.sync.google.people import GooglePeople
from crmtui.sync.remote import CalendarRemote, ContactsRemote


def _connect(directory: Path, account: Account, api: str) -> tuple[Any, str]:
    """The ``api`` ("people" or "calendar") client for an account, on its saved (and
    refreshed) credentials and its endpoint (Google, or the emulator), with the matching batch
    URI."""
    creds = credentials_for_sync(directory, account)
    build = build_people_service if api == "people" else build_calendar_service
    return build(creds, account.endpoint), batch_uri(account.endpoint, api)


def contacts_remote_factory(data_dir: str | os.PathLike[str], *,
                            progress: Callable[[str], None] | None = None,
                            sleep: Callable[[float], None] | None = None,
                            ) -> Callable[[Account], ContactsRemote]:
    """Build the People adapter for an account (see :func:`_connect`)."""
    directory = Path(data_dir)

    def make(account: Account) -> ContactsRemote:
        service, uri = _connect(directory, account, "people")
        return GooglePeople(service, batch_uri=uri, progress=progress, sleep=sleep or time.sleep)

    return make


def calendar_remote_factory(data_dir: str | os.PathLike[str], *,
                            progress: Callable[[str], None] | None = None,
                            sleep: Callable[[float], None] | None = None,
                            calendar: str = "primary", send_updates: str = "none",
                            ) -> Callable[[Account], CalendarRemote]:
    """Build the Calendar adapter for an account (see :func:`_connect`): its ``calendar``
    (by id; "primary" is the account's own), its writes e-mailing guests as ``send_updates``
    says."""
    directory = Path(data_dir)

    def make(account: Account) -> CalendarRemote:
        service, uri = _connect(directory, account, "calendar")
        return GoogleCalendar(service, batch_uri=uri, progress=progress,
                              sleep=sleep or time.sleep, calendar=calendar,
                              send_updates=send_updates)

    return make


def google_linker(data_dir: str | os.PathLike[str], *,
                  client_secrets: Path | dict[str, Any] | None = None,
                  endpoint: str | None = None, open_browser: bool = True,
                  timeout: float = 600.0, browser: str | None = None) -> GoogleAuth:
    """Google's side of linking for :class:`crmtui.sync.accounts.AccountService`: the browser
    flow with ``client_secrets`` (the installed-app OAuth client), and authorized-user files.
    ``endpoint`` None means ``$CRMTUI_GOOGLE_ENDPOINT`` or Google."""
    return GoogleAuth(data_dir, endpoint=endpoint, client_secrets=client_secrets,
                      open_browser=open_browser, timeout=timeout, browser=browser)
