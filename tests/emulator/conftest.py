"""Fixtures for the emulator's conformance tests: an emulator per test, driven through the real
google-api-python-client exactly as crmtui's sync will drive Google. Helpers are in ``emukit``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from emukit import Google

from crmtui.emulator import Emulator, running_emulator


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httplib2 honours proxy variables and has no loopback bypass."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with running_emulator() as emu:
        yield emu


@pytest.fixture
def google(emulator: Emulator) -> Google:
    return Google(emulator, "ann@example.com")


@pytest.fixture
def google_factory(emulator: Emulator) -> Callable[[str], Google]:
    return lambda email: Google(emulator, email)
