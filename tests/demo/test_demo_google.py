"""The demo's Google side: the demo user linked to the emulator, and its syncs set up and working."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest

from crmtui.demo import (
    DEMO_EMAIL,
    SYNC_TAG_NAME,
    google_shared_emails,
    link_demo_google,
    open_demo,
    running_demo_google,
)
from crmtui.model import SyncKind
from crmtui.store import TinyDBRepository
from crmtui.sync.google.auth import token_file
from crmtui.sync.google.factory import calendar_remote_factory, contacts_remote_factory
from crmtui.sync.service import SyncService


@pytest.fixture
def demo_dir(tmp_path: Path) -> tuple[TinyDBRepository, Path, str]:
    directory = tmp_path / "demo"
    repo, user_id = open_demo(directory)
    yield repo, directory, user_id
    repo.close()


def _google_accounts(repo: TinyDBRepository, user_id: str) -> list:
    return [a for a in repo.list_accounts(user_id) if a.provider == "google"]


def test_the_demo_links_one_account_repoints_it_and_its_syncs_work(demo_dir: tuple) -> None:
    repo, directory, user_id = demo_dir

    with running_demo_google(directory) as emulator:
        first_url = emulator.base_url
        account = link_demo_google(repo, directory, user_id, emulator)
    accounts = _google_accounts(repo, user_id)
    assert [(a.id, a.email, a.endpoint) for a in accounts] == [(account.id, DEMO_EMAIL,
                                                                first_url)]
    path = token_file(directory, account.id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(directory.glob(".demo-google-*"))  # the temporary credentials are gone
    settings = repo.get_sync_settings(user_id)
    tag = repo.find_tag(SYNC_TAG_NAME, user_id)
    assert settings.contacts_tag_id == tag.id and settings.contacts_group_name == "crmtui"
    assert settings.contacts_auto and settings.activities_auto
    assert settings.contacts_period == settings.activities_period == 60
    assert settings.activities_from == date.today().replace(day=1)

    # A user's own later choices are kept when the demo starts again.
    repo.save_sync_settings(settings.evolve(contacts_period=30))

    with running_demo_google(directory) as emulator:  # the demo started again: a new port
        second_url = emulator.base_url  # (the OS could hand out the same port; rarely does)
        again = link_demo_google(repo, directory, user_id, emulator)
        accounts = _google_accounts(repo, user_id)
        assert [(a.id, a.endpoint) for a in accounts] == [(account.id, second_url)]
        assert again.id == account.id
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert repo.get_sync_settings(user_id).contacts_period == 30

        no_sleep = lambda seconds: None  # noqa: E731
        service = SyncService(repo, directory,
                              contacts_remote_factory(directory, sleep=no_sleep),
                              calendar_remote_factory(directory, sleep=no_sleep))
        contacts = service.run(user_id, SyncKind.CONTACTS)
        assert contacts.status == "ok", contacts.message
        counts = contacts.report.counts()
        assert counts["crm_linked"] >= len(google_shared_emails())  # Google's copies linked
        assert counts["google_created"] > 0  # the other tagged contacts went to Google

        activities = service.run(user_id, SyncKind.ACTIVITIES)
        assert activities.status == "ok", activities.message
        counts = activities.report.counts()
        assert counts["google_created"] > 0  # the demo's calendar entries went to Google
