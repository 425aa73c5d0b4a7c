"""The activities section: grouping by day, filters, keys, delete, Show in calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import CrmApp
from crmtui.model import Activity, ActivityType, Participant, ParticipantKind, SyncKind
from crmtui.screens.activities import (
    EARLIER,
    LATER,
    NO_DATE,
    OVERDUE,
    THIS_WEEK,
    TODAY,
    ActivitiesScreen,
    group_of,
)
from crmtui.screens.activity_detail import ActivityDetailScreen
from crmtui.screens.activity_form import ActivityForm
from crmtui.screens.confirm import Confirm
from crmtui.screens.context import Command
from crmtui.store import StoreError
from crmtui.widgets.sync_status import SyncStatusView

from .activity_fixtures import PARIS, World, run, table, world
from .pilot_helpers import SIZE, line, wait_for

__all__ = ["world"]  # fixtures



def status(screen: ActivitiesScreen) -> str:
    return str(screen.query_one("#activities-status", Static).content)


def rendered(app: CrmApp) -> list[str]:
    t = table(app)
    return [line(t, y) for y in range(1, t.row_count + 1)]


def test_activities_land_in_their_groups(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        # Mine: Bob's lunch (he organizes it, Ann is not in it) is left out.
        # The old task is still open: overdue, above the rest.
        assert list(t.keys) == ["#" + OVERDUE, "old", "#" + TODAY, "call", "#" + THIS_WEEK,
                                "review", "#" + LATER, "fair", "#" + NO_DATE, "someday"]
        lines = rendered(app)
        assert lines[0].strip() == "Overdue (1)"
        assert lines[2].strip() == "Today · Mon 23 Nov (1)"
        assert "Mon 23 Nov 14:00" in lines[3] and "Call Carla about the renewal" in lines[3]
        assert "Call" in lines[3] and "Ann Lee" in lines[3] and "Phone" in lines[3]
        assert "Thu 26 Nov 10:00" in lines[5] and "Bob Stone" in lines[5] and "✓" in lines[5]
        assert "Tue 15 Dec → 17 Dec" in lines[7]
        assert "—" in lines[9]
        # The cursor starts on the first activity from today on.
        assert t.cursor_key == "call"
        assert status(screen).startswith("Mine (organized by me or with me): 5 activities")

    run(world, check)


def test_group_of_uses_the_local_day_and_the_calendar_week(world: World) -> None:
    today = world.activity("call").start.astimezone(PARIS).date()
    assert group_of(world.activity("call"), today, PARIS) == TODAY
    assert group_of(world.activity("review"), today, PARIS) == THIS_WEEK
    assert group_of(world.activity("fair"), today, PARIS) == LATER
    assert group_of(world.activity("old"), today, PARIS) == EARLIER
    assert group_of(world.activity("someday"), today, PARIS) == NO_DATE
    # On the last day of the fair, it is listed under today.
    assert group_of(world.activity("fair"), world.activity("fair").end_date, PARIS) == TODAY


def test_keys_move_the_cursor_over_the_activities_only(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        assert t.cursor_key == "call"
        await pilot.press("j")
        assert t.cursor_key == "review"  # the "This week" heading is skipped
        await pilot.press("down")
        assert t.cursor_key == "fair"
        await pilot.press("k", "k")
        assert t.cursor_key == "call"
        await pilot.press("g")
        assert t.cursor_key == "old"
        await pilot.press("up")
        assert t.cursor_key == "old"
        await pilot.press("G")
        assert t.cursor_key == "someday"
        await pilot.press("pageup")
        assert t.cursor_key == "old"
        await pilot.press("pagedown")
        assert t.cursor_key == "someday"

    run(world, check)


def test_f_cycles_the_filters_and_escape_goes_back_to_mine(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.listing.filter == "all", "all")
        assert "lunch" in t.keys and screen.listing.count == 6
        assert status(screen).startswith("All (everyone's): 6 activities")
        assert t.cursor_key == "call"  # the cursor stays on the same activity
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.listing.filter == "calendar", "calendar")
        assert [k for k in t.keys if not k.startswith("#")] == ["review"]
        assert status(screen).startswith("Show in calendar (mine with Show in calendar): "
                                         "1 activity")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.listing.filter == "mine", "mine")
        assert "lunch" not in t.keys and screen.listing.count == 5
        await pilot.press("f", "f", "f")
        await wait_for(pilot, lambda: screen.listing.filter == "mine", "mine again")

    run(world, check)


def test_c_toggles_show_in_calendar(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        assert not world.activity("call").show_in_calendar
        await pilot.press("c")
        await wait_for(pilot, lambda: "✓" in line(t, t.cursor_row + 1), "the mark")
        assert world.activity("call").show_in_calendar
        assert t.cursor_key == "call"
        await pilot.press("c")
        await wait_for(pilot, lambda: "✓" not in line(t, t.cursor_row + 1), "no mark")
        assert not world.activity("call").show_in_calendar

    run(world, check)


def test_d_deletes_after_confirmation(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        assert "Call Carla about the renewal" in app.screen.question
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen, "back")
        assert "call" in world.repo.activity_ids()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "call" not in t.keys, "the row gone")
        assert "call" not in world.repo.activity_ids()
        assert "#" + TODAY not in t.keys  # an empty group has no heading
        assert t.cursor_key is not None and not t.cursor_key.startswith("#")

    run(world, check)


def test_enter_opens_the_page_e_the_form_n_a_new_one(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("enter")  # the read-only page, as for a contact
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityDetailScreen), "the page")
        assert app.screen.activity.id == "call"
        status = app.screen.query_one(SyncStatusView)  # the activity's own sync status
        assert status.status is not None and status.record.id == "call"
        assert status.status.kind is SyncKind.ACTIVITIES and status.status.headline
        await pilot.press("e")  # e on the page edits
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
        assert app.screen.activity.id == "call"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityDetailScreen), "the page")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back")
        await pilot.press("j", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
        assert app.screen.activity.id == "review"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
        assert app.screen.activity is None

    run(world, check)


def test_refresh_data_shows_changes_and_keeps_the_cursor(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        await pilot.press("j")
        assert t.cursor_key == "review"
        repo = world.repo
        repo.update_activity(world.activity("review").evolve(title="Quarterly review (moved)"))
        lunch = world.activity("lunch")
        repo.update_activity(lunch.evolve(participants=[
            *lunch.participants, Participant(ParticipantKind.USER, "ann")]))
        screen.refresh_data()
        await wait_for(pilot, lambda: "lunch" in t.keys, "the new row")
        assert t.cursor_key == "review"
        assert "Quarterly review (moved)" in line(t, t.cursor_row + 1)

    run(world, check)


def test_commands_offer_the_section_actions(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        commands = screen.commands()
        assert all(isinstance(c, Command) for c in commands)
        texts = [c.palette_text for c in commands]
        for text in ("activity: new", "activity: edit", "activity: delete",
                     "activity: filter: mine", "activity: filter: all",
                     "activity: filter: calendar", "activity: toggle show in calendar",
                     "sync: synchronize activities now"):
            assert text in texts
        by_text = {c.palette_text: c for c in commands}
        await screen.run_action(by_text["activity: filter: calendar"].action)
        await wait_for(pilot, lambda: screen.listing.filter == "calendar", "calendar")
        await screen.run_action(by_text["activity: new"].action)
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")

    run(world, check)


def test_thousands_of_activities_render_only_the_rows_on_screen(world: World) -> None:
    start = world.activity("call").start
    world.repo.add_activities([
        Activity(title=f"Follow-up {i:04}", type=ActivityType.CALL, organizer_id="ann",
                 start=start + timedelta(hours=i - 1500), end=start + timedelta(hours=i - 1499))
        for i in range(3000)])

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        t = table(app)
        assert screen.listing.count == 3005
        assert t.row_count == 3005 + 6  # and the six headings (overdue: the old task)
        assert t.cached_rows <= 2 * SIZE[1]
        await pilot.press("G")
        assert t.cursor_key == "someday"
        assert t.cached_rows <= 4 * SIZE[1]
        assert "Tidy the shared drive" in line(t, t.cursor_row - round(t.scroll_y) + 1)

    run(world, check)


def test_a_failing_query_is_explained(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        def broken(query: object) -> list[Activity]:
            raise StoreError("the database file is locked by another program")

        monkeypatch.setattr(world.repo, "find_activities", broken)
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.listing.filter == "all", "the failed query")
        assert status(screen) == ("All (everyone's)  ·  cannot list the activities: the "
                                  "database file is locked by another program")
        assert table(app).row_count == 0
        assert any("locked by another program" in str(n.message)
                   for n in app._notifications)

    run(world, check)
