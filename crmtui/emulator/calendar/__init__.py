"""Calendar API v3: the primary calendar of each account and its events, as Google serves them.

Served under ``/calendar/v3/``: ``calendarList.list/get``, ``calendars.get``, ``events.list``
(sync tokens, ``showDeleted``, ``singleEvents``, ``timeMin``/``timeMax``, extended-property,
``iCalUID`` and ``q`` filters, ``orderBy``, paging), ``events.get/insert/patch/update/delete``,
``events.instances`` and ``events.import``. See the reference on Google's APIs, sections 1.3-1.5, 2
and 4.

Storage: ``account.data["calendar"]["events"]`` maps an event id to the stored copy of the event in
that account's primary calendar: the Event resource as Google returns it, without the ``self`` flags
(added when rendering for the calendar's owner), plus internal keys starting with ``_`` (``_seq``:
the change number that orders the calendar's changes for sync tokens; ``_guests``: the accounts
holding a copy of an organizer's event; ``_dismissed``: a guest removed the event from their
calendar). Nothing is ever hard-deleted: a deleted event is a ``cancelled`` tombstone. A modified or
cancelled instance of a recurring event is stored as an exception whose id is the instance's id.

Shared events: an event whose attendees are accounts of the emulator is copied into each of their
primary calendars under the same id and iCalUID; every write of the organizer reaches the copies
(an attendee removed from the list gets a cancelled copy); an attendee's ``responseStatus`` reaches
the organizer's copy and from there the others. ``extendedProperties.private``, ``reminders`` and
``colorId`` belong to each copy; ``extendedProperties.shared`` only the organizer may change.

Choices where the reference is open (its section 8): ``maxResults`` above 2500 is capped to 2500
(below 1 is a 400); a sync token lives ``sync_token_lifetime`` seconds (30 days), and is also refused
(410 ``fullSyncRequired``) when unparseable, issued for another calendar, or issued before
``/__emulator/sync-tokens/invalidate``, and an ``updatedMin`` further back is a 410
``updatedMinTooLongAgo``; ``syncToken`` with a forbidden parameter or with
``showDeleted=false`` is a 400 ``invalid``; only ``orderBy`` suppresses ``nextSyncToken``; recurring
series without an end are expanded two years past the later of now and their start when no
``timeMax`` bounds them; the calendar's time zone is UTC.

Control routes (no authentication) under ``/__emulator/accounts/{email}/events``: ``GET``
(``?deleted=true`` includes cancelled events), ``POST`` (insert as if made in the Calendar UI),
``PATCH .../{id}`` and ``DELETE .../{id}`` (cancel); they propagate to attendees as the API does.
"""

from crmtui.emulator.calendar.api import CalendarApi
from crmtui.emulator.calendar.fields import (
    CALENDAR_TIME_ZONE,
    MAX_RESULTS,
    SYNC_TOKEN_LIFETIME,
    Event,
)

__all__ = ["CALENDAR_TIME_ZONE", "MAX_RESULTS", "SYNC_TOKEN_LIFETIME", "CalendarApi", "Event"]
