"""One record's sync status: set up or not, synced with which account and when, what the next
sync does with it, what the last run skipped and why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from crmtui.model import (
    Account,
    AccountState,
    Activity,
    Contact,
    Participant,
    ParticipantKind,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    User,
)
from crmtui.store import TinyDBRepository
from crmtui.sync.record_status import RecordState, RecordStatusService, notes_naming

START = datetime(2026, 11, 20, 9, tzinfo=UTC)


def setup(repo: TinyDBRepository, user: User, tag: Tag | None = None) -> None:
    repo.add_account(Account(user_id=user.id, email="ann.lee@gmail.com"))
    repo.save_sync_settings(SyncSettings(user_id=user.id, contacts_tag_id=tag.id if tag else "",
                                         activities_from=date(2026, 11, 1)))


def test_nothing_set_up_says_what_to_do(repo: TinyDBRepository, ann: User) -> None:
    service = RecordStatusService(repo)
    contact = repo.add_contact(Contact(given_name="Carla"))
    status = service.contact(ann.id, contact)
    assert status.state is RecordState.NOT_SET_UP
    assert "no Google account is linked" in status.reason
    repo.add_account(Account(user_id=ann.id, email="ann.lee@gmail.com"))
    status = service.contact(ann.id, contact)
    assert status.state is RecordState.NOT_SET_UP and "sync tag" in status.reason
    activity = repo.add_activity(Activity(title="Call", organizer_id=ann.id, start=START))
    assert "synchronize from" in service.activity(ann.id, activity).reason


def test_contact_tagged_linked_changed(repo: TinyDBRepository, ann: User,
                                       ann_private_tag: Tag) -> None:
    setup(repo, ann, ann_private_tag)
    service = RecordStatusService(repo)
    carla = repo.add_contact(Contact(given_name="Carla", family_name="Diaz",
                                     tags=[ann_private_tag.id]))
    status = service.contact(ann.id, carla)
    assert status.state is RecordState.PENDING
    assert status.pending == ["added to Google Contacts at the next sync"]
    assert status.headline == "Waiting for the next sync with ann.lee@gmail.com"
    synced = carla.modified
    repo.put_link(SyncLink(user_id=ann.id, kind=SyncKind.CONTACTS, local_id=carla.id,
                           remote_id="people/c1", synced=synced))
    status = service.contact(ann.id, carla)
    assert status.state is RecordState.SYNCED and status.last_synced == synced
    assert status.headline == "Synced with ann.lee@gmail.com" and status.remote_id == "people/c1"
    edited = repo.update_contact(carla.evolve(company="Acme"))
    assert "go to Google at the next sync" in service.contact(ann.id, edited).pending[0]
    repo.tag_contacts([carla.id], ann_private_tag.id, ann.id, remove=True)
    untagged = repo.get_contact(carla.id)
    assert "leaves the Google group" in service.contact(ann.id, untagged).pending[0]
    account = repo.list_accounts(ann.id)[0]
    repo.update_account(account.evolve(state=AccountState.NEEDS_RECONNECT))
    assert "must be linked again" in service.contact(ann.id, untagged).pending[0]


def test_skipped_notes_of_the_latest_run_name_the_record(repo: TinyDBRepository, ann: User,
                                                         ann_private_tag: Tag) -> None:
    setup(repo, ann, ann_private_tag)
    carla = repo.add_contact(Contact(given_name="Carla", family_name="Diaz",
                                     tags=[ann_private_tag.id]))
    repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, started=START,
                         finished=START, status="ok",
                         errors=["Carla Diaz: Google refused it (400: bad phone)",
                                 "Carla Dia: another one"]))
    status = RecordStatusService(repo).contact(ann.id, carla)
    assert status.skipped == ["Google refused it (400: bad phone)"]
    assert status.run_finished == START
    later = START + timedelta(hours=1)
    repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, started=later,
                         finished=later, status="ok"))
    assert RecordStatusService(repo).contact(ann.id, carla).skipped == []  # it went through


def test_not_tagged_contact_is_not_synced(repo: TinyDBRepository, ann: User,
                                          ann_private_tag: Tag) -> None:
    setup(repo, ann, ann_private_tag)
    dmitri = repo.add_contact(Contact(given_name="Dmitri"))
    status = RecordStatusService(repo).contact(ann.id, dmitri)
    assert status.state is RecordState.NOT_SYNCED
    assert status.reason == "it does not carry the sync tag “Google”"


def test_activity_reasons(repo: TinyDBRepository, ann: User, bob: User) -> None:
    setup(repo, ann)
    service = RecordStatusService(repo)
    hidden = repo.add_activity(Activity(title="Call", organizer_id=ann.id, start=START))
    assert service.activity(ann.id, hidden).reason == "Show in calendar is off"
    old = repo.add_activity(Activity(title="Old", organizer_id=ann.id, show_in_calendar=True,
                                     start=datetime(2026, 10, 1, tzinfo=UTC)))
    assert "before the “synchronize from” date (2026-11-01)" in service.activity(ann.id,
                                                                                   old).reason
    undated = repo.add_activity(Activity(title="Someday", organizer_id=ann.id,
                                         show_in_calendar=True))
    assert "has no start" in service.activity(ann.id, undated).reason
    bobs = repo.add_activity(Activity(title="Bob's", organizer_id=bob.id, show_in_calendar=True,
                                      start=START,
                                      participants=[Participant(ParticipantKind.USER, ann.id)]))
    assert "organizer's sync sends it" in service.activity(ann.id, bobs).reason
    mine = repo.add_activity(Activity(title="Review", organizer_id=ann.id,
                                      show_in_calendar=True, start=START))
    status = service.activity(ann.id, mine)
    assert status.state is RecordState.PENDING
    assert status.pending == ["added to Google Calendar at the next sync"]
    repo.put_link(SyncLink(user_id=ann.id, kind=SyncKind.ACTIVITIES, local_id=mine.id,
                           remote_id="evt1", synced=mine.modified))
    assert service.activity(ann.id, mine).state is RecordState.SYNCED
    repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.ACTIVITIES, started=START,
                         finished=START, status="ok",
                         errors=["'Review': not updated in Google: it changed meanwhile"]))
    assert service.activity(ann.id, mine).skipped == ["not updated in Google: it changed "
                                                      "meanwhile"]
    off = repo.update_activity(mine.evolve(show_in_calendar=False))
    assert "removed from Google Calendar" in service.activity(ann.id, off).pending[0]


def test_notes_naming_strips_the_side() -> None:
    lines = ["people/c9 (Gmail): cannot be read: bad", "x: y", "no reason here"]
    assert notes_naming(lines, ["people/c9"]) == ["cannot be read: bad"]
