"""Reusable Textual widgets of crmtui."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmtui.widgets.lazy_table import Column, LazyTable, RowLoader

if TYPE_CHECKING:
    from crmtui.widgets.picker import Choice, Picker

__all__ = ["Choice", "Column", "LazyTable", "Picker", "RowLoader"]


def __getattr__(name: str) -> Any:
    """The picker loads when first used (the contacts list paints without it)."""
    if name in ("Choice", "Picker"):
        from crmtui.widgets import picker

        return getattr(picker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
