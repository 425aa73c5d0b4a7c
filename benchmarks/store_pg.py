"""The store side by side: TinyDB and PostgreSQL at 100,000 contacts.

Run with ``python benchmarks/store_pg.py [--contacts N] [--database ADMIN_URL]``: the same
believable contacts (benchmarks/store.py) go into a temporary data directory and into a new,
temporary PostgreSQL database (dropped at the end; ADMIN_URL default
postgresql://postgres@127.0.0.1:5432/postgres, a user that may create databases). Each store is
then opened in a fresh process, which prints: open + first rows (the 50 rows the contacts table
shows first), the full sorted id list of a column (also descending) and of a tag filter, a
filter keystroke (every prefix of a search, median and p95 over the searches of
benchmarks/store.py, each keystroke the median of ``--rounds`` runs; "first rows": what the
contacts table shows first, asked as the TUI asks it as a key comes: a result the store has at
hand, else the first page at once, else the first page or every match), and one contact edit
committed (median, in
process and as a whole ``crmtui contacts edit`` process). Then a first and an incremental contact
sync of ``--sync-contacts`` (10,000) contacts a side against the emulator, on each store. Never
part of the test run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from _common import scratch_database  # noqa: E402
from store import SEARCHES, believable_contacts, p95  # noqa: E402

from crmtui.model import Contact, Tag, TagKind, User  # noqa: E402
from crmtui.store import ContactQuery, Repository, open_repository  # noqa: E402


def generate(repo: Repository, n: int) -> float:
    started = time.perf_counter()
    user = repo.add_user(User(name="Bench User", email="bench@example.com"),
                         Contact(given_name="Bench", family_name="User",
                                 emails=["bench@example.com"]))
    tags = [repo.add_tag(Tag(name=name)) for name in ("Customer", "Lead", "Partner", "VIP")]
    tags.append(repo.add_tag(Tag(name="Google", kind=TagKind.PRIVATE, owner_id=user.id)))
    contacts = believable_contacts(n - 1, [t.id for t in tags], user.id)
    for i in range(0, len(contacts), 10_000):
        repo.add_contacts(contacts[i:i + 10_000])
    return time.perf_counter() - started


def keystrokes(text: str) -> list[str]:
    """What the filter box holds after each key of ``text``."""
    return [text[:i] for i in range(1, len(text) + 1)]


def measure(data_dir: str, database: str, rounds: int = 1) -> dict[str, float]:
    out: dict[str, float] = {}
    started = time.perf_counter()
    repo = open_repository(data_dir, database or None)
    viewer = repo.find_user("bench@example.com")
    assert viewer is not None
    repo.get_contacts(repo.contact_ids(ContactQuery(limit=50), viewer.id), viewer.id)
    out["open + first 50 rows"] = time.perf_counter() - started
    started = time.perf_counter()
    repo.prepare_search("name")
    out["prepare search (UI: in a thread)"] = time.perf_counter() - started
    tag = repo.find_tag("Customer", viewer.id)
    assert tag is not None
    lists = {f"all ids sorted by {column}": ContactQuery(sort=column)
             for column in ("name", "company", "modified")}
    lists["all ids sorted by company, descending"] = ContactQuery(sort="company",
                                                                  descending=True)
    lists["ids of one tag (a sixth of all)"] = ContactQuery(tag_ids=(tag.id,))
    for label, query in lists.items():
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            ids = repo.contact_ids(query, viewer.id)
            times.append(time.perf_counter() - started)
        out[label] = statistics.median(times)
        if not query.tag_ids:
            assert len(ids) == repo.count_contacts()

    def each_keystroke(run: Callable[[ContactQuery], object]) -> list[float]:
        """Per keystroke of every search, the median of ``rounds`` runs."""
        runs: list[list[float]] = []
        for _ in range(rounds):
            times = []
            for text in SEARCHES:
                for typed in keystrokes(text):
                    query = ContactQuery(text=typed)
                    started = time.perf_counter()
                    run(query)
                    times.append(time.perf_counter() - started)
            runs.append(times)
        return [statistics.median(t) for t in zip(*runs, strict=True)]

    times = each_keystroke(lambda query: repo.contact_ids(query, viewer.id))
    out["filter keystroke median"] = statistics.median(times)
    out["filter keystroke p95"] = p95(times)

    def first_rows(query: ContactQuery) -> None:
        """What the contacts table shows first, asked as the TUI asks as a key comes: a result
        the store has at hand, else a first page at once, else a first page or every match."""
        if repo.quick_contact_ids(query, viewer.id) is not None:
            return
        if repo.quick_first_page(query, viewer.id) is not None:
            return
        if repo.first_page(query, viewer.id) is None:
            repo.contact_ids(query, viewer.id)

    firsts = each_keystroke(first_rows)
    out["filter keystroke first rows median"] = statistics.median(firsts)
    out["filter keystroke first rows p95"] = p95(firsts)
    page = repo.contact_ids(ContactQuery(limit=20, offset=1000), None)
    commits = []
    for i, cid in enumerate(page):
        contact = repo.get_contact(cid)
        started = time.perf_counter()
        repo.update_contact(contact.evolve(job_title=f"Bench {i}"), viewer.id)
        commits.append(time.perf_counter() - started)
    out["one edit committed median"] = statistics.median(commits)
    repo.close()
    return out


def cli_edit(data_dir: str, database: str, repeat: int = 3) -> float:
    """One contact edit committed by ``crmtui contacts edit`` (the whole process): median."""
    repo = open_repository(data_dir, database or None)
    page = repo.contact_ids(ContactQuery(limit=repeat, offset=2000), None)
    repo.close()
    where = ["--database", database] if database else []
    times = []
    for i, cid in enumerate(page):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crmtui", "--data-dir", data_dir, *where,
                        "--user", "bench@example.com", "contacts", "edit", cid,
                        "--title", f"CLI {i}"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def contact_sync(database: str, n: int) -> dict[str, float]:
    """A first and an incremental (one CRM change) contact sync of ``n`` contacts a side against
    the in-process emulator, as benchmarks/sync_contacts.py runs them, on the store ``database``
    ("" for the TinyDB file): seconds."""
    import sync_contacts

    from crmtui.emulator import Emulator

    sync_contacts.open_store = lambda data_dir: open_repository(data_dir, database or None)
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        bench = sync_contacts.Bench(emu, Path(tmp) / "data")
        bench.seed_gmail(n)
        bench.seed_crm(n)
        _, first = bench.sync()
        bench.sync()  # reads back what the first one wrote
        bench.crm_edit(1, 1)
        _, incremental = bench.sync()
        bench.repo.close()
    return {f"contact sync first ({n:,} + {n:,})": first,
            "contact sync incremental (1 change)": incremental}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sync-contacts", type=int, default=10_000,
                        help="contacts a side of the contact sync measure (0: leave it out)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="each keystroke's time is the median of this many runs (more: "
                             "less noise from other work on the machine)")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "DATABASE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--sync-child", metavar="DATABASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        data_dir, database = args.child
        print(json.dumps(measure(data_dir, database, rounds=args.rounds)))
        return 0
    if args.sync_child is not None:
        print(json.dumps(contact_sync(args.sync_child, args.sync_contacts)))
        return 0
    with scratch_database(args.database, "crmtui_bench") as url:
        with tempfile.TemporaryDirectory() as tmp:
            figures: dict[str, dict[str, float]] = {}
            for label, database in (("TinyDB", ""), ("PostgreSQL", url)):
                repo = open_repository(tmp, database or None)
                took = generate(repo, args.contacts)
                repo.close()
                print(f"{label}: {args.contacts:,} contacts written in {took:.1f} s",
                      file=sys.stderr)
                done = subprocess.run([sys.executable, __file__, "--child", tmp, database,
                                       "--rounds", str(args.rounds)],
                                      check=True, capture_output=True, text=True)
                figures[label] = json.loads(done.stdout)
                figures[label]["one edit committed, CLI process median"] = cli_edit(tmp,
                                                                                    database)
        if args.sync_contacts:
            for label, database in (("TinyDB", ""), ("PostgreSQL", url)):
                if database:  # a database of its own for the sync's records
                    name = url.rsplit("/", 1)[1]
                    with psycopg.connect(args.database, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}_sync" WITH (FORCE)')
                        conn.execute(f'CREATE DATABASE "{name}_sync"')
                    database = f"{url}_sync"
                done = subprocess.run([sys.executable, __file__, "--sync-child", database,
                                       "--sync-contacts", str(args.sync_contacts)],
                                      check=True, capture_output=True, text=True)
                figures[label].update(json.loads(done.stdout))
    print(f"\n{args.contacts:,} contacts{'':<22} TinyDB   PostgreSQL   ratio")
    for key in figures["TinyDB"]:
        a, b = figures["TinyDB"][key], figures["PostgreSQL"][key]
        print(f"{key:<40} {a * 1000:8.1f} ms {b * 1000:8.1f} ms {b / a if a else 0:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
