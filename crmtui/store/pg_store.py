"""The PostgreSQL implementation of the repository: users, tags, contacts and accounts, and
contact search (text, tags, modification time, sort and paging run in the database).

The search text and the sort keys of a contact are computed by crmtui when it is written, with
the same functions the TinyDB store's index uses, so both stores find and order alike: a word
matches with ``LIKE`` on the folded search text (a trigram index serves it), a column sorts by
its key in byte order (``COLLATE "C"``, which is Python's order of strings), ties by id.

Private tags: every query that returns or filters by tags joins the tags visible to the viewer
(public and corporate ones, and the viewer's own private ones), so another user's private tags
and their assignments never leave the database for that viewer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from crmtui.model import (
    Account,
    Contact,
    ParticipantKind,
    SyncKind,
    Tag,
    TagKind,
    User,
    ValidationError,
    fold,
    utcnow,
)
from crmtui.store.pg_base import jsonb, like_word
from crmtui.store.pg_rows import INSERT_CONTACT, UPDATE_CONTACT, contact_row
from crmtui.store.pg_schema import connect
from crmtui.store.pg_sync import SyncTables
from crmtui.store.repository import (
    CONTACT_SORTS,
    ContactQuery,
    NotFound,
    StoreConflict,
    StoreError,
    SyncLocked,
    new_version,
)
from crmtui.store.tinydb_index import _phone_digits

_FETCH_BATCH = 2000
_FIRST_PAGE = 100  # the first matches of a search shown before the rest (a tall screenful:
# the shorter the page, the sooner the walk through a sort index ends)
_NARROW_BY_IDS = 5000  # up to this many ids, a narrowing search names them
_QUICK_NEAR = 0.003  # s: a server that answers a small query within this is asked as keys come
_QUICK_TIMEOUT_MS = 100  # the longest a quick first page may keep a key press waiting (then
# the query thread asks again: a page that takes 50 ms on a busy machine is better had at once)
_NARROWED_ENOUGH = 50  # matches of the last quick page that make the next one (a screenful)
log = logging.getLogger(__name__)


_TRIGRAM = re.compile(r"[^\W_]{3}")  # three letters or digits in a row: a word pg_trgm indexes


def _search_words(text: str) -> list[tuple[str, ...]]:
    """The words of a search, each as the forms of which one must be in a contact's search text
    (the word, and for a phone number its digits), less the words another one implies (``p``
    in ``pied p``: a text that holds ``pied`` holds ``p``), which would be tested for nothing."""
    words: list[tuple[str, ...]] = []
    for word in dict.fromkeys(fold(text).split()):
        digits = _phone_digits(word)
        words.append((word,) if digits is None else (word, digits))

    def implied(a: tuple[str, ...], b: tuple[str, ...]) -> bool:  # every form of b holds a form of a
        return all(any(x in y for x in a) for y in b)

    return [w for i, w in enumerate(words)
            if not any(j != i and implied(w, other) and (not implied(other, w) or j < i)
                       for j, other in enumerate(words))]


class PostgresRepository(SyncTables):
    """The repository over one PostgreSQL database (``postgresql://...``)."""

    _counted: tuple[int | None, int] = (None, 0)  # (generation, number of contacts)
    # the last quick_first_page: query, viewer, ids, whether they are every match, generation
    _last_page: tuple[ContactQuery, str | None, list[str], bool, int] | None = None

    # -- users ------------------------------------------------------------------------------------

    def _has_contact(self, contact_id: str) -> bool:
        return bool(self._ids_in("contacts", [contact_id]))

    def _insert_user(self, user: User) -> None:
        self._insert_users([user])

    def _user(self, uid: str, doc: Mapping[str, Any]) -> User:
        return self._record(User, "users", uid, {**doc, "id": uid}, trusted=True)

    def get_user(self, user_id: str) -> User:
        row = self._one("SELECT doc FROM users WHERE id = %s", (user_id,))
        if row is None:
            raise NotFound(f"no user {user_id}")
        return self._user(user_id, row[0])

    def find_user(self, email: str) -> User | None:
        key = email.strip().casefold()
        row = self._one("SELECT id, doc FROM users WHERE email_key = %s", (key,))
        if row is None:
            row = self._one("SELECT u.id, u.doc FROM users u JOIN contacts c ON c.id = "
                            "u.contact_id WHERE c.emails @> ARRAY[%s] ORDER BY u.seq LIMIT 1",
                            (key,))
        return self._user(row[0], row[1]) if row else None

    def list_users(self) -> list[User]:
        users = [self._user(uid, doc)
                 for uid, doc in self._all("SELECT id, doc FROM users ORDER BY seq")]
        return sorted(users, key=lambda u: fold(u.name))

    def user_emails(self, user_id: str) -> list[str]:
        user = self.get_user(user_id)
        emails = [user.email]
        row = self._one("SELECT doc -> 'emails' FROM contacts WHERE id = %s", (user.contact_id,))
        for e in (row[0] if row and row[0] else ()):
            if e["value"].casefold() not in {x.casefold() for x in emails}:
                emails.append(e["value"])
        return emails

    # -- tags -------------------------------------------------------------------------------------

    def add_tag(self, tag: Tag) -> Tag:
        with self.transaction():
            if tag.kind is TagKind.PRIVATE and not self._ids_in("users", [tag.owner_id]):
                raise NotFound(f"no user {tag.owner_id} to own the private tag")
            scope = tag.owner_id if tag.kind is TagKind.PRIVATE else ""
            row = self._one("SELECT doc ->> 'name' FROM tags WHERE scope = %s AND name_key = %s",
                            (scope, fold(tag.name)))
            if row is not None:
                raise StoreConflict(f"a tag named {row[0]!r} already exists")
            self._insert_tags([tag])
        return tag

    def _tag(self, tid: str, doc: Mapping[str, Any]) -> Tag:
        return self._record(Tag, "tags", tid, {**doc, "id": tid})

    def get_tag(self, tag_id: str, viewer_id: str | None) -> Tag:
        row = self._one(f"SELECT doc FROM tags g WHERE id = %(id)s AND {self._visible_sql()}",
                        {"id": tag_id, "viewer": viewer_id})
        if row is None:
            raise NotFound(f"no tag {tag_id}")
        return self._tag(tag_id, row[0])

    def find_tag(self, name: str, viewer_id: str | None) -> Tag | None:
        row = self._one(f"SELECT id, doc FROM tags g WHERE name_key = %(key)s AND "
                        f"{self._visible_sql()} ORDER BY (kind <> 'private'), seq LIMIT 1",
                        {"key": fold(name.strip()), "viewer": viewer_id})
        return self._tag(row[0], row[1]) if row else None

    def list_tags(self, viewer_id: str | None, kind: TagKind | None = None) -> list[Tag]:
        rows = self._all(f"SELECT id, doc FROM tags g WHERE {self._visible_sql()} AND "
                         "(%(kind)s::text IS NULL OR kind = %(kind)s) ORDER BY seq",
                         {"viewer": viewer_id, "kind": kind.value if kind else None})
        tags = [self._tag(tid, doc) for tid, doc in rows]
        return sorted(tags, key=lambda t: (t.kind.value, fold(t.name)))

    def delete_tag(self, tag_id: str, viewer_id: str | None) -> None:
        with self.transaction():
            self.get_tag(tag_id, viewer_id)
            now = utcnow()
            self._exec("UPDATE contacts SET tags = array_remove(tags, %(t)s), modified = %(now)s, "
                       "doc = jsonb_set(doc, '{modified}', to_jsonb(%(nows)s::text)) "
                       "WHERE tags @> ARRAY[%(t)s]::text[]",
                       {"t": tag_id, "now": now, "nows": now.isoformat()})
            self._exec("UPDATE sync_settings SET doc = jsonb_set(doc, '{contacts_tag_id}', "
                       "'\"\"') WHERE doc ->> 'contacts_tag_id' = %s", (tag_id,))
            self._exec("DELETE FROM tags WHERE id = %s", (tag_id,))

    def _visible_among(self, tag_ids: Sequence[str], viewer_id: str | None) -> set[str]:
        if not tag_ids:
            return set()
        return {r[0] for r in self._all(
            f"SELECT id FROM tags g WHERE id = ANY(%(ids)s) AND {self._visible_sql()}",
            {"ids": list(tag_ids), "viewer": viewer_id})}

    # -- contacts ---------------------------------------------------------------------------------

    def _check_contact_refs(self, contacts: Sequence[Contact]) -> None:
        tag_ids = list(dict.fromkeys(t for c in contacts for t in c.tags))
        known = self._ids_in("tags", tag_ids)
        for tid in tag_ids:
            if tid not in known:
                raise NotFound(f"no tag {tid}")
        owners = list(dict.fromkeys(c.owner_id for c in contacts if c.owner_id))
        users = self._ids_in("users", owners)
        for uid in owners:
            if uid not in users:
                raise NotFound(f"no user {uid} to own the contact")

    def add_contact(self, contact: Contact) -> Contact:
        self.add_contacts([contact])
        return contact

    def add_contacts(self, contacts: Sequence[Contact]) -> None:
        with self.transaction():
            ids = [c.id for c in contacts]
            if len(set(ids)) != len(ids):
                seen: set[str] = set()
                dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
                raise StoreConflict(f"a contact with id {dup} already exists")
            taken = self._ids_in("contacts", ids)
            if taken:
                raise StoreConflict(f"a contact with id {next(iter(taken))} already exists")
            self._check_contact_refs(contacts)
            self._many(INSERT_CONTACT, [contact_row(c) for c in contacts])
            if len(contacts) >= 1000:
                self._analyze = True

    def _contact(self, row: Sequence[Any]) -> Contact:
        cid, doc, tags = row[0], row[1], row[2]
        return self._record(Contact, "contacts", cid, {**doc, "id": cid, "tags": list(tags)},
                            trusted=True)

    def _contact_select(self, viewer_id: str | None) -> tuple[str, dict[str, Any]]:
        """The columns (id, doc, visible tags) of a contact ``c`` for the viewer."""
        if viewer_id is None:
            return "c.id, c.doc, c.tags", {}
        return ("c.id, c.doc, ARRAY(SELECT u.t FROM unnest(c.tags) WITH ORDINALITY u(t, n) "
                f"JOIN tags g ON g.id = u.t WHERE {self._visible_sql()} ORDER BY u.n)",
                {"viewer": viewer_id})

    def get_contact(self, contact_id: str, viewer_id: str | None = None) -> Contact:
        cols, params = self._contact_select(viewer_id)
        row = self._one(f"SELECT {cols} FROM contacts c WHERE c.id = %(id)s",
                        {**params, "id": contact_id})
        if row is None:
            raise NotFound(f"no contact {contact_id}")
        return self._contact(row)

    def get_contacts(self, contact_ids: Sequence[str], viewer_id: str | None = None
                     ) -> list[Contact]:
        if not contact_ids:
            return []
        with self._free() as repo:
            cols, params = repo._contact_select(viewer_id)
            rows = repo._all(f"SELECT {cols} FROM contacts c WHERE c.id = ANY(%(ids)s)",
                             {**params, "ids": list(contact_ids)})
        by_id = {row[0]: row for row in rows}
        out = []
        for cid in contact_ids:
            row = by_id.get(cid)
            if row is None:
                raise NotFound(f"no contact {cid}")
            out.append(self._contact(row))
        return out

    def update_contact(self, contact: Contact, viewer_id: str | None = None,
                       *, touch: bool = True, expected: datetime | None = None) -> Contact:
        with self.transaction():
            row = self._one("SELECT tags, modified FROM contacts WHERE id = %s FOR UPDATE",
                            (contact.id,))
            if row is None:
                raise NotFound(f"no contact {contact.id}")
            if expected is not None and row[1] != expected:
                raise self.changed_meanwhile(self.get_contact(contact.id, viewer_id), expected)
            if viewer_id is not None:
                old_tags = list(row[0])
                visible = self._visible_among(list(dict.fromkeys([*old_tags, *contact.tags])),
                                              viewer_id)
                hidden = [t for t in old_tags if t not in visible]
                contact = contact.evolve(tags=[t for t in contact.tags if t in visible] + hidden)
            self._check_contact_refs([contact])
            if touch:
                contact = contact.evolve(modified=utcnow(),
                                         modified_by=viewer_id or contact.modified_by)
            else:
                contact = contact.evolve(modified=new_version(row[1], contact.modified))
            self._replace_contact(contact)
        return contact

    def _replace_contact(self, contact: Contact) -> None:
        values = contact_row(contact)
        self._exec(UPDATE_CONTACT, (*values[1:], values[0]))

    def delete_contact(self, contact_id: str) -> None:
        with self.transaction():
            if not self._ids_in("contacts", [contact_id]):
                raise NotFound(f"no contact {contact_id}")
            row = self._one("SELECT doc ->> 'email' FROM users WHERE contact_id = %s LIMIT 1",
                            (contact_id,))
            if row is not None:
                raise StoreConflict(f"the contact belongs to the user {row[0]}; "
                                    "it cannot be deleted")
            probe = [{"kind": ParticipantKind.CONTACT.value, "ref_id": contact_id}]
            for activity in self._activities_where("doc -> 'participants' @> %s",
                                                   (jsonb(probe),)):
                kept = [p for p in activity.participants
                        if not (p.kind is ParticipantKind.CONTACT and p.ref_id == contact_id)]
                self._replace_activity(activity.evolve(participants=kept, modified=utcnow()))
            self._exec("DELETE FROM contacts WHERE id = %s", (contact_id,))

    def tag_contacts(self, contact_ids: Sequence[str], tag_id: str, viewer_id: str | None,
                     *, remove: bool = False) -> int:
        with self.transaction():
            self.get_tag(tag_id, viewer_id)
            ids = list(dict.fromkeys(contact_ids))
            known = self._ids_in("contacts", ids)
            missing = [cid for cid in ids if cid not in known]
            if missing:
                raise NotFound(f"no contact {missing[0]}")
            now = utcnow()
            params = {"ids": ids, "t": tag_id, "now": now, "nows": now.isoformat()}
            stamp = "modified = %(now)s, doc = jsonb_set(doc, '{modified}', to_jsonb(%(nows)s::text))"
            if remove:
                return self._exec(f"UPDATE contacts SET tags = array_remove(tags, %(t)s), {stamp} "
                                  "WHERE id = ANY(%(ids)s) AND tags @> ARRAY[%(t)s]::text[]",
                                  params)
            return self._exec(f"UPDATE contacts SET tags = array_append(tags, %(t)s), {stamp} "
                              "WHERE id = ANY(%(ids)s) AND NOT tags @> ARRAY[%(t)s]::text[]",
                              params)

    def _contact_where(self, query: ContactQuery, viewer_id: str | None
                       ) -> tuple[list[str], dict[str, Any]] | None:
        """The conditions and parameters of a query (None: nothing can match)."""
        conds: list[str] = []
        params: dict[str, Any] = {"viewer": viewer_id}
        for i, forms in enumerate(_search_words(query.text)):
            params[f"w{i}"] = like_word(forms[0])
            if len(forms) == 1:
                conds.append(f"c.search LIKE %(w{i})s")
            else:
                params[f"d{i}"] = like_word(forms[1])
                conds.append(f"(c.search LIKE %(w{i})s OR c.search LIKE %(d{i})s)")
        if query.modified_since is not None:
            if query.modified_since.tzinfo is None:
                raise ValidationError("modified_since", "must carry a time zone",
                                      query.modified_since.isoformat())
            params["since"] = query.modified_since
            conds.append("c.modified >= %(since)s")
        if query.tag_ids:
            wanted = list(dict.fromkeys(query.tag_ids))
            if len(self._visible_among(wanted, viewer_id)) != len(wanted):
                return None
            params["wanted"] = wanted
            conds.append("c.tags @> %(wanted)s::text[]")
        if query.tag_kind is not None:
            # the tags of that kind named, not a subquery: the planner then knows from its
            # statistics how many contacts carry them (walk a sort index, or find them first)
            kind_tags = [r[0] for r in self._all(
                f"SELECT g.id FROM tags g WHERE g.kind = %(kind)s AND {self._visible_sql()}",
                {"kind": TagKind(query.tag_kind).value, "viewer": viewer_id})]
            if not kind_tags:
                return None
            params["kind_tags"] = kind_tags
            conds.append("c.tags && %(kind_tags)s::text[]")
        return conds, params

    def contact_ids(self, query: ContactQuery, viewer_id: str | None) -> list[str]:
        if query.sort not in CONTACT_SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(CONTACT_SORTS)}", query.sort)
        found = self._contact_where(query, viewer_id)
        if found is None:
            return []
        conds, params = found
        params["offset"] = query.offset
        params["limit"] = query.limit
        if query.sort in ("created", "modified"):
            way = " DESC" if query.descending else ""
            return self._id_list([self._select(conds, f"c.{query.sort}{way}, c.id{way}")],
                                 params)
        key = f"c.k_{query.sort}"
        if not query.descending:  # contacts without a value ('1') come last
            return self._id_list([self._select(conds, f"{key}, c.id")], params)
        # Descending, contacts without a value still last: those with one, then the others,
        # each walking the column's index backwards (one ORDER BY putting the empty ones last
        # could not use the index, and would sort every match).
        params["upto"] = None if query.limit is None else query.offset + query.limit
        ids = self._id_list([self._select([*conds, f"{key} < '1'"], f"{key} DESC, c.id DESC",
                                          "%(upto)s"),
                             self._select([*conds, f"{key} >= '1'"], f"{key} DESC, c.id DESC",
                                          "%(upto)s")], params)
        return ids[query.offset:params["upto"]]

    @staticmethod
    def _select(conds: Sequence[str], order: str, limit: str = "") -> str:
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        page = f"LIMIT {limit}" if limit else "OFFSET %(offset)s LIMIT %(limit)s"
        return f"SELECT c.id FROM contacts c {where} ORDER BY {order} {page}"

    def _id_list(self, selects: Sequence[str], params: dict[str, Any]) -> list[str]:
        """The ids the ``selects`` return, one's after the other's, in their order. They come
        as one text value each (ids joined by spaces, which crmtui's ids never hold), not a row
        each: for a search that matches most contacts, reading 100,000 rows would cost more
        than finding them."""
        parts = ", ".join(f"(SELECT count(*), string_agg(s.id, ' ') FROM ({sel}) s) p{i}"
                          for i, sel in enumerate(selects))
        row: Sequence[Any] = self._one(f"SELECT * FROM {parts}", params) or ()
        ids: list[str] = []
        for i, select in enumerate(selects):
            count, joined = row[2 * i: 2 * i + 2] or (0, "")
            part: list[str] = joined.split(" ") if joined else []
            if len(part) != count:  # an id with a space (written outside crmtui)
                part = [r[0] for r in self._all(select, params)]
            ids.extend(part)
        return ids

    def narrow_contact_ids(self, ids: Sequence[str], text: str, viewer_id: str | None
                           ) -> list[str]:
        if len(ids) > _NARROW_BY_IDS or (self.trigram and _TRIGRAM.search(fold(text))):
            # many contacts, or a word the trigram index finds: searching them all costs less
            # than looking each of ``ids`` up
            return super().narrow_contact_ids(ids, text, viewer_id)
        found = self._contact_where(ContactQuery(text=text), viewer_id)
        if found is None or not ids:
            return []
        conds, params = found
        params["ids"] = list(ids)
        conds.append("c.id = ANY(%(ids)s)")
        matching = {r[0] for r in self._all(
            f"SELECT c.id FROM contacts c WHERE {' AND '.join(conds)}", params)}
        return [cid for cid in ids if cid in matching]

    def find_contacts(self, query: ContactQuery, viewer_id: str | None) -> list[Contact]:
        return self.get_contacts(self.contact_ids(query, viewer_id), viewer_id)

    def first_page(self, query: ContactQuery, viewer_id: str | None
                   ) -> tuple[list[str], int] | None:
        """The first contacts of ``query`` (a few screenfuls, one query that stops at them)
        and how many contacts there are, so that the table shows them before the whole id
        list has come: at start, and for each letter of a search."""
        if query.offset:
            return None
        with self._free() as repo:
            ids, _, generation = self._page(repo, query, viewer_id)
            if not ids:
                return None
            return ids, repo._count_at(generation)

    def quick_first_page(self, query: ContactQuery, viewer_id: str | None
                         ) -> tuple[list[str], int, int, bool] | None:
        """The first page at once when the server is near (a round trip under
        :data:`_QUICK_NEAR` s) and a connection is free: the TUI asks it as a key is handled.
        Each query may run :data:`_QUICK_TIMEOUT_MS` at most (then None: the query thread
        asks)."""
        if query.offset or self.round_trip > _QUICK_NEAR or query.sort not in CONTACT_SORTS:
            return None
        with self._free() as repo, repo._lock:
            conn = repo._conn
            if repo._depth or conn is None or conn.closed or conn.broken:
                # this thread's own transaction; or a lost connection, which the query thread
                # connects again (a key press never waits for a connection to be made)
                return None
            try:
                conn.execute(f"SET statement_timeout = {_QUICK_TIMEOUT_MS}")
                try:
                    ids, every, generation = self._page(repo, query, viewer_id)
                finally:
                    conn.execute("RESET statement_timeout")
            except psycopg.Error as exc:
                raise repo._translate(exc) from exc
            except StoreError as exc:
                if isinstance(exc.__cause__, pg_errors.QueryCanceled):
                    return None  # longer than a key press may wait: the query thread asks
                raise
            return ids, repo._count_at(generation), generation, every

    def _page(self, repo: PostgresRepository, query: ContactQuery, viewer_id: str | None
              ) -> tuple[list[str], bool, int]:
        """The first page of ``query`` on ``repo``'s connection (from the last page when it
        can be, see :meth:`_narrowed_page`), whether it holds every match (fewer ids than a
        page), and the generation read before it; kept as the last page, where the next
        letter's page may start."""
        limit = _FIRST_PAGE if query.limit is None else min(query.limit, _FIRST_PAGE)
        generation = repo._current_generation()
        page = self._narrowed_page(repo, query, viewer_id, generation)
        if page is None:
            ids = repo.contact_ids(replace(query, limit=limit), viewer_id)
            page = ids, len(ids) < limit and query.limit is None
        ids, every = page
        self._last_page = query, viewer_id, ids, every, generation
        return ids, every, generation

    def _narrowed_page(self, repo: PostgresRepository, query: ContactQuery,
                       viewer_id: str | None, generation: int
                       ) -> tuple[list[str], bool] | None:
        """The first page of ``query`` from the last quick page, when ``query`` only adds
        letters to its text: the contacts of that page that match ``query`` are the first
        matches of ``query`` in order (every one of them matched the page's search), up to
        where the page ended. Answered so when they fill :data:`_NARROWED_ENOUGH` rows, or
        when the page held every match; a word the trigram index cannot find then costs a
        look at a page of contacts, not a walk through the sort index to its first match.
        None: ask the database."""
        last = self._last_page
        if last is None:
            return None
        old_query, old_viewer, old_ids, old_every, old_generation = last
        old, new = fold(old_query.text).strip(), fold(query.text).strip()
        if (old_generation != generation or old_viewer != viewer_id
                or replace(old_query, text=query.text) != query or not old
                or not new.startswith(old) or new == old
                or any(len(forms) > 1 for forms in _search_words(new))):
            return None
        found = repo._contact_where(query, viewer_id)  # on the connection that is free
        if found is None:
            return [], True
        conds, params = found
        params["ids"] = old_ids
        matching = {r[0] for r in repo._all(
            f"SELECT c.id FROM contacts c WHERE c.id = ANY(%(ids)s) AND {' AND '.join(conds)}",
            params)}
        ids = [cid for cid in old_ids if cid in matching]
        if old_every or len(ids) >= _NARROWED_ENOUGH:
            return ids, old_every
        return None

    def count_contacts(self) -> int:
        """How many contacts there are. Counting 100,000 contacts costs more than reading the
        change counter, so the count is kept until a commit (of any process) raises it."""
        with self._lock:
            return self._count_at(None if self._depth else self._current_generation())

    def _count_at(self, generation: int | None) -> int:
        """:meth:`count_contacts` with the change counter just read (None: in a transaction
        of this repository, whose own writes are not in the counter yet)."""
        with self._lock:
            if generation is None or self._depth:
                row = self._one("SELECT count(*) FROM contacts")
                return int(row[0]) if row else 0
            seen, count = self._counted
            if seen is not None and seen == generation:
                return count
            row = self._one("SELECT (SELECT value FROM crmtui_meta WHERE key = 'generation'), "
                            "count(*) FROM contacts")  # both as of one moment
            if row is None:
                return 0
            self._counted = (None if row[0] is None else int(row[0]), int(row[1]))
            return int(row[1])

    def contacts_with_email(self, email: str) -> list[Contact]:
        rows = self._all("SELECT id, doc, tags FROM contacts WHERE emails @> ARRAY[%s] "
                         "ORDER BY seq", (email.strip().casefold(),))
        return [self._contact(r) for r in rows]

    def contact_ids_by_email(self, emails: set[str]) -> dict[str, str]:
        if not emails:
            return {}
        rows = self._all("SELECT DISTINCT ON (e) e, c.id FROM contacts c, unnest(c.emails) e "
                         "WHERE c.emails && %(emails)s AND e = ANY(%(emails)s) "
                         "ORDER BY e, c.created, c.id", {"emails": sorted(emails)})
        return {e: cid for e, cid in rows}

    def iter_contacts(self) -> Iterator[Contact]:
        """Every contact, read through a server-side cursor in batches (in a transaction of
        its own on a second connection, so the repository stays usable meanwhile)."""
        conn = connect(self.url)
        try:
            with conn.transaction(), conn.cursor(name="crmtui_contacts") as cur:
                cur.itersize = _FETCH_BATCH
                cur.execute("SELECT id, doc, tags FROM contacts ORDER BY seq")
                for row in cur:
                    yield self._contact(row)
        except psycopg.Error as exc:
            raise self._translate(exc) from exc
        finally:
            conn.close()

    # -- one sync per user and kind -----------------------------------------------------------

    @contextmanager
    def sync_lock(self, user_id: str, kind: SyncKind, lock_dir: Path) -> Iterator[None]:
        """A PostgreSQL advisory lock (per user and kind) on a connection of its own, held while
        the block runs: one sync at a time on every machine that uses the database. A process
        that dies releases it with its connection. ``lock_dir`` is not used."""
        key = int.from_bytes(hashlib.blake2b(f"crmtui-sync:{user_id}:{kind.value}".encode(),
                                              digest_size=8).digest(), "big", signed=True)
        conn = connect(self.url)
        try:
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            except psycopg.Error as exc:
                raise self._translate(exc) from exc
            if not (row and row[0]):
                raise SyncLocked(f"a {kind.value} sync of this user is already running "
                                 "(on this or another computer)")
            try:
                yield
            finally:
                try:  # at once: a closed session's locks go only when its server process ends
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except psycopg.Error:
                    log.warning("cannot release the sync lock; closing its connection releases "
                                "it", exc_info=True)
        finally:
            conn.close()  # ends the session, which releases the lock in any case

    # -- accounts ---------------------------------------------------------------------------------

    def add_account(self, account: Account) -> Account:
        with self.transaction():
            if not self._ids_in("users", [account.user_id]):
                raise NotFound(f"no user {account.user_id}")
            row = self._one("SELECT doc ->> 'email' FROM accounts WHERE user_id = %s AND "
                            "provider = %s", (account.user_id, account.provider))
            if row is not None:
                raise StoreConflict(f"the user already has a linked {account.provider} account "
                                    f"({row[0]}); unlink it first")
            self._insert_accounts([account])
        return account

    def _account(self, aid: str, doc: Mapping[str, Any]) -> Account:
        return self._record(Account, "accounts", aid, {**doc, "id": aid})

    def get_account(self, account_id: str) -> Account:
        row = self._one("SELECT doc FROM accounts WHERE id = %s", (account_id,))
        if row is None:
            raise NotFound(f"no account {account_id}")
        return self._account(account_id, row[0])

    def update_account(self, account: Account) -> Account:
        with self.transaction():
            if not self._ids_in("accounts", [account.id]):
                raise NotFound(f"no account {account.id}")
            doc = account.to_dict()
            doc.pop("id")
            self._exec("UPDATE accounts SET doc = %s, user_id = %s, provider = %s WHERE id = %s",
                       (jsonb(doc), account.user_id, account.provider, account.id))
        return account

    def delete_account(self, account_id: str) -> None:
        with self.transaction():
            if not self._ids_in("accounts", [account_id]):
                raise NotFound(f"no account {account_id}")
            self._exec("DELETE FROM accounts WHERE id = %s", (account_id,))

    def list_accounts(self, user_id: str | None = None) -> list[Account]:
        rows = self._all("SELECT id, doc FROM accounts WHERE %(u)s::text IS NULL OR "
                         "user_id = %(u)s ORDER BY seq", {"u": user_id})
        return [self._account(aid, doc) for aid, doc in rows]


def open_postgres(url: str) -> PostgresRepository:
    """Open the crmtui database at ``url`` (creating or migrating its schema)."""
    return PostgresRepository(url)


__all__ = ["PostgresRepository", "open_postgres"]
