"""The screens of crmtui's terminal UI.

Each screen's module loads when it is first used (``crmtui.screens.ContactsScreen`` too): the
contacts list paints its first rows without the forms and detail views."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmtui.screens.contact_detail import ContactDetailScreen
    from crmtui.screens.contacts import ContactsScreen
    from crmtui.screens.keys import KeysScreen

_MODULES = {"ContactDetailScreen": "contact_detail", "ContactsScreen": "contacts",
            "KeysScreen": "keys"}

__all__ = ["ContactDetailScreen", "ContactsScreen", "KeysScreen"]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
