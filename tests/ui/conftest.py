"""Fixtures of the UI tests: a demo store (seeded once per test, it takes a few milliseconds), and
the demo linked to a running Google emulator (`demo_google`)."""

from __future__ import annotations

import os
import time
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


def local_zone(name: str) -> Iterator[None]:
    """The process's local time zone is ``name`` meanwhile (screens show local times)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC for the test, whatever the machine's zone."""
    yield from local_zone("UTC")


@pytest.fixture
def paris() -> Iterator[None]:
    """Local time is Europe/Paris for the test."""
    yield from local_zone("Europe/Paris")


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
