"""Defects found using the TUI as a salesperson would (issue 16), each pinned by a Pilot test."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Label

from crmtui.app import CrmApp
from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import Activity, SyncKind, ValidationError
from crmtui.screens.activities import ActivitiesScreen
from crmtui.screens.activity_form import ActivityForm
from crmtui.screens.confirm import Choose, Confirm
from crmtui.widgets.picker import Picker

from .activity_fixtures import World, at, run, table, world
from .conftest import Demo
from .pilot_helpers import SIZE, wait_for

__all__ = ["world"]  # fixtures


def form_error(form: ActivityForm, name: str) -> str:
    label = form.query_one(f"#{name}-error", Label)
    return str(label.content) if label.has_class("-shown") else ""


# -- 1. an activity always has an organizer -------------------------------------------------------


def test_the_activity_form_refuses_to_save_without_an_organizer(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        before = world.repo.activity_ids()
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
        form = app.screen
        assert isinstance(form, ActivityForm)
        await pilot.press(*"Orphan")
        organizer = form.query_one("#organizer", Picker)
        chip = next(iter(organizer.query(".chip").results(Button)))
        chip.focus()
        await pilot.press("enter")  # the chip goes
        await pilot.pause()
        assert organizer.keys == []
        organizer.input.focus()
        await pilot.press(*"nobody")
        form.query_one("#save", Button).press()
        await pilot.pause()
        assert app.screen is form
        assert "nobody" in form_error(form, "organizer")
        assert world.repo.activity_ids() == before
        organizer.input.value = ""
        form.query_one("#save", Button).press()
        await pilot.pause()
        assert "always has an organizer" in form_error(form, "organizer")
        assert world.repo.activity_ids() == before

    run(world, check)


def test_the_store_and_the_import_refuse_an_activity_without_an_organizer(
        world: World, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="organizer"):
        world.repo.add_activity(Activity(title="Nobody's", owner_id="ann"))
    with pytest.raises(ValidationError, match="organizer"):
        world.repo.update_activity(world.activity("call").evolve(organizer_id=""))
    assert world.activity("call").organizer_id == "ann"
    path = tmp_path / "all.json"
    export_file(world.repo, path, viewer_id="ann")
    data = json.loads(path.read_text(encoding="utf-8"))
    index = next(i for i, a in enumerate(data["activities"]) if a["id"] == "call")
    data["activities"][index]["organizer_id"] = ""
    data["activities"][index]["id"] = "call-copy"
    data = {"format": data["format"], "schema": data["schema"],
            "activities": [data["activities"][index]]}
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FormatError) as raised:
        import_file(world.repo, path, viewer_id="ann")
    assert raised.value.location == "activities[1]"
    assert "organizer" in raised.value.reason
    assert "call-copy" not in world.repo.activity_ids()


# -- 2. Show in calendar on a series asks first ---------------------------------------------------


def test_show_in_calendar_on_a_series_asks_first_naming_it(world: World) -> None:
    world.repo.add_activity(Activity(
        id="standup", title="Weekly stand-up", start=at(23, 11), end=at(23, 11, 15),
        timezone="Europe/Paris", organizer_id="ann", owner_id="ann", show_in_calendar=True,
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO"]))
    world.ids["standup"] = "standup"

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await wait_for(pilot, lambda: "standup" in table(app).keys, "the series listed")
        table(app).cursor_row = table(app).keys.index("standup")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        question = app.screen
        assert isinstance(question, Confirm)
        assert "Weekly stand-up" in question.question and "series" in question.question
        assert world.activity("standup").show_in_calendar  # nothing changed yet
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen, "back on the list")
        assert world.activity("standup").show_in_calendar
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: not world.activity("standup").show_in_calendar,
                       "the series out of the calendar")
        # A single activity still toggles at once.
        table(app).cursor_row = table(app).keys.index("call")
        await pilot.press("c")
        await wait_for(pilot, lambda: world.activity("call").show_in_calendar, "toggled")
        assert app.screen is screen

    run(world, check)


# -- 3. quitting during a sync asks, and says what happens ----------------------------------------


def gated(demo: Demo, gate: threading.Event) -> CrmApp:
    """The demo app whose syncs wait for ``gate`` before they start."""
    app = demo.app()
    service = app.services.sync
    assert service is not None
    real_run = service.run

    def slow_run(*args: Any, **kwargs: Any) -> Any:
        gate.wait(30)
        return real_run(*args, **kwargs)

    service.run = slow_run  # type: ignore[method-assign]
    return app


def test_quitting_during_a_sync_asks_and_can_wait_for_it(demo_google: Demo) -> None:
    gate = threading.Event()

    async def main() -> None:
        app = gated(demo_google, gate)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("y")
            assert app.running == {SyncKind.CONTACTS}
            await pilot.press("q")
            await pilot.pause()
            question = app.screen
            assert isinstance(question, Choose)
            assert question.question == ("A contacts sync is running: wait, or quit and let it "
                                         "finish in the background?")
            assert "quits by itself when the contacts sync ends" in question.detail
            assert app.return_code is None
            await pilot.press("w")
            await pilot.pause()
            assert not isinstance(app.screen, Choose)
            assert app.return_code is None and app.running  # still there, still syncing
            gate.set()
            for _ in range(1500):
                if app.return_code is not None:
                    break
                await pilot.pause(0.02)
            assert app.return_code == 0  # it quit by itself once the sync ended
            assert app.sync_ended[SyncKind.CONTACTS].is_set()
    asyncio.run(main())


def test_quitting_now_lets_the_sync_finish_and_says_so(demo_google: Demo) -> None:
    gate = threading.Event()
    said: list[str] = []

    async def main() -> None:
        app = gated(demo_google, gate)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("y", "q")
            await pilot.pause()
            assert isinstance(app.screen, Choose)
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0
        threading.Timer(0.3, gate.set).start()
        await asyncio.to_thread(app.finish_in_background, said.append)
    asyncio.run(main())
    assert said[0].startswith("crmtui: the contacts sync is finishing in the background")
    assert said[1].startswith("crmtui: the contacts sync finished: In crmtui:"), said


def test_quitting_with_no_sync_running_does_not_ask(demo_google: Demo) -> None:
    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0
        said: list[str] = []
        app.finish_in_background(said.append)
        assert said == []
    asyncio.run(main())
