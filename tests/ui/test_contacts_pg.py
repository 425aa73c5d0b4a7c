"""The contacts list on a team's PostgreSQL database: each letter typed shows its first matches
as the key is handled, and every match follows once typing pauses."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from store.pgserver import new_database, pg_server, pg_url  # noqa: F401

from crmtui.screens import contacts as contacts_screen
from crmtui.screens.context import Services
from crmtui.store import ContactQuery, pg_store
from crmtui.store.pg_store import open_postgres

from .contacts_fixtures import FIXED, run_contacts, seed
from .pilot_helpers import status, wait_for


def test_each_letter_shows_its_first_matches_at_once_and_every_match_after_a_pause(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(pg_store, "_FIRST_PAGE", 4)
    monkeypatch.setattr(pg_store, "_NARROWED_ENOUGH", 2)
    # long enough that no letter of the word typed waits it out, however slow the machine
    monkeypatch.setattr(contacts_screen, "TYPING_PAUSE", 1.5)
    repo = open_postgres(pg_url)
    try:
        world = seed(repo)
        every_match: list[str] = []  # the searches of every match, in the query thread
        search = repo.contact_ids

        def spy(query: ContactQuery, viewer_id: str | None) -> list[str]:
            if query.text and query.limit is None \
                    and threading.current_thread() is not threading.main_thread():
                every_match.append(query.text)
            return search(query, viewer_id)

        repo.contact_ids = spy  # type: ignore[method-assign]
        # no reloads (of the first LISTEN, say) in a thread while typing: only the searches
        repo.watch = lambda stop, changed, interval=1.0: stop.wait()  # type: ignore[method-assign]

        async def check(app, pilot, screen) -> None:  # type: ignore[no-untyped-def]
            t = screen.table
            await pilot.press("slash")
            for key, text in (("e", "e"), ("x", "ex"), ("a", "exa")):
                await pilot.press(key)
                # answered as the key was handled: no query thread in between
                assert screen.result.query.text == text
                truth = search(ContactQuery(text=text), world.ann.id)
                shown = list(t.keys)
                assert len(truth) > 4 and screen.result.partial
                assert shown == truth[:len(shown)] and len(shown) >= 2, text
                assert status(pilot).startswith(
                    f"the first {len(shown)} contacts that match “{text}”, searching all "
                    f"{len(world.ids) + 2}…")
            assert every_match == []
            await wait_for(pilot, lambda: not screen.result.partial, "every match")
            assert list(t.keys) == search(ContactQuery(text="exa"), world.ann.id)
            assert status(pilot).startswith(f"{len(t.keys)} of {len(world.ids) + 2} contacts "
                                            "match “exa”")
            assert every_match == ["exa"]  # not the letters typed before it

        run_contacts(Services(repo, world.ann.id, tmp_path, now=lambda: FIXED), check)
    finally:
        repo.close()
