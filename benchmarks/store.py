"""Store benchmark: 100,000 believable contacts, then open, search, sort, commit and memory.

Run with ``make bench`` (or ``python benchmarks/store.py [--contacts N] [--keep DIR]``). It
generates the contacts into a temporary data directory, then measures in a fresh subprocess so
that generating them does not pollute the memory figures. Prints figures and whether each target
of the issue is met. Never part of the test run.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crmtui.model import Address, Contact, Email, Phone, Tag, TagKind, User  # noqa: E402
from crmtui.store import DB_FILE, ContactQuery, TinyDBRepository, open_store  # noqa: E402

TARGETS = {  # the targets: seconds, or MB for memory
    "open": 1.5,
    "search median": 0.050,
    "search p95": 0.050,
    "commit median": 0.300,
    "peak RSS": 400.0,
}

GIVEN = ["Ann", "Bob", "José", "María", "Zoë", "Jürgen", "Søren", "Chloé", "Li", "Wei", "Aisha",
         "Omar", "Priya", "Raj", "Olga", "Ivan", "Emma", "Liam", "Noah", "Mia", "Lucas", "Sofia",
         "Mateo", "Élodie", "François", "Björn", "Ingrid", "Kenji", "Yuki", "Ngozi", "Kwame",
         "Fatima", "Hannah", "David", "Sarah", "Michael", "Laura", "Paolo", "Giulia", "Tomás"]
FAMILY = ["Lee", "Smith", "Álvarez", "García", "Müller", "Ångström", "Nguyen", "Kim", "Patel",
          "Okafor", "Rossi", "Dubois", "Johansson", "Novak", "Kowalski", "O'Brien", "Tanaka",
          "Haddad", "Schmidt", "Fernández", "Costa", "Jensen", "Ivanova", "Brown", "Wilson",
          "Martin", "Lefèvre", "Yılmaz", "Papadopoulos", "van der Berg", "Moreau", "Silva",
          "Hoffmann", "Chen", "Singh", "Cohen", "Murphy", "Popescu", "Horváth", "Lindqvist"]
COMPANIES = ["ACME Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises",
             "Hooli", "Pied Piper", "Soylent", "Vandelay Imports", "Cyberdyne", "Tyrell Corp",
             "Nakatomi Trading", "Oceanic Air", "Wonka Foods", "Gringotts", "Duff Brewing",
             "Blue Sun", "Aperture Science", "Black Mesa", "Dunder Mifflin", "Prestige Worldwide",
             "Monarch Solutions", "Bluth Company", "Sterling Cooper", "Los Pollos Hermanos"]
TITLES = ["CEO", "CTO", "Sales Manager", "Account Executive", "Engineer", "Buyer", "Consultant",
          "Office Manager", "Head of Procurement", "Marketing Lead", "Founder", ""]
CITIES = [("Oslo", "NO"), ("Lyon", "FR"), ("München", "DE"), ("Austin", "US"), ("Kyoto", "JP"),
          ("São Paulo", "BR"), ("Kraków", "PL"), ("Lagos", "NG"), ("Toronto", "CA")]
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example"]

SEARCHES = ["ann", "jose", "ANGSTROM", "muller", "garcia maria", "acme", "globex sales",
            "5551234", "555", "example.org", "zoe lee", "kim", "patel priya", "soren johansson",
            "pied piper", "wonka", "o'brien", "lefevre chloe", "+1 (555) 0", "nobody-at-all"]


def believable_contacts(n: int, tag_ids: list[str], owner_id: str, seed: int = 1
                        ) -> list[Contact]:
    rng = random.Random(seed)
    start = datetime(2018, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        company = rng.choice(COMPANIES) if rng.random() < 0.8 else ""
        local = f"{given}.{family}".lower().replace(" ", "").replace("'", "")
        emails = [Email(f"{local}{i}@{rng.choice(DOMAINS)}", "work", True)]
        if rng.random() < 0.4:
            emails.append(Email(f"{local[:1]}{i}@home.example", "home"))
        if rng.random() < 0.1:
            emails.append(Email(f"{i}.other@{rng.choice(DOMAINS)}", "other"))
        phones = [Phone(f"+1 (555) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                        rng.choice(("work", "mobile")))
                  for _ in range(rng.choice((0, 1, 1, 2, 3)))]
        addresses = []
        if rng.random() < 0.3:
            city, country = rng.choice(CITIES)
            addresses.append(Address(street=f"{rng.randrange(1, 300)} Main Street", city=city,
                                     postal_code=str(rng.randrange(10000, 99999)),
                                     country=country))
        created = start + timedelta(minutes=rng.randrange(3_000_000))
        out.append(Contact(
            given_name=given, family_name=family, company=company,
            job_title=rng.choice(TITLES), emails=emails, phones=phones, addresses=addresses,
            birthday=date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
            if rng.random() < 0.2 else None,
            notes="Met at the trade fair; follow up in spring." if rng.random() < 0.15 else "",
            tags=rng.sample(tag_ids, rng.choice((0, 0, 1, 1, 2))), owner_id=owner_id,
            created=created, modified=created))
    return out


def generate(data_dir: Path, n: int) -> float:
    started = time.perf_counter()
    repo = open_store(data_dir)
    user = repo.add_user(User(name="Bench User", email="bench@example.com"),
                         Contact(given_name="Bench", family_name="User",
                                 emails=["bench@example.com"]))
    tags = [repo.add_tag(Tag(name=name)) for name in ("Customer", "Lead", "Partner", "VIP")]
    tags.append(repo.add_tag(Tag(name="Google", kind=TagKind.PRIVATE, owner_id=user.id)))
    repo.add_contacts(believable_contacts(n - 1, [t.id for t in tags], user.id))
    repo.close()
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def measure(data_dir: Path) -> dict[str, float]:
    """Runs in a fresh process: every figure, in seconds (and MB for memory)."""
    out: dict[str, float] = {}
    opens = []
    repo: TinyDBRepository | None = None
    for _ in range(5):
        if repo is not None:
            repo.close()
            repo = None
            gc.collect()  # as a fresh process would be
        started = time.perf_counter()
        repo = open_store(data_dir)
        opens.append(time.perf_counter() - started)
        if "peak RSS after open" not in out:
            out["peak RSS after open"] = rss()
    assert repo is not None
    out["open"] = statistics.median(opens)
    out["open max"] = max(opens)
    viewer = repo.find_user("bench@example.com")
    viewer_id = viewer.id if viewer else None

    def search(text: str) -> float:
        started = time.perf_counter()
        ids = repo.contact_ids(ContactQuery(text=text), viewer_id)
        repo.get_contacts(ids[:50], viewer_id)  # the first screenful
        return time.perf_counter() - started

    out["first search (builds index)"] = search("garcia")
    times = [search(q) for q in SEARCHES]
    out["search median"] = statistics.median(times)
    out["search p95"] = p95(times)
    out["search max"] = max(times)

    def sort(column: str, descending: bool = False) -> float:
        started = time.perf_counter()
        ids = repo.contact_ids(ContactQuery(sort=column, descending=descending), viewer_id)
        repo.get_contacts(ids[:50], viewer_id)
        return time.perf_counter() - started

    out["list by name"] = statistics.median(sort("name") for _ in range(5))
    out["list by name, descending"] = sort("name", True)
    out["list by company (builds keys)"] = sort("company")

    ids = repo.contact_ids(ContactQuery(limit=20, offset=1000), None)
    commits = []
    for i, contact in enumerate(repo.get_contacts(ids)):
        started = time.perf_counter()
        repo.update_contact(contact.evolve(job_title=f"Bench {i}"), viewer_id)
        commits.append(time.perf_counter() - started)
    out["commit median"] = statistics.median(commits)
    out["commit max"] = max(commits)
    out["list by name after a change"] = sort("name")

    repo.close()
    out["peak RSS"] = rss()
    return out


def rss() -> float:
    """The process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def first_rows(data_dir: Path) -> dict[str, float]:
    """In a fresh process: open, then the first 50 rows sorted by name (what a user waits for)."""
    started = time.perf_counter()
    repo = open_store(data_dir)
    repo.get_contacts(repo.contact_ids(ContactQuery(limit=50), None), None)
    return {"first rows after open": time.perf_counter() - started}


# The figures before the journal (every commit rewrote the whole file), by contacts.
BEFORE_EDIT = {1_000: 0.0085, 100_000: 0.164, 300_000: 0.500}  # one edit in process
BEFORE_CLI = {1_000: 0.91 / 5.6, 100_000: 0.91}  # `crmtui contacts edit`, whole process
EDIT_RUNS = 50  # edits in process, after one that is not counted
CLI_RUNS = 7  # whole processes


def edits(data_dirs: list[Path]) -> list[dict[str, Any]]:
    """In a fresh process: one ``update_contact`` (and its commit) at a time, EDIT_RUNS times in
    each database, taking turns between them so that they share the machine's load. The time
    waited (wall clock) and the time spent computing (CPU); the first edit is not counted."""
    repos = [open_store(d) for d in data_dirs]
    picked, viewers = [], []
    for repo in repos:
        viewer = repo.find_user("bench@example.com")
        viewers.append(viewer.id if viewer else None)
        start = min(1000, repo.count_contacts() // 2)
        picked.append(list(islice(repo.iter_contacts(), start, start + EDIT_RUNS + 1)))
    walls: list[list[float]] = [[] for _ in repos]
    cpus: list[list[float]] = [[] for _ in repos]
    for i in range(EDIT_RUNS + 1):
        for k, repo in enumerate(repos):
            contact = picked[k][i]
            wall, cpu = time.perf_counter(), time.process_time()
            repo.update_contact(contact.evolve(job_title=f"Edit {i}"), viewers[k])
            walls[k].append(time.perf_counter() - wall)
            cpus[k].append(time.process_time() - cpu)
    for repo in repos:
        repo.close()
    return [{"median": statistics.median(w[1:]), "max": max(w[1:]), "first": w[0],
             "cpu": statistics.median(c[1:]), "id": p[0].id}
            for w, c, p in zip(walls, cpus, picked, strict=True)]


def cli_edits(data_dirs: list[Path], contact_ids: list[str]) -> list[list[float]]:
    """``crmtui contacts edit ID --title ...`` as a user runs it: whole processes, CLI_RUNS on
    each database, taking turns."""
    times: list[list[float]] = [[] for _ in data_dirs]
    for i in range(CLI_RUNS):
        for k, (data_dir, contact_id) in enumerate(zip(data_dirs, contact_ids, strict=True)):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "crmtui", "--data-dir", str(data_dir),
                            "contacts", "edit", contact_id, "--title", f"Whole process {i}"],
                           check=True, capture_output=True,
                           cwd=Path(__file__).resolve().parents[1])
            times[k].append(time.perf_counter() - started)
    return times


def edit_report(sizes: list[int], figures: dict[int, dict[str, Any]]) -> None:
    """The edit figures side by side: per size, now and before, and the ratio to the smallest."""
    print("one edit, side by side (medians; before: the issue's figures, when every commit "
          "rewrote the whole file)")
    head = "".join(f"{n:>12,}" for n in sizes)
    print(f"  {'contacts':<40}{head}   ratio to {sizes[0]:,}   target")
    rows = [("edit in process (update_contact)", "edit", BEFORE_EDIT),
            ("  of which computing (CPU, no disk wait)", "edit cpu", None),
            ("contacts edit, whole process", "cli", BEFORE_CLI)]
    for label, key, before in rows:
        now = [figures[n][key] for n in sizes]
        ratios = "/".join(f"{v / now[0]:.2f}x" for v in now[1:])
        verdict = ""
        if before is not None:
            ok = all(v / now[0] <= 1.5 for v in now[1:])
            verdict = f"<= 1.5x: {'met' if ok else 'MISSED'}"
        print(f"  {label:<40}" + "".join(f"{v * 1000:>9.1f} ms" for v in now)
              + f"   {ratios:<14}   {verdict}")
        if before is None:
            continue
        was = [before.get(n) for n in sizes]
        shown = "".join(f"{v * 1000:>9.1f} ms" if v else f"{'-':>12}" for v in was)
        base = was[0]
        ratios = "/".join(f"{v / base:.1f}x" if v and base else "-" for v in was[1:])
        print(f"  {'  before':<40}{shown}   {ratios}")
    for n in sizes:
        f = figures[n]
        print(f"  at {n:,}: in process max {f['edit max'] * 1000:.1f} ms, the first edit "
              f"{f['edit first'] * 1000:.1f} ms; whole process runs "
              + ", ".join(f"{t:.2f}" for t in f["cli runs"]) + " s")


def child(mode: str, data_dir: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, mode, str(data_dir)], capture_output=True,
                          text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def report(n: int, generation: float, size: int, figures: dict[str, float]) -> None:
    print(f"crmtui store benchmark: {n:,} contacts")
    print(f"  generated in {generation:.1f} s; database file {size / 1e6:.1f} MB")
    for name, value in figures.items():
        unit = "MB" if "RSS" in name else "s"
        shown = f"{value:8.1f} MB" if unit == "MB" else f"{value * 1000:8.1f} ms"
        verdict = ""
        if name in TARGETS:
            limit = TARGETS[name]
            ok = value < limit
            target = f"{limit:.0f} MB" if unit == "MB" else f"{limit * 1000:.0f} ms"
            verdict = f"  target < {target}: {'met' if ok else 'MISSED'}"
        print(f"  {name:<30}{shown}{verdict}")
    missed = [name for name, limit in TARGETS.items() if figures[name] >= limit]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")


def ensure_generated(data_dir: Path, n: int) -> float:
    """Generate ``n`` contacts into ``data_dir`` unless it holds a database already (``--keep``
    reuses one); the seconds it took (0 when reused)."""
    if (data_dir / DB_FILE).exists():
        return 0.0
    print(f"generating {n:,} contacts ...", flush=True)
    return generate(data_dir, n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--first-rows", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--edits", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--edit-sizes", default="1000",
                        help="other sizes (comma separated) to compare one edit at, besides "
                             "--contacts (e.g. 1000,300000)")
    parser.add_argument("--only-edits", action="store_true",
                        help="measure only the edit comparison")
    args = parser.parse_args()
    if args.edits:
        print(json.dumps(edits([Path(d) for d in str(args.edits).split(",")])))
        return 0
    if args.measure:  # the child processes
        print(json.dumps(measure(args.measure)))
        return 0
    if args.first_rows:
        print(json.dumps(first_rows(args.first_rows)))
        return 0
    sizes = sorted({args.contacts, *(int(n) for n in args.edit_sizes.split(",") if n)})
    edit_figures: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="crmtui-bench-") as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        generation = ensure_generated(data_dir, args.contacts)
        if not args.only_edits:
            figures = {**child("--first-rows", data_dir), **child("--measure", data_dir)}
            size = (data_dir / DB_FILE).stat().st_size
            check = open_store(data_dir)
            n = check.count_contacts()
            check.close()
            report(n, generation, size, figures)
        dirs = []
        for size_n in sizes:
            where = data_dir if size_n == args.contacts else (
                (args.keep.parent / f"{args.keep.name}-{size_n}") if args.keep
                else Path(tmp) / f"data-{size_n}")
            ensure_generated(where, size_n)
            dirs.append(where)
        done = subprocess.run([sys.executable, __file__, "--edits",
                               ",".join(str(d) for d in dirs)],
                              capture_output=True, text=True, check=True)
        in_process = json.loads(done.stdout)
        runs = cli_edits(dirs, [f["id"] for f in in_process])
        for size_n, f, r in zip(sizes, in_process, runs, strict=True):
            edit_figures[size_n] = {"edit": f["median"], "edit max": f["max"],
                                    "edit first": f["first"], "edit cpu": f["cpu"],
                                    "cli": statistics.median(r), "cli runs": r}
    edit_report(sizes, edit_figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
