"""Activity sync at 5,000 activities a side: requests and seconds against the in-process emulator.

Ann's Google calendar gets 5,000 events (made "in Google Calendar" through the control API), the
CRM 5,000 other activities she organizes with Show in calendar; then it prints, for each run, the
Calendar API requests it made (HTTP calls; batch parts apart) and its seconds: the first sync, an
incremental sync with 1 change, one with 200 changes (100 on each side), and a sync with nothing
to do. The incremental cases are repeated and their medians printed; the sync right after the
first, which reads back what the first one wrote, is printed apart. Target (issue 5): 1 change
under 0.5 s and at most 3 requests. Not a test: ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import api_requests, measure, measure_incremental

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.model import Activity, ActivityType, Contact, SyncKind, SyncSettings, User
from crmtui.store import ActivityQuery, open_store
from crmtui.sync.accounts import AccountService
from crmtui.sync.google.factory import (
    calendar_remote_factory,
    contacts_remote_factory,
    google_linker,
)
from crmtui.sync.service import SyncService

EMAIL = "ann@example.com"
SINCE = date(2026, 1, 1)
FIRST = datetime(2026, 3, 2, 8, tzinfo=UTC)


def slot(i: int) -> datetime:
    """One hour a slot, eight a day, from FIRST on."""
    return FIRST + timedelta(days=i // 8, hours=i % 8)


class Bench:
    """An emulator account and a CRM store wired to the real Calendar adapter."""

    def __init__(self, emu: Emulator, data_dir: Path) -> None:
        self.emu = emu
        info = emu.create_account(EMAIL)
        self.repo = open_store(data_dir)
        self.user = self.repo.add_user(User(name="Ann Lee", email=EMAIL),
                                       Contact(given_name="Ann", family_name="Lee",
                                               emails=[EMAIL]))
        self.repo.save_sync_settings(SyncSettings(user_id=self.user.id, activities_from=SINCE))
        authorized = data_dir.parent / "authorized-user.json"
        authorized.write_text(json.dumps(authorized_user(info)))
        AccountService(self.repo, data_dir, google_linker(data_dir, endpoint=emu.base_url)
                       ).link_from_credentials_file(self.user.id, authorized)
        # wired as `crmtui sync activities` wires it
        self.sync_service = SyncService(self.repo, data_dir,
                                        contacts_remote_factory(data_dir),
                                        calendar_remote_factory(data_dir))
        self.google = EmulatorControl(emu)

    def seed_google(self, n: int) -> None:
        for i in range(n):
            start = slot(i)
            self.google.insert_event(EMAIL, {
                "summary": f"Google {i:05d}", "description": "made in Google Calendar",
                "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                        "timeZone": "UTC"}})

    def seed_crm(self, n: int) -> None:
        self.repo.add_activities([
            Activity(title=f"Crm {i:05d}", type=ActivityType.MEETING, start=slot(i),
                     end=slot(i) + timedelta(hours=1), timezone="Europe/Paris",
                     owner_id=self.user.id, organizer_id=self.user.id, notes="made in the CRM",
                     show_in_calendar=True) for i in range(n)])

    def sync(self) -> tuple[int, float]:
        """One sync: (Calendar API requests, seconds)."""
        api_requests(self.emu, "calendar")
        began = time.perf_counter()
        outcome = self.sync_service.run(self.user.id, SyncKind.ACTIVITIES, confirmed=True)
        seconds = time.perf_counter() - began
        if not outcome.ok:
            raise SystemExit(f"the sync failed: {outcome.message}")
        return api_requests(self.emu, "calendar"), seconds

    def crm_edit(self, count: int, round_: int) -> None:
        mine = [a for a in self.repo.find_activities(ActivityQuery())
                if a.title.startswith("Crm")][:count]
        for a in mine:
            self.repo.update_activity(a.evolve(notes=f"edited in the CRM, round {round_}"))

    def google_edit(self, count: int, round_: int) -> None:
        """Edit ``count`` events in Google (the control API: one request each, unlogged)."""
        listed = self.google.events(EMAIL)
        made = [e for e in listed if str(e.get("summary", "")).startswith("Google")]
        for event in made[:count]:
            self.google.patch_event(EMAIL, event["id"],
                                    {"description": f"edited in Google, round {round_}"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=5_000, help="records on each side")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each incremental case")
    args = parser.parse_args(argv)
    n = args.activities
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        bench = Bench(emu, Path(tmp) / "data")
        began = time.perf_counter()
        bench.seed_google(n)
        bench.seed_crm(n)
        print(f"seeded {n} Google events + {n} CRM activities in "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        print(f"{'run':<40} {'requests':>8} {'seconds':>9}")
        measure(f"first sync ({n} + {n})", 1, lambda i: None, bench)
        measure_incremental(bench, args.repeat, 100, bench.google_edit)
        bench.repo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
