"""How the PostgreSQL store answers searches: the id list in one value, the words a search
tests, narrowing a previous result, and the count kept between commits."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from crmtui.model import Contact, Tag, TagKind
from crmtui.store import ContactQuery, StoreError, pg_store
from crmtui.store.pg_base import jsonb
from crmtui.store.pg_rows import INSERT_CONTACT, contact_row
from crmtui.store.pg_schema import _V1, PG_SCHEMA_VERSION, SORT_INDEXES
from crmtui.store.pg_store import PostgresRepository, _search_words, open_postgres


@pytest.fixture
def store(new_database: Callable[[], str]) -> Iterator[PostgresRepository]:
    repo = open_postgres(new_database())
    yield repo
    repo.close()


def people(n: int = 30) -> list[Contact]:
    return [Contact(given_name=name, family_name=f"Fam{i:02d}", company=company,
                    phones=[f"+1 (555) 01{i:02d}"])
            for i in range(n)
            for name, company in [(("Pied", "Piper Inc"), ("Olga", "O'Brien & Co"),
                                   ("Zoe", ""))[i % 3]]]


@pytest.mark.parametrize(("text", "words"), [
    ("pied p", [("pied",)]),
    ("p PIED", [("pied",)]),
    ("ann Ann ann", [("ann",)]),
    ("garcia m", [("garcia",), ("m",)]),
    ("555 555-1234", [("555-1234", "5551234")]),
    ("5551234 555-1234", [("5551234",)]),
    ("1234 555-1234", [("555-1234", "5551234")]),
    ("", []),
])
def test_a_word_another_implies_is_not_tested(text: str, words: list[tuple[str, ...]]) -> None:
    assert _search_words(text) == words


def test_the_implied_words_left_out_change_no_answer(store: PostgresRepository) -> None:
    store.add_contacts(people())
    every = store.contact_ids(ContactQuery(), None)
    for text, alone in [("pied p", "pied"), ("p pied", "pied"), ("555 555-0101", "555-0101"),
                        ("01 fam01", "fam01")]:
        found = store.contact_ids(ContactQuery(text=text), None)
        assert found == store.contact_ids(ContactQuery(text=alone), None)
        assert 0 < len(found) < len(every)


def test_the_id_list_comes_whole_and_in_order(store: PostgresRepository) -> None:
    store.add_contacts(people(90))
    every = store.contact_ids(ContactQuery(sort="family_name"), None)
    assert len(every) == len(set(every)) == 90
    assert every == sorted(every, key=lambda cid: store.get_contact(cid).family_name)
    assert store.contact_ids(ContactQuery(sort="family_name", offset=10, limit=5),
                             None) == every[10:15]
    assert store.contact_ids(ContactQuery(text="nobody"), None) == []


def test_an_id_with_a_space_written_outside_crmtui_is_listed_whole(
        store: PostgresRepository) -> None:
    store.add_contacts(people(3))
    victim = store.contact_ids(ContactQuery(sort="family_name"), None)[1]
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute("UPDATE contacts SET id = 'by hand' WHERE id = %s", (victim,))
    listed = store.contact_ids(ContactQuery(sort="family_name"), None)
    assert len(listed) == 3 and listed[1] == "by hand"


def test_narrowing_gives_the_search_of_every_contact_in_the_order_given(
        store: PostgresRepository) -> None:
    store.add_contacts(people(60))
    for old, new in [("pi", "pied"), ("o'", "o'b"), ("fam", "fam1"), ("01", "0105")]:
        base = store.contact_ids(ContactQuery(text=old, sort="family_name", descending=True),
                                 None)
        assert base
        matching = set(store.contact_ids(ContactQuery(text=new), None))
        assert matching
        assert store.narrow_contact_ids(base, new, None) == [c for c in base if c in matching]
    assert store.narrow_contact_ids(["gone", *base], new, None) == [
        c for c in base if c in matching]


def test_the_count_is_kept_until_a_commit_of_any_process(
        store: PostgresRepository) -> None:
    store.add_contacts(people(6))
    assert store.count_contacts() == 6
    other = open_postgres(store.url)
    try:
        other.add_contact(Contact(given_name="Elsewhere"))
        assert store.count_contacts() == 7  # the other process's commit raised the counter
        with store.transaction():
            store.add_contact(Contact(given_name="Inside"))
            assert store.count_contacts() == 8  # its own write, not committed yet
        assert store.count_contacts() == other.count_contacts() == 8
        store.delete_contact(store.contact_ids(ContactQuery(text="inside"), None)[0])
        assert store.count_contacts() == 7
        first = store.first_page(ContactQuery(text="fam"), None)
        assert first is not None and first[1] == 7
    finally:
        other.close()


def test_a_version_1_database_is_migrated_and_keeps_its_contacts(
        new_database: Callable[[], str]) -> None:
    """Schema 2 rebuilds the sort indexes with the tags beside the search text; a database of
    schema 1 (its contacts written then) is brought to 2 when opened, and searches as before."""
    url = new_database()
    tag = Tag(name="Customer")
    contacts = [c.evolve(tags=[tag.id] if i % 2 else []) for i, c in enumerate(people(12))]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_V1)
        conn.execute("INSERT INTO tags (id, doc, kind, owner_id, scope, name_key) "
                     "VALUES (%s, %s, 'public', '', '', 'customer')",
                     (tag.id, jsonb({k: v for k, v in tag.to_dict().items() if k != "id"})))
        with conn.cursor() as cur:
            cur.executemany(INSERT_CONTACT, [contact_row(c) for c in contacts])
    store = open_postgres(url)
    try:
        assert store._one("SELECT value FROM crmtui_meta WHERE key = 'schema'") == (
            PG_SCHEMA_VERSION,)
        defs = [r[0] for r in store._all("SELECT indexdef FROM pg_indexes WHERE tablename = "
                                         "'contacts' AND indexdef LIKE '%%INCLUDE%%'")]
        assert len(defs) == len(SORT_INDEXES)
        assert all("INCLUDE (search, tags)" in d for d in defs)
        assert store.count_contacts() == 12
        tagged = store.contact_ids(ContactQuery(tag_ids=(tag.id,), sort="family_name"), None)
        assert tagged == [c.id for c in sorted(contacts, key=lambda c: c.family_name)
                          if c.tags]
        by_kind = store.contact_ids(ContactQuery(tag_kind=TagKind.PUBLIC, text="pied"), None)
        assert by_kind == store.contact_ids(ContactQuery(tag_ids=(tag.id,), text="pied"), None)
        assert set(by_kind) == {c.id for c in contacts if c.tags and c.given_name == "Pied"}
        assert by_kind
        assert store.contact_ids(ContactQuery(tag_kind=TagKind.CORPORATE), None) == []
    finally:
        store.close()


def test_descending_keeps_contacts_without_a_value_last_on_every_page(
        store: PostgresRepository) -> None:
    store.add_contacts(people(45))  # a third have no company
    every = store.contact_ids(ContactQuery(sort="company", descending=True), None)
    companies = [store.get_contact(cid).company for cid in every]
    with_one = [c for c in companies if c]
    assert with_one == sorted(with_one, key=str.lower, reverse=True)
    assert companies[len(with_one):] == [""] * 15
    assert every[len(with_one):] == sorted(every[len(with_one):], reverse=True)  # ties: by id
    for offset, limit in [(0, 10), (25, 10), (28, 5), (40, 10), (44, None), (50, 3)]:
        assert store.contact_ids(ContactQuery(sort="company", descending=True, offset=offset,
                                              limit=limit), None) == every[offset:][:limit]
    zoe = store.contact_ids(ContactQuery(text="zoe", sort="company", descending=True), None)
    assert zoe == [cid for cid in every if cid in set(zoe)] and len(zoe) == 15


def test_a_member_who_does_not_own_the_tables_cannot_migrate_and_is_told_why(
        new_database: Callable[[], str]) -> None:
    url = new_database()
    role = f"crmtui_member_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_V1)
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                     f"TO {role}")
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    try:
        info = conninfo_to_dict(url)
        member = make_conninfo("", **{**info, "user": role})
        with pytest.raises(StoreError, match="not allowed to set up crmtui's tables") as exc:
            open_postgres("postgresql://?" + member.replace(" ", "&"))
        assert "own crmtui's tables" in str(exc.value) and "\n" not in str(exc.value)
        with psycopg.connect(url, autocommit=True) as conn:  # nothing was changed
            assert conn.execute("SELECT value FROM crmtui_meta WHERE key = 'schema'"
                                ).fetchone() == (1,)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@contextmanager
def busy(store: PostgresRepository) -> Iterator[threading.Thread]:
    """Another thread's long query holding the store's connection (as the TUI's query thread
    does while it reads a long id list)."""
    started = threading.Event()

    def long_query() -> None:
        with store._lock:  # as a query holds it while it runs
            started.set()
            store._one("SELECT pg_sleep(3)")

    sleeper = threading.Thread(target=long_query)
    sleeper.start()
    try:
        assert started.wait(10)
        yield sleeper
    finally:
        sleeper.join()


def test_quick_reads_do_not_wait_behind_a_long_query_of_another_thread(
        store: PostgresRepository) -> None:
    """The TUI's thread (rows on screen, the change counter) and a search's first page go on
    while the query thread's long id list holds the connection: they read on a second one."""
    store.add_contacts(people())
    zoe = store.contact_ids(ContactQuery(text="zoe"), None)
    with busy(store) as sleeper:
        rows = store.get_contacts(zoe[:3], None)
        first = store.first_page(ContactQuery(text="zoe", limit=5), None)
        generation = store.generation
        assert sleeper.is_alive()  # all answered while the long query still ran
    assert [c.id for c in rows] == zoe[:3]
    assert first == (zoe[:5], len(people()))
    assert generation == store.generation
    store.add_contacts([Contact(given_name="Quinn", family_name="Added")])
    with busy(store) as sleeper:  # the second connection sees what was committed since
        found = store.first_page(ContactQuery(text="quinn"), None)
        counter = store.generation
        assert sleeper.is_alive()
    assert found is not None and len(found[0]) == 1 and found[1] == len(people()) + 1
    assert counter == store.generation > generation


# -- the first page asked as a key is handled ------------------------------------------------------


def test_a_quick_first_page_is_the_first_matches_of_a_search_of_every_contact(
        store: PostgresRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    """Letter by letter, as typed: each quick page is the start of the search's answer (all of
    it when it says so), also when it comes from the page before (a letter added), and after
    another process's commit."""
    monkeypatch.setattr(pg_store, "_FIRST_PAGE", 6)
    monkeypatch.setattr(pg_store, "_NARROWED_ENOUGH", 2)
    store.add_contacts(people(60))
    narrowed: list[str] = []
    narrowed_page = store._narrowed_page

    def spy(repo: PostgresRepository, query: ContactQuery, viewer_id: str | None,
            generation: int) -> tuple[list[str], bool] | None:
        page = narrowed_page(repo, query, viewer_id, generation)
        if page is not None:
            narrowed.append(query.text)
        return page

    monkeypatch.setattr(store, "_narrowed_page", spy)
    typed = ["f", "fa", "fam", "fam0", "fam01", "p", "pi", "pie", "pied", "pied f", "pied fam2",
             "o", "o'", "o'b", "z", "zo", "zoe", "zoe 5", "zoe 555"]
    for sort, descending in [("name", False), ("family_name", True), ("company", False)]:
        for text in typed:
            query = ContactQuery(text=text, sort=sort, descending=descending)
            answer = store.quick_first_page(query, None)
            assert answer is not None, text
            ids, total, generation, every = answer
            truth = store.contact_ids(query, None)
            assert (total, generation) == (60, store.generation)
            if every:
                assert ids == truth, (sort, text)
            else:
                # the first matches (all of them, perhaps, without the page knowing it)
                assert ids and ids == truth[:len(ids)], (sort, text)
    assert {"fa", "fam", "pie", "pied", "o'b", "zoe"} <= set(narrowed)
    # a first page asked from a thread is a start for the next letter too
    narrowed.clear()
    assert store.first_page(ContactQuery(text="fam"), None) is not None
    answer = store.quick_first_page(ContactQuery(text="fam0"), None)
    assert narrowed == ["fam0"] and answer is not None
    assert answer[0] == store.contact_ids(ContactQuery(text="fam0"), None)[:len(answer[0])]
    # A contact added by another process, first in the order: the next page shows it.
    first = store.quick_first_page(ContactQuery(text="pied fam"), None)
    assert first is not None and not first[3]
    added = Contact(given_name="Pied", family_name="Aaa Fam00")
    other = open_postgres(store.url)
    try:
        other.add_contacts([added])
    finally:
        other.close()
    narrowed.clear()
    answer = store.quick_first_page(ContactQuery(text="pied fam0"), None)
    assert answer is not None and not narrowed
    assert answer[0] == store.contact_ids(ContactQuery(text="pied fam0"), None)[:len(answer[0])]
    assert answer[0][0] == added.id


def test_a_quick_first_page_that_would_keep_a_key_waiting_is_left_to_the_query_thread(
        store: PostgresRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_contacts(people(3))
    monkeypatch.setattr(pg_store, "_QUICK_TIMEOUT_MS", 50)
    search = store.contact_ids

    def slow(query: ContactQuery, viewer_id: str | None) -> list[str]:
        store._all("SELECT pg_sleep(2)")
        return search(query, viewer_id)

    monkeypatch.setattr(store, "contact_ids", slow)
    assert store.quick_first_page(ContactQuery(text="zoe"), None) is None
    # the limit was for that query alone
    assert store._one("SHOW statement_timeout") == ("0",)
    assert store.contact_ids(ContactQuery(text="zoe"), None) == search(ContactQuery(text="zoe"),
                                                                       None)
    monkeypatch.setattr(store, "contact_ids", search)
    answer = store.quick_first_page(ContactQuery(text="zoe"), None)
    assert answer is not None and answer[0] == search(ContactQuery(text="zoe"), None)
    # A lost connection is not made again as a key is handled (the query thread does).
    lost = store._conn
    assert lost is not None
    lost.close()
    assert store.quick_first_page(ContactQuery(text="zoe"), None) is None
    assert store._conn is lost and lost.closed
    assert store.contact_ids(ContactQuery(text="zoe"), None) == answer[0]
    # A server far away is not asked as keys come.
    store.round_trip = 1.0
    assert store.quick_first_page(ContactQuery(text="zoe"), None) is None


def test_a_quick_first_page_does_not_wait_behind_a_long_query_of_another_thread(
        store: PostgresRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a key is handled, with the query thread's long id list holding the connection: the
    page (with a tag filter, whose tags are looked up too) comes from the second connection."""
    monkeypatch.setattr(pg_store, "_FIRST_PAGE", 6)
    monkeypatch.setattr(pg_store, "_NARROWED_ENOUGH", 2)
    public = store.add_tag(Tag(name="Customers"))
    contacts = people()
    store.add_contacts(contacts)
    store.tag_contacts([c.id for c in contacts], public.id, None)
    answers = []
    with busy(store) as sleeper:
        for text in ("fam", "fam0"):  # the second from the first
            answers.append(store.quick_first_page(
                ContactQuery(text=text, tag_kind=TagKind.PUBLIC), None))
        assert sleeper.is_alive()
    for text, answer in zip(("fam", "fam0"), answers, strict=True):
        assert answer is not None
        truth = store.contact_ids(ContactQuery(text=text, tag_kind=TagKind.PUBLIC), None)
        assert answer[0] and answer[0] == truth[:len(answer[0])]
