"""One record's sync status, as a contact's or an activity's page shows it.

:class:`RecordStatusService` answers "is this contact (activity) in Google, through which account,
since when, and what will the next sync do with it, or why was it left out": from the record's
sync link (the remote record, when it was last synced), the user's settings (the sync tag, Show
in calendar and the "synchronize from" date), the kind's remembered state (records to look at
again) and the journal's latest run (what it skipped, with the reason). It reads only; no Textual.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from crmtui.model import Account, AccountState, Activity, Contact, SyncKind, SyncLink, SyncSettings
from crmtui.store import NotFound, Repository
from crmtui.sync.activities.mapping import label as activity_label
from crmtui.sync.contacts.mapping import contact_fields
from crmtui.sync.contacts.mapping import label as contact_label
from crmtui.sync.state import STATE_TYPES


class RecordState(enum.Enum):
    """The headline of a record's sync status."""

    SYNCED = "synced"  # linked, nothing waits for the next sync
    PENDING = "pending"  # the next sync has something to do with it
    NOT_SYNCED = "not synced"  # the sync leaves it out (the reason says why)
    NOT_SET_UP = "not set up"  # no Google account, or the kind's sync is not set up


@dataclass(frozen=True)
class RecordSyncStatus:
    """What a page shows about one record's sync."""

    kind: SyncKind
    state: RecordState
    account: str = ""  # the Google account's email ("" when none is linked)
    last_synced: datetime | None = None  # when the link was last written
    remote_id: str = ""
    pending: list[str] = field(default_factory=list)  # what the next sync does with it
    skipped: list[str] = field(default_factory=list)  # the latest run's notes naming it
    reason: str = ""  # why it is not synced, or what to set up
    run_finished: datetime | None = None  # when the run the skipped notes come from ended

    @property
    def headline(self) -> str:
        """One line: "Synced with ann@gmail.com", "Not synced", …"""
        if self.state is RecordState.SYNCED:
            return f"Synced with {self.account}" if self.account else "Synced"
        if self.state is RecordState.PENDING:
            return (f"Waiting for the next sync with {self.account}" if self.account
                    else "Waiting for the next sync")
        if self.state is RecordState.NOT_SET_UP:
            return "Not synchronized: sync is not set up"
        return "Not synchronized"


def notes_naming(errors: Sequence[str], names: Sequence[str]) -> list[str]:
    """The journal lines (``"who: why"``) that name the record by one of ``names``."""
    out = []
    for line in errors:
        who, _, why = line.partition(": ")
        if not why:
            continue
        who = who.removesuffix(" (Gmail)").removesuffix(" (Google Calendar)")
        if who in names:
            out.append(why)
    return out


class RecordStatusService:
    """Per-record sync status of one user's contacts and activities (read only)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def _account(self, user_id: str) -> Account | None:
        return next((a for a in self.repo.list_accounts(user_id) if a.provider == "google"),
                    None)

    def _skipped(self, user_id: str, kind: SyncKind, names: Sequence[str]
                 ) -> tuple[list[str], datetime | None]:
        runs = [r for r in self.repo.list_runs(user_id, kind, limit=5) if r.status != "running"]
        if not runs:
            return [], None
        latest = runs[0]
        return notes_naming(latest.errors, names), latest.finished or latest.started

    def _retry(self, user_id: str, kind: SyncKind, local_id: str) -> bool:
        state = STATE_TYPES[kind].read(self.repo, user_id)
        return local_id in state.retry_local

    def _not_set_up(self, kind: SyncKind, account: Account | None, settings: SyncSettings,
                    link: SyncLink | None) -> RecordSyncStatus | None:
        reason = ""
        if account is None:
            reason = "no Google account is linked: Profile → Accounts (key 3), then n"
        elif not settings.is_set_up(kind):
            reason = ("choose the sync tag in Sync settings (key 4)" if kind is SyncKind.CONTACTS
                      else "choose the “synchronize from” date in Sync settings (key 4)")
        if not reason:
            return None
        return RecordSyncStatus(kind, RecordState.NOT_SET_UP,
                                account=account.email if account else "",
                                last_synced=link.synced if link else None,
                                remote_id=link.remote_id if link else "", reason=reason)

    @staticmethod
    def _account_note(account: Account) -> list[str]:
        if account.state is AccountState.NEEDS_RECONNECT:
            return [f"the account {account.email} must be linked again (Accounts, key 3)"]
        return []

    def contact(self, user_id: str, contact: Contact) -> RecordSyncStatus:
        kind = SyncKind.CONTACTS
        settings = self.repo.get_sync_settings(user_id)
        account = self._account(user_id)
        link = self.repo.get_link(user_id, kind, contact.id)
        missing = self._not_set_up(kind, account, settings, link)
        if missing is not None:
            return missing
        assert account is not None
        names = [contact_label(contact_fields(contact), contact.id)]
        if link is not None:
            names.append(link.remote_id)
        skipped, finished = self._skipped(user_id, kind, names)
        tag_name = self._tag_name(settings.contacts_tag_id, user_id)
        tagged = settings.contacts_tag_id in contact.tags
        pending = self._account_note(account)
        reason = ""
        if link is None:
            if tagged:
                pending.append("added to Google Contacts at the next sync")
            else:
                reason = f"it does not carry the sync tag “{tag_name}”"
        else:
            if not tagged:
                pending.append(f"leaves the Google group at the next sync (the sync tag "
                               f"“{tag_name}” was taken off)")
            elif contact.modified > link.synced:
                pending.append(f"changes made at {_hm(contact.modified)} go to Google at the "
                               "next sync")
            if self._retry(user_id, kind, contact.id):
                pending.append("looked at again at the next sync (the last one could not "
                               "finish it)")
        return self._status(kind, account, link, pending, skipped, finished, reason)

    def activity(self, user_id: str, activity: Activity) -> RecordSyncStatus:
        kind = SyncKind.ACTIVITIES
        settings = self.repo.get_sync_settings(user_id)
        account = self._account(user_id)
        link = self.repo.get_link(user_id, kind, activity.id)
        missing = self._not_set_up(kind, account, settings, link)
        if missing is not None:
            return missing
        assert account is not None and settings.activities_from is not None
        names = [activity_label({"title": activity.title}, activity.id), activity.id[:8]]
        if link is not None:
            names.append(link.remote_id)
        skipped, finished = self._skipped(user_id, kind, names)
        pending = self._account_note(account)
        reason = ""
        start = activity.starts_on()
        organizes = activity.organizer_id == user_id
        if link is None:
            if not activity.show_in_calendar:
                reason = "Show in calendar is off"
            elif start is None:
                reason = "it has no start, so it cannot be in a calendar"
            elif start < settings.activities_from:
                reason = (f"it starts before the “synchronize from” date "
                          f"({_day(settings.activities_from)})")
            elif not activity.involves(user_id):
                reason = "you neither organize it nor take part in it"
            elif organizes:
                pending.append("added to Google Calendar at the next sync")
            else:
                reason = ("its organizer's sync sends it; yours links it once it is in your "
                          "calendar")
        else:
            if not activity.show_in_calendar:
                pending.append("removed from Google Calendar at the next sync (Show in "
                               "calendar is off)")
            elif activity.modified > link.synced:
                if organizes:
                    pending.append(f"changes made at {_hm(activity.modified)} go to Google at "
                                   "the next sync")
                else:
                    pending.append("changes made here are not sent: only the organizer's "
                                   "sync sends an activity")
            if self._retry(user_id, kind, activity.id):
                pending.append("looked at again at the next sync (the last one could not "
                               "finish it)")
        return self._status(kind, account, link, pending, skipped, finished, reason)

    def _status(self, kind: SyncKind, account: Account, link: SyncLink | None,
                pending: list[str], skipped: list[str], finished: datetime | None,
                reason: str) -> RecordSyncStatus:
        if pending:
            state = RecordState.PENDING
        elif link is not None:
            state = RecordState.SYNCED
        else:
            state = RecordState.NOT_SYNCED
        return RecordSyncStatus(kind, state, account=account.email,
                                last_synced=link.synced if link else None,
                                remote_id=link.remote_id if link else "", pending=pending,
                                skipped=skipped, reason=reason, run_finished=finished)

    def _tag_name(self, tag_id: str, user_id: str) -> str:
        try:
            return self.repo.get_tag(tag_id, user_id).name
        except NotFound:
            return "(deleted tag)"


def _hm(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _day(day: date) -> str:
    return day.isoformat()
