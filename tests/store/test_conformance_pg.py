"""The Repository contract on the PostgreSQL store (a database of its own per test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from crmtui.store import Repository
from crmtui.store.pg_store import PostgresRepository, open_postgres

from .conformance import RepositoryContract


class TestPostgres(RepositoryContract):
    @pytest.fixture
    def make_store(self, new_database: Callable[[], str]) -> Iterator[Callable[[], Repository]]:
        made: list[PostgresRepository] = []

        def make() -> Repository:
            store = open_postgres(new_database())
            made.append(store)
            return store

        yield make
        for store in made:
            store.close()

    @pytest.fixture
    def repo(self, make_store: Callable[[], Repository]) -> Repository:
        return make_store()

    @pytest.fixture
    def reopen(self, repo: PostgresRepository) -> Iterator[Callable[[], Repository]]:
        made: list[PostgresRepository] = []

        def again() -> Repository:
            store = open_postgres(repo.url)
            made.append(store)
            return store

        yield again
        for store in made:
            store.close()
