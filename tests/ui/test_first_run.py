"""A first run that shows the way: an empty app greets with the three steps and their keys; the
Accounts and Sync settings screens show them until every one is done."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

from textual.pilot import Pilot

from crmtui.app import CrmApp
from crmtui.model import Account, Contact, SyncKind, SyncRun, SyncSettings, Tag, TagKind, User
from crmtui.screens import KeysScreen
from crmtui.screens.accounts import AccountsScreen
from crmtui.screens.context import Services
from crmtui.screens.first_run import FirstRunSteps, WelcomeScreen, setup_steps
from crmtui.screens.sync_settings import SyncSettingsScreen
from crmtui.store import TinyDBRepository

from .pilot_helpers import SIZE, plain, wait_for

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def services_for(repo: TinyDBRepository, user: User) -> Services:
    return Services(repo, user.id, Path(repo.path).parent, now=lambda: NOW)


def run(services: Services, check: Callable[[CrmApp, Pilot], Awaitable[None]],
        size: tuple[int, int] = SIZE) -> None:
    async def main() -> None:
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await check(app, pilot)
    asyncio.run(main())


def steps_text(panel: FirstRunSteps) -> str:
    return plain(panel.content, width=110)


def test_an_empty_app_greets_with_the_three_steps(repo: TinyDBRepository, ann: User) -> None:
    async def check(app: CrmApp, pilot: Pilot) -> None:
        welcome = app.screen
        assert isinstance(welcome, WelcomeScreen)
        text = steps_text(welcome.query_one(FirstRunSteps))
        assert "1." in text and "Link your Google account" in text and "[3, then n]" in text
        assert "2." in text and "Choose the tag and the periods" in text and "[4]" in text
        assert "3." in text and "Synchronize" in text and "[y]" in text
        await pilot.press("4")  # the key of the second step
        await wait_for(pilot, lambda: isinstance(app.screen, SyncSettingsScreen),
                       "the sync settings")
        panel = app.screen.query_one(FirstRunSteps)
        assert panel.display and "[3, then n]" in steps_text(panel)

    run(services_for(repo, ann), check, size=(80, 24))


def test_the_welcome_closes_with_escape_and_3_opens_accounts(repo: TinyDBRepository,
                                                              ann: User) -> None:
    async def check(app: CrmApp, pilot: Pilot) -> None:
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("question_mark")  # the keys, from the welcome too
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, WelcomeScreen)
        assert app.current_mode == "contacts"
        app.push_screen(WelcomeScreen(app.services))
        await pilot.pause()
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen), "accounts")
        assert app.screen.query_one(FirstRunSteps).display

    run(services_for(repo, ann), check)


def test_an_app_with_data_does_not_greet(repo: TinyDBRepository, ann: User) -> None:
    repo.add_contact(Contact(given_name="Carla"))

    async def check(app: CrmApp, pilot: Pilot) -> None:
        assert not isinstance(app.screen, WelcomeScreen)

    run(services_for(repo, ann), check)


def test_steps_are_ticked_as_they_are_done_then_hidden(repo: TinyDBRepository,
                                                       ann: User) -> None:
    services = services_for(repo, ann)
    repo.add_contact(Contact(given_name="Carla"))
    assert [s.done for s in setup_steps(services)] == [False, False, False]

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen), "accounts")
        panel = app.screen.query_one(FirstRunSteps)
        repo.add_account(Account(user_id=ann.id, email="ann.lee@gmail.com"))
        panel.check()
        text = steps_text(panel)
        assert "✔" in text and "[3, then n]" not in text and "[4]" in text
        tag = repo.add_tag(Tag("Google", TagKind.PRIVATE, ann.id))
        repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=tag.id,
                                             activities_from=date(2026, 1, 1)))
        repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, started=NOW,
                             finished=NOW, status="ok"))
        panel.check()
        assert [s.done for s in panel.steps] == [True, True, True]
        assert not panel.display  # hidden once everything is done

    run(services, check)
