"""The store side by side: TinyDB and PostgreSQL at 100,000 contacts.

Run with ``python benchmarks/store_pg.py [--contacts N] [--database ADMIN_URL]``: the same
believable contacts (benchmarks/store.py) go into a temporary data directory and into a new,
temporary PostgreSQL database (dropped at the end; ADMIN_URL default
postgresql://postgres@127.0.0.1:5432/postgres, a user that may create databases). Each store is
then opened in a fresh process, which prints: open + first rows (the 50 rows the contacts table
shows first), the full sorted id list of a column, a filter keystroke (every word of a search,
median and p95 over the searches of benchmarks/store.py), and one contact edit committed
(median). Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
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


def measure(data_dir: str, database: str) -> dict[str, float]:
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
    for column in ("name", "company", "modified"):
        started = time.perf_counter()
        ids = repo.contact_ids(ContactQuery(sort=column), viewer.id)
        out[f"all ids sorted by {column}"] = time.perf_counter() - started
    assert len(ids) == repo.count_contacts()
    times = []
    for text in SEARCHES:
        for typed in keystrokes(text):
            started = time.perf_counter()
            repo.contact_ids(ContactQuery(text=typed), viewer.id)
            times.append(time.perf_counter() - started)
    out["filter keystroke median"] = statistics.median(times)
    out["filter keystroke p95"] = p95(times)
    firsts = []
    for text in SEARCHES:  # what the contacts table shows first: the store's first page
        for typed in keystrokes(text):
            query = ContactQuery(text=typed)
            started = time.perf_counter()
            if repo.first_page(query, viewer.id) is None:
                repo.contact_ids(query, viewer.id)
            firsts.append(time.perf_counter() - started)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "DATABASE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0
    name = f"crmtui_bench_{uuid.uuid4().hex[:8]}"
    url = args.database.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures: dict[str, dict[str, float]] = {}
            for label, database in (("TinyDB", ""), ("PostgreSQL", url)):
                repo = open_repository(tmp, database or None)
                took = generate(repo, args.contacts)
                repo.close()
                print(f"{label}: {args.contacts:,} contacts written in {took:.1f} s",
                      file=sys.stderr)
                done = subprocess.run([sys.executable, __file__, "--child", tmp, database],
                                      check=True, capture_output=True, text=True)
                figures[label] = json.loads(done.stdout)
    finally:
        with psycopg.connect(args.database, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"\n{args.contacts:,} contacts            TinyDB   PostgreSQL   ratio")
    for key in figures["TinyDB"]:
        a, b = figures["TinyDB"][key], figures["PostgreSQL"][key]
        print(f"{key:<34} {a * 1000:8.1f} ms {b * 1000:8.1f} ms {b / a if a else 0:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
