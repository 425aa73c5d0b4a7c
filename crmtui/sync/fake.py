"""An in-memory Google Contacts for the engine's unit tests (implements ``ContactsRemote``).

It keeps canonical fields directly (no Person mapping), hands out sync tokens as change numbers,
keeps tombstones, counts calls per method, and offers "Gmail side" edits for tests:
:meth:`gmail_create`, :meth:`gmail_edit`, :meth:`gmail_delete`, :meth:`gmail_ungroup`,
:meth:`gmail_delete_group`. ``reject`` marks values Google refuses; ``expire_tokens`` makes the
next listing full, as an expired sync token does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crmtui.sync.remote import (
    ContactUpdate,
    Group,
    Listing,
    NewContact,
    RemoteContact,
    WriteResult,
)


@dataclass
class _Person:
    remote_id: str
    fields: dict[str, Any]
    groups: set[str]
    crm_id: str = ""
    version: int = 0
    seq: int = 0
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    deleted: bool = False


class FakeContactsRemote:
    """Google Contacts in memory."""

    def __init__(self) -> None:
        self.people: dict[str, _Person] = {}
        self.groups: dict[str, str] = {}  # resource name -> name
        self.calls: Counter[str] = Counter()
        self.seq = 0
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.reject: Callable[[dict[str, Any]], str] = lambda fields: ""
        self.expired_before = 0  # tokens older than this change number are expired
        self._ids = 0

    # -- helpers --------------------------------------------------------------------------------

    def _tick(self) -> tuple[int, datetime]:
        self.seq += 1
        self.clock += timedelta(seconds=1)
        return self.seq, self.clock

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def _view(self, p: _Person, group: str) -> RemoteContact:
        return RemoteContact(remote_id=p.remote_id, etag=f"e{p.version}", updated=p.updated,
                             fields={} if p.deleted else dict(p.fields),
                             in_group=bool(group) and group in p.groups and not p.deleted,
                             crm_id=p.crm_id, deleted=p.deleted,
                             raw={"etag": f"e{p.version}"})

    def _touch(self, p: _Person) -> None:
        p.version += 1
        p.seq, p.updated = self._tick()

    def expire_tokens(self) -> None:
        self.expired_before = self.seq + 1

    # -- ContactsRemote ------------------------------------------------------------------------

    def ensure_group(self, resource_name: str, name: str, *, create: bool = True) -> Group | None:
        self.calls["ensure_group"] += 1
        if resource_name in self.groups:
            return Group(resource_name, self.groups[resource_name])
        for rn, existing in self.groups.items():
            if existing == name:
                return Group(rn, existing, recreated=bool(resource_name))
        if not create:
            return None
        rn = self._new_id("contactGroups/g")
        self.groups[rn] = name
        return Group(rn, name, created=not resource_name, recreated=bool(resource_name))

    def list_changes(self, sync_token: str, group: str) -> Listing:
        self.calls["list"] += 1
        since = int(sync_token) if sync_token else -1
        full = since < 0 or since < self.expired_before
        people = [self._view(p, group) for p in self.people.values()
                  if (full and not p.deleted) or (not full and p.seq > since)]
        return Listing(contacts=people, sync_token=str(self.seq), full=full)

    def get(self, remote_ids: Sequence[str], group: str) -> list[RemoteContact]:
        self.calls["get"] += 1
        return [self._view(self.people[r], group) for r in remote_ids
                if r in self.people and not self.people[r].deleted]

    def create(self, contacts: Sequence[NewContact], group: str) -> list[WriteResult]:
        self.calls["create"] += 1
        out = []
        for new in contacts:
            why = self.reject(new.fields)
            if why:
                out.append(WriteResult(key=new.crm_id, error=why))
                continue
            p = _Person(self._new_id("people/c"), dict(new.fields), {group}, crm_id=new.crm_id)
            self._touch(p)
            self.people[p.remote_id] = p
            out.append(WriteResult(key=new.crm_id, contact=self._view(p, group)))
        return out

    def update(self, updates: Sequence[ContactUpdate], group: str) -> list[WriteResult]:
        self.calls["update"] += 1
        out = []
        for u in updates:
            p = self.people.get(u.remote.remote_id)
            if p is None or p.deleted:
                out.append(WriteResult(key=u.remote.remote_id, error="not found"))
            elif u.remote.etag != f"e{p.version}":
                out.append(WriteResult(key=u.remote.remote_id, stale=True, error="stale etag"))
            elif why := self.reject(u.fields):
                out.append(WriteResult(key=u.remote.remote_id, error=why))
            else:
                for name in u.changed:
                    p.fields[name] = u.fields[name]
                self._touch(p)
                out.append(WriteResult(key=p.remote_id, contact=self._view(p, group)))
        return out

    def remove_from_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        self.calls["remove_from_group"] += 1
        return self._membership(remote_ids, group, add=False)

    def add_to_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        self.calls["add_to_group"] += 1
        return self._membership(remote_ids, group, add=True)

    def _membership(self, remote_ids: Sequence[str], group: str, *, add: bool) -> list[str]:
        missing = []
        for rid in remote_ids:
            p = self.people.get(rid)
            if p is None or p.deleted:
                missing.append(rid)
                continue
            (p.groups.add if add else p.groups.discard)(group)
            self._touch(p)
        return missing

    # -- the Gmail side -------------------------------------------------------------------------

    def group_named(self, name: str) -> str:
        return next(rn for rn, n in self.groups.items() if n == name)

    def gmail_create(self, fields: dict[str, Any], *, groups: Sequence[str] = ()) -> str:
        p = _Person(self._new_id("people/c"), dict(fields), set(groups))
        self._touch(p)
        self.people[p.remote_id] = p
        return p.remote_id

    def gmail_edit(self, remote_id: str, **changes: Any) -> None:
        p = self.people[remote_id]
        p.fields.update(changes)
        self._touch(p)

    def gmail_delete(self, remote_id: str) -> None:
        p = self.people[remote_id]
        p.deleted = True
        self._touch(p)

    def gmail_ungroup(self, remote_id: str, group: str) -> None:
        p = self.people[remote_id]
        p.groups.discard(group)
        self._touch(p)

    def gmail_delete_group(self, group: str) -> None:
        del self.groups[group]
        for p in self.people.values():
            if group in p.groups:
                p.groups.discard(group)
                self._touch(p)

    def in_group(self, group: str) -> list[_Person]:
        return [p for p in self.people.values() if group in p.groups and not p.deleted]
