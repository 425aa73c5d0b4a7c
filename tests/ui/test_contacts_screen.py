"""The contacts list, its search and sorting, the detail view and the keys overlay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual import events
from textual.pilot import Pilot
from textual.widgets import Header, Input, Static

from crmtui.app import CrmApp
from crmtui.demo import seed_demo
from crmtui.screens import ContactDetailScreen, ContactsScreen, KeysScreen
from crmtui.screens.contacts import list_name
from crmtui.screens.context import Services
from crmtui.store import ContactQuery, Repository, StoreError, TinyDBRepository
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
