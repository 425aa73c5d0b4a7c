"""TUI features benchmark at 100,000 contacts and 5,000 activities: a contact's page (its history
and its sync status), select all that match, and the undo snapshots of a bulk tag change and a
bulk deletion.

Run with ``python benchmarks/tui_features.py [--contacts N] [--activities N] [--keep DIR]``. It
builds the store once (benchmarks/store.py's generator, then random activities with contacts as
participants) in a temporary data directory and prints medians and p95 over several runs
(``time.perf_counter``). Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store import ensure_generated, p95  # noqa: E402

from crmtui.model import Activity, ActivityType, Participant, ParticipantKind  # noqa: E402
from crmtui.store import ActivityQuery, ContactQuery, Repository, open_store  # noqa: E402

RUNS = 15


def add_activities(repo: Repository, user_id: str, n: int) -> None:
    if len(repo.activity_ids()) >= n:
        return
    print(f"adding {n:,} activities ...", flush=True)
    rng = random.Random(7)
    ids = repo.contact_ids(ContactQuery(limit=20_000), user_id)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    made = []
    for i in range(n):
        at = start + timedelta(hours=rng.randrange(0, 24 * 365))
        made.append(Activity(
            title=f"Call {i}", type=rng.choice(list(ActivityType)), start=at,
            end=at + timedelta(minutes=30), organizer_id=user_id,
            participants=[Participant(ParticipantKind.CONTACT, cid)
                          for cid in rng.sample(ids, 2)]))
    repo.add_activities(made)


def timed(label: str, runs: int, step: Callable[[int], object]) -> None:
    seconds = []
    for i in range(runs):
        began = time.perf_counter()
        step(i)
        seconds.append(time.perf_counter() - began)
    print(f"  {label:<52} median {statistics.median(seconds) * 1000:8.1f} ms   "
          f"p95 {p95(seconds) * 1000:8.1f} ms   ({runs} runs)")


def store_figures(repo: Repository, user_id: str) -> None:
    from crmtui.screens.undo import contacts_deleted, tags_changed
    from crmtui.sync.record_status import RecordStatusService

    rng = random.Random(11)
    with_history = [cid for a in repo.find_activities(ActivityQuery(limit=200))
                    for cid in (p.ref_id for p in a.participants)]
    service = RecordStatusService(repo)
    timed("contact page: the contact's activities", RUNS, lambda i: repo.find_activities(
        ActivityQuery(contact_ids=(with_history[i],), sort="start", descending=True)))
    timed("contact page: the contact's sync status", RUNS, lambda i: service.contact(
        user_id, repo.get_contact(with_history[i])))
    from crmtui.screens.activities import ActivitiesScreen, Criteria
    from crmtui.screens.context import Services

    screen = ActivitiesScreen(Services(repo, user_id, Path(repo.path).parent))
    words = ["call 12", "garcia", "meeting jose", "zz-nothing"]
    timed("activities search (title or a contact's name), all", len(words) * 3,
          lambda i: screen.find(Criteria(text=words[i % len(words)]), ActivityQuery()))
    timed("activities listing without a search, all", 5,
          lambda i: screen.find(Criteria(), ActivityQuery()))
    some = repo.contact_ids(ContactQuery(limit=30_000), user_id)
    thousand = [rng.sample(some, 1000) for _ in range(5)]
    tag = repo.list_tags(user_id)[0]

    entries = []
    timed("undo: tags snapshot of 1,000 contacts", 5,
          lambda i: entries.append(tags_changed(repo, thousand[i], user_id)))

    def restore(i: int) -> None:
        with repo.transaction():
            entries[i].restore(repo)

    for i in range(5):  # the change to undo (not timed)
        repo.tag_contacts(thousand[i], tag.id, user_id)
    timed("undo: tags of 1,000 contacts put back (one commit)", 5, restore)
    timed("undo: snapshot before deleting 1,000 contacts", 5,
          lambda i: contacts_deleted(repo, thousand[i]))


def select_all_figures(repo: Repository, data_dir: Path, user_id: str) -> None:
    from crmtui.app import CrmApp
    from crmtui.screens.contacts import ContactsScreen
    from crmtui.screens.context import Services

    async def run() -> list[float]:
        services = Services(repo, user_id, data_dir)
        app = CrmApp(services, auto_sync=False, store_poll=0)
        seconds = []
        async with app.run_test(size=(140, 45)) as pilot:
            screen = ContactsScreen(services)
            await app.push_screen(screen)
            while screen.result is None:
                await pilot.pause(0.05)
            for _ in range(RUNS):
                began = time.perf_counter()
                await pilot.press("asterisk")
                await pilot.pause()
                seconds.append(time.perf_counter() - began)
            assert len(screen.selected) in (0, screen.repo.count_contacts())
        return seconds

    seconds = asyncio.run(run())
    print(f"  {'select all 100,000 (key to repaint, in-process)':<52} median "
          f"{statistics.median(seconds) * 1000:8.1f} ms   p95 {p95(seconds) * 1000:8.1f} ms   "
          f"({len(seconds)} runs, every other one unselects)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=5_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crmtui-bench-") as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        ensure_generated(data_dir, args.contacts)
        repo = open_store(data_dir)
        try:
            user = repo.find_user("bench@example.com")
            assert user is not None
            add_activities(repo, user.id, args.activities)
            print(f"{repo.count_contacts():,} contacts, {len(repo.activity_ids()):,} activities")
            store_figures(repo, user.id)
            select_all_figures(repo, data_dir, user.id)
        finally:
            repo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
