"""The Repository contract on the TinyDB store (a JSON file in a data directory)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from crmtui.store import Repository, TinyDBRepository, open_store

from .conformance import RepositoryContract


class TestTinyDB(RepositoryContract):
    @pytest.fixture
    def new_store(self, tmp_path: Path) -> Callable[[], Repository]:
        count = itertools.count()
        return lambda: open_store(tmp_path / f"store{next(count)}")

    def open_again(self, repo: Repository) -> Repository:
        assert isinstance(repo, TinyDBRepository)
        return open_store(repo.data_dir)
