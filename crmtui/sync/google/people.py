"""Google Contacts through the People API v1: :class:`GooglePeople` implements
:class:`crmtui.sync.remote.ContactsRemote`.

Mapping (:func:`to_fields`, :func:`person_body`, :func:`update_mask`): a Person's
``names[0]``, ``organizations[0]`` (company, job title), ``emailAddresses``, ``phoneNumbers``,
``addresses``, ``birthdays[0]`` (a date with a year; a yearless one reads as None and is never
overwritten by None) and ``biographies[0]`` (notes) become the canonical fields of
:mod:`crmtui.sync.remote`. A push writes only the Person fields of the canonical fields that
changed, merged into the Person as last read: every sub-field and item crmtui does not own (an
organization's department, a second organization, an email's custom type label or display name,
an address's extended lines...) is kept. ``primary`` maps to ``metadata.primary``; Google marks
exactly one item of a list primary, so a list with none or several primaries reads back with one.

Requests: listings in pages of 1000 with sync tokens; creates and updates 200 per
``batchCreateContacts`` / ``batchUpdateContacts`` call (a created person carries its group
membership and its crmtui id in ``clientData``); reads 200 per ``getBatchGet``; group membership
1000 per ``members:modify``. Every call goes through :class:`~crmtui.sync.google.retry.Retrier`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from googleapiclient.errors import HttpError

from crmtui.sync.google.retry import Failure, Retrier, failure, list_pages, refused
from crmtui.sync.remote import (
    CONTACT_FIELDS,
    CRM_ID_KEY,
    ContactUpdate,
    Group,
    Listing,
    NewContact,
    RemoteContact,
    WriteResult,
)

PERSON_FIELDS = ("names,emailAddresses,phoneNumbers,organizations,addresses,birthdays,"
                 "biographies,memberships,clientData,metadata")
SOURCES = ["READ_SOURCE_TYPE_CONTACT"]
PAGE_SIZE = 1000
WRITE_BATCH = 200
READ_BATCH = 200
MEMBERS_BATCH = 1000
MY_CONTACTS = "contactGroups/myContacts"

# The Person field each canonical field lives in.
PERSON_FIELD_OF = {"given_name": "names", "middle_name": "names", "family_name": "names",
                   "company": "organizations", "job_title": "organizations",
                   "emails": "emailAddresses", "phones": "phoneNumbers",
                   "addresses": "addresses", "birthday": "birthdays", "notes": "biographies"}
OWNED = tuple(dict.fromkeys(PERSON_FIELD_OF.values()))

NAME_PARTS = {"givenName": "given_name", "middleName": "middle_name",
              "familyName": "family_name"}
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
    """A Person as the engine sees it (a tombstone when ``metadata.deleted``)."""
    name = str(person.get("resourceName", ""))
    etag = str(person.get("etag", ""))
    if (person.get("metadata") or {}).get("deleted"):
        return RemoteContact(remote_id=name, etag=etag, deleted=True, raw=dict(person))
    groups = {(m.get("contactGroupMembership") or {}).get("contactGroupResourceName")
              for m in person.get("memberships") or []}
    crm_id = next((str(d.get("value", "")) for d in person.get("clientData") or []
                   if d.get("key") == CRM_ID_KEY), "")
    return RemoteContact(remote_id=name, etag=etag, updated=_updated(person),
                         fields=to_fields(person), in_group=group in groups, crm_id=crm_id,
                         raw=dict(person))


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


# --------------------------------------------------------------------------- the adapter


def _is_expired_token(f: Failure) -> bool:
    return f.status == 400 and ("EXPIRED_SYNC_TOKEN" in f.reasons or (
        f.status_name == "FAILED_PRECONDITION" and "sync token" in f.message.casefold()))


def _is_stale(f: Failure) -> bool:
    return f.status == 400 and f.status_name == "FAILED_PRECONDITION" and (
        "etag" in f.message.casefold())


def item_result(key: str, response: Mapping[str, Any], group: str) -> WriteResult:
    """The outcome of one record of a batch write (a ``PersonResponse``)."""
    person = response.get("person")
    if person:
        return WriteResult(key=key, contact=remote_contact(person, group))
    status = response.get("status") or {}
    message = str(status.get("message") or "")
    if not message:
        return WriteResult(key=key, error="Google did not answer for it")
    if status.get("code") == 9 and "etag" in message.casefold():  # FAILED_PRECONDITION
        return WriteResult(key=key, stale=True, error=message)
    return WriteResult(key=key, error=f"Google refused it ({message})")


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class GooglePeople:
    """:class:`crmtui.sync.remote.ContactsRemote` for one account, on a People v1 service
    (``crmtui.sync.google.auth.build_people_service``). ``batch_uri`` is where multipart
    batches go (``auth.batch_uri(endpoint, "people")``); None sends their parts one by one."""

    def __init__(self, service: Any, *, batch_uri: str | None,
                 progress: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 6) -> None:
        self._service = service
        # Resources are built once: the client library builds their methods anew on each call.
        self._people = service.people()
        self._groups = service.contactGroups()
        self._batch_uri = batch_uri
        self._progress = progress or (lambda message: None)
        self._retry = Retrier(sleep=sleep, max_attempts=max_attempts, on_retry=self._progress)

    def _call(self, request: Any, what: str) -> Any:
        try:
            return self._retry.execute(request, what)
        except HttpError as err:
            raise refused(what, err) from None

    # -- the group ------------------------------------------------------------------------------

    def ensure_group(self, resource_name: str, name: str, *, create: bool = True
                     ) -> Group | None:
        groups = self._groups
        gone = False
        if resource_name.startswith("contactGroups/") and "/" not in resource_name[14:]:
            try:
                found = self._retry.execute(
                    groups.get(resourceName=resource_name, groupFields="name"),
                    "contactGroups.get")
                return Group(resource_name=resource_name, name=str(found.get("name", "")))
            except HttpError as err:
                if failure(err).status != 404:
                    raise refused("contactGroups.get", err) from None
                gone = True
        else:
            gone = bool(resource_name)
        page_token = None
        while True:
            page = self._call(groups.list(pageSize=PAGE_SIZE, groupFields="name,groupType",
                                          pageToken=page_token), "contactGroups.list")
            for group in page.get("contactGroups") or []:
                if group.get("groupType") == "USER_CONTACT_GROUP" and group.get("name") == name:
                    return Group(resource_name=group["resourceName"], name=name, recreated=gone)
            page_token = page.get("nextPageToken")
            if not page_token:
                break
        if not create:
            return None
        made = self._call(groups.create(body={"contactGroup": {"name": name}}),
                          "contactGroups.create")
        return Group(resource_name=made["resourceName"], name=str(made.get("name", name)),
                     created=True, recreated=gone)

    # -- reading --------------------------------------------------------------------------------

    def list_changes(self, sync_token: str, group: str) -> Listing:
        try:
            contacts, token = self._list(sync_token)
            return Listing(contacts=[remote_contact(p, group) for p in contacts],
                           sync_token=token, full=not sync_token)
        except HttpError as err:
            f = failure(err)
            if not sync_token or f.status != 400:
                raise refused("people.connections.list", err) from None
            why = "expired" if _is_expired_token(f) else "refused"
            self._progress(f"The sync token was {why}: listing every Google contact")
        try:
            contacts, token = self._list("")
        except HttpError as err:
            raise refused("people.connections.list", err) from None
        return Listing(contacts=[remote_contact(p, group) for p in contacts], sync_token=token,
                       full=True)

    def _list(self, sync_token: str) -> tuple[list[Json], str]:
        """Every page of a listing (raising the HttpError of a refused page)."""
        args: Json = {"resourceName": "people/me", "personFields": PERSON_FIELDS,
                      "pageSize": PAGE_SIZE, "requestSyncToken": True, "sources": SOURCES}
        if sync_token:
            args["syncToken"] = sync_token
        return list_pages(self._retry,
                          lambda page: self._people.connections().list(**args, **(
                              {"pageToken": page} if page else {})),
                          items="connections", what="people.connections.list",
                          progress=self._progress, label="Reading Google contacts")

    def get(self, remote_ids: Sequence[str], group: str) -> list[RemoteContact]:
        out: list[RemoteContact] = []
        for chunk in _chunks(list(dict.fromkeys(remote_ids)), READ_BATCH):
            answer = self._call(self._people.getBatchGet(
                resourceNames=list(chunk), personFields=PERSON_FIELDS, sources=SOURCES),
                "people.getBatchGet")
            out += [remote_contact(r["person"], group) for r in answer.get("responses") or []
                    if r.get("person")]
        return out

    # -- creating -------------------------------------------------------------------------------

    def create(self, contacts: Sequence[NewContact], group: str) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        bodies: list[tuple[str, Json]] = []
        for new in contacts:
            try:
                person = person_body(new.fields, {})
            except (ValueError, TypeError, KeyError) as exc:
                results[new.crm_id] = WriteResult(key=new.crm_id,
                                                  error=f"cannot be mapped: {exc}")
                continue
            person["clientData"] = [{"key": CRM_ID_KEY, "value": new.crm_id}]
            person["memberships"] = [
                {"contactGroupMembership": {"contactGroupResourceName": name}}
                for name in dict.fromkeys((MY_CONTACTS, group))]
            bodies.append((new.crm_id, person))
        for chunk in _chunks(bodies, WRITE_BATCH):
            for result in self._create_batch(chunk, group):
                results[result.key] = result
        return [results[new.crm_id] for new in contacts]

    def _create_batch(self, bodies: Sequence[tuple[str, Json]], group: str
                      ) -> list[WriteResult]:
        """One ``batchCreateContacts``; when Google refuses it for a bad record, the halves
        are tried apart until the bad records are found and the rest is written (a refusal
        naming the group, which is gone, stops the run instead)."""
        request = self._people.batchCreateContacts(body={
            "contacts": [{"contactPerson": person} for _, person in bodies],
            "readMask": PERSON_FIELDS, "sources": SOURCES})
        try:
            answer = self._retry.execute(request, "people.batchCreateContacts")
        except HttpError as err:
            f = failure(err)
            if f.status != 400 or group in f.message:  # the group itself is gone: stop
                raise refused("people.batchCreateContacts", err) from None
            if len(bodies) == 1:
                return [WriteResult(key=bodies[0][0], error=f"Google refused it ({f.message})")]
            half = len(bodies) // 2
            return (self._create_batch(bodies[:half], group)
                    + self._create_batch(bodies[half:], group))
        by_id: dict[str, WriteResult] = {}
        for (crm_id, _), response in zip(bodies, answer.get("createdPeople") or [],
                                         strict=False):
            result = item_result(crm_id, response, group)
            if result.contact is not None and result.contact.crm_id:
                result.key = result.contact.crm_id  # Google's order is not promised
            by_id[result.key] = result
        return [by_id.get(crm_id) or WriteResult(key=crm_id, error="Google did not answer for it")
                for crm_id, _ in bodies]

    # -- updating -------------------------------------------------------------------------------

    def update(self, updates: Sequence[ContactUpdate], group: str) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        planned: list[tuple[ContactUpdate, list[str]]] = []
        for up in updates:
            key = up.remote.remote_id
            try:
                mask = update_mask(up.fields, up.remote.raw, up.changed)
            except (ValueError, TypeError, KeyError) as exc:
                results[key] = WriteResult(key=key, error=f"cannot be mapped: {exc}")
                continue
            if mask:
                planned.append((up, mask))
            else:  # nothing Google would see changes
                results[key] = WriteResult(key=key, contact=up.remote)
        for chunk in _chunks(planned, WRITE_BATCH):
            for result in self._update_batch(chunk, group):
                results[result.key] = result
        return [results[up.remote.remote_id] for up in updates]

    @staticmethod
    def _update_body(up: ContactUpdate, mask: Iterable[str]) -> Json:
        body = person_body(up.fields, up.remote.raw, mask)
        body["etag"] = up.remote.etag
        raw = up.remote.raw
        if raw.get("etag") == up.remote.etag:  # the source etag read with it
            sources = [{k: s[k] for k in ("type", "id", "etag") if k in s}
                       for s in (raw.get("metadata") or {}).get("sources") or []
                       if s.get("type") == "CONTACT"]
            if sources:
                body["metadata"] = {"sources": sources}
        return body

    def _update_batch(self, planned: Sequence[tuple[ContactUpdate, list[str]]], group: str
                      ) -> list[WriteResult]:
        """One ``batchUpdateContacts`` (the union of the masks: a field unchanged for a record
        is sent as read). When Google refuses it as a whole (a stale etag, a bad or deleted
        record), every record is sent alone, so one never blocks the others."""
        union = list(dict.fromkeys(name for _, mask in planned for name in mask))
        request = self._people.batchUpdateContacts(body={
            "contacts": {up.remote.remote_id: self._update_body(up, union) for up, _ in planned},
            "updateMask": ",".join(union), "readMask": PERSON_FIELDS, "sources": SOURCES})
        try:
            answer = self._retry.execute(request, "people.batchUpdateContacts")
        except HttpError as err:
            if failure(err).status not in (400, 404):
                raise refused("people.batchUpdateContacts", err) from None
            return self._update_each(planned, group)
        updated = answer.get("updateResult") or {}
        return [item_result(up.remote.remote_id, updated.get(up.remote.remote_id) or {}, group)
                for up, _ in planned]

    def _update_each(self, planned: Sequence[tuple[ContactUpdate, list[str]]], group: str
                     ) -> list[WriteResult]:
        people = self._people
        requests = {up.remote.remote_id: people.updateContact(
            resourceName=up.remote.remote_id, body=self._update_body(up, mask),
            updatePersonFields=",".join(mask), personFields=PERSON_FIELDS, sources=SOURCES)
            for up, mask in planned}
        answers = self._retry.execute_all(requests, "people.updateContact", self._batch_uri)
        out = []
        for key, answer in answers.items():
            if not isinstance(answer, HttpError):
                out.append(WriteResult(key=key, contact=remote_contact(answer, group)))
                continue
            f = failure(answer)
            if _is_stale(f):
                out.append(WriteResult(key=key, stale=True, error=f.message))
            elif f.status == 404:
                out.append(WriteResult(key=key, error="no longer in Google"))
            elif f.status == 400:
                out.append(WriteResult(key=key, error=f"Google refused it ({f.message})"))
            else:
                raise refused("people.updateContact", answer)
        return out

    # -- the group's members --------------------------------------------------------------------

    def remove_from_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        unknown: list[str] = []
        for chunk in _chunks(list(dict.fromkeys(remote_ids)), MEMBERS_BATCH):
            answer = self._modify(group, remove=chunk)
            unknown += answer.get("notFoundResourceNames") or []
            last = answer.get("canNotRemoveLastContactGroupResourceNames") or []
            if last:  # only in the sync group: keep them in Gmail, in My Contacts
                unknown += self._modify(MY_CONTACTS, add=last).get(
                    "notFoundResourceNames") or []
                self._modify(group, remove=last)
        return unknown

    def add_to_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        unknown: list[str] = []
        for chunk in _chunks(list(dict.fromkeys(remote_ids)), MEMBERS_BATCH):
            unknown += self._modify(group, add=chunk).get("notFoundResourceNames") or []
        return unknown

    def _modify(self, group: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
                ) -> Json:
        body: Json = {}
        if add:
            body["resourceNamesToAdd"] = list(add)
        if remove:
            body["resourceNamesToRemove"] = list(remove)
        answer: Json = self._call(self._groups.members().modify(
            resourceName=group, body=body), "contactGroups.members.modify")
        return answer
