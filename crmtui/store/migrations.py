"""Schema versions of the database file and the steps between them.

The file's ``_meta`` table holds ``{"schema": N}``. Opening a file of an older schema runs every
step from its version to :data:`SCHEMA_VERSION` and commits the result; a file of a newer schema
is refused (it was written by a newer crmtui), so nothing is damaged by a downgrade.

Schema history:
- 0: a TinyDB file without ``_meta`` (written by hand or by a pre-release crmtui): contacts may
  carry a single ``email`` / ``phone`` string and lack ``middle_name``, ``addresses`` and ``tags``.
- 1: sync links keep the remote record as last read in ``remote`` (a contact link the whole
  Google Person) and a complete ``base``.
- 2: the current layout, described in the README's "JSON schema": sync links are lean. A contact
  link's ``remote`` keeps only what an update needs besides the base (the CONTACT source's id and
  etag, ``clientData`` unless it holds only the contact's own id, the Person's etag when it is
  not the link's, and the Person fields that hold something the base cannot rebuild, as read);
  an activity link's ``remote`` keeps ``organizer_self`` when true, ``ical_uid`` unless it is
  Google's ``EVENT_ID@google.com``, and the attendees without their default values. The ``base``
  leaves out the values that are a field's default ("", [], None, false, an item's type "work";
  see ``crmtui.sync.contacts.mapping.BASE_DEFAULTS`` and ``ITEM_DEFAULTS``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

SCHEMA_VERSION = 2
META_TABLE = "_meta"
META_DOC = "schema"

Data = dict[str, dict[str, Any]]


class SchemaError(RuntimeError):
    pass


def file_version(data: Data) -> int:
    if not data:
        return SCHEMA_VERSION  # a new, empty database
    meta = data.get(META_TABLE, {}).get(META_DOC)
    if meta is None:
        return 0
    version = meta.get("schema")
    if not isinstance(version, int) or version < 0:
        raise SchemaError(f"the database's schema version {version!r} is not valid")
    return version


def _v0_to_v1(data: Data) -> Data:
    for doc in data.get("contacts", {}).values():
        email = doc.pop("email", None)
        if email and not doc.get("emails"):
            doc["emails"] = [{"value": email, "type": "work", "primary": True}]
        phone = doc.pop("phone", None)
        if phone and not doc.get("phones"):
            doc["phones"] = [{"value": phone, "type": "work", "primary": True}]
        for key, default in (("middle_name", ""), ("addresses", []), ("tags", []),
                             ("emails", []), ("phones", [])):
            doc.setdefault(key, default)
    return data


# -- 1 to 2: lean sync links. The rules are those of schema 2 as it was introduced, kept here as
# they were (later code may read more into a link, never less): what the sync core's
# ``lean_link_base`` / ``lean_link_remote`` and the People adapter's ``slim_person`` keep.

_CONTACT_DEFAULTS: dict[str, Any] = {
    "given_name": "", "middle_name": "", "family_name": "", "company": "", "job_title": "",
    "emails": [], "phones": [], "addresses": [], "birthday": None, "notes": ""}
_CONTACT_ITEMS: dict[str, dict[str, Any]] = {
    "emails": {"type": "work", "primary": False}, "phones": {"type": "work", "primary": False},
    "addresses": {"type": "work", "street": "", "city": "", "region": "", "postal_code": "",
                  "country": "", "primary": False}}
_EVENT_DEFAULTS: dict[str, Any] = {"title": "", "notes": "", "location": "", "time": None,
                                   "recurrence": [], "attendees": []}
_EVENT_ITEMS: dict[str, dict[str, Any]] = {
    "time": {"all_day": False, "start": None, "end": None, "timezone": "", "start_date": None,
             "end_date": None}}
_ATTENDEE_DEFAULTS: dict[str, Any] = {"response": "needsAction", "organizer": False}

# Person fields crmtui writes: the keys an item may hold for the base alone to rebuild it
# (besides ``metadata`` and what Google computes), how many items, and the types that read and
# write back the same.
_OUTPUT = {"metadata", "formattedType", "canonicalForm", "formattedProtocol"}
_NAME_OUTPUT = _OUTPUT | {"displayName", "displayNameLastFirst"}
_REBUILT: dict[str, tuple[frozenset[str], bool, frozenset[str] | None]] = {
    "names": (frozenset({"givenName", "middleName", "familyName", "unstructuredName"}), True,
              None),
    "organizations": (frozenset({"name", "title"}), True, None),
    "emailAddresses": (frozenset({"value", "type"}), False, frozenset({"work", "home"})),
    "phoneNumbers": (frozenset({"value", "type"}), False,
                     frozenset({"work", "home", "mobile", "main", "workFax"})),
    "addresses": (frozenset({"streetAddress", "city", "region", "postalCode", "country", "type",
                             "formattedValue"}), False, frozenset({"work", "home"})),
    "birthdays": (frozenset({"date"}), True, None),
    "biographies": (frozenset({"value", "contentType"}), True, None),
}
_ADDRESS_PARTS = ("streetAddress", "city", "region", "postalCode", "country")


def _lean(values: dict[str, Any], defaults: dict[str, Any],
          items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def same(value: Any, default: Any) -> bool:
        return type(value) is type(default) and value == default

    def inner(value: Any, keys: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if not (k in keys and same(v, keys[k]))}
        if isinstance(value, list):
            return [inner(v, keys) for v in value]
        return value

    return {name: inner(value, items[name]) if name in items else value
            for name, value in values.items()
            if not (name in defaults and same(value, defaults[name]))}


def _rebuilt(field: str, items: Any) -> bool:
    """Whether the base alone rebuilds a Person field's ``items`` (else the link keeps them)."""
    keys, single, types = _REBUILT[field]
    if not isinstance(items, list) or (single and len(items) > 1):
        return False
    for item in items:
        if not isinstance(item, dict):
            return False
        own = {k: v for k, v in item.items()
               if k not in (_NAME_OUTPUT if field == "names" else _OUTPUT)}
        if not set(own) <= keys or any(not isinstance(v, str) for k, v in own.items()
                                       if k != "date"):
            return False
        if types is not None and own.get("type", "") not in types | {""}:
            return False
        if field in ("emailAddresses", "phoneNumbers", "biographies") and not own.get("value"):
            return False
        if field == "names" and (
                not any(own.get(p) for p in ("givenName", "middleName", "familyName"))
                or own.get("unstructuredName", item.get("displayName")) != item.get("displayName")):
            return False
        if field == "organizations" and not (own.get("name") or own.get("title")):
            return False
        if field == "addresses" and not any(own.get(p) for p in _ADDRESS_PARTS):
            return False
        if field == "biographies" and own.get("contentType", "TEXT_PLAIN") != "TEXT_PLAIN":
            return False
        if field == "birthdays":
            when = own.get("date")
            if not (isinstance(when, dict) and set(when) == {"year", "month", "day"}):
                return False
            try:
                date(int(when["year"]), int(when["month"]), int(when["day"]))
            except (TypeError, ValueError):
                return False
    return True


def _clean_items(field: str, items: list[Any]) -> list[Any]:
    out = []
    for item in items:
        if not isinstance(item, dict):
            out.append(item)
            continue
        drop = _NAME_OUTPUT if field == "names" else _OUTPUT
        clean = {k: v for k, v in item.items() if k not in drop}
        if (item.get("metadata") or {}).get("primary"):
            clean["metadata"] = {"primary": True}
        out.append(clean)
    return out


def _lean_person(person: dict[str, Any], etag: str, contact_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if person.get("etag") and person["etag"] != etag:
        out["etag"] = person["etag"]
    meta = person.get("metadata")
    sources = [{k: s[k] for k in ("type", "id", "etag") if k in s}
               for s in (meta.get("sources") or [] if isinstance(meta, dict) else [])
               if isinstance(s, dict) and s.get("type") == "CONTACT"]
    if sources:
        out["metadata"] = {"sources": sources}
    client = [{k: v for k, v in d.items() if k != "metadata"}
              for d in person.get("clientData") or [] if isinstance(d, dict)]
    if client and client != [{"key": "crmtui-id", "value": contact_id}]:
        out["clientData"] = client
    for field in _REBUILT:
        items = person.get(field)
        if items and not _rebuilt(field, items):
            out[field] = _clean_items(field, items) if isinstance(items, list) else items
    return out


def _lean_event(remote: dict[str, Any], event_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if remote.get("organizer_self"):
        out["organizer_self"] = True
    uid = remote.get("ical_uid", "")
    if uid != f"{event_id}@google.com":
        out["ical_uid"] = uid
    attendees = remote.get("attendees") or []
    if attendees:
        out["attendees"] = [_lean(a, _ATTENDEE_DEFAULTS, {}) if isinstance(a, dict) else a
                            for a in attendees]
    return out


def lean_link(doc: dict[str, Any]) -> None:
    """Make one sync link of schema 1 (a stored document, or a record of a JSON export) lean,
    in place."""
    if isinstance(doc, dict):
        remote = doc.get("remote")
        base = doc.get("base")
        if doc.get("kind") == "contacts":
            if isinstance(base, dict) and set(base) >= set(_CONTACT_DEFAULTS):
                doc["base"] = _lean(base, _CONTACT_DEFAULTS, _CONTACT_ITEMS)
            if isinstance(remote, dict):
                doc["remote"] = _lean_person(remote, str(doc.get("etag", "")),
                                             str(doc.get("local_id", "")))
        elif doc.get("kind") == "activities":
            if isinstance(base, dict) and set(base) >= set(_EVENT_DEFAULTS):
                doc["base"] = _lean(base, _EVENT_DEFAULTS, _EVENT_ITEMS)
            if isinstance(remote, dict):
                doc["remote"] = _lean_event(remote, str(doc.get("remote_id", "")))


def _v1_to_v2(data: Data) -> Data:
    for doc in data.get("sync_links", {}).values():
        lean_link(doc)
    return data


MIGRATIONS: dict[int, Callable[[Data], Data]] = {0: _v0_to_v1, 1: _v1_to_v2}


def migrate(data: Data) -> tuple[Data, bool]:
    """Bring ``data`` to the current schema; returns it and whether anything changed."""
    version = file_version(data)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the database has schema version {version}, newer than this crmtui understands "
            f"({SCHEMA_VERSION}); upgrade crmtui to open it")
    changed = False
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        changed = True
    if data.get(META_TABLE, {}).get(META_DOC, {}).get("schema") != SCHEMA_VERSION:
        data.setdefault(META_TABLE, {})[META_DOC] = {"schema": SCHEMA_VERSION}
        changed = True
    return data, changed
