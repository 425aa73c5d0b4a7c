"""How a contact is laid out in its table row: its JSON and the columns queries use."""

from __future__ import annotations

from typing import Any

from crmtui.model import Contact
from crmtui.store.pg_base import clean, jsonb
from crmtui.store.tinydb_index import _CONTACT_KEYS, _haystack

_TEXT_SORT_COLUMNS = ("name", "given_name", "family_name", "company", "job_title", "email",
                      "phone", "birthday")
_CONTACT_COLUMNS = ("id, doc, tags, emails, search, created, modified, "
                    + ", ".join(f"k_{c}" for c in _TEXT_SORT_COLUMNS))


def contact_row(contact: Contact) -> tuple[Any, ...]:
    """The row of ``contact``: its JSON without id and tags, then the query columns."""
    doc = contact.to_dict()
    doc.pop("id")
    tags = doc.pop("tags")
    full = {**doc, "tags": tags}
    emails = list(dict.fromkeys(e.value.casefold() for e in contact.emails))
    keys = [clean(_CONTACT_KEYS[c](full)) for c in _TEXT_SORT_COLUMNS]
    return (contact.id, jsonb(doc), tags, emails, clean(_haystack(full)), contact.created,
            contact.modified, *keys)


INSERT_CONTACT = (f"INSERT INTO contacts ({_CONTACT_COLUMNS}) VALUES "
                   f"({', '.join(['%s'] * (7 + len(_TEXT_SORT_COLUMNS)))})")
UPDATE_CONTACT = ("UPDATE contacts SET " + ", ".join(
    f"{c} = %s" for c in _CONTACT_COLUMNS.split(", ")[1:]) + " WHERE id = %s")
