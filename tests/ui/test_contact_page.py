"""A contact's page is its history: the activities with the contact (newest first), its sync
status, and the actions from there (a new activity with the contact, email, call, copy)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import CrmApp
from crmtui.model import (
    Account,
    Activity,
    ActivityType,
    Participant,
    ParticipantKind,
    Phone,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
)
from crmtui.screens.activity_form import ActivityForm
from crmtui.screens.contact_detail import ContactDetailScreen
from crmtui.store import ActivityQuery
from crmtui.widgets.sync_status import SyncStatusView

from .activity_fixtures import NOW, World, at, world
from .pilot_helpers import SIZE, plain, wait_for

__all__ = ["world"]  # fixtures


class Opened:
    """An opener that records what it was given; ``works``: whether one is available."""

    def __init__(self, works: bool = True) -> None:
        self.urls: list[str] = []
        self.works = works

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return self.works


def add_history(w: World) -> None:
    carla = ParticipantKind.CONTACT
    w.repo.add_activity(Activity(id="demo", title="Demo of the new plan", type=ActivityType.MEETING,
                                 start=at(30, 15), end=at(30, 16), organizer_id="ann",
                                 participants=[Participant(carla, "carla")]))
    w.repo.add_activity(Activity(id="first", title="First contact with Acme",
                                 type=ActivityType.EMAIL, start=at(2, 11), end=at(2, 11),
                                 organizer_id="ann", participants=[Participant(carla, "carla")]))


def page_text(screen: ContactDetailScreen) -> str:
    return plain(screen.query_one("#detail-history", Static).content, width=110)


def run_page(w: World, check: Any, opener: Opened | None = None, size: tuple[int, int] = SIZE
             ) -> None:
    async def main() -> None:
        app = CrmApp(w.services(), auto_sync=False, store_poll=0)
        async with app.run_test(size=size) as pilot:
            screen = ContactDetailScreen(w.services(), w.repo.get_contact("carla"),
                                         opener=opener or Opened())
            await app.push_screen(screen)
            await pilot.pause()
            await check(app, pilot, screen)
    asyncio.run(main())


def test_the_page_lists_the_contacts_activities_newest_first(world: World) -> None:
    add_history(world)

    async def check(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        assert [a.id for a in screen.history] == ["demo", "call", "first"]
        text = page_text(screen)
        assert text.index("Demo of the new plan") < text.index("Call Carla") \
            < text.index("First contact with Acme")
        assert "2026-11-30 15:00" in text and "Meeting" in text and "Not started" in text
        # Bob's and Ann's other activities (without Carla) are not her history.
        assert "Quarterly review" not in text and "Trade fair" not in text
        title = str(screen.query_one("#detail-history-title", Static).content)
        assert title.startswith("Activities (3)")

    run_page(world, check)


def test_new_activity_from_the_page_has_the_contact_as_participant(world: World) -> None:
    async def check(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActivityForm), "the form")
        form = app.screen
        assert form.query_one("#participants").keys == ["contact:carla"]
        assert not form.changed  # the prefilled participant is the form's starting point
        await pilot.press(*"Send the quote")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen, "back on the page")
        saved = [a for a in world.repo.find_activities(ActivityQuery(contact_ids=("carla",)))
                 if a.title == "Send the quote"]
        assert len(saved) == 1
        assert Participant(ParticipantKind.CONTACT, "carla") in saved[0].participants
        assert saved[0].organizer_id == "ann"
        assert "Send the quote" in page_text(screen)

    run_page(world, check)


def test_email_and_call_go_to_the_system_opener(world: World) -> None:
    world.repo.update_contact(world.repo.get_contact("carla").evolve(
        phones=[Phone("+34 600 12 34 56")]))
    opened = Opened()

    async def check(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        await pilot.press("m")
        await pilot.press("p")
        assert opened.urls == ["mailto:carla@acme.example", "tel:+34600123456"]

    run_page(world, check, opened)


def test_without_an_opener_the_address_is_copied(world: World) -> None:
    opened = Opened(works=False)
    copied: list[str] = []

    async def check(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("m")
        assert opened.urls == ["mailto:carla@acme.example"]
        assert copied == ["carla@acme.example"]
        await pilot.press("p")  # Carla has no phone: nothing to open, nothing copied
        assert opened.urls == ["mailto:carla@acme.example"]
        await pilot.press("c")
        assert copied == ["carla@acme.example", "carla@acme.example"]

    run_page(world, check, opened)


def link_google(w: World, tag: Tag | None = None) -> None:
    w.repo.add_account(Account(user_id="ann", email="ann.lee@gmail.com"))
    w.repo.save_sync_settings(SyncSettings(user_id="ann",
                                           contacts_tag_id=tag.id if tag else "",
                                           activities_from=datetime(2026, 1, 1).date()))


def test_sync_status_on_the_contact_page(world: World) -> None:
    tag = world.repo.add_tag(Tag("Google", TagKind.PRIVATE, "ann"))
    link_google(world, tag)
    repo = world.repo
    carla = repo.get_contact("carla")

    def status_text(screen: ContactDetailScreen) -> str:
        return plain(screen.query_one(SyncStatusView).content, width=110)

    async def not_tagged(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        text = status_text(screen)
        assert "Not synchronized" in text
        assert "it does not carry the sync tag “Google”" in text

    run_page(world, not_tagged)
    repo.tag_contacts(["carla"], tag.id, "ann")
    carla = repo.get_contact("carla")

    async def pending(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        text = status_text(screen)
        assert "Waiting for the next sync with ann.lee@gmail.com" in text
        assert "added to Google Contacts at the next sync" in text

    run_page(world, pending)
    synced_at = carla.modified + timedelta(minutes=1)
    repo.put_link(SyncLink(user_id="ann", kind=SyncKind.CONTACTS, local_id="carla",
                           remote_id="people/c42", synced=synced_at))
    repo.add_run(SyncRun(user_id="ann", kind=SyncKind.CONTACTS, started=synced_at,
                         finished=synced_at, status="ok",
                         errors=["Carla Diaz: not updated in Google: it changed meanwhile",
                                 "Dmitri Volkov: something else"]))

    async def synced(app: CrmApp, pilot: Pilot, screen: ContactDetailScreen) -> None:
        text = status_text(screen)
        assert "Synced with ann.lee@gmail.com" in text
        assert synced_at.astimezone().strftime("%Y-%m-%d %H:%M") in text
        assert "not updated in Google: it changed meanwhile" in text
        assert "something else" not in text  # another contact's note
        assert "Pending" not in text

    run_page(world, synced)


def test_contact_page_snapshot(world: World, snap_compare: Any) -> None:
    add_history(world)
    link_google(world)
    carla = world.repo.get_contact("carla")
    world.repo.update_contact(carla.evolve(created=NOW - timedelta(days=30), modified=NOW),
                              touch=False)
    services = world.services()

    async def run_before(pilot: Pilot) -> None:
        screen = ContactDetailScreen(services, world.repo.get_contact("carla"), opener=Opened())
        await pilot.app.push_screen(screen)
        await pilot.pause()

    app = CrmApp(services, auto_sync=False, store_poll=0)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


assert NOW.tzinfo is UTC
