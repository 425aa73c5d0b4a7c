"""The contacts list, its search and sorting, the detail view and the keys overlay."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Header, Input, Static

from crmtui.app import CrmApp
from crmtui.demo import seed_demo
from crmtui.model import Contact
from crmtui.screens import ContactDetailScreen, ContactsScreen, KeysScreen
from crmtui.screens.contacts import list_name
from crmtui.screens.context import Services
from crmtui.store import ContactQuery, Repository, StoreError, TinyDBRepository, open_store
from crmtui.store import tinydb_front as front
from crmtui.widgets import LazyTable

from .pilot_helpers import SIZE, line, plain, status, wait_for

Check = Callable[[CrmApp, Pilot], Awaitable[None]]


def run(repo: Repository, user_id: str, check: Check, *, demo: bool = True,
        google_endpoint: str = "") -> None:
    async def main() -> None:
        app = CrmApp(Services(repo, user_id, Path(repo.path).parent, demo=demo,
                                google_endpoint=google_endpoint))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: table(app).row_count > 0, "the first rows")
            await check(app, pilot)
    asyncio.run(main())


def screen(app: CrmApp) -> ContactsScreen:
    current = app.screen
    assert isinstance(current, ContactsScreen)
    return current


def table(app: CrmApp) -> LazyTable:
    return app.screen.query_one("#contacts", LazyTable)


def first_name_in(repo: Repository, user_id: str, query: ContactQuery) -> str:
    ids = repo.contact_ids(query, user_id)
    return list_name(repo.get_contact(ids[0]))


def test_the_table_shows_contacts_and_the_header_the_user(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        assert isinstance(app.screen, ContactsScreen)
        t = table(app)
        assert t.row_count == repo.count_contacts()
        assert "Name ▲" in line(t, 0) and "Company" in line(t, 0)
        first = first_name_in(repo, user_id, ContactQuery())
        assert t.row_cells(0)[0] == first
        assert line(t, 1).strip().startswith(first[:12])
        assert status(pilot).startswith(f"{repo.count_contacts():,} contacts")
        assert "Alex Morgan (demo)" in app.screen.query_one(Header).screen_sub_title
        assert app.focused is t

    run(repo, user_id, check)


def test_without_demo_the_header_shows_only_the_name(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        assert app.sub_title == "Alex Morgan"

    run(repo, user_id, check, demo=False)


def test_the_header_shows_the_google_emulator_the_demo_runs(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        shown = app.screen.query_one(Header).screen_sub_title
        assert "Alex Morgan (demo) · Google emulator 127.0.0.1:8765" in shown

    run(repo, user_id, check, google_endpoint="http://127.0.0.1:8765")


def test_typing_in_the_search_filters(demo: tuple) -> None:
    repo, user_id = demo
    expected = repo.contact_ids(ContactQuery(text="mül"), user_id)
    assert 0 < len(expected) < 100

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press("m", "ü", "l")  # letters bound elsewhere go to the search box
        await wait_for(pilot, lambda: table(app).row_count == len(expected), "the search")
        assert list(table(app).keys) == expected
        assert "mül" in line(table(app), 1).casefold() or \
            "mul" in line(table(app), 1).casefold()
        assert status(pilot).startswith(f"{len(expected)} of {repo.count_contacts():,}")
        await pilot.press("q")  # types a q: no contact matches "mülq"
        await wait_for(pilot, lambda: table(app).row_count == 0, "no match")
        assert line(table(app), 1).strip() == "No contact matches “mülq”."
        await pilot.press("backspace", "escape")
        await wait_for(pilot, lambda: table(app).row_count == len(expected), "the search")
        assert app.focused is table(app)

    run(repo, user_id, check)


def test_keys_typed_right_after_the_slash_reach_the_search_box(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        search = app.screen.query_one("#search", Input)
        for key, char in (("slash", "/"), ("m", "m"), ("s", "s"), ("slash", "/")):
            app.post_message(events.Key(key, char))  # all queued before any is handled
        await wait_for(pilot, lambda: search.value == "ms/", "the typed text")
        assert app.screen.contact_query.sort == "name"
        await pilot.press("escape")
        assert app.focused is table(app)

    run(repo, user_id, check)


def test_enter_opens_the_detail_and_escape_returns(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await pilot.press("down", "down")
        key = table(app).cursor_key
        contact = repo.get_contact(key)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ContactDetailScreen)
        heading = plain(app.screen.query_one("#detail-heading", Static).content)
        fields = plain(app.screen.query_one("#detail-fields", Static).content)
        assert app.screen.contact.id == key
        assert heading.startswith(contact.display_name)
        for label in ("Emails", "Phones", "Addresses", "Birthday", "Tags", "Owner", "Notes",
                      "Created", "Modified"):
            assert label in fields
        for item in [*contact.emails, *contact.phones]:
            assert item.value in fields
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        assert table(app).cursor_key == key

    run(repo, user_id, check)


def test_another_users_private_tag_never_shows(demo: tuple) -> None:
    repo, user_id = demo
    sofia = repo.find_user("sofia.ramirez@brightline.example.com")
    golf = repo.find_tag("Golf partners", sofia.id)
    assert repo.find_tag("Golf partners", user_id) is None
    holder = repo.get_contact(repo.contact_ids(ContactQuery(tag_ids=(golf.id,)), sofia.id)[0])
    assert golf.id in holder.tags

    async def check(app: CrmApp, pilot: Pilot) -> None:
        t = table(app)
        index = list(t.keys).index(holder.id)
        await pilot.press(*["down"] * index)
        assert t.cursor_key == holder.id
        cells = t.row_cells(index)
        assert cells[0] == list_name(holder)
        assert "Golf partners" not in cells[-1]
        assert all("Golf partners" not in line(t, y) for y in range(1, 38))
        await pilot.press("enter")
        await pilot.pause()
        assert "Golf" not in str(app.screen.tag_text())

    run(repo, user_id, check)


def test_the_users_own_private_tag_shows(demo: tuple) -> None:
    repo, user_id = demo
    google = repo.find_tag("Google", user_id)
    ids = repo.contact_ids(ContactQuery(tag_ids=(google.id,)), user_id)

    async def check(app: CrmApp, pilot: Pilot) -> None:
        t = table(app)
        index = list(t.keys).index(ids[0])
        assert "Google" in t.row_cells(index)[-1]

    run(repo, user_id, check)


def test_sorting_by_keys_and_by_clicking_a_header(demo: tuple) -> None:
    repo, user_id = demo
    by_name = first_name_in(repo, user_id, ContactQuery())
    by_company = first_name_in(repo, user_id, ContactQuery(sort="company"))
    by_company_desc = first_name_in(repo, user_id, ContactQuery(sort="company", descending=True))
    by_job = first_name_in(repo, user_id, ContactQuery(sort="job_title"))
    assert len({by_name, by_company, by_company_desc}) == 3

    async def check(app: CrmApp, pilot: Pilot) -> None:
        t = table(app)
        assert t.row_cells(0)[0] == by_name
        await pilot.press("s")
        await wait_for(pilot, lambda: t.row_cells(0)[0] == by_company, "sort by company")
        assert "Company ▲" in line(t, 0)
        assert "sorted by company, ascending" in status(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: t.row_cells(0)[0] == by_company_desc, "reversed")
        assert "Company ▼" in line(t, 0)
        x = line(t, 0).index("Job title")
        await pilot.click("#contacts", offset=(x + 1, 0))
        await wait_for(pilot, lambda: t.row_cells(0)[0] == by_job, "sort by job title")
        await pilot.click("#contacts", offset=(2, 0))
        await wait_for(pilot, lambda: t.row_cells(0)[0] == by_name, "back to names")

    run(repo, user_id, check)


def test_question_mark_lists_the_keys(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        listed = dict(app.screen.key_rows)
        assert {"/": "Search", "s": "Sort column", "r": "Reverse sort", "q": "Quit",
                "?": "Keys", "↓": "Next row"}.items() <= listed.items()
        assert "Scroll Left" not in listed.values()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running

    run(repo, user_id, check)


def test_every_binding_is_described_and_avoids_multiplexer_keys(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        ours = [b.binding for b in app.screen.active_bindings.values() if b.binding.id]
        assert {b.key for b in ours} >= {"slash", "s", "r", "enter", "q", "question_mark"}
        for binding in ours:
            assert binding.description
            assert not {"ctrl+j", "ctrl+o", "ctrl+s"} & set(binding.key.split(","))

    run(repo, user_id, check)


def test_a_contact_deleted_meanwhile_shows_as_deleted(demo: tuple) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        t = table(app)
        victim = t.keys[1]
        repo.delete_contact(victim)
        t.invalidate()
        assert t.row_cells(1) == ("(deleted)",)
        assert t.row_cells(0)[0] == first_name_in(repo, user_id, ContactQuery())
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)  # nothing to open; a warning instead

    run(repo, user_id, check)


def test_a_store_error_is_reported_in_the_status_line(demo: tuple, monkeypatch) -> None:
    repo, user_id = demo

    async def check(app: CrmApp, pilot: Pilot) -> None:
        def broken(query: ContactQuery, viewer_id: str | None) -> list[str]:
            raise StoreError("the database is locked by another crmtui process")

        monkeypatch.setattr(repo, "contact_ids", broken)
        await pilot.press("s")
        await wait_for(pilot, lambda: "Cannot list" in status(pilot), "the error")
        assert "locked by another crmtui process" in status(pilot)
        assert table(app).row_count == 0

    run(repo, user_id, check)


def test_a_large_store_opens_with_only_the_visible_rows_loaded(tmp_path) -> None:
    repo = TinyDBRepository(tmp_path / "big")
    user_id = seed_demo(repo, contacts=20_000)
    last = first_name_in(repo, user_id, ContactQuery(descending=True))

    async def check(app: CrmApp, pilot: Pilot) -> None:
        t = table(app)
        assert t.row_count == 20_003
        assert line(t, 1).strip()
        assert t.cached_rows < 100
        await pilot.press("end")
        await pilot.pause()
        assert t.cursor_row == 20_002
        assert t.row_cells(t.cursor_row)[0] == last
        assert t.cached_rows < 200
        assert status(pilot).startswith("20,003 contacts")

    try:
        run(repo, user_id, check)
    finally:
        repo.close()


# -- keys, selection, tag filter, delete, the status line (fixed data) ---------------------------

from crmtui.model import SyncKind  # noqa: E402
from crmtui.screens.confirm import Confirm  # noqa: E402
from crmtui.screens.contacts import TagPicker  # noqa: E402
from crmtui.screens.sync_bar import local_time  # noqa: E402
from crmtui.screens.tags import TagEditor  # noqa: E402

from .contacts_fixtures import FIXED, run_contacts, seed  # noqa: E402


def names(t: LazyTable) -> list[str]:
    return [t.row_cells(i)[0] for i in range(t.row_count)]


def test_j_k_g_G_and_page_down_move_the_cursor(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        assert t.row_count == 22 and t.cursor_row == 0
        await pilot.press("j", "j", "j")
        assert t.cursor_row == 3
        await pilot.press("k")
        assert t.cursor_row == 2
        await pilot.press("G")
        assert t.cursor_row == 21 and t.cursor_key == t.keys[-1]
        await pilot.press("g")
        assert t.cursor_row == 0
        await pilot.press("pagedown")
        page = t._page_height
        assert 5 < page < 22 and t.cursor_row == page
        await pilot.press("pageup")
        assert t.cursor_row == 0
        await pilot.press("down", "up", "up")
        assert t.cursor_row == 0

    run_contacts(world.services(), check, size=(120, 18))


def test_space_selects_rows_and_t_tags_all_of_them(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("space", "space", "space")  # each press selects and moves down
        chosen = list(t.keys[:3])
        assert screen.selected == set(chosen) and t.cursor_row == 3
        assert "3 selected" in status(pilot)
        assert line(t, 1).startswith(" ✓") and line(t, 4).startswith("  ")
        await pilot.press("t")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, TagEditor) and editor.contact_ids == chosen
        assert str(editor.query_one("#tags-title", Static).content) == "Tags of 3 contacts"
        options = editor.query_one("#tag-list")
        options.highlighted = options.get_option_index(world.key_accounts.id)
        await pilot.press("enter")
        await pilot.pause()
        assert editor.state(world.key_accounts.id) == "all"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen and "Key accounts" in
                       t.row_cells(0)[-1], "the tags shown")
        for cid in chosen:
            assert world.key_accounts.id in repo.get_contact(cid).tags
        assert all("Key accounts" in t.row_cells(i)[-1] for i in range(3))
        assert "Key accounts" not in t.row_cells(3)[-1]
        await pilot.press("space")
        assert "4 selected" in status(pilot)
        await pilot.press("k", "space")  # back on the fourth row: toggles it off again
        assert screen.selected == set(chosen)

    run_contacts(world.services(), check)


def test_d_asks_and_cancel_keeps_the_contact(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("j")
        victim = t.cursor_key
        name = repo.get_contact(victim).display_name
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        assert app.screen.question == f"Delete {name}?"
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen
        assert repo.get_contact(victim).id == victim and t.row_count == 22
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: t.row_count == 21, "the deletion")
        assert victim not in t.keys
        assert repo.count_contacts() == 21
        assert t.cursor_row == 1  # on the contact that followed

    run_contacts(world.services(), check)


def test_d_with_several_selected_deletes_them_all(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("space", "j", "space", "space")
        chosen = screen.selected.copy()
        assert len(chosen) == 3
        await pilot.press("d")
        await pilot.pause()
        assert app.screen.question == "Delete 3 contacts?"
        await pilot.click("#confirm-yes")
        await wait_for(pilot, lambda: t.row_count == 19, "the deletion")
        assert not chosen & set(t.keys) and not screen.selected
        assert "selected" not in status(pilot)

    run_contacts(world.services(), check)


def test_a_users_own_contact_is_not_deleted_and_says_why(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        own = repo.get_user(world.ann.id).contact_id
        t.cursor_row = list(t.keys).index(own)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: any("Not deleted" in n.message
                                          for n in app._notifications), "the reason")
        assert repo.get_contact(own).id == own and t.row_count == 22

    run_contacts(world.services(), check)


def test_f_filters_by_a_tag_and_f_again_clears(repo) -> None:
    world = seed(repo)
    tagged = repo.contact_ids(ContactQuery(tag_ids=(world.customers.id,)), world.ann.id)
    assert 0 < len(tagged) < 22

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("f")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, TagPicker)
        listed = [str(o.prompt) for o in picker.query_one("#tag-picker").options]
        assert listed[0].startswith("All contacts")
        assert "Customers" in listed and "Google (private)" in listed
        assert "Key accounts (corporate)" in listed
        assert not any("Golf" in label for label in listed)  # Bob's private tag
        options = picker.query_one("#tag-picker")
        options.highlighted = options.get_option_index(world.customers.id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: t.row_count == len(tagged), "the tag filter")
        assert list(t.keys) == tagged
        assert status(pilot).startswith(f"{len(tagged)} of 22 contacts")
        assert "tag: Customers" in status(pilot)
        await pilot.press("f")
        await wait_for(pilot, lambda: t.row_count == 22, "the filter cleared")
        assert "tag:" not in status(pilot)
        await pilot.press("f")  # choosing "all" clears too
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert t.row_count == 22 and not screen.contact_query.tag_ids

    run_contacts(world.services(), check)


def test_escape_clears_the_selection_then_the_search_then_the_tag_filter(repo) -> None:
    world = seed(repo)
    with_tag = repo.contact_ids(ContactQuery(tag_ids=(world.customers.id,)), world.ann.id)
    matching = repo.contact_ids(ContactQuery(text="bell", tag_ids=(world.customers.id,)),
                                world.ann.id)
    assert len(matching) == 2

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("f")
        await pilot.pause()
        options = app.screen.query_one("#tag-picker")
        options.highlighted = options.get_option_index(world.customers.id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: t.row_count == len(with_tag), "the tag filter")
        await pilot.press("slash", *"lis")
        search = screen.query_one("#search", Input)
        search.value = "bell"
        await wait_for(pilot, lambda: list(t.keys) == matching and matching, "the search")
        await pilot.press("escape")  # leaves the search box
        assert app.focused is t and search.value == "bell"
        await pilot.press("space")
        assert screen.selected
        await pilot.press("escape")
        assert not screen.selected and screen.contact_query.text == "bell"
        await pilot.press("escape")
        await wait_for(pilot, lambda: t.row_count == len(with_tag), "the search cleared")
        assert search.value == "" and screen.contact_query.tag_ids
        await pilot.press("escape")
        await wait_for(pilot, lambda: t.row_count == 22, "the tag filter cleared")
        assert not screen.check_action("clear", ())  # nothing left: Escape goes to the app

    run_contacts(world.services(), check)


def test_the_status_line_shows_the_count_and_the_last_contact_sync(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        assert status(pilot).startswith("22 contacts")
        assert status(pilot).endswith("never synchronized")
        last = datetime(2026, 3, 1, 17, 45, tzinfo=UTC)
        repo.set_sync_state(world.ann.id, SyncKind.CONTACTS, {"last_sync": last.isoformat()})
        screen.refresh_data()
        shown = f"last sync {local_time(last, FIXED)}"
        await wait_for(pilot, lambda: status(pilot).endswith(shown), "the last sync")
        assert "2026-03-01" in shown  # another day than the (fixed) today

    run_contacts(world.services(), check)


def test_refresh_keeps_the_cursor_on_the_same_contact(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("j", "j", "j", "j")
        kept = t.cursor_key
        # Another process adds a contact sorted first, and renames another.
        repo.add_contact(Contact(given_name="Aaron", family_name="Aardvark"))
        screen.refresh_data()
        await wait_for(pilot, lambda: t.row_count == 23, "the new contact")
        assert t.cursor_key == kept and t.cursor_row == 5
        assert t.row_cells(0)[0] == "Aardvark, Aaron"

    run_contacts(world.services(), check)


def test_the_commands_of_the_section(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        texts = [c.palette_text for c in screen.commands()]
        for wanted in ("contact: new", "contact: edit", "contact: delete", "contact: tags…",
                       "contact: search", "contact: filter by tag",
                       "sync: synchronize contacts now"):
            assert wanted in texts
        for command in screen.commands():
            if not command.action.startswith("app."):
                assert hasattr(screen, f"action_{command.action}")
        await screen.run_action("filter_by_tag")
        await pilot.pause()
        assert isinstance(app.screen, TagPicker)

    run_contacts(world.services(), check)


def test_the_detail_view_edits_the_contact_and_its_tags(repo) -> None:
    from crmtui.screens.contact_form import ContactForm

    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, ContactDetailScreen)
        await pilot.press("t")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, TagEditor) and editor.contact_ids == [t.keys[0]]
        options = editor.query_one("#tag-list")
        options.highlighted = options.get_option_index(world.key_accounts.id)
        await pilot.press("space")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is detail
        assert "Key accounts" in plain(detail.query_one("#detail-fields", Static).content)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ContactForm)
        app.screen.query_one("#job_title", Input).value = "Chief scientist"
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is detail
        assert "Chief scientist" in plain(detail.query_one("#detail-heading", Static).content)
        await pilot.press("escape")
        await wait_for(pilot, lambda: t.row_cells(0)[2] == "Chief scientist", "the change")

    run_contacts(world.services(), check)


def test_typing_letter_by_letter_narrows_to_the_same_result_as_a_fresh_search(repo) -> None:
    world = seed(repo)
    calls: list[tuple[int, str]] = []
    narrow = repo.narrow_contact_ids

    def spy(ids, text, viewer_id):
        calls.append((len(ids), text))
        return narrow(ids, text, viewer_id)

    repo.narrow_contact_ids = spy  # type: ignore[method-assign]
    # the searches in the query thread (see the next test for those answered at once)
    repo.quick_contact_ids = lambda query, viewer_id: None  # type: ignore[method-assign]

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await pilot.press("r")  # descending: the narrowed result keeps the order
        await wait_for(pilot, lambda: screen.result.query.descending, "the reversed sort")
        await pilot.press("slash")
        for key, text in (("b", "b"), ("e", "be"), ("l", "bel"), ("l", "bell"),
                          ("space", "bell "), ("r", "bell r"), ("i", "bell ri")):
            await pilot.press(key)
            expected = repo.contact_ids(ContactQuery(text=text, descending=True), world.ann.id)
            await wait_for(pilot, lambda text=text: screen.result.query.text == text,
                           f"the search {text!r}")
            assert list(t.keys) == expected, text
        # "b" and "be" match many contacts (a scan is faster), then each search narrows the last
        assert [text for _, text in calls] == ["bel", "bell", "bell r", "bell ri"]
        assert names(t) == ["Ritchie, Dennis"]
        calls.clear()
        for _ in range(7):
            await pilot.press("backspace")
        await wait_for(pilot, lambda: screen.result.query.text == "", "the search erased")
        assert t.row_count == 22 and not calls  # kept results: no search at all

    run_contacts(world.services(), check)


def test_once_the_search_is_indexed_each_letter_is_answered_as_it_is_typed(repo) -> None:
    world = seed(repo)
    threads: list[str] = []
    contact_ids = repo.contact_ids
    # No reload after the test's own write: the app's poll (each second) would otherwise, now
    # and then, see it before the next letter and query again in a thread, as it should.
    repo.watch = lambda stop, changed, interval=1.0: stop.wait()  # type: ignore[method-assign]

    def spy(query, viewer_id):
        threads.append(query.text)
        return contact_ids(query, viewer_id)

    async def check(app, pilot, screen) -> None:
        t = screen.table
        await wait_for(pilot, lambda: repo._index is not None and repo._index.letters is not None,
                       "the search index")
        repo.contact_ids = spy  # type: ignore[method-assign]
        await pilot.press("r", "slash")
        await wait_for(pilot, lambda: screen.result.query.descending, "the reversed sort")
        for key, text in (("b", "b"), ("e", "be"), ("l", "bel"), ("l", "bell"),
                          ("space", "bell "), ("r", "bell r"), ("i", "bell ri")):
            await pilot.press(key)
            # shown with the key: no wait for a thread
            assert screen.result.query.text == text
            expected = contact_ids(ContactQuery(text=text, descending=True), world.ann.id)
            assert list(t.keys) == expected, text
        assert threads == []
        assert names(t) == ["Ritchie, Dennis"]
        # a write: the next letter is answered as well, with the contact written
        ids = contact_ids(ContactQuery(text="bell ri"), world.ann.id)
        contact = repo.get_contact(ids[0])
        contact.company = "Bell Labs Ritz"
        repo.update_contact(contact)
        await pilot.press("t")
        assert screen.result.query.text == "bell rit" and names(t) == ["Ritchie, Dennis"]
        assert threads == []

    run_contacts(world.services(), check)


def test_narrowing_in_the_store_matches_a_fresh_search(repo) -> None:
    world = seed(repo)
    everyone = repo.contact_ids(ContactQuery(sort="company"), world.ann.id)
    few = repo.contact_ids(ContactQuery(text="bell"), world.ann.id)
    for base, text in ((everyone, "ib"), (few, "bell ri"), (few, "555 0115"), (few, "")):
        fresh = set(repo.contact_ids(ContactQuery(text=text), world.ann.id))
        assert repo.narrow_contact_ids(base, text, world.ann.id) == [
            cid for cid in base if cid in fresh]
    repo.delete_contact(few[0])
    assert few[0] not in repo.narrow_contact_ids(few, "bell", world.ann.id)


def test_the_first_rows_show_while_the_store_is_still_reading(
        demo: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store opened deferred: the front page's contacts show at once, every contact once the
    database is read; a search typed meanwhile is answered then."""
    repo, user_id = demo
    monkeypatch.setattr(front, "KEEP", 5)
    monkeypatch.setattr(front, "LOW", 2)
    with repo.transaction():  # a commit writes the front page (of 5 contacts)
        repo.add_contact(Contact(given_name="Aaron", family_name="Aardvark", owner_id=user_id))
    expected = repo.contact_ids(ContactQuery(), user_id)
    release = threading.Event()
    reading = TinyDBRepository._read_behind

    def held(self: TinyDBRepository, partial: Any) -> None:
        release.wait(600)
        reading(self, partial)

    monkeypatch.setattr(TinyDBRepository, "_read_behind", held)
    deferred = open_store(repo.data_dir, deferred=True)

    async def polled(condition: Callable[[], bool], what: str) -> None:
        # Not wait_for: it waits for the workers, and the query's waits for the store.
        for _ in range(1000):
            if condition():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    async def main() -> None:
        app = CrmApp(Services(deferred, user_id, Path(deferred.path).parent, demo=True))
        try:
            async with app.run_test(size=SIZE) as pilot:
                await check(app, pilot)
        finally:
            release.set()  # the query threads wait for it (and asyncio.run for them)

    async def check(app: CrmApp, pilot: Pilot) -> None:
        await polled(lambda: table(app).row_count > 0, "the first rows")
        await asyncio.sleep(0.2)
        assert deferred.loading
        assert list(table(app).keys) == expected[:5]
        assert "Aardvark, Aaron" in line(table(app), 1)
        assert f"{len(expected)} contacts" in status(pilot)
        assert "reading the database" in status(pilot)
        # Typed while the store reads (pilot.press would wait for the query's thread).
        app.screen.query_one("#search", Input).value = "aardv"
        await polled(lambda: table(app).row_count == 1, "the first matches")
        # Still held: the first matches come from the front page, the rest waits for the data.
        assert deferred.loading
        assert list(table(app).keys) == expected[:1]  # Aardvark, among the first contacts
        assert "searching" in status(pilot)
        release.set()
        await wait_for(pilot, lambda: not screen(app).result.partial, "the search's result")
        assert table(app).row_count == 1
        assert not deferred.loading
        assert "1 of" in status(pilot) and "reading" not in status(pilot)
        app.screen.query_one("#search", Input).value = ""
        await wait_for(pilot, lambda: table(app).row_count == len(expected),
                       "every contact")

    try:
        asyncio.run(main())
    finally:
        release.set()
        deferred.close()
