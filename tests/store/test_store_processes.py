"""Several processes on one database: SIGKILL at random moments, and two writers at once.

Both tests run ``writer.py`` (beside this file) in subprocesses.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from crmtui.store import DB_FILE, open_store

HERE = Path(__file__).parent
WRITER = HERE / "writer.py"
ROOT = HERE.parents[1]
BATCH = 3  # writer.BATCH

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def writer(*args: str, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen([sys.executable, str(WRITER), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environ)


BALLAST = 300  # writer.BALLAST


def committed_state(counter: int) -> dict[str, tuple[str, str]]:
    """Every contact's (job title, notes) in the writer's committed state number ``counter``."""
    state = {"counter": (str(counter), "")}
    for i in range(BALLAST):
        rounds = range(i, counter, BALLAST)
        state[f"ballast-{i}"] = ("", f"round {rounds[-1]}" if rounds else "x" * 200)
    state.update({f"c-{n}-{j}": ("", "") for n in range(counter) for j in range(BATCH)})
    return state


def read_files(data_dir: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """The contacts the files hold, decoded here without crmtui's code (the base is one JSON
    document; the journal is JSON lines, each record's commit checked against its size and
    CRC-32), and what the journal's tail was: "none", "stale" (of an earlier base), "whole" or
    "torn" (a record cut short, which only the last one may be)."""
    base = orjson.loads((data_dir / DB_FILE).read_bytes())
    ident = base.pop("_storage")["base"]["id"]
    contacts = base["contacts"]
    journal = data_dir / (DB_FILE + ".journal")
    if not journal.exists():
        return contacts, "none"
    *lines, rest = journal.read_bytes().split(b"\n")
    if json.loads(lines[0])["base"] != ident:
        return contacts, "stale"
    tail = "torn" if rest else "whole"
    for i, line in enumerate(lines[1:], 2):
        head, _, payload = line.partition(b',"commit":')
        meta = json.loads(head + b"}")
        payload = payload[:-1]
        if len(payload) != meta["size"] or zlib.crc32(payload) != meta["crc"]:
            assert i == len(lines) and not rest, "only the last record may be torn"
            tail = "torn"
            break
        for doc_id, doc in json.loads(payload).get("contacts", {}).items():
            if doc is None:
                contacts.pop(doc_id, None)
            else:
                contacts[doc_id] = doc
    return contacts, tail


@pytest.mark.parametrize(("case", "args", "kills"), [
    ("journal", [], 70),  # the default thresholds: commits append to the journal
    ("compaction", ["0.05"], 70),  # a compaction every few commits
    ("compaction, large tables read by line", ["0.05", "lazy"], 70),
])
def test_sigkill_at_random_moments_never_damages_the_store(tmp_path: Path, case: str,
                                                           args: list[str], kills: int
                                                           ) -> None:
    """A writer committing in a loop is killed at random instants, many times; after each kill
    the files hold exactly one committed state (every acknowledged commit, perhaps the one in
    flight), and the store opens as that state."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    server = writer("forks", str(data_dir), *args)
    assert server.stdin is not None and server.stdout is not None
    try:
        assert server.stdout.readline() == "ready\n", server.communicate()[1]
        last = 0
        tails: dict[str, int] = {}
        temporaries = 0  # kills that left a half-written temporary file behind
        pid = 0
        for kill in range(kills):
            where = f"{case}: kill {kill + 1} of {kills} (seed {seed})"
            server.stdin.write("fork\n")
            server.stdin.flush()
            pid, acked = 0, []
            while not (pid and acked):  # the child is committing (however loaded the machine)
                line = server.stdout.readline()
                assert line, f"{where}: the writer failed: {server.communicate()[1]}"
                if line.startswith("child "):
                    pid = int(line.split()[1])
                elif line.startswith("committed "):
                    acked.append(int(line.split()[1]))
            time.sleep(rng.uniform(0.0, 0.03))
            os.kill(pid, signal.SIGKILL)
            while (line := server.stdout.readline()) != f"exited {pid}\n":
                assert line, f"{where}: the writer failed: {server.communicate()[1]}"
                if line.startswith("committed "):
                    acked.append(int(line.split()[1]))
            pid = 0
            temporaries += any(data_dir.glob(f".{DB_FILE}.*.tmp"))

            # The files as they are, before anything repairs them: one committed state.
            contacts, tail = read_files(data_dir)
            tails[tail] = tails.get(tail, 0) + 1
            counter = int(contacts["counter"]["job_title"])
            assert {cid: (d.get("job_title", ""), d.get("notes", ""))
                    for cid, d in contacts.items()} == committed_state(counter), where
            # Never backwards, and every commit the writer reported is there.
            assert counter >= last, f"{where}: went back from {last} to {counter}"
            if acked:
                assert acked == list(range(acked[0], acked[-1] + 1)), where
                assert counter in (acked[-1], acked[-1] + 1), f"{where}: lost acknowledged commits"
            store = open_store(data_dir)
            try:
                assert {c.id: (c.job_title, c.notes) for c in store.iter_contacts()} == \
                    committed_state(counter), where
            finally:
                store.close()
            assert not any(data_dir.glob(f".{DB_FILE}.*.tmp")), "opening removes stale temporaries"
            last = counter
    finally:
        if pid:  # a child still running after a failed check
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        server.stdin.close()
        server.wait(timeout=30)
    assert last >= kills, f"the writer made too little progress to test anything ({last})"
    print(f"{case}: {kills} kills, {last} commits; journal tail after a kill: {tails}; "
          f"{temporaries} kills during a compaction's write (seed {seed})")


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    open_store(data_dir).close()  # both start from an existing file
    count = 300
    procs = {p: writer("race", str(data_dir), p, str(count), PEERS="alpha,beta")
             for p in ("alpha", "beta")}
    for prefix, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{prefix} failed: {err}"
        assert out.strip() == f"done {count}"
    store = open_store(data_dir)
    try:
        contacts = {c.id: c for c in store.iter_contacts()}
        spans = []
        for prefix in procs:
            assert store.get_contact(f"{prefix}-counter").job_title == str(count)
            mine = [contacts[f"{prefix}-{i}"] for i in range(count)]
            assert all(c.given_name == prefix for c in mine)
            spans.append((min(c.created for c in mine), max(c.created for c in mine)))
        assert len(contacts) == 2 * (count + 1)
        # They really ran at the same time: their writes interleave.
        (a_start, a_end), (b_start, b_end) = spans
        assert a_start < b_end and b_start < a_end
    finally:
        store.close()


def test_open_repository_sees_another_process_commit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    repo = open_store(data_dir)
    try:
        assert repo.refresh() is False
        script = ("import sys; from crmtui.model import Contact; from crmtui.store import open_store;"
                  "open_store(sys.argv[1]).add_contact(Contact(id='fromafar', given_name='Remote'))")
        subprocess.run([sys.executable, "-c", script, str(data_dir)], check=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert repo.refresh() is True
        assert repo.get_contact("fromafar").given_name == "Remote"
        subprocess.run([sys.executable, "-c", script.replace("add_contact(", "update_contact(")
                        .replace("'Remote'", "'Changed'"), str(data_dir)], check=True,
                       timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert repo.get_contact("fromafar").given_name == "Changed"  # a plain read reloads
    finally:
        repo.close()
