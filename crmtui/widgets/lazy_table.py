"""A table over a long list of row keys that fetches and renders only the rows on screen.

:class:`LazyTable` holds row *keys* only (e.g. 100,000 contact ids). When a row comes into view it
asks its loader for the cells of the rows on screen, one call per screenful, and keeps a bounded
cache of them. Setting new keys (a new search or sort) costs nothing beyond storing the list, so
the table opens and filters instantly whatever the number of rows.

Keys: up/down (and j/k), page up/down, home/end (and g/G) move the cursor; enter selects. With
``marks=True`` the table keeps a set of marked keys (:attr:`LazyTable.marked`), shown in a gutter. Clicking a row moves the
cursor there (a double click selects); clicking a header posts :class:`LazyTable.HeaderClicked`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GUTTER = 2
"""Cells of the marks' gutter (a table with ``marks=True``)."""

RowLoader = Callable[[Sequence[str]], Sequence[Sequence[str]]]
"""Given row keys, returns one sequence of cell texts per key, in the same order."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column: ``width`` fixes its width in cells; otherwise it takes ``ratio`` shares of the
    width left over, but never less than ``min_width``. When the table is too narrow for every
    column's minimum, columns with a ``drop`` rank are hidden, the highest rank first (0: never
    hidden)."""

    key: str
    label: str
    width: int | None = None
    ratio: int = 1
    min_width: int = 6
    sortable: bool = True
    drop: int = 0


class LazyTable(ScrollView, can_focus=True, inherit_bindings=False):
    """A virtual table: a header line and one line per key, rendered on demand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Previous row", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Next row", show=False, id="table.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First row", show=False, id="table.first"),
        Binding("end,G", "last", "Last row", show=False, id="table.last"),
        Binding("enter", "select", "Open", id="table.open"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "lazy-table--header",
        "lazy-table--sorted",
        "lazy-table--cursor",
        "lazy-table--odd-row",
        "lazy-table--empty",
        "lazy-table--marked",
    }

    DEFAULT_CSS = """
    LazyTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        & > .lazy-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .lazy-table--sorted { background: $panel; color: $accent; text-style: bold; }
        & > .lazy-table--odd-row { background: $surface-lighten-1 40%; }
        & > .lazy-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .lazy-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .lazy-table--empty { color: $text-muted; text-style: italic; }
        & > .lazy-table--marked { color: $accent; text-style: bold; }
    }
    """

    CACHE_SIZE = 4000
    """Rows whose cells are kept; beyond that the cache starts again from the rows on screen."""

    cursor_row: reactive[int] = reactive(0, always_update=True)
    """The index of the highlighted row."""

    class Highlighted(Message):
        """The cursor moved to another row (``key`` is None when the table is empty)."""

        def __init__(self, table: LazyTable, index: int, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.key = key

        @property
        def control(self) -> LazyTable:
            return self.table

    class Selected(Message):
        """A row was chosen (enter or double click)."""

        def __init__(self, table: LazyTable, index: int, key: str) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.key = key

        @property
        def control(self) -> LazyTable:
            return self.table

    class HeaderClicked(Message):
        """A column's header was clicked."""

        def __init__(self, table: LazyTable, column: Column) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> LazyTable:
            return self.table

    def __init__(self, columns: Sequence[Column], loader: RowLoader, *,
                 empty_text: str = "Nothing to show.", marks: bool = False,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self.marks = marks
        """Whether rows can be marked (a two-cell gutter shows the marks)."""
        self.marked: set[str] = set()
        """The marked keys (see :meth:`toggle_mark`)."""
        self.loader = loader
        self.empty_text = empty_text
        self._keys: Sequence[str] = []
        self._cells: dict[str, tuple[str, ...]] = {}
        self._widths: tuple[int, tuple[int, ...]] = (-1, ())
        self._sort: tuple[str, bool] | None = None
        self.fetches = 0
        """How many times the loader was called (lets tests check the table stays lazy)."""

    # -- data -------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> Sequence[str]:
        return self._keys

    @property
    def cursor_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        return self._keys[self.cursor_row] if self._keys else None

    @property
    def cached_rows(self) -> int:
        """How many rows' cells are in memory."""
        return len(self._cells)

    def set_rows(self, keys: Sequence[str], *, keep_cursor: bool = True) -> None:
        """Show ``keys``; the cursor stays on the same key when it is still there.

        Cached cells are kept (a key's cells do not depend on the query); call
        :meth:`invalidate` when the data behind the keys changed. A list is copied; another
        sequence is kept as it is (it must not change: it may produce its keys as they are
        read, so that the table reads only those on screen).
        """
        previous = self.cursor_key if keep_cursor else None
        self._keys = list(keys) if isinstance(keys, list) else keys
        self._set_virtual_height(len(self._keys) + 1)
        index = 0
        if previous is not None:
            try:
                index = self._keys.index(previous)
            except ValueError:
                index = 0
        if index == 0:
            self.scroll_to(y=0, animate=False)
        self.cursor_row = index
        self.refresh()

    def _set_virtual_height(self, height: int) -> None:
        """A new number of rows. Assigning ``virtual_size`` asks for a layout of the whole
        screen (and its full repaint, the main cost of a keystroke's new search); when the
        vertical scrollbar stays as it is (shown or not), updating it and repainting the table
        is enough."""
        size = Size(0, height)
        if size == self.virtual_size:
            return
        view = self.container_size.height
        if (self.is_mounted and view > 0 and not self._layout_required
                and (height > view) == (self.virtual_size.height > view)
                and self.show_vertical_scrollbar == (height > view)):
            self.set_reactive(LazyTable.virtual_size, size)
            self._scroll_update(size)
            self.refresh()
        else:
            self.virtual_size = size

    def toggle_mark(self, key: str) -> bool:
        """Mark ``key`` or unmark it; True when it is marked now."""
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self.refresh()
        return key in self.marked

    def set_marked(self, keys: set[str]) -> None:
        """Mark exactly ``keys``."""
        self.marked = set(keys)
        self.refresh()

    def invalidate(self) -> None:
        """Forget the cached cells (the records behind the keys changed) and redraw."""
        self._cells.clear()
        self.refresh()

    def set_sort(self, column_key: str | None, descending: bool = False) -> None:
        """Mark the column the rows are sorted by (shown in the header)."""
        sort = None if column_key is None else (column_key, descending)
        if sort != self._sort:  # else nothing to repaint (a search keeps its sort)
            self._sort = sort
            self.refresh()

    def row_cells(self, index: int) -> tuple[str, ...]:
        """The cells of the row at ``index`` (loaded if needed)."""
        key = self._keys[index]
        if key not in self._cells:
            self._fetch(index, index + 1)
        return self._cells.get(key, ())

    def _fetch(self, start: int, stop: int) -> None:
        wanted = [k for k in self._keys[start:stop] if k not in self._cells]
        if not wanted:
            return
        if len(self._cells) + len(wanted) > self.CACHE_SIZE:
            self._cells.clear()
        self.fetches += 1
        for key, cells in zip(wanted, self.loader(wanted), strict=True):
            self._cells[key] = tuple(cells)

    # -- layout -----------------------------------------------------------------------------------

    @property
    def _page_height(self) -> int:
        """Rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def column_widths(self, width: int) -> tuple[int, ...]:
        """The widths of the columns (including one cell of left padding) for ``width``."""
        if self.marks:
            width -= GUTTER
        if self._widths[0] == width:
            return self._widths[1]
        shown = set(range(len(self.columns)))
        needed = sum(c.width if c.width is not None else c.min_width for c in self.columns)
        for i in sorted((i for i, c in enumerate(self.columns) if c.drop),
                        key=lambda i: -self.columns[i].drop):
            if needed <= width:
                break
            shown.discard(i)  # too narrow: this column goes (its width is 0)
            column = self.columns[i]
            needed -= column.width if column.width is not None else column.min_width
        fixed = sum(c.width for i, c in enumerate(self.columns)
                    if c.width is not None and i in shown)
        flexible = [c for i, c in enumerate(self.columns) if c.width is None and i in shown]
        shares = sum(c.ratio for c in flexible) or 1
        spare = max(0, width - fixed)
        widths = []
        given = 0
        for i, column in enumerate(self.columns):
            if i not in shown:
                widths.append(0)
            elif column.width is not None:
                widths.append(column.width)
            else:
                w = max(column.min_width, spare * column.ratio // shares)
                widths.append(w)
                given += w
        flex = [i for i, c in enumerate(self.columns) if c.width is None and i in shown]
        leftover = spare - given
        # Hand out the cells lost to rounding, left to right.
        for i in flex[:max(0, leftover)]:
            widths[i] += 1
        # Too narrow for the minimum widths: take cells from the widest flexible columns.
        while flex and leftover < 0:
            widest = max(flex, key=lambda i: widths[i])
            if widths[widest] <= 4:
                break
            widths[widest] -= 1
            leftover += 1
        result = tuple(widths)
        self._widths = (width, result)
        return result

    # -- rendering --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        index = round(self.scroll_y) + y - 1
        if index >= len(self._keys):
            if not self._keys and y == 1:
                style = self.get_component_rich_style("lazy-table--empty")
                return Strip([Segment(" " + self.empty_text, style)]).adjust_cell_length(
                    width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        key = self._keys[index]
        if key not in self._cells:
            top = round(self.scroll_y)
            self._fetch(top, top + self._page_height)
            if key not in self._cells:  # the cursor row, scrolled out of view
                self._fetch(index, index + 1)
        if index == self.cursor_row:
            style = self.get_component_rich_style("lazy-table--cursor")
        elif index % 2:
            style = self.get_component_rich_style("lazy-table--odd-row")
        else:
            style = self.rich_style
        strip = self._cells_strip(self._cells.get(key, ()), width, style,
                                  [style] * len(self.columns))
        if self.marks:
            marked = key in self.marked
            mark_style = (style + self.get_component_rich_style("lazy-table--marked")
                          if marked else style)
            strip = Strip([Segment(" ✓" if marked else "  ", mark_style),
                           *strip]).crop(0, width)
        return strip

    def _header_strip(self, width: int) -> Strip:
        header = self.get_component_rich_style("lazy-table--header")
        sorted_style = self.get_component_rich_style("lazy-table--sorted")
        labels, styles = [], []
        for column in self.columns:
            if self._sort is not None and self._sort[0] == column.key:
                labels.append(f"{column.label} {'▼' if self._sort[1] else '▲'}")
                styles.append(sorted_style)
            else:
                labels.append(column.label)
                styles.append(header)
        strip = self._cells_strip(labels, width, header, styles)
        if self.marks:
            strip = Strip([Segment(" " * GUTTER, header), *strip]).crop(0, width)
        return strip

    def _cells_strip(self, cells: Sequence[str], width: int, fill: Style,
                     styles: Sequence[Style]) -> Strip:
        """The cells across ``width`` (less the marks' gutter, which the caller adds)."""
        segments = []
        for text, w, style in zip(cells, self.column_widths(width), styles, strict=False):
            if w:  # 0: a column dropped at this width
                segments.append(Segment(" " + _fit(text, w - 1), style))
        return Strip(segments).adjust_cell_length(width - GUTTER if self.marks else width, fill)

    # -- cursor -----------------------------------------------------------------------------------

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self._keys) - 1)) if self._keys else 0

    def watch_cursor_row(self, index: int) -> None:
        self._scroll_to_cursor(index)
        self.refresh()
        self.post_message(self.Highlighted(self, index, self.cursor_key))

    def _scroll_to_cursor(self, index: int) -> None:
        top, page = round(self.scroll_y), self._page_height
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + page:
            self.scroll_to(y=index - page + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= self._page_height

    def action_page_down(self) -> None:
        self.cursor_row += self._page_height

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self._keys) - 1

    def action_select(self) -> None:
        if self._keys:
            self.post_message(self.Selected(self, self.cursor_row, self._keys[self.cursor_row]))

    # -- mouse ------------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            x = GUTTER if self.marks else 0
            for column, w in zip(self.columns, self.column_widths(
                    self.scrollable_content_region.width), strict=True):
                if x <= offset.x < x + w:
                    if column.sortable:
                        self.post_message(self.HeaderClicked(self, column))
                    return
                x += w
            return
        index = round(self.scroll_y) + offset.y - 1
        if index < len(self._keys):
            self.cursor_row = index
            if event.chain >= 2:
                self.action_select()


def _fit(text: str, width: int) -> str:
    """``text`` on one line, cut with an ellipsis or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    text = " ".join(text.split())
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)
