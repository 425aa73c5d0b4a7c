"""Activity queries: date ranges across time zones, user, calendar flag, type, text, sorting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmtui.model import (
    Activity,
    ActivityStatus,
    ActivityType,
    Contact,
    Participant,
    Priority,
    User,
    ValidationError,
    fold,
)
from crmtui.store import ACTIVITY_SORTS, ActivityQuery, NotFound, StoreConflict, TinyDBRepository

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def acts(repo: TinyDBRepository, ann: User, bob: User) -> dict[str, Activity]:
    client = repo.add_contact(Contact(given_name="Client"))
    # Every activity has an organizer; Cem organizes those neither Ann nor Bob is part of.
    cem = repo.add_user(User(name="Cem Aydin", email="cem@example.com"))
    made = {
        # 2024-03-10 00:30 in Tokyo is 2024-03-09 15:30 UTC: its local date is the 10th.
        "tokyo": Activity(title="Tokyo breakfast", type=ActivityType.MEETING,
                          start=datetime(2024, 3, 10, 0, 30, tzinfo=TOKYO),
                          end=datetime(2024, 3, 10, 1, 30, tzinfo=TOKYO), timezone="Asia/Tokyo",
                          organizer_id=ann.id, show_in_calendar=True, priority=Priority.HIGH,
                          status=ActivityStatus.COMPLETED),
        # 2024-03-09 23:00 in New York is 2024-03-10 04:00 UTC: its local date is the 9th.
        "nyc": Activity(title="Late call", type=ActivityType.CALL,
                        start=datetime(2024, 3, 9, 23, 0, tzinfo=NEW_YORK),
                        timezone="America/New_York", organizer_id=bob.id,
                        participants=[Participant("user", ann.id)], priority=Priority.LOW,
                        location="Café Zürich"),
        "allday": Activity(title="Conference", type=ActivityType.MEETING, all_day=True,
                           start_date=date(2024, 3, 10), end_date=date(2024, 3, 12),
                           organizer_id=bob.id, show_in_calendar=True,
                           participants=[Participant("contact", client.id)],
                           status=ActivityStatus.IN_PROGRESS),
        "utc": Activity(title="Email follow-up", type=ActivityType.EMAIL,
                        start=datetime(2024, 3, 11, 12, 0, tzinfo=UTC),
                        notes="Send the Ångström quote", status=ActivityStatus.CANCELLED,
                        organizer_id=cem.id),
        "undated": Activity(title="Someday task", owner_id=ann.id, organizer_id=cem.id,
                            priority=Priority.HIGH),
    }
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i, a in enumerate(made.values()):
        made_at = base + timedelta(hours=i)
        repo.add_activity(a.evolve(created=made_at, modified=made_at))
    return {k: repo.get_activity(a.id) for k, a in made.items()}


def found(repo: TinyDBRepository, acts: dict[str, Activity], **kw: object) -> list[str]:
    by_id = {a.id: k for k, a in acts.items()}
    return [by_id[a.id] for a in repo.find_activities(ActivityQuery(**kw))]  # type: ignore[arg-type]


@pytest.mark.parametrize(("start_from", "start_to", "expected"), [
    # Dates compare with the local start date.
    (date(2024, 3, 10), date(2024, 3, 11), {"tokyo", "allday"}),
    (date(2024, 3, 9), date(2024, 3, 10), {"nyc"}),
    (date(2024, 3, 11), None, {"utc"}),
    (None, date(2024, 3, 10), {"nyc"}),
    (date(2024, 3, 12), date(2024, 3, 20), set()),  # the conference started on the 10th
    # Datetimes compare with the start instant.
    (datetime(2024, 3, 9, 15, 30, tzinfo=UTC), datetime(2024, 3, 9, 15, 31, tzinfo=UTC),
     {"tokyo"}),
    (datetime(2024, 3, 9, 15, 31, tzinfo=UTC), None, {"nyc", "allday", "utc"}),
    (datetime(2024, 3, 10, 4, 0, tzinfo=UTC), datetime(2024, 3, 11, 12, 0, tzinfo=UTC),
     {"nyc", "allday"}),   # the end is exclusive
    (None, datetime(2024, 3, 10, 4, 0, tzinfo=UTC), {"tokyo"}),
    (datetime(2024, 3, 10, 0, 0, tzinfo=TOKYO), datetime(2024, 3, 11, 0, 0, tzinfo=TOKYO),
     {"tokyo", "nyc", "allday"}),
    # An all-day activity compares with the bound's own date.
    (datetime(2024, 3, 10, 23, 0, tzinfo=UTC), datetime(2024, 3, 10, 23, 30, tzinfo=UTC),
     set()),
    (datetime(2024, 3, 9, 23, 0, tzinfo=UTC), datetime(2024, 3, 11, 0, 0, tzinfo=UTC),
     {"nyc", "allday"}),
])
def test_date_range(repo: TinyDBRepository, acts: dict[str, Activity],
                    start_from: date | datetime | None, start_to: date | datetime | None,
                    expected: set[str]) -> None:
    assert set(found(repo, acts, start_from=start_from, start_to=start_to)) == expected


def test_undated_activities_only_without_a_range(repo: TinyDBRepository,
                                                 acts: dict[str, Activity]) -> None:
    assert "undated" in found(repo, acts)
    assert "undated" not in found(repo, acts, start_from=date(2000, 1, 1))


def test_by_user_organizer_or_participant(repo: TinyDBRepository, acts: dict[str, Activity],
                                          ann: User, bob: User) -> None:
    assert set(found(repo, acts, user_id=ann.id)) == {"tokyo", "nyc"}  # owner alone is not it
    assert set(found(repo, acts, user_id=bob.id)) == {"nyc", "allday"}
    assert found(repo, acts, user_id="nobody") == []


def test_by_calendar_flag_type_and_text(repo: TinyDBRepository, acts: dict[str, Activity]
                                        ) -> None:
    assert set(found(repo, acts, show_in_calendar=True)) == {"tokyo", "allday"}
    assert set(found(repo, acts, show_in_calendar=False)) == {"nyc", "utc", "undated"}
    assert set(found(repo, acts, type=ActivityType.MEETING)) == {"tokyo", "allday"}
    assert found(repo, acts, type=ActivityType.CALL) == ["nyc"]
    assert found(repo, acts, text="cafe zurich") == ["nyc"]    # location, accents folded
    assert found(repo, acts, text="ANGSTROM quote") == ["utc"]  # notes
    assert found(repo, acts, text="someday TASK") == ["undated"]
    assert found(repo, acts, text="someday call") == []
    assert set(found(repo, acts, show_in_calendar=True, type=ActivityType.MEETING,
                     start_from=date(2024, 3, 10), start_to=date(2024, 3, 11))) == {"tokyo",
                                                                                     "allday"}


def test_sort_by_start(repo: TinyDBRepository, acts: dict[str, Activity]) -> None:
    # By instant; an all-day activity counts from midnight UTC; undated ones last.
    assert found(repo, acts) == ["tokyo", "allday", "nyc", "utc", "undated"]
    assert found(repo, acts, descending=True) == ["undated", "utc", "nyc", "allday", "tokyo"]


@pytest.mark.parametrize("column", ACTIVITY_SORTS)
def test_sort_every_column(repo: TinyDBRepository, acts: dict[str, Activity], column: str
                           ) -> None:
    asc = repo.find_activities(ActivityQuery(sort=column))
    desc = repo.find_activities(ActivityQuery(sort=column, descending=True))
    assert [a.id for a in desc] == [a.id for a in asc][::-1]
    assert len(asc) == len(acts)
    primary = {
        "start": lambda a: a.sort_start() or datetime.max.replace(tzinfo=UTC),
        "title": lambda a: fold(a.title),
        "type": lambda a: a.type.value,
        "status": lambda a: a.status.value,
        "priority": lambda a: ["high", "medium", "low"].index(a.priority.value),
        "created": lambda a: a.created,
        "modified": lambda a: a.modified,
    }[column]
    values = [primary(a) for a in asc]
    assert values == sorted(values)


def test_sort_ties_by_start(repo: TinyDBRepository, acts: dict[str, Activity]) -> None:
    assert found(repo, acts, sort="priority") == ["tokyo", "undated", "allday", "utc", "nyc"]
    assert found(repo, acts, sort="type")[:2] == ["nyc", "utc"]  # call, email
    assert found(repo, acts, sort="title") == ["allday", "utc", "nyc", "undated", "tokyo"]


def test_offset_limit_and_bad_sort(repo: TinyDBRepository, acts: dict[str, Activity]) -> None:
    assert found(repo, acts, offset=1, limit=2) == ["allday", "nyc"]
    assert found(repo, acts, offset=4, limit=10) == ["undated"]
    with pytest.raises(ValidationError, match="sort: must be one of start, title"):
        repo.find_activities(ActivityQuery(sort="colour"))


def test_activity_references_and_crud(repo: TinyDBRepository, acts: dict[str, Activity],
                                      ann: User) -> None:
    with pytest.raises(NotFound, match="no user ghost"):
        repo.add_activity(Activity(title="x", organizer_id="ghost"))
    with pytest.raises(NotFound, match="no contact c0"):
        repo.add_activity(Activity(title="x", organizer_id=ann.id,
                                   participants=[Participant("contact", "c0")]))
    with pytest.raises(StoreConflict):
        repo.add_activity(acts["utc"])
    with pytest.raises(NotFound):
        repo.update_activity(Activity(title="never stored"))
    changed = repo.update_activity(acts["utc"].evolve(title="Email sent"))
    assert repo.get_activity(changed.id).title == "Email sent"
    assert changed.modified > acts["utc"].modified
    # Deleting a series detaches its occurrences.
    occurrence = repo.add_activity(Activity(title="One", organizer_id=ann.id, series_id=acts["tokyo"].id))
    repo.delete_activity(acts["tokyo"].id)
    assert repo.get_activity(occurrence.id).series_id == ""
    with pytest.raises(NotFound):
        repo.get_activity(acts["tokyo"].id)
    with pytest.raises(NotFound):
        repo.delete_activity(acts["tokyo"].id)


def test_activity_round_trips_through_the_store(repo: TinyDBRepository,
                                                acts: dict[str, Activity]) -> None:
    tokyo = repo.get_activity(acts["tokyo"].id)
    assert tokyo.start == datetime(2024, 3, 9, 15, 30, tzinfo=UTC)
    assert tokyo.start.utcoffset() == timedelta(hours=9)
    assert repo.get_activity(acts["allday"].id).end_date == date(2024, 3, 12)


def test_naive_datetime_bound_is_refused(repo: TinyDBRepository, acts: dict[str, Activity]
                                         ) -> None:
    with pytest.raises(ValidationError, match="start_from: must carry a time zone"):
        repo.find_activities(ActivityQuery(start_from=datetime(2024, 3, 10)))
    with pytest.raises(ValidationError, match="start_to: must carry a time zone"):
        repo.find_activities(ActivityQuery(start_to=datetime(2024, 3, 10)))
