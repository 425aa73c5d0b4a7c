"""Exports and ``contacts list --json`` write as they read: the same text as the whole-text
writers gave, in memory that does not grow with the number of contacts."""

from __future__ import annotations

import csv
import gc
import io
import json
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmtui.cli import cli
from crmtui.formats import export_file
from crmtui.formats.common import json_text, write_json_array
from crmtui.formats.csvfmt import export_csv
from crmtui.formats.jsonfmt import export_json
from crmtui.formats.vcard import export_vcard
from crmtui.model import Contact, Email, Phone, Tag, User
from crmtui.store import ContactQuery, TinyDBRepository, open_store


def test_json_text_is_what_the_standard_library_writes() -> None:
    values = [
        {"a": "x\u2028y\x7f\x00\x1f\t\n\"\\ é 😀", "b": [], "c": {}, "d": None, "e": True,
         "f": 3, "g": [1, {"h": []}], "i": 1.5, "j": 1e20},
        [], {}, "lone \udc80 surrogate", 2 ** 70, [[[]]],
    ]
    for value in values:
        assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2)
    for rows in ([], [{}], [{"a": [1, 2]}, "b", [], None]):
        out = io.StringIO()
        assert write_json_array(out, iter(rows), 1) == len(rows)
        whole = json.dumps({"k": rows}, ensure_ascii=False, indent=2)
        assert whole == '{\n  "k": ' + out.getvalue() + "\n}"


def test_the_json_export_is_the_text_of_the_whole_dump(full_db: TinyDBRepository,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "all.json"
    report = export_file(full_db, path, viewer_id="")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    expected = {"format": "crmtui", "schema": data["schema"], "exported": data["exported"],
                **full_db.dump()}
    assert text == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    assert report.counts == {name: len(rows) for name, rows in full_db.dump().items()}
    assert report.counts["contacts"] > 0 and report.counts["activities"] > 0


def test_csv_and_vcard_exports_hold_every_contact_in_name_order(
        full_db: TinyDBRepository, ann: User, tmp_path: Path) -> None:
    expected = full_db.find_contacts(ContactQuery(), ann.id)
    path = tmp_path / "people.csv"
    report = export_file(full_db, path, viewer_id=ann.id)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [c.id for c in expected]
    assert report.counts == {"contacts": len(expected)}
    cards = tmp_path / "people.vcf"
    export_file(full_db, cards, viewer_id=ann.id, vcard_version="4.0")
    text = cards.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == len(expected)
    assert text.index("Ångström") < text.index("Only A Company")


def test_a_failed_export_leaves_the_file_as_it_was(full_db: TinyDBRepository, ann: User,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "people.csv"
    path.write_text("before\n", encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the store went away")

    calls = iter(range(100))

    def flaky(query: ContactQuery, viewer: str | None, batch: int = 500):  # type: ignore[no-untyped-def]
        for contact in TinyDBRepository.stream_contacts(full_db, query, viewer, batch):
            if next(calls) == 1:
                broken()
            yield contact

    monkeypatch.setattr(full_db, "stream_contacts", flaky)
    with pytest.raises(RuntimeError):
        export_file(full_db, path, viewer_id=ann.id)
    assert path.read_text(encoding="utf-8") == "before\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_contacts_list_json_is_the_text_it_was(tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "crm"

    def ok(*args: str) -> str:
        result = runner.invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    ok("users", "add", "--name", "Ann Lee", "--email", "ann@example.com")
    assert ok("contacts", "list", "--search", "nobody", "--json") == "[]\n"
    for given, family in (("Zoë", "Ångström"), ("José", "García"), ("Li", "Wei")):
        ok("contacts", "add", "--given", given, "--family", family, "--email",
           f"{given.lower()}@example.com", "--notes", "line one\nline \"two\"")
    repo = open_store(data_dir)
    try:
        user = repo.find_user("ann@example.com")
        assert user is not None
        for query, args in ((ContactQuery(), ()),
                            (ContactQuery(sort="email", descending=True, offset=1),
                             ("--sort", "email", "--desc", "--offset", "1")),
                            (ContactQuery(text="garcia"), ("--search", "garcia"))):
            expected = [c.to_dict() for c in repo.find_contacts(query, user.id)]
            assert expected
            printed = ok("contacts", "list", *args, "--json")
            assert printed == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    finally:
        repo.close()


# -- memory ---------------------------------------------------------------------------------------


def _store(path: Path, n: int) -> tuple[TinyDBRepository, str]:
    repo = open_store(path)
    user = repo.add_user(User(name="Ann Lee", email="ann@example.com"))
    tag = repo.add_tag(Tag(name="Customer"))
    start = datetime(2020, 1, 1, tzinfo=UTC)
    repo.add_contacts([
        Contact(given_name=("Zoë", "José", "Li", "Ann")[i % 4], family_name=f"Family{i:06d}",
                company="ACME", job_title="Engineer",
                emails=[Email(f"person{i}@example.com", "work", True)],
                phones=[Phone(f"+1 555 {i:07d}", "mobile")],
                notes="Met at the fair; follow up in spring.",
                tags=[tag.id] if i % 3 == 0 else [], owner_id=user.id,
                created=start + timedelta(minutes=i), modified=start + timedelta(minutes=i))
        for i in range(n)])
    return repo, user.id


class _Counting:
    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str, /) -> None:
        self.chars += len(text)


def _peak(repo: TinyDBRepository, viewer: str, write: Callable[[TinyDBRepository, str], int]
          ) -> tuple[int, int]:
    """Peak memory (bytes) allocated while ``write`` runs, and what it wrote (characters).

    The sort order is built first: the store keeps it for as long as it is open (the TUI and
    every listing use it), so it is not memory the writing holds."""
    repo.contact_ids(ContactQuery(), viewer)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        written = write(repo, viewer)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, written


WRITERS: dict[str, Callable[[TinyDBRepository, str], int]] = {}


def _writer(name: str) -> Callable[[Callable[[TinyDBRepository, str, _Counting], object]],
                                   Callable[[TinyDBRepository, str], int]]:
    def register(fn: Callable[[TinyDBRepository, str, _Counting], object]
                 ) -> Callable[[TinyDBRepository, str], int]:
        def run(repo: TinyDBRepository, viewer: str) -> int:
            out = _Counting()
            fn(repo, viewer, out)
            return out.chars
        WRITERS[name] = run
        return run
    return register


@_writer("list --json")
def _list_json(repo: TinyDBRepository, viewer: str, out: _Counting) -> None:
    write_json_array(out, (c.to_dict() for c in repo.stream_contacts(ContactQuery(), viewer)))


@_writer("json")
def _json(repo: TinyDBRepository, viewer: str, out: _Counting) -> None:
    export_json(repo, out)  # type: ignore[arg-type]


@_writer("csv")
def _csv(repo: TinyDBRepository, viewer: str, out: _Counting) -> None:
    export_csv(repo, viewer, out)  # type: ignore[arg-type]


@_writer("vcard")
def _vcard(repo: TinyDBRepository, viewer: str, out: _Counting) -> None:
    export_vcard(repo, viewer, "4.0", out)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[tuple[TinyDBRepository, str], tuple[TinyDBRepository, str]]]:
    small = _store(tmp_path_factory.mktemp("small"), 500)
    large = _store(tmp_path_factory.mktemp("large"), 4_000)
    yield small, large
    small[0].close()
    large[0].close()


@pytest.mark.parametrize("name", ["list --json", "json", "csv", "vcard"])
def test_memory_does_not_grow_with_the_number_of_contacts(
        name: str, stores: tuple[tuple[TinyDBRepository, str], tuple[TinyDBRepository, str]]
        ) -> None:
    (small, small_viewer), (large, large_viewer) = stores
    small_peak, small_out = _peak(small, small_viewer, WRITERS[name])
    large_peak, large_out = _peak(large, large_viewer, WRITERS[name])
    assert large_out > 7 * small_out  # eight times the contacts written...
    # ...in memory that does not grow with them (an id per contact, 8 bytes, aside): a list of
    # every contact, or the whole text (what the writers built before), would take eight times
    # as much.
    assert large_peak < 2 * small_peak, (small_peak, large_peak)
