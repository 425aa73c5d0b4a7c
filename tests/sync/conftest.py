"""Fixtures for the end-to-end contact sync tests: an emulator in process, Ann's CRM (her own
contact carries her Google address, a private sync tag "Google", sync settings saved), her Google
account linked from the emulator's credentials, and a :class:`SyncService` wired to the emulator
through the factory the command line uses, its retry sleeps recorded instead of slept. Helpers are in
``synckit``: ``gmail`` changes Google "in Gmail", ``sync(**kw)`` runs a contact sync and returns
the outcome, ``requests()`` counts the emulator's requests since the last reset (each ``sync``
resets it first)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from calkit import Team
from synckit import Gmail, Requests, Syncer, control

from crmtui.emulator import Emulator
from crmtui.emulator.state import authorized_user
from crmtui.model import Account, SyncSettings, Tag, User
from crmtui.store import TinyDBRepository
from crmtui.sync.accounts import AccountService
from crmtui.sync.google.factory import contacts_remote_factory, google_linker
from crmtui.sync.service import SyncService

GOOGLE_EMAIL = "ann@example.com"  # Ann's Google account (her own contact carries it)
GROUP = "crmtui"


@pytest.fixture
def data_dir(repo: TinyDBRepository, tmp_path: Path) -> Path:
    """The data directory of the ``repo`` store (tokens and locks live there too)."""
    return tmp_path / "data"


@pytest.fixture
def user(ann: User) -> User:
    """Ann: her own contact carries ``GOOGLE_EMAIL``."""
    return ann


@pytest.fixture
def sync_tag(repo: TinyDBRepository, user: User, ann_private_tag: Tag) -> Tag:
    """Ann's private tag "Google", saved as her contacts sync tag (group ``GROUP``)."""
    repo.save_sync_settings(SyncSettings(user_id=user.id, contacts_tag_id=ann_private_tag.id,
                                         contacts_group_name=GROUP))
    return ann_private_tag


@pytest.fixture
def account(repo: TinyDBRepository, data_dir: Path, user: User, emulator: Emulator,
            tmp_path: Path) -> Account:
    """Ann's Google account, linked from an authorized-user file of the emulator's account."""
    info = control(emulator, "POST", "/accounts", {"email": GOOGLE_EMAIL})
    path = tmp_path / "authorized-user.json"
    path.write_text(json.dumps(authorized_user(info)))
    accounts = AccountService(repo, data_dir, google_linker(data_dir, endpoint=emulator.base_url))
    return accounts.link_from_credentials_file(user.id, path)


@pytest.fixture
def sleeps() -> list[float]:
    """Every back-off wait the adapter asked for (nothing is slept)."""
    return []


@pytest.fixture
def service(repo: TinyDBRepository, data_dir: Path, sync_tag: Tag, account: Account,
            sleeps: list[float]) -> SyncService:
    """The sync service wired as the command line wires it (the People adapter, here on the
    emulator), its back-off waits recorded in ``sleeps``."""
    return SyncService(repo, data_dir,
                       contacts_remote_factory(data_dir, sleep=sleeps.append))


@pytest.fixture
def gmail(emulator: Emulator, account: Account) -> Gmail:
    """Ann's Google contacts, changed "in Gmail"."""
    return Gmail(emulator, account.email, GROUP)


@pytest.fixture
def requests(emulator: Emulator) -> Requests:
    """``requests()``: the emulator's request counts since the last reset."""
    return Requests(emulator)


@pytest.fixture
def sync(service: SyncService, user: User, requests: Requests) -> Syncer:
    """``sync(dry_run=..., confirmed=...)``: one contact sync; returns the outcome."""
    return Syncer(service, user.id, requests)


@pytest.fixture
def team(repo: TinyDBRepository, data_dir: Path, emulator: Emulator, tmp_path: Path) -> Team:
    """CRM users with Google accounts on the emulator (``team.add(key, name)``), and activity
    syncs through the real Calendar adapter (``team.sync(member)``); see ``calkit``."""
    return Team(repo, data_dir, emulator, tmp_path)
