"""The last resort: whatever goes wrong, in a command, around it (parsing, opening and closing
the store) or in the TUI, the user sees one ``Error:`` line and exit status 1, never a Python
traceback; the traceback is in the log."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import pytest

import crmtui.app
from crmtui.app import CrmApp
from crmtui.cli import session as cli_session
from crmtui.cli import tui_services
from crmtui.log import LOG_FILE
from crmtui.store import open_store

from .conftest import Crm

REPO_ROOT = Path(__file__).resolve().parents[2]


def _boom(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("boom")


def _assert_last_resort(crm: Crm, err: str) -> None:
    assert err == (f"Error: unexpected error (RuntimeError: boom); the details are in "
                   f"{crm.data_dir / LOG_FILE}\n")
    log = (crm.data_dir / LOG_FILE).read_text()
    assert "Traceback (most recent call last)" in log and "RuntimeError: boom" in log


def test_an_error_while_the_command_line_is_parsed(crm: Crm, ann: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(click.Path, "convert", _boom)  # --data-dir's type, before any command
    _assert_last_resort(crm, crm.fails("users", "list"))


def test_an_error_while_the_store_is_opened(crm: Crm, ann: dict[str, Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_session, "open_store", _boom)
    _assert_last_resort(crm, crm.fails("contacts", "list"))


def test_an_error_while_the_store_is_closed(crm: Crm, ann: dict[str, Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_session.Session, "close", _boom)
    result = crm.run("users", "list")
    assert result.exit_code == 1 and "Traceback" not in result.output
    _assert_last_resort(crm, result.stderr)


def test_a_data_directory_without_a_log_gives_one_line(tmp_path: Path) -> None:
    # Without a log file the error records went to Python's last-resort handler: a second line.
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "crmtui", "--data-dir", str(blocker / "crm"), "users", "list"],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
        timeout=60, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"Error: cannot create the data directory {blocker / 'crm'}: "
                             "Not a directory\n")


# -- the TUI ---------------------------------------------------------------------------------------

def test_an_error_escaping_the_tui_is_one_line_and_the_log(
        crm: Crm, ann: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`crmtui` runs the real app (headless); its first section fails to build."""
    run = CrmApp.run
    monkeypatch.setattr(CrmApp, "run", lambda app: run(app, headless=True))
    monkeypatch.setattr(CrmApp, "make_section", _boom)
    result = crm.run()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    _assert_last_resort(crm, result.stderr)


def test_a_pilot_driven_app_whose_handler_raises(
        crm: Crm, ann: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(CrmApp, "action_show_keys", _boom)
    repo = open_store(crm.data_dir)
    app = CrmApp(tui_services(repo, crm.data_dir, ann["id"]), auto_sync=False, store_poll=0)

    async def main() -> None:
        async with app.run_test() as pilot:
            await pilot.press("question_mark")
            await pilot.pause()

    try:
        with pytest.raises(RuntimeError, match="boom"):  # Pilot raises it again for tests
            asyncio.run(main())
    finally:
        repo.close()
    assert app.return_code == 1 and isinstance(app.crash, RuntimeError)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "boom" not in captured.out + captured.err


def test_run_app_raises_what_ended_the_app(crm: Crm, ann: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run = CrmApp.run
    monkeypatch.setattr(CrmApp, "run", lambda app: run(app, headless=True))
    monkeypatch.setattr(CrmApp, "on_mount", _boom)
    repo = open_store(crm.data_dir)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            crmtui.app.run_app(tui_services(repo, crm.data_dir, ann["id"]))
    finally:
        repo.close()
