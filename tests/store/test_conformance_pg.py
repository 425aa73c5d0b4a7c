"""The Repository contract on the PostgreSQL store (a database of its own per test)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crmtui.model import Contact
from crmtui.store import ContactQuery, Repository
from crmtui.store.pg_store import _FIRST_PAGE, PostgresRepository, open_postgres

from .conformance import RepositoryContract


class TestPostgres(RepositoryContract):
    @pytest.fixture
    def new_store(self, new_database: Callable[[], str]) -> Callable[[], Repository]:
        return lambda: open_postgres(new_database())

    def open_again(self, repo: Repository) -> Repository:
        assert isinstance(repo, PostgresRepository)
        return open_postgres(repo.url)


def test_a_search_first_page_is_the_start_of_its_ids(new_database: Callable[[], str]) -> None:
    """The contacts table shows a search's first page before its whole id list has come: the
    first matches in the query's order (at most a few screenfuls) and how many contacts there
    are; so does the list at start (no search); a later page is left to contact_ids."""
    store = open_postgres(new_database())
    try:
        store.add_contacts([Contact(given_name=f"Ann {i:03}", family_name="Smith")
                            for i in range(_FIRST_PAGE + 50)]
                           + [Contact(given_name="Bob", family_name="Jones")])
        query = ContactQuery(text="smi", sort="given_name", descending=True)
        first = store.first_page(query, None)
        assert first is not None
        ids, total = first
        assert ids == store.contact_ids(query, None)[:_FIRST_PAGE]
        assert total == store.count_contacts() == _FIRST_PAGE + 51
        assert store.first_page(ContactQuery(text="smi", limit=10), None) == (
            store.contact_ids(ContactQuery(text="smi", limit=10), None), total)
        assert store.first_page(ContactQuery(), None) == (
            store.contact_ids(ContactQuery(), None)[:_FIRST_PAGE], total)
        assert store.first_page(ContactQuery(text="smi", offset=5), None) is None
        assert store.first_page(ContactQuery(text="nobody"), None) is None
    finally:
        store.close()
