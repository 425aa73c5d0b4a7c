"""A first run that shows the way: the three steps to synchronize with Google (link the account,
choose the tag and the periods, synchronize) with the key for each, each ticked once done.

:class:`WelcomeScreen` greets an empty app (nothing stored but the users, no account); the
:class:`FirstRunSteps` panel sits on the Accounts and Sync settings screens until every step
is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from crmtui.model import SyncKind
from crmtui.screens.context import Services
from crmtui.store.repository import StoreError

CHECK_EVERY = 2.0
"""Seconds between the panel's looks at what is done (it follows other screens' changes)."""


@dataclass(frozen=True)
class Step:
    title: str
    keys: str
    detail: str
    done: bool


def setup_steps(services: Services) -> list[Step]:
    """The three steps and whether each is done, for the current user."""
    repo, user_id = services.repo, services.user_id
    linked = any(a.provider == "google" for a in repo.list_accounts(user_id))
    settings = repo.get_sync_settings(user_id)
    chosen = settings.is_set_up(SyncKind.CONTACTS) or settings.is_set_up(SyncKind.ACTIVITIES)
    synced = any(r.status == "ok" for kind in SyncKind
                 for r in repo.list_runs(user_id, kind, limit=3))
    return [
        Step("Link your Google account", "3, then n",
             "Profile → Accounts: n links Google (a browser signs you in)", linked),
        Step("Choose the tag and the periods", "4",
             "Sync settings: the tag whose contacts go to Google, the date activities sync "
             "from, how often", chosen),
        Step("Synchronize", "y", "Synchronize now (key 5 shows the live log)", synced),
    ]


def is_empty(services: Services) -> bool:
    """Nothing stored but the users (and their own contacts), and no account linked."""
    repo = services.repo
    users = repo.list_users()
    own = {u.contact_id for u in users if u.contact_id}
    # Users, accounts and the count come from the front page while a large store still reads:
    # only an app with almost no contacts asks for its activities (at once, being small).
    if repo.list_accounts(services.user_id) or repo.count_contacts() > len(own):
        return False
    return not repo.activity_ids()


def steps_table(steps: list[Step], compact: bool = False) -> Table:
    """The steps, one a line: the mark (✔ when done), the key, what it is (and, unless
    ``compact``, where and how)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)  # the mark
    table.add_column(no_wrap=True, style="bold")  # the key
    table.add_column(overflow="fold")
    for i, step in enumerate(steps, start=1):
        mark = Text("✔", style="green") if step.done else Text(f"{i}.")
        line = Text(step.title, style="dim" if step.done else "bold")
        if not compact:
            line.append(f"  {step.detail}", style="dim")
        table.add_row(mark, Text(f"[{step.keys}]" if not step.done else ""), line)
    return table


class FirstRunSteps(Static):
    """The steps still to do, with their keys; hidden once all are done."""

    DEFAULT_CSS = """
    FirstRunSteps { height: auto; margin: 0 0 1 0; padding: 0 1; border: round $accent; }
    FirstRunSteps.-done { display: none; }
    """

    def __init__(self, services: Services, *, compact: bool = False,
                 id: str | None = "first-run-steps") -> None:
        """``compact``: the titles and keys only (beside a form)."""
        super().__init__("", id=id, markup=False)
        self.services = services
        self.compact = compact
        self.steps: list[Step] = []
        self.border_title = "Getting started: 3 steps" if compact else (
            "Getting started: 3 steps to synchronize with Google")

    def on_mount(self) -> None:
        self.check()
        self.set_interval(CHECK_EVERY, self.check)

    def check(self) -> None:
        try:
            steps = setup_steps(self.services)
        except StoreError:
            return  # the screens say what is wrong with the store
        if steps != self.steps:
            self.steps = steps
            self.update(steps_table(steps, self.compact))
            self.set_class(all(s.done for s in steps), "-done")


class WelcomeScreen(ModalScreen[None]):
    """Greets an empty app: the three steps, a key to go to each; Escape or Enter closes."""

    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; background: $background 60%; }
    WelcomeScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $panel; padding: 1 2;
    }
    WelcomeScreen #welcome-title { text-style: bold; color: $accent; margin-bottom: 1; }
    WelcomeScreen #welcome-hint { color: $text-muted; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss(None)", "Close", id="welcome.close"),
        Binding("3", "go('accounts')", "Link Google", id="welcome.link"),
        Binding("4", "go('settings')", "Sync settings", id="welcome.settings"),
        Binding("y", "go('sync')", "Synchronize", id="welcome.sync"),
        # A modal screen hides the app's keys: these two stay reachable from here.
        Binding("question_mark", "app.show_keys", "Keys", id="welcome.keys"),
        Binding("q", "app.quit", "Quit", id="welcome.quit"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Welcome to crmtui", id="welcome-title")
            yield Static("Your contacts and activities live here, in the terminal. To keep "
                         "them in step with Google Contacts and Google Calendar:")
            yield FirstRunSteps(self.services, id="welcome-steps")
            yield Static("Press the key of a step to go there; Escape starts with an empty "
                         "list (n adds a contact; ctrl+p → data: import a file… brings yours).",
                         id="welcome-hint")

    def action_go(self, step: str) -> None:
        """Close, then open the section of ``step`` (accounts, settings) or synchronize."""
        self.dismiss(None)
        action = "sync_now" if step == "sync" else f"section('{step}')"
        self.app.call_later(self.app.run_action, action)
