"""The activity form: create with participants picked by typing, edit, errors beside the
fields, all-day activities, cancelling with and without changes, a series' rule."""

from __future__ import annotations

from datetime import date, datetime

from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Label, Static

from crmtui.app import CrmApp
from crmtui.model import Activity, ActivityType, Participant, ParticipantKind, ResponseStatus
from crmtui.screens.activities import ActivitiesScreen
from crmtui.screens.activity_form import ActivityForm
from crmtui.screens.confirm import Confirm
from crmtui.widgets.picker import Picker

from .activity_fixtures import PARIS, World, run, table, world
from .pilot_helpers import wait_for

__all__ = ["world"]  # fixtures


async def open_form(app: CrmApp, pilot: Pilot, key: str) -> ActivityForm:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
    form = app.screen
    assert isinstance(form, ActivityForm)
    return form


async def pick(pilot: Pilot, form: ActivityForm, picker_id: str, text: str, label: str) -> None:
    """Type ``text`` in a picker, wait for ``label`` among the suggestions, press Enter."""
    picker = form.query_one(f"#{picker_id}", Picker)
    picker.input.focus()
    await pilot.press(*text)
    await wait_for(pilot, lambda: any(c.label == label for c in picker.suggestions),
                   f"{label} suggested")
    while picker.suggestions[picker.option_list.highlighted or 0].label != label:
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(pilot, lambda: label in [c.label for c in picker.picked], f"{label} picked")


def error(form: ActivityForm, name: str) -> str:
    label = form.query_one(f"#{name}-error", Label)
    return str(label.content) if label.has_class("-shown") else ""


async def save(pilot: Pilot, form: ActivityForm) -> None:
    form.query_one("#save", Button).press()
    await pilot.pause()


def test_a_new_activity_with_a_user_and_a_contact_picked_by_typing(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        before = world.repo.activity_ids()
        form = await open_form(app, pilot, "n")
        assert app.focused is form.query_one("#title", Input)
        await pilot.press(*"Demo", "space", *"day")
        # The next full hour, for an hour, in the local time zone (shown by name).
        assert form.query_one("#start-date", Input).value == "2026-11-23"
        assert form.query_one("#start-time", Input).value == "11:00"
        assert form.query_one("#end-time", Input).value == "12:00"
        assert "Europe/Paris" in str(form.query_one("#zone", Label).content)
        assert [c.label for c in form.query_one("#organizer", Picker).picked] == ["Ann Lee"]
        await pick(pilot, form, "participants", "car", "Carla Diaz")
        await pick(pilot, form, "participants", "bob", "Bob Stone")
        form.query_one("#location", Input).value = "Acme HQ"
        form.query_one("#show-in-calendar", Checkbox).value = True
        await save(pilot, form)
        await wait_for(pilot, lambda: app.screen is screen, "back on the list")
        (new_id,) = world.repo.activity_ids() - before
        saved = world.repo.get_activity(new_id)
        assert saved.title == "Demo day" and saved.type is ActivityType.MEETING
        assert saved.start == datetime(2026, 11, 23, 11, 0, tzinfo=PARIS)
        assert saved.end == datetime(2026, 11, 23, 12, 0, tzinfo=PARIS)
        assert saved.timezone == "Europe/Paris"
        assert saved.organizer_id == "ann" and saved.owner_id == "ann"
        assert [(p.kind, p.ref_id) for p in saved.participants] == [
            (ParticipantKind.CONTACT, "carla"), (ParticipantKind.USER, "bob")]
        assert saved.location == "Acme HQ" and saved.show_in_calendar
        await wait_for(pilot, lambda: table(app).cursor_key == new_id, "the cursor on it")

    run(world, check)


def test_picked_participants_are_removed_by_backspace_or_their_chip(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        form = await open_form(app, pilot, "n")
        picker = form.query_one("#participants", Picker)
        await pick(pilot, form, "participants", "dmi", "Dmitri Volkov")
        await pick(pilot, form, "participants", "bob", "Bob Stone")
        await pick(pilot, form, "participants", "ann@", "Ann Lee")
        await pilot.press("backspace")  # the input is empty: the last chip goes
        await pilot.pause()
        assert [c.label for c in picker.picked] == ["Dmitri Volkov", "Bob Stone"]
        chip = next(b for b in picker.query(".chip").results(Button) if b.name == "contact:dmitri")
        chip.press()
        await pilot.pause()
        assert [c.label for c in picker.picked] == ["Bob Stone"]
        # A user's own contact is offered as the user, not twice.
        picker.input.focus()
        await pilot.press(*"lee")
        await wait_for(pilot, lambda: bool(picker.suggestions), "suggestions")
        assert [c.key for c in picker.suggestions] == ["user:ann"]

    run(world, check)


def test_editing_keeps_what_was_not_changed(world: World) -> None:
    carla = Participant(ParticipantKind.CONTACT, "carla", ResponseStatus.ACCEPTED)
    world.repo.update_activity(world.activity("call").evolve(participants=[carla]))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        before = world.activity("call")
        form = await open_form(app, pilot, "e")
        assert form.query_one("#title", Input).value == "Call Carla about the renewal"
        assert form.query_one("#start-time", Input).value == "14:00"
        assert [c.label for c in form.query_one("#participants", Picker).picked] == [
            "Carla Diaz"]
        form.query_one("#title", Input).value = "Call Carla back"
        form.query_one("#end-time", Input).value = "15:00"
        await save(pilot, form)
        await wait_for(pilot, lambda: app.screen is screen, "back on the list")
        after = world.activity("call")
        assert after.title == "Call Carla back"
        assert after.start == before.start
        assert after.end == datetime(2026, 11, 23, 15, 0, tzinfo=PARIS)
        assert after.participants == [carla]  # the answer is kept
        assert after.created == before.created
        await wait_for(pilot, lambda: "Call Carla back" in "".join(
            table(app).row_cells(table(app).cursor_row)), "the row updated")

    run(world, check)


def test_errors_are_shown_beside_their_field(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        before = world.activity("call")
        form = await open_form(app, pilot, "e")
        form.query_one("#title", Input).value = "   "
        await save(pilot, form)
        assert error(form, "title") == "must not be empty"
        assert app.screen is form
        form.query_one("#title", Input).value = "Call"
        form.query_one("#end-time", Input).value = "13:00"
        await save(pilot, form)
        assert error(form, "title") == ""
        assert error(form, "end") == "is before the start"
        form.query_one("#end-time", Input).value = "15:00"
        form.query_one("#start-date", Input).value = "2026-13-01"
        await save(pilot, form)
        assert error(form, "end") == ""
        assert error(form, "start").startswith("is not a date")
        form.query_one("#start-date", Input).value = "2026-11-23"
        form.query_one("#start-time", Input).value = "25:00"
        await save(pilot, form)
        assert error(form, "start").startswith("is not a time")
        assert world.activity("call") == before  # nothing was written

    run(world, check)


def test_an_all_day_activity_has_dates(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        before = world.repo.activity_ids()
        form = await open_form(app, pilot, "n")
        form.query_one("#title", Input).value = "Offsite"
        form.query_one("#all-day", Checkbox).value = True
        await pilot.pause()
        assert form.query_one("#start-time", Input).disabled
        form.query_one("#start-date", Input).value = "2026-11-27"
        form.query_one("#end-date", Input).value = "2026-11-26"
        await save(pilot, form)
        assert error(form, "end") == "is before the start date"
        form.query_one("#end-date", Input).value = "2026-11-28"
        await save(pilot, form)
        await wait_for(pilot, lambda: app.screen is screen, "back on the list")
        (new_id,) = world.repo.activity_ids() - before
        saved = world.repo.get_activity(new_id)
        assert saved.all_day and saved.start is None
        assert (saved.start_date, saved.end_date) == (date(2026, 11, 27), date(2026, 11, 28))

    run(world, check)


def test_escape_cancels_and_asks_first_when_something_changed(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        before = world.activity("call")
        await open_form(app, pilot, "e")
        await pilot.press("escape")  # nothing changed: closes at once
        await wait_for(pilot, lambda: app.screen is screen, "closed")
        form = await open_form(app, pilot, "e")
        form.query_one("#title", Input).value = "Changed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is form, "still editing")
        assert form.query_one("#title", Input).value == "Changed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen, "discarded")
        assert world.activity("call") == before

    run(world, check)


def test_a_series_shows_its_rule_read_only(world: World) -> None:
    world.repo.add_activity(Activity(
        id="weekly", title="Weekly pipeline review", type=ActivityType.MEETING,
        start=datetime(2026, 11, 23, 16, 0, tzinfo=PARIS),
        end=datetime(2026, 11, 23, 17, 0, tzinfo=PARIS), timezone="Europe/Paris",
        organizer_id="ann", recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO"]))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        screen.refresh_data()
        await wait_for(pilot, lambda: "weekly" in table(app).keys, "the series")
        await pilot.press("j")
        assert table(app).cursor_key == "weekly"
        assert "↻" in table(app).row_cells(table(app).cursor_row)[1]
        form = await open_form(app, pilot, "e")
        rule = form.query_one("#recurrence", Static)
        assert "RRULE:FREQ=WEEKLY;BYDAY=MO" in str(rule.content)
        assert not rule.can_focus

    run(world, check)


def test_escape_in_a_picker_closes_its_suggestions_first(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        form = await open_form(app, pilot, "e")
        picker = form.query_one("#participants", Picker)
        picker.input.focus()
        await pilot.press(*"dmi")
        await wait_for(pilot, lambda: bool(picker.suggestions), "suggestions")
        assert picker.has_class("-suggesting")
        await pilot.press("escape")
        assert app.screen is form and not picker.has_class("-suggesting")
        await pilot.press("escape")  # nothing picked or changed: the form closes
        await wait_for(pilot, lambda: app.screen is screen, "closed")

    run(world, check)


def test_times_are_shown_in_the_local_zone_and_the_planned_zone_named(world: World) -> None:
    tokyo = world.activity("review").evolve(timezone="Asia/Tokyo")
    world.repo.update_activity(tokyo)

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("j")
        form = await open_form(app, pilot, "e")
        assert form.query_one("#start-time", Input).value == "10:00"  # Paris time
        zone = str(form.query_one("#zone", Label).content)
        assert zone == "time zone Europe/Paris (planned in Asia/Tokyo)"
        form.query_one("#location", Input).value = "Room 5"
        await save(pilot, form)
        await wait_for(pilot, lambda: app.screen is screen, "saved")
        after = world.activity("review")
        assert after.start == tokyo.start and after.timezone == "Asia/Tokyo"
        assert after.location == "Room 5"

    run(world, check)


def test_problems_in_several_fields_are_shown_together(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        form = await open_form(app, pilot, "n")
        form.query_one("#end-time", Input).value = "1"
        await save(pilot, form)
        assert error(form, "title") == "must not be empty"
        assert error(form, "end").startswith("is not a time")
        assert error(form, "start") == ""
        assert app.screen is form

    run(world, check)


def test_f2_saves_as_the_contact_form_does(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        form = await open_form(app, pilot, "e")
        form.query_one("#title", Input).value = "Call Carla, saved with F2"
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen, "back on the list")
        assert world.activity("call").title == "Call Carla, saved with F2"

    run(world, check)


def test_an_activity_saved_by_someone_else_meanwhile_is_merged_not_overwritten(
        world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        form = await open_form(app, pilot, "e")
        assert form.query_one("#title", Input).value == "Call Carla about the renewal"
        # Bob saves the activity while Ann's form is open.
        current = world.activity("call")
        world.repo.update_activity(current.evolve(title="Call Carla today", location="Room 7",
                                                  modified_by=world.bob.id))
        form.query_one("#title", Input).value = "Call Carla back"
        form.query_one("#end-time", Input).value = "15:00"
        await save(pilot, form)
        await wait_for(pilot, lambda: "changed by Bob Stone at" in error(form, "form"),
                       "the refusal")
        assert app.screen is form
        assert world.activity("call").title == "Call Carla today"
        assert form.query_one("#title", Input).value == "Call Carla back"  # mine
        assert error(form, "title") == "Bob Stone set: Call Carla today"
        assert form.query_one("#location", Input).value == "Room 7"  # only Bob changed it
        assert form.query_one("#end-time", Input).value == "15:00"  # only Ann changed it
        await save(pilot, form)
        await wait_for(pilot, lambda: app.screen is screen, "back on the list")
        after = world.activity("call")
        assert (after.title, after.location) == ("Call Carla back", "Room 7")
        assert after.end == datetime(2026, 11, 23, 15, 0, tzinfo=PARIS)
        assert after.modified_by == world.ann.id

    run(world, check)
