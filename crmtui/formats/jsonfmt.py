"""The crmtui JSON format: the whole database, with full fidelity.

A file is one object::

    {"format": "crmtui", "schema": 1, "exported": "2026-01-02T03:04:05+00:00",
     "users": [...], "tags": [...], "contacts": [...], "activities": [...], "accounts": [...],
     "sync_settings": [...], "sync_state": [...], "sync_links": [...], "journal": [...]}

Each list holds records exactly as the store keeps them (see the README, "JSON schema"): ids,
timestamps with their offsets and all text survive an export and an import unchanged. An import
validates every record and every reference before it writes anything, and writes all of it in
one transaction.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

from crmtui.model import ValidationError, utcnow
from crmtui.store import SCHEMA_VERSION, Repository, StoreError
from crmtui.store.migrations import lean_link

from .common import (
    ExportReport,
    FormatError,
    ImportReport,
    JSONLimitError,
    check_on_existing,
    json_text,
    load_json,
    write_json_array,
)

OLDEST_SCHEMA = 1  # exports of schema 1 import too (only their sync links are made lean)

FORMAT_MARKER = "crmtui"
HEADER_KEYS = ("format", "schema", "exported")


def export_json(repo: Repository, out: IO[str]) -> ExportReport:
    """Write the whole database to ``out`` as crmtui JSON (the text ``json.dumps(..., indent=2,
    ensure_ascii=False)`` gives), a few records at a time; how many records of each kind."""
    header: dict[str, Any] = {"format": FORMAT_MARKER, "schema": SCHEMA_VERSION,
                              "exported": utcnow().isoformat()}
    out.write("{" + ",".join(f"\n  {json_text(k)}: {json_text(v, 1)}" for k, v in header.items()))
    counts: dict[str, int] = {}
    for name, rows in repo.stream_dump():
        out.write(f",\n  {json_text(name)}: ")
        counts[name] = write_json_array(out, rows, 1)
    out.write("\n}\n")
    return ExportReport(counts=counts)


def import_json(repo: Repository, name: str, text: str, *, on_existing: str) -> ImportReport:
    """Add every record of a crmtui JSON file (see the module docstring) in one transaction.

    ``on_existing``: ``"error"`` refuses a file holding a record whose id is stored already;
    ``"skip"`` leaves such records out (listed in the report). A JSON record cannot be merged into
    a stored one, so ``"update"`` is refused.
    """
    check_on_existing(name, on_existing)
    if on_existing == "update":
        raise FormatError(name, "", "a crmtui JSON file restores whole records and cannot update "
                          "stored ones; import it with on_existing 'error' or 'skip'")
    data = _parse(name, text)
    skipped: list[str] = []
    if on_existing == "skip":
        data, skipped = _without_stored(repo, data)
    try:
        counts = repo.load_dump(data)
    except ValidationError as exc:
        location, reason = _split_field(exc)
        raise FormatError(name, location, reason) from None
    except StoreError as exc:  # StoreConflict and NotFound: a duplicate or a broken reference
        raise FormatError(name, _locate(data, str(exc)), str(exc)) from None
    return ImportReport(counts=counts, skipped=skipped)


def _parse(name: str, text: str) -> dict[str, Any]:
    try:
        data = load_json(text)
    except JSONLimitError as exc:
        raise FormatError(name, f"line {exc.lineno}, column {exc.colno}",
                          f"{exc.msg}; this is not a crmtui export") from None
    except json.JSONDecodeError as exc:
        raise FormatError(name, f"line {exc.lineno}, column {exc.colno}",
                          f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_MARKER:
        found = data.get("format") if isinstance(data, dict) else None
        what = "has no \"format\" marker" if found is None else f"has \"format\": {found!r}"
        raise FormatError(name, "format", f"this is not a crmtui JSON export (it {what}; a crmtui "
                          f"export has \"format\": \"{FORMAT_MARKER}\")")
    schema = data.get("schema")
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise FormatError(name, "schema", f"the schema version must be a whole number, "
                          f"not {schema!r}")
    if schema > SCHEMA_VERSION:
        raise FormatError(name, "schema", f"the file was written by a newer crmtui (schema "
                          f"{schema}; this crmtui reads schema {SCHEMA_VERSION}); upgrade crmtui "
                          "to import it")
    if schema < OLDEST_SCHEMA:
        raise FormatError(name, "schema", f"the file has schema {schema}, older than any crmtui "
                          f"release writes (schema {SCHEMA_VERSION}); it cannot be imported")
    if schema == 1 and isinstance(data.get("sync_links"), list):
        for link in data["sync_links"]:  # schema 2 keeps links lean; the records are the same
            lean_link(link)
    return {key: value for key, value in data.items() if key not in HEADER_KEYS}


def _record_key(section: str, record: Any) -> str | None:
    """The key a record is stored under (as the store's dump writes it)."""
    if not isinstance(record, dict):
        return None
    if section == "sync_settings":
        key = record.get("user_id")
    elif section == "sync_state":
        key = record.get("key")
    elif section == "sync_links":
        parts = [record.get("user_id"), record.get("kind"), record.get("local_id")]
        key = ":".join(p for p in parts if isinstance(p, str)) if all(
            isinstance(p, str) for p in parts) else None
    else:
        key = record.get("id")
    return key if isinstance(key, str) else None


def _without_stored(repo: Repository, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` without the records already stored, and a note about each one left out."""
    stored = {section: {_record_key(section, r) for r in rows}
              for section, rows in repo.dump().items()}
    kept: dict[str, Any] = {}
    skipped: list[str] = []
    for section, rows in data.items():
        if section not in stored or not isinstance(rows, list):
            kept[section] = rows
            continue
        kept[section] = []
        for i, record in enumerate(rows, 1):
            key = _record_key(section, record)
            if key is not None and key in stored[section]:
                skipped.append(f"{section}[{i}]: {key} already exists; skipped")
            else:
                kept[section].append(record)
    return kept, skipped


def _split_field(exc: ValidationError) -> tuple[str, str]:
    """``contacts[3].emails: problem`` as (``contacts[3]``, ``emails: problem``)."""
    text = str(exc)[len(exc.field) + 2:]
    match = re.fullmatch(r"(\w+\[\d+\])\.?(.*)", exc.field)
    if match is None:
        return exc.field, text
    location, inner = match.groups()
    return location, f"{inner}: {text}" if inner else text


def _locate(data: dict[str, Any], message: str) -> str:
    """The record a store error is about: one whose key the message names, else one that refers
    to an id the message names, else the section the message starts with."""
    words = set(re.findall(r"[A-Za-z0-9_.:\-]+", message))
    section = message.split(":", 1)[0] if ":" in message else ""
    for name, rows in data.items():
        if isinstance(rows, list) and (not section or name == section or section not in data):
            for i, record in enumerate(rows, 1):
                if _record_key(name, record) in words:
                    return f"{name}[{i}]"
    for name, rows in data.items():
        if isinstance(rows, list):
            for i, record in enumerate(rows, 1):
                values = json.dumps(record, ensure_ascii=False)
                if any(len(w) >= 8 and f'"{w}"' in values for w in words):
                    return f"{name}[{i}]"
    return section if section in data else "file"


__all__ = ["export_json", "import_json"]
