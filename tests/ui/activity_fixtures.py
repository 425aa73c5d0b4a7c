"""Fixed activities data and a fixed clock for the activities screen and form tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from textual.app import App
from textual.pilot import Pilot

from crmtui.app import CrmApp
from crmtui.model import Activity, ActivityType, Contact, Participant, ParticipantKind, User
from crmtui.screens.activities import ActivitiesScreen, ActivityTable
from crmtui.screens.context import Services
from crmtui.store import TinyDBRepository

from .pilot_helpers import SIZE, wait_for

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""Monday 23 November 2026, 10:00 in Paris."""


@dataclass
class World:
    repo: TinyDBRepository
    ann: User
    bob: User
    carla: Contact
    ids: dict[str, str]

    def services(self) -> Services:
        return Services(self.repo, self.ann.id, Path(self.repo.path).parent, now=lambda: NOW)

    def activity(self, name: str) -> Activity:
        return self.repo.get_activity(self.ids[name])


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def world(repo: TinyDBRepository, paris: None) -> World:
    ann = repo.add_user(User(name="Ann Lee", email="ann@example.com", id="ann"),
                        Contact(given_name="Ann", family_name="Lee", emails=["ann@example.com"],
                                id="ann-contact"))
    bob = repo.add_user(User(name="Bob Stone", email="bob@example.com", id="bob"),
                        Contact(given_name="Bob", family_name="Stone",
                                emails=["bob@example.com"], id="bob-contact"))
    carla = repo.add_contact(Contact(given_name="Carla", family_name="Diaz", company="Acme",
                                     emails=["carla@acme.example"], id="carla"))
    repo.add_contact(Contact(given_name="Dmitri", family_name="Volkov", company="Borealis",
                             emails=["dmitri@borealis.example"], id="dmitri"))
    user = ParticipantKind.USER
    made = [
        Activity(id="old", title="Send the old proposal", type=ActivityType.TASK,
                 start=at(10, 9), end=at(10, 10), organizer_id="ann", owner_id="ann"),
        Activity(id="call", title="Call Carla about the renewal", type=ActivityType.CALL,
                 start=at(23, 14), end=at(23, 14, 30), organizer_id="ann", owner_id="ann",
                 timezone="Europe/Paris", location="Phone",
                 participants=[Participant(ParticipantKind.CONTACT, "carla")]),
        Activity(id="review", title="Quarterly review", type=ActivityType.MEETING,
                 start=at(26, 10), end=at(26, 11), organizer_id="bob", owner_id="bob",
                 timezone="Europe/Paris", location="Room 4", show_in_calendar=True,
                 participants=[Participant(user, "ann"), Participant(user, "bob")]),
        Activity(id="fair", title="Trade fair", type=ActivityType.MEETING, all_day=True,
                 start_date=date(2026, 12, 15), end_date=date(2026, 12, 17),
                 organizer_id="ann", owner_id="ann", location="Lyon"),
        Activity(id="lunch", title="Bob's lunch with the board", type=ActivityType.MEETING,
                 start=at(24, 12), end=at(24, 13), organizer_id="bob", owner_id="bob"),
        Activity(id="someday", title="Tidy the shared drive", type=ActivityType.TASK,
                 organizer_id="ann", owner_id="ann"),
    ]
    for a in made:
        repo.add_activity(a)
    return World(repo, ann, bob, carla, {a.id: a.id for a in made})


def table(app: App[None]) -> ActivityTable:
    return app.screen.query_one("#activities", ActivityTable)


async def open_activities(app: App[None], pilot: Pilot[None], services: Services
                          ) -> ActivitiesScreen:
    screen = ActivitiesScreen(services)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: screen.listing is not None, "the activities")
    return screen


Check = Callable[[CrmApp, Pilot, ActivitiesScreen], Awaitable[None]]


def run(w: World, check: Check) -> None:
    async def main() -> None:
        services = w.services()
        app = CrmApp(services)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_activities(app, pilot, services)
            await check(app, pilot, screen)
    asyncio.run(main())


__all__ = ["NOW", "SIZE", "World", "open_activities", "run", "table", "world"]
