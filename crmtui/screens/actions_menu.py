"""A section's actions menu (``a``): its commands by menu path, e.g.
"Synchronize contacts → Synchronize now"; Enter runs one, Escape closes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.screens.context import Command


class ActionsMenu(ModalScreen[Command | None]):
    """Pick one of ``commands`` (those with a menu path); dismisses with it, or None."""

    DEFAULT_CSS = """
    ActionsMenu {
        align: center middle;
        background: $background 60%;
    }
    ActionsMenu > Vertical {
        width: 60;
        max-width: 90%;
        height: auto;
        max-height: 80%;
        padding: 1 2;
        border: round $accent;
        background: $panel;
    }
    ActionsMenu #menu-title { text-style: bold; color: $accent; margin-bottom: 1; }
    ActionsMenu OptionList { height: auto; max-height: 24; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,a", "dismiss(None)", "Close", id="menu.close"),
    ]

    def __init__(self, title: str, commands: list[Command]) -> None:
        super().__init__()
        self.title_text = title
        self.commands = [c for c in commands if c.menu]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="menu-title")
            options = []
            for i, command in enumerate(self.commands):
                label = Text(command.menu)
                if command.help:
                    label.append(f"\n  {command.help}", style="dim")
                options.append(Option(label, id=str(i)))
            yield OptionList(*options, id="menu")
        yield Footer()  # the modal's keys, not the screen's underneath

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        if self.commands:
            menu.highlighted = 0
        menu.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.commands[int(event.option.id or 0)])
