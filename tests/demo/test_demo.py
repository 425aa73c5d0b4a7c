"""The demo data: what seed_demo creates, that it is deterministic, and open_demo."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmtui.demo import DEMO_EMAIL, SYNC_TAG_NAME, open_demo, seed_demo
from crmtui.model import ActivityType, Contact, TagKind, User
from crmtui.store import ActivityQuery, ContactQuery, StoreError, TinyDBRepository, open_store

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)


@pytest.fixture
def demo(repo: TinyDBRepository) -> tuple[TinyDBRepository, str]:
    return repo, seed_demo(repo, now=NOW)


def test_users_have_their_own_contact_and_example_com_emails(demo: tuple) -> None:
    repo, user_id = demo
    users = repo.list_users()
    assert len(users) >= 3
    assert repo.get_user(user_id).email == DEMO_EMAIL
    for user in users:
        own = repo.get_contact(user.contact_id)
        assert own.emails and user.email in [e.value for e in own.emails]
        assert all(e.value.split("@")[1].endswith(".example.com") for e in own.emails)
        assert len(repo.user_emails(user.id)) >= 2


def test_contacts_are_varied(demo: tuple) -> None:
    repo, user_id = demo
    contacts = repo.find_contacts(ContactQuery(), user_id)
    assert len(contacts) >= 300
    assert sum(not c.display_name.isascii() for c in contacts) > 50  # accents, ø, ł, đ, ...
    assert len({c.company for c in contacts if c.company}) >= 20
    assert len({c.job_title for c in contacts if c.job_title}) >= 15
    assert sum(len(c.emails) >= 2 for c in contacts) > 30
    assert {p.type for c in contacts for p in c.phones} >= {"work", "mobile", "home"}
    assert {e.type for c in contacts for e in c.emails} >= {"work", "home"}
    assert 50 < sum(bool(c.addresses) for c in contacts) < len(contacts)
    assert 50 < sum(c.birthday is not None for c in contacts) < len(contacts)
    assert 30 < sum(bool(c.notes) for c in contacts) < len(contacts)
    assert all(c.created <= c.modified <= NOW for c in contacts)
    assert {c.owner_id for c in contacts} == {u.id for u in repo.list_users()}
    every_email = [e.value for c in contacts for e in c.emails]
    assert len(every_email) == len(set(every_email))


def test_tags_of_every_kind_and_the_sync_tag(demo: tuple) -> None:
    repo, user_id = demo
    dump = repo.dump()
    kinds = Counter(t["kind"] for t in dump["tags"])
    assert kinds[TagKind.PUBLIC] >= 3 and kinds[TagKind.CORPORATE] >= 3
    for user in repo.list_users():
        assert repo.list_tags(user.id, TagKind.PRIVATE), f"{user.name} has no private tag"
    sync_tag = repo.find_tag(SYNC_TAG_NAME, user_id)
    assert sync_tag is not None and sync_tag.kind is TagKind.PRIVATE
    assert sync_tag.owner_id == user_id
    holders = repo.contact_ids(ContactQuery(tag_ids=(sync_tag.id,)), user_id)
    assert 35 <= len(holders) <= 45
    used = Counter(t for c in dump["contacts"] for t in c["tags"])
    assert all(used[t["id"]] > 0 for t in dump["tags"]), "every tag is on some contact"


def test_activities_cover_the_calendar_features(demo: tuple) -> None:
    repo, _ = demo
    activities = repo.find_activities(ActivityQuery())
    assert len(activities) >= 60
    assert {a.type for a in activities} == set(ActivityType)
    assert sum(a.is_collective for a in activities) >= 5
    assert any(sum(p.kind == "user" for p in a.participants) >= 2
               and any(p.kind == "contact" for p in a.participants) for a in activities)
    assert any(a.show_in_calendar for a in activities)
    assert not all(a.show_in_calendar for a in activities)
    assert any(a.all_day and a.end_date > a.start_date for a in activities)
    assert {"America/New_York", "Asia/Tokyo"} <= {a.timezone for a in activities}
    series = [a for a in activities if a.recurrence]
    assert [s.recurrence for s in series] == [["RRULE:FREQ=WEEKLY;COUNT=8"]]
    occurrences = [a for a in activities if a.series_id]
    assert occurrences and all(o.series_id == series[0].id for o in occurrences)


def test_activities_are_around_now(demo: tuple) -> None:
    repo, user_id = demo
    timed = [a for a in repo.find_activities(ActivityQuery()) if a.start is not None]
    assert all(abs(a.start - NOW) < timedelta(days=28) for a in timed)
    upcoming = repo.find_activities(ActivityQuery(start_from=NOW, start_to=NOW + timedelta(
        days=7), user_id=user_id, type=ActivityType.MEETING))
    assert upcoming, "the demo user has meetings in the coming week"
    assert all(a.status.value == "not_started" for a in upcoming)
    past = repo.find_activities(ActivityQuery(start_to=NOW - timedelta(days=1)))
    assert past and all(a.status.value in ("completed", "cancelled") for a in past)


def _dump(directory: Path, seed: int) -> dict:
    repo = open_store(directory)
    try:
        seed_demo(repo, seed=seed, now=NOW)
        return repo.dump()
    finally:
        repo.close()


def test_the_same_seed_and_now_give_the_same_data(tmp_path: Path) -> None:
    first = _dump(tmp_path / "a", 7)
    assert first == _dump(tmp_path / "b", 7)
    other = _dump(tmp_path / "c", 8)
    assert other != first
    assert [u["email"] for u in other["users"]] == [u["email"] for u in first["users"]]


def test_the_number_of_contacts_can_be_chosen(repo: TinyDBRepository) -> None:
    seed_demo(repo, contacts=40, now=NOW)
    assert repo.count_contacts() == 40 + len(repo.list_users())


def test_seed_refuses_a_store_that_holds_data(repo: TinyDBRepository, ann: User) -> None:
    with pytest.raises(StoreError, match="empty"):
        seed_demo(repo)
    assert repo.count_contacts() == 1


def test_open_demo_seeds_once(tmp_path: Path) -> None:
    repo, user_id = open_demo(tmp_path / "demo")
    counts = (repo.count_contacts(), len(repo.dump()["activities"]))
    repo.tag_contacts(repo.contact_ids(ContactQuery(limit=1), user_id),
                      repo.find_tag("Customer", user_id).id, user_id)
    repo.close()
    again, again_id = open_demo(tmp_path / "demo")
    try:
        assert again_id == user_id
        assert (again.count_contacts(), len(again.dump()["activities"])) == counts
        assert len(again.list_users()) == 3
    finally:
        again.close()


def test_open_demo_refuses_a_directory_with_other_data(tmp_path: Path) -> None:
    repo = open_store(tmp_path / "other")
    repo.add_user(User(name="Real Person", email="real@example.com"),
                  Contact(given_name="Real", emails=["real@example.com"]))
    repo.close()
    with pytest.raises(StoreError, match="not crmtui's demo"):
        open_demo(tmp_path / "other")
