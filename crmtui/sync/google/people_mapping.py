"""Google's Person to and from crmtui's canonical contact fields (:mod:`crmtui.sync.remote`).

:func:`to_fields` reads a Person's ``names[0]``, ``organizations[0]`` (company, job title),
``emailAddresses``, ``phoneNumbers``, ``addresses``, ``birthdays[0]`` (a date with a year; a
yearless one reads as None and is never overwritten by None) and ``biographies[0]`` (notes) as
the canonical fields. :func:`person_body` and :func:`update_mask` write only the Person fields of
the canonical fields that changed, merged into the Person as last read: every sub-field and item
crmtui does not own (an organization's department, a second organization, an email's custom type
label or display name, an address's extended lines...) is kept. ``primary`` maps to
``metadata.primary``; Google marks exactly one item of a list primary, so a list with none or
several primaries reads back with one.

A Person whose fields are not what the API promises is never mapped: :func:`remote_contact`
raises :class:`~crmtui.sync.google.shapes.Malformed` (see :mod:`crmtui.sync.google.shapes`), and
:func:`read_people` sets such Persons apart with the reason.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from crmtui.sync.google.shapes import Malformed, check_person, person_name
from crmtui.sync.remote import CONTACT_FIELDS, CRM_ID_KEY, RemoteContact
from crmtui.sync.remote import Malformed as MalformedList

log = logging.getLogger(__name__)

# The Person field each canonical field lives in.
PERSON_FIELD_OF = {"given_name": "names", "middle_name": "names", "family_name": "names",
                   "honorific": "names",
                   "company": "organizations", "job_title": "organizations",
                   "emails": "emailAddresses", "phones": "phoneNumbers",
                   "addresses": "addresses", "birthday": "birthdays", "notes": "biographies"}
OWNED = tuple(dict.fromkeys(PERSON_FIELD_OF.values()))

NAME_PARTS = {"givenName": "given_name", "middleName": "middle_name",
              "familyName": "family_name", "honorificPrefix": "honorific"}
ORG_PARTS = {"name": "company", "title": "job_title"}
ADDRESS_PARTS = {"streetAddress": "street", "city": "city", "region": "region",
                 "postalCode": "postal_code", "country": "country"}
EMAIL_TYPES = {"work": "work", "home": "home", "other": "other"}
ADDRESS_TYPES = EMAIL_TYPES
PHONE_TYPES = {"work": "work", "home": "home", "mobile": "mobile", "main": "main",
               "workFax": "fax", "homeFax": "fax", "otherFax": "fax", "other": "other"}
PHONE_TYPES_OUT = {"fax": "workFax"}  # crmtui's phone types Google names differently
# Keys Google computes (never sent back), per Person field; items' metadata is rebuilt.
OUTPUT_ONLY = frozenset({"metadata", "formattedType", "canonicalForm", "formattedProtocol"})
NAME_OUTPUT = frozenset({"displayName", "displayNameLastFirst"})

Json = dict[str, Any]


# --------------------------------------------------------------------------- reading a Person


def _primary(item: Mapping[str, Any]) -> bool:
    return bool((item.get("metadata") or {}).get("primary"))


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _typed(field: str, item: Mapping[str, Any]) -> Json | None:
    """The canonical form of one email, phone or address item; None if crmtui cannot hold it
    (no value, an address without any part crmtui knows)."""
    kind = _text(item, "type")
    if field == "addresses":
        out: Json = {"type": ADDRESS_TYPES.get(kind, "other")}
        out.update({ours: _text(item, theirs) for theirs, ours in ADDRESS_PARTS.items()})
        if not any(out[ours] for ours in ADDRESS_PARTS.values()):
            return None
        out["primary"] = _primary(item)
        return out
    value = _text(item, "value")
    if not value:
        return None
    types = EMAIL_TYPES if field == "emailAddresses" else PHONE_TYPES
    return {"value": value, "type": types.get(kind, "other"), "primary": _primary(item)}


def _birthday(items: Sequence[Mapping[str, Any]]) -> str | None:
    """``birthdays[0]`` as YYYY-MM-DD; None without one or without a year."""
    when = (items[0].get("date") if items else None) or {}
    try:
        return date(int(when["year"]), int(when["month"]), int(when["day"])).isoformat()
    except (KeyError, TypeError, ValueError):
        return None


def to_fields(person: Mapping[str, Any]) -> Json:
    """The canonical fields (:data:`crmtui.sync.remote.CONTACT_FIELDS`) of a Person."""
    name = (person.get("names") or [{}])[0]
    org = (person.get("organizations") or [{}])[0]
    bio = (person.get("biographies") or [{}])[0]
    fields: Json = {ours: _text(name, theirs) for theirs, ours in NAME_PARTS.items()}
    fields.update({ours: _text(org, theirs) for theirs, ours in ORG_PARTS.items()})
    for field, ours in (("emailAddresses", "emails"), ("phoneNumbers", "phones"),
                        ("addresses", "addresses")):
        typed = (_typed(field, item) for item in person.get(field) or [])
        fields[ours] = [t for t in typed if t is not None]
    fields["birthday"] = _birthday(person.get("birthdays") or [])
    fields["notes"] = _text(bio, "value")
    return {key: fields[key] for key in CONTACT_FIELDS}


def _updated(person: Mapping[str, Any]) -> datetime | None:
    for source in (person.get("metadata") or {}).get("sources") or []:
        if source.get("type") == "CONTACT" and source.get("updateTime"):
            try:
                return datetime.fromisoformat(str(source["updateTime"]).replace("Z", "+00:00"))
            except ValueError:
                return None
    return None


def remote_contact(person: Mapping[str, Any], group: str) -> RemoteContact:
    """A Person as the engine sees it (a tombstone when ``metadata.deleted``). Raises
    :class:`Malformed` when its fields are not what the API promises."""
    check_person(person)
    try:
        return _remote_contact(person, group)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:  # a shape
        raise Malformed(f"cannot be mapped ({exc})") from None  # the checks did not foresee


def read_people(people: Iterable[Any], group: str
                ) -> tuple[list[RemoteContact], MalformedList]:
    """The Persons that can be read, and the resource name and reason of each that cannot."""
    read: list[RemoteContact] = []
    malformed: MalformedList = []
    for person in people:
        try:
            read.append(remote_contact(person, group))
        except Malformed as exc:
            name = person_name(person)
            log.warning("Google contact %s cannot be read: %s", name or "(no name)", exc)
            malformed.append((name, str(exc)))
    return read, malformed


def _remote_contact(person: Mapping[str, Any], group: str) -> RemoteContact:
    name = str(person.get("resourceName", ""))
    etag = str(person.get("etag", ""))
    if (person.get("metadata") or {}).get("deleted"):
        return RemoteContact(remote_id=name, etag=etag, deleted=True)
    groups = {(m.get("contactGroupMembership") or {}).get("contactGroupResourceName")
              for m in person.get("memberships") or []}
    crm_id = next((str(d.get("value", "")) for d in person.get("clientData") or []
                   if d.get("key") == CRM_ID_KEY), "")
    fields = to_fields(person)
    return RemoteContact(remote_id=name, etag=etag, updated=_updated(person),
                         fields=fields, in_group=group in groups, crm_id=crm_id,
                         raw=slim_person(person))


# What an item of a Person field crmtui writes may hold for the canonical fields alone to build
# it again (besides what Google computes), whether the field holds one item at most, and the
# types that read and write back the same (see :func:`slim_person`).
REBUILT: dict[str, tuple[frozenset[str], bool, frozenset[str] | None]] = {
    "names": (frozenset({"givenName", "middleName", "familyName", "unstructuredName"}), True,
              None),
    "organizations": (frozenset({"name", "title"}), True, None),
    "emailAddresses": (frozenset({"value", "type"}), False, frozenset({"work", "home"})),
    "phoneNumbers": (frozenset({"value", "type"}), False,
                     frozenset({"work", "home", "mobile", "main", "workFax"})),
    "addresses": (frozenset({*ADDRESS_PARTS, "type", "formattedValue"}), False,
                  frozenset({"work", "home"})),
    "birthdays": (frozenset({"date"}), True, None),
    "biographies": (frozenset({"value", "contentType"}), True, None),
}


def rebuilt_from_fields(field: str, items: Any) -> bool:
    """Whether the canonical fields alone build a Person field's ``items`` again (as
    :func:`person_body` does from ``{}``): every item holds only what crmtui maps (or Google
    computes: a names item's ``unstructuredName`` when it is the displayed name, an address's
    ``formattedValue``), with a type that reads and writes back the same."""
    keys, single, types = REBUILT[field]
    if not isinstance(items, list) or (single and len(items) > 1):
        return False
    drop = OUTPUT_ONLY | (NAME_OUTPUT if field == "names" else frozenset())
    for item in items:
        if not isinstance(item, Mapping):
            return False
        own = {k: v for k, v in item.items() if k not in drop}
        if not own.keys() <= keys:
            return False
        if any(not isinstance(v, str) for k, v in own.items() if k != "date"):
            return False
        if types is not None and own.get("type", "") not in types and own.get("type", ""):
            return False
        if field == "names":
            if not any(own.get(p) for p in NAME_PARTS) or (
                    "unstructuredName" in own
                    and own["unstructuredName"] != item.get("displayName")):
                return False
        elif field == "organizations" and not any(own.get(p) for p in ORG_PARTS):
            return False
        elif field in ("emailAddresses", "phoneNumbers", "biographies") and not own.get("value"):
            return False
        elif field == "addresses" and not any(own.get(p) for p in ADDRESS_PARTS):
            return False
        if field == "biographies" and own.get("contentType", "TEXT_PLAIN") != "TEXT_PLAIN":
            return False
        if field == "birthdays":
            when = own.get("date")
            if not (isinstance(when, Mapping) and set(when) == {"year", "month", "day"}
                    and _birthday([own]) is not None):
                return False
    return True


def slim_person(person: Mapping[str, Any]) -> Json:
    """What an update needs of a Person besides its canonical ``fields`` (kept with the sync
    link instead of the whole Person): the etags (the person's, and its CONTACT source's),
    ``clientData``, and, of the Person fields crmtui writes, only those that hold something the
    canonical fields do not (a department, an email's display name, a yearless birthday, an
    item crmtui cannot hold...), as read (:func:`rebuilt_from_fields`). :func:`person_body`
    builds every other Person field from the canonical fields alone, which gives the same
    items."""
    out: Json = {}
    if person.get("etag"):
        out["etag"] = person["etag"]
    sources = [{k: s[k] for k in ("type", "id", "etag") if k in s}
               for s in (person.get("metadata") or {}).get("sources") or []
               if isinstance(s, Mapping) and s.get("type") == "CONTACT"]
    if sources:
        out["metadata"] = {"sources": sources}
    client = [{k: v for k, v in d.items() if k != "metadata"}
              for d in person.get("clientData") or [] if isinstance(d, Mapping)]
    if client:
        out["clientData"] = client
    for name in OWNED:
        items = person.get(name) or []
        if items and not rebuilt_from_fields(name, items):
            out[name] = _cleaned(name, items)
    return out


# --------------------------------------------------------------------------- writing a Person


def _clean(field: str, item: Mapping[str, Any]) -> Json:
    """An item as it is sent back: output-only keys dropped, ``metadata`` only for primary."""
    drop = OUTPUT_ONLY | (NAME_OUTPUT if field == "names" else frozenset())
    out = {k: copy.deepcopy(v) for k, v in item.items() if k not in drop}
    if _primary(item):
        out["metadata"] = {"primary": True}
    return out


def _cleaned(field: str, items: Iterable[Mapping[str, Any]]) -> list[Json]:
    return [_clean(field, item) for item in items]


def _has_content(item: Mapping[str, Any], ignore: Iterable[str]) -> bool:
    return any(v not in (None, "", [], {}) for k, v in item.items()
               if k not in set(ignore) | {"metadata"})


def _set_parts(item: Json, parts: Mapping[str, str], fields: Mapping[str, Any]) -> bool:
    """Write ``fields`` into ``item`` (empty values removed); whether anything changed."""
    changed = False
    for theirs, ours in parts.items():
        value = fields.get(ours) or ""
        if _text(item, theirs) != value:
            changed = True
        if value:
            item[theirs] = value
        else:
            item.pop(theirs, None)
    return changed


def _names(fields: Mapping[str, Any], raw: Sequence[Mapping[str, Any]]) -> list[Json]:
    first = _clean("names", raw[0]) if raw else {}
    if not _set_parts(first, NAME_PARTS, fields):
        return _cleaned("names", raw)
    first.pop("unstructuredName", None)  # Google derives it again from the parts
    return [first] if _has_content(first, ()) else []


def _organizations(fields: Mapping[str, Any], raw: Sequence[Mapping[str, Any]]) -> list[Json]:
    first = _clean("organizations", raw[0]) if raw else {}
    rest = _cleaned("organizations", raw[1:])
    if not _set_parts(first, ORG_PARTS, fields):
        return _cleaned("organizations", raw)
    keep = _has_content(first, ("type", "current"))
    return ([first] if keep else []) + rest


def _birthdays(value: str | None, raw: Sequence[Mapping[str, Any]]) -> list[Json]:
    if value == _birthday(raw):
        return _cleaned("birthdays", raw)  # includes a yearless birthday when ``value`` is None
    if value is None:
        return []
    day = date.fromisoformat(value)
    first = _clean("birthdays", raw[0]) if raw else {}
    first.pop("text", None)
    first["date"] = {"year": day.year, "month": day.month, "day": day.day}
    return [first]


def _biographies(value: str, raw: Sequence[Mapping[str, Any]]) -> list[Json]:
    if value == _text(raw[0] if raw else {}, "value"):
        return _cleaned("biographies", raw)
    if not value:
        return []
    first = _clean("biographies", raw[0]) if raw else {}
    first.update({"value": value, "contentType": "TEXT_PLAIN"})
    return [first]


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal but for ``primary``."""
    return {k: v for k, v in a.items() if k != "primary"} == {
        k: v for k, v in b.items() if k != "primary"}


def _key(field: str, item: Mapping[str, Any]) -> str | None:
    """What identifies an item across edits: an email's address, a phone's number; addresses
    pair up in order."""
    if field == "emailAddresses":
        return str(item["value"]).casefold()
    if field == "phoneNumbers":
        return str(item["value"])
    return None


def _typed_item(field: str, wanted: Mapping[str, Any], base: Mapping[str, Any] | None) -> Json:
    """The Person item for canonical ``wanted``, built on ``base`` (an item as read)."""
    item = _clean(field, base) if base is not None else {}
    item.pop("metadata", None)
    if field == "addresses":
        before_country = _text(item, "country")
        if _set_parts(item, ADDRESS_PARTS, wanted):
            item.pop("formattedValue", None)  # Google formats the new parts itself
            if before_country != wanted["country"]:
                item.pop("countryCode", None)
        types = ADDRESS_TYPES
    else:
        item["value"] = wanted["value"]
        types = EMAIL_TYPES if field == "emailAddresses" else PHONE_TYPES
    if types.get(_text(item, "type"), "other") != wanted["type"]:
        item["type"] = PHONE_TYPES_OUT.get(wanted["type"], wanted["type"])
    if wanted["primary"]:
        item["metadata"] = {"primary": True}
    return item


def _typed_list(field: str, wanted: Sequence[Mapping[str, Any]],
                raw: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Emails, phones or addresses: ``wanted`` in its order, each item built on the item it
    replaces (the same item, else the same address or number, else the next unused one for
    addresses); items crmtui cannot hold are kept at the end."""
    read = [_typed(field, item) for item in raw]
    if [r for r in read if r is not None] == list(wanted):
        return _cleaned(field, raw)
    bases: list[int | None] = [None] * len(wanted)
    free = [j for j, r in enumerate(read) if r is not None]

    def take(i: int, exact: bool) -> None:
        key = _key(field, wanted[i])
        for j in free:
            r = read[j] or {}
            if _same(r, wanted[i]) if exact else key is None or _key(field, r) == key:
                bases[i] = j
                free.remove(j)
                return

    for i in range(len(wanted)):
        take(i, exact=True)
    for i in range(len(wanted)):
        if bases[i] is None:
            take(i, exact=False)
    out = [_typed_item(field, w, raw[j] if j is not None else None)
           for w, j in zip(wanted, bases, strict=True)]
    return out + [_clean(field, item) for item, r in zip(raw, read, strict=True) if r is None]


def person_body(fields: Mapping[str, Any], raw: Mapping[str, Any],
                person_fields: Iterable[str] = OWNED) -> Json:
    """The ``person_fields`` of a Person holding canonical ``fields``, merged into ``raw``
    (the Person as last read; ``{}`` for a new one). Raises ValueError for a value that cannot
    be mapped (a birthday that is not a date)."""
    def items(name: str) -> list[Mapping[str, Any]]:
        return list(raw.get(name) or [])

    builders: dict[str, Callable[[], list[Json]]] = {
        "names": lambda: _names(fields, items("names")),
        "organizations": lambda: _organizations(fields, items("organizations")),
        "emailAddresses": lambda: _typed_list("emailAddresses", fields.get("emails") or [],
                                              items("emailAddresses")),
        "phoneNumbers": lambda: _typed_list("phoneNumbers", fields.get("phones") or [],
                                            items("phoneNumbers")),
        "addresses": lambda: _typed_list("addresses", fields.get("addresses") or [],
                                         items("addresses")),
        "birthdays": lambda: _birthdays(fields.get("birthday"), items("birthdays")),
        "biographies": lambda: _biographies(fields.get("notes") or "", items("biographies")),
    }
    return {name: builders[name]() for name in person_fields}


def update_mask(fields: Mapping[str, Any], raw: Mapping[str, Any],
                changed: Iterable[str]) -> list[str]:
    """The Person fields to write for the ``changed`` canonical fields: those whose merged
    value differs from ``raw`` (a yearless birthday kept for a None birthday is no change)."""
    candidates = list(dict.fromkeys(PERSON_FIELD_OF[f] for f in changed))
    body = person_body(fields, raw, candidates)
    return [name for name in candidates
            if body[name] != _cleaned(name, raw.get(name) or [])]
