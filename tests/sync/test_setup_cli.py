"""The command line of accounts and sync settings: ``crmtui account ...`` against the emulator,
and ``crmtui sync setup contacts``."""

from __future__ import annotations

import json
import stat
import threading
import urllib.request
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crmtui.cli import cli
from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.store import Repository, open_store
from crmtui.sync.google import auth


class Crm:
    """Runs ``crmtui --data-dir DIR ...`` in process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.outputs: list[str] = []  # everything every command printed

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(cli, ["--data-dir", str(self.data_dir), *args],
                                    catch_exceptions=False)
        self.outputs += [result.stdout, result.stderr]
        return result

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int = 1) -> str:
        result = self.run(*args)
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert result.stdout == "" and "Traceback" not in result.stderr
        return result.stderr


@pytest.fixture
def crm(tmp_path: Path) -> Crm:
    """A data directory whose only user is Ann."""
    crm = Crm(tmp_path / "crm")
    crm.ok("users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    return crm


@contextmanager
def stored(crm: Crm) -> Iterator[Repository]:
    """The data directory's store, opened for the block."""
    repo = open_store(crm.data_dir)
    try:
        yield repo
    finally:
        repo.close()


def emulator_account(emu: Emulator, email: str) -> dict[str, Any]:
    """Credentials of ``email``'s emulator account (control API)."""
    return EmulatorControl(emu, timeout=10).create_account(email)


def credentials_file(tmp_path: Path, info: dict[str, Any]) -> Path:
    path = tmp_path / "authorized-user.json"
    path.write_text(json.dumps(authorized_user(info)))
    return path


def link(crm: Crm, emu: Emulator, tmp_path: Path, email: str = "ann@example.com"
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Link ``email``'s emulator account from a credentials file: (account, its credentials)."""
    info = emulator_account(emu, email)
    account = crm.json("account", "link", "google", "--credentials",
                       str(credentials_file(tmp_path, info)), "--endpoint", emu.base_url)
    return account, info


# --------------------------------------------------------------------------- accounts


def test_link_from_credentials_and_list_never_shows_tokens(crm: Crm, emulator: Emulator,
                                                           tmp_path: Path) -> None:
    account, info = link(crm, emulator, tmp_path, "ann.work@example.com")
    assert account["email"] == "ann.work@example.com"
    listed = crm.json("account", "list")
    assert [(a["email"], a["provider"], a["endpoint"], a["state"]) for a in listed] == [
        ("ann.work@example.com", "google", emulator.base_url, "connected")]
    text = crm.ok("account", "list")
    assert "ann.work@example.com" in text and "connected" in text
    token = auth.token_file(crm.data_dir, account["id"])
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    printed = "\n".join(crm.outputs)
    for secret in (info["access_token"], info["refresh_token"], info["client_secret"]):
        assert secret in token.read_text()
        assert secret not in printed


def test_account_list_shows_a_refused_account_and_why(crm: Crm, emulator: Emulator,
                                                      tmp_path: Path) -> None:
    account, _ = link(crm, emulator, tmp_path)
    with stored(crm) as repo:
        repo.update_account(repo.get_account(account["id"]).evolve(
            state="needs_reconnect", state_message=auth.REFUSED_MESSAGE))
    text = crm.ok("account", "list")
    assert "needs_reconnect" in text and auth.REFUSED_MESSAGE in text


def test_unlink_removes_the_account_and_its_token_file(crm: Crm, emulator: Emulator,
                                                       tmp_path: Path) -> None:
    account, _ = link(crm, emulator, tmp_path)
    token = auth.token_file(crm.data_dir, account["id"])
    assert "--yes" in crm.fails("account", "unlink", "ann@example.com")  # no terminal to ask
    assert token.exists()
    crm.ok("account", "unlink", "ANN@example.com", "--yes")
    assert not token.exists()
    assert crm.json("account", "list") == []
    assert "no account has the id" in crm.fails("account", "unlink", "nobody@example.com",
                                                "--yes")


def test_link_with_a_bad_credentials_file_says_which_key(crm: Crm, tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"refresh_token": "1//very-secret", "client_id": "cid"}))
    message = crm.fails("account", "link", "google", "--credentials", str(path))
    assert "'client_secret'" in message and "very-secret" not in message


def test_link_needs_client_secrets_or_credentials(crm: Crm) -> None:
    assert "--client-secrets" in crm.fails("account", "link", "google", code=2)


def test_link_through_the_browser(crm: Crm, emulator: Emulator, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    info = emulator_account(emulator, "ann@example.com")
    secrets = tmp_path / "client.json"
    secrets.write_text(json.dumps({"installed": {"client_id": info["client_id"],
                                                 "client_secret": info["client_secret"]}}))

    class Consenting(webbrowser.BaseBrowser):
        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read(),
                             daemon=True).start()
            return True

    monkeypatch.setattr(webbrowser, "get", lambda using=None: Consenting("consenting"))
    result = crm.run("account", "link", "google", "--client-secrets", str(secrets),
                     "--endpoint", emulator.base_url)
    assert result.exit_code == 0, result.stderr
    assert emulator.base_url + "/o/oauth2/auth?" in result.stderr  # in case no browser opens
    assert "Linked the Google account ann@example.com" in result.stdout
    assert [a["email"] for a in crm.json("account", "list")] == ["ann@example.com"]


# --------------------------------------------------------------------------- sync setup


def test_setup_with_a_private_tag_saves_the_settings(crm: Crm) -> None:
    crm.ok("tags", "add", "Google")
    saved = crm.json("sync", "setup", "contacts", "--tag", "google", "--every", "30m")
    assert saved["contacts_tag_name"] == "Google"
    assert (saved["contacts_auto"], saved["contacts_period"]) == (True, 30)
    assert saved["contacts_group_name"] == "crmtui"
    with stored(crm) as repo:
        user = repo.list_users()[0]
        settings = repo.get_sync_settings(user.id)
        tag = repo.find_tag("Google", user.id)
    assert tag is not None and settings.contacts_tag_id == tag.id
    assert (settings.contacts_auto, settings.contacts_period) == (True, 30)
    text = crm.ok("sync", "setup", "contacts", "--tag", "Google", "--group", "CRM", "--manual")
    assert "CRM" in text and "manual" in text
    again = crm.json("sync", "setup", "contacts", "--tag", "Google", "--every", "1h")
    assert (again["contacts_group_name"], again["contacts_period"]) == ("CRM", 60)


@pytest.mark.parametrize(("kind", "why"), [("public", "a public tag, visible to everyone"),
                                           ("corporate", "a corporate tag")])
def test_setup_refuses_a_shared_tag_and_says_why(crm: Crm, kind: str, why: str) -> None:
    crm.ok("tags", "add", "VIP", "--kind", kind)
    message = crm.fails("sync", "setup", "contacts", "--tag", "VIP")
    assert f"only a private tag can be a sync tag: 'VIP' is {why}" in message
    with stored(crm) as repo:
        assert repo.get_sync_settings(repo.list_users()[0].id).contacts_tag_id == ""


def test_setup_with_a_missing_tag_says_how_to_create_it(crm: Crm) -> None:
    message = crm.fails("sync", "setup", "contacts", "--tag", "Friends")
    assert "no tag named 'Friends'" in message and "crmtui tags add 'Friends'" in message


@pytest.mark.parametrize("period", ["7m", "2h", "30", "soon", "0m"])
def test_setup_refuses_a_bad_period(crm: Crm, period: str) -> None:
    crm.ok("tags", "add", "Google")
    message = crm.fails("sync", "setup", "contacts", "--tag", "Google", "--every", period,
                        code=2)
    assert "--every" in message and "1m, 5m, 10m, 15m, 30m, 60m" in message


def test_setup_takes_every_or_manual_not_both(crm: Crm) -> None:
    crm.ok("tags", "add", "Google")
    assert "not both" in crm.fails("sync", "setup", "contacts", "--tag", "Google", "--every",
                                   "5m", "--manual", code=2)
