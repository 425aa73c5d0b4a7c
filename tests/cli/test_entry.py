"""The entry point: opening the TUI, --demo, errors, help, and the installed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from store.pgserver import new_database, pg_server  # noqa: F401

import crmtui.app
from crmtui import config
from crmtui.cli import cli
from crmtui.demo import DEMO_EMAIL, GOOGLE_STATE_FILE
from crmtui.emulator.control_client import EmulatorControl
from crmtui.screens.context import Services
from crmtui.store import DB_FILE, open_store

from .conftest import Crm

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tui_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the TUI by a recorder of what it was given."""
    calls: list[dict[str, Any]] = []

    def fake_run_app(services: Services, keymap: Any = None) -> None:
        repo, user_id = services.repo, services.user_id
        demo, google_endpoint = services.demo, services.google_endpoint
        calls.append({"user": repo.get_user(user_id), "demo": demo,
                      "contacts": repo.count_contacts(), "path": Path(repo.path),
                      "google": google_endpoint,
                      "google_accounts": google_accounts(google_endpoint)})

    monkeypatch.setattr(crmtui.app, "run_app", fake_run_app)
    return calls


def google_accounts(endpoint: str) -> dict[str, int]:
    """The accounts of the Google emulator at ``endpoint`` and how many contacts each holds
    (asked while the TUI runs)."""
    if not endpoint:
        return {}
    google = EmulatorControl(endpoint, timeout=10)
    return {email: len(google.contacts(email)) for email in google.accounts()}


def test_no_command_opens_the_tui_as_the_current_user(crm: Crm, ann: dict[str, Any],
                                                      tui_calls: list[dict[str, Any]]) -> None:
    crm.ok()
    (call,) = tui_calls
    assert call["user"].id == ann["id"] and call["demo"] is False
    assert call["path"] == crm.data_dir / DB_FILE
    assert call["google"] == ""


def test_the_tui_opens_the_team_database_given(crm: Crm, ann: dict[str, Any],
                                               new_database: Callable[[], str],  # noqa: F811
                                               tui_calls: list[dict[str, Any]]) -> None:
    """``crmtui --database URL`` (and the config's ``database``) opens the TUI on that
    database, never on the data directory's own file."""
    url = new_database()
    crm.ok("--database", url, "users", "add", "--name", "Bob Stone",
           "--email", "bob@example.com")
    crm.ok("--database", url, "--user", "bob@example.com", "contacts", "add", "--given", "Zoë")
    crm.ok("--database", url, "--user", "bob@example.com")
    (call,) = tui_calls
    assert call["user"].email == "bob@example.com" and call["contacts"] == 2
    assert call["path"] != crm.data_dir / DB_FILE
    crm.fails("--database", url + "_missing")  # one Error: line, no TUI
    assert len(tui_calls) == 1


def test_the_tui_honours_user_and_refuses_without_a_user(
        crm: Crm, tui_calls: list[dict[str, Any]]) -> None:
    assert "crmtui users add" in crm.fails()
    crm.add_user("Ann Lee", "ann@example.com")
    bob = crm.add_user("Bob Stone", "bob@example.com")
    crm.ok("--user", "bob@example.com")
    assert [c["user"].id for c in tui_calls] == [bob["id"]]


def test_first_run_of_the_tui_on_a_terminal_creates_the_user(
        crm: Crm, tui_calls: list[dict[str, Any]], tty: None) -> None:
    crm.ok(input="Ann Lee\nann@example.com\n")
    assert tui_calls[0]["user"].email == "ann@example.com"
    assert config.load(crm.data_dir)["default_user"] == "ann@example.com"


def test_demo_uses_its_own_directory_never_the_real_database(
        crm: Crm, ann: dict[str, Any], tui_calls: list[dict[str, Any]]) -> None:
    crm.ok("--demo")
    (call,) = tui_calls
    assert call["demo"] is True
    assert call["path"] == crm.data_dir / "demo" / DB_FILE
    assert call["contacts"] > 100 and call["user"].id != ann["id"]
    with crm.store() as repo:
        assert repo.count_contacts() == 1 and len(repo.list_users()) == 1
    # Scripting commands with --demo work on the demo data too.
    demo_users = crm.json("--demo", "users", "list")
    assert call["user"].id in {u["id"] for u in demo_users}
    assert len(crm.json("--demo", "--user", call["user"].email, "contacts", "list",
                        "--limit", "5")) == 5
    # The demo user is the demo's default user: no --user needed among its three users.
    assert len(demo_users) == 3
    (account,) = crm.json("--demo", "account", "list")
    assert account["email"] == DEMO_EMAIL


def test_demo_runs_the_google_emulator_while_the_tui_runs(
        crm: Crm, tui_calls: list[dict[str, Any]]) -> None:
    crm.ok("--demo")
    crm.ok("--demo")
    first, second = tui_calls
    assert first["google"].startswith("http://127.0.0.1:")
    assert len(first["google_accounts"]) == 3 and first["google_accounts"][DEMO_EMAIL] >= 50
    assert (crm.data_dir / "demo" / GOOGLE_STATE_FILE).exists()
    assert second["google_accounts"] == first["google_accounts"]  # kept, not seeded again


def test_data_dir_defaults_to_crmtui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("CRMTUI_HOME", str(home))
    result = click.testing.CliRunner().invoke(
        cli, ["users", "add", "--name", "Ann", "--email", "ann@example.com"])
    assert result.exit_code == 0, result.stderr
    repo = open_store(home)
    try:
        assert [u.email for u in repo.list_users()] == ["ann@example.com"]
    finally:
        repo.close()


# --------------------------------------------------------------------------- errors


def test_a_newer_database_is_an_error_not_a_traceback(crm: Crm) -> None:
    crm.data_dir.mkdir(parents=True)
    (crm.data_dir / DB_FILE).write_text(json.dumps({"_meta": {"schema": {"schema": 99}}}))
    err = crm.fails("users", "list", "--json")
    assert "schema version 99" in err and "upgrade crmtui" in err


def test_a_broken_config_file_is_an_error(crm: Crm, ann: dict[str, Any]) -> None:
    (crm.data_dir / "config.toml").write_text("default_user = \n")
    err = crm.fails("contacts", "list")
    assert "config.toml is not valid TOML" in err


def test_a_data_dir_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = Crm(blocker / "sub").fails("users", "list")
    assert "cannot create the data directory" in err


# --------------------------------------------------------------------------- help


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command under ``group``, as click lists them (the root loads its commands when
    they are named: ``group.commands`` holds only those loaded so far)."""
    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix}{name} is listed but cannot be loaded"
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + name + " ")
    return found


def test_every_command_and_option_has_help(crm: Crm) -> None:
    commands = _commands(cli)
    assert len(commands) >= 20
    for name, command in commands:
        assert command.help, f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
        assert crm.ok(*name.split(), "--help").startswith(f"Usage: crmtui {name}")


def test_root_help_lists_the_groups(crm: Crm) -> None:
    out = crm.ok("--help")
    for group in ("users", "tags", "contacts", "activities", "import", "export"):
        assert f"\n  {group} " in out


# --------------------------------------------------------------------------- real processes


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "CRMTUI_HOME": str(data_dir),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                        os.environ.get("PYTHONPATH")]))}


def test_the_installed_command_end_to_end(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "crmtui"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "crmtui"]
    env = _env(tmp_path / "data")
    added = subprocess.run([*command, "users", "add", "--name", "Ann Lee", "--email",
                            "ann@example.com"], env=env, capture_output=True, text=True,
                           timeout=60, check=False)
    assert added.returncode == 0, added.stderr
    listed = subprocess.run([*command, "users", "list", "--json"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert [u["email"] for u in json.loads(listed.stdout)] == ["ann@example.com"]
    failed = subprocess.run([*command, "--user", "zed@example.com", "contacts", "list"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr == ("Error: --user: no user has the email zed@example.com; see "
                             "`crmtui users list`\n")


def test_python_m_crmtui_runs_without_loading_the_ui(tmp_path: Path) -> None:
    # Runs `crmtui users add` as `python -m crmtui` does, then lists the Textual modules loaded.
    code = ("import runpy, sys\n"
            "sys.argv = ['crmtui', 'users', 'add', '--name', 'A', '--email', 'a@example.com']\n"
            "try:\n"
            "    runpy.run_module('crmtui', run_name='__main__')\n"
            "except SystemExit as exc:\n"
            "    assert exc.code in (0, None), exc.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n")
    result = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path / "data"),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    added, textual_modules = result.stdout.splitlines()
    assert added.startswith("Added the user A <a@example.com>")
    assert textual_modules == "[]"
