"""A crmtui contact as the canonical fields the sync merges (see :mod:`crmtui.sync.remote`), and
back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from crmtui.model import Address, Contact, Email, Phone, SyncLink
from crmtui.sync.engine import full_base, lean_base
from crmtui.sync.remote import CRM_ID_KEY

# A link keeps the base without the values that are these defaults (see engine.lean_base).
BASE_DEFAULTS: dict[str, Any] = {
    "given_name": "", "middle_name": "", "family_name": "", "company": "", "job_title": "",
    "emails": [], "phones": [], "addresses": [], "birthday": None, "notes": ""}
ITEM_DEFAULTS: dict[str, dict[str, Any]] = {
    "emails": {"type": "work", "primary": False}, "phones": {"type": "work", "primary": False},
    "addresses": {"type": "work", "street": "", "city": "", "region": "", "postal_code": "",
                  "country": "", "primary": False}}


def lean_link_base(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The base a contact link keeps (:func:`link_base` gives it back whole)."""
    return lean_base(fields, BASE_DEFAULTS, ITEM_DEFAULTS)


def link_base(link: SyncLink) -> dict[str, Any]:
    """The whole base of a contact link."""
    return full_base(link.base, BASE_DEFAULTS, ITEM_DEFAULTS)


def lean_link_remote(raw: Mapping[str, Any], etag: str, contact_id: str) -> dict[str, Any]:
    """What a contact link keeps of the Person as read (the adapter's ``raw``, itself only what
    an update needs): its etag is the link's own, so it is not kept twice; a ``clientData``
    that holds only this contact's own id is not kept either (a Person read without it is
    written the same way: nothing to correct, and a correction writes that id alone)."""
    own = [{"key": CRM_ID_KEY, "value": contact_id}]
    return {k: v for k, v in raw.items()
            if not (k == "etag" and v == etag) and not (k == "clientData" and v == own)}


def link_raw(link: SyncLink) -> dict[str, Any]:
    """The adapter's ``raw`` of the Person a link was made with (see :func:`lean_link_remote`)."""
    raw = dict(link.remote)
    if "etag" not in raw and link.etag:
        raw["etag"] = link.etag
    return raw


def one_primary(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with exactly one marked primary, as Google keeps them: the first one marked, else
    the first one (so a contact reads back from Google as it was sent)."""
    chosen = next((i for i, item in enumerate(items) if item.get("primary")), 0)
    return [{**item, "primary": i == chosen} for i, item in enumerate(items)]


def contact_fields(contact: Contact) -> dict[str, Any]:
    """The canonical fields (see :mod:`crmtui.sync.remote`) of a crmtui contact."""
    return {
        "given_name": contact.given_name, "middle_name": contact.middle_name,
        "family_name": contact.family_name, "company": contact.company,
        "job_title": contact.job_title,
        "emails": one_primary([e.to_dict() for e in contact.emails]),
        "phones": one_primary([p.to_dict() for p in contact.phones]),
        "addresses": one_primary([a.to_dict() for a in contact.addresses]),
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "notes": contact.notes, "honorific": contact.honorific,
    }


def apply_fields(contact: Contact, fields: Mapping[str, Any]) -> Contact:
    """``contact`` with the canonical ``fields`` (validated by the model)."""
    return contact.evolve(
        given_name=fields.get("given_name", ""), middle_name=fields.get("middle_name", ""),
        family_name=fields.get("family_name", ""), company=fields.get("company", ""),
        job_title=fields.get("job_title", ""),
        emails=[Email.from_dict(e) for e in fields.get("emails") or []],
        phones=[Phone.from_dict(p) for p in fields.get("phones") or []],
        addresses=[Address.from_dict(a) for a in fields.get("addresses") or []],
        birthday=date.fromisoformat(fields["birthday"]) if fields.get("birthday") else None,
        notes=fields.get("notes", ""), honorific=fields.get("honorific", ""))


def label(fields: Mapping[str, Any], fallback: str) -> str:
    """How a plan line or a skipped note names a contact."""
    name = " ".join(p for p in (fields.get("given_name"), fields.get("family_name")) if p)
    emails = fields.get("emails") or []
    return name or fields.get("company") or (emails[0]["value"] if emails else "") or fallback


def _folded(emails: Any) -> list[dict[str, Any]]:
    return [{**e, "value": str(e.get("value", "")).casefold()} for e in emails or []]


def same_field(name: str, a: Any, b: Any) -> bool:
    """Whether two values of a canonical field are the same for the merge: emails match
    ignoring letter case (their types and order still count); other fields must be equal."""
    if name == "emails":
        return _folded(a) == _folded(b)
    return bool(a == b)


def respell(fields: Mapping[str, Any], like: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every email that ``like`` holds too (ignoring case) spelled as in
    ``like``: what is written to a side never changes that side's spelling for case alone."""
    spelled = {str(e.get("value", "")).casefold(): e["value"] for e in like.get("emails") or []}
    emails = fields.get("emails")
    if not emails or not spelled:
        return dict(fields)
    return {**fields, "emails": [
        {**e, "value": spelled.get(str(e.get("value", "")).casefold(), e["value"])}
        for e in emails]}


def carried_id(person: Mapping[str, Any]) -> str:
    """The CRM id a Person as read carries in ``clientData`` ("" when none)."""
    items = person.get("clientData")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("key") == CRM_ID_KEY:
            return str(item.get("value", ""))
    return ""
