"""Fixed data for the contacts screens' tests and snapshot: two users, four tags (one of them
another user's private tag), twenty contacts with fixed timestamps; and a runner that pushes a
screen on the app and waits for its first rows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot

from crmtui.app import CrmApp
from crmtui.model import Contact, Email, Phone, Tag, TagKind, User
from crmtui.screens.contact_form import ContactForm
from crmtui.screens.contacts import ContactsScreen
from crmtui.screens.context import Services
from crmtui.store import Repository

from .pilot_helpers import SIZE, wait_for

FIXED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

PEOPLE = [
    ("Ada", "Lovelace", "Analytical Engines", "Mathematician"),
    ("Alan", "Turing", "Bletchley Park", "Cryptanalyst"),
    ("Barbara", "Liskov", "MIT", "Professor"),
    ("Claude", "Shannon", "Bell Labs", "Researcher"),
    ("Donald", "Knuth", "Stanford", "Professor emeritus"),
    ("Edsger", "Dijkstra", "UT Austin", "Professor"),
    ("Frances", "Allen", "IBM", "Fellow"),
    ("Grace", "Hopper", "US Navy", "Rear admiral"),
    ("Hedy", "Lamarr", "MGM", "Inventor"),
    ("John", "Backus", "IBM", "Researcher"),
    ("Ken", "Thompson", "Bell Labs", "Engineer"),
    ("Leslie", "Lamport", "Microsoft", "Researcher"),
    ("Margaret", "Hamilton", "NASA", "Director"),
    ("Niklaus", "Wirth", "ETH Zurich", "Professor"),
    ("Radia", "Perlman", "Intel", "Fellow"),
    ("Dennis", "Ritchie", "Bell Labs", "Engineer"),
    ("Sophie", "Wilson", "Acorn", "Designer"),
    ("Tim", "Berners-Lee", "CERN", "Engineer"),
    ("Ursula", "Franklin", "University of Toronto", "Professor"),
    ("Whitfield", "Diffie", "Sun", "Engineer"),
]


@dataclass
class World:
    repo: Repository
    ann: User
    bob: User
    google: Tag  # Ann's private tag
    customers: Tag  # public
    key_accounts: Tag  # corporate
    golf: Tag  # Bob's private tag
    ids: list[str]  # the contacts, in PEOPLE order

    def services(self, now: datetime = FIXED) -> Services:
        return Services(self.repo, self.ann.id, Path(self.repo.path).parent,
                        now=lambda: now)

    def by_family(self, family: str) -> Contact:
        return next(c for c in (self.repo.get_contact(i) for i in self.ids)
                    if c.family_name == family)


def seed(repo: Repository) -> World:
    ann = repo.add_user(User(name="Ann Lee", email="ann@example.com", created=FIXED),
                        Contact(given_name="Ann", family_name="Lee",
                                emails=[Email("ann@example.com", primary=True)],
                                created=FIXED, modified=FIXED))
    bob = repo.add_user(User(name="Bob Stone", email="bob@example.com", created=FIXED),
                        Contact(given_name="Bob", family_name="Stone",
                                emails=[Email("bob@example.com", primary=True)],
                                created=FIXED, modified=FIXED))
    google = repo.add_tag(Tag("Google", TagKind.PRIVATE, ann.id, created=FIXED))
    customers = repo.add_tag(Tag("Customers", TagKind.PUBLIC, created=FIXED))
    key_accounts = repo.add_tag(Tag("Key accounts", TagKind.CORPORATE, created=FIXED))
    golf = repo.add_tag(Tag("Golf partners", TagKind.PRIVATE, bob.id, created=FIXED))
    contacts = []
    for i, (given, family, company, title) in enumerate(PEOPLE):
        tags = []
        if i % 3 == 0:
            tags.append(customers.id)
        if i % 4 == 0:
            tags.append(google.id)
        if i % 5 == 0:
            tags.append(golf.id)
        if i == 7:
            tags.append(key_accounts.id)
        contacts.append(Contact(
            given_name=given, family_name=family, company=company, job_title=title,
            emails=[Email(f"{given.lower()}.{family.lower()}@example.com", primary=True)],
            phones=[Phone(f"+1 555 01{i:02d}", "mobile", True)],
            tags=tags, owner_id=ann.id, created=FIXED, modified=FIXED))
    repo.add_contacts(contacts)
    return World(repo, ann, bob, google, customers, key_accounts, golf,
                 [c.id for c in contacts])


Check = Callable[[CrmApp, Pilot, ContactsScreen], Awaitable[None]]


def run_contacts(services: Services, check: Check, size: tuple[int, int] = SIZE) -> None:
    """Run the app with a contacts screen pushed, its first rows shown, then ``check``."""

    async def main() -> None:
        app = CrmApp(services)
        async with app.run_test(size=size) as pilot:
            screen = ContactsScreen(services)
            await app.push_screen(screen)
            await wait_for(pilot, lambda: screen.result is not None, "the first rows")
            await check(app, pilot, screen)

    asyncio.run(main())


async def edit_contact(app: CrmApp, pilot: Pilot, screen: ContactsScreen,
                       contact_id: str) -> ContactForm:
    """Put the list's cursor on the contact and press ``e``: its form, open."""
    t = screen.table
    t.cursor_row = list(t.keys).index(contact_id)
    await pilot.press("e")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, ContactForm)
    return form
