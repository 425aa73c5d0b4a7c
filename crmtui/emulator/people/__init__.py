"""People API v1: each account's contacts and contact groups, as Google serves them.

Served at the production paths (``/v1/...``): ``people.connections.list`` (paging, sync tokens with
tombstones), ``people.get``, ``people.getBatchGet``, ``people.createContact``,
``people.updateContact``, ``people.deleteContact``, ``people.batchCreateContacts``,
``people.batchUpdateContacts``, ``people.batchDeleteContacts``, ``contactGroups.list/get/create/
update/delete/batchGet`` and ``contactGroups.members.modify``. See the reference on Google's APIs,
sections 1.3-1.5, 2 and 3.

Storage (``account.data["people"]``, plain JSON so ``--state`` round-trips it):
``contacts`` maps a CONTACT source id (16 hex digits) to ``{"seq", "updated", "deleted", "person",
"groups"}``: ``seq`` is the change number (``state.next_seq()``) of the contact's last write and
orders changes for sync tokens, ``updated`` its RFC 3339 time, ``at`` its emulator-clock time,
``versions`` its versions while the propagation lag keeps them (see :mod:`.lag`); ``person`` holds the writable Person
fields as the client sent them, output-only keys removed and defaults pruned; ``groups`` the ids of
the contact groups it belongs to. ``groups`` maps a group id to ``{"name", "clientData", "seq",
"updated", "deleted", "system"}``. Deleted contacts and groups stay as tombstones.

Etags: the person etag (``%...``) encodes the source id, the change number and a hash of the
requested field set; the CONTACT source etag (``#...``) the source id and change number. Both change
on every write (a membership change included). ``updateContact`` accepts either, when its change
number is the current one.

Choices where the reference is open (its section 8): ``pageSize`` above 1000 is a 400;
tombstones carry ``metadata.deleted`` only when ``metadata`` is in ``personFields``; sync tokens
expire 7 days after the full sync that began their chain (and die at
``/__emulator/sync-tokens/invalidate``); ``connections.list`` may lag (:mod:`.lag`); a sync or page
token used with other ``personFields`` than the call that made it is a 400 ``INVALID_ARGUMENT``;
``getBatchGet`` reports a missing person as ``{"requestedResourceName", "httpStatusCode": 404,
"status": {"code": 5, "message"}}``; a duplicate group name is 409 ``"Contact group name already
exists."``; system groups cannot be renamed or deleted (400); batch mutations are validated as a
whole and fail as a whole.

Control routes (no authentication) under ``/__emulator/accounts/{email}/``: ``GET contacts``
(``?deleted=true`` adds tombstones), ``POST contacts`` (a Person; ``memberships`` may also be a list
of group resource names), ``PATCH contacts/{id}``, ``DELETE contacts/{id}``, ``GET``/``POST
groups``, ``PATCH``/``DELETE groups/{id}``, ``POST groups/{id}/members`` ``{"add", "remove"}``. They
are changes made "in Gmail": they bump change numbers, so the next sync reports them.
"""


from crmtui.emulator.people.api import PeopleApi
from crmtui.emulator.people.fields import (
    GROUP_FIELDS,
    READABLE,
    SYNC_TOKEN_LIFETIME,
    SYSTEM_GROUPS,
    WRITABLE,
    clean_person,
)

__all__ = ["GROUP_FIELDS", "READABLE", "SYNC_TOKEN_LIFETIME", "SYSTEM_GROUPS", "WRITABLE",
           "PeopleApi", "clean_person"]
