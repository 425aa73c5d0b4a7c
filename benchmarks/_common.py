"""Helpers the sync benchmarks share: the emulator's request count per API, and timing a case
over several runs. (The control API: :class:`crmtui.emulator.control_client.EmulatorControl`.)"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from crmtui.emulator import Emulator


class Syncing(Protocol):
    def sync(self) -> tuple[int, float]: ...


def api_requests(emu: Emulator, api: str) -> int:
    """HTTP calls to ``api`` ("people", "calendar") served since the last call (batch parts
    apart); the log is then cleared."""
    with emu.state.lock:
        count = sum(1 for r in emu.state.requests if r.api == api and r.batch != "part")
        emu.state.requests.clear()
    return count


def measure(label: str, runs: int, prepare: Callable[[int], None], bench: Syncing,
            target: tuple[float, int] | None = None) -> None:
    """Run ``prepare`` then a sync ``runs`` times; print the medians (and a missed target:
    seconds, requests)."""
    requests, seconds = [], []
    for i in range(runs):
        prepare(i)
        r, s = bench.sync()
        requests.append(r)
        seconds.append(s)
    req, sec = statistics.median(requests), statistics.median(seconds)
    verdict = ""
    if target is not None:
        verdict = "  target met" if sec < target[0] and req <= target[1] else (
            f"  TARGET MISSED (under {target[0]} s, at most {target[1]} requests)")
    print(f"{label:<40} {req:>8.0f} {sec:>9.3f}   runs: "
          f"{', '.join(f'{s:.3f}' for s in seconds)}{verdict}", flush=True)


def measure_incremental(bench: Any, repeat: int, changes: int,
                        remote_edit: Callable[[int, int], None]) -> None:
    """The incremental runs of a sync benchmark: the run right after the first (it reads back
    what the first one wrote, so it stands apart), 1 change, ``changes`` on each side (crmtui's
    ``bench.crm_edit`` and ``remote_edit``), and nothing to do."""
    counter = iter(range(1, 1_000_000))

    def one_change(i: int) -> None:
        bench.crm_edit(1, next(counter))

    def many_changes(i: int) -> None:
        round_ = next(counter)
        bench.crm_edit(changes, round_)
        remote_edit(changes, round_)

    measure("the sync after the first, 1 change", 1, one_change, bench)
    measure("incremental, 1 change", repeat, one_change, bench, (0.5, 3))
    measure(f"incremental, {2 * changes} changes", repeat, many_changes, bench)
    measure("nothing to do", repeat, lambda i: None, bench)


@contextmanager
def scratch_database(server: str, prefix: str) -> Iterator[str]:
    """The URL of a new PostgreSQL database on the server of ``server`` (a URL crmtui may
    connect to), dropped afterwards, with whatever the benchmark made beside it
    (``NAME_sync``)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}_sync" WITH (FORCE)')
