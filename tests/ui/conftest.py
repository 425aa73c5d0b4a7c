"""Fixtures of the UI tests: a demo store (seeded once per test, it takes a few milliseconds), and
the demo linked to a running Google emulator (`demo_google`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmtui.app import CrmApp
from crmtui.cli import tui_services
from crmtui.demo import link_demo_google, open_demo, running_demo_google, seed_demo
from crmtui.emulator import Emulator
from crmtui.store import TinyDBRepository


@pytest.fixture
def demo(repo: TinyDBRepository) -> tuple[TinyDBRepository, str]:
    """The shared ``repo`` filled with the demo data; returns it and the demo user's id."""
    return repo, seed_demo(repo)


@dataclass
class Demo:
    repo: TinyDBRepository
    directory: Path
    user_id: str
    emulator: Emulator

    def app(self, **kwargs: Any) -> CrmApp:
        services = tui_services(self.repo, self.directory, self.user_id, demo=True)
        kwargs.setdefault("auto_sync", False)
        return CrmApp(services, **kwargs)


@pytest.fixture
def demo_google(tmp_path: Path) -> Iterator[Demo]:
    directory = tmp_path / "demo"
    repo, user_id = open_demo(directory)
    with running_demo_google(directory) as emulator:
        link_demo_google(repo, directory, user_id, emulator)
        yield Demo(repo, directory, user_id, emulator)
    repo.close()
