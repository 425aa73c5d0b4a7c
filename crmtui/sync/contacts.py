"""Two-way contact sync (DESIGN.md section 3, "Contacts").

:func:`plan_contacts` is pure: from the user's tagged and linked contacts, the stored links (with
their base values), and the remote changes, it decides every action. :func:`sync_contacts` runs a
whole sync: it finds the group, lists the changes, plans, checks the mass-unlink guard, then applies
the plan: writes to Google in batches and commits each batch's local changes and new links in one
store transaction. Nothing is ever deleted on either side: a contact gone from Gmail (deleted or
taken out of the group) loses the sync tag and its link; a contact deleted or untagged in crmtui is
taken out of the group and stays in Gmail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from crmtui.model import (
    Address,
    Contact,
    Email,
    Phone,
    SyncKind,
    SyncLink,
    SyncSettings,
    ValidationError,
    utcnow,
)
from crmtui.store import ContactQuery, NotFound, Repository
from crmtui.sync.engine import (
    GuardStop,
    ProgressFn,
    SyncReport,
    SyncSetupError,
    apply_merges,
    check_guard,
    chunks,
    describe_merge,
    merge_fields,
    no_progress,
)
from crmtui.sync.remote import (
    CONTACT_FIELDS,
    ContactsRemote,
    ContactUpdate,
    NewContact,
    RemoteContact,
    WriteResult,
)

WRITE_BATCH = 200
GROUP_BATCH = 1000


# --------------------------------------------------------------------------- canonical fields


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
        "notes": contact.notes,
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
        notes=fields.get("notes", ""))


def _label(fields: Mapping[str, Any], fallback: str) -> str:
    name = " ".join(p for p in (fields.get("given_name"), fields.get("family_name")) if p)
    emails = fields.get("emails") or []
    return name or fields.get("company") or (emails[0]["value"] if emails else "") or fallback


# --------------------------------------------------------------------------- the plan


@dataclass
class LocalContact:
    id: str
    fields: dict[str, Any]
    modified: datetime
    tagged: bool


@dataclass
class Push:
    """Write merged fields to Google (and, where they differ, to the CRM)."""

    contact_id: str
    remote: RemoteContact
    merged: dict[str, Any]
    to_remote: list[str]
    to_local: list[str]


@dataclass
class ContactPlan:
    creates: list[NewContact] = field(default_factory=list)  # tagged, unlinked: to Google
    imports: list[RemoteContact] = field(default_factory=list)  # new in the group: to the CRM
    links: list[tuple[str, RemoteContact]] = field(default_factory=list)  # matched pairs
    merges: list[Push] = field(default_factory=list)  # linked pairs with something to write
    refreshed: list[tuple[str, RemoteContact, dict[str, Any]]] = field(default_factory=list)
    untag: list[tuple[str, str]] = field(default_factory=list)  # (contact id, why): Gmail side gone
    regroup: list[tuple[str, str]] = field(default_factory=list)  # re-tagged: (contact, remote)
    park: dict[str, str] = field(default_factory=dict)  # leaving the sync: contact -> remote
    ungroup: list[tuple[str, str, str]] = field(default_factory=list)  # (contact id, remote, why)
    linked_count: int = 0

    def unlinking(self) -> int:
        return len(self.untag)


def plan_contacts(local: Mapping[str, LocalContact], links: Mapping[str, SyncLink],
                  index: Mapping[str, str],
                  changes: Sequence[RemoteContact], *, full: bool, existing: set[str],
                  emails: Mapping[str, str], report: SyncReport,
                  parked: Mapping[str, str] | None = None,
                  now: datetime | None = None) -> ContactPlan:
    """Decide every action of a contact sync (pure: no I/O).

    ``local``: the CRM contacts that may need something: those changed since the last sync, the
    tagged ones not linked yet, the linked ones Google changed, and the ones a remote contact
    matches. ``index``: contact id -> remote id of every link; ``links``: the links of the
    contacts in ``local`` (contact id -> link). ``changes``: remote contacts changed since the last
    sync (every contact when ``full``). ``existing``: every CRM contact id (a linked id missing
    from it was deleted in crmtui; a remote contact carrying one in clientData was created by an
    interrupted run). ``emails``: folded email -> id of a CRM contact carrying it. ``parked``:
    contact id -> the Gmail contact it left the group with (tagged again, it goes back in)."""
    plan = ContactPlan(linked_count=len(index))
    parked = parked or {}
    by_remote = {remote_id: cid for cid, remote_id in index.items()}
    seen: dict[str, RemoteContact] = {}
    handled: set[str] = set()
    claimed: set[str] = set(index)

    for rc in changes:
        cid = by_remote.get(rc.remote_id)
        if rc.deleted or not rc.in_group:
            if cid is not None and cid not in handled:
                why = "deleted in Gmail" if rc.deleted else "taken out of the group in Gmail"
                plan.untag.append((cid, why))
                if not rc.deleted:
                    plan.park[cid] = rc.remote_id
                handled.add(cid)
            continue
        if cid is not None:
            seen[cid] = rc
            continue
        match = ""
        if rc.crm_id and rc.crm_id in existing and rc.crm_id not in claimed:
            match = rc.crm_id
        else:
            for email in rc.emails():
                candidate = emails.get(email)
                if candidate and candidate not in claimed and candidate in local:
                    match = candidate
                    break
        if match:
            claimed.add(match)
            plan.links.append((match, rc))
            handled.add(match)
            _merge(plan, report, match, None, local[match], rc, now, listed=True)
        else:
            plan.imports.append(rc)

    if full:
        listed = {rc.remote_id for rc in changes if not rc.deleted}
        for cid, remote_id in index.items():
            if cid not in handled and remote_id not in listed:
                plan.untag.append((cid, "no longer in Google"))
                handled.add(cid)

    for cid, remote_id in index.items():
        if cid in handled:
            continue
        if cid not in existing:
            plan.ungroup.append((cid, remote_id, "deleted in crmtui"))
            continue
        mine = local.get(cid)
        if mine is None:
            if cid in seen:  # a caller's bug: a contact Google changed must be loaded
                raise ValueError(f"contact {cid} changed in Google but was not read")
            continue  # unchanged on both sides
        if not mine.tagged:
            plan.ungroup.append((cid, remote_id, "sync tag removed in crmtui"))
            plan.park[cid] = remote_id
            continue
        link = links[cid]
        rc = seen.get(cid) or RemoteContact(remote_id=link.remote_id, etag=link.etag,
                                            fields=dict(link.base), in_group=True,
                                            raw=dict(link.remote))
        _merge(plan, report, cid, link.base, mine, rc, now, listed=cid in seen)

    for cid, mine in local.items():
        if mine.tagged and cid not in claimed:
            if cid in parked:
                plan.regroup.append((cid, parked[cid]))
            else:
                plan.creates.append(NewContact(crm_id=cid, fields=mine.fields))
    return plan


def _merge(plan: ContactPlan, report: SyncReport, cid: str, base: Mapping[str, Any] | None,
           mine: LocalContact, rc: RemoteContact, now: datetime | None, *, listed: bool) -> None:
    merge = merge_fields(CONTACT_FIELDS, base, mine.fields, rc.fields,
                         local_time=mine.modified, remote_time=rc.updated, record_id=cid, now=now)
    report.conflicts += merge.conflicts
    if merge.to_remote or merge.to_local:
        plan.merges.append(Push(cid, rc, merge.fields, merge.to_remote, merge.to_local))
    elif listed or base is None or dict(base) != merge.fields:
        plan.refreshed.append((cid, rc, merge.fields))  # a new etag or base to remember


# --------------------------------------------------------------------------- running a sync


@dataclass
class ContactSync:
    """One contact sync of one user: reads, plans and applies."""

    repo: Repository
    user_id: str
    settings: SyncSettings
    remote: ContactsRemote
    progress: ProgressFn = no_progress
    dry_run: bool = False
    confirmed: bool = False
    report: SyncReport | None = None  # filled as the run goes (kept when it fails half way)
    retry_local: set[str] = field(default_factory=set)  # contacts to look at again next run
    finish: Callable[[dict[str, Any]], None] | None = None  # stores the state a run ends with

    def __post_init__(self) -> None:
        if self.finish is None:
            self.finish = lambda state: self.repo.set_sync_state(self.user_id,
                                                                 SyncKind.CONTACTS, state)

    def run(self) -> SyncReport:
        started = utcnow()  # local changes from now on are the next run's
        if self.report is None:
            self.report = SyncReport(kind=SyncKind.CONTACTS.value, dry_run=self.dry_run)
        report = self.report
        tag_id = self.settings.contacts_tag_id
        if not tag_id:
            raise SyncSetupError("no sync tag is chosen for contacts: run `crmtui sync setup "
                                 "contacts --tag NAME` (a private tag of yours)")
        try:
            self.repo.get_tag(tag_id, self.user_id)
        except NotFound:
            raise SyncSetupError("the contacts' sync tag no longer exists: choose another with "
                                 "`crmtui sync setup contacts --tag NAME`") from None
        state = self.repo.get_sync_state(self.user_id, SyncKind.CONTACTS)
        self.progress("Finding the Google contact group", 0, 0)
        group = self.remote.ensure_group(state.get("group", ""), self.settings.contacts_group_name,
                                         create=not self.dry_run)
        group_name = group.resource_name if group else ""
        token = state.get("sync_token", "")
        if group is None:
            report.plan.append(f"create the Google group {self.settings.contacts_group_name!r}")
        else:
            if group.recreated:
                report.notes.append(f"The Google group {group.name!r} was deleted in Gmail; it "
                                    "was created again.")
            elif group.created:
                report.notes.append(f"Created the Google group {group.name!r}.")
            elif group.name != self.settings.contacts_group_name:
                report.notes.append(f"The Google group is now named {group.name!r} in Gmail; "
                                    "crmtui follows it by its identity, not its name.")
            # The group is remembered with the rest of the state at the end of a run: a run the
            # guard stops must leave the deleted group's name, so the next run asks again.
        self.progress("Reading changes from Google", 0, 0)
        listing = self.remote.list_changes(token, group_name)
        changes = list(listing.contacts)
        retry = [r for r in state.get("retry", []) if r not in {c.remote_id for c in changes}]
        if retry:  # Gmail contacts that could not be imported last time
            changes += self.remote.get(retry, group_name)
        if token and listing.full:
            report.notes.append("Google's sync token had expired: every contact was listed and "
                                "reconciled through the stored links.")

        linked = self.repo.link_index(self.user_id, SyncKind.CONTACTS)
        index = {cid: remote_id for cid, (remote_id, _) in linked.items()}
        if not listing.full:
            # A listed contact whose etag is the one crmtui last wrote or read is unchanged: the
            # listing returns crmtui's own writes of the last run too. (A full listing keeps
            # them all: it tells which linked contacts are gone.)
            known_etags = {remote_id: etag for remote_id, etag in linked.values() if etag}
            changes = [rc for rc in changes
                       if rc.deleted or known_etags.get(rc.remote_id) != rc.etag]
        parked: dict[str, str] = dict(state.get("parked", {}))
        local, existing, emails = self._local(tag_id, index, changes,
                                              "" if listing.full else state.get("local_stamp", ""),
                                              state.get("retry_local", []))
        links = self.repo.get_links(self.user_id, SyncKind.CONTACTS, local)
        plan = plan_contacts(local, links, index, changes, full=listing.full, existing=existing,
                             emails=emails, report=report, parked=parked)
        try:
            check_guard(plan.unlinking(), plan.linked_count, confirmed=self.confirmed,
                        always=bool(group and group.recreated and plan.unlinking()),
                        reason=("the Google group was deleted in Gmail"
                                if group and group.recreated
                                else "many linked contacts are gone from the Google group"))
        except GuardStop as stop:
            if not self.dry_run:
                raise
            report.notes.append(f"A real run would stop here: {stop}")
        if self.dry_run:
            self._describe(plan, report)
            return report
        failed_imports = self._apply(plan, report, group_name, tag_id, parked)
        assert self.finish is not None  # set in __post_init__
        self.finish({
            **state, "group": group_name, "sync_token": listing.sync_token,
            "retry": failed_imports, "retry_local": sorted(self.retry_local),
            "parked": {cid: rid for cid, rid in parked.items() if cid in existing},
            "local_stamp": started.isoformat(), "last_sync": utcnow().isoformat()})
        return report

    # -- reading the CRM side ----------------------------------------------------------------

    def _local(self, tag_id: str, links: Mapping[str, str],
               changes: Sequence[RemoteContact], stamp: str, retry: Sequence[str]
               ) -> tuple[dict[str, LocalContact], set[str], dict[str, str]]:
        """The CRM contacts this run must look at (see :func:`plan_contacts`), every contact id,
        and the emails of CRM contacts that unlinked Gmail contacts carry."""
        existing = set(self.repo.contact_ids(ContactQuery(), None))
        tagged = set(self.repo.contact_ids(ContactQuery(tag_ids=(tag_id,)), self.user_id))
        if stamp:
            recent = set(self.repo.contact_ids(
                ContactQuery(modified_since=datetime.fromisoformat(stamp)), None))
        else:
            recent = existing
        by_remote = {remote_id: cid for cid, remote_id in links.items()}
        remote_linked = {by_remote[rc.remote_id] for rc in changes if rc.remote_id in by_remote}
        unlinked = [rc for rc in changes
                    if rc.remote_id not in by_remote and rc.in_group and not rc.deleted]
        wanted_emails = {email for rc in unlinked for email in rc.emails()}
        emails = {e: cid for e, cid in self.repo.contact_ids_by_email(wanted_emails).items()
                  if cid not in links}
        recovered = {rc.crm_id for rc in unlinked if rc.crm_id in existing}
        wanted = (((tagged | set(links)) & recent) | (tagged - set(links)) | remote_linked
                  | set(emails.values()) | recovered | set(retry)) & existing
        local: dict[str, LocalContact] = {}
        for contact in self.repo.get_contacts(sorted(wanted), self.user_id):
            local[contact.id] = LocalContact(contact.id, contact_fields(contact),
                                             contact.modified, contact.id in tagged)
        return local, existing, emails

    # -- dry run --------------------------------------------------------------------------------

    def _describe(self, plan: ContactPlan, report: SyncReport) -> None:
        out = report.plan
        for new in plan.creates:
            out.append(f"Google: create {_label(new.fields, new.crm_id)}")
            report.google.created += 1
        for rc in plan.imports:
            out.append(f"crmtui: import {_label(rc.fields, rc.remote_id)} from Gmail")
            report.crm.created += 1
        for cid, rc in plan.links:
            out.append(f"link {_label(rc.fields, cid)} to the crmtui contact {cid[:8]}")
            report.crm.linked += 1
        for push in plan.merges:
            describe_merge(report, _label(push.merged, push.contact_id), push.to_remote,
                           push.to_local)
        for cid, why in plan.untag:
            out.append(f"crmtui: remove the sync tag from {cid[:8]} ({why})")
            report.crm.untagged += 1
        for cid, _remote, why in plan.ungroup:
            out.append(f"Google: take {cid[:8]} out of the group ({why})")
            report.google.removed += 1

    # -- applying ---------------------------------------------------------------------------------

    def _apply(self, plan: ContactPlan, report: SyncReport, group: str, tag_id: str,
               parked: dict[str, str]) -> list[str]:
        total = (len(plan.creates) + len(plan.imports) + len(plan.links) + len(plan.merges)
                 + len(plan.untag) + len(plan.ungroup) + len(plan.regroup))
        done = 0

        def step(message: str, n: int) -> None:
            nonlocal done
            done += n
            self.progress(message, done, total)

        # Contacts new in crmtui go to Google, a batch at a time; each batch's links commit at once.
        for batch in chunks(plan.creates, WRITE_BATCH):
            results = self.remote.create(batch, group)
            with self.repo.transaction():
                for new, result in zip(batch, results, strict=True):
                    if result.contact is None:
                        report.skipped.append(f"{_label(new.fields, new.crm_id)}: Google "
                                              f"refused it ({result.error})")
                        self.retry_local.add(new.crm_id)
                        continue
                    self._link(new.crm_id, result.contact, new.fields)
                    report.google.created += 1
            step("Sending new contacts to Google", len(batch))

        # Contacts new in the group come into crmtui, tagged.
        failed: list[str] = []
        for batch in chunks(plan.imports, WRITE_BATCH):
            contacts: list[tuple[Contact, RemoteContact]] = []
            for rc in batch:
                try:
                    contact = apply_fields(Contact(given_name="new", owner_id=self.user_id,
                                                   tags=[tag_id]), rc.fields)
                except ValidationError as exc:
                    report.skipped.append(f"{_label(rc.fields, rc.remote_id)} (Gmail): cannot "
                                          f"be imported: {exc}")
                    failed.append(rc.remote_id)
                    continue
                contacts.append((contact, rc))
            with self.repo.transaction():
                self.repo.add_contacts([c for c, _ in contacts])
                for contact, rc in contacts:
                    self._link(contact.id, rc, contact_fields(contact))
            report.crm.created += len(contacts)
            step("Importing contacts from Gmail", len(batch))

        # Matched pairs get the sync tag and a link (their merge is in plan.merges / refreshed).
        if plan.links:  # their links are written with their merge, below
            self.repo.tag_contacts([cid for cid, _ in plan.links], tag_id, self.user_id)
            report.crm.linked += len(plan.links)
            step("Linking contacts found on both sides", len(plan.links))

        # Tagged again in crmtui: the Gmail contact it left with goes back into the group.
        for batch in chunks(plan.regroup, GROUP_BATCH):
            back = [(cid, rid) for cid, rid in batch]
            missing = set(self.remote.add_to_group([rid for _, rid in back], group))
            found = {rc.remote_id: rc for rc in self.remote.get(
                [rid for _, rid in back if rid not in missing], group)}
            for cid, rid in back:
                parked.pop(cid, None)
                rc = found.get(rid)
                if rc is None:  # gone from Gmail meanwhile: the next run creates it anew
                    self.retry_local.add(cid)
                    continue
                contact = self.repo.get_contact(cid, self.user_id)
                _merge(plan, report, cid, None,
                       LocalContact(cid, contact_fields(contact), contact.modified, True), rc,
                       None, listed=True)
                report.crm.linked += 1
            step("Putting contacts tagged again back into the Google group", len(batch))

        self._apply_merges(plan.merges, report, group, step)
        if plan.refreshed:
            with self.repo.transaction():
                for cid, rc, fields in plan.refreshed:
                    self._link(cid, rc, fields)

        # Gone from the group in Gmail: the contact stays in crmtui, without the tag and link.
        if plan.untag:
            with self.repo.transaction():
                existing = set(self.repo.contact_ids(ContactQuery(), None))
                ids = [cid for cid, _ in plan.untag if cid in existing]
                if ids:
                    self.repo.tag_contacts(ids, tag_id, self.user_id, remove=True)
                for cid, _why in plan.untag:
                    self.repo.delete_link(self.user_id, SyncKind.CONTACTS, cid)
            parked.update({cid: plan.park[cid] for cid, _ in plan.untag if cid in plan.park})
            report.crm.untagged += len(plan.untag)
            step("Removing the sync tag from contacts gone from Gmail", len(plan.untag))

        # Deleted or untagged in crmtui: out of the group, still in Gmail.
        for batch in chunks(plan.ungroup, GROUP_BATCH):
            self.remote.remove_from_group([remote for _, remote, _ in batch], group)
            with self.repo.transaction():
                for cid, _remote, _why in batch:
                    self.repo.delete_link(self.user_id, SyncKind.CONTACTS, cid)
            parked.update({cid: plan.park[cid] for cid, _, _ in batch if cid in plan.park})
            report.google.removed += len(batch)
            step("Taking contacts out of the Google group", len(batch))
        return failed

    def _apply_merges(self, merges: Sequence[Push], report: SyncReport, group: str,
                      step: Any) -> None:
        def send(pushes: Sequence[Push]) -> dict[str, WriteResult]:
            updates = [ContactUpdate(p.remote, p.merged, p.to_remote) for p in pushes]
            return {r.key: r for r in self.remote.update(updates, group)}

        def land(push: Push, result: WriteResult | None) -> None:
            remote = result.contact if result and result.contact else push.remote
            if push.to_local and not self._pull(push, report):
                return
            self._link(push.contact_id, remote, push.merged)
            if push.to_remote:
                report.google.updated += 1

        def fail(push: Push, why: str) -> None:
            report.skipped.append(f"{_label(push.merged, push.contact_id)}: not updated in "
                                  f"Google ({why})")
            self.retry_local.add(push.contact_id)

        apply_merges(merges, size=WRITE_BATCH, send=send, key=lambda p: p.remote.remote_id,
                     ok=lambda r: r.contact is not None, land=land, fail=fail,
                     reread=lambda stale: self._reread(stale, report, group),
                     transaction=self.repo.transaction,
                     step=lambda n: step("Updating changed contacts", n))

    def _reread(self, stale: list[Push], report: SyncReport, group: str) -> list[Push]:
        """Changed in Gmail since it was read: read again and merge again."""
        fresh = {rc.remote_id: rc for rc in self.remote.get(
            [p.remote.remote_id for p in stale], group)}
        pending = []
        for push in stale:
            rc = fresh.get(push.remote.remote_id)
            link = self.repo.get_link(self.user_id, SyncKind.CONTACTS, push.contact_id)
            if rc is None or link is None:
                report.skipped.append(f"{_label(push.merged, push.contact_id)}: gone from "
                                      "Google while syncing; next run settles it")
                self.retry_local.add(push.contact_id)
                continue
            contact = self.repo.get_contact(push.contact_id, self.user_id)
            merge = merge_fields(CONTACT_FIELDS, link.base, contact_fields(contact),
                                 rc.fields, local_time=contact.modified,
                                 remote_time=rc.updated, record_id=push.contact_id)
            report.conflicts += merge.conflicts
            pending.append(Push(push.contact_id, rc, merge.fields, merge.to_remote,
                                merge.to_local))
        return pending

    def _pull(self, push: Push, report: SyncReport) -> bool:
        """Write merged fields into the CRM contact; False (and reported) if they do not fit."""
        try:
            contact = self.repo.get_contact(push.contact_id, self.user_id)
            self.repo.update_contact(apply_fields(contact, push.merged), self.user_id,
                                     touch=False)
        except (ValidationError, NotFound) as exc:
            report.skipped.append(f"{_label(push.merged, push.contact_id)}: not updated in "
                                  f"crmtui ({exc})")
            self.retry_local.add(push.contact_id)
            return False
        report.crm.updated += 1
        return True

    def _link(self, contact_id: str, remote: RemoteContact, base: Mapping[str, Any]) -> None:
        self.repo.put_link(SyncLink(user_id=self.user_id, kind=SyncKind.CONTACTS,
                                    local_id=contact_id, remote_id=remote.remote_id,
                                    etag=remote.etag, base=dict(base), remote=dict(remote.raw),
                                    synced=datetime.now(UTC)))

