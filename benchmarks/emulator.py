"""Emulator benchmark: requests per second on loopback, and requests to create and list contacts.

Run with ``make bench`` (or ``python benchmarks/emulator.py [--runs N]``). Starts an emulator in
this process and measures:

- authenticated ``people.get`` of one contact served per second, from one and from 4 client
  threads (each on its own keep-alive connection; the median of several runs);
- the HTTP requests (from ``GET /__emulator/requests``) and time needed to create 1,000 contacts
  with ``people.batchCreateContacts`` through google-api-python-client;
- the same for listing 10,000 contacts with ``connections.list`` at ``pageSize=1000``.

Prints the figures and whether each target of the issue is met. Never part of the test run.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from google.oauth2.credentials import Credentials  # noqa: E402
from googleapiclient.discovery import build  # noqa: E402

from crmtui.emulator import Emulator, running_emulator  # noqa: E402
from crmtui.emulator.control_client import EmulatorControl  # noqa: E402

TARGETS = {"requests per second, 1 thread": 500, "requests per second, 4 threads": 500,
           "requests to create 1,000": 5, "requests to list 10,000": 10}
EMAIL = "bench@example.com"


def http_requests(emu: Emulator) -> int:
    """Plain HTTP requests served since the log was last cleared (a batch counts once)."""
    return int(EmulatorControl(emu).requests()["counts"]["http"])


def get_loop(emu: Emulator, path: str, token: str, count: int, errors: list[int]) -> None:
    """``count`` authenticated GETs of ``path`` on one keep-alive connection."""
    host, port = emu.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    for _ in range(count):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            errors.append(resp.status)
    conn.close()


def requests_per_second(emu: Emulator, path: str, token: str, threads: int, per_thread: int,
                        runs: int) -> float:
    rates = []
    for _ in range(runs):
        errors: list[int] = []
        workers = [threading.Thread(target=get_loop, args=(emu, path, token, per_thread, errors))
                   for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise RuntimeError(f"unexpected statuses: {sorted(set(errors))}")
        rates.append(threads * per_thread / elapsed)
    return statistics.median(rates)


def create(people: Any, n: int) -> list[str]:
    """Create ``n`` contacts with batchCreateContacts (200 a call); their resource names."""
    names: list[str] = []
    for start in range(0, n, 200):
        body = {"contacts": [{"contactPerson": {
            "names": [{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
            "emailAddresses": [{"value": f"person{i}@example.com", "type": "work"}],
            "phoneNumbers": [{"value": f"+44 20 7946 {i % 10000:04d}"}],
            "clientData": [{"key": "crmtui.id", "value": str(i)}]}}
            for i in range(start, min(n, start + 200))], "readMask": "metadata"}
        result = people.people().batchCreateContacts(body=body).execute()
        names += [r["person"]["resourceName"] for r in result["createdPeople"]]
    return names


def list_all(people: Any) -> int:
    listed, token = 0, None
    while True:
        page = people.people().connections().list(
            resourceName="people/me", pageSize=1000, requestSyncToken=True,
            personFields="names,emailAddresses,phoneNumbers,clientData,metadata",
            **({"pageToken": token} if token else {})).execute()
        listed += len(page.get("connections", []))
        token = page.get("nextPageToken")
        if not token:
            return listed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each throughput figure")
    parser.add_argument("--requests", type=int, default=1000, help="GETs per throughput run")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    timings: dict[str, float] = {}
    with running_emulator() as emu:
        info = emu.create_account(EMAIL)
        creds = Credentials(token=info["access_token"], refresh_token=info["refresh_token"],
                            client_id=info["client_id"], client_secret=info["client_secret"],
                            token_uri=info["token_uri"], scopes=info["scopes"])
        people = build("people", "v1", credentials=creds, static_discovery=True,
                       client_options={"api_endpoint": emu.base_url})

        EmulatorControl(emu).clear_requests()
        start = time.perf_counter()
        names = create(people, 1000)
        timings["requests to create 1,000"] = time.perf_counter() - start
        figures["requests to create 1,000"] = http_requests(emu)

        path = f"/v1/{names[0]}?personFields=names%2CemailAddresses%2Cmetadata&alt=json"
        for threads in (1, 4):
            figures[f"requests per second, {threads} thread{'s' if threads > 1 else ''}"] = \
                requests_per_second(emu, path, info["access_token"], threads,
                                    args.requests // threads, args.runs)

        create(people, 9000)
        EmulatorControl(emu).clear_requests()
        start = time.perf_counter()
        listed = list_all(people)
        timings["requests to list 10,000"] = time.perf_counter() - start
        figures["requests to list 10,000"] = http_requests(emu)
        if listed != 10000:
            raise RuntimeError(f"listed {listed} contacts, expected 10,000")

    print("crmtui emulator benchmark (People API on loopback)")
    missed = []
    for name, target in TARGETS.items():
        value = figures[name]
        ok = value >= target if name.startswith("requests per second") else value <= target
        if not ok:
            missed.append(name)
        took = f" in {timings[name]:.2f} s" if name in timings else ""
        print(f"  {name:<32}{value:>8.0f}{took:<12} target {target}  {'ok' if ok else 'MISSED'}")
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
