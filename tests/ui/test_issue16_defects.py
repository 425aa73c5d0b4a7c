"""Defects found using the TUI as a salesperson would (issue 16), each pinned by a Pilot test."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    HelpPanel,
    Input,
    Label,
    OptionList,
    Select,
    Static,
)
from textual.widgets.data_table import ColumnKey

from crmtui.app import CrmApp
from crmtui.cli import tui_services
from crmtui.demo import demo_client_secrets
from crmtui.emulator.control_client import EmulatorControl
from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import (
    Account,
    Activity,
    Conflict,
    Contact,
    Email,
    SyncKind,
    SyncRun,
    User,
    ValidationError,
)
from crmtui.screens.accounts import AccountsScreen, LinkGoogleModal
from crmtui.screens.activities import ActivitiesScreen
from crmtui.screens.activity_detail import ActivityDetailScreen
from crmtui.screens.activity_form import ActivityForm
from crmtui.screens.confirm import Choose, Confirm
from crmtui.screens.contact_form import ContactForm, EntryRow
from crmtui.screens.context import Services, sync_commands
from crmtui.screens.keys import KeysScreen
from crmtui.screens.sync_log import ConflictDetail, ConflictsScreen
from crmtui.store import ContactQuery, TinyDBRepository
from crmtui.sync.contacts.mapping import apply_fields, contact_fields
from crmtui.sync.google.people_mapping import person_body, to_fields
from crmtui.sync.remote import LinkError
from crmtui.widgets import LazyTable
from crmtui.widgets.picker import Picker

from .activity_fixtures import NOW, World, at, run, table, world
from .conftest import Demo
from .contacts_fixtures import edit_contact, run_contacts, seed
from .pilot_helpers import SIZE, line, wait_for

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


# -- 4. every screen at 80x24; tables drop columns by priority ------------------------------------


def shows(app: CrmApp, widget: Widget, x: int, y: int = 1) -> bool:
    """The cell (x, y) of ``widget`` (relative to its region) is on the screen and shows it,
    not something over it or the void past a clipped container."""
    region = widget.region
    at_x, at_y = region.x + x, region.y + y
    if not (0 <= at_x < app.size.width and 0 <= at_y < app.size.height):
        return False
    try:
        found, _ = app.screen.get_widget_at(at_x, at_y)
    except Exception:  # nothing there
        return False
    return found is widget or widget in found.ancestors


def test_sync_settings_fit_80_columns(demo_google: Demo) -> None:
    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            await pilot.pause()
            screen = app.screen
            for name in ("contacts", "activities"):
                period = screen.query_one(f"#{name}-period", Select)
                box = screen.query_one(f"#{name}-auto", Checkbox)
                period.focus()
                for _ in range(100):  # focus scrolls it into view, in a later refresh
                    await pilot.pause(0.02)
                    if shows(app, period, 1) and shows(app, period, period.region.width - 2):
                        break
                width = period.region.width
                assert shows(app, period, 1) and shows(app, period, width - 2), name
                label = str(box.label)
                assert shows(app, box, len(label) + 4), (name, box.region)  # label not cut
            for widget in screen.query(Label).results():
                text = str(widget.content)
                # on screen: its first cell shows it (not scrolled away, not under the footer)
                on_screen = widget.region.height and shows(app, widget, 0, 0)
                if widget.display and text and on_screen:  # not cut on the right
                    end = min(len(text.splitlines()[0]), widget.region.width) - 1
                    assert shows(app, widget, end, 0), text
    asyncio.run(main())


def test_tables_drop_columns_by_priority_when_narrow(demo_google: Demo) -> None:
    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=(60, 20)) as pilot:
            table_ = app.screen.query_one("#contacts", LazyTable)
            await wait_for(pilot, lambda: table_.row_count > 0, "the contacts")
            header = line(table_, 0)
            assert "Name" in header and "Email" in header
            assert "Phone" not in header and "Tags" not in header
            widths = dict(zip((c.key for c in table_.columns),
                              table_.column_widths(table_.scrollable_content_region.width),
                              strict=True))
            assert widths["phone"] == widths["tags"] == 0
            assert widths["name"] >= 14 and widths["email"] >= 14  # not squeezed to 5
        app = demo_google.app()
        async with app.run_test(size=(120, 30)) as pilot:
            table_ = app.screen.query_one("#contacts", LazyTable)
            await wait_for(pilot, lambda: table_.row_count > 0, "the contacts")
            assert all(h in line(table_, 0) for h in ("Phone", "Tags", "Job title"))
        app = demo_google.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            activities = app.screen.query_one("#activities", LazyTable)
            await wait_for(pilot, lambda: activities.row_count > 0, "the activities")
            header = line(activities, 0)
            assert all(h in header for h in ("When", "Title", "Organizer")), header
            assert "People" not in header
    asyncio.run(main())


# -- 5. the link dialog ---------------------------------------------------------------------------


def screen_rows(app: CrmApp) -> list[str]:
    """The screen's text, row by row."""
    return ["".join(segment.text for segment in strip)
            for strip in app.screen._compositor.render_strips()]


def test_the_demo_links_at_once_without_a_browser(demo_google: Demo) -> None:
    services = tui_services(demo_google.repo, demo_google.directory, demo_google.user_id,
                            demo=True, google_endpoint=demo_google.emulator.base_url,
                            client_secrets=demo_client_secrets(demo_google.emulator))
    before = {a.id for a in demo_google.repo.list_accounts(demo_google.user_id)}

    async def main() -> None:
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            screen = app.screen
            assert isinstance(screen, AccountsScreen)
            await pilot.press("n")
            for _ in range(500):  # no browser opens the address: the demo must not wait
                await pilot.pause(0.02)
                if screen.linking is None:
                    break
            waiting = screen.linking
            if waiting is not None:
                waiting.set()  # end the wait, so that the app can close
            assert waiting is None, "still waiting for a browser"
            assert app.screen is screen
            assert "Linked " in str(screen.query_one("#accounts-status", Label).content)
    asyncio.run(main())
    after = demo_google.repo.list_accounts(demo_google.user_id)
    assert after and {a.id for a in after} >= before


def test_the_link_dialog_without_client_secrets_says_what_to_do_in_full(
        demo_google: Demo) -> None:
    services = tui_services(demo_google.repo, demo_google.directory, demo_google.user_id)

    async def main() -> None:
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            screen = app.screen
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, LinkGoogleModal)
                           and bool(app.screen.error), "the failure")
            await pilot.pause()
            modal = app.screen
            assert isinstance(modal, LinkGoogleModal)
            text = "\n".join(screen_rows(app))
            assert "(preparing the address" not in text
            assert not modal.query_one("#link-url-box").display
            error = modal.query_one("#link-error", Static)
            assert str(error.content).startswith("Linking failed: no OAuth client is set up")
            # Every word of the instructions is on the screen (wrapped, not cut off).
            shown = "".join("".join(screen_rows(app)).split())
            assert "".join(str(error.content).split()) in shown
            assert "config.toml,orrun`crmtuiaccountlinkgoogle--client-secretsFILE`" in shown
            await pilot.press("escape")
            assert app.screen is screen
    asyncio.run(main())


def test_the_consent_address_has_a_row_of_its_own(repo: TinyDBRepository, ann: User) -> None:
    url = ("http://127.0.0.1:9/o/oauth2/auth?response_type=code&client_id=" + "x" * 150
           + "&redirect_uri=http%3A%2F%2Flocalhost%3A4711%2F&scope=contacts&state=" + "s" * 40)

    def waiting(user_id: str, show_url: Callable[[str], None],
                cancelled: threading.Event) -> Account:
        show_url(url)
        cancelled.wait(30)
        raise LinkError("cancelled")

    async def main() -> None:
        services = Services(repo, ann.id, Path(repo.path).parent, link_google=waiting)
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3", "n")
            await wait_for_url(pilot, app)
            modal = app.screen
            assert isinstance(modal, LinkGoogleModal)
            box = modal.query_one("#link-url", Static).region
            [row] = screen_rows(app)[box.y:box.bottom]
            assert row.strip() == url[:len(row.strip())]  # nothing but the address
            assert len(row.strip()) >= 76  # the whole width of the terminal
            await pilot.press("c")
            assert app.clipboard == url
            await pilot.press("escape")
    asyncio.run(main())


async def wait_for_url(pilot: Pilot, app: CrmApp) -> None:
    for _ in range(300):
        await pilot.pause(0.02)
        if isinstance(app.screen, LinkGoogleModal) and app.screen.url:
            await pilot.pause()
            return
    raise AssertionError("no consent address shown")


# -- 6. the Conflicts view ------------------------------------------------------------------------


def test_conflicts_read_as_a_person_reads_them_and_can_be_restored(demo_google: Demo) -> None:
    repo, user_id = demo_google.repo, demo_google.user_id
    contact = repo.get_contact(repo.contact_ids(ContactQuery(), user_id)[0], user_id)
    ours = [{"value": "lucia@new.example", "type": "work", "primary": True}]
    theirs = [{"value": "lucia.lopez@old.example", "type": "home", "primary": True},
              {"value": "l.lopez@second.example", "type": "other", "primary": False}]
    repo.update_contact(contact.evolve(emails=[Email.from_dict(e) for e in ours]), user_id)
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    repo.add_run(SyncRun(user_id=user_id, kind=SyncKind.CONTACTS, started=at, finished=at,
                         status="ok", conflicts=[Conflict(
                             record_id=contact.id, field_name="emails", kept=ours, lost=theirs,
                             winner="crm", at=at)]))
    before = repo.get_contact(contact.id, user_id)

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("6")
            screen = app.screen
            assert isinstance(screen, ConflictsScreen)
            table = screen.query_one(DataTable)
            row = [str(cell) for cell in table.get_row_at(0)]
            assert row[3] == "crmtui"  # who won, before the values: on screen at 80 columns
            assert row[4].startswith("lucia@new.example (work, pri")  # shortened to fit
            assert row[5].startswith("lucia.lopez@old.example (home")
            assert "crmtui" in screen_rows(app)[7]
            assert not any("{" in cell or "'value'" in cell for cell in row)
            won = table.columns[ColumnKey("won")]
            assert won.get_render_width(table) >= len("crmtui") + 2  # not cut
            await pilot.press("enter")
            await pilot.pause()
            detail = app.screen
            assert isinstance(detail, ConflictDetail)
            text = detail.text.plain
            for part in (contact.display_name, "Field: emails", "lucia@new.example (work, primary)",
                         "lucia.lopez@old.example (home, primary)",
                         "l.lopez@second.example (other)", "Won: crmtui", "Overwritten (Google's)",
                         "When: 2026-11-20"):
                assert part in text, (part, text)
            await pilot.press("r")
            await pilot.pause()
            assert app.screen is screen
    asyncio.run(main())
    after = repo.get_contact(contact.id, user_id)
    assert [e.to_dict() for e in after.emails] == [Email.from_dict(e).to_dict() for e in theirs]
    assert after.modified > before.modified  # an edit: the next sync sends it


def test_restoring_an_activity_field(world: World) -> None:
    call = world.activity("call")
    world.repo.update_activity(call.evolve(location="Room 2"))
    world.repo.add_run(SyncRun(user_id="ann", kind=SyncKind.ACTIVITIES, started=NOW,
                               finished=NOW, status="ok", conflicts=[Conflict(
                                   record_id="call", field_name="location", kept="Room 2",
                                   lost="Phone", winner="google", at=NOW)]))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("6")
        conflicts = app.screen
        assert isinstance(conflicts, ConflictsScreen)
        await pilot.press("r")
        await pilot.pause()

    run(world, check)
    assert world.activity("call").location == "Phone"


# -- 7. key remapping -----------------------------------------------------------------------------


def test_a_remap_that_clashes_is_reported_with_both_ids(demo_google: Demo) -> None:
    notes: list[str] = []

    async def main() -> None:
        app = demo_google.app(keymap={"contacts.delete": "j", "no.such.id": "f9"})
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            notes.extend(str(n.message) for n in app._notifications)
            table_ = app.screen.query_one("#contacts", LazyTable)
            await wait_for(pilot, lambda: table_.row_count > 0, "the contacts")
            await pilot.press("d")  # replaced: d no longer deletes (and was reported)
            await pilot.pause()
            assert not isinstance(app.screen, Confirm)
            await pilot.press("question_mark")
            await pilot.pause()
            keys = app.screen
            assert isinstance(keys, KeysScreen)
            hint = keys.query_one("#keys-hint", Static)
            assert "[keys] table" in str(hint.render())  # not eaten as markup
    asyncio.run(main())
    clash = [n for n in notes if "contacts.delete" in n]
    assert clash, notes
    assert "table.down" in clash[0] and "no longer d" in clash[0] and "[keys]" in clash[0]
    unknown = [n for n in notes if "no.such.id" in n]
    assert unknown and "[keys]" in unknown[0]


def test_remaps_that_clash_with_nothing_are_not_reported(demo_google: Demo) -> None:
    async def main() -> None:
        app = demo_google.app(keymap={"contacts.delete": "x", "app.keys": "f1"})
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert not [n for n in app._notifications if "clash" in str(n.title).lower()]
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the delete question")
    asyncio.run(main())


# -- 8. forms -------------------------------------------------------------------------------------


def test_the_contact_form_opens_without_a_selected_field_and_errors_clear_when_fixed(
        repo: TinyDBRepository) -> None:
    people = seed(repo)
    hopper = people.by_family("Hopper")

    async def check(app: CrmApp, pilot: Pilot, screen: Any) -> None:
        form = await edit_contact(app, pilot, screen, hopper.id)
        given = form.query_one("#given_name", Input)
        assert app.focused is given and given.selected_text == ""
        await pilot.press("x")  # a stray key adds to the name, it does not replace it
        assert given.value in ("Gracex", "xGrace")
        given.value = "Grace"
        form.query_one("#birthday", Input).value = "1906-13-09"
        form.query_one("#company", Input).value = ""
        await pilot.press("f2")
        await pilot.pause()
        birthday = form.query_one("#error-birthday", Label)
        assert birthday.display
        form.query_one("#birthday", Input).value = "1906-12-09"  # fixed: the error goes
        await pilot.pause()
        assert not birthday.display
        assert app.screen is form
        # A long error wraps inside the form instead of being cut.
        form.query_one("#given_name", Input).value = ""
        form.query_one("#family_name", Input).value = ""
        for row in form.query(".email-row").results(EntryRow):
            row.query_one(Input).value = ""
        await pilot.press("f2")
        await pilot.pause()
        name_error = form.query_one("#error-given_name", Label)
        assert name_error.display
        message = str(name_error.content)
        assert name_error.region.height >= 2 or name_error.region.width >= len(message)
        assert name_error.region.right <= name_error.parent.region.right  # type: ignore[union-attr]

    run_contacts(people.services(), check, size=(80, 24))


def test_escape_leaves_a_field_in_sync_settings(demo_google: Demo) -> None:
    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            await pilot.pause()
            group = app.screen.query_one("#group-name", Input)
            group.focus()
            group.value = ""
            await pilot.press("a", "b", "escape", "5")
            await pilot.pause()
            assert group.value == "ab"
            assert app.current_mode == "sync"  # 5 went to the app, not into the field
    asyncio.run(main())


def test_an_activity_form_error_clears_when_the_field_is_fixed(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
        form = app.screen
        assert isinstance(form, ActivityForm)
        title = form.query_one("#title", Input)
        assert app.focused is title and title.selected_text == ""
        form.query_one("#end-time", Input).value = "13:00"
        form.query_one("#save", Button).press()
        await pilot.pause()
        assert form_error(form, "end") == "is before the start"
        form.query_one("#end-time", Input).value = "15:00"
        await pilot.pause()
        assert form_error(form, "end") == ""

    run(world, check)


# -- 9. smaller ones ------------------------------------------------------------------------------


def test_the_palette_says_an_activities_sync_and_its_keys_are_crmtuis(
        demo_google: Demo) -> None:
    helps = {c.label: c.help for c in sync_commands("activities") + sync_commands("contacts")}
    assert helps["synchronize activities now"].startswith("Run an activities sync")
    assert helps["synchronize contacts now"].startswith("Run a contacts sync")

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*"Keys")
            await wait_for(pilot, lambda: app.screen.query_one(OptionList).option_count > 0,
                           "the palette's hits")
            prompts = [str(app.screen.query_one(OptionList).get_option_at_index(i).prompt)
                       for i in range(app.screen.query_one(OptionList).option_count)]
            index = next(i for i, p in enumerate(prompts) if p.split("\n")[0] == "Keys")
            app.screen.query_one(OptionList).highlighted = index
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, KeysScreen), "crmtui's keys")
            assert not app.screen.query(HelpPanel)
    asyncio.run(main())


def test_a_modal_shows_its_own_keys_in_the_footer(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.pause()
        bottom = screen_rows(app)[-1]
        assert "Yes" in bottom and "No" in bottom, bottom
        assert "Filter" not in bottom and "New" not in bottom, bottom  # not the list's keys
        await pilot.press("n")

    run(world, check)


def test_enter_on_an_activity_opens_its_page_naming_the_time_zone(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        assert "When (Europe/Paris)" in line(table(app), 0)  # the list names the zone
        table(app).cursor_row = table(app).keys.index("call")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityDetailScreen), "the page")
        page = app.screen
        assert isinstance(page, ActivityDetailScreen)
        text = "\n".join(screen_rows(app))
        assert "Call Carla about the renewal" in text
        assert "Mon 23 Nov 2026 14:00–14:30  (time zone Europe/Paris)" in text
        assert "Carla Diaz (contact)" in text and "Ann Lee <ann@example.com>" in text
        assert not page.query(Input)  # read-only
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")

    run(world, check)


def test_a_fresh_list_puts_the_cursor_on_the_next_activity(world: World) -> None:
    # Earlier today (Paris): over at 10:00, when the list opens.
    world.repo.add_activity(Activity(id="standup", title="Stand-up", start=at(23, 8),
                                     end=at(23, 8, 30), organizer_id="ann", owner_id="ann"))

    async def check(app: CrmApp, pilot: Pilot, screen: ActivitiesScreen) -> None:
        keys = list(table(app).keys)
        assert keys.index("standup") < keys.index("call")  # both listed under today
        assert table(app).cursor_key == "call"

    run(world, check)


def test_a_gmail_honorific_maps_to_the_contacts_both_ways(demo_google: Demo) -> None:
    person = {"names": [{"honorificPrefix": "Dr", "givenName": "Hélène",
                         "familyName": "Roux"}]}
    fields = to_fields(person)
    assert fields["honorific"] == "Dr" and fields["given_name"] == "Hélène"
    body = person_body({**fields, "honorific": "Prof."}, person)
    assert body["names"][0]["honorificPrefix"] == "Prof."
    assert body["names"][0]["givenName"] == "Hélène"
    contact = Contact(given_name="Hélène", family_name="Roux", honorific="Dr")
    assert contact_fields(contact)["honorific"] == "Dr"
    assert apply_fields(contact, {**contact_fields(contact), "honorific": ""}).honorific == ""

    async def main() -> None:  # the contact form edits it
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            table_ = app.screen.query_one("#contacts", LazyTable)
            await wait_for(pilot, lambda: table_.row_count > 0, "the contacts")
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, ContactForm), "the form")
            form = app.screen
            form.query_one("#honorific", Input).value = "Dr"
            form.query_one("#given_name", Input).value = "Hélène"
            form.query_one("#family_name", Input).value = "Roux"
            await pilot.press("f2")
            await wait_for(pilot, lambda: not isinstance(app.screen, ContactForm), "saved")
    asyncio.run(main())
    repo = demo_google.repo
    ids = repo.contact_ids(ContactQuery(text="Hélène Roux"), demo_google.user_id)
    assert [repo.get_contact(i).honorific for i in ids] == ["Dr"]


def test_the_honorific_travels_both_ways_through_a_sync(demo_google: Demo) -> None:
    repo, user_id = demo_google.repo, demo_google.user_id
    control = EmulatorControl(demo_google.emulator)

    async def main() -> None:
        app = demo_google.app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.running, "the first sync", attempts=1500)
            email = repo.list_accounts(user_id)[0].email
            group = repo.get_sync_settings(user_id).contacts_group_name
            [found] = [g for g in control.groups(email) if g.get("name") == group]
            control.create_contact(email, {
                "names": [{"honorificPrefix": "Dr", "givenName": "Hélène",
                           "familyName": "Roux"}],
                "emailAddresses": [{"value": "helene.roux@clinique.example"}],
                "memberships": [{"contactGroupMembership": {
                    "contactGroupResourceName": found["resourceName"]}}]})
            link = repo.list_links(user_id, SyncKind.CONTACTS)[0]
            mine = repo.get_contact(link.local_id, user_id)
            repo.update_contact(mine.evolve(honorific="Prof."), user_id)
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.running, "the second sync", attempts=1500)
            [helene] = [repo.get_contact(i, user_id) for i in repo.contact_ids(
                ContactQuery(text="helene.roux@clinique.example"), user_id)]
            assert helene.honorific == "Dr"  # from Gmail
            person = next(p for p in control.contacts(email)
                          if p["resourceName"] == link.remote_id)
            assert person["names"][0].get("honorificPrefix") == "Prof."  # to Gmail
    asyncio.run(main())
