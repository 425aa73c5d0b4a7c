"""Contact sync at 10,000 contacts a side: requests and seconds against the in-process emulator.

Gmail gets 10,000 contacts in the sync group (made through ``batchCreateContacts``, 200 a call),
the CRM 10,000 other tagged contacts; then it prints, for each run, the People API requests it
made (HTTP calls; batch parts apart) and its seconds: the first sync, an incremental sync with 1
change, one with 500 changes (250 on each side), and a sync with nothing to do. The incremental
cases are repeated and their medians printed; the sync right after the first, which reads back
what the first one wrote, is printed apart. Targets (issue 4): first sync under 30 s; 1 change
under 0.5 s and at most 3 requests.

Then the first sync's growth (issue 12): for each size of ``--scale`` (10,000 and 50,000
contacts a side by default), a new emulator and store are seeded the same way and the first sync
is timed; it prints its seconds, the CPU seconds of the process (the emulator runs in it too),
the seconds spent committing the store, the requests, and for the last size its ratio to the
first and the exponent k of time ~ N^k. Target: the first sync at 50,000 takes at most 5.5x
the time at 10,000 (before: 19.6 s and 323 s, N^1.7). ``--scale ""`` leaves it out, ``--scale
5000,10000,20000`` measures other sizes. Not a test: ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import api_requests, measure, measure_incremental

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.model import Contact, SyncKind, SyncSettings, Tag, TagKind, User
from crmtui.store import ContactQuery, open_store
from crmtui.sync.accounts import AccountService
from crmtui.sync.google import auth
from crmtui.sync.google.factory import contacts_remote_factory, google_linker
from crmtui.sync.service import SyncService

EMAIL = "ann@example.com"


class Bench:
    """An emulator account and a CRM store wired to the real People adapter."""

    def __init__(self, emu: Emulator, data_dir: Path) -> None:
        self.emu = emu
        info = emu.create_account(EMAIL)
        self.creds = auth.credentials_from_record(authorized_user(info))
        self.service = auth.build_people_service(self.creds, emu.base_url)
        self.repo = open_store(data_dir)
        self.user = self.repo.add_user(User(name="Ann Lee", email=EMAIL),
                                       Contact(given_name="Ann", family_name="Lee"))
        self.tag = self.repo.add_tag(Tag(name="Google", kind=TagKind.PRIVATE,
                                         owner_id=self.user.id))
        self.repo.save_sync_settings(SyncSettings(user_id=self.user.id,
                                                  contacts_tag_id=self.tag.id))
        authorized = data_dir.parent / "authorized-user.json"
        authorized.write_text(json.dumps(authorized_user(info)))
        AccountService(self.repo, data_dir, google_linker(data_dir, endpoint=emu.base_url)
                       ).link_from_credentials_file(self.user.id, authorized)
        # wired as `crmtui sync contacts` wires it
        self.sync_service = SyncService(self.repo, data_dir,
                                        contacts_remote_factory(data_dir))

    def people_requests(self) -> int:
        """People API HTTP calls served since the last call (the log is then cleared)."""
        return api_requests(self.emu, "people")

    def seed_gmail(self, n: int) -> str:
        """``n`` Gmail contacts in a group named crmtui; its resource name."""
        group = self.service.contactGroups().create(
            body={"contactGroup": {"name": "crmtui"}}).execute()["resourceName"]
        for start in range(0, n, 200):
            people = [{"contactPerson": {
                "names": [{"givenName": f"Gmail{i:05d}", "familyName": "Person"}],
                "emailAddresses": [{"value": f"gmail{i:05d}@example.com", "type": "work"}],
                "organizations": [{"name": "Gmail Co", "title": "Buyer"}],
                "memberships": [{"contactGroupMembership": {
                    "contactGroupResourceName": group}}]}}
                for i in range(start, min(n, start + 200))]
            self.service.people().batchCreateContacts(
                body={"contacts": people, "readMask": "names"}).execute()
        return group

    def seed_crm(self, n: int) -> None:
        self.repo.add_contacts([
            Contact(given_name=f"Crm{i:05d}", family_name="Person", owner_id=self.user.id,
                    emails=[f"crm{i:05d}@example.com"], company="Crm Co", job_title="Seller",
                    tags=[self.tag.id]) for i in range(n)])

    def sync(self) -> tuple[int, float]:
        """One sync: (People API requests, seconds)."""
        self.people_requests()
        began = time.perf_counter()
        outcome = self.sync_service.run(self.user.id, SyncKind.CONTACTS, confirmed=True)
        seconds = time.perf_counter() - began
        if not outcome.ok:
            raise SystemExit(f"the sync failed: {outcome.message}")
        return self.people_requests(), seconds

    def crm_edit(self, count: int, round_: int) -> None:
        ids = self.repo.contact_ids(ContactQuery(tag_ids=(self.tag.id,)), self.user.id)
        for contact in self.repo.get_contacts(ids[:count], self.user.id):
            self.repo.update_contact(contact.evolve(job_title=f"Seller r{round_}"),
                                     self.user.id)

    def gmail_edit(self, count: int, round_: int) -> None:
        """Edit ``count`` contacts in Gmail (the control API: one request each, unlogged)."""
        google = EmulatorControl(self.emu)
        listed = google.contacts(EMAIL)
        gmail = [p for p in listed if p["names"][0]["givenName"].startswith("Gmail")]
        for person in gmail[:count]:
            google.patch_contact(EMAIL, person["resourceName"],
                                 {"organizations": [{"name": "Gmail Co",
                                                     "title": f"Buyer r{round_}"}]})


BEFORE_FIRST_SYNC = {10_000: 19.6, 50_000: 323.0}  # seconds, issue 12 (whole-file commits)


class CommitClock:
    """Seconds (and CPU seconds) spent in the store's commits (the TinyDB storage's ``flush``),
    while installed (NaN when the storage has no such method to time)."""

    def __init__(self) -> None:
        from crmtui.store import storage
        self.seconds = self.cpu = 0.0
        self._cls: Any = getattr(storage, "AtomicJSONStorage", None)
        self._flush = getattr(self._cls, "flush", None)
        if self._flush is None:
            self.seconds = self.cpu = math.nan
            return
        clock = self

        def timed(storage_self: Any, *args: Any, **kwargs: Any) -> Any:
            began, cpu = time.perf_counter(), time.process_time()
            try:
                return clock._flush(storage_self, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - began
                clock.cpu += time.process_time() - cpu

        self._cls.flush = timed

    def close(self) -> None:
        if self._flush is not None:
            self._cls.flush = self._flush


def first_sync_at(n: int) -> tuple[float, float, CommitClock, int]:
    """The first sync of ``n`` Gmail + ``n`` CRM contacts in a new emulator and store:
    (seconds, CPU seconds, the time spent committing, People API requests). CPU seconds are
    those of the whole process (the emulator's threads too): on a machine whose cores are
    shared they vary less than seconds do."""
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        bench = Bench(emu, Path(tmp) / "data")
        bench.seed_gmail(n)
        bench.seed_crm(n)
        commits = CommitClock()
        try:
            cpu = time.process_time()
            requests, seconds = bench.sync()
            cpu = time.process_time() - cpu
        finally:
            commits.close()
        bench.repo.close()
        return seconds, cpu, commits, requests


def scale(sizes: list[int]) -> None:
    """The first sync at each size, side by side with the figures before, and its growth."""
    print(f"\n{'first sync, contacts a side':<28} {'seconds':>9} {'before':>8} {'CPU s':>8} "
          f"{'commits s':>10} {'commits CPU s':>14} {'requests':>9}")
    measured: list[tuple[int, float, float, float]] = []
    for n in sizes:
        seconds, cpu, commits, requests = first_sync_at(n)
        before = BEFORE_FIRST_SYNC.get(n)
        print(f"{n:<28,} {seconds:>9.1f} {f'{before:.1f}' if before else '-':>8} {cpu:>8.1f} "
              f"{commits.seconds:>10.1f} {commits.cpu:>14.1f} {requests:>9}", flush=True)
        measured.append((n, seconds, cpu, cpu - commits.cpu))
    if len(measured) < 2:
        return
    (n0, s0, c0, w0), (n1, s1, c1, w1) = measured[0], measured[-1]
    grow = math.log(n1 / n0)
    print(f"{n1:,} / {n0:,}: {s1 / s0:.2f}x the time (N^{math.log(s1 / s0) / grow:.2f}), "
          f"CPU {c1 / c0:.2f}x (N^{math.log(c1 / c0) / grow:.2f}), CPU without the commits "
          f"{w1 / w0:.2f}x (N^{math.log(w1 / w0) / grow:.2f})")
    if (n0, n1) == (10_000, 50_000):
        verdict = "target met" if s1 / s0 <= 5.5 else "TARGET MISSED"
        print(f"target: 50,000 at most 5.5x 10,000 ({verdict}; before: "
              f"{BEFORE_FIRST_SYNC[50_000] / BEFORE_FIRST_SYNC[10_000]:.1f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts on each side")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each incremental case")
    parser.add_argument("--scale", default="10000,50000",
                        help="sizes (contacts a side, comma-separated) of the first-sync growth "
                             "measure; empty: leave it out")
    parser.add_argument("--no-incremental", action="store_true",
                        help="only the first-sync growth measure")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.scale.replace("_", "").split(",") if x.strip()]
    if not args.no_incremental:
        incremental(args.contacts, args.repeat)
    if sizes:
        scale(sizes)
    return 0


def incremental(n: int, repeat: int) -> None:
    """The first sync and the incremental runs at ``n`` contacts a side."""
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        bench = Bench(emu, Path(tmp) / "data")
        began = time.perf_counter()
        bench.seed_gmail(n)
        bench.seed_crm(n)
        print(f"seeded {n} Gmail + {n} CRM contacts in {time.perf_counter() - began:.1f} s",
              file=sys.stderr, flush=True)
        print(f"{'run':<40} {'requests':>8} {'seconds':>9}")
        measure(f"first sync ({n} + {n})", 1, lambda i: None, bench, (30.0, 10**9))
        measure_incremental(bench, repeat, 250, bench.gmail_edit)
        bench.repo.close()


if __name__ == "__main__":
    sys.exit(main())
