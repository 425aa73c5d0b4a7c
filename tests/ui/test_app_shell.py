"""The app around the sections: keys 1-6, the actions menu, the command palette, the keys list,
keys remapped from the config file, and the command line refusing a bad [keys] table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from crmtui import config
from crmtui.app import APP_COMMANDS, CrmApp, crmtui_bindings, known_binding_ids
from crmtui.cli import cli
from crmtui.model import SyncKind
from crmtui.screens.actions_menu import ActionsMenu
from crmtui.screens.context import SECTIONS, Services
from crmtui.screens.keys import KeysScreen
from crmtui.screens.sync_log import ConflictsScreen, SyncLogScreen
from crmtui.store import TinyDBRepository

from .conftest import Demo
from .pilot_helpers import SIZE, wait_for


def plain_app(demo: tuple[TinyDBRepository, str], **kwargs: Any) -> CrmApp:
    repo, user_id = demo
    kwargs.setdefault("auto_sync", False)
    return CrmApp(Services(repo, user_id, Path(repo.path).parent), **kwargs)


def test_keys_1_to_6_open_the_sections(demo: tuple[TinyDBRepository, str]) -> None:
    seen: list[tuple[str, str, str]] = []

    async def main() -> None:
        app = plain_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            for key in "234561":
                await pilot.press(key)
                await pilot.pause()
                seen.append((app.current_mode, type(app.screen).__name__, app.title))
    asyncio.run(main())
    assert [mode for mode, _, _ in seen] == [*SECTIONS[1:], SECTIONS[0]]
    assert [screen for _, screen, _ in seen] == [
        "ActivitiesScreen", "AccountsScreen", "SyncSettingsScreen", "SyncLogScreen",
        "ConflictsScreen", "ContactsScreen"]
    assert seen[1][2] == "crmtui · Profile → Accounts in external resources"


def test_each_section_keeps_its_own_screen_when_left_and_reopened(
        demo: tuple[TinyDBRepository, str]) -> None:
    async def main() -> None:
        app = plain_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            log_screen = app.screen
            await pilot.press("6")
            assert isinstance(app.screen, ConflictsScreen)
            await pilot.press("5")
            assert app.screen is log_screen
    asyncio.run(main())


def test_the_actions_menu_runs_synchronize_now(demo_google: Demo) -> None:
    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5", "a")
            menu = app.screen
            assert isinstance(menu, ActionsMenu)
            labels = [str(menu.query_one(OptionList).get_option_at_index(i).prompt).split("\n")[0]
                      for i in range(menu.query_one(OptionList).option_count)]
            assert labels[:4] == ["Synchronize contacts → Set up…",
                                  "Synchronize contacts → Synchronize now",
                                  "Synchronize activities → Set up…",
                                  "Synchronize activities → Synchronize now"]
            await pilot.press("down", "enter")  # Synchronize contacts → Synchronize now
            await wait_for(pilot, lambda: not app.running and any(
                line.text.startswith("In Google:") for line in app.sync_log.lines),
                "the contacts sync", attempts=1500)
            assert isinstance(app.screen, SyncLogScreen)
            kinds = {line.kind for line in app.sync_log.lines if line.text == "Sync started"}
            assert kinds == {SyncKind.CONTACTS}
            await pilot.press("a", "enter")  # Set up… opens the sync settings
            await pilot.pause()
            assert app.current_mode == "settings"
    asyncio.run(main())


def test_the_command_palette_has_category_prefixed_commands_that_run(
        demo: tuple[TinyDBRepository, str]) -> None:
    async def main() -> None:
        app = plain_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("colon")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*"go: conflicts")
            await wait_for(pilot, lambda: app.screen.query_one(OptionList).option_count > 0,
                           "the palette's hits")
            first = str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
            assert first.startswith("go: conflicts")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen),
                           "the conflicts section")
            await pilot.press("ctrl+p")  # the usual key too
            assert isinstance(app.screen, CommandPalette)
            await pilot.press("escape")
            await pilot.press("1", "slash", "colon")  # typed into the search, not the palette
            assert not isinstance(app.screen, CommandPalette)
            assert app.screen.query_one("#search", Input).value == ":"
    asyncio.run(main())
    assert all(": " not in c.label and c.category for c in APP_COMMANDS)
    texts = [c.palette_text for c in APP_COMMANDS]
    assert "sync: synchronize everything now" in texts and "go: sync settings" in texts


def test_keys_list_shows_the_screen_and_app_keys(demo: tuple[TinyDBRepository, str]) -> None:
    async def main() -> None:
        app = plain_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5", "question_mark")
            keys = app.screen
            assert isinstance(keys, KeysScreen)
            rows = dict((d, k) for k, d in keys.key_rows)
            assert rows["Sync contacts"] == "c" and rows["Sync activities"] == "v"
            assert rows["Actions"] == "a" and rows["Sync now"] == "y"
            assert rows["Conflicts"] == "6"
            assert keys.binding_ids[("y", "Sync now")] == "app.sync_now"  # to remap it
    asyncio.run(main())


def test_keys_remapped_in_the_config_file_replace_the_defaults(
        demo: tuple[TinyDBRepository, str]) -> None:
    notes: list[str] = []

    async def main() -> None:
        app = plain_app(demo, keymap={"app.section.conflicts": "f6", "app.keys": "f1",
                                      "no.such.binding": "f9"})
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("6")  # the default key no longer opens the conflicts
            assert app.current_mode == "contacts"
            await pilot.press("f6")
            assert app.current_mode == "conflicts"
            await pilot.press("f1")
            assert isinstance(app.screen, KeysScreen)
            notes.extend(str(n.message) for n in app._notifications)
    asyncio.run(main())
    assert any("no.such.binding" in n for n in notes), notes


def test_every_binding_has_an_id_and_none_uses_multiplexer_keys() -> None:
    ids = known_binding_ids()
    assert {"app.quit", "app.sync_now", "sync.contacts", "contacts.search"} <= ids
    offenders: list[str] = []
    for cls, binding in crmtui_bindings():
        if not isinstance(binding, Binding):
            offenders.append(f"{cls.__name__}: {binding!r} is not a Binding with an id")
            continue
        if not binding.id:
            offenders.append(f"{cls.__name__}: {binding.key} has no id")
        keys = {k.strip() for k in binding.key.split(",")}
        if keys & {"ctrl+j", "ctrl+o", "ctrl+s"}:
            offenders.append(f"{cls.__name__}: {binding.key} clashes with multiplexers")
    assert len(crmtui_bindings()) > 40  # the walk found the screens' and widgets' bindings
    assert not offenders, offenders


def test_the_config_keys_table_is_read_and_a_bad_one_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('default_user = "a@b.example"\n[keys]\n'
                                          '"contacts.new" = " insert , n "\n', encoding="utf-8")
    assert config.keymap(tmp_path) == {"contacts.new": "insert,n"}
    config.set_value(tmp_path, "default_user", "c@d.example")  # keeps the table
    assert config.keymap(tmp_path) == {"contacts.new": "insert,n"}
    (tmp_path / "config.toml").write_text('[keys]\n"contacts.new" = 5\n', encoding="utf-8")
    with pytest.raises(config.ConfigError, match="contacts.new"):
        config.keymap(tmp_path)


def test_the_tui_refuses_to_start_on_a_bad_keys_table(tmp_path: Path) -> None:
    from click.testing import CliRunner

    (tmp_path / "config.toml").write_text('[keys]\n"app.quit" = ""\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "[keys] 'app.quit' must be a key name" in result.output


def test_new_google_without_an_oauth_client_says_how_to_set_one(
        demo: tuple[TinyDBRepository, str]) -> None:
    import threading

    from crmtui.cli import tui_services
    from crmtui.sync.google.auth import LinkError

    repo, user_id = demo
    base = Path(repo.path).parent
    services = tui_services(repo, base, user_id)
    assert services.link_google is not None
    with pytest.raises(LinkError, match=r"google_client_secrets = \"PATH\".*config.toml"):
        services.link_google(user_id, lambda url: None, threading.Event())


def test_new_google_uses_the_configured_oauth_client(demo: tuple[TinyDBRepository, str]) -> None:
    import threading

    from crmtui.cli import tui_services
    from crmtui.sync.google.auth import LinkError

    repo, user_id = demo
    base = Path(repo.path).parent
    missing = base / "no-such-client.json"
    config.set_value(base, "google_client_secrets", str(missing))
    services = tui_services(repo, base, user_id)
    assert services.link_google is not None
    with pytest.raises(LinkError, match="no-such-client.json"):  # the configured file is read
        services.link_google(user_id, lambda url: None, threading.Event())
