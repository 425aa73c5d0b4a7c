"""Select all that match the search and tag filter, tag or delete them together; undo the last
deletion or tag change (ctrl+z, u) while the app runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import OptionList

from crmtui.app import CrmApp
from crmtui.model import Activity, Participant, ParticipantKind
from crmtui.screens.activities import ActivitiesScreen
from crmtui.screens.confirm import Confirm
from crmtui.screens.contacts import ContactsScreen
from crmtui.screens.context import Services
from crmtui.screens.tags import TagEditor
from crmtui.store import NotFound, Repository

from .contacts_fixtures import World, run_contacts, seed
from .pilot_helpers import status, wait_for


async def search(pilot: Pilot, screen: ContactsScreen, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await wait_for(pilot, lambda: screen.result is not None
                   and screen.result.query == screen.contact_query, "the search")


async def delete_targets(pilot: Pilot, app: CrmApp, screen: ContactsScreen) -> None:
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
    await pilot.press("y")  # Delete
    await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen)
                   and not any(w.group == "contacts-delete" for w in screen.workers)
                   and not screen.table.marked, "the deletion")


def exists(repo: Repository, cid: str) -> bool:
    try:
        repo.get_contact(cid)
    except NotFound:
        return False
    return True


def test_select_all_that_match_then_tag_them_and_undo(repo: Repository) -> None:
    world = seed(repo)
    bell = [c for c in world.ids if repo.get_contact(c).company == "Bell Labs"]
    assert len(bell) == 3

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        await search(pilot, screen, "bell labs")
        await pilot.press("asterisk")
        assert screen.selected == set(bell)
        assert "3 selected" in status(pilot)
        await pilot.press("t")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, TagEditor)
        assert sorted(editor.contact_ids) == sorted(bell)
        options = editor.query_one("#tag-list", OptionList)
        options.highlighted = options.get_option_index(world.key_accounts.id)
        await pilot.press("space", "escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list")
        assert all(world.key_accounts.id in repo.get_contact(c).tags for c in bell)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert not any(world.key_accounts.id in repo.get_contact(c).tags for c in bell)
        # Only the last action is undone, once.
        await pilot.press("u")
        await pilot.pause()
        assert any("Nothing to undo" in str(n.message) for n in app._notifications)
        # Pressed again with every match selected: none is.
        assert screen.selected == set(bell)
        await pilot.press("asterisk")
        assert screen.selected == set()

    run_contacts(world.services(), check)


def test_select_all_respects_the_tag_filter(repo: Repository) -> None:
    world = seed(repo)
    tagged = {c for c in world.ids if world.customers.id in repo.get_contact(c).tags}

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        screen.set_query(screen.contact_query.__class__(tag_ids=(world.customers.id,)))
        await wait_for(pilot, lambda: screen.result is not None
                       and screen.result.query == screen.contact_query, "the filter")
        await pilot.press("asterisk")
        assert screen.selected == tagged
        await delete_targets(pilot, app, screen)
        assert not any(exists(repo, c) for c in tagged)
        assert exists(repo, next(c for c in world.ids if c not in tagged))
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert all(exists(repo, c) for c in tagged)
        assert all(world.customers.id in repo.get_contact(c).tags for c in tagged)

    run_contacts(world.services(), check)


def test_undo_a_deletion_restores_tags_and_participations(repo: Repository) -> None:
    world = seed(repo)
    turing = world.by_family("Turing")
    lovelace = world.by_family("Lovelace")
    meeting = repo.add_activity(Activity(
        title="Engine review", organizer_id=world.ann.id,
        participants=[Participant(ParticipantKind.CONTACT, lovelace.id),
                      Participant(ParticipantKind.USER, world.ann.id),
                      Participant(ParticipantKind.CONTACT, turing.id)]))

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        await search(pilot, screen, "turing")
        await pilot.press("down")
        assert screen.table.cursor_key == turing.id
        await delete_targets(pilot, app, screen)
        assert not exists(repo, turing.id)
        assert len(repo.get_activity(meeting.id).participants) == 2
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: screen.table.row_count == 1, "the list again")
        back = repo.get_contact(turing.id)
        assert back.tags == turing.tags and back.emails == turing.emails
        assert repo.get_activity(meeting.id).participants == meeting.participants

    run_contacts(world.services(), check)


def test_undo_an_activity_deletion(repo: Repository) -> None:
    world: World = seed(repo)
    activity = repo.add_activity(Activity(title="Quarterly review", organizer_id=world.ann.id,
                                          notes="bring the numbers"))
    services = Services(repo, world.ann.id, Path(repo.path).parent)

    async def main() -> None:
        app = CrmApp(services, auto_sync=False, store_poll=0)
        async with app.run_test() as pilot:
            screen = ActivitiesScreen(services)
            await app.push_screen(screen)
            await wait_for(pilot, lambda: screen.listing is not None, "the activities")
            assert screen.table.cursor_key == activity.id
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, Confirm), "the question")
            await pilot.press("y")
            await pilot.pause()
            assert repo.get_activities([activity.id]) == []
            await pilot.press("ctrl+z")
            await wait_for(pilot, lambda: activity.id in screen.listing.cells, "it is back")
            assert repo.get_activity(activity.id).notes == "bring the numbers"

    asyncio.run(main())


def test_many_contacts_are_read_for_undo_in_a_thread(repo: Repository, monkeypatch) -> None:
    import crmtui.screens.contacts as contacts_module

    monkeypatch.setattr(contacts_module, "SNAPSHOT_IN_THREAD", 2)
    world = seed(repo)
    bell = [c for c in world.ids if repo.get_contact(c).company == "Bell Labs"]

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        await search(pilot, screen, "bell labs")
        await pilot.press("asterisk", "t")
        await wait_for(pilot, lambda: isinstance(app.screen, TagEditor), "the editor")
        assert any("Reading the tags of 3 contacts" in str(n.message)
                   for n in app._notifications)
        editor = app.screen
        options = editor.query_one("#tag-list", OptionList)
        options.highlighted = options.get_option_index(world.key_accounts.id)
        await pilot.press("space", "escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list")
        assert all(world.key_accounts.id in repo.get_contact(c).tags for c in bell)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert not any(world.key_accounts.id in repo.get_contact(c).tags for c in bell)

    run_contacts(world.services(), check)
