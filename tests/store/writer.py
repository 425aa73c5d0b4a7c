"""A writer process for the crash and concurrency tests (run as a script, never imported).

``writer.py loop DATA_DIR``
    Commits transactions forever. Each one reads the counter contact (``counter``, its job title
    holds N), adds ``BATCH`` contacts ``c-N-0`` ... and rewrites the note of a ballast contact, then
    sets the counter to N + 1. Invariant of every committed state: the number of ``c-`` contacts
    is ``BATCH`` times the counter. After each commit it prints ``committed N+1``.

``writer.py forks DATA_DIR [COMPACT_SHARE [lazy]]``
    A fork server for many kills in little time: imports crmtui once, prints ``ready``, then for
    each line ``fork`` read on stdin forks a child that runs ``loop`` (and prints ``child PID``),
    waits for it and prints ``exited PID``: the child's ``committed N`` lines all come before.
    With COMPACT_SHARE, the journal is compacted when it passes that share of the base (and no
    minimum size), so that kills land in compactions too; with ``lazy``, tables of 50 documents
    or more are read a line (of 7) at a time.

``writer.py race DATA_DIR PREFIX COUNT``
    Adds COUNT contacts ``PREFIX-i``, each in its own commit, and after each one increments its
    own counter contact ``PREFIX-counter`` in a second commit. Before starting it creates the file
    ``PREFIX.ready`` in DATA_DIR and waits until every ``*.ready`` file named in ``PEERS`` (an
    environment variable, comma separated) exists, so that the writers really run together.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from crmtui.model import Contact
from crmtui.store import NotFound, TinyDBRepository, open_store, storage

BATCH = 3
BALLAST = 300  # contacts that make every commit write a file of some size


def say(line: str) -> None:
    """Print a line in one write, so that the lines of a fork server and its child, writing to
    the same pipe, never mix."""
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def counter_value(repo: TinyDBRepository, counter_id: str) -> int:
    return int(repo.get_contact(counter_id).job_title)


def loop(data_dir: str) -> None:
    repo = open_store(data_dir)
    try:
        repo.get_contact("counter")
    except NotFound:
        with repo.transaction():
            repo.add_contact(Contact(id="counter", given_name="Counter", job_title="0"))
            repo.add_contacts([Contact(id=f"ballast-{i}", given_name="Ballast",
                                       family_name=str(i), emails=[f"b{i}@example.com"],
                                       notes="x" * 200) for i in range(BALLAST)])
    say("ready")
    while True:
        with repo.transaction():
            n = counter_value(repo, "counter")
            repo.add_contacts([Contact(id=f"c-{n}-{j}", given_name="Batch", family_name=str(n))
                               for j in range(BATCH)])
            ballast = repo.get_contact(f"ballast-{n % BALLAST}")
            repo.update_contact(ballast.evolve(notes=f"round {n}"))
            counter = repo.get_contact("counter")
            repo.update_contact(counter.evolve(job_title=str(n + 1)))
        say(f"committed {n + 1}")


def forks(data_dir: str, share: str | None, lazy: bool) -> None:
    if share is not None:
        storage.COMPACT_SHARE, storage.COMPACT_MIN = float(share), 0
    if lazy:
        storage.LINE_DOCS, storage.LAZY_MIN_DOCS = 7, 50
    say("ready")
    for line in sys.stdin:
        if line.strip() != "fork":
            continue
        pid = os.fork()
        if pid == 0:
            try:
                loop(data_dir)
            finally:
                os._exit(1)
        say(f"child {pid}")
        os.waitpid(pid, 0)
        say(f"exited {pid}")


def race(data_dir: str, prefix: str, count: int) -> None:
    repo = open_store(data_dir)
    counter_id = f"{prefix}-counter"
    repo.add_contact(Contact(id=counter_id, given_name="Counter", family_name=prefix,
                             job_title="0"))
    Path(data_dir, f"{prefix}.ready").touch()
    peers = [p for p in os.environ.get("PEERS", "").split(",") if p]
    while not all(Path(data_dir, f"{p}.ready").exists() for p in peers):
        time.sleep(0.01)
    for i in range(count):
        repo.add_contact(Contact(id=f"{prefix}-{i}", given_name=prefix, family_name=str(i)))
        with repo.transaction():
            counter = repo.get_contact(counter_id)
            repo.update_contact(counter.evolve(job_title=str(int(counter.job_title) + 1)))
    print(f"done {counter_value(repo, counter_id)}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "loop":
        loop(sys.argv[2])
    elif sys.argv[1] == "forks":
        forks(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None, "lazy" in sys.argv[4:])
    else:
        race(sys.argv[2], sys.argv[3], int(sys.argv[4]))
