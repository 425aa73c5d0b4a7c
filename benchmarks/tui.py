"""TUI benchmark: first rows at 100,000 and 300,000 contacts beside VisiData, the first search
keystroke, filter and scroll latency, memory.

Run with ``make bench`` (or ``python benchmarks/tui.py [--contacts N ...] [--keep DIR]``). For
each size it builds a store (with benchmarks/store.py's generator) in a temporary data
directory, writes the same rows (name, company, job title, email, phone, tags, in the list's
order) as a CSV file, then:

- starts ``crmtui`` and VisiData (``vd FILE.csv``) 5 times each (``--runs``), alternately,
  under a pseudo terminal (140x45) and times process start to the moment the first contact in
  the sort order is written to the terminal (median), and crmtui's peak RSS (VmHWM) then;
- at the first size, in a fresh process, drives the app with ``App.run_test(size=(140, 45))``:
  the first search keystroke right after the first rows (the store still reading), then, once
  the search index is built, scroll steps (down and PageDown) and names typed letter by letter
  (unaccented letters that match accented names) and erased, each timed from the key press to
  the table's repaint (the first ``render_line`` of a table row showing the new state).

crmtui's bytecode is written first, as installing crmtui does (VisiData's is written by its
install): where PYTHONDONTWRITEBYTECODE is set, an editable crmtui would otherwise compile its
sources at every launch. ``--launch-only`` measures the launches alone. ``--postgres URL``
then compares TinyDB and PostgreSQL on the same contacts (copied into a database made for it on
that server): first rows of whole launches under the pty, first rows in process (the store's
modules loaded first, as they are for TinyDB) and the same keystrokes, ``--runs`` of each,
alternately, with medians, p95 and ratios, and what importing psycopg adds to a launch.

VisiData is installed into the benchmark's own environment (benchmarks/.venv-vd, created on the
first run with ``python -m venv`` and ``pip install visidata``), never into crmtui's. Prints the
figures beside those measured before this work (issue 12) and whether each target is met. Never
part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
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

from _common import scratch_database
from store import ensure_generated, p95

from crmtui.store import ContactQuery, open_store

COLUMNS, LINES = 140, 45
RUNS = 5
SIZES = (100_000, 300_000)
# Typed letter by letter, then erased with backspace: unaccented letters that match accented
# names (García, Ångström, Müller, José, Zoë, Lefèvre).
TYPED = ["garcia", "angstrom", "muller", "jose", "zoe lef"]
FIRST_KEY = "g"  # the first search keystroke, right after the first rows
DOWNS, PAGE_DOWNS = 25, 25
VD_ENV = Path(__file__).resolve().parent / ".venv-vd"

TARGETS = {  # the targets: seconds, MB for memory, or a ratio to VisiData
    "first rows / VisiData at 100,000": 1.0,
    "first rows / VisiData at 300,000": 1.5,
    "first search keystroke after first rows": 0.100,
    "letter keystroke p95": 0.050,
    "RSS at first rows (100,000)": 150.0,
}
BEFORE = {  # measured before this work (issue 12)
    "first rows (pty) median at 100,000": "1.2-1.5 s",
    "first rows / VisiData at 100,000": "3.6-3.8x",
    "first rows / VisiData at 300,000": "7.3x",
    "first search keystroke after first rows": "710 ms",
    "RSS at first rows (100,000)": "287 MB",
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


def write_csv(data_dir: Path, path: Path) -> None:
    """The rows the contacts list shows, in its order, as CSV (what VisiData opens)."""
    from crmtui.screens.contacts import list_name

    repo = open_store(data_dir)
    try:
        user = repo.find_user("bench@example.com")
        viewer = user.id if user else None
        tags = {t.id: t.name for t in repo.list_tags(viewer)}
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["name", "company", "job_title", "email", "phone", "tags"])
            for c in repo.stream_contacts(ContactQuery(), viewer):
                writer.writerow([list_name(c), c.company, c.job_title, c.primary_email,
                                 c.primary_phone, ", ".join(tags[t] for t in c.tags if t in tags)])
    finally:
        repo.close()


def visidata() -> Path | None:
    """The ``vd`` command of the benchmark's own environment, installed there if needed."""
    vd = VD_ENV / "bin" / "vd"
    if not vd.exists():
        print(f"installing VisiData into {VD_ENV} ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VD_ENV)], check=True)
            subprocess.run([str(VD_ENV / "bin" / "pip"), "install", "--quiet", "visidata"],
                           check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"  cannot install VisiData ({exc}); measuring crmtui alone", flush=True)
            return None
    return vd


def compile_bytecode() -> str:
    """Write crmtui's bytecode, as installing it does (pip compiles every module): an
    environment with PYTHONDONTWRITEBYTECODE (or an editable install never run) would otherwise
    compile crmtui's sources at every launch, which no installed crmtui does, while VisiData's
    installed modules are compiled. A note for the report."""
    import compileall

    import crmtui

    package = Path(crmtui.__file__).parent
    ok = compileall.compile_dir(str(package), quiet=1)
    return (f"crmtui's bytecode written as an install does ({package})" if ok else
            "crmtui's bytecode could not all be written: its launches compile sources too")


def vm_hwm(pid: int) -> float:
    """Peak resident memory of process ``pid``, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pty_first_rows(command: list[str], marker: bytes, env: dict[str, str],
                   timeout: float = 120.0) -> tuple[float, float]:
    """Start ``command`` under a pty; seconds until ``marker`` is written, and its peak RSS
    (MB) then."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {**os.environ, "COLUMNS": str(COLUMNS), "LINES": str(LINES),
           "TERM": "xterm-256color", **env}
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
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
        raise RuntimeError(f"{command[0]} never painted {marker!r} within {timeout:.0f} s "
                           f"(exit status {proc.returncode})")
    return elapsed, rss


def launches(data_dir: Path, csv_path: Path, vd: Path | None, marker: bytes, runs: int = RUNS
             ) -> tuple[list[tuple[float, float]], list[float]]:
    """crmtui's and VisiData's first rows, ``runs`` each, alternately (so that the machine's
    load weighs on both alike)."""
    crm, vis = [], []
    home = tempfile.mkdtemp(prefix="crmtui-vdhome-")
    for _ in range(runs):
        crm.append(pty_first_rows([sys.executable, "-m", "crmtui", "--data-dir", str(data_dir)],
                                  marker, {"CRMTUI_HOME": str(data_dir)}))
        if vd is not None:
            # No ~/.visidatarc and no saved state: a fresh VisiData on the file.
            vis.append(pty_first_rows([str(vd), str(csv_path)], marker, {"HOME": home})[0])
    return crm, vis


# -- in process -----------------------------------------------------------------------------------


async def drive(data_dir: Path, database: str = "") -> dict[str, Any]:
    from crmtui.app import CrmApp
    from crmtui.screens.contacts import ContactsScreen
    from crmtui.screens.context import Services
    from crmtui.store import TinyDBRepository, open_repository
    from crmtui.widgets import LazyTable

    if database:  # the store's modules loaded before the clock starts, as TinyDB's are (the
        import crmtui.store.pg_store  # noqa: F401  launches time the whole process: psycopg too)
    started = time.perf_counter()
    # as the crmtui command opens it for the TUI (deferred, or the team's database)
    repo = (open_repository(data_dir, database) if database
            else open_store(data_dir, deferred=True))
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

    async def repainted(t0: float, ok: Any, timeout: float = 60.0) -> float:
        """When the table first painted a row in the state ``ok(cursor, query text, rows)``
        accepts, after ``t0``."""
        while (done := painted_after(t0, ok)) is None:
            if time.perf_counter() > t0 + timeout:
                raise TimeoutError("the table never showed the expected state")
            await asyncio.sleep(0.001)
        return done

    # Recorded from the first frame on (a store that answers at once paints its first rows
    # before the pilot gets control).
    render_line = LazyTable.render_line
    set_query = ContactsScreen.set_query

    def recording_render_line(table: LazyTable, y: int) -> Any:
        strip = render_line(table, y)
        screen = table.screen
        if table.id == "contacts" and y >= 1 and table.row_count and isinstance(
                screen, ContactsScreen):
            result = screen.result
            paints.append((time.perf_counter(), table.cursor_row,
                           result.query.text if result else None, table.row_count))
        return strip

    def recording_set_query(screen: ContactsScreen, query: ContactQuery) -> None:
        queried.append((time.perf_counter(), query.text))
        set_query(screen, query)

    LazyTable.render_line = recording_render_line  # type: ignore[method-assign]
    ContactsScreen.set_query = recording_set_query  # type: ignore[method-assign]
    async with app.run_test(size=(COLUMNS, LINES)) as pilot:
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        table = screen.query_one("#contacts", LazyTable)

        first = await repainted(started, lambda c, t, r: t == "")
        out["open to first rows (run_test)"] = first - started
        out["store still reading at first rows"] = getattr(repo, "loading", False)

        # The first search keystroke right after the first rows: "/" then a letter.
        await pilot.press("slash")
        t0 = time.perf_counter()
        await pilot.press(FIRST_KEY)
        done = await repainted(t0, lambda c, t, r: t == FIRST_KEY)
        out["first search keystroke after first rows"] = done - t0
        erased = time.perf_counter()
        await pilot.press("backspace", "escape")
        await repainted(erased, lambda c, t, r: t == "" and r > 1000)

        # Steady state: every contact read and the search texts indexed.
        while isinstance(repo, TinyDBRepository) and (
                repo.loading or repo._index is None or repo._index.hay is None
                or repo._index.letters is None or not repo._index.letters.all_pairs):
            await asyncio.sleep(0.01)
        out["open to search index built"] = time.perf_counter() - started
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
        letters, erased, after_debounce = [], [], []
        keys: list[tuple[str, str]] = []
        for word in TYPED:
            for i, ch in enumerate(word):
                keys.append(("space" if ch == " " else ch, word[:i + 1]))
            for i in range(len(word) - 1, -1, -1):
                keys.append(("backspace", word[:i]))
        for key, text in keys:
            t0 = time.perf_counter()
            await pilot.press(key)
            done = await repainted(t0, lambda c, t, r, want=text: t == want)
            (erased if key == "backspace" else letters).append(done - t0)
            fired = [when for when, q in queried if when > t0 and q == text]
            if fired:
                after_debounce.append(done - fired[0])
        out["letters"] = letters
        out["backspaces"] = erased
        out["filter after debounce"] = after_debounce
        await pilot.press("escape")
    repo.close()
    out["peak RSS (in-process, every contact read and indexed)"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def in_process(data_dir: Path, database: str = "") -> dict[str, Any]:
    more = ["--drive-database", database] if database else []
    done = subprocess.run([sys.executable, __file__, "--drive", str(data_dir), *more],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the in-process run failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# -- report ---------------------------------------------------------------------------------------


def shown(name: str, value: float) -> str:
    if "RSS" in name:
        return f"{value:8.1f} MB"
    if "/ VisiData" in name:
        return f"{value:8.2f} x "
    return f"{value * 1000:8.1f} ms"


def report(figures: dict[str, float], notes: list[str]) -> None:
    print(f"crmtui TUI benchmark: terminal {COLUMNS}x{LINES}")
    for note in notes:
        print(f"  {note}")
    print(f"  {'':<52}{'now':>11}   {'before':>10}")
    for name, value in figures.items():
        verdict = ""
        if name in TARGETS:
            limit = TARGETS[name]
            target = shown(name, limit).strip()
            verdict = f"  target < {target}: {'met' if value < limit else 'MISSED'}"
            if "/ VisiData" in name:
                verdict = f"  target <= {target}: {'met' if value <= limit else 'MISSED'}"
        print(f"  {name:<52}{shown(name, value)}   {BEFORE.get(name, ''):>10}{verdict}")
    missed = [name for name, limit in TARGETS.items() if name in figures and (
        figures[name] > limit if "/ VisiData" in name else figures[name] >= limit)]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")


def measure_size(n: int, keep: Path | None, vd: Path | None, figures: dict[str, float],
                 notes: list[str], *, runs: int = RUNS, drive_it: bool,
                 launch: bool = True) -> None:
    with tempfile.TemporaryDirectory(prefix="crmtui-tuibench-") as tmp:
        data_dir = keep / f"{n}" if keep else Path(tmp) / "data"
        generation = ensure_generated(data_dir, n)
        if generation:
            notes.append(f"{n:,} contacts generated in {generation:.1f} s")
        if launch:
            launch_size(n, data_dir, Path(tmp), vd, figures, notes, runs)
        if drive_it:
            drive_size(data_dir, figures, notes)


def launch_size(n: int, data_dir: Path, tmp: Path, vd: Path | None, figures: dict[str, float],
                notes: list[str], runs: int = RUNS) -> None:
    """First rows under a pty, crmtui beside VisiData, and crmtui's memory then."""
    name = first_name(data_dir)
    marker = name[:12].encode()
    csv_path = tmp / "contacts.csv"
    write_csv(data_dir, csv_path)
    notes.append(f"{n:,}: first row expected {name!r}; CSV for VisiData "
                 f"{csv_path.stat().st_size / 1e6:.1f} MB")
    at = f"at {n:,}"
    crm, vis = launches(data_dir, csv_path, vd, marker, runs)
    times = [t for t, _ in crm]
    figures[f"first rows (pty) median {at}"] = statistics.median(times)
    notes.append(f"crmtui first rows {at}, runs: " + ", ".join(f"{t:.3f}" for t in times)
                 + " s")
    if vis:
        figures[f"VisiData first rows (pty) median {at}"] = statistics.median(vis)
        figures[f"first rows / VisiData {at}"] = statistics.median(times) / \
            statistics.median(vis)
        notes.append(f"VisiData first rows {at}, runs: " + ", ".join(f"{t:.3f}" for t in vis)
                     + " s")
    figures[f"RSS at first rows ({n:,})"] = statistics.median(r for _, r in crm)


def drive_size(data_dir: Path, figures: dict[str, float], notes: list[str]) -> None:
    """The keystroke and scroll latencies, driven in a fresh process."""
    driven = in_process(data_dir)
    figures["open to first rows (run_test)"] = driven["open to first rows (run_test)"]
    figures["first search keystroke after first rows"] = \
        driven["first search keystroke after first rows"]
    notes.append("the store was still reading at the first rows (in process): "
                 f"{driven['store still reading at first rows']}")
    figures["open to search index built"] = driven["open to search index built"]
    figures["letter keystroke p50"] = statistics.median(driven["letters"])
    figures["letter keystroke p95"] = p95(driven["letters"])
    figures["backspace keystroke p95"] = p95(driven["backspaces"])
    if driven["filter after debounce"]:
        figures["filter after debounce p95"] = p95(driven["filter after debounce"])
    figures["scroll step p50"] = statistics.median(driven["scroll steps"])
    figures["scroll step p95"] = p95(driven["scroll steps"])
    key = "peak RSS (in-process, every contact read and indexed)"
    figures[key] = driven[key]
    notes.append(f"{len(driven['letters'])} letters and {len(driven['backspaces'])} "
                 f"backspaces ({', '.join(TYPED)}, typed then erased), key press to "
                 "repaint; the search runs at once, no typing delay")
    notes.append(f"{len(driven['scroll steps'])} scroll steps ({DOWNS} down, "
                 f"{PAGE_DOWNS} PageDown)")


def psycopg_import(runs: int) -> list[float]:
    """Seconds a fresh process takes to import psycopg once the TUI's own modules are loaded
    (what a launch on a database pays beyond one on the TinyDB file)."""
    code = ("import time, crmtui.app, crmtui.screens.contacts, crmtui.store\n"
            "t = time.perf_counter()\nimport psycopg\nprint(time.perf_counter() - t)")
    return [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(runs)]


def compare_postgres(server: str, n: int, keep: Path | None, runs: int) -> None:
    """TinyDB and PostgreSQL side by side on the same contacts, copied into a database of their
    own (the TUI then runs as a team member's does): ``runs`` launches of each under a pty,
    alternately, and ``runs`` in-process drives of each, alternately."""
    with scratch_database(server, "crmtui_tuibench") as url, \
            tempfile.TemporaryDirectory(prefix="crmtui-tuibench-") as tmp:
        data_dir = keep / f"{n}" if keep else Path(tmp) / "data"
        ensure_generated(data_dir, n)
        subprocess.run([sys.executable, "-m", "crmtui", "--data-dir", str(data_dir), "db",
                        "copy", "--from", str(data_dir), "--to", url],
                       check=True, capture_output=True)
        marker = first_name(data_dir)[:12].encode()
        env = {"CRMTUI_HOME": str(data_dir)}
        command = [sys.executable, "-m", "crmtui", "--data-dir", str(data_dir)]
        launched: dict[str, list[float]] = {"TinyDB": [], "PostgreSQL": []}
        for _ in range(runs):
            launched["TinyDB"].append(pty_first_rows(command, marker, env)[0])
            launched["PostgreSQL"].append(
                pty_first_rows([*command, "--database", url], marker, env)[0])
        driven: dict[str, list[dict[str, Any]]] = {"TinyDB": [], "PostgreSQL": []}
        for _ in range(runs):
            driven["TinyDB"].append(in_process(data_dir))
            driven["PostgreSQL"].append(in_process(data_dir, url))
        imports = psycopg_import(runs)
    rows: dict[str, dict[str, float]] = {}
    for store, drives in driven.items():
        letters = [x for d in drives for x in d["letters"]]
        erased = [x for d in drives for x in d["backspaces"]]
        rows[store] = {
            "first rows, whole process (pty), median": statistics.median(launched[store]),
            "first rows in process (modules loaded), median": statistics.median(
                d["open to first rows (run_test)"] for d in drives),
            "first search keystroke, median": statistics.median(
                d["first search keystroke after first rows"] for d in drives),
            "letter keystroke p50": statistics.median(letters),
            "letter keystroke p95": p95(letters),
            "backspace keystroke p95": p95(erased),
            "scroll step p95": p95([x for d in drives for x in d["scroll steps"]]),
        }
    print(f"TinyDB and PostgreSQL side by side, {n:,} contacts ({runs} launches and {runs} "
          f"in-process drives of each, alternately; {len(letters)} letters each):")
    print(f"  {'':<50}{'TinyDB':>10}{'PostgreSQL':>12}{'ratio':>8}")
    for name, value in rows["TinyDB"].items():
        other = rows["PostgreSQL"][name]
        print(f"  {name:<50}{value * 1000:8.1f} ms{other * 1000:9.1f} ms{other / value:7.2f}x")
    print(f"  importing psycopg (a launch on a database, beyond TinyDB's), median of {runs}: "
          f"{statistics.median(imports) * 1000:.1f} ms")
    print("  launches, runs (s): " + "; ".join(
        f"{store} " + ", ".join(f"{t:.3f}" for t in times) for store, times in launched.items()))
    print(f"  the same {n:,} contacts copied into a PostgreSQL database of their own "
          "(dropped after)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, action="append",
                        help=f"a size to measure (repeatable; default {SIZES})")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) DIR/N")
    parser.add_argument("--no-visidata", action="store_true", help="measure crmtui alone")
    parser.add_argument("--launch-only", action="store_true",
                        help="measure the launches (first rows beside VisiData, memory) only, "
                             "not the keystrokes in process")
    parser.add_argument("--runs", type=int, default=RUNS,
                        help=f"launches of each program per size (default {RUNS})")
    parser.add_argument("--no-launch", action="store_true",
                        help="skip the first-rows runs under a pty (and VisiData): only the "
                             "in-process keystroke and scroll figures, at the first size")
    parser.add_argument("--postgres", metavar="URL",
                        help="also compare TinyDB and PostgreSQL side by side (launches and "
                             "keystrokes, --runs of each, alternately): the contacts of the "
                             "first size are copied (crmtui db copy) into a database made for "
                             "it on the server at URL (e.g. postgresql://postgres@127.0.0.1/"
                             "postgres), dropped afterwards")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--drive-database", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:  # the in-process child
        print(json.dumps(asyncio.run(drive(args.drive, args.drive_database))))
        return 0
    vd = None if args.no_visidata or args.no_launch else visidata()
    figures: dict[str, float] = {}
    notes: list[str] = [compile_bytecode()]  # the in-process runs import crmtui too
    sizes = args.contacts or SIZES
    if args.no_launch:
        sizes = sizes[:1]
    for i, n in enumerate(sizes):
        measure_size(n, args.keep, vd, figures, notes, runs=args.runs,
                     drive_it=i == 0 and not args.launch_only, launch=not args.no_launch)
    report(figures, notes)
    if args.postgres:
        compare_postgres(args.postgres, sizes[0], args.keep, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
