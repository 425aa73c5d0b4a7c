"""The whole database at once: the TinyDB repository's export (dump) and import (load_dump)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from typing import Any

from crmtui.model import (
    Account,
    Activity,
    Contact,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
    fold,
)
from crmtui.store.repository import NotFound, StoreConflict
from crmtui.store.tinydb_base import (
    ACCOUNTS,
    ACTIVITIES,
    CONTACTS,
    JOURNAL,
    LINKS,
    SETTINGS,
    STATE,
    TABLES,
    TAGS,
    USERS,
    TinyDBBase,
    _doc,
    _stored,
)


class DumpTables(TinyDBBase):
    """Every record of every table, out and in."""

    _touched: set[str] | None  # the contacts a transaction changed (None: maybe every one)

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        with self._rlock:
            self._read()
            out: dict[str, list[dict[str, Any]]] = {}
            for name in TABLES:
                table = self._table(name)
                if name in (SETTINGS, LINKS):
                    out[name] = [dict(d) for d in table.values()]
                elif name == STATE:
                    out[name] = [{"key": k, **d} for k, d in table.items()]
                else:
                    out[name] = [_doc(k, d) for k, d in table.items()]
            return out

    def stream_dump(self) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
        # The tables as this process holds them now: a commit of another process, read
        # meanwhile, replaces the tables rather than changing them.
        with self._rlock:
            self._read()
            tables = [(name, self._table(name)) for name in TABLES]
        for name, table in tables:
            yield name, _rows(name, table)

    def load_dump(self, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        unknown = sorted(set(data) - set(TABLES) - {"format", "schema", "exported"})
        if unknown:
            raise ValidationError("file", f"unknown section(s): {', '.join(unknown)}")
        entity: dict[str, Any] = {USERS: User, TAGS: Tag, CONTACTS: Contact, ACTIVITIES: Activity,
                  ACCOUNTS: Account, JOURNAL: SyncRun}
        parsed: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for name in TABLES:
            rows: Any = data.get(name) or []
            if not isinstance(rows, list):
                raise ValidationError(name, "must be a list of records")
            out: list[tuple[str, dict[str, Any]]] = []
            kind = entity.get(name) or {SETTINGS: SyncSettings, LINKS: SyncLink}.get(name)
            for i, row in enumerate(rows, 1):
                where = f"{name}[{i}]"
                if kind is not None:
                    _check_fields(where, kind, row)
                try:
                    if name in entity:
                        record = entity[name].from_dict(row)
                        if name == ACTIVITIES:
                            record.require_organizer()
                        out.append((record.id, _stored(record)))
                    elif name == SETTINGS:
                        s = SyncSettings.from_dict(row)
                        out.append((s.user_id, s.to_dict()))
                    elif name == LINKS:
                        link = SyncLink.from_dict(row)
                        out.append((f"{link.user_id}:{link.kind.value}:{link.local_id}",
                                    link.to_dict()))
                    else:
                        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
                            raise ValidationError("key", "a sync state needs a key")
                        rest = dict(row)
                        out.append((rest.pop("key"), rest))
                except ValidationError as exc:
                    raise ValidationError(f"{where}.{exc.field}", exc.problem, exc.value) from None
            ids = [doc_id for doc_id, _ in out]
            if len(set(ids)) != len(ids):
                raise StoreConflict(f"{name}: the same id appears twice in the file")
            parsed[name] = out
        with self.transaction():
            for name, parsed_rows in parsed.items():
                table = self._table(name)
                for doc_id, _ in parsed_rows:
                    if doc_id in table:
                        raise StoreConflict(f"{name}: a record with id {doc_id} already exists")
            self._check_unique(parsed[USERS], parsed[TAGS])
            for name, parsed_rows in parsed.items():
                if parsed_rows:
                    self._put_docs(name, parsed_rows)
            self._check_references()
            self._touched = None  # every contact may have changed: the front page is rebuilt
            self._index = None
            self._remote_links = None
        return {name: len(parsed_rows) for name, parsed_rows in parsed.items()}

    def erase(self) -> None:
        with self.transaction():
            for name in TABLES:
                ids = list(self._table(name))
                if ids:
                    self._remove(name, ids)
            self._index = None
            self._remote_links = None

    def _check_unique(self, users: list[tuple[str, dict[str, Any]]],
                      tags: list[tuple[str, dict[str, Any]]]) -> None:
        """New users' emails and new tags' names (per scope) are not taken (raises
        StoreConflict)."""
        emails = {u["email"].casefold() for u in self._table(USERS).values()}
        for _, doc in users:
            key = doc["email"].casefold()
            if key in emails:
                raise StoreConflict(f"users: a user with the email {doc['email']} already exists")
            emails.add(key)

        def scoped(doc: Mapping[str, Any]) -> tuple[str, str]:
            scope = doc.get("owner_id", "") if doc["kind"] == TagKind.PRIVATE.value else ""
            return (scope, fold(doc["name"]))

        names = {scoped(t) for t in self._table(TAGS).values()}
        for _, doc in tags:
            key = scoped(doc)
            if key in names:
                raise StoreConflict(f"tags: a tag named {doc['name']!r} already exists")
            names.add(key)

    def _check_references(self) -> None:
        """Every reference between stored records resolves (raises NotFound otherwise)."""
        users, contacts, tags = self._table(USERS), self._table(CONTACTS), self._table(TAGS)
        for u in users.values():
            if u.get("contact_id") and u["contact_id"] not in contacts:
                raise NotFound(f"users: {u['email']} refers to a missing contact {u['contact_id']}")
        for t in tags.values():
            if t.get("owner_id") and t["owner_id"] not in users:
                raise NotFound(f"tags: {t['name']!r} is owned by a missing user {t['owner_id']}")
        for cid, c in contacts.items():
            for tid in c.get("tags", ()):
                if tid not in tags:
                    raise NotFound(f"contacts: {cid} carries a missing tag {tid}")
            if c.get("owner_id") and c["owner_id"] not in users:
                raise NotFound(f"contacts: {cid} is owned by a missing user {c['owner_id']}")
        for aid, a in self._table(ACTIVITIES).items():
            self._check_activity_refs(Activity.from_dict(_doc(aid, a)))
        for name in (ACCOUNTS, SETTINGS):
            for doc in self._table(name).values():
                if doc["user_id"] not in users:
                    raise NotFound(f"{name}: refers to a missing user {doc['user_id']}")


def _rows(name: str, table: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The records of the table ``name`` as :meth:`DumpTables.dump` lists them, one at a time."""
    for key in list(table):
        doc = table.get(key)
        if doc is None:
            continue
        if name in (SETTINGS, LINKS):
            yield dict(doc)
        elif name == STATE:
            yield {"key": key, **doc}
        else:
            yield _doc(key, doc)


def _field_problem(cls: type, row: Any, path: str = "") -> tuple[str, str] | None:
    """The first place in ``row`` (a record of ``cls``, or one of its listed items) that lacks
    a field with no default, or holds something else than a list or an object where the field
    is one, and what is wrong there; None when the shape is right (the entity checks the rest).
    """
    if not isinstance(row, Mapping):
        return None  # from_dict says what it must be
    missing = [f.name for f in fields(cls)
               if f.default is MISSING and f.default_factory is MISSING and f.name not in row]
    if missing:
        return path, f"missing field(s): {', '.join(missing)}"
    for f in fields(cls):
        if f.name not in row or f.default_factory not in (list, dict):
            continue
        shape, what = (list, "a list") if f.default_factory is list else (dict, "an object")
        if not isinstance(row[f.name], shape):
            where = f"{path}.{f.name}" if path else f.name
            return where, f"must be {what}, not {_json_kind(row[f.name])}"
    for name, item_cls in getattr(cls, "_nested", {}).items():
        for i, item in enumerate(row.get(name) or (), 1):
            found = _field_problem(item_cls, item, f"{name}[{i}]")
            if found is not None:
                return found
    return None


def _check_fields(where: str, cls: type, row: Any) -> None:
    """Refuse a record of ``cls`` at ``where`` (``"sync_links[2]"``) whose fields are missing or
    of the wrong shape, naming the record (and its id, when it has one) and the field."""
    found = _field_problem(cls, row)
    if found is None:
        return
    path, problem = found
    record_id = row.get("id")
    which = f" (record {record_id})" if isinstance(record_id, str) and record_id else ""
    raise ValidationError(f"{where}.{path}" if path else where, problem + which)


def _json_kind(value: Any) -> str:
    """What ``value`` is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "text" if isinstance(value, str) else "a list or an object"
