"""Finding activities: `/` searches (accents ignored), `t` goes to today, the type and status
filters, the Overdue group, the status column, and the agenda beside the list."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from crmtui.app import CrmApp
from crmtui.model import Activity, ActivityStatus, ActivityType, Participant, ParticipantKind
from crmtui.screens.activities import EARLIER, OVERDUE, ActivitiesScreen, is_overdue
from crmtui.screens.agenda import AgendaPanel

from .activity_fixtures import NOW, World, at, run, table, world
from .pilot_helpers import line, plain, wait_for

__all__ = ["world"]  # fixtures


def keys(app: CrmApp) -> list[str]:
    return list(table(app).keys)


def activity_keys(app: CrmApp) -> list[str]:
    return [k for k in keys(app) if not k.startswith("#")]


async def settled(pilot: Pilot, screen: ActivitiesScreen) -> None:
    await wait_for(pilot, lambda: screen.listing is not None
                   and screen.listing.criteria == screen.criteria, "the listing")


def status_line(screen: ActivitiesScreen) -> str:
    return str(screen.query_one("#activities-status", Static).content)


def test_slash_searches_ignoring_accents_and_escape_clears(world: World) -> None:
    world.repo.add_activity(Activity(id="geneve", title="Réunion à Genève", organizer_id="ann",
                                     start=at(27, 9), end=at(27, 10)))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("slash", *"reunion geneve")
        assert isinstance(app.focused, Input)  # what was typed went to the search box
        await settled(pilot, screen)
        assert activity_keys(app) == ["geneve"]
        assert "search: “reunion geneve”" in status_line(screen)
        await pilot.press("escape")  # leaves the box
        assert app.focused is table(app)
        await pilot.press("escape")  # clears the search
        await settled(pilot, screen)
        assert "geneve" in activity_keys(app) and "call" in activity_keys(app)
        assert screen.query_one("#activity-search", Input).value == ""

    run(world, check)


def test_the_search_finds_the_activities_of_a_matching_contact(world: World) -> None:
    world.repo.add_activity(Activity(
        id="pitch", title="Pitch the new plan", organizer_id="ann", start=at(25, 9),
        end=at(25, 10), participants=[Participant(ParticipantKind.CONTACT, "dmitri")]))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("slash", *"volkov")  # Dmitri's family name: not in any title
        await settled(pilot, screen)
        assert activity_keys(app) == ["pitch"]
        await pilot.press(*" plan")  # every word: his and the title's
        await settled(pilot, screen)
        assert activity_keys(app) == ["pitch"]
        screen.query_one("#activity-search", Input).value = "borealis"  # his company
        await settled(pilot, screen)
        assert activity_keys(app) == ["pitch"]

    run(world, check)


def test_t_goes_to_today(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("G")
        assert table(app).cursor_key == "someday"
        await pilot.press("t")
        assert table(app).cursor_key == "call"  # the first activity of today

    run(world, check)


def test_type_and_status_filters(world: World) -> None:
    repo = world.repo
    repo.update_activity(world.activity("fair").evolve(status=ActivityStatus.COMPLETED))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("x")  # type: task
        await settled(pilot, screen)
        assert activity_keys(app) == ["old", "someday"]
        assert "type: task" in status_line(screen)
        await app.run_action("screen.set_type('meeting')")
        await settled(pilot, screen)
        assert activity_keys(app) == ["review", "fair"]
        await app.run_action("screen.set_status('open')")
        await settled(pilot, screen)
        assert activity_keys(app) == ["review"]
        await app.run_action("screen.set_status('completed')")
        await settled(pilot, screen)
        assert activity_keys(app) == ["fair"]
        assert "status: completed" in status_line(screen)
        await pilot.press("escape")  # clears type and status
        await settled(pilot, screen)
        assert len(activity_keys(app)) == 5

    run(world, check)


def test_overdue_group_and_status_column(world: World) -> None:
    repo = world.repo
    repo.add_activity(Activity(id="done", title="Old finished task", type=ActivityType.TASK,
                               status=ActivityStatus.COMPLETED, organizer_id="ann",
                               start=at(11, 9), end=at(11, 10)))
    repo.add_activity(Activity(id="met", title="Past meeting", type=ActivityType.MEETING,
                               organizer_id="ann", start=at(12, 9), end=at(12, 10)))
    repo.add_activity(Activity(id="later-task", title="Task due tonight", type=ActivityType.TASK,
                               organizer_id="ann", start=at(23, 8), end=at(23, 20)))
    assert is_overdue(world.activity("old"), NOW)
    assert not is_overdue(repo.get_activity("done"), NOW)
    assert not is_overdue(repo.get_activity("met"), NOW)
    assert not is_overdue(repo.get_activity("later-task"), NOW)  # due at 20:00 today

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        k = keys(app)
        assert k[:2] == ["#" + OVERDUE, "old"]
        assert k[2:5] == ["#" + EARLIER, "done", "met"]
        t = table(app)
        assert "Overdue (1)" in line(t, 1)
        assert "Status" in line(t, 0)
        assert "Not started" in line(t, 2)
        assert "Completed" in line(t, 4)

    run(world, check)


def test_agenda_by_day_and_week_beside_the_list(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        panel = screen.query_one("#agenda", AgendaPanel)
        assert not panel.display or not panel.has_class("-shown")
        await pilot.press("v")
        assert panel.span == "day" and panel.has_class("-shown")
        text = plain(panel.query_one("#agenda-body", Static).content)
        assert "Monday 23 November 2026 · today" in text
        assert "14:00–14:30" in text and "Call Carla about the renewal" in text
        assert "Quarterly review" not in text  # Thursday
        await pilot.press("j")  # the quarterly review: Thursday's agenda
        text = plain(panel.query_one("#agenda-body", Static).content)
        assert "Thursday 26 November 2026" in text and "10:00–11:00" in text
        await pilot.press("v")
        assert panel.span == "week"
        text = plain(panel.query_one("#agenda-body", Static).content)
        assert "Week 48 · 23 Nov – 29 Nov" in text
        assert "Call Carla about the renewal" in text and "Quarterly review" in text
        assert "Send the old proposal" not in text  # the week before
        await pilot.press("v")
        assert not panel.has_class("-shown")

    run(world, check)


def test_agenda_snapshot(world: World, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot) -> None:
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ActivitiesScreen)
                       and pilot.app.screen.listing is not None, "the activities")
        await pilot.press("v", "v")  # the week
        await pilot.pause()

    app = CrmApp(world.services(), auto_sync=False, store_poll=0)
    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)
