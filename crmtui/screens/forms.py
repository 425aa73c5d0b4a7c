"""What the editing forms share: error labels beside fields, and a modal form whose Save / Cancel
buttons and Escape (asking before changes are discarded) behave the same everywhere."""

from __future__ import annotations

from textual import on
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from crmtui.screens.confirm import Confirm


def error_label(field: str) -> Label:
    """The (hidden until needed) error line under ``field``: ``#error-FIELD``."""
    label = Label("", id=f"error-{field}", classes="error")
    label.display = False
    return label


def show_error(label: Label, message: str) -> None:
    """Show ``message`` in an error line; "" hides it."""
    label.update(message)
    label.display = bool(message)


class EditForm(ModalScreen[str | None]):
    """A modal editor dismissed with the saved record's id, or None when cancelled.

    Subclasses implement :meth:`action_save` and :attr:`changed`; the ``#save`` and ``#cancel``
    buttons run save and cancel, and cancelling asks ``DISCARD_QUESTION`` first when something
    changed."""

    DISCARD_QUESTION = "Discard your changes?"

    @property
    def changed(self) -> bool:
        raise NotImplementedError

    def action_save(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        if not self.changed:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(Confirm(self.DISCARD_QUESTION, yes="Discard", no="Keep editing"),
                             answered)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
