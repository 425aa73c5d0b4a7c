"""The People API's storage: each account's contacts and groups, their etags, rendering and
sync tokens (see the package's docstring for the layout)."""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from collections import Counter
from collections.abc import Iterable
from typing import Any

from crmtui.emulator.people import lag
from crmtui.emulator.people.fields import (
    SYNC_TOKEN_LIFETIME,
    SYSTEM_GROUPS,
    Json,
    _b64,
    _display,
    _formatted,
    expired_sync_token,
    fingerprint,
    group_etag,
    group_id_of,
    group_resource_name,
    invalid,
    not_found_error,
    resource_name_of,
    source_id_of,
)
from crmtui.emulator.state import (
    Account,
    EmulatorState,
    decode_token,
    encode_token,
    rfc3339,
)


class PeopleStore:
    """Per-account contact and group storage, rendering, sync and page tokens, persistence."""

    name = "people"

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # -- module interface ------------------------------------------------------------------------

    def new_account(self, account: Account) -> None:
        now = rfc3339(self.state.clock.now())
        account.data[self.name] = {
            "contacts": {},
            "groups": {gid: {"name": gid, "clientData": [], "seq": 0, "updated": now,
                             "deleted": False, "system": True} for gid in SYSTEM_GROUPS},
        }

    def dump(self, account: Account) -> Any:
        return copy.deepcopy(account.data[self.name])

    def load(self, account: Account, data: Any) -> None:
        account.data[self.name] = copy.deepcopy(data)

    # -- storage -----------------------------------------------------------------------------------

    def _data(self, account: Account | None) -> Json:
        assert account is not None
        data: Json = account.data[self.name]
        return data

    def _contacts(self, account: Account | None) -> dict[str, Json]:
        contacts: dict[str, Json] = self._data(account)["contacts"]
        return contacts

    def _groups(self, account: Account | None) -> dict[str, Json]:
        groups: dict[str, Json] = self._data(account)["groups"]
        return groups

    def _touch(self, record: Json) -> None:
        record["seq"] = self.state.next_seq()
        record["at"] = self.state.clock.time()
        record["updated"] = rfc3339(self.state.clock.now())
        lag.remember(record)

    def _contact(self, account: Account | None, resource_name: str) -> tuple[str, Json]:
        """The live contact named ``resource_name``: 400 if malformed, 404 if unknown."""
        sid = source_id_of(resource_name)
        if sid is None:
            raise invalid()
        record = self._contacts(account).get(sid)
        if record is None or record["deleted"]:
            raise not_found_error()
        return sid, record

    def _group(self, account: Account | None, gid: str) -> Json:
        group = self._groups(account).get(gid)
        if group is None or group["deleted"]:
            raise not_found_error()
        return group

    def _membership_ids(self, account: Account | None, items: list[Json]) -> list[str]:
        """Group ids named by stored membership items (each must be a live group)."""
        out: list[str] = []
        for item in items:
            name = item.get("contactGroupMembership", {}).get("contactGroupResourceName", "")
            gid = group_id_of(name)
            group = self._groups(account).get(gid or "")
            if gid is None or group is None or group["deleted"]:
                raise invalid(f"Contact group {name!r} does not exist.")
            if gid not in out:
                out.append(gid)
        return out

    def _new_contact(self, account: Account | None, person: Json) -> tuple[str, Json]:
        contacts = self._contacts(account)
        sid = f"{secrets.randbits(64) | 1 << 60:016x}"
        while sid in contacts:
            sid = f"{secrets.randbits(64) | 1 << 60:016x}"
        groups = self._membership_ids(account, person.pop("memberships", []))
        if "myContacts" not in groups:
            groups.insert(0, "myContacts")
        record: Json = {"seq": 0, "updated": "", "deleted": False, "person": person,
                        "groups": groups}
        if lag.lag_of(self._data(account)):
            record["versions"] = []
        self._touch(record)
        contacts[sid] = record
        return sid, record

    def _apply(self, account: Account | None, record: Json, person: Json,
               fields: Iterable[str]) -> None:
        """Replace ``fields`` of a contact with those of ``person`` (absent ones are cleared)."""
        for field in fields:
            if field == "memberships":
                groups = self._membership_ids(account, person.get("memberships", []))
                if not groups:
                    raise invalid("A contact must be in at least one contact group.")
                record["groups"] = groups
            elif person.get(field):
                record["person"][field] = person[field]
            else:
                record["person"].pop(field, None)
        self._touch(record)

    def _delete(self, record: Json) -> None:
        record["deleted"] = True
        record["person"] = {}
        record["groups"] = []
        self._touch(record)

    # -- rendering ---------------------------------------------------------------------------------

    def _etags(self, sid: str, record: Json, fields: Iterable[str]) -> tuple[str, str]:
        version = record["seq"].to_bytes(8, "big")
        person = b"\x12" + bytes.fromhex(sid) + version + bytes.fromhex(fingerprint(fields))
        source = hashlib.sha1(bytes.fromhex(sid) + version).digest()[:8]
        return "%" + _b64(person), "#" + _b64(source)

    def _etag_ok(self, sid: str, record: Json, body: Json) -> bool:
        """Whether the body carries the contact's current person or CONTACT source etag."""
        person_etag, source_etag = self._etags(sid, record, ())
        given = body.get("etag")
        if isinstance(given, str) and given.startswith("%"):
            try:
                raw = base64.b64decode(given[1:], validate=True)
            except ValueError:
                raw = b""
            if raw[:17] == base64.b64decode(person_etag[1:])[:17]:
                return True
        sources = (body.get("metadata") or {}).get("sources") or []
        return any(isinstance(s, dict) and s.get("etag") == source_etag for s in sources)

    @staticmethod
    def _has_etag(body: Json) -> bool:
        sources = (body.get("metadata") or {}).get("sources") or []
        return bool(body.get("etag")) or any(isinstance(s, dict) and s.get("etag")
                                             for s in sources)

    def render(self, sid: str, record: Json, fields: frozenset[str]) -> Json:
        """A contact as Google returns it with the ``fields`` mask (a tombstone if deleted)."""
        person_etag, source_etag = self._etags(sid, record, fields)
        out: Json = {"resourceName": resource_name_of(sid), "etag": person_etag}
        source = {"type": "CONTACT", "id": sid}
        if record["deleted"]:
            if "metadata" in fields:
                out["metadata"] = {"sources": [source], "deleted": True, "objectType": "PERSON"}
            return out
        if "metadata" in fields:
            out["metadata"] = {"sources": [{**source, "etag": source_etag,
                                            "updateTime": record["updated"]}],
                               "objectType": "PERSON"}
        person = record["person"]
        for field in sorted(fields):
            if field == "memberships":
                out["memberships"] = [
                    {"metadata": {"source": source},
                     "contactGroupMembership": {"contactGroupId": gid,
                                                "contactGroupResourceName":
                                                group_resource_name(gid)}}
                    for gid in record["groups"]]
                continue
            items = person.get(field)
            if not items:
                continue
            primary = next((i for i, it in enumerate(items)
                            if it.get("metadata", {}).get("primary")), 0)
            rendered = []
            for i, item in enumerate(items):
                shown = _display(item) if field == "names" else _formatted(field, item)
                meta: Json = {"source": source}
                if i == primary:
                    meta = {"primary": True, "sourcePrimary": True, "source": source}
                shown["metadata"] = meta
                rendered.append(shown)
            out[field] = rendered
        return out

    def render_group(self, account: Account | None, gid: str, group: Json,
                     fields: frozenset[str], counts: Counter[str] | None = None,
                     max_members: int = 0) -> Json:
        out: Json = {"resourceName": group_resource_name(gid), "etag": group_etag(gid, group)}
        if "metadata" in fields:
            out["metadata"] = {"updateTime": group["updated"]}
            if group["deleted"]:
                out["metadata"]["deleted"] = True
        if group["deleted"]:
            return out
        if "groupType" in fields:
            out["groupType"] = "SYSTEM_CONTACT_GROUP" if group["system"] else "USER_CONTACT_GROUP"
        if "name" in fields:
            out["name"] = group["name"]
            out["formattedName"] = SYSTEM_GROUPS.get(gid, group["name"])
        if "clientData" in fields and group["clientData"]:
            out["clientData"] = copy.deepcopy(group["clientData"])
        members: list[str] = []
        if counts is None or max_members:
            members = [resource_name_of(sid) for sid, c in self._contacts(account).items()
                       if not c["deleted"] and gid in c["groups"]]
        count = counts[gid] if counts is not None else len(members)
        if "memberCount" in fields and count:
            out["memberCount"] = count
        if max_members and members:
            out["memberResourceNames"] = members[:max_members]
        return out

    def _member_counts(self, account: Account | None) -> Counter[str]:
        counts: Counter[str] = Counter()
        for record in self._contacts(account).values():
            if not record["deleted"]:
                counts.update(record["groups"])
        return counts

    # -- sync and page tokens ----------------------------------------------------------------------

    def _sync_token(self, kind: str, email: str, seq: int, fields: Iterable[str], *,
                    horizon: float | None = None, chain: float | None = None) -> str:
        """A sync token: the change number and visibility horizon (see :mod:`.lag`) of what
        the listing showed, and ``chain``, when the full sync that began its chain was made
        (it expires 7 days after that; None: now, a full sync)."""
        now = self.state.clock.time()
        return encode_token({"k": kind, "u": email, "s": seq, "t": now,
                             "h": now if horizon is None else horizon,
                             "c": now if chain is None else chain,
                             "e": self.state.sync_epoch, "f": fingerprint(fields)})

    def _read_token(self, token: str, kind: str, email: str, fields: Iterable[str]) -> Json:
        """A token's payload: 400 INVALID_ARGUMENT when garbage or for other parameters,
        400 EXPIRED_SYNC_TOKEN when its chain's full sync is older than 7 days ("Sync tokens
        expire 7 days after the full sync") or it was issued before an invalidation."""
        payload = decode_token(token)
        if payload is None or payload.get("k") != kind or payload.get("u") != email:
            raise invalid()
        is_sync = kind.endswith("s")
        shape_ok = (isinstance(payload.get("s"), int) and isinstance(payload.get("t"), float)
                    if is_sync else
                    isinstance(payload.get("m"), int) and isinstance(payload.get("a"), list))
        if not shape_ok or payload.get("f") != fingerprint(fields):
            raise invalid()
        stale = payload.get("e") != self.state.sync_epoch
        if stale and (is_sync or payload.get("since") is not None):
            raise expired_sync_token()
        if is_sync:
            chain = payload.get("c", payload["t"])
            if not isinstance(chain, float) or not isinstance(payload.get("h", 0.0), float):
                raise invalid()
            if self.state.clock.time() - chain > SYNC_TOKEN_LIFETIME:
                raise expired_sync_token()
        return payload
