"""Fixtures of the UI tests: a demo store (seeded once per test, it takes a few milliseconds)."""

from __future__ import annotations

import pytest

from crmtui.demo import seed_demo
from crmtui.store import TinyDBRepository


@pytest.fixture
def demo(repo: TinyDBRepository) -> tuple[TinyDBRepository, str]:
    """The shared ``repo`` filled with the demo data; returns it and the demo user's id."""
    return repo, seed_demo(repo)
