"""Two-way activity sync with Google Calendar (DESIGN.md section 3, "Activities"). In progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmtui.model import SyncSettings
from crmtui.store import Repository
from crmtui.sync.engine import ProgressFn, SyncReport, SyncSetupError, no_progress
from crmtui.sync.remote import CalendarRemote


@dataclass
class ActivitySync:
    repo: Repository
    user_id: str
    settings: SyncSettings
    remote: CalendarRemote
    account_email: str = ""
    progress: ProgressFn = no_progress
    dry_run: bool = False
    confirmed: bool = False
    report: SyncReport | None = None
    finish: Callable[[dict[str, Any]], None] | None = None
    sync_set_up: Callable[[str], bool] | None = None

    def run(self) -> SyncReport:
        raise SyncSetupError("activity sync is being built")
