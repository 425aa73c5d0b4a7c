"""The Repository contract on the TinyDB store (a JSON file in a data directory)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crmtui.store import Repository, TinyDBRepository, open_store

from .conformance import RepositoryContract


class TestTinyDB(RepositoryContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], Repository]]:
        made: list[TinyDBRepository] = []

        def make() -> Repository:
            store = open_store(tmp_path / f"store{len(made)}")
            made.append(store)
            return store

        yield make
        for store in made:
            store.close()

    @pytest.fixture
    def repo(self, make_store: Callable[[], Repository]) -> Repository:
        return make_store()

    @pytest.fixture
    def reopen(self, repo: TinyDBRepository) -> Iterator[Callable[[], Repository]]:
        made: list[TinyDBRepository] = []

        def again() -> Repository:
            store = open_store(repo.data_dir)
            made.append(store)
            return store

        yield again
        for store in made:
            store.close()
