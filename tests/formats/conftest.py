"""Fixtures for the import/export tests: a store holding every kind of record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crmtui.model import (
    Account,
    Activity,
    Address,
    Contact,
    Email,
    Participant,
    Phone,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
)
from crmtui.store import TinyDBRepository, open_store

PARIS = ZoneInfo("Europe/Paris")


def rich_contacts(owner: User, tags: list[Tag]) -> list[Contact]:
    """Contacts exercising every field a contact format must carry."""
    return [
        Contact(
            given_name="Zoë", middle_name="Åsa Marie", family_name="Ångström",
            company="Ünïcode, Inc.; Intl", job_title="Head of R&D: \"Labs\"",
            emails=[Email("zoe@example.com", "work", True), Email("zoe@home.example.org", "home"),
                    Email("z.a@other.example.net", "other")],
            phones=[Phone("+47 22 33 44 55", "mobile", True), Phone("+47 22 00 00 01", "fax"),
                    Phone("(555) 010-0199 ext. 12", "main"), Phone("+1 555 0100", "work"),
                    Phone("555.0101", "home"), Phone("+44 20 7946 0000", "other")],
            addresses=[
                Address("home", "Storgata 1, 3rd floor\nBack door; ring twice", "Oslo", "Oslo",
                        "0155", "Norway", True),
                Address("work", "1 Main St", "Köln", "NRW", "50667", "Deutschland"),
                Address("other", city="Zürich"),
            ],
            birthday=date(1985, 2, 28),
            notes="Met at the fair 😀🎉\nSecond line; with: punctuation, \"quotes\" and \\ "
                  "backslash\n\n\tIndented after an empty line — ünïcødé ✓",
            tags=[t.id for t in tags], owner_id=owner.id,
            created=datetime(2023, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
            modified=datetime(2024, 6, 7, 8, 9, 10, 654321, tzinfo=timezone(timedelta(hours=2))),
        ),
        Contact(company="Only A Company GmbH", owner_id=owner.id,
                created=datetime(2022, 1, 1, tzinfo=UTC),
                modified=datetime(2022, 1, 2, 3, 4, 5, tzinfo=UTC)),
        Contact(emails=[Email("just.an.email@example.com", "home")], owner_id=owner.id,
                created=datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC),
                modified=datetime(2021, 12, 31, 23, 59, 59, 1, tzinfo=UTC)),
        Contact(given_name="李", family_name="小龙", notes="Line one\nLine two\nLine three",
                tags=[tags[0].id], owner_id=owner.id, birthday=date(1940, 11, 27),
                created=datetime(2020, 2, 29, 12, 0, tzinfo=PARIS),
                modified=datetime(2020, 3, 1, 12, 0, tzinfo=PARIS)),
    ]


@pytest.fixture
def tags(repo: TinyDBRepository, ann: User) -> list[Tag]:
    """A public tag, one of Ann's private tags and a corporate tag."""
    return [repo.add_tag(Tag(name="Customers", kind=TagKind.PUBLIC)),
            repo.add_tag(Tag(name="Ann's; favourites", kind=TagKind.PRIVATE, owner_id=ann.id)),
            repo.add_tag(Tag(name="Key account", kind=TagKind.CORPORATE))]


@pytest.fixture
def contacts(repo: TinyDBRepository, ann: User, tags: list[Tag]) -> list[Contact]:
    out = rich_contacts(ann, tags)
    repo.add_contacts(out)
    return out


@pytest.fixture
def other(tmp_path: Path) -> TinyDBRepository:
    """A second, empty store."""
    store = open_store(tmp_path / "other")
    yield store
    store.close()


def same_people(source: TinyDBRepository, target: TinyDBRepository) -> None:
    """Give ``target`` the users, tags and users' own contacts of ``source`` (same ids)."""
    dump = source.dump()
    own = {u["contact_id"] for u in dump["users"]}
    target.load_dump({"users": dump["users"], "tags": dump["tags"],
                      "contacts": [c for c in dump["contacts"] if c["id"] in own]})


@pytest.fixture
def full_db(repo: TinyDBRepository, ann: User, bob: User, tags: list[Tag],
            contacts: list[Contact]) -> TinyDBRepository:
    """Every kind of record: users, tags, contacts, activities, accounts, sync data, journal."""
    bob_tag = repo.add_tag(Tag(name="Bob only", kind=TagKind.PRIVATE, owner_id=bob.id))
    repo.tag_contacts([contacts[1].id], bob_tag.id, bob.id)
    series = Activity(title="Weekly sync ☕", type="meeting",
                      start=datetime(2024, 3, 4, 9, 30, tzinfo=PARIS),
                      end=datetime(2024, 3, 4, 10, 0, tzinfo=PARIS), timezone="Europe/Paris",
                      organizer_id=ann.id, owner_id=ann.id, show_in_calendar=True,
                      recurrence=["RRULE:FREQ=WEEKLY;COUNT=10"],
                      participants=[Participant("user", bob.id, "accepted"),
                                    Participant("contact", contacts[0].id)])
    repo.add_activities([
        series,
        Activity(title="Moved occurrence", start=datetime(2024, 3, 12, 11, tzinfo=PARIS),
                 end=datetime(2024, 3, 12, 11, 30, tzinfo=PARIS), timezone="Europe/Paris",
                 organizer_id=ann.id, series_id=series.id),
        Activity(title="Conference", all_day=True, start_date=date(2024, 5, 1),
                 end_date=date(2024, 5, 3), organizer_id=bob.id, status="completed",
                 priority="high", location="Hall 4", notes="Bring badges\nand cards"),
        Activity(title="Call back", type="call", organizer_id=ann.id),
    ])
    repo.add_account(Account(user_id=ann.id, email="ann@gmail.example.com",
                             endpoint="http://127.0.0.1:9999"))
    repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_auto=True, contacts_period=15,
                                         contacts_tag_id=tags[1].id,
                                         activities_from=date(2024, 1, 1)))
    repo.set_sync_state(ann.id, SyncKind.CONTACTS, {"sync_token": "tok-1", "group": "groups/x"})
    repo.put_link(SyncLink(user_id=ann.id, kind=SyncKind.CONTACTS, local_id=contacts[0].id,
                           remote_id="people/c123", etag="%EgUBAi43", base={"given_name": "Zoë"}))
    repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, status="ok",
                         finished=datetime(2024, 7, 1, 12, tzinfo=UTC), counts={"created": 3},
                         errors=["people/c9: rejected"]))
    return repo
