"""Sync settings: saving valid values (and seeing them again), errors beside their fields, only
the user's private tags, the latest sync sessions and the linked account."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Label, Select, Static

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
from crmtui.screens.sync_settings import SyncSettingsScreen
from crmtui.store import TinyDBRepository

from .pilot_helpers import SIZE

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
Check = Callable[[CrmApp, Pilot, SyncSettingsScreen], Awaitable[None]]


def run(repo: TinyDBRepository, user: User, check: Check) -> None:
    async def main() -> None:
        services = Services(repo, user.id, Path(repo.path).parent, now=lambda: NOW)
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            for _ in range(100):
                await pilot.pause(0.01)
                if isinstance(app.screen, SyncSettingsScreen):
                    break
            screen = app.screen
            assert isinstance(screen, SyncSettingsScreen)
            await check(app, pilot, screen)
    asyncio.run(main())


def text(screen: SyncSettingsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def error(screen: SyncSettingsScreen, field: str) -> str:
    label = screen.query_one(f"#error-{field}", Label)
    return str(label.content) if label.display else ""


def local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def test_the_calendar_and_whom_to_e_mail_are_saved(repo: TinyDBRepository, ann: User) -> None:
    async def edit(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert screen.query_one("#activities-calendar", Input).value == "primary"
        assert screen.query_one("#activities-send-updates", Select).value == "none"
        screen.query_one("#activities-calendar", Input).value = "team@group.calendar.example"
        screen.query_one("#activities-send-updates", Select).value = "external"
        await pilot.press("f2")
        await pilot.pause()
        assert str(screen.query_one("#settings-status", Label).content) == "Saved."

    run(repo, ann, edit)
    saved = repo.get_sync_settings(ann.id)
    assert (saved.activities_calendar, saved.activities_send_updates) == (
        "team@group.calendar.example", "external")


def test_save_valid_values_then_see_them_again(repo: TinyDBRepository, ann: User,
                                               ann_private_tag: Tag) -> None:
    async def edit(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert not screen.query_one("#contacts-auto", Checkbox).value
        await pilot.press("space")  # the focused "Synchronize contacts automatically"
        assert screen.query_one("#contacts-auto", Checkbox).value
        screen.query_one("#contacts-period", Select).value = 15
        screen.query_one("#contacts-tag", Select).value = ann_private_tag.id
        screen.query_one("#group-name", Input).value = ""
        screen.query_one("#group-name", Input).focus()
        await pilot.press(*"Sales team")
        screen.query_one("#activities-auto", Checkbox).value = True
        screen.query_one("#activities-period", Select).value = 5
        screen.query_one("#activities-from", Input).focus()
        await pilot.press(*"2026-01-15")
        await pilot.press("f2")
        await pilot.pause()
        assert str(screen.query_one("#settings-status", Label).content) == "Saved."

    run(repo, ann, edit)
    assert repo.get_sync_settings(ann.id) == SyncSettings(
        user_id=ann.id, contacts_auto=True, contacts_period=15,
        contacts_tag_id=ann_private_tag.id, contacts_group_name="Sales team",
        activities_auto=True, activities_period=5, activities_from=date(2026, 1, 15))

    async def reopen(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert screen.query_one("#contacts-auto", Checkbox).value
        assert screen.query_one("#contacts-period", Select).value == 15
        assert screen.query_one("#contacts-tag", Select).value == ann_private_tag.id
        assert screen.query_one("#group-name", Input).value == "Sales team"
        assert screen.query_one("#activities-auto", Checkbox).value
        assert screen.query_one("#activities-period", Select).value == 5
        assert screen.query_one("#activities-from", Input).value == "2026-01-15"

    run(repo, ann, reopen)


def test_invalid_values_are_explained_beside_their_fields(repo: TinyDBRepository,
                                                          ann: User) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert error(screen, "activities_from") == ""
        screen.query_one("#activities-from", Input).value = "2026-13-40"
        screen.query_one("#group-name", Input).value = "   "
        await pilot.click("#save")
        await pilot.pause()
        assert error(screen, "activities_from") == "The date is not a date (YYYY-MM-DD)"
        assert error(screen, "contacts_group_name") == "The Google group name must not be empty"
        assert "Not saved" in str(screen.query_one("#settings-status", Label).content)
        assert repo.get_sync_settings(ann.id) == SyncSettings(user_id=ann.id)
        screen.query_one("#activities-from", Input).value = "today"  # fixed: errors go
        screen.query_one("#group-name", Input).value = "crmtui"
        await pilot.press("f2")
        await pilot.pause()
        assert error(screen, "activities_from") == ""
        assert error(screen, "contacts_group_name") == ""
        assert screen.query_one("#activities-from", Input).value == "2026-03-02"

    run(repo, ann, check)
    assert repo.get_sync_settings(ann.id).activities_from == date(2026, 3, 2)  # "today": NOW


def test_only_the_users_private_tags_are_offered(repo: TinyDBRepository, ann: User,
                                                 bob: User, ann_private_tag: Tag) -> None:
    repo.add_tag(Tag(name="Zeta", kind=TagKind.PRIVATE, owner_id=ann.id))
    repo.add_tag(Tag(name="Customers", kind=TagKind.PUBLIC))
    repo.add_tag(Tag(name="EMEA", kind=TagKind.CORPORATE))
    repo.add_tag(Tag(name="Bob's own", kind=TagKind.PRIVATE, owner_id=bob.id))

    async def check(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        tags = screen.query_one("#contacts-tag", Select)
        offered = [str(prompt) for prompt, _ in tags._options]
        assert offered == ["No tag: contacts are not sent", "Google", "Zeta"]
        assert tags.value == ""

    run(repo, ann, check)


def test_latest_sync_sessions_and_the_account_are_shown(repo: TinyDBRepository,
                                                        ann: User) -> None:
    started = NOW - timedelta(hours=2)
    repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, started=started,
                         finished=started + timedelta(seconds=5), status="ok"))
    repo.set_sync_state(ann.id, SyncKind.CONTACTS,
                        {"last_sync": (started + timedelta(seconds=5)).isoformat()})
    failed = NOW - timedelta(minutes=10)
    repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.ACTIVITIES, started=failed,
                         finished=failed, status="failed", errors=["Google is unreachable"]))

    async def without_account(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert text(screen, "#latest-contacts") == (
            f"Contacts: {local(started)} ok · last successful sync "
            f"{local(started + timedelta(seconds=5))}")
        assert text(screen, "#latest-activities") == (
            f"Activities: {local(failed)} failed (Google is unreachable)")
        assert "No Google account is linked: press 3" in text(screen, "#google-account")

    run(repo, ann, without_account)
    repo.add_account(Account(user_id=ann.id, email="ann@example.com",
                             state=AccountState.NEEDS_RECONNECT, state_message="revoked"))

    async def with_account(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert text(screen, "#google-account") == (
            "ann@example.com (needs reconnect: press 3 for Accounts, then r)")

    run(repo, ann, with_account)


def test_commands_save_and_synchronize(repo: TinyDBRepository, ann: User) -> None:
    screen = SyncSettingsScreen(Services(repo, ann.id, Path(repo.path).parent))
    texts = [c.palette_text for c in screen.commands()]
    assert texts[0] == "settings: save"
    assert "sync: synchronize contacts now" in texts
    assert "sync: synchronize activities now" in texts


def test_refresh_data_shows_a_sync_another_process_ran(repo: TinyDBRepository, ann: User,
                                                       ann_private_tag: Tag) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: SyncSettingsScreen) -> None:
        assert text(screen, "#latest-contacts") == "Contacts: no sync session yet"
        screen.query_one("#group-name", Input).value = "typing…"  # kept across a refresh
        started = NOW - timedelta(minutes=5)
        repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, started=started,
                             finished=started, status="ok"))
        newer = repo.add_tag(Tag(name="Another", kind=TagKind.PRIVATE, owner_id=ann.id))
        screen.refresh_data()
        await pilot.pause()
        assert text(screen, "#latest-contacts") == f"Contacts: {local(started)} ok"
        assert screen.query_one("#group-name", Input).value == "typing…"
        offered = [value for _, value in screen.query_one("#contacts-tag", Select)._options]
        assert offered == ["", newer.id, ann_private_tag.id]

    run(repo, ann, check)
