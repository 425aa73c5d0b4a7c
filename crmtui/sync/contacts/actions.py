"""What a contact sync does, one action per record (see :mod:`crmtui.sync.runner`).

Nothing is ever deleted on either side: a contact gone from Gmail (deleted, or taken out of the
group) loses the sync tag and its link (:class:`Untag`); a contact deleted or untagged in crmtui is
taken out of the group and stays in Gmail (:class:`Ungroup`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmtui.model import Contact, SyncKind, SyncLink, ValidationError
from crmtui.store import ContactQuery, NotFound, Repository
from crmtui.sync.contacts.mapping import (
    apply_fields,
    contact_fields,
    label,
    lean_link_base,
    lean_link_remote,
    link_base,
    respell,
    same_field,
)
from crmtui.sync.engine import SyncReport, changed_meanwhile, describe_merge, merge_fields
from crmtui.sync.remote import (
    CONTACT_FIELDS,
    ContactsRemote,
    ContactUpdate,
    NewContact,
    RemoteContact,
    WriteResult,
    malformed_in,
    not_read_again,
)
from crmtui.sync.runner import ALL, Action, MergeAction

WRITE_BATCH = 200  # People: contacts per batchCreate / batchUpdate
GROUP_BATCH = 1000  # People: members per contactGroups.members.modify
KIND = SyncKind.CONTACTS
CRM_ID_FIELD = "crmtui id"  # in a merge's to_remote: the id Google carries must be corrected


@dataclass
class LocalContact:
    """A CRM contact as the planner sees it."""

    id: str
    fields: dict[str, Any]
    modified: datetime
    tagged: bool


@dataclass
class ContactRun:
    """What the actions of one contact sync work on."""

    repo: Repository
    user_id: str
    remote: ContactsRemote
    group: str  # the sync group's resource name
    tag_id: str  # the sync tag
    report: SyncReport
    parked: dict[str, str] = field(default_factory=dict)  # see ContactsState.parked
    retry_local: set[str] = field(default_factory=set)  # contacts to look at again next run
    failed_imports: list[str] = field(default_factory=list)  # Gmail contacts to read again
    abandoned: set[str] = field(default_factory=set)
    later: list[Action] = field(default_factory=list)

    def transaction(self) -> AbstractContextManager[Any]:
        return self.repo.transaction()

    def link(self, contact_id: str, remote: RemoteContact, base: Mapping[str, Any]) -> None:
        self.repo.put_link(SyncLink(user_id=self.user_id, kind=KIND, local_id=contact_id,
                                    remote_id=remote.remote_id, etag=remote.etag,
                                    base=lean_link_base(base),
                                    remote=lean_link_remote(remote.raw, remote.etag,
                                                            contact_id),
                                    synced=datetime.now(UTC), remote_updated=remote.updated))


def merge_pair(contact_id: str, base: Mapping[str, Any] | None, mine: LocalContact,
               rc: RemoteContact, report: SyncReport, *, listed: bool,
               now: datetime | None = None) -> list[Action]:
    """Merge a linked (or newly matched) pair: a :class:`MergeContact` when something is to be
    written, a :class:`RefreshLink` when only the link must remember a new etag or base."""
    merge = merge_fields(CONTACT_FIELDS, base, mine.fields, rc.fields,
                         local_time=mine.modified, remote_time=rc.updated, record_id=contact_id,
                         now=now, same=same_field)
    report.conflicts += merge.conflicts
    action = merge_action(contact_id, rc, merge.fields, merge.to_remote, merge.to_local,
                          mine.fields)
    if action is not None:
        return [action]
    if listed or base is None or any(not same_field(name, base.get(name), merge.fields[name])
                                     for name in CONTACT_FIELDS):
        return [RefreshLink(contact_id, rc, merge.fields)]
    return []


def merge_action(contact_id: str, rc: RemoteContact, merged: dict[str, Any],
                 to_remote: Sequence[str], to_local: Sequence[str],
                 read: dict[str, Any] | None = None) -> MergeContact | None:
    """The :class:`MergeContact` of a pair, None when nothing is to be written. A Gmail contact
    whose clientData names another CRM record (say, one deleted in crmtui before the Gmail contact
    was brought back in) gets this record's id written with it. ``read``: the CRM contact's
    fields the merge was made on."""
    fix = [CRM_ID_FIELD] if rc.crm_id and rc.crm_id != contact_id else []
    if not (to_remote or to_local or fix):
        return None
    return MergeContact(contact_id, rc, merged, [*to_remote, *fix], list(to_local), read)


@dataclass
class CreateContact(Action):
    """A tagged contact not in Google yet: create it there, in the group."""

    new: NewContact
    phase = 10
    batch_size = WRITE_BATCH
    message = "Sending new contacts to Google"

    @property
    def record(self) -> str:
        return self.new.crm_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"Google: create {label(self.new.fields, self.new.crm_id)}")
        report.google.created += 1

    @classmethod
    def send(cls, ctx: ContactRun, batch: Sequence[CreateContact]) -> list[WriteResult]:
        return ctx.remote.create([a.new for a in batch], ctx.group)

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[CreateContact], answer: list[WriteResult],
             *, last: bool) -> list[Action]:
        for action, result in zip(batch, answer, strict=True):
            new = action.new
            if result.contact is None:
                ctx.report.skipped.append(f"{label(new.fields, new.crm_id)}: Google refused it "
                                          f"({result.error})")
                ctx.retry_local.add(new.crm_id)
                continue
            ctx.link(new.crm_id, result.contact, new.fields)
            ctx.parked.pop(new.crm_id, None)  # its old Gmail contact is gone: this one replaces it
            ctx.report.google.created += 1
        return []


@dataclass
class ImportContact(Action):
    """A Gmail contact new in the group: it comes into crmtui, with the sync tag."""

    remote: RemoteContact
    phase = 20
    batch_size = WRITE_BATCH
    message = "Importing contacts from Gmail"

    @property
    def record(self) -> str:
        return self.remote.remote_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"crmtui: import {label(self.remote.fields, self.remote.remote_id)} "
                           "from Gmail")
        report.crm.created += 1

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[ImportContact], answer: None, *,
             last: bool) -> list[Action]:
        made: list[tuple[Contact, RemoteContact]] = []
        for action in batch:
            rc = action.remote
            try:
                contact = apply_fields(Contact(given_name="new", owner_id=ctx.user_id,
                                               tags=[ctx.tag_id]), rc.fields)
            except ValidationError as exc:
                ctx.report.skipped.append(f"{label(rc.fields, rc.remote_id)} (Gmail): cannot be "
                                          f"imported: {exc}")
                ctx.failed_imports.append(rc.remote_id)
                continue
            made.append((contact, rc))
        ctx.repo.add_contacts([c for c, _ in made])
        for contact, rc in made:
            fields = contact_fields(contact)
            ctx.link(contact.id, rc, fields)
            fix = merge_action(contact.id, rc, fields, [], [])
            if fix is not None:  # it carries the id of a CRM record deleted meanwhile
                ctx.later.append(fix)
        ctx.report.crm.created += len(made)
        return []


@dataclass
class LinkPair(Action):
    """A CRM contact and a Gmail contact found to be the same (by the CRM id an interrupted run
    left in Google, or by email): the CRM contact gets the sync tag. Its merge and link follow
    as a :class:`MergeContact` or :class:`RefreshLink`."""

    contact_id: str
    remote: RemoteContact
    phase = 30
    batch_size = ALL  # CRM-only: one store transaction
    message = "Linking contacts found on both sides"

    @property
    def record(self) -> str:
        return self.contact_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"link {label(self.remote.fields, self.contact_id)} to the crmtui "
                           f"contact {self.contact_id[:8]}")
        report.crm.linked += 1

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[LinkPair], answer: None, *,
             last: bool) -> list[Action]:
        ctx.repo.tag_contacts([a.contact_id for a in batch], ctx.tag_id, ctx.user_id)
        ctx.report.crm.linked += len(batch)
        return []


@dataclass
class Regroup(Action):
    """A contact tagged again in crmtui: the Gmail contact it left with goes back into the group
    (its merge follows). ``found`` False (gone from Gmail) is never planned: the planner creates
    such a contact anew instead; one that vanishes between the read and the write is created by
    the next run."""

    contact_id: str
    remote_id: str
    found: bool
    phase = 40
    batch_size = GROUP_BATCH
    message = "Putting contacts tagged again back into the Google group"

    @property
    def record(self) -> str:
        return self.contact_id

    def describe(self, report: SyncReport) -> None:
        if self.found:
            report.plan.append(f"Google: put {self.contact_id[:8]} back into the group")
            report.crm.linked += 1

    @classmethod
    def send(cls, ctx: ContactRun, batch: Sequence[Regroup]) -> set[str]:
        back = [a.remote_id for a in batch if a.found]
        return set(ctx.remote.add_to_group(back, ctx.group)) if back else set()

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[Regroup], answer: set[str], *,
             last: bool) -> list[Action]:
        for action in batch:
            ctx.parked.pop(action.contact_id, None)
            if not action.found or action.remote_id in answer:
                # gone from Gmail meanwhile: the next run creates it anew
                ctx.retry_local.add(action.contact_id)
                ctx.abandoned.add(action.contact_id)
                continue
            ctx.report.crm.linked += 1
        return []


@dataclass
class Refill(Action):
    """The group was deleted in Gmail and created again: a linked contact that carries the sync
    tag goes into the new group (one gone from Gmail meanwhile loses the tag and its link)."""

    contact_id: str
    remote_id: str
    phase = 45
    batch_size = GROUP_BATCH
    message = "Filling the Google group created again"

    @property
    def record(self) -> str:
        return self.contact_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"Google: put {self.contact_id[:8]} into the group created again")

    @classmethod
    def send(cls, ctx: ContactRun, batch: Sequence[Refill]) -> set[str]:
        return set(ctx.remote.add_to_group([a.remote_id for a in batch], ctx.group))

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[Refill], answer: set[str], *,
             last: bool) -> list[Action]:
        gone = [a.contact_id for a in batch if a.remote_id in answer]
        if gone:
            existing = set(ctx.repo.contact_ids(ContactQuery(), None))
            ctx.repo.tag_contacts([c for c in gone if c in existing], ctx.tag_id, ctx.user_id,
                                  remove=True)
            for cid in gone:
                ctx.repo.delete_link(ctx.user_id, KIND, cid)
                ctx.abandoned.add(cid)
            ctx.report.crm.untagged += len(gone)
        return []


@dataclass
class MergeContact(MergeAction):
    """A linked pair with something to write: the merged fields go to Google (``to_remote``,
    with the etag read) and to the CRM (``to_local``)."""

    contact_id: str
    remote: RemoteContact  # as last read (etag, raw person)
    merged: dict[str, Any]
    to_remote: list[str]
    to_local: list[str]
    read: dict[str, Any] | None = None  # the CRM contact's fields the merge was made on
    phase = 50
    batch_size = WRITE_BATCH
    message = "Updating changed contacts"

    @property
    def record(self) -> str:
        return self.contact_id

    def describe(self, report: SyncReport) -> None:
        describe_merge(report, label(self.merged, self.contact_id), self.to_remote,
                       self.to_local)

    @classmethod
    def send(cls, ctx: ContactRun, batch: Sequence[MergeContact]) -> dict[str, WriteResult]:
        updates = [ContactUpdate(
            a.remote, respell(a.merged, a.remote.fields),
            [f for f in a.to_remote if f != CRM_ID_FIELD],
            crm_id=a.contact_id if CRM_ID_FIELD in a.to_remote else "")
            for a in batch if a.to_remote]
        return {r.key: r for r in ctx.remote.update(updates, ctx.group)} if updates else {}

    @property
    def remote_id(self) -> str:
        return self.remote.remote_id

    @classmethod
    def written(cls, result: WriteResult) -> RemoteContact | None:
        return result.contact

    def refused(self, ctx: ContactRun, why: str) -> None:
        ctx.report.skipped.append(f"{label(self.merged, self.contact_id)}: not updated in "
                                  f"Google ({why})")
        ctx.retry_local.add(self.contact_id)

    def settle(self, ctx: ContactRun, result: WriteResult | None) -> None:
        remote = result.contact if result and result.contact else self.remote
        if self.to_local and not self._pull(ctx):
            return
        ctx.link(self.contact_id, remote, self.merged)
        if self.to_remote:
            ctx.report.google.updated += 1

    def _pull(self, ctx: ContactRun) -> bool:
        """Write the fields Google brings into the CRM contact; False (reported) if they do not
        fit. A field someone saved in crmtui since the merge read the contact keeps their value,
        and the next run sends it: the sync never writes over a person's edit."""
        kept: list[str] = []

        def change(contact: Contact) -> Contact:
            now = contact_fields(contact)
            kept[:] = changed_meanwhile(self.to_local, self.read, now, same_field)
            pulled = {name: self.merged[name] for name in self.to_local if name not in kept}
            return apply_fields(contact, respell({**now, **pulled}, now))

        try:
            ctx.repo.revise_contact(self.contact_id, change, ctx.user_id)
        except (ValidationError, NotFound) as exc:
            ctx.report.skipped.append(f"{label(self.merged, self.contact_id)}: not updated in "
                                      f"crmtui ({exc})")
            ctx.retry_local.add(self.contact_id)
            return False
        ctx.report.crm.updated += 1
        if kept:
            ctx.report.notes.append(
                f"{label(self.merged, self.contact_id)}: {', '.join(kept)} saved in crmtui "
                "during the sync; kept, and sent to Google by the next sync")
            ctx.retry_local.add(self.contact_id)
        return True

    @classmethod
    def again(cls, ctx: ContactRun, retry: list[MergeContact]) -> list[Action]:
        """Changed in Gmail since it was read: read it again and merge again."""
        found = ctx.remote.get([a.remote.remote_id for a in retry], ctx.group)
        fresh = {rc.remote_id: rc for rc in found}
        unreadable = dict(malformed_in(found))
        pending: list[Action] = []
        for action in retry:
            rc = fresh.get(action.remote.remote_id)
            link = ctx.repo.get_link(ctx.user_id, KIND, action.contact_id)
            if rc is None or link is None:
                ctx.report.skipped.append(not_read_again(
                    label(action.merged, action.contact_id), unreadable.get(action.remote.remote_id)))
                ctx.retry_local.add(action.contact_id)
                continue
            contact = ctx.repo.get_contact(action.contact_id, ctx.user_id)
            merge = merge_fields(CONTACT_FIELDS, link_base(link), contact_fields(contact),
                                 rc.fields,
                                 local_time=contact.modified, remote_time=rc.updated,
                                 record_id=action.contact_id, same=same_field)
            ctx.report.conflicts += merge.conflicts
            pending.append(merge_action(action.contact_id, rc, merge.fields, merge.to_remote,
                                        merge.to_local, contact_fields(contact))
                           or MergeContact(action.contact_id, rc, merge.fields, [], []))
        return pending


@dataclass
class RefreshLink(Action):
    """Nothing to write, but the link must remember a new etag or base."""

    contact_id: str
    remote: RemoteContact
    fields: dict[str, Any]
    phase = 60
    batch_size = ALL  # CRM-only: one store transaction

    @property
    def record(self) -> str:
        return self.contact_id

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[RefreshLink], answer: None, *,
             last: bool) -> list[Action]:
        for action in batch:
            ctx.link(action.contact_id, action.remote, action.fields)
        return []


@dataclass
class Untag(Action):
    """Gone from the group in Gmail (deleted, or taken out): the contact stays in crmtui,
    without the sync tag and the link. ``park``: the Gmail contact it left the group with."""

    contact_id: str
    why: str
    park: str = ""
    phase = 70
    batch_size = ALL  # CRM-only: one store transaction
    unlinks = True
    message = "Removing the sync tag from contacts gone from Gmail"

    @property
    def record(self) -> str:
        return self.contact_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"crmtui: remove the sync tag from {self.contact_id[:8]} ({self.why})")
        report.crm.untagged += 1

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[Untag], answer: None, *,
             last: bool) -> list[Action]:
        existing = set(ctx.repo.contact_ids(ContactQuery(), None))
        ids = [a.contact_id for a in batch if a.contact_id in existing]
        if ids:
            ctx.repo.tag_contacts(ids, ctx.tag_id, ctx.user_id, remove=True)
        for action in batch:
            ctx.repo.delete_link(ctx.user_id, KIND, action.contact_id)
            if action.park:
                ctx.parked[action.contact_id] = action.park
        ctx.report.crm.untagged += len(batch)
        return []


@dataclass
class Ungroup(Action):
    """Deleted or untagged in crmtui: taken out of the group, still in Gmail."""

    contact_id: str
    remote_id: str
    why: str
    park: bool = False
    phase = 80
    batch_size = GROUP_BATCH
    message = "Taking contacts out of the Google group"

    @property
    def record(self) -> str:
        return self.contact_id

    def describe(self, report: SyncReport) -> None:
        report.plan.append(f"Google: take {self.contact_id[:8]} out of the group ({self.why})")
        report.google.removed += 1

    @classmethod
    def send(cls, ctx: ContactRun, batch: Sequence[Ungroup]) -> None:
        ctx.remote.remove_from_group([a.remote_id for a in batch], ctx.group)

    @classmethod
    def land(cls, ctx: ContactRun, batch: Sequence[Ungroup], answer: None, *,
             last: bool) -> list[Action]:
        for action in batch:
            ctx.repo.delete_link(ctx.user_id, KIND, action.contact_id)
            if action.park:
                ctx.parked[action.contact_id] = action.remote_id
        ctx.report.google.removed += len(batch)
        return []
