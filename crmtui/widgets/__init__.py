"""Reusable Textual widgets of crmtui."""

from crmtui.widgets.lazy_table import Column, LazyTable, RowLoader

__all__ = ["Column", "LazyTable", "RowLoader"]
