"""The contact form: creating (two emails), editing, errors beside their fields, Enter never
saving, Escape asking about unsaved changes."""

from __future__ import annotations

from datetime import date

from textual.widgets import Input, Label, Select, TextArea

from crmtui.screens.confirm import Confirm
from crmtui.screens.contact_form import ContactForm, EntryRow

from .contacts_fixtures import edit_contact, run_contacts, seed
from .pilot_helpers import status, wait_for


def set_value(form: ContactForm, widget_id: str, value: str) -> None:
    form.query_one(f"#{widget_id}", Input).value = value


def rows(form: ContactForm, kind: str) -> list[EntryRow]:
    return list(form.query(f".{kind}-row").results(EntryRow))


def error(form: ContactForm, field: str) -> str:
    label = form.query_one(f"#error-{field}", Label)
    return str(label.content) if label.display else ""


def test_n_creates_a_contact_with_two_emails_and_the_cursor_goes_to_it(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ContactForm)
        assert app.focused is form.query_one("#given_name", Input)
        assert any(b.binding.id == "form.save" and b.binding.key == "f2"
                   for b in form.active_bindings.values())
        await pilot.press(*"Zoe")
        set_value(form, "family_name", "Quinn")
        set_value(form, "company", "Quinn & Co")
        set_value(form, "job_title", "Founder")
        rows(form, "email")[0].query_one(Input).value = "zoe@quinn.example"
        await pilot.click("#add-email")
        await pilot.pause()
        assert len(rows(form, "email")) == 2
        second = rows(form, "email")[1]
        assert app.focused is second.query_one(Input)
        await pilot.press(*"zq")
        second.query_one(Input).value += "@home.example"
        second.query_one(Select).value = "home"
        rows(form, "phone")[0].query_one(Input).value = "+44 20 7946 0000"
        set_value(form, "address-city", "London")
        set_value(form, "address-country", "United Kingdom")
        set_value(form, "birthday", "1990-04-01")
        form.query_one("#notes", TextArea).text = "Met at the fair."
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen, "the form closed")
        found = [c for c in repo.iter_contacts() if c.family_name == "Quinn"]
        assert len(found) == 1
        zoe = found[0]
        assert [(e.value, e.type, e.primary) for e in zoe.emails] == [
            ("zoe@quinn.example", "work", True), ("zq@home.example", "home", False)]
        assert zoe.phones[0].value == "+44 20 7946 0000" and zoe.phones[0].type == "mobile"
        assert zoe.addresses[0].city == "London"
        assert zoe.birthday == date(1990, 4, 1) and zoe.notes == "Met at the fair."
        assert zoe.owner_id == world.ann.id and zoe.job_title == "Founder"
        await wait_for(pilot, lambda: screen.table.cursor_key == zoe.id, "the cursor on it")
        assert screen.table.row_cells(screen.table.cursor_row)[0] == "Quinn, Zoe"
        assert status(pilot).startswith("23 contacts")

    run_contacts(world.services(), check)


def test_e_edits_and_errors_show_beside_their_fields(repo) -> None:
    world = seed(repo)
    hopper = world.by_family("Hopper")

    async def check(app, pilot, screen) -> None:
        form = await edit_contact(app, pilot, screen, hopper.id)
        assert form.query_one("#given_name", Input).value == "Grace"
        assert rows(form, "email")[0].value == hopper.emails[0].value
        set_value(form, "birthday", "1906-13-09")
        rows(form, "email")[0].query_one(Input).value = "grace-at-navy"
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is form  # not saved
        assert error(form, "birthday").startswith("Birthday is not a date")
        row_error = rows(form, "email")[0].error
        assert row_error.display and "not a valid email address" in str(row_error.content)
        assert error(form, "given_name") == ""
        set_value(form, "birthday", "1906-12-09")
        rows(form, "email")[0].query_one(Input).value = "grace@navy.example"
        set_value(form, "job_title", "Computer scientist")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen, "the form closed")
        saved = repo.get_contact(hopper.id)
        assert saved.birthday == date(1906, 12, 9) and saved.job_title == "Computer scientist"
        assert saved.emails[0].value == "grace@navy.example" and saved.emails[0].primary
        assert saved.tags == hopper.tags and saved.created == hopper.created
        t = screen.table
        await wait_for(pilot, lambda: t.row_cells(t.cursor_row)[2] == "Computer scientist",
                       "the list updated")
        assert t.cursor_key == hopper.id

    run_contacts(world.services(), check)


def test_a_contact_without_a_name_is_refused_under_the_name(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        rows(form, "phone")[0].query_one(Input).value = "12"
        await pilot.click("#save")
        await pilot.pause()
        assert app.screen is form
        assert "phone" in str(rows(form, "phone")[0].error.content).casefold()
        rows(form, "phone")[0].query_one(Input).value = ""
        await pilot.press("f2")
        await pilot.pause()
        assert error(form, "given_name") == "A contact needs a name, a company or an email"
        assert repo.count_contacts() == 22

    run_contacts(world.services(), check)


def test_enter_moves_to_the_next_field_and_never_saves(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Max", "enter")
        assert app.screen is form
        assert app.focused is form.query_one("#middle_name", Input)
        await pilot.press("enter", "enter")
        assert app.screen is form and repo.count_contacts() == 22

    run_contacts(world.services(), check)


def test_escape_asks_when_something_changed(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")  # nothing typed: closes at once
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Ida")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # keep editing
        await pilot.pause()
        assert app.screen is form
        assert form.query_one("#given_name", Input).value == "Ida"
        await pilot.click("#cancel")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen and repo.count_contacts() == 22

    run_contacts(world.services(), check)


def test_remove_takes_a_value_off(repo) -> None:
    world = seed(repo)
    knuth = world.by_family("Knuth")

    async def check(app, pilot, screen) -> None:
        form = await edit_contact(app, pilot, screen, knuth.id)
        await pilot.click("#add-phone")
        await pilot.pause()
        rows(form, "phone")[1].query_one(Input).value = "+1 650 555 0199"
        first = rows(form, "phone")[0]
        await pilot.click(first.query_one(".remove"))
        await pilot.pause()
        assert len(rows(form, "phone")) == 1
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen, "the form closed")
        phones = repo.get_contact(knuth.id).phones
        assert [p.value for p in phones] == ["+1 650 555 0199"] and phones[0].primary

    run_contacts(world.services(), check)


def test_a_contact_a_sync_changed_meanwhile_is_refused_naming_the_sync(repo) -> None:
    """A sync writes what it pulled keeping the last person's stamp: the refusal names the
    sync, not that person and their old time."""
    world = seed(repo)
    hopper = world.by_family("Hopper")

    async def check(app, pilot, screen) -> None:
        form = await edit_contact(app, pilot, screen, hopper.id)
        # The sync pulls a new job title while Ann's form is open (as a pull writes it).
        repo.revise_contact(hopper.id, lambda c: c.evolve(job_title="Rear Admiral"),
                            world.ann.id)
        set_value(form, "job_title", "Computer scientist")
        await pilot.press("f2")
        await wait_for(pilot, lambda: "changed by a sync with Google." in error(form, "form"),
                       "the refusal")
        assert "Bob" not in error(form, "form") and " at " not in error(form, "form")
        assert error(form, "job_title") == "a sync with Google set: Rear Admiral"
        assert repo.get_contact(hopper.id).job_title == "Rear Admiral"  # not saved

    run_contacts(world.services(), check)


def test_a_contact_saved_by_someone_else_meanwhile_is_merged_not_overwritten(repo) -> None:
    world = seed(repo)
    hopper = world.by_family("Hopper")

    async def check(app, pilot, screen) -> None:
        form = await edit_contact(app, pilot, screen, hopper.id)
        # Bob saves the contact while Ann's form is open.
        repo.update_contact(repo.get_contact(hopper.id).evolve(
            job_title="Commodore", notes="Bob's note"), world.bob.id)
        set_value(form, "job_title", "Computer scientist")
        set_value(form, "company", "Navy")
        await pilot.press("f2")
        await wait_for(pilot, lambda: "changed by Bob Stone at" in error(form, "form"),
                       "the refusal")
        assert app.screen is form  # not saved
        stored = repo.get_contact(hopper.id)
        assert (stored.job_title, stored.notes, stored.company) == (
            "Commodore", "Bob's note", "US Navy")
        # Both changed the job title: mine stays in the field, Bob's is shown under it.
        assert form.query_one("#job_title", Input).value == "Computer scientist"
        assert error(form, "job_title") == "Bob Stone set: Commodore"
        # Only Bob changed the notes: the form took his; only Ann changed the company.
        assert form.query_one("#notes", TextArea).text == "Bob's note"
        assert form.query_one("#company", Input).value == "Navy"
        await pilot.press("f2")  # saved again, deliberately
        await wait_for(pilot, lambda: app.screen is screen, "the form closed")
        saved = repo.get_contact(hopper.id)
        assert (saved.job_title, saved.company, saved.notes) == (
            "Computer scientist", "Navy", "Bob's note")
        assert saved.modified_by == world.ann.id

    run_contacts(world.services(), check)
