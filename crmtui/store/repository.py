"""The repository interface: what the rest of crmtui may ask of the store.

Screens, the command line, import/export and sync use only this interface; the TinyDB
implementation lives beside it. Query objects are small frozen dataclasses.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout

from crmtui.model import (
    Account,
    Activity,
    ActivityStatus,
    ActivityType,
    Contact,
    ParticipantKind,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
)


class StoreError(RuntimeError):
    """A request the store cannot fulfil (e.g. a missing record); the message says why."""


class NotFound(StoreError):
    pass


class StoreConflict(StoreError):
    """The request clashes with what is stored (a duplicate, a record still in use)."""


class ChangedMeanwhile(StoreConflict):
    """A save based on a record someone else changed since it was read: the ``expected``
    version (the ``modified`` stamp the editor read) is no longer the stored one. ``current``
    is the record as now stored, ``by`` the user who changed it last ("" when unknown),
    ``by_name`` that user's name and ``at`` when. ``by_sync``: only writes that keep the
    stamp (a sync with Google writing what it pulled) changed it since; then ``by_name`` is
    :data:`SYNC_EDITOR` and the message names no time (the stamp is still the last person's)."""

    def __init__(self, current: Contact | Activity, by_name: str, *,
                 by_sync: bool = False) -> None:
        self.current = current
        self.by = current.modified_by
        self.by_name = by_name
        self.at = current.modified
        self.by_sync = by_sync
        when = current.modified.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        super().__init__(f"changed by {by_name}" if by_sync else
                         f"changed by {by_name} at {when}")


SYNC_EDITOR = "a sync with Google"
"""Who changed a record, in :class:`ChangedMeanwhile`, when only a sync's writes did."""


def new_version(stored: datetime, given: datetime) -> datetime:
    """The ``modified`` stamp a write kept (``touch=False``) stores: the one given, except
    that a write never leaves the stored stamp as it was (it is the version a save based on
    the old record is refused by), so the stamp it already had is moved on by a microsecond."""
    return given + timedelta(microseconds=1) if given == stored else given


KEPT_STAMP = timedelta(milliseconds=1)
"""How far writes that keep the stamp (:func:`new_version`, a microsecond each) may have moved
it: a version this close after the one read was changed by such writes alone."""

REVISE_TRIES = 5  # revise_contact / revise_activity: reads before giving up to a busy record


Revised = TypeVar("Revised", Contact, Activity)


def revise(read: Callable[[], Revised], change: Callable[[Revised], Revised | None],
           write: Callable[[Revised, datetime], Revised]) -> Revised:
    """Read a record, change it and write it on the version read (``write(record, modified)``
    refuses with :class:`ChangedMeanwhile` when someone saved meanwhile); read again and
    change again when refused, up to :data:`REVISE_TRIES` times."""
    for attempt in range(REVISE_TRIES):
        current = read()
        changed = change(current)
        if changed is None:
            return current
        try:
            return write(changed, current.modified)
        except ChangedMeanwhile:
            if attempt == REVISE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def check_activity_refs(activity: Activity, users: Container[str], contacts: Container[str],
                        activities: Container[str]) -> None:
    """Refuse (:class:`NotFound`) an activity whose owner, organizer, participants or series
    are not among the stored ``users``, ``contacts`` and ``activities`` ids."""
    for name, uid in (("owner", activity.owner_id), ("organizer", activity.organizer_id)):
        if uid and uid not in users:
            raise NotFound(f"no user {uid} to be the activity's {name}")
    for p in activity.participants:
        pool = users if p.kind is ParticipantKind.USER else contacts
        if p.ref_id not in pool:
            raise NotFound(f"no {p.kind.value} {p.ref_id} to take part in the activity")
    if activity.series_id and activity.series_id not in activities:
        raise NotFound(f"no activity {activity.series_id} to be the series")


class SyncLocked(StoreError):
    """Another sync of the same user and kind holds the lock (:meth:`Repository.sync_lock`)."""


CONTACT_SORTS = ("name", "given_name", "family_name", "company", "job_title", "email", "phone",
                 "birthday", "created", "modified")
ACTIVITY_SORTS = ("start", "title", "type", "status", "priority", "created", "modified")


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """Which contacts, in which order.

    ``text``: every word must occur (case- and accent-insensitive) in the name, an email, a phone
    (also matched on digits alone) or the company. ``tag_ids``: every one of these tags.
    ``tag_kind``: at least one tag of that kind. Tags the viewer cannot see never match.
    ``modified_since``: changed at or after that instant (sync finds local changes with it).
    """

    text: str = ""
    tag_ids: tuple[str, ...] = ()
    tag_kind: TagKind | None = None
    modified_since: datetime | None = None
    sort: str = "name"
    descending: bool = False
    offset: int = 0
    limit: int | None = None


JOURNAL_MAX_RUNS = 500
"""Runs of the sync journal kept per user (the oldest go first)."""
JOURNAL_MAX_CONFLICTS = 1000
"""Conflicts kept per run in the sync journal (the latest)."""


def journal_entry(run: SyncRun) -> SyncRun:
    """``run`` as a store's journal keeps it: its latest :data:`JOURNAL_MAX_CONFLICTS`
    conflicts, and a note of how many older ones were left out."""
    limit = JOURNAL_MAX_CONFLICTS
    if len(run.conflicts) <= limit:
        return run
    dropped = len(run.conflicts) - limit
    return run.evolve(conflicts=run.conflicts[-limit:],
                      errors=[*run.errors, f"{dropped} older conflicts of this run were not "
                              "kept in the journal"])


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """Which activities, in which order.

    ``start_from`` (inclusive) and ``start_to`` (exclusive) bound the start: a date compares with
    the activity's local start date, a datetime with its start instant (an all-day activity's date
    compares with the bound's date). ``user_id``: organized by or with that user as participant.
    ``modified_since``: changed at or after that instant (sync finds local changes with it).
    ``statuses``: one of these statuses (empty: any). ``contact_ids``: one of these contacts
    takes part (empty: anyone). ``series_id``: the occurrences of that series.
    """

    start_from: date | datetime | None = None
    start_to: date | datetime | None = None
    user_id: str | None = None
    show_in_calendar: bool | None = None
    type: ActivityType | None = None
    text: str = ""
    modified_since: datetime | None = None
    sort: str = "start"
    descending: bool = False
    offset: int = 0
    limit: int | None = None
    statuses: tuple[ActivityStatus, ...] = ()
    contact_ids: tuple[str, ...] = ()
    series_id: str | None = None


class Repository(ABC):
    """Everything crmtui stores. Every method is atomic; :meth:`transaction` groups several."""

    path: Any

    # -- lifecycle ------------------------------------------------------------------------------

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes into one commit; an exception inside leaves nothing written."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def refresh(self) -> bool:
        """Reload if another process committed since; True when something was reloaded."""

    @property
    @abstractmethod
    def generation(self) -> int:
        """A number that changes whenever the visible data changes (for caches in the UI)."""

    # -- users ----------------------------------------------------------------------------------

    def add_user(self, user: User, contact: Contact | None = None) -> User:
        """Add a user; with ``contact``, also add it as the user's own contact."""
        with self.transaction():
            if self.find_user(user.email) is not None:
                raise StoreConflict(f"a user with the email {user.email} already exists")
            if contact is not None:
                user = user.evolve(contact_id=contact.id)
            elif user.contact_id and not self._has_contact(user.contact_id):
                raise NotFound(f"no contact {user.contact_id}")
            self._insert_user(user)
            if contact is not None:
                self.add_contact(contact if contact.owner_id else contact.evolve(owner_id=user.id))
        return user

    @abstractmethod
    def _has_contact(self, contact_id: str) -> bool:
        """Whether the contact ``contact_id`` is stored (whoever may see it)."""

    @abstractmethod
    def _insert_user(self, user: User) -> None:
        """Store a new user as it is (add_user checked it)."""

    @abstractmethod
    def get_user(self, user_id: str) -> User: ...

    @abstractmethod
    def find_user(self, email: str) -> User | None:
        """The user whose login email, or an email of whose contact, is ``email``."""

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def user_emails(self, user_id: str) -> list[str]:
        """The user's login email and the emails on the user's contact."""

    # -- tags -----------------------------------------------------------------------------------

    @abstractmethod
    def add_tag(self, tag: Tag) -> Tag: ...

    @abstractmethod
    def get_tag(self, tag_id: str, viewer_id: str | None) -> Tag:
        """A tag the viewer can see; another user's private tag is NotFound."""

    @abstractmethod
    def find_tag(self, name: str, viewer_id: str | None) -> Tag | None:
        """The visible tag named ``name`` (case-insensitive); the viewer's private one first."""

    @abstractmethod
    def list_tags(self, viewer_id: str | None, kind: TagKind | None = None) -> list[Tag]: ...

    @abstractmethod
    def delete_tag(self, tag_id: str, viewer_id: str | None) -> None:
        """Delete a visible tag and take it off every contact."""

    # -- contacts -------------------------------------------------------------------------------

    @abstractmethod
    def add_contact(self, contact: Contact) -> Contact: ...

    @abstractmethod
    def add_contacts(self, contacts: Sequence[Contact]) -> None:
        """Add many contacts in one write (import, demo data)."""

    @abstractmethod
    def get_contact(self, contact_id: str, viewer_id: str | None = None) -> Contact:
        """The contact; with a viewer, other users' private tags are left out."""

    @abstractmethod
    def get_contacts(self, contact_ids: Sequence[str], viewer_id: str | None = None
                     ) -> list[Contact]: ...

    @abstractmethod
    def update_contact(self, contact: Contact, viewer_id: str | None = None,
                       *, touch: bool = True, expected: datetime | None = None) -> Contact:
        """Store ``contact``; tags the viewer cannot see are kept as they were.

        ``touch`` sets the modification time to now (sync passes False to keep Google's) and,
        with a viewer, ``modified_by`` to the viewer; without it, a stamp equal to the stored
        one moves on by a microsecond (:func:`new_version`: every write is a new version). ``expected``: the ``modified`` stamp the
        caller read; when the stored one differs (someone saved meanwhile), nothing is written
        and :class:`ChangedMeanwhile` is raised (checked and written in one transaction)."""

    def revise_contact(self, contact_id: str, change: Callable[[Contact], Contact | None],
                       viewer_id: str | None = None, *, touch: bool = False) -> Contact:
        """As :meth:`revise_activity`, for a contact seen by ``viewer_id``."""
        return revise(lambda: self.get_contact(contact_id, viewer_id), change,
                      lambda c, read: self.update_contact(c, viewer_id, touch=touch,
                                                          expected=read))

    @abstractmethod
    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact; it is taken out of the activities it took part in."""

    @abstractmethod
    def tag_contacts(self, contact_ids: Sequence[str], tag_id: str, viewer_id: str | None,
                     *, remove: bool = False) -> int:
        """Add (or remove) a visible tag on contacts; returns how many changed."""

    @abstractmethod
    def contact_ids(self, query: ContactQuery, viewer_id: str | None) -> list[str]:
        """Ids of the matching contacts in query order (offset and limit applied)."""

    def narrow_contact_ids(self, ids: Sequence[str], text: str, viewer_id: str | None
                           ) -> list[str]:
        """Those of ``ids`` (kept in their order) that match every word of ``text`` as
        :attr:`ContactQuery.text` does: narrows a previous result when the search text grew.
        Ids no longer stored are left out. Implementations may do better than this default."""
        matching = set(self.contact_ids(ContactQuery(text=text), viewer_id))
        return [cid for cid in ids if cid in matching]

    def all_contact_ids(self) -> Iterable[str]:
        """The id of every contact, in no particular order (finding the contact an id or an
        abbreviated id names needs no sorting). This default sorts them."""
        return self.contact_ids(ContactQuery(), None)

    def first_page(self, query: ContactQuery, viewer_id: str | None
                   ) -> tuple[list[str], int] | None:
        """Without waiting for the whole database, when the store can: the ids of the first
        contacts of ``query`` (its first screenfuls, not every one) and how many contacts
        there are; None when it cannot (then :meth:`contact_ids` answers). The TUI shows
        them while the store is still reading (a store opened ``deferred``). This default
        cannot."""
        return None

    def quick_contact_ids(self, query: ContactQuery, viewer_id: str | None
                          ) -> tuple[Sequence[str], int, int] | None:
        """:meth:`contact_ids` of ``query`` (a sequence that does not change, which may
        produce its ids as they are read), how many contacts there are and the
        :attr:`generation` they belong to, when the store
        has the answer at hand: in memory, in a few milliseconds, without waiting for a lock,
        a read or a query to a server. None otherwise (then :meth:`contact_ids` answers, in a
        thread). The TUI asks it as a key is handled, so that the list shows the answer in
        the frame that shows the letter typed. This default never has it at hand."""
        return None

    def quick_first_page(self, query: ContactQuery, viewer_id: str | None
                         ) -> tuple[list[str], int, int, bool] | None:
        """:meth:`first_page` of ``query`` when the store answers it in a few milliseconds,
        without waiting for a lock (a database near and free): its ids, how many contacts
        there are, the :attr:`generation` they belong to, and whether the ids are every match
        of ``query`` (else more follow them). None when the store cannot answer so (then
        a thread asks :meth:`first_page`). The TUI asks it as a key is handled, after
        :meth:`quick_contact_ids`, so that the list shows the first matches in the frame that
        shows the letter typed. This default cannot."""
        return None

    @property
    def loading(self) -> bool:
        """Whether a store opened ``deferred`` is still reading (this default never is)."""
        return False

    def wait_until_loaded(self) -> None:
        """Read now what a store opened ``deferred`` has not read yet, and return once it is
        read (the TUI's query thread calls it first, so that the generation it notes is that
        of the whole database). This default has nothing to read."""
        return None

    def prepare_search(self, sort: str = "name") -> None:
        """Build what text searches (in the ``sort`` order) need ahead of the first one: the UI
        calls it in a thread once the list shows, so the first letter typed is answered at
        once. Optional: searches work without it."""
        return None

    @abstractmethod
    def find_contacts(self, query: ContactQuery, viewer_id: str | None) -> list[Contact]: ...

    def stream_contacts(self, query: ContactQuery, viewer_id: str | None,
                        batch: int = 500) -> Iterator[Contact]:
        """The contacts of ``query`` in its order, as :meth:`find_contacts` returns them, built
        ``batch`` at a time: a caller that writes each one out (``contacts list --json``,
        export) holds a batch in memory, not every contact. A contact deleted meanwhile is left
        out. Implementations may do better than this default (a server-side cursor)."""
        ids = self.contact_ids(query, viewer_id)
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            try:
                found = self.get_contacts(chunk, viewer_id)
            except NotFound:  # deleted since the ids were read: one at a time
                found = []
                for cid in chunk:
                    try:
                        found.append(self.get_contact(cid, viewer_id))
                    except NotFound:
                        continue
            yield from found
            del found  # before the next batch is built: one batch in memory at a time

    @abstractmethod
    def count_contacts(self) -> int: ...

    @abstractmethod
    def contacts_with_email(self, email: str) -> list[Contact]: ...

    @abstractmethod
    def contact_ids_by_email(self, emails: set[str]) -> dict[str, str]:
        """For each of these (case-folded) emails carried by a contact, that contact's id (the
        oldest one when several carry it). One pass over the contacts."""

    # -- activities -----------------------------------------------------------------------------

    @abstractmethod
    def add_activity(self, activity: Activity) -> Activity: ...

    @abstractmethod
    def add_activities(self, activities: Sequence[Activity]) -> None: ...

    @abstractmethod
    def get_activity(self, activity_id: str) -> Activity: ...

    @abstractmethod
    def get_activities(self, activity_ids: Sequence[str]) -> list[Activity]:
        """These activities, in the order asked; ids that do not exist are left out."""

    @abstractmethod
    def activity_ids(self) -> set[str]:
        """The id of every activity (cheap: no activity is built)."""

    @abstractmethod
    def activity_ids_by_uid(self, uids: set[str]) -> dict[str, str]:
        """For each of these calendar UIDs carried by an activity (``ical_uid``), its id."""

    @abstractmethod
    def update_activity(self, activity: Activity, *, touch: bool = True,
                        expected: datetime | None = None) -> Activity:
        """Store ``activity``; ``touch`` and ``expected`` as for :meth:`update_contact` (the
        caller sets ``modified_by``)."""

    def revise_activity(self, activity_id: str, change: Callable[[Activity], Activity | None],
                        *, touch: bool = False) -> Activity:
        """Read the activity, apply ``change`` and store the result on the version read, as one
        step against other writers: when someone saves between the read and the write, it is
        read again and ``change`` applied to their version (never written over it). ``change``
        returns None when there is nothing to write. Returns the activity as stored."""
        return revise(lambda: self.get_activity(activity_id), change,
                      lambda a, read: self.update_activity(a, touch=touch, expected=read))

    @abstractmethod
    def delete_activity(self, activity_id: str) -> None: ...

    @abstractmethod
    def find_activities(self, query: ActivityQuery) -> list[Activity]: ...

    # -- accounts and sync settings -------------------------------------------------------------

    @abstractmethod
    def add_account(self, account: Account) -> Account: ...

    @abstractmethod
    def get_account(self, account_id: str) -> Account: ...

    @abstractmethod
    def update_account(self, account: Account) -> Account: ...

    @abstractmethod
    def delete_account(self, account_id: str) -> None: ...

    @abstractmethod
    def list_accounts(self, user_id: str | None = None) -> list[Account]: ...

    @abstractmethod
    def get_sync_settings(self, user_id: str) -> SyncSettings:
        """The user's settings (defaults when none were saved)."""

    @abstractmethod
    def save_sync_settings(self, settings: SyncSettings) -> None: ...

    # -- sync state -----------------------------------------------------------------------------

    @abstractmethod
    def get_sync_state(self, user_id: str, kind: SyncKind) -> dict[str, Any]:
        """Free-form per user and kind: sync tokens, the group's resource name, last sync."""

    @abstractmethod
    def set_sync_state(self, user_id: str, kind: SyncKind, state: dict[str, Any]) -> None: ...

    @abstractmethod
    def put_link(self, link: SyncLink) -> None: ...

    @abstractmethod
    def get_link(self, user_id: str, kind: SyncKind, local_id: str) -> SyncLink | None: ...

    @abstractmethod
    def link_by_remote(self, user_id: str, kind: SyncKind, remote_id: str) -> SyncLink | None: ...

    @abstractmethod
    def delete_link(self, user_id: str, kind: SyncKind, local_id: str) -> None: ...

    @abstractmethod
    def list_links(self, user_id: str, kind: SyncKind) -> list[SyncLink]: ...

    @abstractmethod
    def link_index(self, user_id: str, kind: SyncKind) -> dict[str, tuple[str, str]]:
        """Local id -> (remote id, etag) of every link (cheap: no link is built)."""

    @abstractmethod
    def get_links(self, user_id: str, kind: SyncKind, local_ids: Iterable[str]
                  ) -> dict[str, SyncLink]:
        """The links of these local ids (those that have one)."""

    @abstractmethod
    def add_run(self, run: SyncRun) -> None:
        """Add or replace a run in the journal (the journal keeps the latest runs only)."""

    @abstractmethod
    def list_runs(self, user_id: str, kind: SyncKind | None = None,
                  limit: int | None = None) -> list[SyncRun]:
        """The user's runs, newest first."""

    # -- whole-database access for import and export ------------------------------------------

    @abstractmethod
    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every record of every kind, as the JSON export writes them."""

    def stream_dump(self) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
        """:meth:`dump` a table at a time, each table's records made as they are read (the
        JSON export writes them as they come). This default builds the whole dump first."""
        for name, rows in self.dump().items():
            yield name, iter(rows)

    @abstractmethod
    def load_dump(self, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Add every record of a :meth:`dump` in one transaction; returns counts per kind.

        Every record is validated and every reference checked before anything is written; a
        record whose id is already stored is a StoreConflict. Either all of it goes in or nothing."""

    @abstractmethod
    def iter_contacts(self) -> Iterator[Contact]: ...

    @contextmanager
    def sync_lock(self, user_id: str, kind: SyncKind, lock_dir: Path) -> Iterator[None]:
        """Hold "one sync of this user and kind at a time" while the block runs, across the
        processes (and, for a shared database, the machines) that use this store; raises
        SyncLocked at once when another holds it. This default is a file lock in ``lock_dir``
        (``sync-USER-KIND.lock``), which serves a store used on one computer."""
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_dir / f"sync-{user_id}-{kind.value}.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise SyncLocked(f"a {kind.value} sync of this user is already running") from None
        try:
            yield
        finally:
            lock.release()

    def changed_meanwhile(self, current: Contact | Activity,
                          expected: datetime | None = None) -> ChangedMeanwhile:
        """The error for a save refused because ``current`` (as stored) changed meanwhile,
        the editor having read the version ``expected``. A stamp moved on by at most
        :data:`KEPT_STAMP` was moved only by writes that keep it (:func:`new_version`: a
        sync's), not by a person's save, which stamps the time of the save."""
        if expected is not None and timedelta(0) < current.modified - expected <= KEPT_STAMP:
            return ChangedMeanwhile(current, SYNC_EDITOR, by_sync=True)
        name = "someone else"
        if current.modified_by:
            try:
                name = self.get_user(current.modified_by).name
            except StoreError:
                pass
        return ChangedMeanwhile(current, name)

    def watch(self, stop: threading.Event, changed: Callable[[], None],
              interval: float = 1.0) -> None:
        """Call ``changed`` whenever another process may have committed, until ``stop`` is set
        (the TUI's live updates run it in a thread; ``changed`` then checks :attr:`generation`).
        This default polls: it calls ``changed`` every ``interval`` seconds. A store that is
        told of commits (PostgreSQL's LISTEN) calls it only when one was made."""
        while not stop.wait(interval):
            changed()

    def erase(self) -> None:
        """Remove every record of every kind, in one transaction (``crmtui db copy --force``
        empties its target with it)."""
        raise StoreError(f"{type(self).__name__} cannot be emptied")
