"""Import and export from the TUI: palette commands that ask for a path and show the result."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Select

from crmtui.app import CrmApp
from crmtui.screens.contacts import ContactsScreen
from crmtui.screens.transfer import TransferDialog
from crmtui.store import ContactQuery, Repository

from .contacts_fixtures import run_contacts, seed
from .pilot_helpers import wait_for

VCARD = """BEGIN:VCARD
VERSION:3.0
N:Ångström;Zoë;;;
FN:Zoë Ångström
ORG:Nordlys
EMAIL;TYPE=work:zoe@nordlys.example
END:VCARD
"""


async def open_from_palette(pilot: Pilot, words: str) -> TransferDialog:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*words)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TransferDialog), "the dialog")
    dialog = pilot.app.screen
    assert isinstance(dialog, TransferDialog)
    return dialog


async def submit(pilot: Pilot, dialog: TransferDialog, path: Path | str) -> None:
    dialog.query_one("#transfer-path", Input).value = str(path)
    dialog.result = ""
    await pilot.press("enter")
    await wait_for(pilot, lambda: dialog.result and not dialog.result.endswith("…"),
                   "the result")


def test_export_from_the_palette(repo: Repository, tmp_path: Path) -> None:
    world = seed(repo)
    target = tmp_path / "out.csv"

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        dialog = await open_from_palette(pilot, "export to a file")
        assert dialog.mode == "export"
        await submit(pilot, dialog, target)
        assert dialog.result == f"Exported 22 contacts to {target}."
        assert "Lovelace" in target.read_text(encoding="utf-8")
        # A file that exists is replaced only on a second Enter.
        target.write_text("keep me", encoding="utf-8")
        await submit(pilot, dialog, target)
        assert "exists: press Enter again to replace it" in dialog.result
        assert target.read_text(encoding="utf-8") == "keep me"
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.result.startswith("Exported"), "the export")
        assert "Lovelace" in target.read_text(encoding="utf-8")
        await pilot.press("escape")
        assert app.screen is screen

    run_contacts(world.services(), check)


def test_import_from_the_palette_shows_the_result_and_the_list(repo: Repository,
                                                               tmp_path: Path) -> None:
    world = seed(repo)
    card = tmp_path / "zoe.vcf"
    card.write_text(VCARD, encoding="utf-8")

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        dialog = await open_from_palette(pilot, "import a file")
        assert dialog.query_one("#transfer-existing", Select).value == "error"
        await submit(pilot, dialog, card)
        assert dialog.result == "Imported 1 contact from zoe.vcf."
        found = repo.contact_ids(ContactQuery(text="zoe angstrom"), world.ann.id)
        assert len(found) == 1
        assert repo.get_contact(found[0]).owner_id == world.ann.id
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.table.row_count == 23, "the new contact listed")

    run_contacts(world.services(), check)


def test_a_bad_file_is_one_error_line(repo: Repository, tmp_path: Path) -> None:
    world = seed(repo)
    broken = tmp_path / "broken.csv"
    broken.write_text("given_name,emails\nAda,not-an-email\n", encoding="utf-8")

    async def check(app: CrmApp, pilot: Pilot, screen: ContactsScreen) -> None:
        await app.run_action("transfer('import')")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, TransferDialog)
        await submit(pilot, dialog, tmp_path / "missing.vcf")
        assert dialog.result.startswith("Error: ") and "\n" not in dialog.result
        await submit(pilot, dialog, broken)
        assert dialog.result.startswith("Error: ") and "broken.csv" in dialog.result
        await submit(pilot, dialog, tmp_path / "notes.txt")
        assert dialog.result.startswith("Error: ") and "the extension .txt" in dialog.result
        assert screen.table.row_count == 22  # nothing went in

    run_contacts(world.services(), check)
