"""Reusable Textual widgets of crmtui."""

from crmtui.widgets.lazy_table import Column, LazyTable, RowLoader
from crmtui.widgets.picker import Choice, Picker

__all__ = ["Choice", "Column", "LazyTable", "Picker", "RowLoader"]
