"""Fuzzing every importer (JSON, CSV, vCard 3.0 and 4.0): hostile files are refused cleanly.

Each example is a file built from a valid export with hostile values put in (deep nesting, huge
numbers, wrong types, missing and unknown fields, control characters, very long text) or raw
bytes. Whatever it holds, importing it either refuses it with one :class:`FormatError` (the one
``Error:`` line the CLI prints) and leaves the database exactly as it was, or imports it
completely; it never raises anything else.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import (
    Account,
    Activity,
    Participant,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
)
from crmtui.store import TinyDBRepository, open_store

from .conftest import rich_contacts

# CRMTUI_FUZZ_EXAMPLES=5000 fuzzes longer, with new random examples each run; the test suite runs
# the same 60 examples of each test every time.
EXAMPLES = int(os.environ.get("CRMTUI_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 60, deadline=None, derandomize=not EXAMPLES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Markers put into generated structures and replaced in the file's text by what json.dumps
# cannot write (or would recurse on): a number of N digits, arrays nested N deep.
BIG = "@@BIG:{}@@"
DEEP = "@@DEEP:{}@@"
MARKER = re.compile(r'"@@(BIG|DEEP):(\d+)@@"')


# --------------------------------------------------------------------------- the source files


@contextmanager
def _store(with_user: bool) -> Iterator[tuple[TinyDBRepository, str]]:
    """A fresh store in a temporary directory, with the importing user when ``with_user``."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = open_store(Path(tmp) / "crm")
        try:
            viewer = ""
            if with_user:
                viewer = repo.add_user(User(name="Ann Lee", email="ann@example.com")).id
            yield repo, viewer
        finally:
            repo.close()


@cache
def _exports() -> dict[str, str]:
    """A database holding every kind of record, exported to each importable format."""
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp, _store(with_user=False) as (repo, _):
        ann = repo.add_user(User(name="Ann Lee", email="ann@example.com"))
        bob = repo.add_user(User(name="Bob Stone", email="bob@example.com"))
        tags = [repo.add_tag(Tag(name="Customers", kind=TagKind.PUBLIC)),
                repo.add_tag(Tag(name="Ann's; favourites", kind=TagKind.PRIVATE,
                                 owner_id=ann.id)),
                repo.add_tag(Tag(name="Key account", kind=TagKind.CORPORATE))]
        contacts = rich_contacts(ann, tags)
        repo.add_contacts(contacts)
        repo.add_activities([Activity(
            title="Weekly sync", type="meeting", start=datetime(2024, 3, 4, 9, 30, tzinfo=UTC),
            end=datetime(2024, 3, 4, 10, tzinfo=UTC), timezone="Europe/Paris",
            organizer_id=ann.id, owner_id=ann.id, recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
            participants=[Participant("user", bob.id, "accepted"),
                          Participant("contact", contacts[0].id)])])
        repo.add_account(Account(user_id=ann.id, email="ann@gmail.example.com"))
        repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=tags[1].id,
                                             activities_from=date(2024, 1, 1)))
        repo.set_sync_state(ann.id, SyncKind.CONTACTS, {"sync_token": "tok-1"})
        repo.put_link(SyncLink(user_id=ann.id, kind=SyncKind.CONTACTS,
                               local_id=contacts[0].id, remote_id="people/c1",
                               base={"given_name": "Zoë"}))
        repo.add_run(SyncRun(user_id=ann.id, kind=SyncKind.CONTACTS, status="ok",
                             counts={"created": 3}, errors=["people/c9: rejected"]))
        for name, extra in (("all.json", {}), ("all.csv", {}), ("v3.vcf", {}),
                            ("v4.vcf", {"vcard_version": "4.0"})):
            path = Path(tmp) / name
            export_file(repo, path, viewer_id=ann.id, **extra)
            out[name] = path.read_bytes().decode("utf-8")
    return out


# --------------------------------------------------------------------------- hostile values

CONTROL = st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Cs", "Co"])
# Text a person or a program might put in a field, and text meant to break a parser.
HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(CONTROL, min_size=1, max_size=5),
    st.sampled_from(["", " ", "=1+1", "+33 1 23", "'", "''", "-", "@", "\\", ";", ":", "*",
                     '"', "\r\n", "\t", "\x00", "\ufeff", "BEGIN:VCARD", "END:VCARD", "[{", "}",
                     "null", "1e999", "NaN", "2024-02-30", "0000-00-00T00:00:00+99:00",
                     "a@b", "not an email", "people/c1", "x" * 33, "é" * 5]),
    st.integers(1, 30_000).map(lambda n: "x" * n),
    st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 6_000).map(lambda n: "9" * n),
)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                    st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT)


def _nested(n: int) -> Any:
    value: Any = []
    for _ in range(n):
        value = [value]
    return value


# A JSON value, possibly hostile: any type, nested a little or far too deep, huge numbers.
JSON_VALUES = st.one_of(
    SCALARS,
    st.recursive(SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=10),
    st.integers(1, 150).map(_nested),
    st.integers(1, 100_000).map(DEEP.format),
    st.integers(1, 6_000).map(BIG.format),
)


def _json_text(data: Any) -> str:
    def expand(match: re.Match[str]) -> str:
        count = int(match.group(2))
        return "[" * count + "]" * count if match.group(1) == "DEEP" else "9" * count

    return MARKER.sub(expand, json.dumps(data, ensure_ascii=False))


# --------------------------------------------------------------------------- the check


def _check(name: str, content: str | bytes, *, with_user: bool) -> None:
    """Import ``content`` as the file ``name`` into a fresh store: a complete import or a clean
    refusal that changes nothing."""
    with tempfile.TemporaryDirectory() as tmp, _store(with_user) as (repo, viewer):
        path = Path(tmp) / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
        before = repo.dump()
        try:
            report = import_file(repo, path, viewer_id=viewer)
        except FormatError as exc:
            event("refused")
            assert "\n" not in str(exc) and str(exc).startswith(f"{path}: "), str(exc)
            assert repo.dump() == before
            return
        event("imported")
        after = repo.dump()
        if name.endswith(".json"):
            for section, rows in after.items():
                assert len(rows) == len(before[section]) + report.counts.get(section, 0)
        else:
            assert len(after["contacts"]) == len(before["contacts"]) + report.counts["contacts"]
            assert len(after["tags"]) == len(before["tags"]) + report.counts["tags"]


# --------------------------------------------------------------------------- JSON


def _mutate_json(data: dict[str, Any], draw: Callable[..., Any]) -> None:
    """Change ``data`` (a JSON export) in one of the ways a hostile file could."""
    sections = [s for s in data if isinstance(data[s], list) and data[s]]
    how = draw(st.sampled_from(["field", "drop", "unknown", "record", "section", "header"]))
    if how == "header" or not sections:
        data[draw(st.sampled_from(["format", "schema", "exported", "users"]))] = \
            draw(JSON_VALUES)
        return
    section = draw(st.sampled_from(sections))
    if how == "section":
        data[section] = draw(JSON_VALUES)
        return
    rows = data[section]
    index = draw(st.integers(0, len(rows) - 1))
    if how == "record":
        rows[index] = draw(JSON_VALUES)
        return
    record = rows[index]
    if not isinstance(record, dict) or not record:
        rows[index] = draw(JSON_VALUES)
        return
    if how == "unknown":
        record[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        return
    key = draw(st.sampled_from(sorted(record)))
    if how == "drop":
        del record[key]
    elif isinstance(record[key], list) and record[key] and draw(st.booleans()):
        inner = record[key][draw(st.integers(0, len(record[key]) - 1))]
        if isinstance(inner, dict) and inner:
            inner_key = draw(st.sampled_from(sorted(inner)))
            if draw(st.booleans()):
                del inner[inner_key]
            else:
                inner[inner_key] = draw(JSON_VALUES)
        else:
            record[key] = draw(JSON_VALUES)
    else:
        record[key] = draw(JSON_VALUES)


@FUZZ
@given(st.data())
def test_hostile_json_files(data: st.DataObject) -> None:
    source = json.loads(_exports()["all.json"])
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate_json(source, data.draw)
    _check("hostile.json", _json_text(source), with_user=False)


# --------------------------------------------------------------------------- CSV


@FUZZ
@given(st.data())
def test_hostile_csv_files(data: st.DataObject) -> None:
    rows = list(csv.reader(io.StringIO(_exports()["all.csv"], newline="")))
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.integers(0, len(rows) - 1))
        if data.draw(st.integers(0, 9)) == 0:
            rows[row] = data.draw(st.lists(HOSTILE_TEXT, max_size=len(rows[0]) + 2))
        elif rows[row]:
            rows[row][data.draw(st.integers(0, len(rows[row]) - 1))] = data.draw(HOSTILE_TEXT)
    if data.draw(st.booleans()):  # most ids of the export exist nowhere else: a new id
        for row in rows[1:]:
            if row:
                row[0] = ""
    out = io.StringIO()
    csv.writer(out, lineterminator=data.draw(st.sampled_from(["\r\n", "\n"]))).writerows(rows)
    _check("hostile.csv", out.getvalue(), with_user=True)


# --------------------------------------------------------------------------- vCard

VCARD_PROPERTIES = ["FN", "N", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "BDAY", "NOTE", "UID",
                    "CATEGORIES", "REV", "X-CRMTUI-MODIFIED", "X-CRMTUI-CREATED", "VERSION",
                    "BEGIN", "END", "item1.EMAIL", "X-UNKNOWN", ""]
VCARD_PARAMS = st.sampled_from(["", ";TYPE=WORK", ";TYPE=work,PREF", ";PREF=1", ";TYPE=cell",
                                ";VALUE=date", ";CHARSET=UTF-8", ";ENCODING=b",
                                ";ENCODING=QUOTED-PRINTABLE", ";TYPE=", ";=", ";TYPE=\"a"])


@FUZZ
@given(st.data(), st.sampled_from(["v3.vcf", "v4.vcf"]))
def test_hostile_vcard_files(data: st.DataObject, version: str) -> None:
    lines = _exports()[version].split("\r\n")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        value = data.draw(HOSTILE_TEXT).replace("\r", "").replace("\n", "\\n")
        line = (data.draw(st.sampled_from(VCARD_PROPERTIES)) + data.draw(VCARD_PARAMS) + ":"
                + value)
        if data.draw(st.booleans()):
            lines[at] = line
        else:
            lines.insert(at, line)
    _check("hostile.vcf", "\r\n".join(lines), with_user=True)


# --------------------------------------------------------------------------- raw bytes


@FUZZ
@given(st.sampled_from(["soup.json", "soup.csv", "soup.vcf"]),
       st.one_of(st.binary(max_size=300),
                 st.text(max_size=300).map(lambda t: t.encode("utf-8")),
                 st.lists(st.sampled_from([b"BEGIN:VCARD\r\n", b"VERSION:3.0\r\n",
                                           b"END:VCARD\r\n", b"FN:A\r\n", b'{"format": ',
                                           b'"crmtui"', b", ", b"[", b"]", b"{", b"}",
                                           b"given_name,", b"emails\n", b'"', b"\r\n",
                                           b"\xff", b"\x00", b"9" * 50]),
                          max_size=40).map(b"".join)))
def test_raw_bytes_in_any_format(name: str, content: bytes) -> None:
    _check(name, content, with_user=True)
