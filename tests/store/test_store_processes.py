"""Several processes on one database: SIGKILL at random moments, and two writers at once.

Both tests run ``writer.py`` (beside this file) in subprocesses.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from crmtui.store import DB_FILE, open_store

HERE = Path(__file__).parent
WRITER = HERE / "writer.py"
ROOT = HERE.parents[1]
BATCH = 3  # writer.BATCH
KILLS = 32

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def writer(*args: str, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen([sys.executable, str(WRITER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environ)


def test_sigkill_at_random_moments_never_damages_the_store(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    path = data_dir / DB_FILE
    last = 0
    torn = 0  # kills that left a half-written temporary file behind
    for kill in range(KILLS):
        where = f"kill {kill + 1} of {KILLS} (seed {seed})"
        proc = writer("loop", str(data_dir))
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready == "ready\n", f"{where}: writer failed to start: {proc.communicate()[1]}"
        time.sleep(rng.uniform(0.0, 0.06))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL, f"{where}: writer ended by itself: {err}"
        acked = [int(line.split()[1]) for line in out.splitlines()
                 if line.startswith("committed ")]
        torn += any(data_dir.glob(f".{DB_FILE}.*.tmp"))

        # The file on disk is whole, valid JSON, before anything repairs it.
        raw = orjson.loads(path.read_bytes())
        disk_counter = int(raw["contacts"]["counter"]["job_title"])
        store = open_store(data_dir)
        try:
            counter = int(store.get_contact("counter").job_title)
            assert counter == disk_counter
            batch = {c.id for c in store.iter_contacts() if c.id.startswith("c-")}
            # The invariant of every committed state: all of each transaction or none of it.
            assert batch == {f"c-{n}-{j}" for n in range(counter) for j in range(BATCH)}, where
            if counter:
                ballast = store.get_contact(f"ballast-{(counter - 1) % 300}")
                assert ballast.notes == f"round {counter - 1}", where
        finally:
            store.close()
        # Never backwards, and every commit the writer reported is there.
        assert counter >= last, f"{where}: went back from {last} to {counter}"
        if acked:
            assert acked == list(range(acked[0], acked[-1] + 1)), where
            assert counter in (acked[-1], acked[-1] + 1), f"{where}: lost acknowledged commits"
        last = counter
        assert not any(data_dir.glob(f".{DB_FILE}.*.tmp")), "opening removes stale temporaries"
    assert last >= KILLS, f"the writer made too little progress to test anything ({last})"
    print(f"{KILLS} kills, counter {last}, {torn} kills during a commit's write (seed {seed})")


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
