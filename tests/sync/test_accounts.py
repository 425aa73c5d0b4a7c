"""Google accounts against the emulator: linking (credentials file and browser flow) through the
account service and the Google adapter, token storage, refresh that is saved at once, and a
refused refresh (the adapter raises, the sync marks the account)."""

from __future__ import annotations

import json
import os
import stat
import threading
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.model import Account, AccountState, SyncKind, User
from crmtui.store import NotFound, TinyDBRepository
from crmtui.sync.accounts import AccountService
from crmtui.sync.google import auth
from crmtui.sync.google.factory import contacts_remote_factory
from crmtui.sync.remote import AuthError
from crmtui.sync.service import SyncService


@pytest.fixture(autouse=True)
def _no_oauthlib_relaxations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linking sets oauthlib's loopback relaxations itself, only for the flow."""
    for name in ("OAUTHLIB_INSECURE_TRANSPORT", "OAUTHLIB_RELAX_TOKEN_SCOPE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def credentials_file(tmp_path: Path, emu: Emulator, email: str = "ann@example.com",
                     **changes: Any) -> tuple[Path, dict[str, Any]]:
    """An authorized-user file for ``email``'s emulator account, and the control API's answer."""
    info = EmulatorControl(emu).create_account(email)
    record = {**authorized_user(info), **changes}
    record.pop("scopes")
    path = tmp_path / f"{email}.json"
    path.write_text(json.dumps({k: v for k, v in record.items() if v is not None}))
    return path, info


def link_file(repo: TinyDBRepository, data_dir: Path, user_id: str, path: Path,
              endpoint: str | None = None, *, email: str = "") -> Account:
    """Link from an authorized-user file, as ``crmtui account link google --credentials``."""
    google = auth.GoogleAuth(data_dir, endpoint=endpoint)
    return AccountService(repo, data_dir, google).link_from_credentials_file(user_id, path,
                                                                             email=email)


def link_browser(repo: TinyDBRepository, data_dir: Path, user_id: str, *,
                 client_secrets: dict[str, Any], endpoint: str, open_browser: bool,
                 print_url: Any, timeout: float, browser: str | None = None,
                 cancel: threading.Event | None = None) -> Account:
    """Link through the browser flow, as ``crmtui account link google`` and the app do."""
    google = auth.GoogleAuth(data_dir, endpoint=endpoint, client_secrets=client_secrets,
                             open_browser=open_browser, timeout=timeout, browser=browser)
    return AccountService(repo, data_dir, google).link_with_browser(user_id, print_url, cancel)


def sync_contacts(repo: TinyDBRepository, data_dir: Path, user: User) -> None:
    """A contact sync wired as the command line wires it (it fails here: the account's
    authorization is refused before anything else)."""
    outcome = SyncService(repo, data_dir, contacts_remote_factory(data_dir)).run(
        user.id, SyncKind.CONTACTS)
    assert outcome.status == "failed"


def saved(data_dir: Path, account_id: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(auth.token_file(data_dir, account_id).read_text())
    return record


def me(creds: Credentials, emu: Emulator) -> str:
    """The account's email, through the People API (a call that may refresh the token)."""
    found = auth.build_people_service(creds, emu.base_url).people().get(
        resourceName="people/me", personFields="emailAddresses").execute()
    return str(found["emailAddresses"][0]["value"])


def test_link_from_credentials_file_finds_the_email_through_people_me(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path,
        tmp_path: Path) -> None:
    path, info = credentials_file(tmp_path, emulator, "ann.work@example.com")
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    assert account.email == "ann.work@example.com"
    assert account.endpoint == emulator.base_url
    assert repo.list_accounts(ann.id) == [account]
    record = saved(data_dir, account.id)
    assert record["refresh_token"] == info["refresh_token"]
    assert record["token_uri"] == emulator.token_uri
    assert sorted(record) == ["client_id", "client_secret", "expiry", "refresh_token", "scopes",
                              "token", "token_uri"]


def test_token_file_is_0600_in_a_0700_directory(repo: TinyDBRepository, ann: User,
                                                emulator: Emulator, data_dir: Path,
                                                tmp_path: Path) -> None:
    path, _ = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    token = auth.token_file(data_dir, account.id)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert [p.name for p in token.parent.iterdir()] == [token.name]  # no temporary file left


def test_endpoint_comes_from_the_environment(repo: TinyDBRepository, ann: User,
                                             emulator: Emulator, data_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.ENV_ENDPOINT, emulator.base_url + "/")
    path, _ = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path)
    assert account.endpoint == emulator.base_url


def test_email_is_the_fallback_when_google_cannot_be_asked(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path,
        tmp_path: Path) -> None:
    path, _ = credentials_file(tmp_path, emulator)
    EmulatorControl(emulator).fault("^/v1/people/me$", status=503)
    with pytest.raises(auth.LinkError, match="give it with --email"):
        link_file(repo, data_dir, ann.id, path, emulator.base_url)
    EmulatorControl(emulator).fault("^/v1/people/me$", status=503)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url,
                        email="ann@example.com")
    assert account.email == "ann@example.com"


def test_credentials_file_missing_a_key_names_it_and_no_secret(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path,
        tmp_path: Path) -> None:
    path, info = credentials_file(tmp_path, emulator, client_secret=None)
    with pytest.raises(auth.LinkError) as err:
        link_file(repo, data_dir, ann.id, path, emulator.base_url)
    assert "'client_secret'" in str(err.value)
    for secret in (info["access_token"], info["refresh_token"]):
        assert secret not in str(err.value)
    assert repo.list_accounts(ann.id) == []
    assert not (data_dir / auth.TOKENS_DIR).exists() or not any(
        (data_dir / auth.TOKENS_DIR).iterdir())


def test_linking_again_reconnects_the_same_account(repo: TinyDBRepository, ann: User,
                                                   emulator: Emulator, data_dir: Path,
                                                   tmp_path: Path) -> None:
    path, _ = credentials_file(tmp_path, emulator)
    first = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    repo.update_account(first.evolve(state=AccountState.NEEDS_RECONNECT, state_message="x"))
    again = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    assert again.id == first.id and again.state == AccountState.CONNECTED
    assert again.state_message == "" and len(repo.list_accounts(ann.id)) == 1


def test_load_credentials_keeps_token_uri_and_expiry(repo: TinyDBRepository, ann: User,
                                                     emulator: Emulator, data_dir: Path,
                                                     tmp_path: Path) -> None:
    expiry = datetime(2030, 1, 2, 3, 4, 5)
    path, _ = credentials_file(tmp_path, emulator, expiry=expiry.isoformat() + "Z")
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    creds = auth.load_credentials(data_dir, account)
    assert creds.token_uri == emulator.token_uri
    assert creds.expiry == expiry
    assert tuple(creds.scopes) == auth.SCOPES


def test_unlink_deletes_the_account_and_its_tokens(repo: TinyDBRepository, ann: User,
                                                   emulator: Emulator, data_dir: Path,
                                                   tmp_path: Path) -> None:
    path, _ = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    AccountService(repo, data_dir).unlink(account.id)
    assert not auth.token_file(data_dir, account.id).exists()
    with pytest.raises(NotFound):
        repo.get_account(account.id)


# --------------------------------------------------------------------------- refresh


def test_token_refreshed_during_api_calls_is_saved(repo: TinyDBRepository, ann: User,
                                                   emulator: Emulator, data_dir: Path,
                                                   tmp_path: Path) -> None:
    path, info = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    creds = auth.credentials_for_sync(data_dir, account)
    EmulatorControl(emulator).advance_clock(4000)  # the access token expires
    assert me(creds, emulator) == "ann@example.com"
    record = saved(data_dir, account.id)
    assert record["token"] == creds.token != info["access_token"]
    assert record["refresh_token"] == info["refresh_token"]
    assert auth.load_credentials(data_dir, account).token == creds.token


def test_expired_token_is_refreshed_before_the_sync_and_saved(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path,
        tmp_path: Path) -> None:
    path, _ = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    stale = auth.load_credentials(data_dir, account)
    stale.expiry = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    auth.save_credentials(data_dir, account.id, stale)
    before = EmulatorControl(emulator).requests()["requests"]
    creds = auth.credentials_for_sync(data_dir, account)
    after = EmulatorControl(emulator).requests()["requests"][len(before):]
    assert [(r["path"], r["status"]) for r in after] == [("/token", 200)]
    assert creds.valid and creds.token != stale.token
    assert saved(data_dir, account.id)["token"] == creds.token


def test_revoked_authorization_marks_the_account_and_raises_auth_error(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path,
        tmp_path: Path) -> None:
    path, info = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    creds = auth.credentials_for_sync(data_dir, account)
    EmulatorControl(emulator).revoke_tokens("ann@example.com")
    EmulatorControl(emulator).expire_tokens("ann@example.com")
    with pytest.raises(AuthError) as err:
        me(creds, emulator)
    message = str(err.value)
    assert message == auth.REFUSED_MESSAGE
    assert "crmtui account link google" in message
    assert repo.get_account(account.id).state == AccountState.CONNECTED  # the adapter wrote none
    stale = auth.load_credentials(data_dir, account)  # the sync refreshes at once, and is refused
    stale.expiry = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    auth.save_credentials(data_dir, account.id, stale)
    sync_contacts(repo, data_dir, ann)
    stored = repo.get_account(account.id)
    assert stored.state == AccountState.NEEDS_RECONNECT
    assert stored.state_message == message
    for secret in (info["access_token"], info["refresh_token"], info["client_secret"]):
        assert secret not in message


def test_missing_token_file_marks_the_account(repo: TinyDBRepository, ann: User,
                                              emulator: Emulator, data_dir: Path,
                                              tmp_path: Path) -> None:
    path, _ = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    auth.delete_credentials(data_dir, account.id)
    with pytest.raises(AuthError, match="no saved authorization"):
        auth.credentials_for_sync(data_dir, account)
    sync_contacts(repo, data_dir, ann)
    assert repo.get_account(account.id).state == AccountState.NEEDS_RECONNECT


# --------------------------------------------------------------------------- the browser flow


def client_secrets(emu: Emulator, email: str = "ann@example.com") -> dict[str, Any]:
    """The OAuth client of ``email``'s emulator account, its URIs still Google's."""
    info = EmulatorControl(emu).create_account(email)
    return {"installed": {"client_id": info["client_id"], "client_secret": info["client_secret"],
                          "auth_uri": auth.GOOGLE_AUTH_URI, "token_uri": auth.GOOGLE_TOKEN_URI,
                          "redirect_uris": ["http://localhost"]}}


def consent(url: str, errors: list[BaseException]) -> None:
    """Play the user in a browser: load the consent page (the emulator consents at once) and
    follow its redirect to the app's loopback callback, from a thread."""
    def visit() -> None:
        try:
            with urllib.request.urlopen(url, timeout=10) as page:
                page.read()
        except Exception as exc:  # the test sees it in ``errors``
            errors.append(exc)

    threading.Thread(target=visit, daemon=True).start()


class ConsentBrowser(webbrowser.BaseBrowser):
    """A registered browser whose user consents."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.opened: list[str] = []
        self.errors: list[BaseException] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        consent(url, self.errors)
        return True


def test_browser_flow_links_the_account(repo: TinyDBRepository, ann: User, emulator: Emulator,
                                        data_dir: Path) -> None:
    browser = ConsentBrowser(f"crmtui-test-{id(object())}")
    webbrowser.register(browser.name, None, browser)
    shown: list[str] = []
    account = link_browser(repo, data_dir, ann.id,
                           client_secrets=client_secrets(emulator),
                           endpoint=emulator.base_url, open_browser=True,
                           print_url=shown.append, timeout=10, browser=browser.name)
    assert not browser.errors
    assert browser.opened == shown and shown[0].startswith(emulator.base_url + "/o/oauth2/auth?")
    for part in ("code_challenge_method=S256", "access_type=offline"):
        assert part in shown[0]
    assert account.email == "ann@example.com" and account.endpoint == emulator.base_url
    record = saved(data_dir, account.id)
    assert record["token_uri"] == emulator.token_uri
    assert tuple(record["scopes"]) == auth.SCOPES
    assert me(auth.credentials_for_sync(data_dir, account), emulator) == "ann@example.com"
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # only for the flow's duration


def test_browser_flow_without_a_browser_prints_the_url(repo: TinyDBRepository, ann: User,
                                                       emulator: Emulator, data_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def no_browser(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no browser may be opened")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    errors: list[BaseException] = []
    account = link_browser(repo, data_dir, ann.id,
                           client_secrets=client_secrets(emulator, "bob@example.com"),
                           endpoint=emulator.base_url, open_browser=False,
                           print_url=lambda url: consent(url, errors), timeout=10)
    assert not errors
    assert account.email == "bob@example.com"
    assert auth.token_file(data_dir, account.id).exists()


def test_browser_flow_times_out_without_consent(repo: TinyDBRepository, ann: User,
                                                emulator: Emulator, data_dir: Path) -> None:
    with pytest.raises(auth.LinkError, match="no answer from the browser"):
        link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                     endpoint=emulator.base_url, open_browser=False,
                     print_url=lambda url: None, timeout=0.2)
    assert repo.list_accounts(ann.id) == []


def test_batch_uri_for_google_and_the_emulator() -> None:
    assert auth.batch_uri("", "people") == "https://people.googleapis.com/batch"
    assert auth.batch_uri("", "calendar") == "https://www.googleapis.com/batch/calendar/v3"
    assert auth.batch_uri("http://127.0.0.1:9/", "people") == "http://127.0.0.1:9/batch"
    assert (auth.batch_uri("http://127.0.0.1:9", "calendar")
            == "http://127.0.0.1:9/batch/calendar/v3")


# --------------------------------------------------------------------------- cancelling the flow


def test_browser_flow_cancelled_while_waiting_links_nothing(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path) -> None:
    cancel = threading.Event()
    shown: list[str] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                         endpoint=emulator.base_url, open_browser=False,
                         print_url=shown.append, timeout=60, cancel=cancel)
        except BaseException as exc:  # the test looks at it
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    deadline = threading.Event()
    for _ in range(200):  # the flow is waiting once the URL is shown
        if shown:
            break
        deadline.wait(0.05)
    assert shown, "the flow never showed its URL"
    cancel.set()
    worker.join(timeout=10)  # well below the 60 s timeout: the wait ended on the cancel
    assert not worker.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], auth.LinkCancelled)
    assert str(failure[0]) == auth.CANCELLED_MESSAGE
    assert repo.list_accounts(ann.id) == []
    assert not (data_dir / auth.TOKENS_DIR).exists()


def test_browser_flow_cancelled_before_it_starts(repo: TinyDBRepository, ann: User,
                                                 emulator: Emulator, data_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(auth.LinkCancelled):
        link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                     endpoint=emulator.base_url, open_browser=False,
                     print_url=lambda url: None, timeout=60, cancel=cancel)
    assert repo.list_accounts(ann.id) == []


def test_unlink_account_needs_no_google_library(repo: TinyDBRepository, ann: User,
                                                emulator: Emulator, data_dir: Path,
                                                tmp_path: Path) -> None:
    from crmtui.sync import tokens
    from crmtui.sync.accounts import AccountService as Accounts  # no Google library needed

    path, _ = credentials_file(tmp_path, emulator)
    account = link_file(repo, data_dir, ann.id, path, emulator.base_url)
    assert tokens.token_file(data_dir, account.id) == auth.token_file(data_dir, account.id)
    Accounts(repo, data_dir).unlink(account.id)
    assert not tokens.token_file(data_dir, account.id).exists()
    assert repo.list_accounts(ann.id) == []


# --------------------------------------------------------------------------- no browser, stray requests


def no_browser_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where :mod:`webbrowser` finds no browser (an SSH server): ``get`` raises."""
    monkeypatch.setattr(webbrowser, "_tryorder", [])
    monkeypatch.setattr(webbrowser, "_browsers", {})
    with pytest.raises(webbrowser.Error):
        webbrowser.get()


def loopback(url: str) -> str:
    """The loopback redirect address a consent URL names."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["redirect_uri"]


def ask(url: str) -> tuple[int, str]:
    """GET ``url`` (as a browser would): the status and the body."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def stray_requests_then_consent(url: str, errors: list[BaseException],
                                answers: list[tuple[int, str]]) -> None:
    """Play a browser that asks the loopback port for other things first (a favicon, the bare
    address, an old attempt's redirect), then consents; from a thread."""
    def visit() -> None:
        try:
            base = loopback(url)
            answers.append(ask(base + "favicon.ico"))
            answers.append(ask(base))
            answers.append(ask(base + "?code=4/old&state=another-attempt"))
            with urllib.request.urlopen(url, timeout=10) as page:
                page.read()
        except Exception as exc:  # the test sees it in ``errors``
            errors.append(exc)

    threading.Thread(target=visit, daemon=True).start()


def test_browser_flow_with_no_browser_shows_the_address_and_waits(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    no_browser_at_all(monkeypatch)
    errors: list[BaseException] = []
    shown: list[str] = []

    def show(url: str) -> None:
        shown.append(url)
        consent(url, errors)  # the user opens it in a browser elsewhere

    account = link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                           endpoint=emulator.base_url, open_browser=True, print_url=show,
                           timeout=10)
    assert not errors
    assert account.email == "ann@example.com"
    assert loopback(shown[0]).startswith("http://localhost:")


def test_stray_requests_to_the_loopback_port_do_not_end_the_sign_in(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path) -> None:
    errors: list[BaseException] = []
    answers: list[tuple[int, str]] = []
    account = link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                           endpoint=emulator.base_url, open_browser=False,
                           print_url=lambda url: stray_requests_then_consent(url, errors,
                                                                             answers),
                           timeout=10)
    assert not errors
    assert account.email == "ann@example.com"
    assert [status for status, _ in answers] == [404, 404, 400]
    assert "another sign-in attempt" in answers[2][1]
    assert me(auth.credentials_for_sync(data_dir, account), emulator) == "ann@example.com"


def test_a_redirect_of_another_attempt_is_not_blamed_on_google(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path) -> None:
    answers: list[tuple[int, str]] = []

    def stale_redirect(url: str) -> None:
        def visit() -> None:
            answers.append(ask(loopback(url) + "?code=4/old&state=another-attempt"))

        threading.Thread(target=visit, daemon=True).start()

    with pytest.raises(auth.LinkError) as err:
        link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                     endpoint=emulator.base_url, open_browser=False, print_url=stale_redirect,
                     timeout=1)
    assert answers and answers[0][0] == 400
    message = str(err.value)
    assert "Google" not in message and "mismatching_state" not in message
    assert message.startswith("no answer from the browser within 1 seconds")
    assert "another sign-in attempt" in message
    assert repo.list_accounts(ann.id) == []


def test_a_refusal_at_google_still_says_google_refused(
        repo: TinyDBRepository, ann: User, emulator: Emulator, data_dir: Path) -> None:
    def refuse(url: str) -> None:
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["state"]
        threading.Thread(target=ask, daemon=True, args=(
            loopback(url) + f"?error=access_denied&state={state}",)).start()

    with pytest.raises(auth.LinkError, match="^Google refused the authorization: access_denied"):
        link_browser(repo, data_dir, ann.id, client_secrets=client_secrets(emulator),
                     endpoint=emulator.base_url, open_browser=False, print_url=refuse,
                     timeout=10)
    assert repo.list_accounts(ann.id) == []


# --------------------------------------------------------------------------- the same, by the CLI


def cli_link(data_dir: Path, secrets: Path, endpoint: str, *args: str) -> Any:
    from click.testing import CliRunner

    from crmtui.cli import cli

    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "account", "link", "google",
                                    "--client-secrets", str(secrets), "--endpoint", endpoint,
                                    *args], catch_exceptions=False)


def secrets_file(tmp_path: Path, emu: Emulator) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(client_secrets(emu)))
    return path


def browse_when_shown(monkeypatch: pytest.MonkeyPatch,
                      visit: Any) -> list[str]:
    """The user's browser on another computer: it opens the address the command shows."""
    original = AccountService.link_with_browser
    shown: list[str] = []

    def link(self: AccountService, user_id: str, show_url: Any,
             cancelled: threading.Event | None = None) -> Account:
        def show(url: str) -> None:
            show_url(url)
            shown.append(url)
            visit(url)

        return original(self, user_id, show, cancelled)

    monkeypatch.setattr(AccountService, "link_with_browser", link)
    return shown


def test_cli_link_without_a_browser_prints_the_address_and_the_ssh_forward(
        tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    crm = tmp_path / "crm"
    from click.testing import CliRunner

    from crmtui.cli import cli

    CliRunner().invoke(cli, ["--data-dir", str(crm), "users", "add", "--name", "Ann",
                             "--email", "ann@example.com"], catch_exceptions=False)
    no_browser_at_all(monkeypatch)
    errors: list[BaseException] = []
    shown = browse_when_shown(monkeypatch, lambda url: consent(url, errors))
    result = cli_link(crm, secrets_file(tmp_path, emulator), emulator.base_url)
    assert result.exit_code == 0, result.stderr
    assert not errors
    assert "Linked the Google account ann@example.com" in result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert shown[0] in lines  # the address alone on its line: copied whole
    port = urllib.parse.urlsplit(loopback(shown[0])).port
    assert f"ssh -N -L {port}:127.0.0.1:{port} HOST" in lines
    assert "No browser opens here" in result.stderr


def test_cli_link_ignores_a_favicon_request_before_the_redirect(
        tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    crm = tmp_path / "crm"
    from click.testing import CliRunner

    from crmtui.cli import cli

    CliRunner().invoke(cli, ["--data-dir", str(crm), "users", "add", "--name", "Ann",
                             "--email", "ann@example.com"], catch_exceptions=False)
    errors: list[BaseException] = []
    answers: list[tuple[int, str]] = []
    browse_when_shown(monkeypatch,
                      lambda url: stray_requests_then_consent(url, errors, answers))
    result = cli_link(crm, secrets_file(tmp_path, emulator), emulator.base_url,
                      "--no-browser")
    assert result.exit_code == 0, result.stderr
    assert not errors and [status for status, _ in answers] == [404, 404, 400]
    assert "Linked the Google account ann@example.com" in result.stdout
    assert "refused" not in result.stderr
