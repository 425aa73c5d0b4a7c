"""The contact index kept current commit by commit (a changed contact moves in the built sort
orders instead of the whole table being sorted again), in this process and from another
process's journal records."""

from __future__ import annotations

import random

from crmtui.model import Contact
from crmtui.store import ContactQuery, TinyDBRepository, open_store

COLUMNS = ["name", "company", "email", "modified", "created"]
QUERIES = [ContactQuery(sort=c, descending=d) for c in COLUMNS for d in (False, True)] + [
    ContactQuery(text="ann"), ContactQuery(text="acme", sort="company"),
    ContactQuery(text="a", sort="name", descending=True)]
NAMES = ["Ann", "Bob", "Zoë", "Émile", "", "ann", "Li"]
COMPANIES = ["ACME", "Globex", "", "acme", "Initech"]


def _contact(rng: random.Random, cid: str) -> Contact:
    return Contact(id=cid, given_name=rng.choice(NAMES), family_name=rng.choice(NAMES),
                   company=rng.choice(COMPANIES) or "Solo",
                   emails=[f"{rng.choice('abcxyz')}{cid}@example.com"] if rng.random() < 0.7
                   else [])


def _answers(repo: TinyDBRepository) -> list[list[str]]:
    return [repo.contact_ids(q, None) for q in QUERIES]


def test_orders_stay_right_through_adds_changes_and_deletes(repo: TinyDBRepository) -> None:
    rng = random.Random(7)
    repo.add_contacts([_contact(rng, f"c{i:03}") for i in range(120)])
    other = open_store(repo.data_dir)  # another process, with its own index
    try:
        _answers(repo), _answers(other)  # every order built
        for step in range(60):
            ids = [c.id for c in repo.iter_contacts()]
            action = rng.random()
            if action < 0.6:
                cid = rng.choice(ids)
                repo.update_contact(_contact(rng, cid))
            elif action < 0.8:
                repo.add_contact(_contact(rng, f"n{step:03}"))
            else:
                repo.delete_contact(rng.choice(ids))
            fresh = open_store(repo.data_dir)  # sorts everything from scratch
            try:
                expected = _answers(fresh)
            finally:
                fresh.close()
            assert _answers(repo) == expected, f"step {step}"
            assert other.refresh() is True
            assert _answers(other) == expected, f"step {step}, the other process"
    finally:
        other.close()
