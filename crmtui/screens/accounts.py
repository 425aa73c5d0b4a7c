"""Profile → Accounts in external resources: the user's linked accounts and their state.

``n`` (New → Google) runs ``services.link_google`` in a thread worker; :class:`LinkGoogleModal`
shows the consent URL to open on one line (``c`` copies it, for a terminal over SSH, with the ssh
command that forwards the sign-in port; ``o`` opens a browser), waits for Google (requests to the
sign-in port that are not Google's answer do not end the wait), and Escape cancels the wait.
``u`` unlinks (after confirmation: the record and its saved tokens go), ``r`` reconnects an
account that needs it (the same flow).
"""

from __future__ import annotations

import threading
import urllib.request
import webbrowser
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalScroll, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from crmtui.model import Account, AccountState
from crmtui.screens.confirm import Confirm
from crmtui.screens.context import Command, Services
from crmtui.screens.first_run import FirstRunSteps
from crmtui.screens.sync_bar import SyncBar
from crmtui.store.repository import NotFound
from crmtui.sync.accounts import AccountService, port_forward_command

NOT_AVAILABLE = ("New → Google is not available here: crmtui was started without a Google OAuth "
                 "client. Link from the command line: crmtui account link google.")


def endpoint_label(account: Account) -> str:
    """"Google", or the endpoint's URL (the emulator's, in the demo)."""
    return account.endpoint or "Google"


def state_text(account: Account) -> Text:
    if account.state is AccountState.CONNECTED:
        return Text("connected", style="green")
    text = Text("needs reconnect", style="bold yellow")
    if account.state_message:
        text.append(f": {account.state_message}", style="yellow")
    return text


class LinkGoogleModal(ModalScreen[None]):
    """The browser flow while it waits: the URL to open, copy and open keys, Escape to cancel.

    The accounts screen calls :meth:`show_url` when the flow made its URL, :meth:`failed` when it
    failed (the modal stays, with the reason, until Escape); it dismisses the modal on success.
    """

    DEFAULT_CSS = """
    LinkGoogleModal { align: center middle; background: $background 60%; }
    /* Full width, no side borders: the address's row holds the address alone (no box
       characters to copy with it); it scrolls sideways, never wraps. */
    LinkGoogleModal > Vertical {
        width: 100%; height: auto; max-height: 100%; padding: 0 1;
        border-top: tall $accent; border-bottom: tall $accent; background: $panel;
        overflow-y: auto;
    }
    LinkGoogleModal #link-title { text-style: bold; }
    LinkGoogleModal #link-url-box {
        margin: 1 0 0 0; height: auto; background: $boost; scrollbar-size-horizontal: 1;
    }
    LinkGoogleModal #link-url { color: $text; width: auto; height: 1; text-wrap: nowrap; }
    LinkGoogleModal #link-forward { color: $text-muted; margin: 1 0; }
    LinkGoogleModal #link-wait { color: $text-muted; }
    LinkGoogleModal .error { color: $error; width: 1fr; height: auto; }
    LinkGoogleModal Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    LinkGoogleModal Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_url", "Copy the address", id="accounts.link.copy"),
        Binding("o", "open_browser", "Open in browser", id="accounts.link.open"),
        Binding("escape", "cancel", "Cancel", id="accounts.link.cancel"),
    ]

    def __init__(self, cancelled: threading.Event, title: str) -> None:
        super().__init__()
        self.cancelled = cancelled
        self.title_text = title
        self.url = ""
        self.error = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="link-title")
            yield Static("Open this address in a browser to link your Google account:",
                         id="link-prompt")
            with HorizontalScroll(id="link-url-box"):  # one line, nothing else on it
                yield Static("(preparing the address…)", id="link-url", markup=False)
            yield Static("", id="link-forward", markup=False)
            yield Static("Waiting for Google…", id="link-wait")
            yield Static("", id="link-error", classes="error", markup=False)
            with Horizontal():
                yield Button("Copy (c)", id="link-copy")
                yield Button("Open in browser (o)", id="link-open")
                yield Button("Cancel (Esc)", id="link-cancel", variant="warning")
        yield Footer()  # the modal's keys, not the screen's underneath

    def show_url(self, url: str) -> None:
        self.url = url
        self.query_one("#link-url", Static).update(url)
        forward = port_forward_command(url)
        self.query_one("#link-forward", Static).update(
            "Over SSH? Forward the sign-in port from your own computer first (HOST: this "
            f"machine), then open the address in a browser there:\n{forward}" if forward else "")

    def show_demo(self) -> None:
        """The demo: the built-in emulator plays the browser, its consent page answers at once."""
        self.query_one("#link-wait", Static).update(
            "Demo: the built-in Google emulator gives its consent at once (no browser needed)…")

    def failed(self, reason: str) -> None:
        self.error = reason
        self.query_one("#link-wait", Static).update("")
        if not self.url:  # there is no address to open: only the reason stays
            for selector in ("#link-prompt", "#link-url-box", "#link-forward"):
                self.query_one(selector).display = False
            self.query_one("#link-copy", Button).display = False
            self.query_one("#link-open", Button).display = False
        self.query_one("#link-error", Static).update(f"Linking failed: {reason}")
        self.query_one("#link-cancel", Button).label = "Close (Esc)"

    def action_copy_url(self) -> None:
        if not self.url:
            self.notify("The address is not ready yet.", severity="warning")
            return
        self.app.copy_to_clipboard(self.url)
        self.notify("Address copied to the clipboard.")

    def action_open_browser(self) -> None:
        if not self.url:
            self.notify("The address is not ready yet.", severity="warning")
            return
        url = self.url
        threading.Thread(target=webbrowser.open, args=(url,), name="crmtui-open-browser",
                         daemon=True).start()
        self.notify("Opening the address in a browser…")

    def action_cancel(self) -> None:
        self.cancelled.set()
        self.dismiss(None)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        actions = {"link-copy": self.action_copy_url, "link-open": self.action_open_browser,
                   "link-cancel": self.action_cancel}
        action = actions.get(event.button.id or "")
        if action is not None:
            action()


class AccountsScreen(Screen[None]):
    """Profile → Accounts in external resources."""

    DEFAULT_CSS = """
    AccountsScreen #accounts-body { height: 1fr; padding: 0 1; }
    AccountsScreen #accounts-heading { text-style: bold; margin: 1 0 0 0; }
    AccountsScreen #accounts-hint { color: $text-muted; margin-bottom: 1; }
    AccountsScreen #accounts-table { height: auto; max-height: 1fr; }
    AccountsScreen #accounts-note { color: $text-muted; margin-top: 1; }
    AccountsScreen #accounts-status { margin-top: 1; height: auto; }
    AccountsScreen #accounts-status.error { color: $error; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_account", "New → Google", id="accounts.new"),
        Binding("u", "unlink_account", "Unlink", id="accounts.unlink"),
        Binding("r", "reconnect_account", "Reconnect", id="accounts.reconnect"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.accounts: list[Account] = []
        self.linking: threading.Event | None = None
        self.modal: LinkGoogleModal | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="accounts-body"):
            yield Static("Profile → Accounts in external resources", id="accounts-heading")
            yield Static("n: link a Google account · u: unlink · r: reconnect an account that "
                         "needs it", id="accounts-hint")
            yield FirstRunSteps(self.services, compact=True)
            yield DataTable(id="accounts-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="accounts-note")
            yield Label("", id="accounts-status")
        yield SyncBar(self.services)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Provider", "Email", "Endpoint", "State")
        self.refresh_data()
        table.focus()

    # -- data -------------------------------------------------------------------------------

    def commands(self) -> list[Command]:
        return [
            Command("account", "new google account", "new_account",
                    "Link a Google account (opens Google's consent page in a browser)",
                    menu="New → Google"),
            Command("account", "unlink", "unlink_account",
                    "Forget the selected account and its saved authorization", menu="Unlink"),
            Command("account", "reconnect", "reconnect_account",
                    "Link the selected account again when Google refused its authorization",
                    menu="Reconnect"),
        ]

    def refresh_data(self) -> None:
        table = self.query_one(DataTable)
        current = self.selected()
        self.accounts = sorted(self.services.repo.list_accounts(self.services.user_id),
                               key=lambda a: (a.created, a.email))
        table.clear()
        for account in self.accounts:
            table.add_row("Google", account.email, endpoint_label(account),
                          state_text(account), key=account.id)
        note = self.query_one("#accounts-note", Static)
        stale = [a for a in self.accounts if a.state is AccountState.NEEDS_RECONNECT]
        if not self.accounts:
            note.update("No linked account. Press n to link a Google account.")
        elif stale:
            note.update(f"{stale[0].email} needs reconnecting: Google refused its saved "
                        "authorization. Press r to link it again.")
        note.display = not self.accounts or bool(stale)
        if current is not None:
            index = next((i for i, a in enumerate(self.accounts) if a.id == current.id), None)
            if index is not None:
                table.move_cursor(row=index)

    def selected(self) -> Account | None:
        table = self.query_one(DataTable)
        if not self.accounts or table.cursor_row < 0 or table.cursor_row >= len(self.accounts):
            return None
        return self.accounts[table.cursor_row]

    def say(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#accounts-status", Label)
        status.update(message)
        status.set_class(error, "error")

    # -- actions ----------------------------------------------------------------------------

    def action_new_account(self) -> None:
        self.start_link("Link a Google account")

    def action_reconnect_account(self) -> None:
        account = self.selected()
        if account is None:
            self.say("No account to reconnect. Press n to link a Google account.", error=True)
            return
        if account.state is AccountState.CONNECTED:
            self.say(f"{account.email} is connected: nothing to reconnect.")
            return
        self.start_link(f"Reconnect {account.email} (sign in as {account.email})")

    def start_link(self, title: str) -> None:
        if self.services.link_google is None:
            self.say(NOT_AVAILABLE, error=True)
            return
        if self.linking is not None:
            self.say("Linking is already in progress.", error=True)
            return
        cancelled = threading.Event()
        self.linking = cancelled
        self.modal = LinkGoogleModal(cancelled, title)
        self.app.push_screen(self.modal)
        self.say("Waiting for Google…")
        self.run_link(cancelled)

    class LinkUrl(Message):
        """The flow made its consent URL (from the link worker)."""

        def __init__(self, url: str) -> None:
            super().__init__()
            self.url = url

    class LinkEnded(Message):
        """The flow ended (from the link worker): the account, or why not."""

        def __init__(self, cancelled: threading.Event, account: Account | None,
                     reason: str = "") -> None:
            super().__init__()
            self.cancelled = cancelled
            self.account = account
            self.reason = reason

    @work(thread=True, group="accounts-link", exit_on_error=False)
    def run_link(self, cancelled: threading.Event) -> None:
        """Run the blocking flow; the UI hears of it through messages only."""
        link = self.services.link_google
        assert link is not None
        try:
            def show_url(url: str) -> None:
                self.post_message(self.LinkUrl(url))

            account = link(self.services.user_id, show_url, cancelled)
        except Exception as exc:  # shown to the user: the reason why not
            self.post_message(self.LinkEnded(cancelled, None,
                                             str(exc) or exc.__class__.__name__))
        else:
            self.post_message(self.LinkEnded(cancelled, account))

    @on(LinkUrl)
    def _show_url(self, message: LinkUrl) -> None:
        if self.modal is not None and self.modal.is_attached:
            self.modal.show_url(message.url)
            endpoint = self.services.google_endpoint
            if self.services.demo and endpoint and message.url.startswith(endpoint + "/"):
                self.modal.show_demo()
                self.demo_consent(message.url)

    @work(thread=True, group="accounts-link-demo", exit_on_error=False)
    def demo_consent(self, url: str) -> None:
        """The demo has no browser to wait for: load the emulator's consent page, which sends
        its answer straight to the sign-in's loopback port (as a browser would)."""
        try:
            with urllib.request.urlopen(url, timeout=30) as page:  # noqa: S310 (the emulator)
                page.read()
        except OSError as exc:  # the flow waits as usual: the address is still shown
            self.app.call_from_thread(self._demo_failed, str(exc))

    def _demo_failed(self, reason: str) -> None:
        if self.modal is not None and self.modal.is_attached:
            self.modal.query_one("#link-wait", Static).update(
                f"The emulator's consent page did not answer ({reason}): open the address in a "
                "browser, or press Esc.")

    @on(LinkEnded)
    def _link_ended(self, message: LinkEnded) -> None:
        if message.account is not None:
            self._linked(message.account)
        else:
            self._link_failed(message.cancelled, message.reason)

    def _done(self) -> LinkGoogleModal | None:
        self.linking = None
        modal, self.modal = self.modal, None
        return modal if modal is not None and modal.is_attached else None

    def _linked(self, account: Account) -> None:
        modal = self._done()
        if modal is not None:
            modal.dismiss(None)
        self.refresh_data()
        index = next((i for i, a in enumerate(self.accounts) if a.id == account.id), None)
        if index is not None:
            self.query_one(DataTable).move_cursor(row=index)
        self.say(f"Linked {account.email}.")
        self.notify(f"Google account {account.email} linked.", title="Accounts")

    def _link_failed(self, cancelled: threading.Event, reason: str) -> None:
        modal = self._done()
        if cancelled.is_set():
            self.say("Linking cancelled: nothing was linked.")
            self.notify("Linking cancelled.", title="Accounts")
            return
        self.say(f"Linking failed: {reason}", error=True)
        if modal is not None:
            modal.failed(reason)

    def action_unlink_account(self) -> None:
        account = self.selected()
        if account is None:
            self.say("No account to unlink.", error=True)
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                AccountService(self.services.repo, self.services.data_dir).unlink(account.id)
            except NotFound:
                self.say(f"{account.email} was already unlinked.")
            except OSError as exc:
                self.say(f"Cannot remove the saved authorization of {account.email}: "
                         f"{exc.strerror or exc}", error=True)
                return
            else:
                self.say(f"Unlinked {account.email}.")
                self.notify(f"Google account {account.email} unlinked.", title="Accounts")
            self.refresh_data()

        self.app.push_screen(
            Confirm(f"Unlink {account.email}?",
                    "crmtui forgets this account and its saved authorization; nothing is "
                    "deleted in Google. Synchronization stops until an account is linked again.",
                    yes="Unlink"),
            answered)
