"""An in-memory Google Contacts for the engine's unit tests (implements ``ContactsRemote``).

It keeps canonical fields directly (no Person mapping), hands out sync tokens as change numbers,
keeps tombstones, counts calls per method, and offers "Gmail side" edits for tests:
:meth:`gmail_create`, :meth:`gmail_edit`, :meth:`gmail_delete`, :meth:`gmail_ungroup`,
:meth:`gmail_create_group`, :meth:`gmail_rename_group`, :meth:`gmail_delete_group`. ``reject``
marks values Google refuses (by default what the People adapter cannot map or Google refuses: a
text field that is not a string, a birthday that is not a date); ``expire_tokens`` makes the next
listing full, as an expired sync token does; ``refuse_credentials`` makes every call raise
:class:`~crmtui.sync.remote.AuthError`.

It behaves as Google does where the engine can tell (``tests/sync/test_remote_contract.py`` runs
one contract against it and the People adapter on the emulator): a tombstone carries only its
id and etag; a group created again for a deleted one is ``created`` and ``recreated``; an update
with nothing to write is no call and keeps the etag; writes to a group that is gone are refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crmtui.sync.remote import (
    CONTACT_FIELDS,
    AuthError,
    ContactUpdate,
    Group,
    Listing,
    NewContact,
    RemoteContact,
    RemoteError,
    WriteResult,
)

TEXT_FIELDS = ("given_name", "middle_name", "family_name", "company", "job_title", "notes",
               "honorific")


def complete(fields: dict[str, Any]) -> dict[str, Any]:
    """Every canonical field, as Google lists a contact ("" or [] or None when absent)."""
    out: dict[str, Any] = {name: "" for name in TEXT_FIELDS}
    out.update(emails=[], phones=[], addresses=[], birthday=None)
    out.update(fields)
    return {name: out[name] for name in CONTACT_FIELDS}


def google_refuses(fields: dict[str, Any]) -> str:
    """Why Google (or the People adapter) would refuse these canonical fields; "" if it would not."""
    for name in TEXT_FIELDS:
        if not isinstance(fields.get(name, ""), str):
            return f"Google refused it (Invalid value at {name})"
    birthday = fields.get("birthday")
    if birthday is not None:
        try:
            date.fromisoformat(birthday)
        except (TypeError, ValueError) as exc:
            return f"cannot be mapped: {exc}"
    return ""


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
        self.reject: Callable[[dict[str, Any]], str] = google_refuses
        self.token_epoch = 0  # tokens of an earlier epoch are expired: "N" (epoch 0), "E.N"
        self.credentials_refused = False
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
        if p.deleted:  # a tombstone: Google sends the resource name and etag only
            return RemoteContact(remote_id=p.remote_id, etag=f"e{p.version}", deleted=True,
                                 raw={"etag": f"e{p.version}"})
        return RemoteContact(remote_id=p.remote_id, etag=f"e{p.version}", updated=p.updated,
                             fields={} if p.deleted else dict(p.fields),
                             in_group=bool(group) and group in p.groups and not p.deleted,
                             crm_id=p.crm_id, deleted=p.deleted,
                             raw={"etag": f"e{p.version}"})

    def _touch(self, p: _Person) -> None:
        p.version += 1
        p.seq, p.updated = self._tick()

    def expire_tokens(self) -> None:
        self.token_epoch += 1

    def refuse_credentials(self) -> None:
        """Every call from now on raises AuthError (a revoked grant)."""
        self.credentials_refused = True

    def _call(self, method: str) -> None:
        self.calls[method] += 1
        if self.credentials_refused:
            raise AuthError("the credentials were refused (invalid_grant)")

    def _group_exists(self, group: str, what: str) -> None:
        if group not in self.groups:
            raise RemoteError(f"{what}: Google refused the request (HTTP 400: "
                              f"{group} does not exist)")

    # -- ContactsRemote ------------------------------------------------------------------------

    def ensure_group(self, resource_name: str, name: str, *, create: bool = True) -> Group | None:
        self._call("ensure_group")
        if resource_name in self.groups:
            return Group(resource_name, self.groups[resource_name])
        for rn, existing in self.groups.items():
            if existing == name:
                return Group(rn, existing, recreated=bool(resource_name))
        if not create:
            return None
        rn = self._new_id("contactGroups/g")
        self.groups[rn] = name
        return Group(rn, name, created=True, recreated=bool(resource_name))

    def rename_group(self, resource_name: str, name: str) -> Group:
        self._call("rename_group")
        self._group_exists(resource_name, "contactGroups.update")
        self.groups[resource_name] = name
        return Group(resource_name, name)

    def list_changes(self, sync_token: str, group: str) -> Listing:
        self._call("list")
        epoch, _, number = sync_token.rpartition(".")
        valid = number.isdigit() and (epoch or "0") == str(self.token_epoch)
        since = int(number) if valid else -1  # empty, expired, or one we did not issue: full
        full = since < 0
        people = [self._view(p, group) for p in self.people.values()
                  if (full and not p.deleted) or (not full and p.seq > since)]
        token = f"{self.token_epoch}.{self.seq}" if self.token_epoch else str(self.seq)
        return Listing(contacts=people, sync_token=token, full=full)

    def get(self, remote_ids: Sequence[str], group: str) -> list[RemoteContact]:
        self._call("get")
        return [self._view(self.people[r], group) for r in dict.fromkeys(remote_ids)
                if r in self.people and not self.people[r].deleted]

    def create(self, contacts: Sequence[NewContact], group: str) -> list[WriteResult]:
        self._call("create")
        self._group_exists(group, "people.batchCreateContacts")
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
        self._call("update")
        out = []
        for u in updates:
            p = self.people.get(u.remote.remote_id)
            if all(u.fields[name] == u.remote.fields.get(name) for name in u.changed) and (
                    not u.crm_id or u.crm_id == u.remote.crm_id):
                out.append(WriteResult(key=u.remote.remote_id, contact=u.remote))  # no call
            elif p is None or p.deleted:
                out.append(WriteResult(key=u.remote.remote_id, error="not found"))
            elif u.remote.etag != f"e{p.version}":
                out.append(WriteResult(key=u.remote.remote_id, stale=True, error="stale etag"))
            elif why := self.reject(u.fields):
                out.append(WriteResult(key=u.remote.remote_id, error=why))
            else:
                for name in u.changed:
                    p.fields[name] = u.fields[name]
                p.crm_id = u.crm_id or p.crm_id
                self._touch(p)
                out.append(WriteResult(key=p.remote_id, contact=self._view(p, group)))
        return out

    def remove_from_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        self._call("remove_from_group")
        return self._membership(remote_ids, group, add=False)

    def add_to_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        self._call("add_to_group")
        return self._membership(remote_ids, group, add=True)

    def _membership(self, remote_ids: Sequence[str], group: str, *, add: bool) -> list[str]:
        self._group_exists(group, "contactGroups.members.modify")
        missing = []
        for rid in dict.fromkeys(remote_ids):
            p = self.people.get(rid)
            if p is None or p.deleted:
                missing.append(rid)
                continue
            if (group in p.groups) != add:  # already so: no change, as in Google
                (p.groups.add if add else p.groups.discard)(group)
                self._touch(p)
        return missing

    # -- the Gmail side -------------------------------------------------------------------------

    def group_named(self, name: str) -> str:
        return next(rn for rn, n in self.groups.items() if n == name)

    def gmail_create(self, fields: dict[str, Any], *, groups: Sequence[str] = ()) -> str:
        p = _Person(self._new_id("people/c"), complete(fields), set(groups))
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

    def gmail_create_group(self, name: str) -> str:
        rn = self._new_id("contactGroups/g")
        self.groups[rn] = name
        return rn

    def gmail_rename_group(self, group: str, name: str) -> None:
        self.groups[group] = name

    def gmail_delete_group(self, group: str) -> None:
        del self.groups[group]
        for p in self.people.values():
            if group in p.groups:
                p.groups.discard(group)
                self._touch(p)

    def in_group(self, group: str) -> list[_Person]:
        return [p for p in self.people.values() if group in p.groups and not p.deleted]
