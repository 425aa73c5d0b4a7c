"""TUI benchmark: 100,000 contacts, first rows painted, filter and scroll latency, memory.

Run with ``make bench`` (or ``python benchmarks/tui.py [--contacts N] [--keep DIR]``). It builds
the store once (with benchmarks/store.py's generator) in a temporary data directory, then:

- starts ``crmtui`` 5 times under a pseudo terminal (140x45) and times process start to the
  moment the first contact in the sort order is written to the terminal (median);
- in a fresh process, drives the app with ``App.run_test(size=(140, 45))``: scroll steps (down and
  PageDown) and a filter typed letter by letter, each timed from the key press to the table's
  repaint (the first ``render_line`` of a table row showing the new state); p50 and p95;
- peak RSS (VmHWM) of the app process under the pty, and of the in-process run.

Prints figures and whether each target of the issue is met. Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import resource
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from store import ensure_generated, p95

from crmtui.store import ContactQuery, open_store

COLUMNS, LINES = 140, 45
RUNS = 5
TYPED = ["garcia", "pied", "kowalski"]  # typed letter by letter, then erased with backspace
DOWNS, PAGE_DOWNS = 25, 25

TARGETS = {  # the targets: seconds, or MB for memory
    "first rows (pty) median": 1.5,
    "filter keystroke p95": 0.050,
    "scroll step p50": 0.016,
    "scroll step p95": 0.016,
    "peak RSS (pty app)": 500.0,
    "peak RSS (in-process)": 500.0,
}


def first_name(data_dir: Path) -> str:
    """The list name of the first contact in the default sort order (what the first row shows)."""
    from crmtui.screens.contacts import list_name

    repo = open_store(data_dir)
    try:
        user = repo.find_user("bench@example.com")
        viewer = user.id if user else None
        ids = repo.contact_ids(ContactQuery(limit=1), viewer)
        return list_name(repo.get_contacts(ids, viewer)[0])
    finally:
        repo.close()


def vm_hwm(pid: int) -> float:
    """Peak resident memory of process ``pid``, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pty_first_rows(data_dir: Path, marker: bytes, timeout: float = 60.0) -> tuple[float, float]:
    """Start crmtui under a pty; seconds until ``marker`` is written, and its peak RSS (MB)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {**os.environ, "COLUMNS": str(COLUMNS), "LINES": str(LINES),
           "TERM": "xterm-256color", "CRMTUI_HOME": str(data_dir)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crmtui", "--data-dir", str(data_dir)],
                            stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""
    elapsed = rss = float("nan")
    try:
        deadline = started + timeout
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen = seen[-len(marker):] + chunk
            if marker in seen:
                elapsed = time.perf_counter() - started
                rss = vm_hwm(proc.pid)
                break
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)
    if elapsed != elapsed:  # NaN: never seen
        raise RuntimeError(f"crmtui never painted {marker!r} within {timeout:.0f} s "
                           f"(exit status {proc.returncode})")
    return elapsed, rss


# -- in process -----------------------------------------------------------------------------------


async def drive(data_dir: Path) -> dict[str, Any]:
    from crmtui.app import CrmApp
    from crmtui.screens.contacts import ContactsScreen
    from crmtui.screens.context import Services
    from crmtui.widgets import LazyTable

    repo = open_store(data_dir)
    user = repo.find_user("bench@example.com")
    assert user is not None
    app = CrmApp(Services(repo, user.id, data_dir))
    out: dict[str, Any] = {}
    paints: list[tuple[float, int, str | None, int]] = []  # time, cursor, query text, rows
    queried: list[tuple[float, str]] = []

    def painted_after(t0: float, ok: Any) -> float | None:
        for when, cursor, text, rows in paints:
            if when > t0 and ok(cursor, text, rows):
                return when
        return None

    async def repainted(t0: float, ok: Any, timeout: float = 30.0) -> float:
        """When the table first painted a row in the state ``ok(cursor, query text, rows)``
        accepts, after ``t0``."""
        while (done := painted_after(t0, ok)) is None:
            if time.perf_counter() > t0 + timeout:
                raise TimeoutError("the table never showed the expected state")
            await asyncio.sleep(0.001)
        return done

    started = time.perf_counter()
    async with app.run_test(size=(COLUMNS, LINES)) as pilot:
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        table = screen.query_one("#contacts", LazyTable)
        render_line = table.render_line
        set_query = screen.set_query

        def recording_render_line(y: int) -> Any:
            strip = render_line(y)
            if y >= 1 and table.row_count:
                result = screen.result
                paints.append((time.perf_counter(), table.cursor_row,
                               result.query.text if result else None, table.row_count))
            return strip

        def recording_set_query(query: ContactQuery) -> None:
            queried.append((time.perf_counter(), query.text))
            set_query(query)

        table.render_line = recording_render_line  # type: ignore[method-assign]
        screen.set_query = recording_set_query  # type: ignore[method-assign]

        first = await repainted(started, lambda c, t, r: t == "")
        out["mount to first rows (run_test)"] = first - started
        out["rows"] = table.row_count

        # Scrolling: each step from the key press to the repaint with the cursor moved.
        steps = []
        for key in ["down"] * DOWNS + ["pagedown"] * PAGE_DOWNS:
            expected = min(table.row_count - 1, table.cursor_row + (
                1 if key == "down" else table._page_height))
            t0 = time.perf_counter()
            await pilot.press(key)
            done = await repainted(t0, lambda c, t, r, e=expected: c == e)
            steps.append(done - t0)
        out["scroll steps"] = steps

        # Filtering: "/" then each letter (and each backspace), to the table repainted with it.
        await pilot.press("slash")
        keystrokes, after_debounce = [], []
        keys: list[tuple[str, str]] = []
        for word in TYPED:
            for i, ch in enumerate(word):
                keys.append((ch, word[:i + 1]))
            for i in range(len(word) - 1, -1, -1):
                keys.append(("backspace", word[:i]))
        for key, text in keys:
            t0 = time.perf_counter()
            await pilot.press(key)
            done = await repainted(t0, lambda c, t, r, want=text: t == want)
            keystrokes.append(done - t0)
            fired = [when for when, q in queried if when > t0 and q == text]
            if fired:
                after_debounce.append(done - fired[0])
        out["filter keystrokes"] = keystrokes
        out["filter after debounce"] = after_debounce
        await pilot.press("escape")
    repo.close()
    out["peak RSS (in-process)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def in_process(data_dir: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--drive", str(data_dir)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the in-process run failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# -- report ---------------------------------------------------------------------------------------


def report(n: int, generation: float, figures: dict[str, float], notes: list[str]) -> None:
    print(f"crmtui TUI benchmark: {n:,} contacts, terminal {COLUMNS}x{LINES}")
    if generation:
        print(f"  store generated in {generation:.1f} s")
    for note in notes:
        print(f"  {note}")
    for name, value in figures.items():
        mb = "RSS" in name
        shown = f"{value:8.1f} MB" if mb else f"{value * 1000:8.1f} ms"
        verdict = ""
        if name in TARGETS:
            limit = TARGETS[name]
            target = f"{limit:.0f} MB" if mb else f"{limit * 1000:.0f} ms"
            verdict = f"  target < {target}: {'met' if value < limit else 'MISSED'}"
        print(f"  {name:<40}{shown}{verdict}")
    missed = [name for name, limit in TARGETS.items() if name in figures and figures[name] >= limit]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:  # the in-process child
        print(json.dumps(asyncio.run(drive(args.drive))))
        return 0
    with tempfile.TemporaryDirectory(prefix="crmtui-tuibench-") as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        generation = ensure_generated(data_dir, args.contacts)
        name = first_name(data_dir)
        marker = name[:12].encode()
        notes = [f"first row expected: {name!r}"]
        figures: dict[str, float] = {}
        try:
            runs = [pty_first_rows(data_dir, marker) for _ in range(RUNS)]
            times = [t for t, _ in runs]
            figures["first rows (pty) median"] = statistics.median(times)
            figures["first rows (pty) max"] = max(times)
            figures["peak RSS (pty app)"] = max(r for _, r in runs)
            notes.append("first rows (pty), runs: " + ", ".join(f"{t:.3f}" for t in times) + " s")
        except (OSError, RuntimeError) as exc:
            notes.append(f"pty measurement failed ({exc}); first rows measured in process only")
        driven = in_process(data_dir)
        figures["mount to first rows (run_test)"] = driven["mount to first rows (run_test)"]
        keystrokes = driven["filter keystrokes"]
        figures["filter keystroke p50"] = statistics.median(keystrokes)
        figures["filter keystroke p95"] = p95(keystrokes)
        if driven["filter after debounce"]:
            figures["filter after debounce p50"] = statistics.median(
                driven["filter after debounce"])
            figures["filter after debounce p95"] = p95(driven["filter after debounce"])
        figures["scroll step p50"] = statistics.median(driven["scroll steps"])
        figures["scroll step p95"] = p95(driven["scroll steps"])
        figures["scroll step max"] = max(driven["scroll steps"])
        figures["peak RSS (in-process)"] = driven["peak RSS (in-process)"]
        notes.append(f"{len(keystrokes)} filter keystrokes ({', '.join(TYPED)}, typed then "
                     "erased), key press to repaint; the search runs at once, no typing delay "
                     "('after debounce' = search asked for to repaint)")
        notes.append(f"{len(driven['scroll steps'])} scroll steps ({DOWNS} down, "
                     f"{PAGE_DOWNS} PageDown)")
        n = driven["rows"]
    report(n, generation, figures, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
