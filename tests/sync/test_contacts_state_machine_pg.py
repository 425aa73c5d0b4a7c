"""The contact sync state machine of test_contacts_state_machine.py, on the PostgreSQL store (a
new database per example, on the server of tests/store/pgserver.py)."""

from __future__ import annotations

import uuid

import psycopg
import test_contacts_state_machine as base
from hypothesis.stateful import RuleBasedStateMachine
from store.pgserver import ADMIN_URL, pg_server  # noqa: F401

from crmtui.store.pg_store import open_postgres


class PostgresContactSyncMachine(base.ContactSyncMachine):
    """The same rules and checks; the CRM store is a fresh PostgreSQL database."""

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self.dbname = f"crmtui_test_sm_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        url = ADMIN_URL.rsplit("/", 1)[0] + "/" + self.dbname
        original = base.open_store
        base.open_store = lambda _path: open_postgres(url)  # type: ignore[assignment]
        try:
            self.world = base.SyncWorld()
        finally:
            base.open_store = original

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


PostgresContactSyncMachine.TestCase.settings = base.ContactSyncMachine.TestCase.settings


def test_contact_sync_state_machine_on_postgres(pg_server: str) -> None:  # noqa: F811
    """Skipped with the reason when no server answers (a failure under CI=true)."""
    PostgresContactSyncMachine.TestCase("runTest").runTest()
