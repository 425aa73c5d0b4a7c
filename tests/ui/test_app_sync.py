"""Synchronize now from the TUI against the Google emulator: the live log, progress, the end
notification, a second press while running, failures with what to do, the guard's confirmation,
automatic sync, the UI staying responsive during a sync, and data another process wrote appearing."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, RichLog

from crmtui.app import CrmApp
from crmtui.cli import tui_services
from crmtui.emulator.control_client import EmulatorControl
from crmtui.model import Contact, Email, SyncKind, utcnow
from crmtui.screens.confirm import Confirm
from crmtui.screens.sync_bar import SyncBar
from crmtui.screens.sync_log import ConflictsScreen, SyncLogScreen
from crmtui.store import open_store
from crmtui.sync.service import SyncService

from .conftest import Demo
from .pilot_helpers import SIZE, wait_for


def log_text(app: CrmApp) -> str:
    return "\n".join(line.text for line in app.sync_log.lines)


def screen_log_text(screen: SyncLogScreen) -> str:
    return "\n".join(strip.text for strip in screen.query_one(RichLog).lines)


def test_synchronize_now_shows_a_live_log_progress_and_a_summary(demo_google: Demo) -> None:
    notes: list[str] = []

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore
            await pilot.press("5")
            assert isinstance(app.screen, SyncLogScreen)
            await pilot.press("y")  # in the sync log: both kinds
            await wait_for(pilot, lambda: not app.running, "both syncs to end", attempts=1500)
            screen = app.screen
            assert isinstance(screen, SyncLogScreen)
            text = screen_log_text(screen)
            assert text.count("Sync started") == 2
            assert "Reading changes from Google" in text  # the engine's own progress lines
            assert "In Google: " in text and "In Google Calendar: " in text  # the summaries
            runs = screen.query_one("#sync-runs", DataTable)
            assert runs.row_count == 2
            statuses = {str(runs.get_row_at(i)[2]) for i in range(2)}
            assert statuses == {"ok"}
            for kind in SyncKind:
                assert screen.model.progress[kind].message.startswith("Done: In crmtui:")
            bar = screen.query_one(SyncBar)
            assert "Contacts: last" in str(bar.content) and "never" not in str(bar.content)
    asyncio.run(main())
    assert any(n.startswith("In crmtui:") and "In Google:" in n for n in notes), notes
    calendar = [n for n in notes if "In Google Calendar:" in n]
    assert calendar, notes
    # The demo's activities sync skips a changed occurrence; the notice stays short.
    assert calendar[0].splitlines()[2].startswith("Conflicts: ")
    assert calendar[0].endswith("the rest is in the sync log (key 5).")


def test_a_second_press_says_a_sync_is_already_running(demo_google: Demo) -> None:
    notes: list[str] = []
    gate = threading.Event()

    async def main() -> None:
        app = demo_google.app()
        service = app.services.sync
        assert service is not None
        real_run = service.run

        def slow_run(*args: Any, **kwargs: Any) -> Any:
            gate.wait(10)
            return real_run(*args, **kwargs)

        service.run = slow_run  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore
            await pilot.press("y")  # in Contacts: the contacts sync
            assert app.running == {SyncKind.CONTACTS}
            await pilot.press("y")
            assert any("already running" in n for n in notes), notes
            # The UI answers keys while the worker runs: a search is typed, the sections change.
            await pilot.press("slash", "m", "o")
            assert app.screen.query_one("#search", Input).value == "mo"
            for _ in range(200):  # (wait_for would wait for the blocked sync worker too)
                if app.screen.result is not None and app.screen.result.query.text == "mo":
                    break
                await pilot.pause(0.02)
            assert app.screen.result.query.text == "mo"  # the search ran meanwhile
            assert app.running == {SyncKind.CONTACTS}
            await pilot.press("escape", "5")
            assert isinstance(app.screen, SyncLogScreen)
            assert app.sync_log.progress[SyncKind.CONTACTS].running
            await pilot.press("6", "1")
            assert app.current_mode == "contacts"
            assert app.running == {SyncKind.CONTACTS}
            gate.set()
            await wait_for(pilot, lambda: not app.running, "the sync to end", attempts=1500)
    asyncio.run(main())


def test_a_failed_sync_says_why_and_what_to_do(demo_google: Demo) -> None:
    notes: list[tuple[str, str]] = []
    repo, user_id = demo_google.repo, demo_google.user_id
    for account in repo.list_accounts(user_id):  # nothing linked any more
        repo.delete_account(account.id)

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            app.notify = (lambda message, severity="information", **kw:  # type: ignore
                          notes.append((str(message), severity)))
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.running, "the sync to end", attempts=500)
            assert "Failed: no Google account is linked" in log_text(app)
    asyncio.run(main())
    errors = [m for m, severity in notes if severity == "error"]
    assert errors and "no Google account is linked" in errors[0]
    assert "Profile → Accounts (key 3)" in errors[0]


def test_a_run_the_guard_stops_asks_and_goes_on_when_confirmed(demo_google: Demo) -> None:
    repo, user_id = demo_google.repo, demo_google.user_id
    emulator = demo_google.emulator

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.running, "the first sync", attempts=1500)
            linked = len(repo.list_links(user_id, SyncKind.CONTACTS))
            assert linked > 5
            # Every linked contact is deleted in Gmail at once: every link would go.
            email = repo.list_accounts(user_id)[0].email
            for link in repo.list_links(user_id, SyncKind.CONTACTS):
                EmulatorControl(emulator).delete_contact(email, link.remote_id)
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question",
                           attempts=1500)
            assert len(repo.list_links(user_id, SyncKind.CONTACTS)) == linked  # nothing yet
            await pilot.press("y")  # confirm
            await wait_for(pilot, lambda: not app.running and
                           app.sync_log.progress[SyncKind.CONTACTS].message.startswith("Done"),
                           "the confirmed run", attempts=1500)
            assert "the unlinking confirmed" in log_text(app)
    asyncio.run(main())


def test_automatic_sync_runs_when_due_and_the_footer_shows_last_and_next(
        demo_google: Demo) -> None:
    repo, user_id = demo_google.repo, demo_google.user_id
    settings = repo.get_sync_settings(user_id)
    repo.save_sync_settings(settings.evolve(contacts_auto=True, contacts_period=15,
                                            activities_auto=False))

    async def main() -> None:
        app = demo_google.app(auto_sync=True, auto_sync_check=0)  # no timer: called below
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")  # the sync log (every section has the bar)
            bar = app.screen.query_one(SyncBar)
            assert "Contacts: never synchronized, next: due now" in str(bar.content)
            app.run_due_syncs()  # the timer's call, without waiting for it
            assert app.running == {SyncKind.CONTACTS}  # activities: not automatic
            await wait_for(pilot, lambda: not app.running, "the automatic sync", attempts=1500)
            content = str(app.screen.query_one(SyncBar).content)
            assert "Contacts: last " in content and ", next " in content
            assert "Activities: never synchronized, manual" in content
            app.run_due_syncs()  # not due again for 15 minutes
            assert not app.running
    asyncio.run(main())


def test_the_automatic_sync_timer_follows_the_injected_clock(demo_google: Demo) -> None:
    """The timer checks often (a short delay), the injected clock decides: a failed automatic
    run waits one period, a successful one is not due again before the period has passed. (The
    sync records its end on the real clock: the injected one starts half an hour back.)"""
    repo, user_id = demo_google.repo, demo_google.user_id
    settings = repo.get_sync_settings(user_id)
    repo.save_sync_settings(settings.evolve(contacts_auto=True, contacts_period=15,
                                            activities_auto=False))
    start = utcnow() - timedelta(minutes=30)
    clock = [start]
    services = tui_services(repo, demo_google.directory, user_id, demo=True)
    services.now = lambda: clock[0]
    EmulatorControl(demo_google.emulator).fault(  # the first run fails
        "connections", method="GET", count=1, status=400)

    async def main() -> None:
        app = CrmApp(services, auto_sync=True, auto_sync_check=0.02)

        def started() -> int:
            return log_text(app).count("Automatic sync started")

        async def ticks(pilot: Pilot[None]) -> None:
            """Let the timer fire a few times (fewer under load: that only weakens "not run")."""
            for _ in range(10):
                await pilot.pause(0.03)

        async def ran(pilot: Pilot[None], n: int, result: str) -> None:
            await wait_for(pilot, lambda: started() == n and not app.running,
                           f"automatic run {n}", attempts=1500)
            assert app.sync_log.progress[SyncKind.CONTACTS].message.startswith(result)

        async with app.run_test(size=SIZE) as pilot:
            await ran(pilot, 1, "Failed")  # due at once (never synchronized), and it failed
            clock[0] = start + timedelta(minutes=14)
            await ticks(pilot)
            assert started() == 1  # a failed automatic run waits a period
            clock[0] = start + timedelta(minutes=16)
            await ran(pilot, 2, "Done")
            done = repo.get_sync_state(user_id, SyncKind.CONTACTS)["last_sync"]
            last = datetime.fromisoformat(done)
            clock[0] = last + timedelta(minutes=14)
            await ticks(pilot)
            assert started() == 2  # not due again before 15 minutes
            clock[0] = last + timedelta(minutes=15)
            await ran(pilot, 3, "Done")
    asyncio.run(main())


def test_a_change_made_by_another_process_appears(demo_google: Demo) -> None:
    directory, user_id = demo_google.directory, demo_google.user_id

    async def main() -> None:
        app = demo_google.app(store_poll=0.05)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_for(pilot, lambda: screen.result is not None, "the contacts")
            before = len(screen.result.ids)
            other = open_store(directory)  # another process's repository on the same file
            try:
                other.add_contact(Contact(given_name="Zebedee", family_name="Outsider",
                                          emails=[Email("zeb@outside.example")],
                                          owner_id=user_id))
            finally:
                other.close()
            await wait_for(pilot, lambda: len(screen.result.ids) == before + 1,
                           "the new contact to appear")
    asyncio.run(main())


def test_conflicts_view_lists_what_was_overwritten(demo_google: Demo) -> None:
    from datetime import UTC, datetime

    from crmtui.model import Conflict, SyncRun

    repo, user_id = demo_google.repo, demo_google.user_id
    contact_id = repo.contact_ids(repo_query(), user_id)[0]
    name = repo.get_contact(contact_id).display_name
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    repo.add_run(SyncRun(user_id=user_id, kind=SyncKind.CONTACTS, started=at, finished=at,
                         status="ok", conflicts=[Conflict(record_id=contact_id,
                                                          field_name="job_title",
                                                          kept="Head of Sales", lost="Sales Lead",
                                                          winner="google", at=at)]))

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            screen = app.screen
            assert isinstance(screen, ConflictsScreen)
            table = screen.query_one(DataTable)
            assert table.row_count == 1
            row = [str(cell) for cell in table.get_row_at(0)]
            assert row[1:7] == [name[:23] + ("…" if len(name) > 24 else ""), "job title",
                                "Google", "Head of Sales", "Sales Lead", "Contacts"]
    asyncio.run(main())


def repo_query() -> Any:
    from crmtui.store import ContactQuery

    return ContactQuery()


def test_sync_service_is_wired_to_the_account_endpoint(demo_google: Demo) -> None:
    services = tui_services(demo_google.repo, demo_google.directory, demo_google.user_id)
    assert isinstance(services.sync, SyncService)
    assert services.sync_notes is not None


def test_the_store_watch_waits_while_our_own_sync_writes(demo_google: Demo) -> None:
    """During our sync the screens are not reloaded at each of its commits (that would make the
    UI wait for the store's lock again and again); the sync's end reloads them once."""
    async def main() -> None:
        app = demo_google.app(store_poll=0)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.running.add(SyncKind.CONTACTS)
            app.poll_store()
            assert app._store_check is None  # no check started
            app.running.clear()
            app.poll_store()
            assert app._store_check is not None
            await wait_for(pilot, lambda: app._store_check.is_finished, "the check")
    asyncio.run(main())
