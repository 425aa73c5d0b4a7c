"""The TinyDB store's search through its characters' bitmaps (built by ``prepare_search``)
answers exactly what a test of every contact's text answers, before and after writes."""

from __future__ import annotations

import random
from pathlib import Path

from crmtui.model import Contact, Email, Phone, fold
from crmtui.store import ContactQuery, TinyDBRepository, open_store
from crmtui.store.tinydb_index import _phone_digits

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


def test_the_bitmaps_answer_as_a_scan_does_and_follow_every_write(tmp_path: Path) -> None:
    rng = random.Random(12)
    repo = open_store(tmp_path)
    assert isinstance(repo, TinyDBRepository)
    try:
        owner = ""
        repo.add_contacts([_person(rng, owner) for _ in range(400)])
        repo.prepare_search()
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
        from crmtui.store import tinydb_search

        built = tinydb_search._Letters

        def writing_meanwhile(texts):  # another thread writes while they are built
            letters = built(texts)
            contact = repo.get_contact(texts[0][0], owner)
            contact.given_name = "Quentin"
            repo.update_contact(contact, owner)
            repo.add_contacts([Contact(given_name="Quincy")])
            repo.delete_contact(texts[1][0])
            return letters

        monkeypatch.setattr(tinydb_search, "_Letters", writing_meanwhile)
        repo.prepare_search()
        monkeypatch.setattr(tinydb_search, "_Letters", built)
        _check(repo, owner)
        assert len(repo.contact_ids(ContactQuery(text="qu"), owner)) == 2
    finally:
        repo.close()
