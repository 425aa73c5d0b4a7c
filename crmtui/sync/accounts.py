"""Linked accounts: linking, unlinking and the needs-reconnect state, in one place.

:class:`AccountService` keeps the store's account records; Google's side (the OAuth flows, the
token files) is a :class:`~crmtui.sync.remote.GoogleAuthorizer` it is given, which
:mod:`crmtui.sync.google.auth` implements and the unit tests fake in memory. Tokens never go into
the store: they live in ``<data dir>/tokens/`` (:mod:`crmtui.sync.tokens`), so unlinking needs
no Google library.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from crmtui.model import Account, AccountState, new_id
from crmtui.store import Repository
from crmtui.sync.engine import AccountNeeded
from crmtui.sync.remote import Authorization, GoogleAuthorizer, LinkError, SaveAs
from crmtui.sync.tokens import delete_credentials

LINK_HINT = "run `crmtui account link google`"
NOT_LINKED_MESSAGE = ("no Google account is linked: run `crmtui account link google` "
                      "(or link one in the app under Profile → Accounts)")
NO_LINKING_MESSAGE = "linking a Google account is not available here"


def loopback_port(consent_url: str) -> int | None:
    """The port of the loopback address Google's consent page sends the browser back to (the
    ``redirect_uri`` of ``consent_url``), or None when it names none."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(consent_url).query)
    redirect = urllib.parse.urlsplit((query.get("redirect_uri") or [""])[0])
    try:
        port = redirect.port
    except ValueError:
        return None
    return port if redirect.hostname in ("localhost", "127.0.0.1", "::1") and port else None


def port_forward_command(consent_url: str, host: str = "HOST") -> str:
    """The ssh command that lets a browser on the user's own computer reach the sign-in's loopback
    port on this machine ("" when ``consent_url`` names no loopback port)."""
    port = loopback_port(consent_url)
    return f"ssh -N -L {port}:127.0.0.1:{port} {host}" if port else ""


def reconnect_message(account: Account) -> str:
    """Why ``account`` cannot sync until it is linked again."""
    return (account.state_message or
            f"the Google account {account.email} needs to be reconnected: "
            "run `crmtui account link google` again")


class AccountService:
    """The user's linked accounts. ``google`` does Google's part of linking (None: linking is not
    available, unlinking and the account's state still are)."""

    def __init__(self, repo: Repository, data_dir: str | os.PathLike[str],
                 google: GoogleAuthorizer | None = None) -> None:
        self.repo = repo
        self.data_dir = Path(data_dir)
        self.google = google

    # -- reading ------------------------------------------------------------------------------

    def google_accounts(self, user_id: str) -> list[Account]:
        return [a for a in self.repo.list_accounts(user_id) if a.provider == "google"]

    def find(self, user_id: str, email: str) -> Account | None:
        """The user's Google account of ``email`` (case-insensitive), if linked."""
        return next((a for a in self.google_accounts(user_id)
                     if a.email.casefold() == email.casefold()), None)

    def ready_account(self, user_id: str) -> Account:
        """The user's linked Google account, ready to sync; else :class:`AccountNeeded` saying
        to link one, or to reconnect it."""
        accounts = self.google_accounts(user_id)
        if not accounts:
            raise AccountNeeded(NOT_LINKED_MESSAGE)
        account = accounts[0]
        if account.state is AccountState.NEEDS_RECONNECT:
            raise AccountNeeded(reconnect_message(account))
        return account

    # -- linking ------------------------------------------------------------------------------

    def link_with_browser(self, user_id: str, show_url: Callable[[str], None],
                          cancelled: threading.Event | None = None) -> Account:
        """Link (or reconnect) a Google account through the browser flow: blocking, so call it
        from a worker thread in the UI. ``show_url`` receives the consent URL; setting
        ``cancelled`` ends the wait (:class:`~crmtui.sync.remote.LinkCancelled`); other
        failures raise :class:`~crmtui.sync.remote.LinkError` saying why."""
        google = self._google()
        return self._link(user_id, lambda save_as: google.authorize_with_browser(
            show_url, cancelled, save_as))

    def link_from_credentials_file(self, user_id: str, path: Path, *, email: str = ""
                                   ) -> Account:
        """Link (or reconnect) the Google account whose authorized-user JSON file is ``path``;
        ``email`` is used when Google cannot tell the account's email."""
        google = self._google()
        return self._link(user_id, lambda save_as: google.authorize_from_file(
            Path(path), save_as, email=email))

    def _google(self) -> GoogleAuthorizer:
        if self.google is None:
            raise LinkError(NO_LINKING_MESSAGE)
        return self.google

    def _link(self, user_id: str, authorize: Callable[[SaveAs], Authorization]) -> Account:
        """Authorize, then save the account: a relink of the same email reconnects it (its
        credentials replace the old ones under the same id)."""
        chosen: list[Account | None] = []

        def save_as(email: str) -> str:
            existing = self.find(user_id, email)
            chosen.append(existing)
            return existing.id if existing is not None else new_id()

        granted = authorize(save_as)
        existing = chosen[-1] if chosen else None
        if existing is not None and existing.id == granted.credentials_id:
            return self.repo.update_account(existing.evolve(
                endpoint=granted.endpoint, state=AccountState.CONNECTED, state_message=""))
        account = Account(user_id=user_id, email=granted.email, endpoint=granted.endpoint,
                          id=granted.credentials_id)
        try:
            return self.repo.add_account(account)
        except BaseException:
            delete_credentials(self.data_dir, account.id)
            raise

    def unlink(self, account_id: str) -> None:
        """Forget an account: its token file, then its record (NotFound when there is none)."""
        self.repo.get_account(account_id)
        delete_credentials(self.data_dir, account_id)
        self.repo.delete_account(account_id)

    # -- state --------------------------------------------------------------------------------

    def mark_needs_reconnect(self, account_id: str, message: str) -> Account:
        """Google refused the account's saved authorization: it syncs no more until it is linked
        again, and ``message`` says so."""
        current = self.repo.get_account(account_id)
        return self.repo.update_account(current.evolve(state=AccountState.NEEDS_RECONNECT,
                                                       state_message=message))
