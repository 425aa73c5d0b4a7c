"""SVG snapshots of the sync log and the conflicts view, on fixed data and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crmtui.app import CrmApp
from crmtui.model import Conflict, Contact, Email, SyncKind, SyncRun, User
from crmtui.screens.context import Services
from crmtui.screens.sync_log import LogLine
from crmtui.store import TinyDBRepository

pytestmark = pytest.mark.usefixtures("utc")  # local times on screen are UTC

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
SNAP_SIZE = (120, 36)


def fixed_app(repo: TinyDBRepository) -> CrmApp:
    user = repo.add_user(User(name="Sam Carter", email="sam@example.com"))
    contact = repo.add_contact(Contact(given_name="Ines", family_name="Duarte",
                                       emails=[Email("ines@lisboa.example")], owner_id=user.id))
    started = NOW - timedelta(minutes=30)
    repo.add_run(SyncRun(user_id=user.id, kind=SyncKind.CONTACTS, started=started,
                         finished=started + timedelta(seconds=2.4), status="ok",
                         counts={"crm_created": 3, "crm_updated": 1, "google_created": 12,
                                 "conflicts": 1, "skipped": 0},
                         conflicts=[Conflict(record_id=contact.id, field_name="job_title",
                                             kept="Head of Sales", lost="Sales Lead",
                                             winner="google", at=started),
                                    Conflict(record_id=contact.id, field_name="emails",
                                             kept=[{"value": "ines@lisboa.example",
                                                    "type": "work", "primary": True}],
                                             lost=[{"value": "ines.duarte@home.example",
                                                    "type": "home", "primary": True}],
                                             winner="crm", at=started)]))
    repo.add_run(SyncRun(user_id=user.id, kind=SyncKind.ACTIVITIES, started=started,
                         finished=started + timedelta(seconds=1.1), status="failed",
                         errors=["Google refused the account: invalid_grant"]))
    repo.set_sync_state(user.id, SyncKind.CONTACTS, {"last_sync": started.isoformat()})
    services = Services(repo, user.id, Path(repo.path).parent, now=lambda: NOW)
    app = CrmApp(services, auto_sync=False, store_poll=0)
    for offset, kind, text, style in (
            (0, SyncKind.CONTACTS, "Sync started", "bold"),
            (1, SyncKind.CONTACTS, "Finding the Google contact group", ""),
            (1, None, "Google asked to slow down (429); retrying in 2.0 s", "yellow"),
            (2, SyncKind.CONTACTS, "In crmtui: 3 created, 1 updated, 0 linked", "green")):
        app.sync_log.lines.append(LogLine(started + timedelta(seconds=offset), kind, text, style))
    return app


def test_sync_log_snapshot(repo: TinyDBRepository, snap_compare: Any) -> None:
    assert snap_compare(fixed_app(repo), press=["5"], terminal_size=SNAP_SIZE)


def test_conflicts_snapshot(repo: TinyDBRepository, snap_compare: Any) -> None:
    assert snap_compare(fixed_app(repo), press=["6"], terminal_size=SNAP_SIZE)
