"""People API v1 contacts: ``people.connections.list``, ``people.get``,
``people.getBatchGet`` and the contact mutations, single and batched."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable
from typing import Any

from crmtui.emulator.errors import ApiError
from crmtui.emulator.http import Request
from crmtui.emulator.people import lag
from crmtui.emulator.people.fields import (
    MAX_BATCH_DELETE,
    MAX_BATCH_GET,
    MAX_BATCH_MUTATE,
    READ_SOURCES,
    READABLE,
    SORT_ORDERS,
    WRITABLE,
    Json,
    _b64,
    _display,
    bad_value,
    body_object,
    check_keys,
    clean_person,
    fingerprint,
    flag,
    invalid,
    missing_etag,
    page_size,
    parse_mask,
    person_fields,
    resource_name_of,
    stale_etag,
)
from crmtui.emulator.people.store import PeopleStore
from crmtui.emulator.state import (
    encode_token,
)


class ContactsApi(PeopleStore):
    """``people.*``: listing connections, reading, creating, updating and deleting contacts,
    one at a time and in batches."""

    # the last listing made: (what it was asked, the contacts, the change number, the list)
    _listing: tuple[tuple[Any, ...], dict[str, Json], int, list[tuple[Any, str, Json]]] | None \
        = None

    def list_connections(self, req: Request) -> Json:
        if req.params["owner"] != "me":
            raise invalid()
        fields = person_fields(req)
        size = page_size(req, 100)
        order = req.arg("sortOrder") or SORT_ORDERS[0]
        if order not in SORT_ORDERS:
            raise bad_value("sort_order", order)
        want_sync = flag(req, "requestSyncToken")
        for source in req.args("sources"):
            if source not in READ_SOURCES:
                raise bad_value("sources", source)
        data = self._data(req.account)
        now = self.state.clock.time()
        delay = lag.lag_of(data)
        if delay:
            lag.prune(data, now)
        sync_token, page_token = req.arg("syncToken"), req.arg("pageToken")
        since: int | None = None
        seen = now  # the horizon of what the sync token's listing showed
        chain: float | None = None
        if sync_token:
            token = self._read_token(sync_token, "ps", req.email, fields)
            since = int(token["s"])
            seen = float(token["h"]) if "h" in token else float("inf")  # older tokens: none
            chain = float(token["c"] if "c" in token else token["t"])
        if page_token:
            page = self._read_token(page_token, "pp", req.email, fields)
            if page.get("since") != since or page.get("o") != order:
                raise invalid()
            snapshot, horizon, after = int(page["m"]), float(page.get("h", now)), page["a"]
            started = page.get("c")
            if since is None and isinstance(started, float):
                chain = started
        else:
            snapshot, horizon, after = self.state.seq, now - delay, None
        if since is None and chain is None:
            chain = now  # a full sync begins a chain of sync tokens
        listed = self._listed(req, snapshot, horizon, since, seen,
                              order if since is None else SORT_ORDERS[0], cache=not delay)
        total = len(listed)
        start = 0 if after is None else bisect.bisect_right(listed, after, key=lambda c: c[0])
        out: Json = {}
        page_items = listed[start:start + size]
        if page_items:
            out["connections"] = [self.render(sid, r, fields) for _, sid, r in page_items]
        if total - start > size:
            out["nextPageToken"] = encode_token({
                "k": "pp", "u": req.email, "m": snapshot, "h": horizon, "a": page_items[-1][0],
                "since": since, "c": chain, "o": order, "f": fingerprint(fields),
                "e": self.state.sync_epoch})
        elif want_sync:
            out["nextSyncToken"] = self._sync_token("ps", req.email, snapshot, fields,
                                                    horizon=horizon, chain=chain)
        if total:
            out["totalPeople"] = out["totalItems"] = total
        return out

    def _listed(self, req: Request, snapshot: int, horizon: float, since: int | None,
                seen: float, order: str, *, cache: bool) -> list[tuple[Any, str, Json]]:
        """Every contact a listing shows (sort key, source id, the version shown), in its order.
        The pages of one listing ask for the same list: while no contact changed in between
        (no change number was handed out) and no lag keeps versions (``cache``), the list made
        for the previous page is the one this page would make, and is used again, so a listing
        costs what it returns rather than its pages times the address book."""
        contacts = self._contacts(req.account)
        token = (req.email, snapshot, horizon, since, seen if since is not None else None, order)
        kept = self._listing
        if cache and kept is not None and kept[0] == token and kept[1] is contacts \
                and kept[2] == self.state.seq:
            listed: list[tuple[Any, str, Json]] = kept[3]
            return listed
        key = self._sort_key(order)
        listed = []
        for sid, record in contacts.items():
            version = lag.visible(record, snapshot, horizon)
            if version is None:
                continue
            if since is None and version["deleted"]:
                continue
            if since is not None and lag.seen_by(version, since, seen):
                continue
            listed.append((key(sid, version), sid, version))
        listed.sort(key=lambda c: c[0])
        self._listing = (token, contacts, self.state.seq, listed) if cache else None
        return listed

    @staticmethod
    def _sort_key(order: str) -> Callable[[str, Json], list[Any]]:
        def name_part(record: Json, part: str) -> str:
            names = record["person"].get("names") or [{}]
            return str(names[0].get(part, "")).lower()

        if order == "LAST_MODIFIED_DESCENDING":
            return lambda sid, r: [-r["seq"], sid]
        if order == "FIRST_NAME_ASCENDING":
            return lambda sid, r: [name_part(r, "givenName"), r["seq"], sid]
        if order == "LAST_NAME_ASCENDING":
            return lambda sid, r: [name_part(r, "familyName"), r["seq"], sid]
        return lambda sid, r: [r["seq"], sid]

    def get_person(self, req: Request) -> Json:
        fields = person_fields(req)
        if req.params["pid"] == "me":
            return self._profile(req, fields)
        sid, record = self._contact(req.account, "people/" + req.params["pid"])
        return self.render(sid, record, fields)

    def _profile(self, req: Request, fields: frozenset[str]) -> Json:
        """``people/me``: the account's own profile (not a contact; read-only)."""
        number = int(hashlib.sha1(req.email.encode()).hexdigest()[:15], 16)
        source = {"type": "PROFILE", "id": str(number)}
        out: Json = {"resourceName": f"people/{number}",
                     "etag": "%" + _b64(hashlib.sha1(req.email.encode()).digest()[:12])}
        if "metadata" in fields:
            out["metadata"] = {"sources": [source], "objectType": "PERSON"}
        if "emailAddresses" in fields:
            out["emailAddresses"] = [{"metadata": {"primary": True, "verified": True,
                                                   "source": source}, "value": req.email}]
        if "names" in fields:
            name = _display({"givenName": req.email.split("@")[0]})
            out["names"] = [{**name, "metadata": {"primary": True, "source": source}}]
        return out

    def batch_get(self, req: Request) -> Json:
        fields = person_fields(req)
        names = req.args("resourceNames")
        if not names:
            raise invalid("resourceNames must have at least one entry.")
        if len(names) > MAX_BATCH_GET:
            raise invalid(f"Too many resource names: at most {MAX_BATCH_GET} are allowed.")
        responses = []
        for name in names:
            try:
                sid, record = self._contact(req.account, name)
            except ApiError as err:
                code = err.status
                responses.append({"requestedResourceName": name, "httpStatusCode": code,
                                  "status": {"code": 5 if code == 404 else 3,
                                             "message": err.body["error"]["message"]}})
                continue
            responses.append({"requestedResourceName": name, "httpStatusCode": 200,
                              "person": self.render(sid, record, fields), "status": {}})
        return {"responses": responses}

    def create_contact(self, req: Request) -> Json:
        fields = parse_mask(req.arg("personFields"), "personFields", READABLE,
                            required=False) or READABLE
        person = clean_person(body_object(req), "person")
        sid, record = self._new_contact(req.account, person)
        return self.render(sid, record, fields)

    def update_contact(self, req: Request) -> Json:
        mask = parse_mask(req.arg("updatePersonFields"), "updatePersonFields", WRITABLE,
                          required=True) or frozenset()
        fields = parse_mask(req.arg("personFields"), "personFields", READABLE,
                            required=False) or READABLE
        body = body_object(req)
        person = clean_person(body, "person")
        sid, record = self._contact(req.account, "people/" + req.params["pid"])
        self._check_update(sid, record, body, "people/" + req.params["pid"])
        self._apply(req.account, record, person, mask)
        return self.render(sid, record, fields)

    def _check_update(self, sid: str, record: Json, body: Json, name: str) -> None:
        given = body.get("resourceName")
        if given is not None and given != name:
            raise invalid("Resource name in the request does not match the person.")
        if not self._has_etag(body):
            raise missing_etag()
        if not self._etag_ok(sid, record, body):
            raise stale_etag()

    def delete_contact(self, req: Request) -> Json:
        _, record = self._contact(req.account, "people/" + req.params["pid"])
        self._delete(record)
        return {}

    def batch_create(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("contacts", "readMask", "sources"), "")
        fields = parse_mask(body.get("readMask"), "readMask", READABLE, required=False)
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise invalid("contacts must have at least one entry.")
        if len(contacts) > MAX_BATCH_MUTATE:
            raise invalid(f"Too many contacts: at most {MAX_BATCH_MUTATE} are allowed.")
        people = []
        for i, entry in enumerate(contacts):
            if not isinstance(entry, dict):
                raise bad_value(f"contacts[{i}]", entry)
            check_keys(entry, ("contactPerson",), f"contacts[{i}]")
            people.append(clean_person(entry.get("contactPerson", {}),
                                       f"contacts[{i}].contact_person"))
        for person in people:  # every membership valid before anything is written
            self._membership_ids(req.account, person.get("memberships", []))
        created = [self._new_contact(req.account, person) for person in people]
        if fields is None:
            return {}
        return {"createdPeople": [
            {"requestedResourceName": resource_name_of(sid), "httpStatusCode": 200,
             "person": self.render(sid, record, fields), "status": {}}
            for sid, record in created]}

    def batch_update(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("contacts", "updateMask", "readMask", "sources"), "")
        mask = parse_mask(body.get("updateMask"), "updateMask", WRITABLE,
                          required=True) or frozenset()
        fields = parse_mask(body.get("readMask"), "readMask", READABLE, required=False)
        contacts = body.get("contacts")
        if not isinstance(contacts, dict) or not contacts:
            raise invalid("contacts must have at least one entry.")
        if len(contacts) > MAX_BATCH_MUTATE:
            raise invalid(f"Too many contacts: at most {MAX_BATCH_MUTATE} are allowed.")
        planned = []
        for name, raw in contacts.items():
            person = clean_person(raw, f"contacts[{name}]")
            sid, record = self._contact(req.account, name)
            self._check_update(sid, record, raw, name)
            if "memberships" in mask:
                self._membership_ids(req.account, person.get("memberships", []))
            planned.append((name, sid, record, person))
        for _, _, record, person in planned:
            self._apply(req.account, record, person, mask)
        if fields is None:
            return {}
        return {"updateResult": {
            name: {"requestedResourceName": name, "httpStatusCode": 200,
                   "person": self.render(sid, record, fields), "status": {}}
            for name, sid, record, _ in planned}}

    def batch_delete(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("resourceNames",), "")
        names = body.get("resourceNames")
        if not isinstance(names, list) or not names:
            raise invalid("resourceNames must have at least one entry.")
        if len(names) > MAX_BATCH_DELETE:
            raise invalid(f"Too many resource names: at most {MAX_BATCH_DELETE} are allowed.")
        records = [self._contact(req.account, str(name))[1] for name in names]
        for record in records:
            if not record["deleted"]:
                self._delete(record)
        return {}
