"""The tag editor: states per tag (all / some / none), assigning and removing on several
contacts, creating private, public and corporate tags, errors beside the name, and never
another user's private tag."""

from __future__ import annotations

from textual.widgets import Input, Label, OptionList, Select

from crmtui.model import TagKind
from crmtui.screens.tags import TagEditor

from .contacts_fixtures import World, run_contacts, seed
from .pilot_helpers import wait_for


def listed(editor: TagEditor) -> list[str]:
    return [str(o.prompt) for o in editor.query_one("#tag-list", OptionList).options]


async def open_editor(app, pilot, screen, ids: list[str]) -> TagEditor:
    t = screen.table
    for cid in ids:
        t.cursor_row = list(t.keys).index(cid)
        await pilot.press("space")
    await pilot.press("t")
    await pilot.pause()
    editor = app.screen
    assert isinstance(editor, TagEditor)
    return editor


def highlight(editor: TagEditor, tag_id: str) -> None:
    options = editor.query_one("#tag-list", OptionList)
    options.highlighted = options.get_option_index(tag_id)


def test_states_and_toggling_on_several_contacts(repo) -> None:
    world = seed(repo)
    # Customers: Lovelace and Shannon have it, Turing does not.
    ids = [world.by_family(f).id for f in ("Lovelace", "Turing", "Shannon")]

    async def check(app, pilot, screen) -> None:
        editor = await open_editor(app, pilot, screen, ids)
        assert sorted(editor.contact_ids) == sorted(ids)
        assert editor.state(world.customers.id) == "some"
        assert editor.state(world.key_accounts.id) == "none"
        shown = listed(editor)
        assert "[–] Customers" in shown
        assert "[ ] Key accounts  corporate" in shown
        assert "[✔] Google  private" not in shown  # Turing and Shannon do not have it
        assert not any("Golf" in label for label in shown)  # Bob's private tag
        highlight(editor, world.customers.id)
        await pilot.press("space")  # some → all
        assert editor.state(world.customers.id) == "all"
        assert all(world.customers.id in repo.get_contact(c).tags for c in ids)
        assert "[✔] Customers" in listed(editor)
        await pilot.press("enter")  # all → none
        assert editor.state(world.customers.id) == "none"
        assert not any(world.customers.id in repo.get_contact(c).tags for c in ids)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the editor closed")

    run_contacts(world.services(), check)


def test_another_users_private_tag_is_kept_on_the_contact(repo) -> None:
    world = seed(repo)
    lovelace = world.by_family("Lovelace")  # has Bob's "Golf partners"
    assert world.golf.id in lovelace.tags

    async def check(app, pilot, screen) -> None:
        editor = await open_editor(app, pilot, screen, [lovelace.id])
        assert editor.query_one("#tags-title").content == "Tags of Ada Lovelace"
        assert not any("Golf" in label for label in listed(editor))
        highlight(editor, world.google.id)
        await pilot.press("space")  # she has it: removed
        assert world.google.id not in repo.get_contact(lovelace.id).tags
        assert world.golf.id in repo.get_contact(lovelace.id).tags

    run_contacts(world.services(), check)


async def create(pilot, editor: TagEditor, name: str, kind: str) -> None:
    editor.query_one("#new-tag-kind", Select).value = kind
    await pilot.press("n")  # to the name box
    assert pilot.app.focused is editor.query_one("#new-tag-name", Input)
    editor.query_one("#new-tag-name", Input).value = name
    await pilot.press("enter")
    await pilot.pause()


def error(editor: TagEditor) -> str:
    label = editor.query_one("#error-new-tag", Label)
    return str(label.content) if label.display else ""


def test_new_private_public_and_corporate_tags(repo) -> None:
    world: World = seed(repo)
    ids = [world.by_family("Knuth").id, world.by_family("Wirth").id]

    async def check(app, pilot, screen) -> None:
        editor = await open_editor(app, pilot, screen, ids)
        await create(pilot, editor, "Conference 2026", "private")
        tag = repo.find_tag("Conference 2026", world.ann.id)
        assert tag is not None and tag.kind is TagKind.PRIVATE and tag.owner_id == world.ann.id
        assert repo.find_tag("Conference 2026", world.bob.id) is None  # private to Ann
        assert editor.state(tag.id) == "all"  # assigned to the contacts being edited
        assert all(tag.id in repo.get_contact(c).tags for c in ids)
        assert "[✔] Conference 2026  private" in listed(editor)
        await create(pilot, editor, "Partners", "public")
        partners = repo.find_tag("Partners", world.bob.id)
        assert partners is not None and partners.kind is TagKind.PUBLIC
        await create(pilot, editor, "Strategic", "corporate")
        assert repo.find_tag("Strategic", world.ann.id).kind is TagKind.CORPORATE
        assert error(editor) == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Partners" in screen.table.row_cells(
            list(screen.table.keys).index(ids[0]))[-1], "the list updated")

    run_contacts(world.services(), check)


def test_a_duplicate_or_empty_name_is_explained_beside_it(repo) -> None:
    world = seed(repo)

    async def check(app, pilot, screen) -> None:
        editor = await open_editor(app, pilot, screen, [screen.table.keys[0]])
        before = len(repo.list_tags(world.ann.id))
        await create(pilot, editor, "customers", "public")
        assert error(editor) == "A tag named 'Customers' already exists"
        await create(pilot, editor, "   ", "private")
        assert error(editor) == "The name must not be empty"
        assert len(repo.list_tags(world.ann.id)) == before
        # Bob's private "Golf partners" does not clash with a private tag of Ann's.
        await create(pilot, editor, "Golf partners", "private")
        assert error(editor) == ""
        mine = repo.find_tag("Golf partners", world.ann.id)
        assert mine is not None and mine.id != world.golf.id

    run_contacts(world.services(), check)
