"""The sync tables of the PostgreSQL repository (settings, state, links, the journal of runs) and
the whole database at once (dump, load_dump, erase).

A link is kept as columns for the queries (ids, etag, times), its ``base`` (JSON) and every
other field as written (``extra``, JSON); a field is read back only while the SyncLink model has
it, so a field dropped from the model needs no migration of stored links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from crmtui.model import (
    Account,
    Activity,
    Contact,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
    fold,
    sync_tag_problem,
)
from crmtui.store import repository  # the journal's bounds (the same for every store)
from crmtui.store.pg_activities import INSERT_ACTIVITY, ActivityTables, activity_row
from crmtui.store.pg_base import clean, jsonb
from crmtui.store.pg_rows import INSERT_CONTACT, contact_row
from crmtui.store.pg_schema import TABLES
from crmtui.store.repository import NotFound, StoreConflict
from crmtui.store.tinydb_dump import _check_fields

_LINK_COLUMNS = ("user_id", "kind", "local_id", "remote_id", "etag", "base", "synced",
                 "remote_updated")
_LINK_SELECT = ", ".join(_LINK_COLUMNS) + ", extra"
_PUT_LINK = (f"INSERT INTO sync_links ({_LINK_SELECT}) VALUES ({', '.join(['%s'] * 9)}) "
             "ON CONFLICT (user_id, kind, local_id) DO UPDATE SET " +
             ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_LINK_COLUMNS[3:], "extra")))
_DUMP_TABLES = ("users", "tags", "contacts", "activities", "accounts", "sync_settings",
                "sync_state", "sync_links", "journal")


def link_row(link: SyncLink) -> tuple[Any, ...]:
    """The row of a link: the columns queries use, ``base``, and every other field as written
    (``extra``, which is what the link is read back from)."""
    extra = link.to_dict()
    base = extra.pop("base")
    return (link.user_id, link.kind.value, link.local_id, link.remote_id, link.etag,
            jsonb(base), link.synced, link.remote_updated, jsonb(extra))


class SyncTables(ActivityTables):
    """What sync keeps per user, and the whole database at once."""

    # -- sync settings ----------------------------------------------------------------------------

    def get_sync_settings(self, user_id: str) -> SyncSettings:
        row = self._one("SELECT doc FROM sync_settings WHERE user_id = %s", (user_id,))
        if row is None:
            return SyncSettings(user_id=user_id)
        return self._record(SyncSettings, "sync_settings", user_id, row[0])

    def save_sync_settings(self, settings: SyncSettings) -> None:
        with self.transaction():
            if not self._ids_in("users", [settings.user_id]):
                raise NotFound(f"no user {settings.user_id}")
            if settings.contacts_tag_id:
                row = self._one("SELECT doc FROM tags WHERE id = %s", (settings.contacts_tag_id,))
                if row is None:
                    raise NotFound(f"no tag {settings.contacts_tag_id}")
                problem = sync_tag_problem(Tag.from_dict({**row[0],
                                                          "id": settings.contacts_tag_id}),
                                           settings.user_id)
                if problem:
                    raise ValidationError("contacts_tag_id", problem)
            self._exec("INSERT INTO sync_settings (user_id, doc) VALUES (%s, %s) ON CONFLICT "
                       "(user_id) DO UPDATE SET doc = EXCLUDED.doc",
                       (settings.user_id, jsonb(settings.to_dict())))

    # -- sync state -------------------------------------------------------------------------------

    def get_sync_state(self, user_id: str, kind: SyncKind) -> dict[str, Any]:
        row = self._one("SELECT doc FROM sync_state WHERE key = %s", (f"{user_id}:{kind.value}",))
        return dict(row[0]) if row else {}

    def set_sync_state(self, user_id: str, kind: SyncKind, state: dict[str, Any]) -> None:
        with self.transaction():
            self._exec("INSERT INTO sync_state (key, doc) VALUES (%s, %s) ON CONFLICT (key) "
                       "DO UPDATE SET doc = EXCLUDED.doc",
                       (f"{user_id}:{kind.value}", jsonb(dict(state))))

    # -- links ------------------------------------------------------------------------------------

    def _link(self, row: tuple[Any, ...]) -> SyncLink:
        known = {f.name for f in fields(SyncLink)}
        data = dict(zip(_LINK_COLUMNS, row[:8], strict=True))
        # The fields as written; a field the model no longer has is left out.
        data.update({k: v for k, v in (row[8] or {}).items() if k in known and k != "base"})
        return self._record(SyncLink, "sync_links", f"{row[0]}:{row[1]}:{row[2]}", data)

    def put_link(self, link: SyncLink) -> None:
        with self.transaction():
            row = self._one("SELECT local_id FROM sync_links WHERE user_id = %s AND kind = %s "
                            "AND remote_id = %s", (link.user_id, link.kind.value, link.remote_id))
            if row is not None and row[0] != link.local_id:
                raise StoreConflict(f"the remote record {link.remote_id} is already linked")
            self._exec(_PUT_LINK, link_row(link))

    def get_link(self, user_id: str, kind: SyncKind, local_id: str) -> SyncLink | None:
        row = self._one(f"SELECT {_LINK_SELECT} FROM sync_links WHERE user_id = %s AND "
                        "kind = %s AND local_id = %s", (user_id, kind.value, local_id))
        return self._link(row) if row else None

    def link_by_remote(self, user_id: str, kind: SyncKind, remote_id: str) -> SyncLink | None:
        row = self._one(f"SELECT {_LINK_SELECT} FROM sync_links WHERE user_id = %s AND "
                        "kind = %s AND remote_id = %s", (user_id, kind.value, remote_id))
        return self._link(row) if row else None

    def delete_link(self, user_id: str, kind: SyncKind, local_id: str) -> None:
        with self.transaction():
            if self.get_link(user_id, kind, local_id) is None:
                return
            self._exec("DELETE FROM sync_links WHERE user_id = %s AND kind = %s AND "
                       "local_id = %s", (user_id, kind.value, local_id))

    def list_links(self, user_id: str, kind: SyncKind) -> list[SyncLink]:
        rows = self._all(f"SELECT {_LINK_SELECT} FROM sync_links WHERE user_id = %s AND "
                         "kind = %s ORDER BY seq", (user_id, kind.value))
        return [self._link(r) for r in rows]

    def link_index(self, user_id: str, kind: SyncKind) -> dict[str, tuple[str, str]]:
        return {local: (remote, etag) for local, remote, etag in self._all(
            "SELECT local_id, remote_id, etag FROM sync_links WHERE user_id = %s AND kind = %s",
            (user_id, kind.value))}

    def get_links(self, user_id: str, kind: SyncKind, local_ids: Iterable[str]
                  ) -> dict[str, SyncLink]:
        wanted = list(local_ids)
        if not wanted:
            return {}
        rows = self._all(f"SELECT {_LINK_SELECT} FROM sync_links WHERE user_id = %s AND "
                         "kind = %s AND local_id = ANY(%s)", (user_id, kind.value, wanted))
        return {r[2]: self._link(r) for r in rows}

    # -- the journal of runs ----------------------------------------------------------------------

    def add_run(self, run: SyncRun) -> None:
        run = repository.journal_entry(run)
        with self.transaction():
            self._exec("DELETE FROM journal WHERE id = %s", (run.id,))
            self._insert_runs([run])
            self._exec("DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE "
                       "user_id = %(u)s ORDER BY started DESC, id DESC OFFSET %(keep)s)",
                       {"u": run.user_id, "keep": repository.JOURNAL_MAX_RUNS})

    def _insert_runs(self, runs: Iterable[SyncRun]) -> None:
        rows = []
        for run in runs:
            doc = run.to_dict()
            doc.pop("id")
            rows.append((run.id, jsonb(doc), run.user_id, run.kind.value, run.started))
        self._many("INSERT INTO journal (id, doc, user_id, kind, started) "
                   "VALUES (%s, %s, %s, %s, %s)", rows)

    def list_runs(self, user_id: str, kind: SyncKind | None = None,
                  limit: int | None = None) -> list[SyncRun]:
        rows = self._all("SELECT id, doc FROM journal WHERE user_id = %(u)s AND "
                         "(%(k)s::text IS NULL OR kind = %(k)s) ORDER BY started DESC, seq "
                         "LIMIT %(n)s",
                         {"u": user_id, "k": kind.value if kind else None, "n": limit})
        return [self._record(SyncRun, "journal", rid, {**doc, "id": rid}) for rid, doc in rows]

    # -- rows of the other tables, for load_dump and the repository's writes ---------------

    def _insert_users(self, users: Sequence[User]) -> None:
        rows = []
        for user in users:
            doc = user.to_dict()
            doc.pop("id")
            rows.append((user.id, jsonb(doc), user.email.casefold(), user.contact_id))
        self._many("INSERT INTO users (id, doc, email_key, contact_id) VALUES (%s, %s, %s, %s)",
                   rows)


    def _insert_tags(self, tags: Sequence[Tag]) -> None:
        rows = []
        for tag in tags:
            doc = tag.to_dict()
            doc.pop("id")
            scope = tag.owner_id if tag.kind is TagKind.PRIVATE else ""
            rows.append((tag.id, jsonb(doc), tag.kind.value, tag.owner_id, scope,
                         clean(fold(tag.name))))
        self._many("INSERT INTO tags (id, doc, kind, owner_id, scope, name_key) "
                   "VALUES (%s, %s, %s, %s, %s, %s)", rows)


    def _insert_accounts(self, accounts: Sequence[Account]) -> None:
        rows = []
        for account in accounts:
            doc = account.to_dict()
            doc.pop("id")
            rows.append((account.id, jsonb(doc), account.user_id, account.provider))
        self._many("INSERT INTO accounts (id, doc, user_id, provider) VALUES (%s, %s, %s, %s)",
                   rows)

    # -- the whole database -----------------------------------------------------------------------

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        with self.transaction():  # one consistent snapshot of every table
            if self._depth == 1:
                self._run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            out: dict[str, list[dict[str, Any]]] = {}
            for name in ("users", "tags", "activities", "accounts", "journal"):
                out[name] = [{**doc, "id": rid} for rid, doc in
                             self._all(f"SELECT id, doc FROM {name} ORDER BY seq")]
            out["contacts"] = [{**doc, "tags": list(tags), "id": cid} for cid, doc, tags in
                               self._all("SELECT id, doc, tags FROM contacts ORDER BY seq")]
            out["sync_settings"] = [doc for (doc,) in
                                    self._all("SELECT doc FROM sync_settings ORDER BY seq")]
            out["sync_state"] = [{"key": key, **doc} for key, doc in
                                 self._all("SELECT key, doc FROM sync_state ORDER BY seq")]
            out["sync_links"] = [self._link(r).to_dict() for r in self._all(
                f"SELECT {_LINK_SELECT} FROM sync_links ORDER BY seq")]
        return {name: out[name] for name in _DUMP_TABLES}

    def load_dump(self, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        unknown = sorted(set(data) - set(_DUMP_TABLES) - {"format", "schema", "exported"})
        if unknown:
            raise ValidationError("file", f"unknown section(s): {', '.join(unknown)}")
        entity: dict[str, Any] = {"users": User, "tags": Tag, "contacts": Contact,
                                  "activities": Activity, "accounts": Account,
                                  "journal": SyncRun, "sync_settings": SyncSettings,
                                  "sync_links": SyncLink}
        parsed: dict[str, list[Any]] = {}
        for name in _DUMP_TABLES:
            rows: Any = data.get(name) or []
            if not isinstance(rows, list):
                raise ValidationError(name, "must be a list of records")
            out: list[Any] = []
            for i, row in enumerate(rows, 1):
                where = f"{name}[{i}]"
                if name in entity:
                    _check_fields(where, entity[name], row)
                try:
                    if name in entity:
                        record = entity[name].from_dict(row)
                        if name == "activities":
                            record.require_organizer()
                        out.append(record)
                    else:
                        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
                            raise ValidationError("key", "a sync state needs a key")
                        rest = dict(row)
                        out.append((rest.pop("key"), rest))
                except ValidationError as exc:
                    raise ValidationError(f"{where}.{exc.field}", exc.problem, exc.value) from None
            keys = [_key(name, r) for r in out]
            if len(set(keys)) != len(keys):
                raise StoreConflict(f"{name}: the same id appears twice in the file")
            parsed[name] = out
        with self.transaction():
            for name, records in parsed.items():
                self._refuse_taken(name, [_key(name, r) for r in records])
            self._check_unique(parsed["users"], parsed["tags"])
            self._insert_users(parsed["users"])
            self._insert_tags(parsed["tags"])
            self._many(INSERT_CONTACT, [contact_row(c) for c in parsed["contacts"]])
            self._many(INSERT_ACTIVITY, [activity_row(a) for a in parsed["activities"]])
            self._insert_accounts(parsed["accounts"])
            self._insert_runs(parsed["journal"])
            self._many("INSERT INTO sync_settings (user_id, doc) VALUES (%s, %s)",
                       [(s.user_id, jsonb(s.to_dict())) for s in parsed["sync_settings"]])
            self._many("INSERT INTO sync_state (key, doc) VALUES (%s, %s)",
                       [(key, jsonb(doc)) for key, doc in parsed["sync_state"]])
            self._many(_PUT_LINK, [link_row(link) for link in parsed["sync_links"]])
            self._check_references(parsed)
            self._analyze = True
        return {name: len(records) for name, records in parsed.items()}

    def _refuse_taken(self, table: str, keys: list[str]) -> None:
        if not keys:
            return
        if table == "sync_links":
            row = self._one("SELECT user_id || ':' || kind || ':' || local_id FROM sync_links "
                            "WHERE user_id || ':' || kind || ':' || local_id = ANY(%s) LIMIT 1",
                            (keys,))
        else:
            column = {"sync_settings": "user_id", "sync_state": "key"}.get(table, "id")
            row = self._one(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s) LIMIT 1",
                            (keys,))
        if row is not None:
            raise StoreConflict(f"{table}: a record with id {row[0]} already exists")

    def _check_unique(self, users: list[User], tags: list[Tag]) -> None:
        emails = {u.email.casefold() for u in users}
        if emails:
            taken = {r[0] for r in self._all("SELECT email_key FROM users WHERE "
                                             "email_key = ANY(%s)", (sorted(emails),))}
            for user in users:
                if user.email.casefold() in taken:
                    raise StoreConflict(f"users: a user with the email {user.email} already "
                                        "exists")
        seen: set[str] = set()
        for user in users:
            key = user.email.casefold()
            if key in seen:
                raise StoreConflict(f"users: a user with the email {user.email} already exists")
            seen.add(key)
        scoped: set[tuple[str, str]] = set()
        for tag in tags:
            scope_key = (tag.owner_id if tag.kind is TagKind.PRIVATE else "", fold(tag.name))
            if scope_key in scoped or self._one("SELECT 1 FROM tags WHERE scope = %s AND "
                                                "name_key = %s", scope_key):
                raise StoreConflict(f"tags: a tag named {tag.name!r} already exists")
            scoped.add(scope_key)

    def _check_references(self, parsed: Mapping[str, list[Any]]) -> None:
        """Every reference of the loaded records resolves (raises NotFound otherwise)."""
        row = self._one("SELECT u.doc ->> 'email', u.contact_id FROM users u WHERE "
                        "u.contact_id <> '' AND NOT EXISTS (SELECT 1 FROM contacts c WHERE "
                        "c.id = u.contact_id) LIMIT 1")
        if row:
            raise NotFound(f"users: {row[0]} refers to a missing contact {row[1]}")
        row = self._one("SELECT t.doc ->> 'name', t.owner_id FROM tags t WHERE t.owner_id <> '' "
                        "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.owner_id) LIMIT 1")
        if row:
            raise NotFound(f"tags: {row[0]!r} is owned by a missing user {row[1]}")
        row = self._one("SELECT c.id, x FROM contacts c, unnest(c.tags) x WHERE NOT EXISTS "
                        "(SELECT 1 FROM tags t WHERE t.id = x) LIMIT 1")
        if row:
            raise NotFound(f"contacts: {row[0]} carries a missing tag {row[1]}")
        row = self._one("SELECT c.id, c.doc ->> 'owner_id' FROM contacts c WHERE "
                        "coalesce(c.doc ->> 'owner_id', '') <> '' AND NOT EXISTS (SELECT 1 "
                        "FROM users u WHERE u.id = c.doc ->> 'owner_id') LIMIT 1")
        if row:
            raise NotFound(f"contacts: {row[0]} is owned by a missing user {row[1]}")
        self._check_activity_refs(parsed["activities"])
        for name in ("accounts", "sync_settings"):
            row = self._one(f"SELECT x.user_id FROM {name} x WHERE NOT EXISTS (SELECT 1 FROM "
                            "users u WHERE u.id = x.user_id) LIMIT 1")
            if row:
                raise NotFound(f"{name}: refers to a missing user {row[0]}")

    def erase(self) -> None:
        with self.transaction():
            self._exec(f"TRUNCATE {', '.join(TABLES)}")


def _key(table: str, record: Any) -> str:
    if table == "sync_settings":
        return str(record.user_id)
    if table == "sync_links":
        return f"{record.user_id}:{record.kind.value}:{record.local_id}"
    if table == "sync_state":
        return str(record[0])
    return str(record.id)

