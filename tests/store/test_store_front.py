"""The front page: the first contacts by name and the small tables, kept beside the database at
every commit, from which a store opened ``deferred`` serves the first screenful before it has
read the whole database."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from crmtui.model import Contact, Email, SyncKind, SyncRun, Tag, User
from crmtui.store import ContactQuery, TinyDBRepository, open_store
from crmtui.store import tinydb_front as front
from crmtui.store.tinydb_front import FRONT_FILE

NAMES = ["Ann", "Zoë", "Émile", "Bob", "Ångström", "Chloé", "li", "Ødegaard", "Dan", "Eve",
         "Mateo", "Ñúñez", "Yuki", "Omar", "Priya", "Kowalski"]


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 8 contacts, rebuilt below 4: a handful of contacts exercises every path."""
    monkeypatch.setattr(front, "KEEP", 8)
    monkeypatch.setattr(front, "LOW", 4)


def _person(rng: random.Random, owner: str) -> Contact:
    return Contact(given_name=rng.choice(NAMES), family_name=rng.choice(NAMES + [""]),
                   company=rng.choice(["", "ACME"]), owner_id=owner,
                   emails=[Email(f"p{rng.randrange(10**9)}@example.com", "work", True)])


def _check_front(data_dir: Path, viewer: str) -> None:
    """A deferred open serves, from the front page alone, what a full read answers."""
    full = open_store(data_dir)
    deferred = open_store(data_dir, deferred=True)
    try:
        assert deferred.loading
        first = deferred.first_page(ContactQuery(), viewer)
        assert first is not None
        ids, total = first
        expected = full.contact_ids(ContactQuery(), viewer)
        assert total == len(expected) == deferred.count_contacts()
        assert ids == expected[:len(ids)]
        assert len(ids) == min(len(expected), front.KEEP) or len(ids) >= front.LOW
        assert deferred.get_contacts(ids, viewer) == full.get_contacts(ids, viewer)
        assert deferred.list_tags(viewer) == full.list_tags(viewer)
        assert deferred.list_users() == full.list_users()
        for text in ("an", "acme", "zoe", "ñúñez kowalski"):
            # Matches among the page's contacts are the first matches of all.
            got = deferred.first_page(ContactQuery(text=text), viewer)
            want = full.contact_ids(ContactQuery(text=text), viewer)
            if got is None:
                assert not set(want) & set(ids)
            else:
                assert got[0] == want[:len(got[0])] and set(got[0]) <= set(ids)
        assert deferred.loading  # none of that needed the whole database
        assert deferred.contact_ids(ContactQuery(), viewer) == expected
        assert not deferred.loading
    finally:
        full.close()
        deferred.close()


def test_the_front_page_follows_every_kind_of_commit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    repo = open_store(data_dir)
    rng = random.Random(7)
    ann = repo.add_user(User(name="Ann Lee", email="ann@example.com"),
                        Contact(given_name="Ann", family_name="Lee", emails=["ann@example.com"]))
    tag = repo.add_tag(Tag(name="Customer"))
    repo.add_contacts([_person(rng, ann.id) for _ in range(12)])
    _check_front(data_dir, ann.id)
    for step in range(40):
        ids = [cid for cid in repo.contact_ids(ContactQuery(), ann.id)
               if cid != ann.contact_id]
        op = step % 5
        if op == 0:
            repo.add_contact(_person(rng, ann.id))
        elif op == 1 and ids:  # the first ones by name: the page shrinks (and is rebuilt)
            repo.delete_contact(ids[rng.randrange(min(3, len(ids)))])
        elif op == 2 and ids:
            contact = repo.get_contact(rng.choice(ids))
            repo.update_contact(contact.evolve(family_name=rng.choice(NAMES),
                                               given_name=rng.choice(NAMES)))
        elif op == 3 and ids:
            repo.tag_contacts(rng.sample(ids, min(3, len(ids))), tag.id, ann.id)
        else:
            with repo.transaction():
                repo.add_contacts([_person(rng, ann.id) for _ in range(3)])
                if ids:
                    repo.delete_contact(ids[0])
        _check_front(data_dir, ann.id)
    repo.close()


def test_another_process_sees_the_front_page_of_a_commit_it_did_not_read(tmp_path: Path
                                                                       ) -> None:
    data_dir = tmp_path / "data"
    one = open_store(data_dir)
    ann = one.add_user(User(name="Ann Lee", email="ann@example.com"))
    two = open_store(data_dir)
    rng = random.Random(3)
    one.add_contacts([_person(rng, ann.id) for _ in range(10)])
    # ``two`` read the database before that commit: its own commit reloads first, and the
    # page it writes holds both.
    two.add_contact(Contact(given_name="Aaron", family_name="Aardvark", owner_id=ann.id))
    _check_front(data_dir, ann.id)
    one.close()
    two.close()


def test_a_front_page_that_does_not_show_the_files_is_ignored(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    repo = open_store(data_dir)
    ann = repo.add_user(User(name="Ann Lee", email="ann@example.com"))
    repo.add_contact(Contact(given_name="Bob", family_name="Stone", owner_id=ann.id))
    stale = tmp_path / "stale.json"
    shutil.copy(data_dir / FRONT_FILE, stale)
    repo.add_contact(Contact(given_name="Abe", family_name="Abbot", owner_id=ann.id))
    repo.close()
    shutil.copy(stale, data_dir / FRONT_FILE)  # a page of the commit before
    deferred = open_store(data_dir, deferred=True)
    assert not deferred.loading  # read whole, as without a front page
    assert deferred.first_page(ContactQuery(), ann.id) is None
    assert [c.family_name for c in deferred.find_contacts(ContactQuery(), ann.id)] == \
        ["Abbot", "Stone"]
    deferred.close()
    (data_dir / FRONT_FILE).write_text("{not json")
    damaged = open_store(data_dir, deferred=True)
    assert not damaged.loading and damaged.count_contacts() == 2
    # The next commit writes a good page again.
    damaged.add_contact(Contact(given_name="Cy", family_name="Cole", owner_id=ann.id))
    damaged.close()
    _check_front(data_dir, ann.id)


def test_a_database_without_a_front_page_opens_and_gets_one(tmp_path: Path) -> None:
    """A database written by a crmtui without front pages."""
    data_dir = tmp_path / "data"
    repo = open_store(data_dir)
    ann = repo.add_user(User(name="Ann Lee", email="ann@example.com"))
    repo.add_contact(Contact(given_name="Bob", family_name="Stone", owner_id=ann.id))
    repo.close()
    (data_dir / FRONT_FILE).unlink()
    deferred = open_store(data_dir, deferred=True)
    assert not deferred.loading and deferred.count_contacts() == 1
    deferred.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, status="ok"))
    deferred.close()
    assert (data_dir / FRONT_FILE).exists()
    _check_front(data_dir, ann.id)


def test_a_deferred_store_reads_the_rest_for_a_write(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    repo = open_store(data_dir)
    ann = repo.add_user(User(name="Ann Lee", email="ann@example.com"),
                        Contact(given_name="Ann", family_name="Lee", emails=["ann@example.com",
                                                                             "ann@home.example"]))
    rng = random.Random(5)
    repo.add_contacts([_person(rng, ann.id) for _ in range(20)])
    repo.close()
    deferred = open_store(data_dir, deferred=True)
    # The current user by the email of her own contact, from the front page alone.
    found = deferred.find_user("ann@home.example")
    assert found is not None and found.id == ann.id
    assert deferred.user_emails(ann.id) == ["ann@example.com", "ann@home.example"]
    assert deferred.loading
    generation = deferred.generation
    last = deferred.contact_ids(ContactQuery(), ann.id)[-1]  # beyond the front page
    assert not deferred.loading and deferred.generation != generation
    contact = deferred.get_contact(last)
    deferred.update_contact(contact.evolve(job_title="Buyer"))
    deferred.close()
    again = open_store(data_dir, deferred=True)
    assert again.loading
    again.wait_until_loaded()
    assert not again.loading and again.get_contact(last).job_title == "Buyer"
    again.close()


def test_resolving_one_contact_and_editing_it_never_sorts(repo: TinyDBRepository,
                                                          ann: User, tmp_path: Path) -> None:
    rng = random.Random(9)
    repo.add_contacts([_person(rng, ann.id) for _ in range(30)])
    data_dir = repo.data_dir
    repo.close()
    fresh = open_store(data_dir)
    some = sorted(fresh.all_contact_ids())[5]
    contact = fresh.get_contact(some, ann.id)
    fresh.update_contact(contact.evolve(family_name="Aardvark"), ann.id)
    index = fresh._index
    assert index is None or (not index.orders and not index.sort_keys.get("name"))
    fresh.close()
    _check_front(data_dir, ann.id)


def test_before_the_search_index_is_built_a_scan_answers_the_first_matches(
        repo: TinyDBRepository, ann: User) -> None:
    rng = random.Random(11)
    repo.add_contacts([_person(rng, ann.id) for _ in range(400)])
    data_dir = repo.data_dir
    repo.close()
    fresh = open_store(data_dir)
    for text in ("angstrom", "chloe", "an", "nunez acme", "zzz-nobody"):
        query = ContactQuery(text=text)
        first = fresh.first_page(query, ann.id)
        if first is None:  # only when nothing matches
            assert text == "zzz-nobody"
            continue
        ids, total = first
        assert total == fresh.count_contacts()
        assert fresh._index is not None and fresh._index.hay is None  # the index is not built
        full = open_store(data_dir)
        full.prepare_search()
        everything = full.contact_ids(query, ann.id)
        full.close()
        assert ids == everything[:len(ids)]
        assert len(ids) == min(len(everything), 200)
    fresh.prepare_search()
    assert fresh.first_page(ContactQuery(text="chloe"), ann.id) is None  # the index answers
    fresh.close()
