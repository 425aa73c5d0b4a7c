"""The keys overlay (``?``): every key the screen underneath answers to, with what it does.

It lists crmtui's own bindings: those with an ``id``, shown dimmed beside each key, the name to use
in the config file's ``[keys]`` table to remap it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class KeysScreen(ModalScreen[None]):
    """A modal list of keys; Escape, ``q`` or ``?`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="keys.close"),
    ]

    def __init__(self, bindings: dict[str, ActiveBinding]) -> None:
        super().__init__()
        self.shown_bindings = bindings
        self.key_rows: list[tuple[str, str]] = []
        """The (key, description) pairs listed."""
        self.binding_ids: dict[tuple[str, str], str] = {}
        """The binding id of each listed row."""

    def compose(self) -> ComposeResult:
        for active in self.shown_bindings.values():
            binding = active.binding
            if binding.id is None or not binding.description:
                continue
            row = (self.app.get_key_display(binding), binding.description)
            if row not in self.key_rows:
                self.key_rows.append(row)
                self.binding_ids[row] = binding.id
        table = Table.grid(padding=(0, 3))
        table.add_column(style="bold", no_wrap=True, justify="right")
        table.add_column()
        table.add_column(style="dim", no_wrap=True)
        for key, description in self.key_rows:
            table.add_row(key, description, self.binding_ids[(key, description)])
        with VerticalScroll(id="keys"):
            yield Static("Keys", id="keys-title")
            yield Static(table)
            yield Static("Escape closes this list. The dim names remap keys in config.toml's "
                         '[keys] table, e.g. "contacts.new" = "insert".', id="keys-hint",
                         markup=False)
        yield Footer()  # the modal's keys, not the screen's underneath
