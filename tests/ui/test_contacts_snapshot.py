"""An SVG snapshot of the contacts screen on fixed data (20 contacts, fixed timestamps, a fixed
clock, the last contact sync set, UTC): two rows selected, a tag filter off, sorted by name."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.pilot import Pilot

from crmtui.app import CrmApp
from crmtui.model import SyncKind
from crmtui.screens.contacts import ContactsScreen

from .contacts_fixtures import seed
from .pilot_helpers import wait_for


def test_contacts_screen_snapshot(repo, utc, snap_compare) -> None:
    world = seed(repo)
    repo.set_sync_state(world.ann.id, SyncKind.CONTACTS,
                        {"last_sync": datetime(2026, 3, 2, 8, 15, tzinfo=UTC).isoformat()})
    services = world.services()
    app = CrmApp(services)

    async def run_before(pilot: Pilot) -> None:
        screen = ContactsScreen(services)
        await pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen.result is not None, "the first rows")
        await pilot.press("j", "space", "j", "space")  # select the 2nd and 4th rows
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
