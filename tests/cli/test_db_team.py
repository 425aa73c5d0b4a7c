"""Team mode across processes: Alice and Bob, each in their own processes with their own data
directory (own tokens, own config.toml naming one PostgreSQL database), each linked to their own
Google account on the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from store.pgserver import new_database, pg_server, pg_url  # noqa: F401
from ui.pilot_helpers import SIZE, wait_for

from crmtui.app import CrmApp
from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.model import Contact, User
from crmtui.screens.context import Services
from crmtui.screens.first_run import WelcomeScreen
from crmtui.store.pg_store import open_postgres
from crmtui.widgets import LazyTable


class Member:
    """``crmtui`` run as a separate process in this member's own data directory."""

    def __init__(self, home: Path, email: str, url: str) -> None:
        self.home, self.email = home, email
        home.mkdir(parents=True)
        (home / "config.toml").write_text(f'database = "{url}"\ndefault_user = "{email}"\n')

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CRMTUI_DATABASE"}
        return subprocess.run([sys.executable, "-m", "crmtui", "--data-dir", str(self.home),
                               *args], capture_output=True, text=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL)

    def start(self, *args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k != "CRMTUI_DATABASE"}
        return subprocess.Popen([sys.executable, "-m", "crmtui", "--data-dir", str(self.home),
                                 *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def link(self, emulator: Emulator, tmp_path: Path) -> None:
        record = authorized_user(EmulatorControl(emulator).create_account(self.email))
        record.pop("scopes")
        creds = tmp_path / f"{self.email}.json"
        creds.write_text(json.dumps({k: v for k, v in record.items() if v is not None}))
        self.ok("account", "link", "google", "--credentials", str(creds),
                "--endpoint", emulator.base_url)


def test_two_members_share_one_database(pg_url: str, emulator: Emulator,  # noqa: F811
                                        tmp_path: Path) -> None:
    alice = Member(tmp_path / "alice", "alice@example.com", pg_url)
    bob = Member(tmp_path / "bob", "bob@example.com", pg_url)
    alice.ok("users", "add", "--name", "Alice Ames", "--email", alice.email)
    bob.ok("users", "add", "--name", "Bob Burns", "--email", bob.email)
    for member in (alice, bob):
        member.link(emulator, tmp_path)
        member.ok("sync", "setup", "activities", "--from", "2026-01-01")
        assert len(list((member.home / "tokens").glob("*.json"))) == 1  # their own token only

    # Alice organizes a meeting with Bob and syncs; Bob syncs and gets the same activity.
    meeting = alice.json("activities", "add", "--title", "Kickoff", "--type", "meeting",
                         "--start", "2026-12-10T10:00", "--end", "2026-12-10T11:00",
                         "--tz", "UTC", "--participant", bob.email, "--show-in-calendar")
    alice.ok("sync", "activities")
    bob.ok("sync", "activities")
    bobs = [a for a in bob.json("activities", "list") if a["title"] == "Kickoff"]
    assert [a["id"] for a in bobs] == [meeting["id"]]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM activities WHERE doc ->> 'title' = "
                            "'Kickoff'").fetchone() == (1,)
        linked = {r[0] for r in conn.execute(
            "SELECT u.doc ->> 'email' FROM sync_links l JOIN users u ON u.id = l.user_id "
            "WHERE l.kind = 'activities' AND l.local_id = %s", (meeting["id"],))}
    assert linked == {alice.email, bob.email}  # each member's own event, one activity

    # Alice's private tag and its use are hers alone.
    alice.ok("tags", "add", "Secret", "--kind", "private")
    carol = alice.json("contacts", "add", "--given", "Carol", "--family", "Client",
                       "--email", "work:carol@client.example")
    alice.ok("contacts", "tag", carol["id"], "--tag", "Secret")
    assert [t["name"] for t in alice.json("tags", "list")] == ["Secret"]
    assert bob.json("tags", "list") == []
    assert bob.json("contacts", "show", carol["id"])["tags"] == []
    assert len(alice.json("contacts", "show", carol["id"])["tags"]) == 1
    refused = bob.run("contacts", "list", "--tag", "Secret")
    assert refused.returncode == 1 and "no tag named 'Secret'" in refused.stderr
    # Bob's edit of the contact keeps the tag he cannot see.
    bob.ok("contacts", "edit", carol["id"], "--company", "Client Corp")
    assert len(alice.json("contacts", "show", carol["id"])["tags"]) == 1

    # Both edit Carol at the same moment, each a field of their own: neither edit is silently
    # lost. An edit refused because the other saved first says who and when; run again, it
    # lands on their version.
    names = {alice: "Alice Ames", bob: "Bob Burns"}
    for round_ in range(3):
        edits = {alice: ("--title", f"Buyer {round_}"), bob: ("--notes", f"Bob's note {round_}")}
        running = {m: m.start("contacts", "edit", carol["id"], *opts)
                   for m, opts in edits.items()}
        for member, proc in running.items():
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                other = names[bob if member is alice else alice]
                assert err.startswith("Error: not saved: the contact was changed by "
                                      f"{other} at "), err
                assert "Traceback" not in err
                member.ok("contacts", "edit", carol["id"], *edits[member])
        shown = bob.json("contacts", "show", carol["id"])
        assert (shown["job_title"], shown["notes"], shown["company"]) == (
            f"Buyer {round_}", f"Bob's note {round_}", "Client Corp")
    assert len(alice.json("contacts", "show", carol["id"])["tags"]) == 1


def test_an_open_tui_shows_a_colleagues_new_contact(pg_url: str, tmp_path: Path  # noqa: F811
                                                    ) -> None:
    """Bob's open TUI is told of Alice's commit (LISTEN/NOTIFY) and shows the contact her
    process just added; while nothing changes it asks the database nothing (not even the
    change counter: no polling)."""
    bob_repo = open_postgres(pg_url)
    alice_repo = open_postgres(pg_url)  # Alice's process: its own connection
    try:
        bob = bob_repo.add_user(User(name="Bob Burns", email="bob@example.com"),
                                Contact(given_name="Bob", family_name="Burns",
                                        emails=["bob@example.com"]))
        services = Services(bob_repo, bob.id, tmp_path / "bob")
        checks: list[int] = []
        counter = bob_repo._current_generation

        def counted() -> int:
            checks.append(1)
            return counter()

        bob_repo._current_generation = counted  # type: ignore[method-assign]

        async def main() -> None:
            app = CrmApp(services)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                if isinstance(app.screen, WelcomeScreen):  # Bob has linked no account yet
                    await pilot.press("escape")
                table = app.screen.query_one("#contacts", LazyTable)
                await wait_for(pilot, lambda: table.row_count == 1, "Bob's own contact")
                await asyncio.sleep(0.5)  # the listening thread has started
                checks.clear()
                await asyncio.sleep(2.5)  # idle: a polling TUI would ask twice or more
                assert checks == []
                newcomer = alice_repo.add_contact(Contact(given_name="Nina", family_name="New"))
                await wait_for(pilot, lambda: newcomer.id in table.keys, "Alice's new contact")
                assert table.row_count == 2
                assert len(checks) >= 1  # asked once it was told

        asyncio.run(main())
    finally:
        alice_repo.close()
        bob_repo.close()
