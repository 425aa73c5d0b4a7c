"""Fixtures for the emulator's conformance tests: an emulator per test, driven through the real
google-api-python-client exactly as crmtui's sync will drive Google. Helpers are in ``emukit``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from emukit import Google

from crmtui.emulator import Emulator


@pytest.fixture
def google(emulator: Emulator) -> Google:
    return Google(emulator, "ann@example.com")


@pytest.fixture
def google_factory(emulator: Emulator) -> Callable[[str], Google]:
    return lambda email: Google(emulator, email)
