"""ActivityQuery's status, contact and series filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmtui.model import (
    Activity,
    ActivityStatus,
    Contact,
    Participant,
    ParticipantKind,
    User,
)
from crmtui.store import ActivityQuery, TinyDBRepository

START = datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_statuses_contacts_and_series(repo: TinyDBRepository, ann: User) -> None:
    carla = repo.add_contact(Contact(given_name="Carla"))
    dmitri = repo.add_contact(Contact(given_name="Dmitri"))
    with_carla = Participant(ParticipantKind.CONTACT, carla.id)
    with_dmitri = Participant(ParticipantKind.CONTACT, dmitri.id)
    series = repo.add_activity(Activity(id="series", title="Weekly", organizer_id=ann.id,
                                        start=START, recurrence=["RRULE:FREQ=WEEKLY"],
                                        participants=[with_carla]))
    repo.add_activity(Activity(id="moved", title="Weekly (moved)", organizer_id=ann.id,
                               start=START + timedelta(days=8), series_id=series.id,
                               original_start=START + timedelta(days=7),
                               status=ActivityStatus.COMPLETED))
    repo.add_activity(Activity(id="call", title="Call", organizer_id=ann.id, start=START,
                               status=ActivityStatus.IN_PROGRESS, participants=[with_dmitri]))
    repo.add_activity(Activity(id="ann", title="Alone", organizer_id=ann.id,
                               participants=[Participant(ParticipantKind.USER, ann.id)]))

    def ids(**kwargs: object) -> list[str]:
        return sorted(a.id for a in repo.find_activities(ActivityQuery(**kwargs)))

    assert ids(statuses=(ActivityStatus.COMPLETED,)) == ["moved"]
    assert ids(statuses=(ActivityStatus.NOT_STARTED, ActivityStatus.IN_PROGRESS)) == [
        "ann", "call", "series"]
    assert ids(contact_ids=(carla.id,)) == ["series"]
    assert ids(contact_ids=(carla.id, dmitri.id)) == ["call", "series"]
    assert ids(series_id=series.id) == ["moved"]
    assert ids(contact_ids=(dmitri.id,), statuses=(ActivityStatus.COMPLETED,)) == []
    assert len(ids()) == 4  # the defaults filter nothing
