"""A type-to-pick field: an input that suggests matching choices as you type, and the picked
choices as removable chips.

The choices come from a ``search`` callable (``text -> [Choice]``) run in a thread worker, so a
search over many records never blocks typing. Down moves into the suggestions; Enter adds the
highlighted suggestion (the first one when none is highlighted); Backspace in the empty input
removes the last chip; a chip is removed by pressing it (Enter or a click).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker


@dataclass(frozen=True, slots=True)
class Choice:
    """Something that can be picked: ``key`` identifies it, ``label`` names it on its chip,
    ``detail`` (an email, "user") helps tell it apart in the suggestions."""

    key: str
    label: str
    detail: str = ""


Search = Callable[[str], Sequence[Choice]]
"""Given the typed text, the matching choices (best first)."""


class PickerInput(Input):
    """The picker's input: Down and Up move through the suggestions, Backspace on an empty input
    removes the last chip."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "suggestion(1)", "Next suggestion", show=False, id="picker.next"),
        Binding("up", "suggestion(-1)", "Previous suggestion", show=False, id="picker.previous"),
        Binding("escape", "close_suggestions", "Close the suggestions", show=False,
                id="picker.close"),
    ]

    @property
    def picker(self) -> Picker | None:
        node = self.parent
        while node is not None and not isinstance(node, Picker):
            node = node.parent
        return node

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_suggestions":  # else Escape goes on (to cancel a form)
            picker = self.picker
            return picker is not None and bool(picker.suggestions)
        return super().check_action(action, parameters)

    def action_close_suggestions(self) -> None:
        picker = self.picker
        if picker is not None:
            picker.show_suggestions([])

    def action_suggestion(self, step: int) -> None:
        picker = self.picker
        if picker is not None:
            picker.move_suggestion(step)

    def action_delete_left(self) -> None:
        if not self.value:
            picker = self.picker
            if picker is not None and picker.picked:
                picker.unpick(picker.picked[-1].key)
            return
        super().action_delete_left()


class Picker(Vertical):
    """Pick choices by typing (``multiple=False``: one choice, a new pick replaces it)."""

    DEFAULT_CSS = """
    Picker { height: auto; }
    Picker > #picker-chips { height: auto; }
    Picker > #picker-chips > Button.chip {
        width: auto; min-width: 4; margin-right: 1; height: 1; border: none;
        background: $accent 30%; color: $foreground;
    }
    Picker > #picker-chips > Button.chip:focus { background: $accent; text-style: bold; }
    Picker > OptionList {
        height: auto; max-height: 6; display: none; border: none; padding: 0;
        background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
    }
    Picker.-suggesting > OptionList { display: block; }
    """

    LIMIT = 8
    """Suggestions shown at most."""

    class Changed(Message):
        """The picked choices changed."""

        def __init__(self, picker: Picker) -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> Picker:
            return self.picker

    class Suggested(Message):
        """A search finished in the worker."""

        def __init__(self, picker: Picker, text: str, choices: list[Choice],
                     error: str = "") -> None:
            super().__init__()
            self.picker = picker
            self.text = text
            self.choices = choices
            self.error = error

    def __init__(self, search: Search, *, picked: Sequence[Choice] = (), multiple: bool = True,
                 placeholder: str = "type a name or an email", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.search = search
        self.multiple = multiple
        self.placeholder = placeholder
        self.picked: list[Choice] = list(picked)
        self.suggestions: list[Choice] = []

    def compose(self) -> ComposeResult:
        yield Horizontal(*self._chips(), id="picker-chips")
        yield PickerInput(placeholder=self.placeholder, id="picker-input", compact=True)
        yield OptionList(id="picker-suggestions", compact=True)

    @property
    def input(self) -> PickerInput:
        return self.query_one("#picker-input", PickerInput)

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#picker-suggestions", OptionList)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.picked]

    def _chips(self) -> list[Button]:
        return [Button(f"{c.label} ✕", classes="chip", name=c.key, compact=True,
                       tooltip=f"Remove {c.label}") for c in self.picked]

    def _show_chips(self) -> None:
        box = self.query_one("#picker-chips", Horizontal)
        box.remove_children()
        box.mount_all(self._chips())

    # -- picking ----------------------------------------------------------------------------------

    def add(self, choice: Choice) -> None:
        if choice.key in self.keys:
            return
        if self.multiple:
            self.picked.append(choice)
        else:
            self.picked = [choice]
        self._show_chips()
        self.post_message(self.Changed(self))

    def unpick(self, key: str) -> None:
        """Take the choice ``key`` out of the picked ones (not named ``remove``: that removes
        the widget itself)."""
        if key not in self.keys:
            return
        self.picked = [c for c in self.picked if c.key != key]
        self._show_chips()
        self.post_message(self.Changed(self))

    @on(Button.Pressed, ".chip")
    def chip_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.name:
            self.unpick(event.button.name)
        self.input.focus()

    # -- suggesting -------------------------------------------------------------------------------

    @on(Input.Changed, "#picker-input")
    def typed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.show_suggestions([])
            return
        self.run_search(text)

    @work(thread=True, exclusive=True, group="picker-search")
    def run_search(self, text: str) -> None:
        try:
            found = list(self.search(text))
            error = ""
        except Exception as exc:  # shown under the field, never swallowed
            found, error = [], f"Cannot search: {exc}"
        if not get_current_worker().is_cancelled:
            self.post_message(self.Suggested(self, text, found, error))

    @on(Suggested)
    def suggested(self, message: Suggested) -> None:
        message.stop()
        if message.text != self.input.value.strip():
            return  # typed on meanwhile: a newer search is coming
        if message.error:
            self.notify(message.error, severity="error")
        self.show_suggestions([c for c in message.choices if c.key not in self.keys])

    def show_suggestions(self, choices: list[Choice]) -> None:
        self.suggestions = choices[:self.LIMIT]
        options = self.option_list
        options.clear_options()
        options.add_options([Option(Text.assemble(c.label, ("  " + c.detail, "dim"),
                                                  no_wrap=True, overflow="ellipsis"), id=c.key)
                             for c in self.suggestions])
        options.highlighted = 0 if self.suggestions else None
        self.set_class(bool(self.suggestions), "-suggesting")

    def move_suggestion(self, step: int) -> None:
        if not self.suggestions:
            return
        options = self.option_list
        current = options.highlighted if options.highlighted is not None else -step
        options.highlighted = (current + step) % len(self.suggestions)

    def pick_highlighted(self) -> bool:
        """Add the highlighted suggestion; False when there is none."""
        if not self.suggestions:
            return False
        index = self.option_list.highlighted or 0
        self.add(self.suggestions[index])
        self.input.value = ""
        self.show_suggestions([])
        return True

    @on(Input.Submitted, "#picker-input")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick_highlighted()

    @on(OptionList.OptionSelected, "#picker-suggestions")
    def clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.option_list.highlighted = event.option_index
        self.pick_highlighted()
        self.input.focus()
