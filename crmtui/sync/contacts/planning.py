"""Reading both sides and the stored status of a contact sync, and planning it.

:class:`ContactSync` reads: the sync group (found, created or recreated), Google's changes since
the last sync token, the stored links, and the CRM contacts that may need something. Then
:func:`plan_contacts` (pure: no I/O) decides every action, and the runner
(:mod:`crmtui.sync.runner`) applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from crmtui.model import SyncLink, SyncSettings, utcnow
from crmtui.store import ContactQuery, Repository
from crmtui.sync.contacts.actions import (
    KIND,
    ContactRun,
    CreateContact,
    ImportContact,
    LinkPair,
    LocalContact,
    Refill,
    Regroup,
    Ungroup,
    Untag,
    merge_pair,
)
from crmtui.sync.contacts.mapping import carried_id, contact_fields, link_base, link_raw
from crmtui.sync.engine import ProgressFn, SyncReport, doubtful_records
from crmtui.sync.remote import ContactsRemote, NewContact, RemoteContact, malformed_in
from crmtui.sync.runner import Action, Plan
from crmtui.sync.settings import SyncSettingsService
from crmtui.sync.state import ContactsState


def plan_contacts(local: Mapping[str, LocalContact], links: Mapping[str, SyncLink],
                  index: Mapping[str, str],
                  changes: Sequence[RemoteContact], *, full: bool, existing: set[str],
                  emails: Mapping[str, str], report: SyncReport,
                  parked: Mapping[str, RemoteContact | None] | None = None,
                  parked_ids: Mapping[str, str] | None = None,
                  refill: bool = False, now: datetime | None = None) -> Plan:
    """Decide every action of a contact sync (pure: no I/O).

    ``local``: the CRM contacts that may need something: those changed since the last sync, the
    tagged ones not linked yet, the linked ones Google changed, and the ones a remote contact
    matches. ``index``: contact id -> remote id of every link; ``links``: the links of the
    contacts in ``local`` (contact id -> link). ``changes``: remote contacts changed since the last
    sync (every contact when ``full``). ``existing``: every CRM contact id (a linked id missing
    from it was deleted in crmtui; a remote contact carrying one in clientData was created by an
    interrupted run). ``emails``: folded email -> id of a CRM contact carrying it.
    ``parked_ids``: contact id -> the Gmail contact it left the group with (tagged again, it goes
    back in); ``parked``: those Gmail contacts as read now (None: gone from Gmail).
    ``refill``: the group was deleted in Gmail and has just been created again: every linked
    contact that still carries the tag goes into it (nothing is untagged for being outside it)."""
    actions: list[Action] = []
    parked = parked or {}
    parked_ids = parked_ids or {}
    by_remote = {remote_id: cid for cid, remote_id in index.items()}
    seen: dict[str, RemoteContact] = {}
    handled: set[str] = set()
    claimed: set[str] = set(index)
    merges: list[Action] = []

    for rc in changes:
        cid = by_remote.get(rc.remote_id)
        if refill and cid is not None and not rc.deleted:
            seen[cid] = rc  # outside the new group, as every contact is: it goes in below
            continue
        if rc.deleted or not rc.in_group:
            if cid is not None and cid not in handled:
                why = "deleted in Gmail" if rc.deleted else "taken out of the group in Gmail"
                actions.append(Untag(cid, why, park="" if rc.deleted else rc.remote_id))
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
            handled.add(match)
            actions.append(LinkPair(match, rc))
            merges += merge_pair(match, None, local[match], rc, report, listed=True, now=now)
        else:
            actions.append(ImportContact(rc))

    if full:
        listed = {rc.remote_id for rc in changes if not rc.deleted}
        for cid, remote_id in index.items():
            if cid not in handled and remote_id not in listed:
                actions.append(Untag(cid, "no longer in Google"))
                handled.add(cid)

    for cid, remote_id in index.items():
        if cid in handled:
            continue
        if cid not in existing:
            actions.append(Ungroup(cid, remote_id, "deleted in crmtui"))
            continue
        mine = local.get(cid)
        if mine is None:
            if cid in seen:  # a caller's bug: a contact Google changed must be loaded
                raise ValueError(f"contact {cid} changed in Google but was not read")
            if refill:
                actions.append(Refill(cid, remote_id))
            continue  # unchanged on both sides
        if not mine.tagged:
            actions.append(Ungroup(cid, remote_id, "sync tag removed in crmtui", park=True))
            continue
        link = links[cid]
        base = link_base(link)
        rc = seen.get(cid) or RemoteContact(remote_id=link.remote_id, etag=link.etag,
                                            fields=dict(base), in_group=True,
                                            crm_id=carried_id(link.remote),
                                            raw=link_raw(link))
        merges += merge_pair(cid, base, mine, rc, report, listed=cid in seen, now=now)
        if refill:
            actions.append(Refill(cid, remote_id))

    for cid, mine in local.items():
        if mine.tagged and cid not in claimed:
            back = parked.get(cid) if cid in parked_ids else None
            if back is not None:
                actions.append(Regroup(cid, parked_ids[cid], found=True))
                merges += merge_pair(cid, None, mine, back, report, listed=True, now=now)
            else:  # never in Gmail, or its Gmail contact was deleted while it was out

                actions.append(CreateContact(NewContact(crm_id=cid, fields=mine.fields)))
    return Plan(actions=actions + merges, linked=len(index),
                guard_reason="many linked contacts are gone from the Google group")


@dataclass
class ContactSync:
    """One contact sync of one user: reads both sides and the status, and plans."""

    repo: Repository
    user_id: str
    settings: SyncSettings
    remote: ContactsRemote
    report: SyncReport
    dry_run: bool = False

    def prepare(self, progress: ProgressFn) -> tuple[Plan, ContactRun]:
        """Read both sides and the stored status; the plan, and the context to run it in."""
        self.started = utcnow()  # local changes from now on are the next run's
        report = self.report
        tag_id = SyncSettingsService(self.repo).sync_tag(self.settings).id
        state = ContactsState.read(self.repo, self.user_id)
        self.state = state
        progress("Finding the Google contact group", 0, 0)
        wanted = self.settings.contacts_group_name
        group = self.remote.ensure_group(state.group, self.settings.contacts_group_name,
                                         create=not self.dry_run)
        group_name = group.resource_name if group else ""
        if group is None:
            report.plan.append(f"create the Google group {self.settings.contacts_group_name!r}")
        elif group.recreated:
            report.notes.append(f"The Google group {group.name!r} was deleted in Gmail; it was "
                                "created again.")
        elif group.created:
            report.notes.append(f"Created the Google group {group.name!r}.")
        elif group.name != wanted and state.group_name and wanted != state.group_name:
            # a new name chosen in crmtui's settings: the group takes it in Gmail too
            if self.dry_run:
                report.plan.append(f"Google: rename the group {group.name!r} to {wanted!r}")
            else:
                group = self.remote.rename_group(group.resource_name, wanted)
                report.notes.append(f"Renamed the Google group to {wanted!r}.")
        elif group.name != wanted:
            report.notes.append(f"The Google group is now named {group.name!r} in Gmail; "
                                "crmtui follows it by its identity, not its name.")
        # The group is remembered with the rest of the state at the end of a run: a run the
        # guard stops must leave the deleted group's name, so the next run asks again.
        progress("Reading changes from Google", 0, 0)
        listing = self.remote.list_changes(state.sync_token, group_name)
        self.listing_token = listing.sync_token
        changes = list(listing.contacts)
        malformed = list(listing.malformed)
        retry = [r for r in state.retry
                 if r not in {c.remote_id for c in changes} | {r for r, _ in malformed}]
        if retry:  # Gmail contacts that could not be imported (or read) last time
            found = self.remote.get(retry, group_name)
            changes += found
            malformed += malformed_in(found)
        if state.sync_token and listing.full:
            report.notes.append("Google's sync token had expired: every contact was listed and "
                                "reconciled through the stored links.")

        linked = self.repo.link_index(self.user_id, KIND)
        index = {cid: remote_id for cid, (remote_id, _) in linked.items()}
        unreadable = {remote_id for remote_id, _ in malformed}
        changes, unread_now = self._confirmed(
            changes, {cid: rid for cid, rid in index.items() if rid not in unreadable},
            etags=dict(linked.values()), full=listing.full, group=group_name)
        malformed += unread_now
        if not listing.full:
            # A listed contact whose etag is the one crmtui last wrote or read is unchanged: the
            # listing returns crmtui's own writes of the last run too. (A full listing keeps
            # them all: it tells which linked contacts are gone.)
            known_etags = {remote_id: etag for remote_id, etag in linked.values() if etag}
            changes = [rc for rc in changes
                       if rc.deleted or known_etags.get(rc.remote_id) != rc.etag]
        local, existing, emails = self._local(
            tag_id, index, changes, None if listing.full else state.local_stamp,
            state.retry_local)
        self.existing = existing
        back = [cid for cid, mine in local.items()
                if mine.tagged and cid not in index and cid in state.parked]
        parked_now = self.remote.get([state.parked[cid] for cid in back],
                                     group_name) if back else []
        malformed += malformed_in(parked_now)
        parked_found = {rc.remote_id: rc for rc in parked_now}
        # A Gmail contact that cannot be read skips only itself: reported, read again next
        # run; its CRM contact (linked, or parked with it) sits this run out, looked at again.
        unread = {remote_id for remote_id, _ in malformed if remote_id}
        for remote_id, why in malformed:
            report.skipped.append(f"{remote_id or 'a contact without a resource name'} "
                                  f"(Google): cannot be read: {why}")
        waiting = {cid for cid, remote_id in index.items() if remote_id in unread} | {
            cid for cid in back if state.parked[cid] in unread}
        if waiting:
            index = {cid: rid for cid, rid in index.items() if cid not in waiting}
            local = {cid: mine for cid, mine in local.items() if cid not in waiting}
            back = [cid for cid in back if cid not in waiting]
        links = self.repo.get_links(self.user_id, KIND, local)
        plan = plan_contacts(local, links, index, changes, full=listing.full,
                             existing=existing - waiting, emails=emails, report=report,
                             parked={cid: parked_found.get(state.parked[cid]) for cid in back},
                             parked_ids={cid: rid for cid, rid in state.parked.items()
                                         if cid not in waiting},
                             refill=bool(group and group.recreated))
        if group is not None and group.recreated:
            report.notes.append(f"It was filled again with the {len(plan.of(Refill))} "
                                "contacts that carry the sync tag; their tags stay.")
        ctx = ContactRun(self.repo, self.user_id, self.remote, group_name, tag_id, report,
                         parked=dict(state.parked))
        ctx.failed_imports += sorted(unread)
        ctx.retry_local |= waiting
        self.ctx = ctx
        return plan, ctx

    def final_state(self) -> ContactsState:
        """The state a successful run ends with."""
        ctx = self.ctx
        return ContactsState(
            group=ctx.group, group_name=self.settings.contacts_group_name,
            sync_token=self.listing_token, retry=ctx.failed_imports,
            retry_local=sorted(ctx.retry_local),
            parked={cid: rid for cid, rid in ctx.parked.items() if cid in self.existing},
            local_stamp=self.started)

    def _confirmed(self, changes: list[RemoteContact], index: Mapping[str, str], *,
                   etags: Mapping[str, str], full: bool,
                   group: str) -> tuple[list[RemoteContact], list[tuple[str, str]]]:
        """The listing, with what it says of linked contacts checked by a direct read.

        Google's listings lag its writes ("Writes may have a propagation delay of several
        minutes for sync requests"); ``people.getBatchGet`` does not. So a linked contact the
        listing shows deleted or out of the group, or in a version older than the one crmtui
        last wrote or read, and (in a full listing) one it leaves out, is read again: what the
        read says is what the plan goes by. One that the read does not find is gone; one it
        cannot read is left out (and returned with the reason: its record waits)."""
        by_remote = {rid: cid for cid, rid in index.items()}
        known = dict(etags)
        listed = [rc for rc in changes if rc.remote_id in by_remote]
        # only a version other than the one crmtui knows can be an older one
        stored = self.repo.get_links(self.user_id, KIND, [
            by_remote[rc.remote_id] for rc in listed
            if not (rc.deleted or not rc.in_group) and rc.etag != known.get(rc.remote_id)])
        doubtful = doubtful_records(listed, stored, by_remote, lambda rc: rc.deleted or not rc.in_group)
        missing = set(by_remote) - {rc.remote_id for rc in changes} if full else set()
        if not doubtful and not missing:
            return changes, []
        found = self.remote.get(sorted(doubtful | missing), group)
        unread = malformed_in(found)
        unreadable = {rid for rid, _ in unread}
        fresh = {rc.remote_id: rc for rc in found}
        out: list[RemoteContact] = []
        for rc in changes:
            if rc.remote_id not in doubtful:
                out.append(rc)
            elif rc.remote_id in unreadable:
                continue
            elif rc.remote_id in fresh:
                out.append(fresh[rc.remote_id])
            else:  # gone from Google
                out.append(rc if rc.deleted else RemoteContact(rc.remote_id, etag=rc.etag,
                                                               deleted=True))
        out += [fresh[rid] for rid in sorted(missing) if rid in fresh]
        return out, unread

    # -- reading the CRM side ----------------------------------------------------------------

    def _local(self, tag_id: str, links: Mapping[str, str],
               changes: Sequence[RemoteContact], stamp: datetime | None, retry: Sequence[str]
               ) -> tuple[dict[str, LocalContact], set[str], dict[str, str]]:
        """The CRM contacts this run must look at (see :func:`plan_contacts`), every contact id,
        and the emails of CRM contacts that unlinked Gmail contacts carry."""
        existing = set(self.repo.contact_ids(ContactQuery(), None))
        tagged = set(self.repo.contact_ids(ContactQuery(tag_ids=(tag_id,)), self.user_id))
        if stamp:
            recent = set(self.repo.contact_ids(ContactQuery(modified_since=stamp), None))
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
