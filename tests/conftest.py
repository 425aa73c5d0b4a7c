"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmtui.emulator import Emulator, running_emulator
from crmtui.model import Contact, Tag, TagKind, User
from crmtui.store import TinyDBRepository, open_store


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                   ) -> Path:
    """No test ever reads or writes the real data directory."""
    home = tmp_path_factory.mktemp("crmtui-home")
    monkeypatch.setenv("CRMTUI_HOME", str(home))
    monkeypatch.delenv("CRMTUI_GOOGLE_ENDPOINT", raising=False)
    return home


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httplib2 honours proxy variables and has no loopback bypass: tests talk to the emulator
    on 127.0.0.1 directly."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A Google emulator running in this process on 127.0.0.1 for the test."""
    with running_emulator() as emu:
        yield emu


@pytest.fixture
def repo(tmp_path: Path) -> TinyDBRepository:
    store = open_store(tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def ann(repo: TinyDBRepository) -> User:
    """A user with her own contact."""
    return repo.add_user(User(name="Ann Lee", email="ann@example.com"),
                         Contact(given_name="Ann", family_name="Lee",
                                 emails=["ann@example.com", "ann.lee@example.org"]))


@pytest.fixture
def bob(repo: TinyDBRepository) -> User:
    return repo.add_user(User(name="Bob Stone", email="bob@example.com"),
                         Contact(given_name="Bob", family_name="Stone", emails=["bob@example.com"]))


@pytest.fixture
def ann_private_tag(repo: TinyDBRepository, ann: User) -> Tag:
    return repo.add_tag(Tag(name="Google", kind=TagKind.PRIVATE, owner_id=ann.id))
