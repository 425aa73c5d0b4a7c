"""The virtual table widget: lazy loading, scrolling, cursor, mouse."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from textual.app import App, ComposeResult

from crmtui.widgets import Column, LazyTable
from crmtui.widgets.lazy_table import _fit

from .pilot_helpers import line

ROWS = 10_000


class TableApp(App[None]):
    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__()
        self.initial = list(keys)
        self.requests: list[list[str]] = []
        self.events: list[object] = []

    def load(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        self.requests.append(list(keys))
        return [(f"row {k}", f"東京 {k}") for k in keys]

    def compose(self) -> ComposeResult:
        yield LazyTable([Column("a", "Alpha", ratio=2), Column("b", "Beta", width=12)],
                        self.load, empty_text="Nothing here.")

    def on_mount(self) -> None:
        self.query_one(LazyTable).set_rows(self.initial)
        self.query_one(LazyTable).focus()

    def on_lazy_table_selected(self, event: LazyTable.Selected) -> None:
        self.events.append(("selected", event.key))

    def on_lazy_table_header_clicked(self, event: LazyTable.HeaderClicked) -> None:
        self.events.append(("header", event.column.key))


def run(test, keys: Sequence[str] = tuple(str(i) for i in range(ROWS))) -> None:
    async def main() -> None:
        app = TableApp(keys)
        async with app.run_test(size=(60, 22)) as pilot:
            await pilot.pause()
            await test(app, app.query_one(LazyTable), pilot)
    asyncio.run(main())


def test_only_the_rows_on_screen_are_loaded() -> None:
    async def check(app: TableApp, table: LazyTable, pilot) -> None:
        assert table.row_count == ROWS
        assert line(table, 0).split() == ["Alpha", "Beta"]
        assert line(table, 1).startswith(" row 0 ")
        assert "東京 0" in line(table, 1)
        loaded = sum(len(r) for r in app.requests)
        assert 0 < loaded <= 22
    run(check)


def test_cursor_moves_and_scrolls_into_view() -> None:
    async def check(app: TableApp, table: LazyTable, pilot) -> None:
        page = table.scrollable_content_region.height - 1
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and table.cursor_key == "2"
        await pilot.press("pagedown")
        assert table.cursor_row == 2 + page
        await pilot.pause()
        assert round(table.scroll_y) == 3  # the cursor is on the last visible line
        assert line(table, page).startswith(f" row {2 + page} ")
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == ROWS - 1
        assert line(table, page).startswith(f" row {ROWS - 1} ")
        assert line(table, 1).startswith(f" row {ROWS - page} ")
        await pilot.press("up")
        assert table.cursor_row == ROWS - 2
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and round(table.scroll_y) == 0
        await pilot.press("up")
        assert table.cursor_row == 0
        assert sum(len(r) for r in app.requests) < 100
    run(check)


def test_enter_and_double_click_select_and_header_clicks() -> None:
    async def check(app: TableApp, table: LazyTable, pilot) -> None:
        await pilot.press("down", "enter")
        await pilot.click(LazyTable, offset=(3, 5))
        assert table.cursor_row == 4
        await pilot.click(LazyTable, offset=(3, 6), times=2)
        await pilot.click(LazyTable, offset=(3, 0))
        await pilot.click(LazyTable, offset=(55, 0))
        await pilot.pause()
        assert app.events == [("selected", "1"), ("selected", "5"), ("header", "a"),
                              ("header", "b")]
    run(check)


def test_new_rows_keep_the_cursor_on_its_key() -> None:
    async def check(app: TableApp, table: LazyTable, pilot) -> None:
        await pilot.press("down", "down", "down")
        table.set_rows(["9", "3", "1"])
        assert table.cursor_key == "3"
        table.set_rows(["7", "8"])
        assert table.cursor_row == 0
        table.set_sort("b", descending=True)
        await pilot.pause()
        assert "Beta ▼" in line(table, 0)
        table.set_rows([])
        await pilot.pause()
        assert table.cursor_key is None
        assert line(table, 1).strip() == "Nothing here."
        await pilot.press("enter", "down")
        assert app.events == []
    run(check)


def test_the_cache_is_bounded_and_invalidated() -> None:
    async def check(app: TableApp, table: LazyTable, pilot) -> None:
        table.CACHE_SIZE = 50
        for _ in range(6):
            await pilot.press("pagedown")
            await pilot.pause()
        assert table.cached_rows <= 50
        before = len(app.requests)
        table.invalidate()
        await pilot.pause()
        assert table.cached_rows > 0 and len(app.requests) == before + 1
    run(check)


def test_fit_cuts_and_pads_by_cell_width() -> None:
    assert _fit("abc", 5) == "abc  "
    assert _fit("abcdef", 4) == "abc…"
    assert _fit("東京都庁", 5) == "東京…"
    assert _fit("a\nb", 3) == "a b"
    assert _fit("x", 0) == ""


def test_columns_fill_the_width_and_shrink_when_narrow() -> None:
    table = LazyTable([Column("a", "A", ratio=3, min_width=14), Column("b", "B", width=19),
                       Column("c", "C", ratio=1, min_width=10)], lambda keys: [])
    for width in (40, 57, 76, 200):
        widths = table.column_widths(width)
        assert sum(widths) == width and widths[1] == 19
    wide = table.column_widths(200)
    assert wide[0] > wide[2] >= 10
    assert min(table.column_widths(20)) >= 4


def test_vi_keys_move_the_cursor() -> None:
    async def check(app: TableApp, table: LazyTable, pilot) -> None:
        await pilot.press("j", "j", "j", "k")
        assert table.cursor_row == 2
        await pilot.press("G")
        assert table.cursor_row == ROWS - 1
        assert table.cursor_key == str(ROWS - 1)
        await pilot.press("g")
        assert table.cursor_row == 0 and line(table, 1).startswith(" row 0 ")

    run(check)


class MarkingApp(TableApp):
    def compose(self) -> ComposeResult:
        yield LazyTable([Column("a", "Alpha", ratio=2), Column("b", "Beta", width=12)],
                        self.load, marks=True)


def test_marked_rows_show_in_a_gutter_and_headers_still_click() -> None:
    async def main() -> None:
        app = MarkingApp([str(i) for i in range(50)])
        async with app.run_test(size=(60, 22)) as pilot:
            await pilot.pause()
            table = app.query_one(LazyTable)
            assert table.toggle_mark("1") is True
            assert line(table, 2).startswith(" ✓ row 1 ")
            assert line(table, 1).startswith("   row 0 ")
            assert line(table, 0).startswith("   Alpha")
            assert table.render_line(2).cell_length == table.render_line(1).cell_length
            assert table.toggle_mark("1") is False and table.marked == set()
            table.set_marked({"0", "2"})
            assert line(table, 1).startswith(" ✓") and line(table, 3).startswith(" ✓")
            x = line(table, 0).index("Beta")
            await pilot.click(LazyTable, offset=(x, 0))
            await pilot.pause()
            assert app.events == [("header", "b")]

    asyncio.run(main())
