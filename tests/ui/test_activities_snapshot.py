"""SVG snapshots of the activities section and the activity form, on fixed data and a fixed
clock (Monday 23 November 2026, 10:00 in Europe/Paris)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from crmtui.app import CrmApp
from crmtui.screens.activities import ActivitiesScreen
from crmtui.screens.activity_form import ActivityForm

from .activity_fixtures import World, world
from .pilot_helpers import SIZE, wait_for

__all__ = ["world"]  # fixtures


def app_for(w: World) -> CrmApp:
    return CrmApp(w.services(), auto_sync=False, store_poll=0)


async def show_activities(pilot: Pilot) -> None:
    await pilot.press("2")  # the activities section

    def listed() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, ActivitiesScreen) and screen.listing is not None

    await wait_for(pilot, listed, "the activities")


def test_activities_snapshot(world: World, snap_compare: Any) -> None:
    assert snap_compare(app_for(world), terminal_size=SIZE, run_before=show_activities)


def test_activity_form_snapshot(world: World, snap_compare: Any) -> None:
    async def edit(pilot: Pilot) -> None:
        await show_activities(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ActivityForm), "the form")
        for field in pilot.app.screen.query(Input):  # a blinking cursor would be a coin toss
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app_for(world), terminal_size=SIZE, run_before=edit)
