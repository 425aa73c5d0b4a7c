"""`contacts edit` and `activities edit` save on the version they read: when someone saves the
record while the command runs, it is refused ("changed by NAME at TIME") and nothing of the other
person's change is lost; run again, it applies to their version. On both stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from store.pgserver import new_database, pg_server, pg_url  # noqa: F401

from crmtui.model import Activity
from crmtui.store import Repository, open_repository
from crmtui.store.pg_store import PostgresRepository
from crmtui.store.tinydb_store import TinyDBRepository

from .conftest import Crm


@pytest.fixture(params=["tinydb", "postgresql"])
def store(request: pytest.FixtureRequest, crm: Crm) -> Iterator[tuple[list[str], type[Any]]]:
    """The options that choose the store, and its repository class."""
    if request.param == "tinydb":
        yield [], TinyDBRepository
    else:
        yield ["--database", request.getfixturevalue("pg_url")], PostgresRepository


def other_process(crm: Crm, opts: list[str]) -> Repository:
    return open_repository(crm.data_dir, opts[1] if opts else None)


def saved_meanwhile(monkeypatch: pytest.MonkeyPatch, cls: type[Any], method: str,
                    change: Callable[[], None]) -> None:
    """The command's first read of a record is followed by ``change`` (Bob saving it)."""
    original = getattr(cls, method)
    done: list[bool] = []

    def read_then_change(self: Any, *args: Any, **kw: Any) -> Any:
        found = original(self, *args, **kw)
        if not done:
            done.append(True)
            change()
        return found

    monkeypatch.setattr(cls, method, read_then_change)


def test_contacts_edit_refuses_a_contact_saved_while_it_ran(
        crm: Crm, store: tuple[list[str], type[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    opts, cls = store
    crm.ok(*opts, "users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    crm.ok(*opts, "users", "add", "--name", "Bob Stone", "--email", "bob@example.com")
    carol = crm.json(*opts, "--user", "ann@example.com", "contacts", "add", "--given", "Carol")

    def bob_saves() -> None:
        repo = other_process(crm, opts)
        try:
            bob = repo.find_user("bob@example.com")
            assert bob is not None
            repo.update_contact(repo.get_contact(carol["id"]).evolve(job_title="CFO"), bob.id)
        finally:
            repo.close()

    with monkeypatch.context() as patch:
        saved_meanwhile(patch, cls, "get_contact", bob_saves)
        error = crm.fails(*opts, "--user", "ann@example.com", "contacts", "edit", carol["id"],
                          "--company", "Client Corp")
    assert "not saved: the contact was changed by Bob Stone at " in error
    assert "run it again" in error
    shown = crm.json(*opts, "--user", "ann@example.com", "contacts", "show", carol["id"])
    assert (shown["job_title"], shown["company"]) == ("CFO", "")
    crm.ok(*opts, "--user", "ann@example.com", "contacts", "edit", carol["id"],
           "--company", "Client Corp")
    shown = crm.json(*opts, "--user", "ann@example.com", "contacts", "show", carol["id"])
    assert (shown["job_title"], shown["company"]) == ("CFO", "Client Corp")
    with crm_store(crm, opts) as repo:
        ann = repo.find_user("ann@example.com")
        assert ann is not None and repo.get_contact(carol["id"]).modified_by == ann.id


def test_activities_edit_refuses_an_activity_saved_while_it_ran(
        crm: Crm, store: tuple[list[str], type[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    opts, cls = store
    crm.ok(*opts, "users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    crm.ok(*opts, "users", "add", "--name", "Bob Stone", "--email", "bob@example.com")
    call = crm.json(*opts, "--user", "ann@example.com", "activities", "add", "--title", "Call")

    def bob_saves() -> None:
        repo = other_process(crm, opts)
        try:
            bob = repo.find_user("bob@example.com")
            assert bob is not None
            current: Activity = repo.get_activity(call["id"])
            repo.update_activity(current.evolve(location="Room 1", modified_by=bob.id))
        finally:
            repo.close()

    with monkeypatch.context() as patch:
        saved_meanwhile(patch, cls, "get_activity", bob_saves)
        error = crm.fails(*opts, "--user", "ann@example.com", "activities", "edit", call["id"],
                          "--title", "Call back")
    assert "not saved: the activity was changed by Bob Stone at " in error
    with crm_store(crm, opts) as repo:
        stored = repo.get_activity(call["id"])
        assert (stored.title, stored.location) == ("Call", "Room 1")
    crm.ok(*opts, "--user", "ann@example.com", "activities", "edit", call["id"],
           "--title", "Call back")
    with crm_store(crm, opts) as repo:
        stored = repo.get_activity(call["id"])
        ann = repo.find_user("ann@example.com")
        assert ann is not None
        assert (stored.title, stored.location, stored.modified_by) == ("Call back", "Room 1",
                                                                       ann.id)


class crm_store:  # noqa: N801 - a context manager used like a function
    def __init__(self, crm: Crm, opts: list[str]) -> None:
        self.repo = other_process(crm, opts)

    def __enter__(self) -> Repository:
        return self.repo

    def __exit__(self, *exc: object) -> None:
        self.repo.close()


