"""What every format shares: errors, reports, file access and the contact import writer.

The contact formats (CSV, vCard) parse and validate a whole file into :class:`ParsedContact`
records first; :func:`write_contacts` then resolves owners and tags and writes everything in one
transaction, so a file goes in completely or not at all.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from crmtui.model import Contact, Tag, TagKind, ValidationError, fold
from crmtui.store import NotFound, Repository

ON_EXISTING = ("error", "skip", "update")
STDIO = "-"

# The fields an update takes from the file (tags and owner are resolved separately; the
# modification time becomes the time of the import).
UPDATABLE = frozenset(("given_name", "middle_name", "family_name", "company", "job_title",
                       "emails", "phones", "addresses", "birthday", "notes", "created"))


class FormatError(ValueError):
    """A file crmtui cannot import or write.

    ``location`` says where in the file (``"line 14"``, ``"record 3 (line 17)"``,
    ``"contacts[7]"``; empty for the file as a whole) and ``reason`` what is wrong.
    """

    def __init__(self, file: str, location: str, reason: str) -> None:
        self.file = file
        self.location = location
        self.reason = reason
        where = f"{location}: " if location else ""
        super().__init__(one_line(f"{file}: {where}{reason}"))


_UNSHOWN = frozenset(("Cc", "Zl", "Zp", "Cs"))


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes (``\\n``), so a
    message quoting a file's content stays one line and cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) in _UNSHOWN else ch
                   for ch in text)


@dataclass
class ImportReport:
    """What an import did: records added per kind, and what it left out (with the reason)."""

    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@dataclass
class ExportReport:
    """What an export wrote: records per kind."""

    counts: dict[str, int] = field(default_factory=dict)


def display_name(path: str | Path) -> str:
    """How error messages name ``path``."""
    return "standard input" if str(path) == STDIO else str(path)


def read_text(path: str | Path) -> str:
    """The text of ``path`` (``"-"``: standard input), UTF-8 with an optional byte order mark."""
    name = display_name(path)
    try:
        if str(path) == STDIO:
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else \
                sys.stdin.read().encode("utf-8")
        else:
            data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(name, "", f"cannot read the file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FormatError(name, f"line {line}", "is not UTF-8 text; save the file as UTF-8 "
                          "and try again") from None


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (``"-"``: standard output) as UTF-8, line ends unchanged."""
    if str(path) == STDIO:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    except OSError as exc:
        raise FormatError(str(path), "", f"cannot write the file: {exc.strerror or exc}") from None


@contextmanager
def open_output(path: str | Path) -> Iterator[IO[str]]:
    """A text stream to write ``path`` (``"-"``: standard output) as it is produced, UTF-8, line
    ends unchanged: an export holds a batch of records in memory, never the whole text.

    A regular file is written beside itself and renamed into place when the export finished, so
    an export that fails half way leaves the file as it was."""
    if str(path) == STDIO:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    regular = not target.exists() or target.is_file()
    write_to = (target.with_name(f".{target.name}.{os.getpid()}.tmp") if regular else target)
    try:
        with open(write_to, "w", encoding="utf-8", newline="") as out:
            yield out
        if regular:
            if target.exists():
                shutil.copymode(target, write_to)
            os.replace(write_to, target)
    except OSError as exc:
        raise FormatError(str(path), "", f"cannot write the file: {exc.strerror or exc}") from None
    finally:
        if regular and write_to.exists():
            write_to.unlink()


def json_text(value: Any, level: int = 0) -> str:
    """``value`` as ``json.dumps(value, ensure_ascii=False, indent=2)`` writes it, every line
    after the first indented ``level`` steps further (a value inside an indented document).
    orjson writes the same text several times faster; what it refuses (a lone surrogate, an
    integer beyond 64 bits) goes to the standard library."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        text = json.dumps(value, ensure_ascii=False, indent=2)
    return text if not level else text.replace("\n", "\n" + "  " * level)


class TextOut(Protocol):
    """Where text is written a piece at a time (a text file, or the command line's output)."""

    def write(self, text: str, /) -> object: ...


JSON_BATCH = 200
"""Records whose text is written out at once by :func:`write_json_array`."""


def write_json_array(out: TextOut, rows: Iterable[Any], level: int = 0) -> int:
    """Write ``rows`` as the JSON array ``json.dumps(list(rows), ensure_ascii=False,
    indent=2)`` would be, at indentation ``level``, a few records at a time; returns how many.
    """
    pad = "\n" + "  " * (level + 1)
    count = 0
    parts: list[str] = []
    for row in rows:
        parts.append(("[" if count == 0 else ",") + pad + json_text(row, level + 1))
        count += 1
        if len(parts) >= JSON_BATCH:
            out.write("".join(parts))
            parts.clear()
    parts.append("\n" + "  " * level + "]" if count else "[]")
    out.write("".join(parts))
    return count


def check_on_existing(name: str, on_existing: str) -> None:
    if on_existing not in ON_EXISTING:
        raise FormatError(name, "", f"on_existing must be one of {', '.join(ON_EXISTING)}, "
                          f"not {on_existing!r}")


# --------------------------------------------------------------------------- JSON text

# A crmtui file is never nested deeper than a handful of levels, and its numbers are small;
# these limits keep a hostile file from exhausting the parser (which recurses once per level),
# Python's integer conversion, or the database file (whose whole numbers have 64 bits).
MAX_JSON_DEPTH = 100
MAX_JSON_DIGITS = 1000
MAX_JSON_INT = 2 ** 63 - 1
# Outside strings (skipped whole), the brackets and the numbers; a lone quote starts a string
# that never ends.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{}]'
                          r"|-?(?:[0-9][0-9.eE+\-]*|Infinity)|NaN", re.DOTALL)
_JSON_INT = re.compile(r"-?[0-9]+")


class JSONLimitError(json.JSONDecodeError):
    """JSON text that is well formed, or may be, but beyond what crmtui reads."""


def load_json(text: str) -> Any:
    """``json.loads(text)``, refusing arrays and objects nested deeper than
    :data:`MAX_JSON_DEPTH`, numbers of more than :data:`MAX_JSON_DIGITS` digits, whole numbers
    beyond 64 bits, numbers too large for a float, ``NaN`` and ``Infinity``.

    Raises :class:`json.JSONDecodeError` (a :class:`JSONLimitError` for the limits), which
    carries the position: the parser never runs out of stack or converts a huge number.
    """
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        value = token.group()
        if value[0] == '"':
            if len(value) == 1:
                break  # an unterminated string: json.loads says where
        elif value[0] in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise JSONLimitError(f"arrays and objects nested more than {MAX_JSON_DEPTH} "
                                     "levels deep", text, token.start())
        elif value[0] in "]}":
            depth = max(depth - 1, 0)
        else:
            problem = _number_problem(value)
            if problem:
                raise JSONLimitError(problem, text, token.start())
    try:
        return json.loads(text)
    except RecursionError:  # the limits above keep the parser far from the stack's end
        raise JSONLimitError("arrays and objects nested too deep", text, 0) from None


def _number_problem(token: str) -> str:
    """Why crmtui does not read the JSON number ``token`` ("" when it does, or when it is no
    number at all: the parser then says what is wrong)."""
    digits = sum(ch.isdigit() for ch in token)
    if digits > MAX_JSON_DIGITS:
        return f"a number of {digits} digits (at most {MAX_JSON_DIGITS} are read)"
    shown = token if len(token) <= 30 else f"{token[:27]}..."
    if "Infinity" in token or token == "NaN":
        return f"{token} is not a number crmtui reads"
    if _JSON_INT.fullmatch(token):
        if not -MAX_JSON_INT - 1 <= int(token) <= MAX_JSON_INT:
            return (f"the number {shown} is out of range (whole numbers go from "
                    f"{-MAX_JSON_INT - 1} to {MAX_JSON_INT})")
        return ""
    try:
        number = float(token)
    except ValueError:
        return ""
    return "" if math.isfinite(number) else f"the number {shown} is too large"


# --------------------------------------------------------------------------- multi-valued cells


def split_list(text: str, sep: str = ";") -> list[str]:
    r"""Split ``text`` at every ``sep`` not escaped by a backslash; ``\x`` becomes ``x``.

    Items are trimmed and empty items dropped: ``"a\;b; c"`` is ``["a;b", "c"]``.
    """
    items: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch == sep:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def join_list(items: Iterable[str], sep: str = ";") -> str:
    """The inverse of :func:`split_list`: backslashes and separators are escaped."""
    return f"{sep} ".join(item.replace("\\", "\\\\").replace(sep, "\\" + sep) for item in items)


# --------------------------------------------------------------------------- contact import


@dataclass
class ParsedContact:
    """A validated contact from a file, before owners and tags are resolved.

    ``where`` locates it in the file for messages. ``given`` holds the fields the file set
    (an update changes only these). ``tag_names`` are resolved by name; ``owner_email``, when
    set, names the owning user.
    """

    contact: Contact
    where: str
    given: frozenset[str]
    tag_names: list[str] = field(default_factory=list)
    owner_email: str = ""
    has_id: bool = True


def check_unique_ids(name: str, parsed: Sequence[ParsedContact]) -> None:
    """Refuse a file that lists the same contact id twice."""
    first: dict[str, str] = {}
    for item in parsed:
        if not item.has_id:
            continue
        cid = item.contact.id
        if cid in first:
            raise FormatError(name, item.where, f"id: the contact {cid} is already listed at "
                              f"{first[cid]}; every contact may appear only once")
        first[cid] = item.where


def write_contacts(repo: Repository, name: str, parsed: Sequence[ParsedContact], *,
                   viewer_id: str, on_existing: str) -> ImportReport:
    """Write parsed contacts in one transaction, resolving owners, tags and existing ids.

    Missing tags are created as private tags of ``viewer_id``. A contact whose id is stored
    already is refused (``"error"``), left alone (``"skip"``) or overwritten field by field
    (``"update"``; tags the viewer cannot see stay on it).
    """
    check_on_existing(name, on_existing)
    check_unique_ids(name, parsed)
    report = ImportReport(counts={"contacts": 0, "updated": 0, "tags": 0})
    owners: dict[str, str | None] = {}
    tags: dict[str, str] = {}
    with repo.transaction():
        repo.get_user(viewer_id)  # the importing user must exist

        def owner_of(item: ParsedContact) -> str | None:
            """The id of the user the item names as owner (None: none or unknown)."""
            if not item.owner_email:
                return None
            key = item.owner_email.casefold()
            if key not in owners:
                user = repo.find_user(item.owner_email)
                owners[key] = None if user is None else user.id
                if user is None:
                    report.skipped.append(
                        f"{item.where}: owner: no crmtui user has the email {item.owner_email}; "
                        "new contacts that name it belong to the importing user")
            return owners[key]

        def tag_id(tag_name: str) -> str:
            key = fold(tag_name)
            if key not in tags:
                tag = repo.find_tag(tag_name, viewer_id)
                if tag is None:
                    tag = repo.add_tag(Tag(name=tag_name, kind=TagKind.PRIVATE,
                                           owner_id=viewer_id))
                    report.counts["tags"] += 1
                tags[key] = tag.id
            return tags[key]

        new: list[Contact] = []
        updates: list[Contact] = []
        for item in parsed:
            contact = item.contact
            existing = _stored_contact(repo, contact.id) if item.has_id else None
            if existing is not None and on_existing == "error":
                raise FormatError(name, item.where, f"id: a contact with id {contact.id} "
                                  f"({existing.display_name}) already exists; import with "
                                  "on_existing 'skip' or 'update' to keep or replace it")
            if existing is not None and on_existing == "skip":
                report.skipped.append(f"{item.where}: contact {contact.id} "
                                      f"({existing.display_name}) already exists; skipped")
                continue
            owner = owner_of(item)
            tag_ids = [tag_id(t) for t in item.tag_names]
            if existing is None:
                new.append(_evolve(name, item, contact, tags=tag_ids,
                                   owner_id=owner or contact.owner_id or viewer_id))
                continue
            values: dict[str, Any] = {f: getattr(contact, f) for f in item.given
                                      if f in UPDATABLE}
            if "tags" in item.given:
                values["tags"] = tag_ids
            if owner:
                values["owner_id"] = owner
            updates.append(_evolve(name, item, existing, **values))
        if new:
            repo.add_contacts(new)
        for contact in updates:
            repo.update_contact(contact, viewer_id)
        report.counts["contacts"] = len(new)
        report.counts["updated"] = len(updates)
    return report


def _evolve(name: str, item: ParsedContact, contact: Contact, **values: Any) -> Contact:
    try:
        return contact.evolve(**values)
    except ValidationError as exc:
        raise FormatError(name, item.where, str(exc)) from None


def _stored_contact(repo: Repository, contact_id: str) -> Contact | None:
    try:
        return repo.get_contact(contact_id)
    except NotFound:
        return None
