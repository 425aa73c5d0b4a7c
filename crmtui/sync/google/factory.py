"""Wiring: the Google adapters for an account, as the sync service's factories want them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from crmtui.model import Account
from crmtui.store import Repository
from crmtui.sync.google.auth import batch_uri, build_people_service, credentials_for_sync
from crmtui.sync.google.people import GooglePeople
from crmtui.sync.remote import ContactsRemote


def contacts_remote_factory(repo: Repository, data_dir: str | os.PathLike[str], *,
                            progress: Callable[[str], None] | None = None,
                            sleep: Callable[[float], None] | None = None,
                            ) -> Callable[[Account], ContactsRemote]:
    """Build the People adapter for an account: its saved (and refreshed) credentials, its
    endpoint (Google, or the emulator), and the matching batch URI."""
    directory = Path(data_dir)

    def make(account: Account) -> ContactsRemote:
        creds = credentials_for_sync(repo, directory, account)
        service = build_people_service(creds, account.endpoint)
        return GooglePeople(service, batch_uri=batch_uri(account.endpoint, "people"),
                            progress=progress, sleep=sleep or time.sleep)

    return make
