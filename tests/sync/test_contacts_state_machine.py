"""A hypothesis state machine that drives the contact sync end to end: the real People adapter
against a fresh emulator and store per example, with edits, tags, group moves and deletes on
both sides, faults, expired sync tokens, interrupted runs and syncs. After every clean sync (no
fault pending, confirmed) both sides must agree, nothing may be duplicated, no value may have
vanished without a journal entry, and a second sync in a row writes nothing on either side.

The value model: every value a rule writes (a job title, a company, notes) is a unique token
``side[n]``. A value may disappear from both sides only (a) when a user overwrote or deleted it
on a side where it was present at that moment (the rule reads the field just before writing
and records what it replaces in ``excused``), or (b) when a run journaled it as the ``lost``
value of a conflict. So the check is sound: the engine never removes a value for any other
reason. And it can fail: if :func:`crmtui.sync.engine.merge_fields` dropped a conflict, or the
service did not journal the conflicts of a run that wrote them and then failed, a CRM edit
overwritten by a newer Gmail edit (``crm_edit`` then ``gmail_edit`` of the same field, then
``sync``) leaves the CRM token on neither side, not excused (Gmail never held it) and in no
journal conflict, and ``check_no_value_vanished`` raises. ``test_the_value_check_catches_a_silent
overwrite`` shows it doing so.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from synckit import client_data, control, groups_of

from crmtui.emulator import Emulator
from crmtui.emulator.state import authorized_user
from crmtui.model import Account, Contact, SyncKind, SyncSettings, Tag, TagKind, User
from crmtui.store import ContactQuery, open_store
from crmtui.sync import engine
from crmtui.sync.contacts import contact_fields
from crmtui.sync.contacts.mapping import same_field
from crmtui.sync.google import auth
from crmtui.sync.google.people import GooglePeople, to_fields
from crmtui.sync.remote import (
    CRM_ID_KEY,
    ContactsRemote,
    ContactUpdate,
    NewContact,
    RemoteError,
    WriteResult,
)
from crmtui.sync.service import SyncOutcome, SyncService

EMAIL = "ann@example.com"
MAX_ATTEMPTS = 4  # the adapter's retry bound in these runs
FIELDS = ("job_title", "company", "notes")  # the fields rules write unique values into
TOKEN = re.compile(r"(?:crm|gm)\[\d+\]")
DAY = 86_400
RETRY_AFTER = 7.0  # seconds, asked by the 429 fault


class Interrupting:
    """A :class:`ContactsRemote` that raises :class:`RemoteError` on write call number
    ``after + 1``: a run that dies after ``after`` write batches (the connection lost for
    good)."""

    def __init__(self, remote: ContactsRemote, after: int) -> None:
        self.remote = remote
        self.after = after
        self.writes = 0

    def _write(self) -> None:
        self.writes += 1
        if self.writes > self.after:
            raise RemoteError("the connection to Google was lost")

    def ensure_group(self, resource_name: str, name: str, *, create: bool = True) -> Any:
        return self.remote.ensure_group(resource_name, name, create=create)

    def list_changes(self, sync_token: str, group: str) -> Any:
        return self.remote.list_changes(sync_token, group)

    def get(self, remote_ids: Sequence[str], group: str) -> Any:
        return self.remote.get(remote_ids, group)

    def create(self, contacts: Sequence[NewContact], group: str) -> list[WriteResult]:
        self._write()
        return self.remote.create(contacts, group)

    def update(self, updates: Sequence[ContactUpdate], group: str) -> list[WriteResult]:
        self._write()
        return self.remote.update(updates, group)

    def remove_from_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        self._write()
        return self.remote.remove_from_group(remote_ids, group)

    def add_to_group(self, remote_ids: Sequence[str], group: str) -> list[str]:
        self._write()
        return self.remote.add_to_group(remote_ids, group)


class SyncWorld:
    """A fresh emulator account and CRM store, the sync service wired to the real adapter,
    and the model of every value written."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="crmtui-sm-"))
        self.emu = Emulator()
        self.emu.start()
        info = self.emu.create_account(EMAIL)
        creds = auth.credentials_from_record(authorized_user(info))
        self.people = auth.build_people_service(creds, self.emu.base_url)
        self.repo = open_store(self.tmp / "data")
        self.user = self.repo.add_user(User(name="Ann Lee", email=EMAIL),
                                       Contact(given_name="Ann", family_name="Lee"))
        self.tag = self.repo.add_tag(Tag(name="Google", kind=TagKind.PRIVATE,
                                         owner_id=self.user.id))
        self.repo.save_sync_settings(SyncSettings(user_id=self.user.id,
                                                  contacts_tag_id=self.tag.id))
        self.repo.add_account(Account(user_id=self.user.id, email=EMAIL,
                                      endpoint=self.emu.base_url))
        self.sleeps: list[float] = []
        self.interrupt: int | None = None  # the next run dies after this many write calls
        self.service = SyncService(self.repo, self.tmp, self._remote)
        self.counter = 0
        self.written: dict[str, str] = {}  # token -> where it was written
        self.excused: set[str] = set()  # tokens a user overwrote or deleted where they were

    def _remote(self, account: Account) -> ContactsRemote:
        remote: ContactsRemote = GooglePeople(
            self.people, batch_uri=auth.batch_uri(self.emu.base_url, "people"),
            sleep=self.sleeps.append, max_attempts=MAX_ATTEMPTS)
        return remote if self.interrupt is None else Interrupting(remote, self.interrupt)

    def close(self) -> None:
        self.repo.close()
        self.emu.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def token(self, side: str) -> str:
        self.counter += 1
        value = f"{side}[{self.counter}]"
        self.written[value] = side
        return value

    def excuse(self, *values: Any) -> None:
        """The values a user is about to overwrite or delete."""
        self.excused.update(TOKEN.findall(json.dumps(values)))

    # -- the CRM side ----------------------------------------------------------------------------

    def crm_contacts(self) -> list[Contact]:
        return [c for c in self.repo.find_contacts(ContactQuery(sort="created"), None)
                if c.id != self.user.contact_id]

    def tagged_ids(self) -> set[str]:
        return set(self.repo.contact_ids(ContactQuery(tag_ids=(self.tag.id,)), self.user.id))

    # -- the Gmail side (the control API: changes made in Gmail) ---------------------------------

    def gmail(self, method: str, path: str, body: Any = None) -> Any:
        return control(self.emu, method, f"/accounts/{EMAIL}/{path}", body)

    def gmail_people(self) -> list[dict[str, Any]]:
        people: list[dict[str, Any]] = self.gmail("GET", "contacts")["contacts"]
        return people

    def group(self) -> str:
        """The sync group's resource name: the one the sync remembers, else one named crmtui
        (made now, as a Gmail user would before the first sync)."""
        remembered = self.repo.get_sync_state(self.user.id, SyncKind.CONTACTS).get("group")
        if remembered:
            return str(remembered)
        for group in self.gmail("GET", "groups")["contactGroups"]:
            if group.get("name") == "crmtui":
                return str(group["resourceName"])
        return str(self.gmail("POST", "groups", {"name": "crmtui"})["resourceName"])

    def sync(self, *, confirmed: bool) -> SyncOutcome:
        waits = len(self.sleeps)
        control(self.emu, "DELETE", "/requests")
        outcome = self.service.run(self.user.id, SyncKind.CONTACTS, confirmed=confirmed)
        self.interrupt = None
        assert outcome.status in ("ok", "failed", "stopped")
        answered = [r["status"] for r in control(self.emu, "GET", "/requests")["requests"]]
        # The 429 reached the adapter (not eaten by a 401 first) and was retried, not the last
        # straw of a storm (the run would have failed).
        if 429 in answered and outcome.ok:
            assert RETRY_AFTER in self.sleeps[waits:], "Retry-After was not honoured"
        return outcome

    # -- the checks after a clean sync -----------------------------------------------------------

    def check_agreement(self) -> None:
        group = self.group()
        people = {p["resourceName"]: p for p in self.gmail_people()}
        links = self.repo.list_links(self.user.id, SyncKind.CONTACTS)
        by_local = {link.local_id: link for link in links}
        remote_ids = [link.remote_id for link in links]
        assert len(remote_ids) == len(set(remote_ids)), "two CRM contacts share a Gmail contact"
        tagged = self.tagged_ids()
        contacts = {c.id: c for c in self.crm_contacts()}
        for cid in tagged:
            link = by_local.get(cid)
            assert link is not None, f"tagged CRM contact {cid} is not linked"
            person = people.get(link.remote_id)
            assert person is not None, f"{cid} is linked to {link.remote_id}, gone from Gmail"
            assert group in groups_of(person), f"{link.remote_id} is not in the group"
            carried = client_data(person).get(CRM_ID_KEY, cid)
            assert carried == cid, f"{link.remote_id} is linked to {cid} but carries {carried}"
            theirs, ours = to_fields(person), contact_fields(contacts[cid])
            assert all(same_field(name, theirs[name], ours[name]) for name in ours), (
                cid, theirs, ours)  # emails match ignoring case: each side keeps its spelling
        for cid in by_local:
            assert cid in tagged, f"{cid} is linked but not tagged"
        members = {rn for rn, p in people.items() if group in groups_of(p)}
        assert members == {by_local[cid].remote_id for cid in tagged}
        crm_ids = [client_data(p)[CRM_ID_KEY] for p in people.values()
                   if CRM_ID_KEY in client_data(p)]
        assert len(crm_ids) == len(set(crm_ids)), f"duplicate crmtui ids in Gmail: {crm_ids}"

    def crm_dump(self) -> dict[str, Any]:
        """The store but the sync state and the journal (a run always writes those)."""
        return {name: records for name, records in self.repo.dump().items()
                if name not in ("sync_state", "journal", "exported")}

    def check_converged(self) -> None:
        """A second sync in a row, nothing changed in between, writes nothing on either side."""
        before = self.crm_dump()
        outcome = self.sync(confirmed=True)
        assert outcome.ok, outcome.message
        writes = [f"{r['method']} {r['path']}" for r in
                  control(self.emu, "GET", "/requests")["requests"]
                  if r["method"] != "GET" and r["batch"] != "outer"]
        assert writes == [], f"an idle sync wrote to Google: {writes}"
        assert self.crm_dump() == before, "an idle sync changed the CRM"
        assert outcome.report.counts() == dict.fromkeys(outcome.report.counts(), 0), (
            outcome.report.summary())

    def check_no_value_vanished(self) -> None:
        present = set(TOKEN.findall(json.dumps(
            [c.to_dict() for c in self.crm_contacts()] + self.gmail_people(), default=str)))
        journaled = set(TOKEN.findall(json.dumps(
            [c.lost for run in self.repo.list_runs(self.user.id) for c in run.conflicts],
            default=str)))
        vanished = set(self.written) - present - self.excused - journaled
        assert not vanished, f"values gone from both sides with no journal entry: {vanished}"


PERSON_FIELD = {"job_title": "organizations", "company": "organizations", "notes": "biographies"}


class ContactSyncMachine(RuleBasedStateMachine):
    """Rules on both sides, faults and syncs; the checks run after each clean sync."""

    def __init__(self) -> None:
        super().__init__()
        self.world = SyncWorld()

    def teardown(self) -> None:
        self.world.close()

    # -- the CRM side ----------------------------------------------------------------------------

    @rule(tagged=st.booleans(), share_email=st.booleans())
    def crm_create(self, tagged: bool, share_email: bool) -> None:
        w = self.world
        n = w.counter + 1
        email = f"c{n}@example.com"
        people = w.gmail_people()
        if share_email and people and people[-1].get("emailAddresses"):
            email = people[-1]["emailAddresses"][0]["value"]  # the same person, known in Gmail
        w.repo.add_contact(Contact(given_name=f"Crm{n}", emails=[email], owner_id=w.user.id,
                                   job_title=w.token("crm"),
                                   tags=[w.tag.id] if tagged else []))

    @precondition(lambda self: self.world.crm_contacts())
    @rule(pick=st.integers(min_value=0), field=st.sampled_from(FIELDS))
    def crm_edit(self, pick: int, field: str) -> None:
        w = self.world
        contacts = w.crm_contacts()
        contact = contacts[pick % len(contacts)]
        w.excuse(getattr(contact, field))
        w.repo.update_contact(contact.evolve(**{field: w.token("crm")}), w.user.id)

    @precondition(lambda self: self.world.crm_contacts())
    @rule(pick=st.integers(min_value=0), tag=st.booleans())
    def crm_tag(self, pick: int, tag: bool) -> None:
        w = self.world
        contacts = w.crm_contacts()
        w.repo.tag_contacts([contacts[pick % len(contacts)].id], w.tag.id, w.user.id,
                            remove=not tag)

    @precondition(lambda self: self.world.crm_contacts())
    @rule(pick=st.integers(min_value=0))
    def crm_delete(self, pick: int) -> None:
        w = self.world
        contacts = w.crm_contacts()
        contact = contacts[pick % len(contacts)]
        w.excuse(contact.to_dict())
        w.repo.delete_contact(contact.id)

    # -- the Gmail side --------------------------------------------------------------------------

    @rule(in_group=st.booleans(), share_email=st.booleans(), shout=st.booleans())
    def gmail_create(self, in_group: bool, share_email: bool, shout: bool = False) -> None:
        w = self.world
        n = w.counter + 1
        email = f"g{n}@example.com"
        contacts = w.crm_contacts()
        if share_email and contacts and contacts[-1].emails:
            email = contacts[-1].emails[0].value
            if shout:  # the same address, spelled otherwise in Gmail
                email = email.swapcase()
        person: dict[str, Any] = {
            "names": [{"givenName": f"Gmail{n}"}],
            "emailAddresses": [{"value": email, "type": "work"}],
            "organizations": [{"title": w.token("gm")}]}
        if in_group:
            person["memberships"] = [w.group()]
        w.gmail("POST", "contacts", person)

    @precondition(lambda self: self.world.gmail_people())
    @rule(pick=st.integers(min_value=0), field=st.sampled_from(FIELDS))
    def gmail_edit(self, pick: int, field: str) -> None:
        w = self.world
        people = w.gmail_people()
        person = people[pick % len(people)]
        current = to_fields(person)
        w.excuse(current[field])
        value = w.token("gm")
        if field == "notes":
            body: dict[str, Any] = {"biographies": [{"value": value,
                                                     "contentType": "TEXT_PLAIN"}]}
        else:
            org = {"company": current["company"], "job_title": current["job_title"],
                   field: value}
            body = {"organizations": [{theirs: org[ours] for ours, theirs in (
                ("company", "name"), ("job_title", "title")) if org[ours]}]}
        w.gmail("PATCH", "contacts/" + person["resourceName"].split("/")[1], body)

    @precondition(lambda self: self.world.gmail_people())
    @rule(pick=st.integers(min_value=0), add=st.booleans())
    def gmail_move(self, pick: int, add: bool) -> None:
        w = self.world
        people = w.gmail_people()
        rn = people[pick % len(people)]["resourceName"]
        gid = w.group().split("/")[1]
        w.gmail("POST", f"groups/{gid}/members", {"add" if add else "remove": [rn]})

    @precondition(lambda self: self.world.gmail_people())
    @rule(pick=st.integers(min_value=0))
    def gmail_delete(self, pick: int) -> None:
        w = self.world
        people = w.gmail_people()
        person = people[pick % len(people)]
        w.excuse(to_fields(person))
        w.gmail("DELETE", "contacts/" + person["resourceName"].split("/")[1])

    @rule()
    def rename_group(self) -> None:
        w = self.world
        w.counter += 1
        w.gmail("PATCH", "groups/" + w.group().split("/")[1], {"name": f"CRM {w.counter}"})

    # -- faults, tokens, interruptions -----------------------------------------------------------

    @rule(kind=st.sampled_from(["storm", "retry-after", "beyond", "beyond-writes",
                                "beyond-members", "drop"]))
    def fault(self, kind: str) -> None:
        w = self.world
        fault: dict[str, Any] = {
            "storm": {"status": 503, "count": MAX_ATTEMPTS - 1, "path": "^/v1/"},
            "retry-after": {"status": 429, "count": 1, "path": "^/v1/",
                            "headers": {"Retry-After": str(int(RETRY_AFTER))}},
            "beyond": {"status": 503, "count": MAX_ATTEMPTS, "path": "^/v1/"},
            "beyond-writes": {"status": 503, "count": MAX_ATTEMPTS,
                              "path": "batch(Create|Update)Contacts|members:modify"},
            "beyond-members": {"status": 503, "count": MAX_ATTEMPTS, "path": "members:modify"},
            "drop": {"drop": True, "count": MAX_ATTEMPTS,
                     "path": "batch(Create|Update)Contacts|members:modify"},
        }[kind]
        control(w.emu, "POST", "/faults", {"method": "*", **fault})

    @rule(how=st.sampled_from(["clock", "invalidate"]))
    def expire_sync_tokens(self, how: str) -> None:
        if how == "clock":
            control(self.world.emu, "POST", "/clock", {"advance": 8 * DAY})
        else:
            control(self.world.emu, "POST", "/sync-tokens/invalidate")

    @rule(after=st.integers(min_value=0, max_value=2))
    def interrupt_next_run(self, after: int) -> None:
        self.world.interrupt = after

    @rule(confirmed=st.booleans())
    def sync(self, confirmed: bool) -> None:
        self.world.sync(confirmed=confirmed)

    @rule()
    def clean_sync_and_check(self) -> None:
        w = self.world
        control(w.emu, "DELETE", "/faults")
        w.interrupt = None
        outcome = w.sync(confirmed=True)
        assert outcome.ok, outcome.message
        w.check_agreement()
        w.check_no_value_vanished()
        w.check_converged()


ContactSyncMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=25, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_contact_sync_state_machine = ContactSyncMachine.TestCase


def test_the_value_check_catches_a_silent_overwrite(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an engine that forgets its conflicts, a CRM value overwritten by a newer Gmail edit
    vanishes without a journal entry, and the check says so."""
    real = engine.merge_fields

    def forgetful(*args: Any, **kwargs: Any) -> engine.Merge:
        merge = real(*args, **kwargs)
        merge.conflicts.clear()
        return merge

    monkeypatch.setattr("crmtui.sync.contacts.actions.merge_fields", forgetful)
    machine = ContactSyncMachine()
    try:
        machine.crm_create(tagged=True, share_email=False)
        machine.clean_sync_and_check()
        machine.crm_edit(pick=0, field="job_title")
        machine.gmail_edit(pick=0, field="job_title")  # newer: Gmail wins the conflict
        with pytest.raises(AssertionError, match="no journal entry"):
            machine.clean_sync_and_check()
    finally:
        machine.teardown()


def test_a_run_that_fails_after_applying_a_conflict_journals_it() -> None:
    """A conflict Gmail wins is applied in the CRM, then the run loses Google for good before
    its last write: the CRM value it overwrote must still be in the journal."""
    machine = ContactSyncMachine()
    try:
        machine.crm_create(tagged=True, share_email=False)
        machine.crm_create(tagged=True, share_email=False)
        machine.clean_sync_and_check()
        machine.crm_edit(pick=0, field="job_title")
        control(machine.world.emu, "POST", "/clock", {"advance": 60})
        machine.gmail_edit(pick=0, field="job_title")  # newer: Gmail wins
        machine.crm_tag(pick=1, tag=False)  # a removal from the group: the run's last write
        machine.crm_create(tagged=True, share_email=False)  # a create: its first write
        machine.interrupt_next_run(after=1)
        assert machine.world.sync(confirmed=True).status == "failed"
        machine.clean_sync_and_check()
    finally:
        machine.teardown()


@pytest.mark.parametrize("walk", ["case", "tagged-again", "brought-back"])
def test_walks_that_did_not_converge(walk: str) -> None:
    """Walks the machine may not find, each of which once left work for the next idle sync (or
    a wrong crmtui id in Gmail): an email spelled otherwise in Gmail, a contact tagged again
    after its Gmail copy was deleted, a Gmail contact brought back in after its CRM contact was
    deleted."""
    machine = ContactSyncMachine()
    try:
        if walk == "case":
            machine.crm_create(tagged=False, share_email=False)
            machine.clean_sync_and_check()
            machine.gmail_create(in_group=True, share_email=True, shout=True)
        elif walk == "tagged-again":
            machine.crm_create(tagged=True, share_email=False)
            machine.clean_sync_and_check()
            machine.crm_tag(pick=0, tag=False)
            machine.clean_sync_and_check()
            machine.gmail_delete(pick=0)
            machine.crm_tag(pick=0, tag=True)
        else:
            machine.crm_create(tagged=True, share_email=False)
            machine.clean_sync_and_check()
            machine.crm_delete(pick=0)
            machine.clean_sync_and_check()
            machine.gmail_move(pick=0, add=True)
        machine.clean_sync_and_check()
    finally:
        machine.teardown()
