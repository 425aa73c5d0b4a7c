"""SVG snapshots of Profile → Accounts in external resources and of the sync settings, on fixed
data and a fixed clock (no emulator: the accounts' endpoint is a fixed string)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crmtui.app import CrmApp
from crmtui.model import (
    Account,
    AccountState,
    SyncKind,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
)
from crmtui.screens.context import Services
from crmtui.store import TinyDBRepository

pytestmark = pytest.mark.usefixtures("utc")  # local times on screen are UTC

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
SNAP_SIZE = (120, 40)
FAKE_ENDPOINT = "http://google.emulator.test"


def fixed_app(repo: TinyDBRepository) -> CrmApp:
    user = repo.add_user(User(name="Sam Carter", email="sam@example.com"))
    tag = repo.add_tag(Tag(name="Google sync", kind=TagKind.PRIVATE, owner_id=user.id))
    repo.add_tag(Tag(name="Customers", kind=TagKind.PUBLIC))
    repo.add_account(Account(user_id=user.id, email="sam@example.com", endpoint=FAKE_ENDPOINT,
                             state=AccountState.NEEDS_RECONNECT,
                             state_message="Google refused the saved authorization",
                             created=NOW - timedelta(days=3)))
    repo.save_sync_settings(SyncSettings(
        user_id=user.id, contacts_auto=True, contacts_period=15, contacts_tag_id=tag.id,
        contacts_group_name="crmtui", activities_auto=False, activities_period=60,
        activities_from=date(2026, 11, 1)))
    started = NOW - timedelta(minutes=30)
    repo.add_run(SyncRun(user_id=user.id, kind=SyncKind.CONTACTS, started=started,
                         finished=started + timedelta(seconds=2), status="ok"))
    repo.add_run(SyncRun(user_id=user.id, kind=SyncKind.ACTIVITIES, started=started,
                         finished=started + timedelta(seconds=1), status="failed",
                         errors=["Google refused the account: invalid_grant"]))
    repo.set_sync_state(user.id, SyncKind.CONTACTS,
                        {"last_sync": (started + timedelta(seconds=2)).isoformat()})
    services = Services(repo, user.id, Path(repo.path).parent, now=lambda: NOW)
    return CrmApp(services, auto_sync=False, store_poll=0)


def test_accounts_snapshot(repo: TinyDBRepository, snap_compare: Any) -> None:
    assert snap_compare(fixed_app(repo), press=["3"], terminal_size=SNAP_SIZE)


def test_settings_snapshot(repo: TinyDBRepository, snap_compare: Any) -> None:
    assert snap_compare(fixed_app(repo), press=["4"], terminal_size=SNAP_SIZE)


def test_settings_snapshot_at_80x24(repo: TinyDBRepository, snap_compare: Any) -> None:
    """An 80x24 terminal: one scrolling page, both periods beside their checkboxes."""
    assert snap_compare(fixed_app(repo), press=["4"], terminal_size=(80, 24))
