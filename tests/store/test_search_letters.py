"""The TinyDB store's search through its characters' bitmaps (built by ``prepare_search``)
answers exactly what a test of every contact's text answers, before and after writes."""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path

import pytest

from crmtui.model import Contact, Email, Phone, fold
from crmtui.store import ContactQuery, TinyDBRepository, open_store, tinydb_search
from crmtui.store.tinydb_index import _phone_digits, _pick, _Picked

NAMES = ["Ann", "Zoë", "Émile", "Bob", "Ångström", "Chloé", "Li", "Ødegaard", "José", "García",
         "Müller", "Lefèvre", "Straße", "Anna-Lena", "O'Brien", "Jo"]
COMPANIES = ["", "ACME", "Garcia & Sons", "Zoetis", "Angstrom Labs"]
QUERIES = ["a", "an", "ang", "angstrom", "garcia", "garc", "g", "mu", "muller", "jose", "jo",
           "zoe", "zoe lef", "zoe  lef", "e", "lena", "anna-lena", "o'b", "ss", "strasse", "ß",
           "555", "555-12", "(555) 12", "+1 555", "55512", "acme ann", "ann acme", "a a",
           "example", "@example.com", "zz", "q", "é", "ÉMILE", "x y z", "li", "il", "1", "12",
           "jo li", "le zoe", "an an", "zoe le", "ga 55"]


def _person(rng: random.Random, owner: str) -> Contact:
    phones = [Phone(f"+1 (555) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}")
              for _ in range(rng.randrange(0, 2))]
    return Contact(given_name=rng.choice(NAMES), family_name=rng.choice(NAMES + [""]),
                   company=rng.choice(COMPANIES), owner_id=owner, phones=phones,
                   emails=[Email(f"p{rng.randrange(10**6)}@example.com", "work", True)])


def _expected(repo: TinyDBRepository, text: str, viewer: str | None) -> list[str]:
    """Every contact (in name order) whose fields hold every word, accents ignored."""
    words = fold(text).split()
    found = []
    for contact in repo.get_contacts(repo.contact_ids(ContactQuery(), viewer), viewer):
        parts = [contact.given_name, contact.middle_name, contact.family_name, contact.company]
        parts += [e.value for e in contact.emails]
        for p in contact.phones:
            parts += [p.value, "".join(ch for ch in p.value if ch.isdigit())]
        hay = "\x1f".join(fold(p) for p in parts)
        if all(w in hay or ((d := _phone_digits(w)) is not None and d in hay) for w in words):
            found.append(contact.id)
    return found


def _check(repo: TinyDBRepository, viewer: str | None) -> None:
    assert repo._index is not None and repo._index.letters is not None
    previous: list[str] = []
    for text in QUERIES:
        want = _expected(repo, text, viewer)
        assert repo.contact_ids(ContactQuery(text=text), viewer) == want, text
        for descending in (False, True):
            query = ContactQuery(text=text, descending=descending)
            quick = repo.quick_contact_ids(query, viewer)
            assert quick is not None and list(quick[0]) == repo.contact_ids(query, viewer)
            assert quick[1] == repo.count_contacts()
        assert repo.contact_ids(ContactQuery(text=text, sort="company"), viewer) == sorted(
            want, key=repo.contact_ids(ContactQuery(sort="company"), viewer).index), text
        # narrowing an earlier answer keeps its order
        assert repo.narrow_contact_ids(previous, text, viewer) == [
            cid for cid in previous if cid in set(want)], text
        previous = repo.contact_ids(ContactQuery(), viewer)[::-1]
    # typed letter by letter (each search starts from the one before)
    for word in ("angstrom labs", "garcia jose", "+1 555-1"):
        for i in range(1, len(word) + 1):
            want = _expected(repo, word[:i], viewer)
            assert repo.contact_ids(ContactQuery(text=word[:i]), viewer) == want, word[:i]


@pytest.mark.parametrize("pairs", [True, False], ids=["every pair", "pairs when needed"])
def test_the_bitmaps_answer_as_a_scan_does_and_follow_every_write(tmp_path: Path,
                                                                  pairs: bool,
                                                                  monkeypatch) -> None:
    rng = random.Random(12)
    repo = open_store(tmp_path)
    assert isinstance(repo, TinyDBRepository)
    try:
        owner = ""
        repo.add_contacts([_person(rng, owner) for _ in range(400)])
        if pairs:
            repo.prepare_search()
        else:
            monkeypatch.setattr(tinydb_search, "pair_bitmaps", lambda texts: {})
            repo.prepare_search()
            assert repo._index is not None and repo._index.letters is not None
            repo._index.letters.pairs.clear()  # each made when needed
        assert repo._index is not None and repo._index.letters is not None
        _check(repo, owner)
        ids = repo.contact_ids(ContactQuery(), owner)
        # edits (new characters too), deletions, new contacts, one by one and in a transaction
        for cid in ids[:30]:
            contact = repo.get_contact(cid, owner)
            contact.family_name = rng.choice(["Qvist", "Ÿves", "Anna", ""]) or "Xu"
            repo.update_contact(contact, owner)
        for cid in ids[30:50]:
            repo.delete_contact(cid)
        with repo.transaction():
            for contact in (_person(rng, owner) for _ in range(30)):
                repo.add_contacts([contact])
            repo.delete_contact(ids[60])
        _check(repo, owner)
        assert repo.contact_ids(ContactQuery(text="qvist"), owner)
        assert repo.contact_ids(ContactQuery(text="yves"), owner)
    finally:
        repo.close()


def test_contacts_written_while_the_bitmaps_are_built_are_found(tmp_path: Path,
                                                               monkeypatch) -> None:
    rng = random.Random(7)
    repo = open_store(tmp_path)
    assert isinstance(repo, TinyDBRepository)
    try:
        owner = ""
        repo.add_contacts([_person(rng, owner) for _ in range(200)])
        repo.contact_ids(ContactQuery(text="a"), owner)
        assert repo._index is not None
        repo._index.letters = None  # the texts, without the bitmaps
        built = tinydb_search._Letters
        real_pair_bitmaps = tinydb_search.pair_bitmaps

        def writing_meanwhile(texts):  # another thread writes while they are built
            letters = built(texts)
            contact = repo.get_contact(texts[0][0], owner)
            contact.given_name = "Quentin"
            repo.update_contact(contact, owner)
            repo.add_contacts([Contact(given_name="Quincy")])
            repo.delete_contact(texts[1][0])
            return letters

        monkeypatch.setattr(tinydb_search, "_Letters", writing_meanwhile)
        monkeypatch.setattr(tinydb_search, "pair_bitmaps", lambda texts: {})
        repo.prepare_search()
        assert repo._index.letters is not None
        repo._index.letters.all_pairs = False  # built below
        monkeypatch.setattr(tinydb_search, "_Letters", built)
        _check(repo, owner)
        assert len(repo.contact_ids(ContactQuery(text="qu"), owner)) == 2


        def pairs_meanwhile(texts):  # and while the pairs' bitmaps are built
            pairs = real_pair_bitmaps(texts)
            ids = repo.contact_ids(ContactQuery(), owner)
            contact = repo.get_contact(ids[5], owner)
            contact.given_name = "Quirin"
            repo.update_contact(contact, owner)
            repo.add_contacts([Contact(given_name="Quade")])
            repo.delete_contact(ids[6])
            repo.contact_ids(ContactQuery(text="zoe"), owner)  # catches up meanwhile
            contact = repo.get_contact(ids[7], owner)
            contact.family_name = "Quarles"
            repo.update_contact(contact, owner)
            return pairs

        monkeypatch.setattr(tinydb_search, "pair_bitmaps", pairs_meanwhile)
        repo._index.letters.pairs.clear()
        repo.prepare_search()
        assert repo._index.letters is not None and repo._index.letters.all_pairs
        _check(repo, owner)
        assert len(repo.contact_ids(ContactQuery(text="qu"), owner)) == 5
    finally:
        repo.close()


def test_picked_ids_are_those_of_a_full_pick_whatever_is_read_first() -> None:
    rng = random.Random(3)
    for n, density in ((1, 1.0), (2, 0.5), (5000, 0.9), (5000, 0.01), (9000, 0.0)):
        order = [f"c{i}" for i in range(n)]
        slots = list(range(n))
        rng.shuffle(slots)
        slot_of = dict(zip(order, slots, strict=True))
        mask = bytes(int(rng.random() < density) for _ in range(n))
        want = [cid for cid in order if mask[slot_of[cid]]]
        assert list(_pick(slots)(mask)) == [mask[s] for s in slots]

        picked = partial(_Picked, order, slots, mask, len(want), slot_of)
        assert len(picked()) == len(want)
        assert list(picked()) == want
        for i in (0, 1, len(want) // 2, len(want) - 1, -1, -len(want)):
            if -len(want) <= i < len(want):
                assert picked()[i] == want[i]
        for sl in (slice(0, 45), slice(10, 3000), slice(-5, None), slice(None, None, -1),
                   slice(4000, 9000, 7)):
            assert picked()[sl] == want[sl]
        first = picked()
        assert first[:3] == want[:3]
        for cid in order[::97]:
            assert (cid in first) == (cid in want)
            if cid in want:
                assert first.index(cid) == want.index(cid)
            else:
                with pytest.raises(ValueError):
                    first.index(cid)
        assert "nobody" not in first
        assert list(first) == want
