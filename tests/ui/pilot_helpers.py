"""Helpers for Pilot-driven UI tests (the suite has no asyncio plugin: tests call asyncio.run)."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console, RenderableType
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled

from crmtui.widgets import LazyTable

SIZE = (120, 40)


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str,
                   attempts: int = 200) -> None:
    """Let the app run until ``condition`` holds (workers finished, messages handled)."""
    for _ in range(attempts):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one: go on waiting
            pass
        await pilot.pause()
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def line(table: LazyTable, y: int) -> str:
    """The text the table renders on its line ``y`` (0 is the header)."""
    return table.render_line(y).text


def plain(renderable: RenderableType, width: int = 100) -> str:
    """``renderable`` as plain text."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def status(pilot: Pilot) -> str:
    return str(pilot.app.screen.query_one("#status", Static).content)
