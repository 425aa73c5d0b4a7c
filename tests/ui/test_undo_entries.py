"""The undo snapshots themselves: a series with its occurrences, tags put back per tag, one undo
only, and a failed undo that says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmtui.model import Activity, Contact, Tag, TagKind, User
from crmtui.screens.undo import UndoLog, activity_deleted, contacts_deleted, tags_changed
from crmtui.store import ActivityQuery, TinyDBRepository

START = datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_a_deleted_series_comes_back_with_its_occurrences(repo: TinyDBRepository,
                                                          ann: User) -> None:
    series = repo.add_activity(Activity(title="Weekly", organizer_id=ann.id, start=START,
                                        recurrence=["RRULE:FREQ=WEEKLY"]))
    moved = repo.add_activity(Activity(title="Weekly (moved)", organizer_id=ann.id,
                                       start=START + timedelta(days=8), series_id=series.id,
                                       original_start=START + timedelta(days=7)))
    log = UndoLog()
    log.record(activity_deleted(repo, series))
    repo.delete_activity(series.id)
    alone = repo.get_activity(moved.id)  # a one-off now, still readable
    assert alone.series_id == "" and alone.original_start is None
    message, done = log.undo(repo)
    assert done and message == "Restored “Weekly”."
    assert repo.get_activity(series.id).recurrence == ["RRULE:FREQ=WEEKLY"]
    assert repo.get_activity(moved.id).series_id == series.id
    assert repo.get_activity(moved.id).original_start == moved.original_start
    assert log.undo(repo) == ("Nothing to undo: deletions and tag changes can be undone while "
                              "crmtui runs.", False)


def test_tags_go_back_per_tag(repo: TinyDBRepository, ann: User) -> None:
    a = repo.add_tag(Tag("A", TagKind.PUBLIC))
    b = repo.add_tag(Tag("B", TagKind.PUBLIC))
    x = repo.add_contact(Contact(given_name="X", tags=[a.id]))
    y = repo.add_contact(Contact(given_name="Y"))
    entry = tags_changed(repo, [x.id, y.id], ann.id)
    repo.tag_contacts([x.id, y.id], b.id, ann.id)
    repo.tag_contacts([x.id], a.id, ann.id, remove=True)
    log = UndoLog()
    log.record(entry)
    assert log.undo(repo) == ("Restored the tags of 2 contacts.", True)
    assert repo.get_contact(x.id).tags == [a.id]
    assert repo.get_contact(y.id).tags == []


def test_a_tag_deleted_meanwhile_is_not_put_back(repo: TinyDBRepository, ann: User) -> None:
    carla = repo.add_contact(Contact(given_name="Carla"))
    log = UndoLog()
    log.record(contacts_deleted(repo, [carla.id]))
    repo.delete_contact(carla.id)
    assert log.undo(repo) == ("Restored 1 contact.", True)
    tag = repo.add_tag(Tag("Gone", TagKind.PUBLIC))
    kept = repo.add_tag(Tag("Kept", TagKind.PUBLIC))
    repo.tag_contacts([carla.id], tag.id, ann.id)
    repo.tag_contacts([carla.id], kept.id, ann.id)
    log.record(tags_changed(repo, [carla.id], ann.id))
    repo.tag_contacts([carla.id], tag.id, ann.id, remove=True)
    repo.tag_contacts([carla.id], kept.id, ann.id, remove=True)
    repo.delete_tag(tag.id, ann.id)
    assert log.undo(repo) == ("Restored the tags of 1 contact.", True)
    assert repo.get_contact(carla.id).tags == [kept.id]


def test_an_undo_that_clashes_says_why_and_writes_nothing(repo: TinyDBRepository,
                                                          ann: User) -> None:
    activity = repo.add_activity(Activity(id="review", title="Review", organizer_id=ann.id,
                                          start=START))
    log = UndoLog()
    log.record(activity_deleted(repo, activity))
    repo.delete_activity(activity.id)
    repo.add_activity(Activity(id="review", title="Imported again", organizer_id=ann.id))
    message, done = log.undo(repo)
    assert not done
    assert message.startswith("Cannot undo the deletion of “Review”: ")
    assert repo.get_activity("review").title == "Imported again"
    with_nothing = repo.find_activities(ActivityQuery())
    assert [a.id for a in with_nothing] == ["review"]
