"""TUI responsiveness while "Synchronize now" runs: key latency during a contacts sync vs idle.

Sets up what benchmarks/sync_contacts.py does (an in-process emulator, an account, a store with
a user and a private sync tag, N tagged CRM contacts and N Gmail contacts in the sync group, the
account linked), builds the app as ``crmtui`` does (``tui_services`` then ``CrmApp``, automatic
sync off) and drives it with ``App.run_test(size=(140, 45))``:

- baseline: down and up pressed alternately every ~50 ms with no sync running;
- then "y" (Synchronize now, the contacts sync in a thread worker) and, while ``app.running`` is
  not empty, the same keys every ~50 ms.

Each key is sent from a thread, as a terminal driver's input thread sends it (not with
``pilot.press``, which waits for the process to go idle, i.e. for the sync thread), so a key
sent while the event loop is blocked waits for it as a user's would; it is timed from then to
the table's first repaint showing the cursor moved (the first ``render_line`` of a table row
with a cursor row other than the one at the press). Also printed: the sync's duration and
outcome, the longest gap between two table repaints during the sync, and the event loop's
longest stall (a 5 ms ticker's worst lateness) during the sync and in the 0.5 s after
it (the list reloaded). Figures only: no targets. ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from store import p95
from sync_contacts import Bench

from crmtui.emulator import Emulator
from crmtui.model import SyncKind

COLUMNS, LINES = 140, 45
CADENCE = 0.050  # seconds between key presses
BASELINE_KEYS = 100
TICK = 0.005
KEY_TIMEOUT = 30.0


async def drive(bench: Bench, data_dir: Path) -> dict[str, Any]:
    from textual import events

    from crmtui.app import CrmApp
    from crmtui.cli import tui_services
    from crmtui.screens.contacts import ContactsScreen
    from crmtui.widgets import LazyTable

    services = tui_services(bench.repo, data_dir, bench.user.id)
    app = CrmApp(services, auto_sync=False)
    out: dict[str, Any] = {}
    paints: list[tuple[float, int]] = []  # time, cursor row
    stalls: list[float] = []  # the ticker's lateness, while ``ticking``
    ticking = False

    async def ticker() -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(TICK)
            if ticking:
                stalls.append(time.perf_counter() - t0 - TICK)

    def paint_after(start: int, t0: float, before: int) -> float | None:
        """The first repaint (from ``paints[start]``) after ``t0`` with the cursor moved."""
        for when, cursor in paints[start:]:
            if when > t0 and cursor != before:
                return when
        return None

    def send(key: str) -> None:
        """Send ``key`` as the terminal driver's input thread does (thread-safe)."""
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        assert app._driver is not None
        app._driver.send_message(event)

    def key_latency(key: str, table: LazyTable) -> float | None:
        """Send ``key``; seconds to the table's repaint with the cursor moved (None: never).
        Runs in the key thread, so a key sent while the event loop is stalled waits for it."""
        before, start = table.cursor_row, len(paints)
        t0 = time.perf_counter()
        send(key)
        while (done := paint_after(start, t0, before)) is None:
            if time.perf_counter() > t0 + KEY_TIMEOUT:
                return None
            time.sleep(0.001)
        return done - t0

    def keys_while(table: LazyTable, go_on: Any, limit: int | None = None
                         ) -> tuple[list[float], int]:
        """Down and up alternately, one every CADENCE, while ``go_on()``; latencies, and how
        many keys never got a repaint. Run in a thread, as a terminal's input is read."""
        latencies: list[float] = []
        lost = 0
        key = "down"
        while go_on() and (limit is None or len(latencies) + lost < limit):
            began = time.perf_counter()
            latency = key_latency(key, table)
            if latency is None:
                lost += 1
            else:
                latencies.append(latency)
            key = "up" if key == "down" else "down"
            time.sleep(max(0.0, began + CADENCE - time.perf_counter()))
        return latencies, lost

    started = time.perf_counter()
    async with app.run_test(size=(COLUMNS, LINES)) as pilot:
        tick_task = asyncio.create_task(ticker())
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        table = screen.query_one("#contacts", LazyTable)
        render_line = table.render_line

        def recording_render_line(y: int) -> Any:
            strip = render_line(y)
            if y >= 1 and table.row_count:
                paints.append((time.perf_counter(), table.cursor_row))
            return strip

        table.render_line = recording_render_line  # type: ignore[method-assign]
        while not paints:
            if time.perf_counter() > started + 60:
                raise TimeoutError("the contacts list never painted a row")
            await asyncio.sleep(0.001)
        out["first rows"] = paints[0][0] - started
        out["rows before"] = table.row_count
        await pilot.pause(0.2)

        ticking = True
        out["baseline"], out["baseline lost"] = await asyncio.to_thread(
            keys_while, table, lambda: True, BASELINE_KEYS)
        out["baseline stall"] = max(stalls, default=0.0)
        ticking = False
        stalls.clear()

        sync_began = time.perf_counter()
        send("y")  # not pilot.press: it would wait for the process to idle, after the sync
        while not app.running:
            if time.perf_counter() > sync_began + 10:
                raise RuntimeError("'y' started no sync")
            await asyncio.sleep(0.001)
        first_paint = len(paints)
        ticking = True
        out["during"], out["during lost"] = await asyncio.to_thread(
            keys_while, table, lambda: bool(app.running))
        while app.running:  # a key may have been pending when the sync ended
            await asyncio.sleep(0.001)
        out["sync seconds"] = time.perf_counter() - sync_began
        out["during stall"] = max(stalls, default=0.0)
        stalls.clear()
        await asyncio.sleep(0.5)  # the app reloads the list once the sync has finished
        ticking = False
        out["after stall"] = max(stalls, default=0.0)
        during_paints = [when for when, _ in paints[first_paint:]]
        out["paint gap"] = max((b - a for a, b in zip(during_paints, during_paints[1:],
                                                      strict=False)), default=float("nan"))
        await pilot.pause(0.3)
        out["rows after"] = table.row_count
        progress = app.sync_log.progress[SyncKind.CONTACTS]
        out["progress"] = progress.message
        out["log tail"] = [line.text for line in list(app.sync_log.lines)[-3:]]
        tick_task.cancel()
    runs = bench.repo.list_runs(bench.user.id, SyncKind.CONTACTS)
    out["run status"] = runs[0].status if runs else "no run recorded"
    out["run counts"] = runs[0].counts if runs else {}
    return out


def ms(values: list[float]) -> str:
    if not values:
        return "no keys measured"
    return (f"p50 {statistics.median(values) * 1000:7.1f} ms   p95 {p95(values) * 1000:7.1f} ms"
            f"   max {max(values) * 1000:7.1f} ms   over 100 ms: {sum(v > 0.1 for v in values)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5_000, help="contacts on each side")
    args = parser.parse_args(argv)
    n = args.contacts
    with tempfile.TemporaryDirectory(prefix="crmtui-tuisync-") as tmp, Emulator() as emu:
        data_dir = Path(tmp) / "data"
        bench = Bench(emu, data_dir)
        began = time.perf_counter()
        bench.seed_gmail(n)
        bench.seed_crm(n)
        print(f"seeded {n:,} Gmail + {n:,} CRM contacts in {time.perf_counter() - began:.1f} s",
              file=sys.stderr, flush=True)
        out = asyncio.run(drive(bench, data_dir))
        bench.repo.close()
    ok = out["run status"] == "ok"
    print(f"crmtui TUI during a contacts sync: {n:,} + {n:,} contacts, terminal "
          f"{COLUMNS}x{LINES}, keys down/up every {CADENCE * 1000:.0f} ms")
    print(f"  first rows (run_test)          {out['first rows'] * 1000:8.1f} ms "
          f"({out['rows before']:,} rows)")
    print(f"  sync ('y' to app.running empty) {out['sync seconds']:7.2f} s   outcome: "
          f"{out['run status']}{'' if ok else ' (NOT OK)'}  — {out['progress']}")
    if not ok:
        for line in out["log tail"]:
            print(f"    log: {line}")
    print(f"  rows after the sync            {out['rows after']:,}")
    print("  key press to repaint with the cursor moved:")
    print(f"    baseline (no sync) {len(out['baseline']):5d} keys   {ms(out['baseline'])}"
          + (f"   ({out['baseline lost']} never repainted)" if out["baseline lost"] else ""))
    print(f"    during the sync    {len(out['during']):5d} keys   {ms(out['during'])}"
          + (f"   ({out['during lost']} never repainted)" if out["during lost"] else ""))
    print(f"  longest gap between table repaints during the sync {out['paint gap'] * 1000:8.1f} ms")
    print(f"  longest event-loop stall (5 ms ticker): baseline {out['baseline stall'] * 1000:.1f}"
          f" ms, during the sync {out['during stall'] * 1000:.1f} ms, in the 0.5 s after it "
          f"{out['after stall'] * 1000:.1f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
