"""The account service on an in-memory Google: linking creates the account and linking again
reconnects it, a refused authorization marks it needs-reconnect and the next run says to
reconnect, unlinking forgets the account and its tokens. No network, no Google library."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from crmtui.model import Account, AccountState, SyncKind, User
from crmtui.store import NotFound, TinyDBRepository
from crmtui.sync.accounts import (
    NOT_LINKED_MESSAGE,
    AccountService,
    loopback_port,
    port_forward_command,
)
from crmtui.sync.engine import SyncSetupError
from crmtui.sync.remote import (
    AuthError,
    Authorization,
    ContactsRemote,
    LinkCancelled,
    LinkError,
    ReconnectNeeded,
    SaveAs,
)
from crmtui.sync.service import SyncService
from crmtui.sync.tokens import token_file

REFUSED = "Google refused the saved authorization (it was revoked or expired)"


class FakeGoogle:
    """A :class:`~crmtui.sync.remote.GoogleAuthorizer` in memory: it grants ``email`` at
    ``endpoint`` (or refuses with ``refuse``), and saves a token file as the adapter does."""

    def __init__(self, data_dir: Path, email: str = "ann@example.com",
                 endpoint: str = "http://127.0.0.1:9") -> None:
        self.data_dir = data_dir
        self.email = email
        self.endpoint = endpoint
        self.refuse: LinkError | None = None
        self.shown: list[str] = []
        self.grants = 0

    def _grant(self, save_as: SaveAs) -> Authorization:
        if self.refuse is not None:
            raise self.refuse
        self.grants += 1
        credentials_id = save_as(self.email)
        path = token_file(self.data_dir, credentials_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"refresh_token": f"refresh-{self.grants}"}))
        return Authorization(credentials_id, self.email, self.endpoint)

    def authorize_with_browser(self, show_url: Callable[[str], None],
                               cancel: threading.Event | None, save_as: SaveAs) -> Authorization:
        show_url(f"{self.endpoint}/o/oauth2/auth?client_id=fake")
        if cancel is not None and cancel.is_set():
            raise LinkCancelled()
        return self._grant(save_as)

    def authorize_from_file(self, path: Path, save_as: SaveAs, *, email: str = ""
                            ) -> Authorization:
        return self._grant(save_as)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def google(data_dir: Path) -> FakeGoogle:
    return FakeGoogle(data_dir)


@pytest.fixture
def accounts(repo: TinyDBRepository, data_dir: Path, google: FakeGoogle) -> AccountService:
    return AccountService(repo, data_dir, google)


def saved_refresh_token(data_dir: Path, account: Account) -> str:
    return str(json.loads(token_file(data_dir, account.id).read_text())["refresh_token"])


def test_linking_creates_the_account_and_its_token_file(
        repo: TinyDBRepository, ann: User, accounts: AccountService, google: FakeGoogle,
        data_dir: Path) -> None:
    account = accounts.link_with_browser(ann.id, google.shown.append)
    assert google.shown == ["http://127.0.0.1:9/o/oauth2/auth?client_id=fake"]
    assert (account.user_id, account.email, account.endpoint) == (
        ann.id, "ann@example.com", "http://127.0.0.1:9")
    assert account.state is AccountState.CONNECTED
    assert repo.list_accounts(ann.id) == [account]
    assert saved_refresh_token(data_dir, account) == "refresh-1"
    assert accounts.ready_account(ann.id) == account


def test_linking_again_updates_the_same_account(
        repo: TinyDBRepository, ann: User, accounts: AccountService, google: FakeGoogle,
        data_dir: Path, tmp_path: Path) -> None:
    first = accounts.link_from_credentials_file(ann.id, tmp_path / "creds.json")
    accounts.mark_needs_reconnect(first.id, REFUSED)
    google.email, google.endpoint = "ANN@example.com", "http://127.0.0.1:10"
    again = accounts.link_with_browser(ann.id, google.shown.append)
    assert again.id == first.id and len(repo.list_accounts(ann.id)) == 1
    assert again.state is AccountState.CONNECTED and again.state_message == ""
    assert again.endpoint == "http://127.0.0.1:10" and again.email == "ann@example.com"
    assert saved_refresh_token(data_dir, again) == "refresh-2"  # the new credentials replace


def test_a_refused_or_cancelled_authorization_links_nothing(
        repo: TinyDBRepository, ann: User, accounts: AccountService, google: FakeGoogle,
        data_dir: Path) -> None:
    google.refuse = LinkError("Google refused the authorization: access_denied")
    with pytest.raises(LinkError, match="access_denied"):
        accounts.link_with_browser(ann.id, google.shown.append)
    google.refuse = None
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(LinkCancelled):
        accounts.link_with_browser(ann.id, google.shown.append, cancelled)
    assert repo.list_accounts(ann.id) == []
    assert not (data_dir / "tokens").exists()


def test_without_google_linking_says_so_and_unlinking_still_works(
        repo: TinyDBRepository, ann: User, accounts: AccountService, data_dir: Path) -> None:
    account = accounts.link_with_browser(ann.id, lambda url: None)
    alone = AccountService(repo, data_dir)
    with pytest.raises(LinkError, match="not available"):
        alone.link_with_browser(ann.id, lambda url: None)
    alone.unlink(account.id)
    assert repo.list_accounts(ann.id) == []


def test_unlink_removes_the_account_and_its_token_file(
        repo: TinyDBRepository, ann: User, accounts: AccountService, data_dir: Path) -> None:
    account = accounts.link_with_browser(ann.id, lambda url: None)
    token = token_file(data_dir, account.id)
    assert token.exists()
    accounts.unlink(account.id)
    assert not token.exists()
    with pytest.raises(NotFound):
        repo.get_account(account.id)
    with pytest.raises(NotFound):
        accounts.unlink(account.id)
    with pytest.raises(SyncSetupError, match="no Google account is linked"):
        accounts.ready_account(ann.id)


def test_a_refused_refresh_marks_the_account_and_the_next_run_says_reconnect(
        repo: TinyDBRepository, ann: User, accounts: AccountService, data_dir: Path) -> None:
    account = accounts.link_with_browser(ann.id, lambda url: None)
    asked: list[Account] = []

    def refusing(who: Account) -> ContactsRemote:
        asked.append(who)
        raise ReconnectNeeded(REFUSED)

    service = SyncService(repo, data_dir, refusing)
    failed = service.run(ann.id, SyncKind.CONTACTS)
    assert failed.status == "failed" and REFUSED in failed.message
    marked = repo.get_account(account.id)
    assert marked.state is AccountState.NEEDS_RECONNECT and marked.state_message == REFUSED
    again = service.run(ann.id, SyncKind.CONTACTS)  # no call to Google: a clear message
    assert again.status == "failed" and again.message == REFUSED
    assert asked == [account]
    with pytest.raises(SyncSetupError, match="revoked or expired"):
        accounts.ready_account(ann.id)
    relinked = accounts.link_with_browser(ann.id, lambda url: None)  # reconnecting
    assert accounts.ready_account(ann.id) == relinked


def test_other_auth_errors_leave_the_account_connected(
        repo: TinyDBRepository, ann: User, accounts: AccountService, data_dir: Path) -> None:
    account = accounts.link_with_browser(ann.id, lambda url: None)

    def forbidden(who: Account) -> ContactsRemote:
        raise AuthError("Google refused the request (HTTP 403: insufficient scopes)")

    failed = SyncService(repo, data_dir, forbidden).run(ann.id, SyncKind.CONTACTS)
    assert failed.status == "failed"
    assert repo.get_account(account.id).state is AccountState.CONNECTED


def test_no_linked_account_says_link_one(ann: User, accounts: AccountService) -> None:
    with pytest.raises(SyncSetupError) as err:
        accounts.ready_account(ann.id)
    assert str(err.value) == NOT_LINKED_MESSAGE
    assert "crmtui account link google" in NOT_LINKED_MESSAGE


def test_the_port_to_forward_is_the_consent_urls_loopback_redirect() -> None:
    url = ("https://accounts.google.com/o/oauth2/auth?response_type=code&client_id=c"
           "&redirect_uri=http%3A%2F%2Flocalhost%3A45678%2F&state=s")
    assert loopback_port(url) == 45678
    assert port_forward_command(url) == "ssh -N -L 45678:127.0.0.1:45678 HOST"
    assert port_forward_command(url, "ann@server") == "ssh -N -L 45678:127.0.0.1:45678 ann@server"
    for other in ("https://accounts.google.com/o/oauth2/auth?client_id=c",
                  "https://x/?redirect_uri=https%3A%2F%2Fexample.com%3A443%2F",
                  "https://x/?redirect_uri=http%3A%2F%2Flocalhost%3Anope%2F",
                  "https://x/?redirect_uri=http%3A%2F%2Flocalhost%2F"):
        assert loopback_port(other) is None and port_forward_command(other) == ""
