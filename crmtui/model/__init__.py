"""Domain model of crmtui: plain dataclasses with validation and no I/O.

Every entity validates itself on construction: names are trimmed, lengths are bounded, emails are
checked, timestamps must be timezone-aware. Invalid data raises :class:`ValidationError`, which
names the field and the value's problem.

Each entity converts to and from a JSON-compatible dict (``to_dict`` / ``from_dict``); that dict is
the storage format and the JSON export format (see README, "JSON schema").

By subject: :mod:`~crmtui.model.common` (validation, the entities' shared conversion),
:mod:`~crmtui.model.people` (users, contacts, tags), :mod:`~crmtui.model.activities` and
:mod:`~crmtui.model.sync` (accounts, sync settings, links, runs and their conflicts). Every public
name is importable from ``crmtui.model``.
"""

from crmtui.model.activities import (
    Activity,
    ActivityStatus,
    ActivityType,
    Participant,
    ParticipantKind,
    Priority,
    ResponseStatus,
)
from crmtui.model.common import (
    MAX_ITEMS,
    MAX_LOCATION,
    MAX_NAME,
    MAX_NOTES,
    MAX_SHORT,
    MAX_TITLE,
    MAX_VALUE,
    ValidationError,
    check_aware,
    check_choice,
    check_email,
    check_enum,
    check_id,
    check_phone,
    check_zone,
    clean_text,
    fold,
    new_id,
    parse_date,
    parse_datetime,
    trusted_data,
    utcnow,
)
from crmtui.model.people import (
    ADDRESS_TYPES,
    EMAIL_TYPES,
    PHONE_TYPES,
    Address,
    Contact,
    Email,
    Phone,
    Tag,
    TagKind,
    User,
)
from crmtui.model.sync import (
    DEFAULT_GROUP_NAME,
    DEFAULT_SYNC_PERIOD,
    SEND_UPDATES,
    SYNC_PERIODS,
    Account,
    AccountState,
    Conflict,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    sync_tag_problem,
)

__all__ = [
    "ADDRESS_TYPES", "DEFAULT_GROUP_NAME", "DEFAULT_SYNC_PERIOD", "EMAIL_TYPES", "MAX_ITEMS",
    "MAX_LOCATION", "MAX_NAME", "MAX_NOTES", "MAX_SHORT", "MAX_TITLE", "MAX_VALUE", "PHONE_TYPES",
    "SEND_UPDATES", "SYNC_PERIODS", "Account", "AccountState", "Activity", "ActivityStatus", "ActivityType",
    "Address", "Conflict", "Contact", "Email", "Participant", "ParticipantKind", "Phone", "Priority",
    "ResponseStatus", "SyncKind", "SyncLink", "SyncRun", "SyncSettings", "Tag", "TagKind", "User",
    "sync_tag_problem",
    "ValidationError", "check_aware", "check_choice", "check_email", "check_enum", "check_id",
    "check_phone", "check_zone", "clean_text", "fold", "new_id", "parse_date", "parse_datetime",
    "trusted_data", "utcnow",
]
