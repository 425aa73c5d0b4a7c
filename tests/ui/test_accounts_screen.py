"""Profile → Accounts in external resources: New → Google against the emulator (the test plays
the browser), cancelling the wait, unlinking after confirmation, reconnecting."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Label, Static

from crmtui.app import CrmApp
from crmtui.emulator import Emulator
from crmtui.model import Account, AccountState, User
from crmtui.screens.accounts import NOT_AVAILABLE, AccountsScreen, LinkGoogleModal
from crmtui.screens.confirm import Confirm
from crmtui.screens.context import LinkGoogle, Services
from crmtui.store import TinyDBRepository
from crmtui.sync.accounts import AccountService
from crmtui.sync.google import auth
from crmtui.sync.google.factory import google_linker
from crmtui.sync.tokens import token_file

from .pilot_helpers import SIZE

Check = Callable[[CrmApp, Pilot], Awaitable[None]]


@pytest.fixture(autouse=True)
def _no_oauthlib_relaxations(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OAUTHLIB_INSECURE_TRANSPORT", "OAUTHLIB_RELAX_TOKEN_SCOPE"):
        monkeypatch.delenv(name, raising=False)


def data_dir(repo: TinyDBRepository) -> Path:
    return Path(repo.path).parent


def client_secrets(emu: Emulator, email: str) -> dict[str, Any]:
    info = emu.create_account(email)
    return {"installed": {"client_id": info["client_id"], "client_secret": info["client_secret"],
                          "redirect_uris": ["http://localhost"]}}


def linker(repo: TinyDBRepository, emu: Emulator, email: str = "ann@example.com") -> LinkGoogle:
    google = google_linker(data_dir(repo), client_secrets=client_secrets(emu, email),
                           endpoint=emu.base_url, open_browser=False, timeout=60)
    return AccountService(repo, data_dir(repo), google).link_with_browser


def run(repo: TinyDBRepository, user: User, check: Check, *,
        link_google: LinkGoogle | None = None) -> None:
    async def main() -> None:
        services = Services(repo, user.id, data_dir(repo), link_google=link_google)
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, AccountsScreen), "the accounts")
            await check(app, pilot)
    asyncio.run(main())


async def until(pilot: Pilot, condition: Callable[[], bool], what: str,
                attempts: int = 500) -> None:
    """Let the app run until ``condition`` holds; unlike ``wait_for`` it does not wait for the
    workers (the link worker blocks until the browser answers)."""
    for _ in range(attempts):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


def rows(app: CrmApp) -> list[list[str]]:
    """The accounts table's rows (a modal may be above the accounts screen)."""
    screen = next(s for s in app.screen_stack if isinstance(s, AccountsScreen))
    table = screen.query_one("#accounts-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def status_of(screen: AccountsScreen) -> str:
    return str(screen.query_one("#accounts-status", Label).content)


def text_of(screen: AccountsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def shown_url(modal: LinkGoogleModal) -> str:
    return str(modal.query_one("#link-url", Static).content)


def browse(url: str, errors: list[BaseException]) -> threading.Thread:
    """Play the user's browser: load the consent page, follow the redirect to the loopback."""
    def visit() -> None:
        try:
            with urllib.request.urlopen(url, timeout=10) as page:
                page.read()
        except Exception as exc:  # the test looks at it
            errors.append(exc)

    thread = threading.Thread(target=visit, daemon=True)
    thread.start()
    return thread


def linked(repo: TinyDBRepository, user: User, emu: Emulator, email: str = "ann@example.com",
           tmp: Path | None = None) -> Account:
    """An account linked beforehand (from an authorized-user file)."""
    import json

    from crmtui.emulator.state import authorized_user

    record = authorized_user(emu.create_account(email))
    path = (tmp or data_dir(repo)) / "creds.json"
    path.write_text(json.dumps(record))
    google = google_linker(data_dir(repo), endpoint=emu.base_url)
    account = AccountService(repo, data_dir(repo), google).link_from_credentials_file(user.id,
                                                                                      path)
    path.unlink()
    return account


def test_new_google_links_the_account_through_the_browser(
        repo: TinyDBRepository, ann: User, emulator: Emulator) -> None:
    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert rows(app) == []
        assert screen.query_one("#accounts-note", Static).display
        assert "No linked account" in text_of(screen, "#accounts-note")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                    and shown_url(app.screen).startswith("http"), "the consent URL")
        modal = app.screen
        assert isinstance(modal, LinkGoogleModal)
        url = shown_url(modal)
        assert url.startswith(emulator.base_url + "/o/oauth2/auth?")
        assert "Waiting for Google…" in str(modal.query_one("#link-wait", Static).content)
        assert "Open this address in a browser" in str(
            modal.query_one("#link-prompt", Static).content)
        await pilot.press("c")  # copy, for a terminal over SSH
        assert app.clipboard == url
        errors: list[BaseException] = []
        browse(url, errors)
        await until(pilot, lambda: bool(rows(app)), "the linked account")
        assert not errors
        assert app.screen is screen  # the modal closed
        assert rows(app) == [["Google", "ann@example.com", emulator.base_url, "connected"]]
        [account] = repo.list_accounts(ann.id)
        assert account.email == "ann@example.com" and account.endpoint == emulator.base_url
        assert token_file(data_dir(repo), account.id).exists()
        assert status_of(screen) == "Linked ann@example.com."
        assert not screen.query_one("#accounts-note", Static).display

    run(repo, ann, check, link_google=linker(repo, emulator))


def test_cancel_while_waiting_ends_the_worker_and_links_nothing(
        repo: TinyDBRepository, ann: User, emulator: Emulator) -> None:
    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                    and shown_url(app.screen).startswith("http"), "the consent URL")
        await pilot.press("escape")
        assert app.screen is screen
        await until(pilot, lambda: screen.linking is None, "the link worker to end")
        await app.workers.wait_for_complete()
        assert not [w for w in app.workers if w.group == "accounts-link" and w.is_running]
        assert status_of(screen) == "Linking cancelled: nothing was linked."
        assert rows(app) == [] and repo.list_accounts(ann.id) == []

    run(repo, ann, check, link_google=linker(repo, emulator))


def test_a_failed_link_shows_the_reason_in_the_modal(repo: TinyDBRepository,
                                                     ann: User) -> None:
    def failing(user_id: str, show_url: Callable[[str], None],
                cancelled: threading.Event) -> Account:
        show_url("http://127.0.0.1:9/o/oauth2/auth?client_id=x")
        raise auth.LinkError("Google refused the authorization: access_denied")

    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        await pilot.press("n")
        await until(pilot, lambda: screen.linking is None, "the failure")
        modal = app.screen
        assert isinstance(modal, LinkGoogleModal)
        error = str(modal.query_one("#link-error", Static).content)
        assert error == "Linking failed: Google refused the authorization: access_denied"
        await pilot.press("escape")
        assert app.screen is screen
        assert "access_denied" in status_of(screen)

    run(repo, ann, check, link_google=failing)


def test_new_says_why_when_linking_is_not_available(repo: TinyDBRepository, ann: User) -> None:
    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen
        assert status_of(screen) == NOT_AVAILABLE
        assert screen.query_one("#accounts-status", Label).has_class("error")

    run(repo, ann, check, link_google=None)


def test_unlink_asks_then_forgets_the_account_and_its_tokens(
        repo: TinyDBRepository, ann: User, emulator: Emulator, tmp_path: Path) -> None:
    account = linked(repo, ann, emulator, tmp=tmp_path)
    tokens = token_file(data_dir(repo), account.id)
    assert tokens.exists()

    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert rows(app)[0][1] == "ann@example.com"
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the confirmation")
        await pilot.press("n")  # no: nothing changes
        await until(pilot, lambda: app.screen is screen, "the screen")
        assert tokens.exists() and len(repo.list_accounts(ann.id)) == 1
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the confirmation")
        assert "Unlink ann@example.com?" in str(
            app.screen.query_one("#confirm-question", Static).content)
        await pilot.press("y")
        await until(pilot, lambda: rows(app) == [], "the account to go")
        assert not tokens.exists()
        assert repo.list_accounts(ann.id) == []
        assert status_of(screen) == "Unlinked ann@example.com."

    run(repo, ann, check)


def test_reconnect_is_offered_for_an_account_that_needs_it_and_relinks_it(
        repo: TinyDBRepository, ann: User, emulator: Emulator, tmp_path: Path) -> None:
    account = linked(repo, ann, emulator, tmp=tmp_path)
    repo.update_account(account.evolve(state=AccountState.NEEDS_RECONNECT,
                                       state_message="Google refused the saved authorization"))

    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert rows(app)[0][3] == "needs reconnect: Google refused the saved authorization"
        assert "Press r to link it again" in text_of(screen, "#accounts-note")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                    and shown_url(app.screen).startswith("http"), "the consent URL")
        assert "Reconnect ann@example.com" in str(
            app.screen.query_one("#link-title", Static).content)
        errors: list[BaseException] = []
        browse(shown_url(app.screen), errors)
        await until(pilot, lambda: bool(rows(app)) and rows(app)[0][3] == "connected",
                    "the account reconnected")
        assert not errors
        [again] = repo.list_accounts(ann.id)
        assert again.id == account.id and again.state is AccountState.CONNECTED
        await pilot.press("r")  # connected now: nothing to do
        assert status_of(screen) == "ann@example.com is connected: nothing to reconnect."
        assert app.screen is screen

    run(repo, ann, check, link_google=linker(repo, emulator))


def test_commands_are_the_account_menu(repo: TinyDBRepository, ann: User) -> None:
    screen = AccountsScreen(Services(repo, ann.id, data_dir(repo)))
    assert [c.palette_text for c in screen.commands()] == [
        "account: new google account", "account: unlink", "account: reconnect"]
    assert [c.menu for c in screen.commands()] == ["New → Google", "Unlink", "Reconnect"]


def test_the_demo_links_its_google_account_at_once(demo_google: Any) -> None:
    """demo_client_secrets: the demo's "New → Google" works against its emulator."""
    from crmtui.demo import DEMO_EMAIL, demo_client_secrets

    repo, emu = demo_google.repo, demo_google.emulator
    user = repo.get_user(demo_google.user_id)
    secrets = demo_client_secrets(emu)
    assert secrets["installed"]["auth_uri"] == f"{emu.base_url}/o/oauth2/auth"
    link = AccountService(repo, demo_google.directory, google_linker(
        demo_google.directory, client_secrets=secrets, endpoint=emu.base_url,
        open_browser=False, timeout=60)).link_with_browser

    async def main() -> None:
        services = Services(repo, user.id, demo_google.directory, link_google=link, demo=True)
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, AccountsScreen), "the accounts")
            assert [r[1] for r in rows(app)] == [DEMO_EMAIL]
            await pilot.press("u")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: rows(app) == [], "the account to go")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                        and shown_url(app.screen).startswith("http"), "the consent URL")
            errors: list[BaseException] = []
            browse(shown_url(app.screen), errors)
            await until(pilot, lambda: bool(rows(app)), "the linked account")
            assert not errors
            assert rows(app) == [["Google", DEMO_EMAIL, emu.base_url, "connected"]]

    asyncio.run(main())
    [account] = repo.list_accounts(user.id)
    assert token_file(demo_google.directory, account.id).exists()


def test_open_in_browser_opens_the_address(repo: TinyDBRepository, ann: User,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    release = threading.Event()

    def waiting(user_id: str, show_url: Callable[[str], None],
                cancelled: threading.Event) -> Account:
        show_url("http://127.0.0.1:9/o/oauth2/auth?client_id=x")
        cancelled.wait(10)
        release.set()
        raise auth.LinkCancelled()

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                    and shown_url(app.screen).startswith("http"), "the consent URL")
        await pilot.press("o")
        await until(pilot, lambda: bool(opened), "the browser")
        assert opened == ["http://127.0.0.1:9/o/oauth2/auth?client_id=x"]
        await pilot.press("escape")
        await until(pilot, release.is_set, "the worker to see the cancel")

    run(repo, ann, check, link_google=waiting)


def test_refresh_data_shows_an_account_linked_by_another_process(
        repo: TinyDBRepository, ann: User) -> None:
    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen) and rows(app) == []
        repo.add_account(Account(user_id=ann.id, email="ann@example.com",
                                 endpoint="http://google.emulator.test"))
        screen.refresh_data()
        await pilot.pause()
        assert rows(app) == [["Google", "ann@example.com", "http://google.emulator.test",
                              "connected"]]

    run(repo, ann, check)


def ask(url: str) -> int:
    """GET ``url`` as a browser would: the status."""
    import urllib.error

    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_stray_request_to_the_sign_in_port_does_not_end_the_link(
        repo: TinyDBRepository, ann: User, emulator: Emulator) -> None:
    """A browser asks the loopback port for /favicon.ico (and an old attempt's redirect comes)
    before Google's answer: the dialog keeps waiting, then links."""
    import urllib.parse

    async def check(app: CrmApp, pilot: Pilot) -> None:
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                    and shown_url(app.screen).startswith("http"), "the consent URL")
        modal = app.screen
        assert isinstance(modal, LinkGoogleModal)
        url = shown_url(modal)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        port = urllib.parse.urlsplit(query["redirect_uri"]).port
        statuses: list[int] = []

        def stray() -> None:
            statuses.append(ask(f"http://localhost:{port}/favicon.ico"))
            statuses.append(ask(f"http://localhost:{port}/?code=4/old&state=another-attempt"))

        worker = threading.Thread(target=stray, daemon=True)
        worker.start()
        await until(pilot, lambda: len(statuses) == 2, "the stray requests' answers")
        assert statuses == [404, 400]
        assert app.screen is modal and screen.linking is not None  # still waiting
        assert str(modal.query_one("#link-error", Static).content) == ""
        errors: list[BaseException] = []
        browse(url, errors)
        await until(pilot, lambda: bool(rows(app)), "the linked account")
        assert not errors
        assert status_of(screen) == "Linked ann@example.com."

    run(repo, ann, check, link_google=linker(repo, emulator))


def test_the_dialog_shows_the_address_on_one_line_and_the_port_to_forward(
        repo: TinyDBRepository, ann: User) -> None:
    url = ("http://127.0.0.1:9/o/oauth2/auth?response_type=code&client_id=" + "x" * 120
           + "&redirect_uri=http%3A%2F%2Flocalhost%3A45678%2F&scope=" + "s" * 200
           + "&state=abc&code_challenge=" + "c" * 43)
    release = threading.Event()

    def waiting(user_id: str, show_url: Callable[[str], None],
                cancelled: threading.Event) -> Account:
        show_url(url)
        cancelled.wait(10)
        release.set()
        raise auth.LinkCancelled()

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                    and shown_url(app.screen).startswith("http"), "the consent URL")
        modal = app.screen
        assert isinstance(modal, LinkGoogleModal)
        await pilot.pause()
        shown = modal.query_one("#link-url", Static)
        assert shown_url(modal) == url
        assert shown.size.height == 1 and shown.size.width >= len(url)  # never wrapped
        [line] = [strip.text for strip in shown.render_lines(shown.region.reset_offset)]
        assert line.strip() == url[:len(line.strip())] and line.strip().startswith("http://")
        forward = str(modal.query_one("#link-forward", Static).content)
        assert "ssh -N -L 45678:127.0.0.1:45678 HOST" in forward
        await pilot.press("c")
        assert app.clipboard == url
        await pilot.press("escape")
        await until(pilot, release.is_set, "the worker to see the cancel")

    run(repo, ann, check, link_google=waiting)
