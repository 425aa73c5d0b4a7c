"""A yes/no question as a modal: ``push_screen(Confirm("Delete 3 contacts?"), callback)``; the
callback gets True for yes. ``y``/Enter on Yes answers yes; ``n``/Escape answers no."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


class Confirm(ModalScreen[bool]):
    """Ask ``question`` (with optional ``detail``); dismisses with the answer."""

    DEFAULT_CSS = """
    Confirm {
        align: center middle;
        background: $background 60%;
    }
    Confirm > Vertical {
        width: 64;
        max-width: 90%;
        height: auto;
        padding: 1 2;
        border: round $warning;
        background: $panel;
    }
    Confirm #confirm-question { text-style: bold; }
    Confirm #confirm-detail { color: $text-muted; margin-top: 1; }
    Confirm Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    Confirm Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "", *, yes: str = "Yes", no: str = "No"
                 ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="confirm-question")
            if self.detail:
                yield Static(self.detail, id="confirm-detail")
            with Horizontal():
                yield Button(self.no_label, id="confirm-no")
                yield Button(self.yes_label, id="confirm-yes", variant="warning")
        yield Footer()  # the modal's keys, not the screen's underneath

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class Choose(ModalScreen[str]):
    """A question with several answers: ``choices`` are (key, label, answer) triples, shown as
    buttons (the first one focused) and answered by their key; Escape answers ``cancel``."""

    DEFAULT_CSS = """
    Choose { align: center middle; background: $background 60%; }
    Choose > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        padding: 1 2; border: round $warning; background: $panel;
    }
    Choose #choose-question { text-style: bold; }
    Choose #choose-detail { color: $text-muted; margin-top: 1; }
    Choose Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    Choose Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choose.cancel"),
    ]

    def __init__(self, question: str, detail: str, choices: list[tuple[str, str, str]], *,
                 cancel: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.choices = choices
        self.cancel_answer = cancel

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="choose-question", markup=False)
            if self.detail:
                yield Static(self.detail, id="choose-detail", markup=False)
            with Horizontal():
                for key, label, answer in self.choices:
                    shown = "Esc" if key == "escape" else key
                    yield Button(f"{label} ({shown})", id=f"choose-{answer}")
        yield Footer()  # the modal's keys, not the screen's underneath

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event: events.Key) -> None:
        for key, _, answer in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(answer)
                return

    def action_cancel(self) -> None:
        self.dismiss(self.cancel_answer)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choose-"))
