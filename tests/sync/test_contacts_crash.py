"""A contact sync killed with SIGKILL at random moments, then run to completion, leaves no
duplicate on either side and loses nothing (DESIGN.md section 3, "Idempotent writes").

The sync runs in a subprocess (``crash_worker.py``) against the emulator in this process, with
300 new CRM contacts, 150 new Gmail contacts and edits on both sides between kills; a delay on
``batchCreateContacts`` keeps Google writes in flight when many of the kills land."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import crash_worker
from synckit import Gmail, client_data, control, fault, groups_of

from crmtui.emulator import Emulator
from crmtui.model import Account, Contact, SyncKind, Tag, User
from crmtui.store import ContactQuery, TinyDBRepository, open_store

CRM_NEW, GMAIL_NEW, KILLS = 300, 150, 12


def start_worker(data_dir: Path, user: User) -> subprocess.Popen[str]:
    return crash_worker.start_worker(data_dir, user.id)


def wait_for_create(emu: Emulator, proc: subprocess.Popen[str]) -> bool:
    """Wait until the worker has sent a ``batchCreateContacts`` (False if it ended first)."""
    return crash_worker.wait_for_request(emu, proc, ":batchCreateContacts")


def test_sigkilled_syncs_then_a_full_run_leave_no_duplicates_and_lose_nothing(
        repo: TinyDBRepository, data_dir: Path, user: User, sync_tag: Tag, account: Account,
        emulator: Emulator, gmail: Gmail) -> None:
    rnd = random.Random(4)
    repo.add_contacts([Contact(given_name=f"Crm{i:03d}", emails=[f"crm{i}@example.com"],
                               owner_id=user.id, tags=[sync_tag.id]) for i in range(CRM_NEW)])
    gmail.create_group("crmtui")
    for i in range(GMAIL_NEW):
        gmail.create({"names": [{"givenName": f"Gmail{i:03d}"}],
                      "emailAddresses": [{"value": f"gmail{i}@example.com"}]})
    repo.close()
    crm_titles: dict[str, str] = {}  # CRM contact id -> the job title last written in the CRM
    gmail_titles: dict[str, str] = {}  # resource name -> the title last written in Gmail
    for kill in range(KILLS):
        fault(emulator, "batchCreateContacts", count=2, delay=0.2)
        emulator.state.requests.clear()
        proc = start_worker(data_dir, user)
        if kill % 2 and wait_for_create(emulator, proc):  # half the kills: a create in flight
            time.sleep(rnd.uniform(0.0, 0.25))
        else:
            time.sleep(rnd.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        store = open_store(data_dir)  # opens cleanly after every kill
        try:
            for contact in store.find_contacts(ContactQuery(tag_ids=(sync_tag.id,)),
                                               user.id)[:5]:
                title = f"crm edit {kill}"
                store.update_contact(contact.evolve(job_title=title), user.id)
                crm_titles[contact.id] = title
        finally:
            store.close()
        for found in [c for c in gmail.contacts()
                      if c["names"][0]["givenName"].startswith("Gmail")][kill * 3:kill * 3 + 3]:
            gmail_titles[found["resourceName"]] = f"gmail edit {kill}"
            gmail.edit(found["resourceName"],
                       organizations=[{"title": gmail_titles[found["resourceName"]]}])
    control(emulator, "DELETE", "/faults")  # delays the killed runs never reached
    for _ in range(2):  # the second run finds nothing left to repair
        proc = start_worker(data_dir, user)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (out, err)

    store = open_store(data_dir)
    try:
        people = gmail.contacts()
        crm_ids = [client_data(p).get("crmtui-id") for p in people]
        crm_ids = [c for c in crm_ids if c]
        assert len(crm_ids) == len(set(crm_ids)), "a CRM contact was created twice in Gmail"
        assert len(people) == CRM_NEW + GMAIL_NEW, "a duplicate or a missing Gmail contact"
        links = store.list_links(user.id, SyncKind.CONTACTS)
        remote_ids = {link.remote_id for link in links}
        assert len(remote_ids) == len(links) == CRM_NEW + GMAIL_NEW
        tagged = set(store.contact_ids(ContactQuery(tag_ids=(sync_tag.id,)), user.id))
        assert tagged == {link.local_id for link in links}
        assert store.count_contacts() == 1 + CRM_NEW + GMAIL_NEW  # Ann and no duplicate
        assert {p["resourceName"] for p in people if gmail.group in groups_of(p)} == remote_ids
        by_remote = {link.remote_id: link.local_id for link in links}
        titles = {p["resourceName"]: ((p.get("organizations") or [{}])[0]).get("title", "")
                  for p in people}
        for cid, title in crm_titles.items():
            assert store.get_contact(cid).job_title == title
        for rn, title in gmail_titles.items():
            assert titles[rn] == title
            assert store.get_contact(by_remote[rn]).job_title == title
        linked_titles = {by_remote[rn]: t for rn, t in titles.items()}
        for cid, title in crm_titles.items():
            assert linked_titles[cid] == title
    finally:
        store.close()
