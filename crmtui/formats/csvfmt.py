r"""The crmtui CSV format: contacts, one row each.

The file is UTF-8 (a byte order mark is accepted on import), comma-separated, with a header row
and RFC 4180 quoting, so cells may hold commas, quotes and line breaks. Columns, in export order:

===========  =====================================================================================
column       content
===========  =====================================================================================
id           the crmtui id, 32 hex digits; empty on import: a new contact with a new id
given_name   given name
middle_name  middle name(s)
family_name  family name
company      company
job_title    job title
emails       typed list: ``work:ann@example.com; *home:ann@example.org``
phones       typed list: ``mobile:+1 555 0100; *work:+1 555 0199``
addresses    a JSON list of address objects (keys ``type``, ``street``, ``city``, ``region``,
             ``postal_code``, ``country``, ``primary``; empty ones left out), e.g.
             ``[{"type": "work", "street": "1 Main St", "city": "Oslo", "primary": true}]``
birthday     ``YYYY-MM-DD``
notes        free text, line breaks kept
tags         tag names separated by ``;``: ``VIP; Customers``
owner        email of the crmtui user who owns the contact; empty on import: the importing user
created      ISO 8601 date and time with offset, ``2026-01-02T03:04:05.123456+00:00``
modified     same format as ``created``
===========  =====================================================================================

Typed lists: items are separated by ``;``; each item is ``type:value``, with a ``*`` before the
type marking the primary one. Types of emails are work, home, other; of phones work, home,
mobile, main, fax, other. An item without a type gets the type ``work``. In values and tag names
a ``;`` or ``\`` is written ``\;`` or ``\\`` (a ``:`` needs no escape: the type ends at the first).

Spreadsheet formulas: a spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula. The export writes such a cell (any column: a
name, a company, a note, a tag list) with an apostrophe before it, ``'=1+1``, so it opens as
text; a value that itself starts with an apostrophe followed by one of those characters or by
another apostrophe gets one more apostrophe (``'=x`` is written ``''=x``). The import takes
exactly one leading apostrophe away when one of those characters or another apostrophe follows
it, so an export imports back exactly; any other apostrophe (``'tis``) is kept as it is. Typed
lists start with their type (``mobile:+33 1 23 45 67 89``); a cell holding a bare number,
``'+33 1 23 45 67 89``, imports as ``+33 1 23 45 67 89``.

Import: only ``given_name``, ``family_name``, ``company`` and ``emails`` are needed (at least one
of them must be a column); any other column above may be left out, and an unknown column refuses
the file. Column names are matched ignoring case and surrounding spaces. Missing ``created`` and
``modified`` are set to the time of the import. Tags are found by name among the tags the
importing user sees; missing ones are created as that user's private tags. An ``id`` that is
not 32 hex digits refuses the file (upper-case digits are read as lower case). A contact whose id
is stored already is refused, skipped or updated (``on_existing``); an update changes only the
columns the file has.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from typing import IO, Any

from crmtui.model import Address, Contact, Email, Phone, Tag, ValidationError
from crmtui.store import ContactQuery, Repository

from .common import (
    ExportReport,
    FormatError,
    ImportReport,
    ParsedContact,
    join_list,
    load_json,
    split_list,
    write_contacts,
)

COLUMNS = ("id", "given_name", "middle_name", "family_name", "company", "job_title", "emails",
           "phones", "addresses", "birthday", "notes", "tags", "owner", "created", "modified")
NEEDED = ("given_name", "family_name", "company", "emails")
# Columns whose cell is copied to the Contact field of the same name as it is.
TEXT_COLUMNS = ("given_name", "middle_name", "family_name", "company", "job_title", "birthday",
                "notes", "created", "modified")


# A cell starting with one of these is a formula to a spreadsheet program.
FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))
# What a crmtui escape apostrophe stands before: a formula start or another apostrophe.
ESCAPED_STARTS = FORMULA_STARTS | {"'"}
ID_PATTERN = re.compile(r"[0-9a-f]{32}")


# --------------------------------------------------------------------------- export


def escape_cell(text: str) -> str:
    """``text`` as written to a cell: with an apostrophe before it when it starts with a formula
    character, or with an apostrophe that :func:`unescape_cell` would take away."""
    if text[:1] in FORMULA_STARTS or (text[:1] == "'" and text[1:2] in ESCAPED_STARTS):
        return "'" + text
    return text


def unescape_cell(cell: str) -> str:
    """The value a cell holds: the inverse of :func:`escape_cell` (one leading apostrophe
    before a formula character or another apostrophe is taken away)."""
    if cell[:1] == "'" and cell[1:2] in ESCAPED_STARTS:
        return cell[1:]
    return cell


def export_csv(repo: Repository, viewer_id: str, out: IO[str]) -> ExportReport:
    """Write every contact to ``out`` as CSV, as it is read; tags only as far as ``viewer_id``
    may see them."""
    tag_names = {t.id: t.name for t in repo.list_tags(viewer_id)}
    owners = {u.id: u.email for u in repo.list_users()}
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for c in repo.stream_contacts(ContactQuery(), viewer_id):
        writer.writerow(escape_cell(cell) for cell in (
            c.id, c.given_name, c.middle_name, c.family_name, c.company, c.job_title,
            _typed(c.emails), _typed(c.phones), _addresses(c.addresses),
            c.birthday.isoformat() if c.birthday else "", c.notes,
            join_list(tag_names[t] for t in c.tags if t in tag_names),
            owners.get(c.owner_id, ""), c.created.isoformat(), c.modified.isoformat()))
        count += 1
    return ExportReport(counts={"contacts": count})


def _typed(items: Sequence[Email | Phone]) -> str:
    return join_list(f"{'*' if i.primary else ''}{i.type}:{i.value}" for i in items)


def _addresses(items: Sequence[Address]) -> str:
    if not items:
        return ""
    return json.dumps([{k: v for k, v in a.to_dict().items() if v} for a in items],
                      ensure_ascii=False)


# --------------------------------------------------------------------------- import


def import_csv(repo: Repository, name: str, text: str, *, viewer_id: str, on_existing: str
               ) -> ImportReport:
    """Add (or skip, or update) the contacts of a CSV file, all in one transaction."""
    parsed = parse_csv(name, text)
    return write_contacts(repo, name, parsed, viewer_id=viewer_id, on_existing=on_existing)


def parse_csv(name: str, text: str) -> list[ParsedContact]:
    """Parse and validate every row; the first bad one raises :class:`FormatError`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FormatError(name, "line 1", f"not valid CSV: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        raise FormatError(name, "line 1", "the file is empty; a header row naming the columns "
                          f"is needed ({', '.join(COLUMNS)})")
    columns = _columns(name, header)
    parsed: list[ParsedContact] = []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FormatError(name, f"line {line}", f"not valid CSV: {exc}") from None
        where = f"line {line}"
        line = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            raise FormatError(name, where, f"the row has {len(row)} cells but the header names "
                              f"{len(columns)} columns")
        cells = dict(zip(columns, (unescape_cell(cell) for cell in
                                   row + [""] * (len(columns) - len(row))), strict=True))
        parsed.append(_contact(name, where, cells))
    return parsed


def _columns(name: str, header: list[str]) -> list[str]:
    columns = [h.strip().lower() for h in header]
    unknown = [h for h, c in zip(header, columns, strict=True) if c not in COLUMNS]
    if unknown:
        raise FormatError(name, "line 1", f"unknown column(s): {', '.join(map(repr, unknown))}; "
                          f"the columns are {', '.join(COLUMNS)}")
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise FormatError(name, "line 1", f"column(s) named twice: {', '.join(twice)}")
    if not set(NEEDED) & set(columns):
        raise FormatError(name, "line 1", f"the file needs at least one of the columns "
                          f"{', '.join(NEEDED)}")
    return columns


def _contact(name: str, where: str, cells: dict[str, str]) -> ParsedContact:
    values: dict[str, Any] = {c: cells[c] for c in TEXT_COLUMNS if c in cells}
    for key in ("birthday", "created", "modified"):
        if key in values and not values[key].strip():
            del values[key]
    # An empty birthday cell clears the birthday; empty times are left to the import.
    given = set(values) | ({"birthday"} & set(cells))
    try:
        if cells.get("id", "").strip():
            values["id"] = _id(cells["id"])
        for column, parse in _PARSERS.items():
            if column in cells:
                values[column] = _cell(column, cells[column], parse)
                given.add(column)
        contact = Contact(**values)
    except ValidationError as exc:
        raise FormatError(name, where, str(exc)) from None
    tag_names = split_list(cells.get("tags", ""))
    for tag_name in tag_names:
        try:
            Tag(name=tag_name)
        except ValidationError as exc:
            raise FormatError(name, where, f"tags: {exc.problem} ({tag_name!r})") from None
    if "tags" in cells:
        given.add("tags")
    return ParsedContact(contact=contact, where=where, given=frozenset(given),
                         tag_names=tag_names, owner_email=cells.get("owner", "").strip(),
                         has_id="id" in values)


def _id(text: str) -> str:
    cid = text.strip().lower()
    if not ID_PATTERN.fullmatch(cid):
        raise ValidationError("id", "must be 32 hex digits (0-9, a-f), as crmtui writes ids; "
                              "leave the cell empty to make a new contact", text.strip())
    return cid


def _cell(column: str, text: str, parse: Callable[[str], list[Any]]) -> list[Any]:
    """Parse a multi-valued cell; problems are reported under the column's name."""
    try:
        return parse(text)
    except ValidationError as exc:
        shown = str(exc)[len(exc.field) + 2:]
        raise ValidationError(column, f"{exc.field} {shown}" if exc.field != column else shown
                              ) from None


def _typed_items(cls: type[Email] | type[Phone]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        out = []
        for item in split_list(text):
            primary = item.startswith("*")
            item = item.removeprefix("*").strip()
            kind, sep, value = item.partition(":")
            if not sep:
                kind, value = "work", item
            out.append(cls(value=value.strip(), type=kind.strip(), primary=primary))
        return out
    return parse


def _address_items(text: str) -> list[Address]:
    if not text.strip():
        return []
    try:
        data = load_json(text)
    except json.JSONDecodeError as exc:  # also the limits of load_json
        raise ValidationError("addresses", f"is not a JSON list of addresses ({exc.msg} at "
                              f"character {exc.pos + 1})") from None
    if not isinstance(data, list):
        raise ValidationError("addresses", "must be a JSON list of address objects, [{...}]")
    return [Address.from_dict(item) for item in data]


_PARSERS: dict[str, Callable[[str], list[Any]]] = {
    "emails": _typed_items(Email),
    "phones": _typed_items(Phone),
    "addresses": _address_items,
}


__all__ = ["COLUMNS", "escape_cell", "export_csv", "import_csv", "parse_csv", "unescape_cell"]
