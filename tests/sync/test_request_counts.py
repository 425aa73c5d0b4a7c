"""Requests a contact sync makes (deterministic, so asserted exactly or as bounds): the number of
requests grows with the number of changes, not with the size of the address book (DESIGN.md
section 3, safety rules; issue "Request counts")."""

from __future__ import annotations

from math import ceil

from synckit import Gmail, Requests, Syncer, person

from crmtui.model import Contact, SyncKind, Tag, User
from crmtui.store import TinyDBRepository

GROUP_LIST = "GET /v1/contactGroups"
LIST = "GET /v1/people/me/connections"
CREATE = "POST /v1/people:batchCreateContacts"
UPDATE = "POST /v1/people:batchUpdateContacts"
MEMBERS = "/members:modify"


def add_tagged(repo: TinyDBRepository, user: User, tag: Tag, n: int, prefix: str = "Crm"
               ) -> list[Contact]:
    contacts = [Contact(given_name=f"{prefix}{i}", family_name="Test", owner_id=user.id,
                        tags=[tag.id], emails=[f"{prefix.lower()}{i}@example.com"])
                for i in range(n)]
    repo.add_contacts(contacts)
    return contacts


def count(requests: Requests, prefix: str) -> int:
    """Requests (batch parts included) whose "METHOD /path" starts with ``prefix`` or, for a
    prefix starting with "/", contains it."""
    return sum(n for key, n in requests()["by_path"].items()
               if (prefix in key if prefix.startswith("/") else key.startswith(prefix)))


def settled(repo: TinyDBRepository, user: User, tag: Tag, sync: Syncer, n: int) -> list[Contact]:
    """``n`` tagged contacts, synced twice (the second run reads back what the first created)."""
    contacts = add_tagged(repo, user, tag, n)
    assert sync().ok and sync().ok
    return contacts


def test_first_sync_of_n_crm_and_m_gmail_contacts(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer,
        requests: Requests) -> None:
    n, m = 450, 650
    add_tagged(repo, user, sync_tag, n)
    group = gmail.create_group("crmtui")
    for i in range(m):
        gmail.create(person(f"Gmail{i}", email=f"gmail{i}@example.com"), in_group=False,
                     groups=[group])
    outcome = sync()
    assert outcome.ok, outcome.message
    assert outcome.report.google.created == n and outcome.report.crm.created == m
    assert count(requests, CREATE) <= ceil(n / 200) == 3
    assert count(requests, LIST) <= ceil((n + m) / 1000) == 2
    assert count(requests, "POST /v1/contactGroups") == 0  # the group was there already
    assert count(requests, MEMBERS) <= ceil(n / 1000)  # membership rides in the create body
    constant = 1  # finding the group (contactGroups.list)
    assert count(requests, GROUP_LIST) == constant
    assert requests()["total"] == 3 + 1 + constant
    assert len(gmail.members()) == n + m


def test_first_sync_creates_the_group_with_one_request_more(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer,
        requests: Requests) -> None:
    add_tagged(repo, user, sync_tag, 201)
    assert sync().ok
    assert requests()["by_path"] == {GROUP_LIST: 1, "POST /v1/contactGroups": 1, LIST: 1,
                                     CREATE: 2}


def test_a_sync_with_nothing_to_do_makes_two_requests(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer, gmail: Gmail,
        requests: Requests) -> None:
    settled(repo, user, sync_tag, sync, 300)
    assert sync().ok
    assert requests()["by_path"] == {f"GET /v1/{gmail.group}": 1, LIST: 1}


def test_incremental_sync_of_one_local_edit(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer,
        requests: Requests) -> None:
    contacts = settled(repo, user, sync_tag, sync, 300)
    repo.update_contact(contacts[7].evolve(job_title="Founder"), user.id)
    outcome = sync()
    assert outcome.ok and outcome.report.google.updated == 1
    assert count(requests, UPDATE) == 1
    assert requests()["total"] <= ceil(1 / 200) + 2


def test_incremental_sync_of_250_local_edits(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer,
        requests: Requests) -> None:
    contacts = settled(repo, user, sync_tag, sync, 300)
    with repo.transaction():
        for contact in contacts[:250]:
            repo.update_contact(contact.evolve(job_title="Founder"), user.id)
    outcome = sync()
    assert outcome.ok and outcome.report.google.updated == 250
    assert count(requests, UPDATE) == ceil(250 / 200) == 2
    assert requests()["total"] <= ceil(250 / 200) + 2


def test_incremental_sync_of_250_gmail_edits_and_new_contacts(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer, gmail: Gmail,
        requests: Requests) -> None:
    contacts = settled(repo, user, sync_tag, sync, 300)
    for contact in contacts[:200]:
        link = repo.get_link(user.id, SyncKind.CONTACTS, contact.id)
        assert link is not None
        gmail.edit(link.remote_id, biographies=[{"value": "edited in Gmail"}])
    for i in range(50):
        gmail.create(person(f"New{i}"))
    outcome = sync()
    assert outcome.ok
    assert outcome.report.crm.updated == 200 and outcome.report.crm.created == 50
    assert requests()["total"] == 2  # the group and one page of changes; no write to Google


def test_incremental_sync_of_250_contacts_leaving_the_sync_in_the_crm(
        repo: TinyDBRepository, user: User, sync_tag: Tag, sync: Syncer, gmail: Gmail,
        requests: Requests) -> None:
    contacts = settled(repo, user, sync_tag, sync, 300)
    repo.tag_contacts([c.id for c in contacts[:250]], sync_tag.id, user.id, remove=True)
    outcome = sync()
    assert outcome.ok and outcome.report.google.removed == 250
    assert count(requests, MEMBERS) == ceil(250 / 1000)
    assert requests()["total"] <= ceil(250 / 1000) + 2
    assert len(gmail.members()) == 50 and len(gmail.contacts()) == 300
