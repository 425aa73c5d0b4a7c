"""What the sync engine needs from Google, as a small protocol.

The People adapter (:mod:`crmtui.sync.google.people`) implements :class:`ContactsRemote` with
google-api-python-client; :class:`crmtui.sync.fake.FakeContactsRemote` implements it in memory for
the engine's unit tests. Contacts cross this boundary as *canonical fields*: a dict with exactly
the keys of :data:`CONTACT_FIELDS`, values as in the JSON schema of a crmtui contact:

- ``given_name``, ``middle_name``, ``family_name``, ``company``, ``job_title``, ``notes``,
  ``honorific`` (a title before the name, "Dr"): str ("" when absent);
- ``emails``, ``phones``: lists of ``{"value", "type", "primary"}`` (types as in crmtui:
  emails work/home/other; phones work/home/mobile/main/fax/other), in Google's order;
- ``addresses``: list of ``{"type", "street", "city", "region", "postal_code", "country",
  "primary"}``;
- ``birthday``: ``"YYYY-MM-DD"`` or None.

The adapter maps Google's Person to and from these so that a value written by crmtui reads back
equal (the round trip is tested), and leaves every Person field crmtui does not own untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

CONTACT_FIELDS = ("given_name", "middle_name", "family_name", "company", "job_title", "emails",
                  "phones", "addresses", "birthday", "notes", "honorific")

CRM_ID_KEY = "crmtui-id"  # the clientData key carrying the CRM id on every person crmtui creates


class RemoteError(Exception):
    """Google could not be reached or refused the run as a whole (after retries)."""


class SyncTokenExpired(RemoteError):
    """The stored sync token is no longer valid: a full listing is needed."""


class AuthError(RemoteError):
    """The account's credentials were refused (the account needs to be reconnected)."""


@dataclass
class RemoteContact:
    """A Google contact as the engine sees it."""

    remote_id: str  # "people/c123"
    etag: str = ""
    updated: datetime | None = None  # the CONTACT source's updateTime
    fields: dict[str, Any] = field(default_factory=dict)  # canonical fields (empty if deleted)
    in_group: bool = False  # a member of the sync group
    crm_id: str = ""  # clientData crmtui-id, when crmtui created it
    deleted: bool = False  # a tombstone: deleted in Gmail
    raw: dict[str, Any] = field(default_factory=dict)  # the Person, for updates that keep the rest

    def emails(self) -> list[str]:
        return [e["value"].casefold() for e in self.fields.get("emails", ())]


Malformed = list[tuple[str, str]]
"""Records Google sent that could not be read (their fields are not what the API promises): the
resource name ("" when even that is missing) and the reason, e.g. ``("people/c1", "birthday
month 13")``. The core skips them, reports them and reads them again next run."""

_R = TypeVar("_R")


class Found(list[_R]):
    """What ``get`` answers: the records read, and (:attr:`malformed`) those that could not be.
    A plain list answers the same with nothing malformed (see :func:`malformed_in`)."""

    def __init__(self, records: Iterable[_R] = (), malformed: Malformed | None = None) -> None:
        super().__init__(records)
        self.malformed: Malformed = list(malformed or [])


def malformed_in(records: Sequence[Any]) -> Malformed:
    """The records a ``get`` could not read (none for a plain list)."""
    return list(records.malformed) if isinstance(records, Found) else []


def not_read_again(name: str, why: str | None) -> str:
    """The skipped-line for a record a re-read (after a stale write) did not bring back:
    ``why`` is the reason Google's answer could not be read, None when the record was gone."""
    if why:
        return f"{name}: cannot be read from Google ({why}); read again next run"
    return f"{name}: gone from Google while syncing; next run settles it"


@dataclass
class Listing:
    """The result of :meth:`ContactsRemote.list_changes`."""

    contacts: list[RemoteContact]
    sync_token: str  # to store for the next run
    full: bool  # True: every contact was listed (first run, or the old token had expired)
    malformed: Malformed = field(default_factory=list)  # listed, but could not be read


@dataclass
class Group:
    resource_name: str
    name: str
    created: bool = False  # did not exist, was created now
    recreated: bool = False  # the remembered group was gone (deleted in Gmail) and was created again


@dataclass
class WriteResult:
    """The outcome of one record of a batch write: ``contact`` on success, else ``error``.

    ``stale`` is set when Google refused an update because the etag was stale."""

    key: str  # the crm id (creates) or the remote id (updates)
    contact: RemoteContact | None = None
    error: str = ""
    stale: bool = False


@dataclass
class NewContact:
    crm_id: str
    fields: dict[str, Any]


@dataclass
class ContactUpdate:
    remote: RemoteContact  # as last read (etag, raw person)
    fields: dict[str, Any]  # the complete new canonical fields
    changed: Sequence[str]  # which canonical fields differ from ``remote.fields``
    crm_id: str = ""  # set: clientData crmtui-id must become this (it names another record)


Progress = Callable[[str], None]


class ContactsRemote(Protocol):
    """Google Contacts for one account, as the engine uses it. Every method retries transient
    errors itself (429, 5xx, rate-limit 403s, network errors, with backoff) and raises
    :class:`RemoteError` when it gives up, :class:`AuthError` when the credentials are refused."""

    def ensure_group(self, resource_name: str, name: str, *, create: bool = True) -> Group | None:
        """The sync group: the remembered one (by resource name, whatever its name is now), or
        a group named ``name`` found or created when none is remembered or it was deleted.
        With ``create=False`` (a dry run) nothing is created: None when it would be."""

    def rename_group(self, resource_name: str, name: str) -> Group:
        """Give the group a new name (the name chosen in crmtui's settings)."""

    def list_changes(self, sync_token: str, group: str) -> Listing:
        """Contacts changed since ``sync_token`` (every contact when it is empty or expired),
        tombstones included, each with ``in_group`` for ``group``. Pages of up to 1000. A
        contact that cannot be read is in ``malformed`` instead, never an exception."""

    def get(self, remote_ids: Sequence[str], group: str) -> list[RemoteContact]:
        """The current state of these contacts (200 per request); missing ones are left out.
        The adapter may answer a :class:`Found` naming the ones it could not read."""

    def create(self, contacts: Sequence[NewContact], group: str) -> list[WriteResult]:
        """Create contacts in Google, in ``group`` and carrying their CRM id in clientData
        (200 per request). One result per contact, in order; a rejected one has ``error``."""

    def update(self, updates: Sequence[ContactUpdate], group: str) -> list[WriteResult]:
        """Update the changed canonical fields only, with the etag read (200 per request)."""

    def remove_from_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        """Take contacts out of the group (1000 per request); returns ids Google did not know."""

    def add_to_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        """Put contacts into the group (1000 per request); returns ids Google did not know."""


# --------------------------------------------------------------------------- Google Calendar

EVENT_FIELDS = ("title", "notes", "location", "time", "recurrence", "attendees")
"""The canonical fields of an event, as the activity engine merges them:

- ``title``, ``notes``, ``location``: str (summary, description, location; "" when absent);
- ``time``: ``{"all_day": bool, "start": str|None, "end": str|None, "timezone": str,
  "start_date": str|None, "end_date": str|None}``. Timed: ``start``/``end`` are RFC 3339 instants
  in UTC (``datetime.isoformat()`` of a UTC datetime, e.g. ``"2026-03-29T08:00:00+00:00"``),
  ``timezone`` the IANA zone (``"UTC"`` when Google gives none), dates None. All-day:
  ``start_date``/``end_date`` ``"YYYY-MM-DD"`` with ``end_date`` *inclusive* (Google's end date
  minus one day), ``start``/``end`` None, ``timezone`` "";
- ``recurrence``: list of RRULE/EXRULE/RDATE/EXDATE lines (empty for a single event);
- ``attendees``: the sorted ids of the CRM users among the attendees (matched by any of their
  emails). The adapter never fills it (it does not know the CRM's users): it reports every attendee
  in :attr:`RemoteEvent.attendees` and the engine derives this field, and turns it back into the
  emails to invite (:attr:`EventUpdate.attendees`) when it writes.
"""

EVENT_CRM_ID_KEY = "crmtuiId"  # extendedProperties.private and .shared key carrying the CRM id
EVENT_BATCH = 100  # calls per Calendar batch request


@dataclass
class Attendee:
    email: str  # lower-cased
    response: str = "needsAction"  # needsAction / accepted / tentative / declined
    organizer: bool = False


@dataclass
class RemoteEvent:
    """An event of the account's primary calendar, as the engine sees it."""

    remote_id: str  # the event id
    etag: str = ""
    updated: datetime | None = None
    ical_uid: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # canonical, without "attendees"
    attendees: list[Attendee] = field(default_factory=list)  # every attendee, in Google's order
    organizer_email: str = ""
    organizer_self: bool = False  # the calendar's owner organizes it
    crm_id: str = ""  # extendedProperties.private (else .shared) crmtuiId
    cancelled: bool = False  # status "cancelled" (a tombstone may carry nothing else)
    series_id: str = ""  # recurringEventId: the master's event id, for an instance exception
    original_start: str = ""  # originalStartTime: "YYYY-MM-DD" or a UTC RFC 3339 instant
    raw: dict[str, Any] = field(default_factory=dict)  # the event as read


@dataclass
class EventListing:
    """The result of :meth:`CalendarRemote.list_changes`."""

    events: list[RemoteEvent]
    sync_token: str
    full: bool  # every event was listed (first run, or the old token had expired: 410)
    malformed: Malformed = field(default_factory=list)  # listed, but could not be read


@dataclass
class NewEvent:
    """An event to create from an activity (``fields`` complete, ``attendees`` the emails to
    invite). A changed occurrence (``series_remote_id`` and ``original_start`` set) is written
    as the exception of that instance of the series rather than inserted."""

    crm_id: str
    event_id: str  # client-chosen id: base32hex [a-v0-9], 5-1024 characters
    fields: dict[str, Any]
    attendees: list[str] = field(default_factory=list)
    series_remote_id: str = ""
    original_start: str = ""  # as RemoteEvent.original_start


@dataclass
class EventUpdate:
    """Patch the fields crmtui owns: ``changed`` canonical fields, from ``fields``; attendees, if
    changed, become ``attendees`` (an existing entry keeps its response and the rest). The
    adapter sends ``If-Match: remote.etag``."""

    remote: RemoteEvent
    fields: dict[str, Any]
    changed: Sequence[str]
    attendees: list[str] = field(default_factory=list)


@dataclass
class EventResult:
    """The outcome of one write: ``event`` on success, else ``error``. ``stale``: 412, the etag
    was stale. ``taken``: the client-chosen id exists already and is not this activity's live
    event (a cancelled event of an earlier life, or another record's): choose another id."""

    key: str  # crm id (creates) or event id (updates, deletes)
    event: RemoteEvent | None = None
    error: str = ""
    stale: bool = False
    taken: bool = False


class CalendarRemote(Protocol):
    """The account's primary Google calendar, as the activity engine uses it. Every method
    retries transient errors itself (429, 5xx, rate-limit 403s, network errors, with backoff) and
    raises :class:`RemoteError` when it gives up, :class:`AuthError` when the credentials are
    refused. Writes go :data:`EVENT_BATCH` calls per batch request."""

    def list_changes(self, sync_token: str, time_min: datetime | None) -> EventListing:
        """Events changed since ``sync_token`` (cancelled ones included), or, when it is empty or
        expired (410), every event ending after ``time_min``; recurring series as one master
        plus its exceptions (``singleEvents=false``). Pages of up to 2500. An event that cannot
        be read is in ``malformed`` instead, never an exception."""

    def get(self, remote_ids: Sequence[str]) -> list[RemoteEvent]:
        """The current state of these events (cancelled ones too); unknown ids are left out.
        The adapter may answer a :class:`Found` naming the ones it could not read."""

    def insert(self, events: Sequence[NewEvent]) -> list[EventResult]:
        """Create events (client id, CRM id in ``extendedProperties.private`` and ``.shared``).
        An id that exists already and carries this CRM id and is live is not an error: its
        result is the existing event (a re-run after a crash). One result per event, in order."""

    def patch(self, updates: Sequence[EventUpdate]) -> list[EventResult]:
        """Patch the changed fields only, with ``If-Match``; one result per update, in order."""

    def delete(self, remote_ids: Sequence[str]) -> list[EventResult]:
        """Delete (cancel) events; one already deleted or unknown counts as done."""


# --------------------------------------------------------------------------- linking accounts


class ReconnectNeeded(AuthError):
    """Google refused the account's saved authorization (revoked or expired; a refresh answered
    ``invalid_grant``), or there is no usable saved authorization: linking the account again is
    the only way on. The sync core marks the account needs-reconnect when it sees this."""


class LinkError(Exception):
    """An account could not be linked; the message says why (it never holds a secret)."""


LINK_CANCELLED_MESSAGE = "linking was cancelled"


class LinkCancelled(LinkError):
    """The user cancelled the browser flow while it waited for the redirect."""

    def __init__(self) -> None:
        super().__init__(LINK_CANCELLED_MESSAGE)


@dataclass(frozen=True)
class Authorization:
    """What Google granted: credentials saved (in the user's data directory, never in the
    store) under ``credentials_id``, for the account ``email`` at ``endpoint`` ("" for Google)."""

    credentials_id: str
    email: str
    endpoint: str


SaveAs = Callable[[str], str]
"""Given the authorized account's email, the id to save its credentials under (the account's id:
an existing account of that email keeps its own)."""


class GoogleAuthorizer(Protocol):
    """Google's side of linking an account, as :class:`crmtui.sync.accounts.AccountService`
    uses it. Both methods ask Google for the account's email, then save the credentials under
    ``save_as(email)``; they raise :class:`LinkError` saying why not (:class:`LinkCancelled` when
    the user cancelled), having saved nothing."""

    def authorize_with_browser(self, show_url: Callable[[str], None],
                               cancel: threading.Event | None, save_as: SaveAs) -> Authorization:
        """The installed-app flow: ``show_url`` receives the consent URL; setting ``cancel``
        from another thread ends the wait."""

    def authorize_from_file(self, path: Path, save_as: SaveAs, *, email: str = ""
                            ) -> Authorization:
        """Saved credentials: the authorized-user JSON file ``path``. ``email`` is the account's
        email when Google cannot be asked (and must match when it can)."""
