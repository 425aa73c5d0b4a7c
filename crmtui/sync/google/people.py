"""Google Contacts through the People API v1: :class:`GooglePeople` implements
:class:`crmtui.sync.remote.ContactsRemote`.

Mapping a Person to and from the canonical fields (:func:`to_fields`, :func:`person_body`,
:func:`update_mask`) is in :mod:`crmtui.sync.google.people_mapping`, re-exported here.

Requests: listings in pages of 1000 with sync tokens; creates and updates 200 per
``batchCreateContacts`` / ``batchUpdateContacts`` call (a created person carries its group
membership and its crmtui id in ``clientData``); reads 200 per ``getBatchGet``; group membership
1000 per ``members:modify``. Every call goes through :class:`~crmtui.sync.google.retry.Retrier`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from googleapiclient.errors import HttpError

from crmtui.sync.google.people_mapping import Json as Json
from crmtui.sync.google.people_mapping import person_body as person_body
from crmtui.sync.google.people_mapping import read_people
from crmtui.sync.google.people_mapping import remote_contact as remote_contact
from crmtui.sync.google.people_mapping import to_fields as to_fields
from crmtui.sync.google.people_mapping import update_mask as update_mask
from crmtui.sync.google.retry import Failure, Retrier, failure, list_pages, refused
from crmtui.sync.google.shapes import Malformed as Unreadable
from crmtui.sync.remote import (
    CRM_ID_KEY,
    ContactUpdate,
    Found,
    Group,
    Listing,
    Malformed,
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
CLIENT_DATA = "clientData"  # written by an update only to correct the crmtui id it carries

# --------------------------------------------------------------------------- the adapter


def _is_expired_token(f: Failure) -> bool:
    return f.status == 400 and ("EXPIRED_SYNC_TOKEN" in f.reasons or (
        f.status_name == "FAILED_PRECONDITION" and "sync token" in f.message.casefold()))


def _is_stale(f: Failure) -> bool:
    return f.status == 400 and f.status_name == "FAILED_PRECONDITION" and (
        "etag" in f.message.casefold())


def item_result(key: str, response: Mapping[str, Any], group: str) -> WriteResult:
    """The outcome of one record of a batch write (a ``PersonResponse``)."""
    if not isinstance(response, dict):
        return WriteResult(key=key, error="Google's answer for it cannot be read")
    person = response.get("person")
    if person:
        return _written(key, person, group)
    status = response.get("status") or {}
    message = str(status.get("message") or "")
    if not message:
        return WriteResult(key=key, error="Google did not answer for it")
    if status.get("code") == 9 and "etag" in message.casefold():  # FAILED_PRECONDITION
        return WriteResult(key=key, stale=True, error=message)
    return WriteResult(key=key, error=f"Google refused it ({message})")


def _written(key: str, person: Any, group: str) -> WriteResult:
    """The result of a write Google answered with ``person``."""
    try:
        return WriteResult(key=key, contact=remote_contact(person, group))
    except Unreadable as exc:
        return WriteResult(key=key, error=f"Google's answer for it cannot be read ({exc})")


def _people_of(responses: Any, asked: Sequence[str]) -> tuple[list[Any], Malformed]:
    """The Persons of a ``getBatchGet`` answer for the resource names ``asked``, and the
    answers that are not Persons at all (named by the resource name asked for, so that they
    are reported and read again)."""
    if not isinstance(responses, list):
        return [], [(name, "Google's answer is not a list of contacts") for name in asked]
    people: list[Any] = []
    malformed: Malformed = []
    for response in responses:
        if isinstance(response, dict) and isinstance(response.get("person"), dict):
            people.append(response["person"])
        elif isinstance(response, dict) and not response.get("person"):
            continue  # not found: left out
        else:
            name = response.get("requestedResourceName") if isinstance(response, dict) else ""
            malformed.append((name if isinstance(name, str) else "",
                              "Google's answer for it is not a contact"))
    return people, malformed


def _client_data(raw: Mapping[str, Any], crm_id: str) -> list[Json]:
    """A Person's ``clientData`` as read, with the crmtui id set to ``crm_id`` (kept as read
    when ``crm_id`` is empty)."""
    items = [{k: v for k, v in d.items() if k != "metadata"}
             for d in raw.get(CLIENT_DATA) or [] if isinstance(d, Mapping)]
    if not crm_id:
        return items
    return [d for d in items if d.get("key") != CRM_ID_KEY] + [
        {"key": CRM_ID_KEY, "value": crm_id}]


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

    def rename_group(self, resource_name: str, name: str) -> Group:
        groups = self._groups
        found = self._call(groups.get(resourceName=resource_name, groupFields="name"),
                           "contactGroups.get")
        made = self._call(groups.update(resourceName=resource_name, body={
            "contactGroup": {"name": name, "etag": found.get("etag", "")},
            "updateGroupFields": "name"}), "contactGroups.update")
        return Group(resource_name=resource_name, name=str(made.get("name", name)))

    # -- reading --------------------------------------------------------------------------------

    def list_changes(self, sync_token: str, group: str) -> Listing:
        try:
            contacts, token = self._list(sync_token)
            read, malformed = read_people(contacts, group)
            return Listing(contacts=read, sync_token=token, full=not sync_token,
                           malformed=malformed)
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
        read, malformed = read_people(contacts, group)
        return Listing(contacts=read, sync_token=token, full=True, malformed=malformed)

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

    def get(self, remote_ids: Sequence[str], group: str) -> Found[RemoteContact]:
        out: Found[RemoteContact] = Found()
        for chunk in _chunks(list(dict.fromkeys(remote_ids)), READ_BATCH):
            answer = self._call(self._people.getBatchGet(
                resourceNames=list(chunk), personFields=PERSON_FIELDS, sources=SOURCES),
                "people.getBatchGet")
            people, malformed = _people_of(answer.get("responses"), chunk)
            read, unread = read_people(people, group)
            out += read
            out.malformed += malformed + unread
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
            if up.crm_id and up.crm_id != up.remote.crm_id:
                mask.append(CLIENT_DATA)
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
        mask = list(mask)
        body = person_body(up.fields, up.remote.raw, [m for m in mask if m != CLIENT_DATA])
        if CLIENT_DATA in mask:
            body[CLIENT_DATA] = _client_data(up.remote.raw, up.crm_id)
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
        # One at a time: Google runs a user's mutations one after another, and the parts of a
        # multipart batch may run in parallel (they would answer 429).
        answers = self._retry.execute_all(requests, "people.updateContact", None)
        out = []
        for key, answer in answers.items():
            if not isinstance(answer, HttpError):
                out.append(_written(key, answer, group))
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
