"""The crmtui terminal application.

:class:`CrmApp` receives its services (the repository, the current user) in its constructor;
nothing is global. :func:`run_app` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from crmtui.screens import ContactsScreen, KeysScreen
from crmtui.screens.context import Services


class CrmApp(App[None]):
    """crmtui's Textual application."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "crmtui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "show_keys", "Keys", id="app.keys"),
    ]

    def __init__(self, services: Services) -> None:
        """``services.google_endpoint``: the base URL of the built-in Google emulator the demo
        runs (shown in the header), or "" when the app talks to Google itself."""
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.user = self.repo.get_user(self.user_id)
        self.sub_title = self.user.name + (" (demo)" if services.demo else "")
        if services.google_endpoint:  # short enough for 80 columns: the port must show
            self.sub_title += (" · Google emulator "
                               + services.google_endpoint.removeprefix("http://"))

    def get_default_screen(self) -> Screen[None]:
        return ContactsScreen(self.services)

    def action_show_keys(self) -> None:
        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen.active_bindings))


def run_app(services: Services) -> None:
    """Run the terminal UI as ``services.user_id`` until the user quits."""
    CrmApp(services).run()
