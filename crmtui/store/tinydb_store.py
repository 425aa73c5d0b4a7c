"""The TinyDB implementation of the repository: users, tags, contacts and accounts.

The parts it is built from: :mod:`~crmtui.store.tinydb_base` (the file, locks, transactions),
:mod:`~crmtui.store.tinydb_search` (contact search), :mod:`~crmtui.store.tinydb_activities`,
:mod:`~crmtui.store.tinydb_sync` (settings, state, links, journal) and
:mod:`~crmtui.store.tinydb_dump` (export and import of the whole database).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from crmtui.model import Account, Contact, ParticipantKind, Tag, TagKind, User, fold, utcnow
from crmtui.store import tinydb_front as front
from crmtui.store.repository import ContactQuery, NotFound, StoreConflict, new_version
from crmtui.store.tinydb_activities import ActivityTables
from crmtui.store.tinydb_base import (
    ACCOUNTS,
    ACTIVITIES,
    CONTACTS,
    DB_FILE,
    JOURNAL,
    LOCK_TIMEOUT,
    SETTINGS,
    STATE,
    TAGS,
    USERS,
    TinyDBBase,
    _stored,
)
from crmtui.store.tinydb_dump import DumpTables
from crmtui.store.tinydb_index import _haystack, _phone_digits
from crmtui.store.tinydb_search import ContactSearch, _matches
from crmtui.store.tinydb_sync import SyncTables

logger = logging.getLogger(__name__)

SMALL_TABLES = (USERS, TAGS, ACCOUNTS, SETTINGS, STATE, JOURNAL)
"""The tables the front page holds whole (what a screen needs besides the contacts)."""


class _Partial:
    """A store opened on its front page while the whole database is read in a thread."""

    def __init__(self, page: front.FrontPage) -> None:
        self.page = page
        self.go = threading.Event()  # the reading may start
        self.done = threading.Event()  # the reading finished (or failed: error)
        self.error: BaseException | None = None
        self.signature: front.Signature = []


class TinyDBRepository(ContactSearch, ActivityTables, SyncTables, DumpTables):
    """The repository over one TinyDB JSON file in ``data_dir``.

    ``deferred``: open on the front page (:mod:`~crmtui.store.tinydb_front`) when it shows the
    database on disk; the whole database is then read in a thread once something needs more
    than the front page holds (the first query of the contacts, a write). Meanwhile the small tables, the contacts of the
    default order's first screenfuls (:meth:`first_page`) and the users' own contacts are
    served from the front page; other reads wait for the database. After each commit the
    front page is brought up to date, under the database's lock.
    """

    def __init__(self, data_dir: str | os.PathLike[str], *, lock_timeout: float = LOCK_TIMEOUT,
                 deferred: bool = False) -> None:
        self._deferred = deferred
        self._partial: _Partial | None = None
        self._page: front.FrontPage | None = None  # the front page of the data in memory
        self._data_signature: front.Signature | None = None  # the files the data was read from
        self._touched: set[str] | None = set()  # contacts changed in this transaction
        self._added = 0  # contacts the transaction added (negative: removed)
        super().__init__(data_dir, lock_timeout=lock_timeout)

    # -- the front page and the deferred read ----------------------------------------------------

    def _load(self) -> None:
        if self._deferred:
            self._deferred = False
            page = front.read(self.data_dir, DB_FILE)
            if page is not None:
                self._partial = partial = _Partial(page)
                threading.Thread(target=self._read_behind, args=(partial,), daemon=True,
                                 name="crmtui-store-read").start()
                return
        TinyDBBase._load(self)
        self._page = None
        self._data_signature = front.signature(self.data_dir, DB_FILE)

    def _read_behind(self, partial: _Partial) -> None:
        """The thread that reads the whole database of a deferred open."""
        partial.go.wait()
        try:
            locked = self._acquire(reading=True)
            try:
                self._storage.load()
                partial.signature = front.signature(self.data_dir, DB_FILE)
            finally:
                if locked:
                    self._flock.release()
        except BaseException as exc:  # reported by the read that needs the data
            partial.error = exc
        finally:
            partial.done.set()
        with self._rlock:
            if self._partial is partial:
                try:
                    self._install(partial)
                except BaseException:  # noqa: S110 - the next read reports it
                    pass

    def _install(self, partial: _Partial) -> None:
        """Put the database the thread read in place of the front page (under the lock)."""
        self._partial = None
        if partial.error is not None:
            raise partial.error
        storage = self._storage
        loaded = storage.read()
        storage.load = lambda: loaded  # type: ignore[method-assign]  # read already
        try:
            TinyDBBase._load(self)
        finally:
            del storage.load
        self._data_signature = partial.signature
        self._page = partial.page if partial.page.signature == partial.signature else None

    def wait_until_loaded(self) -> None:
        self._complete()

    def _complete(self) -> None:
        """Wait for the whole database (a deferred open); no-op once it is read."""
        partial = self._partial
        if partial is None:
            return
        partial.go.set()
        partial.done.wait()
        with self._rlock:
            if self._partial is partial:
                self._install(partial)

    @property
    def loading(self) -> bool:
        """Whether the store still serves its front page only (a deferred open)."""
        return self._partial is not None

    def _read(self) -> None:
        if self._partial is None:
            super()._read()

    def refresh(self) -> bool:
        partial = self._partial
        if partial is not None:
            if not partial.done.is_set():
                return False
            self._complete()
            return True
        return super().refresh()

    def _table(self, name: str) -> dict[str, Any]:
        partial = self._partial
        if partial is not None:
            if name in SMALL_TABLES:
                return partial.page.tables.setdefault(name, {})
            self._complete()
        return super()._table(name)

    def _contact_doc(self, contact_id: str) -> Mapping[str, Any] | None:
        """A stored contact, from the front page when it holds it."""
        partial = self._partial
        if partial is not None and contact_id in partial.page.docs:
            return partial.page.docs[contact_id]
        return self._table(CONTACTS).get(contact_id)

    def first_page(self, query: ContactQuery, viewer_id: str | None
                   ) -> tuple[list[str], int] | None:
        partial = self._partial
        if partial is None:
            return self._first_matches(query)
        page = partial.page
        if replace(query, limit=None, text="") != ContactQuery():
            return None
        ids = page.ids()
        words = fold(query.text).split()
        if words:
            # The page holds every contact up to its last in the order: those of them that
            # match are the first matches of all. None when none of them does.
            tests = [(word, _phone_digits(word)) for word in words]
            ids = [cid for cid in ids if _matches(_haystack(page.docs[cid]), tests)]
            if not ids:
                return None
        return (ids if query.limit is None else ids[:query.limit]), page.count

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._complete()
        with self._rlock:
            if self._depth:
                with super().transaction():
                    yield
                return
            self._touched = set()
            self._added = 0
            # The file lock is held until the front page shows the commit (it is reentrant).
            self._acquire()
            try:
                with super().transaction():
                    yield
                self._after_commit()
            finally:
                self._flock.release()

    def _touch(self, *contact_ids: str, added: int = 0) -> None:
        """The transaction changed ``contact_ids``, and added ``added`` contacts (negative:
        removed), which the front page counts without counting the table."""
        if self._touched is not None:
            self._touched.update(contact_ids)
        self._added += added

    def _after_commit(self) -> None:
        """Bring the front page up to date with a commit just made (under the file lock)."""
        signature = front.signature(self.data_dir, DB_FILE)
        before = self._data_signature
        if signature == before:
            return  # nothing was written
        self._data_signature = signature
        try:
            tables = self._storage.read()
            previous = self._page if self._page is not None and self._page.signature == before \
                else front.read(self.data_dir, DB_FILE, expected=before)
            if previous is not None and self._touched is not None:
                page = front.update(previous, signature, tables, SMALL_TABLES, CONTACTS, USERS,
                                    self._touched, self._added)
            else:
                page = front.build(signature, tables, SMALL_TABLES, CONTACTS, USERS)
            front.write(self.data_dir, page)
            self._page = page
        except Exception:  # a cache: the next start reads the whole database instead
            logger.exception("cannot bring the front page %s up to date",
                             self.data_dir / front.FRONT_FILE)
            self._page = None

    # -- users ------------------------------------------------------------------------------------

    def _has_contact(self, contact_id: str) -> bool:
        with self._rlock:
            self._read()
            return contact_id in self._table(CONTACTS)

    def _insert_user(self, user: User) -> None:
        self._insert(USERS, user)

    def get_user(self, user_id: str) -> User:
        with self._rlock:
            self._read()
            doc = self._table(USERS).get(user_id)
            if doc is None:
                raise NotFound(f"no user {user_id}")
            return self._stored_user(user_id, doc)

    def find_user(self, email: str) -> User | None:
        key = email.strip().casefold()
        with self._rlock:
            self._read()
            for uid, doc in self._table(USERS).items():
                if doc["email"].casefold() == key:
                    return self._stored_user(uid, doc)
            for uid, doc in self._table(USERS).items():
                contact = self._contact_doc(doc.get("contact_id") or "")
                if contact and any(e["value"].casefold() == key for e in contact.get("emails", ())):
                    return self._stored_user(uid, doc)
        return None

    def list_users(self) -> list[User]:
        with self._rlock:
            self._read()
            users = [self._stored_user(uid, d) for uid, d in self._table(USERS).items()]
        return sorted(users, key=lambda u: fold(u.name))

    def user_emails(self, user_id: str) -> list[str]:
        user = self.get_user(user_id)
        emails = [user.email]
        with self._rlock:
            contact = self._contact_doc(user.contact_id or "")
            for e in (contact or {}).get("emails", ()):
                if e["value"].casefold() not in {x.casefold() for x in emails}:
                    emails.append(e["value"])
        return emails

    # -- tags -------------------------------------------------------------------------------------

    def add_tag(self, tag: Tag) -> Tag:
        with self.transaction():
            if tag.kind is TagKind.PRIVATE and tag.owner_id not in self._table(USERS):
                raise NotFound(f"no user {tag.owner_id} to own the private tag")
            for doc in self._table(TAGS).values():
                same_scope = (doc["kind"] != TagKind.PRIVATE.value
                              if tag.kind is not TagKind.PRIVATE
                              else doc.get("owner_id") == tag.owner_id)
                if same_scope and fold(doc["name"]) == fold(tag.name):
                    raise StoreConflict(f"a tag named {doc['name']!r} already exists")
            self._insert(TAGS, tag)
        return tag

    def get_tag(self, tag_id: str, viewer_id: str | None) -> Tag:
        with self._rlock:
            self._read()
            doc = self._visible_tags(viewer_id).get(tag_id)
            if doc is None:
                raise NotFound(f"no tag {tag_id}")
            return self._record(Tag, TAGS, tag_id, doc)

    def find_tag(self, name: str, viewer_id: str | None) -> Tag | None:
        key = fold(name.strip())
        with self._rlock:
            self._read()
            found = [self._record(Tag, TAGS, tid, d) for tid, d in self._visible_tags(viewer_id).items()
                     if fold(d["name"]) == key]
        found.sort(key=lambda t: t.kind is not TagKind.PRIVATE)
        return found[0] if found else None

    def list_tags(self, viewer_id: str | None, kind: TagKind | None = None) -> list[Tag]:
        with self._rlock:
            self._read()
            tags = [self._record(Tag, TAGS, tid, d) for tid, d in self._visible_tags(viewer_id).items()
                    if kind is None or d["kind"] == kind.value]
        return sorted(tags, key=lambda t: (t.kind.value, fold(t.name)))

    def delete_tag(self, tag_id: str, viewer_id: str | None) -> None:
        with self.transaction():
            self.get_tag(tag_id, viewer_id)
            holders = [cid for cid, d in self._table(CONTACTS).items() if tag_id in d.get("tags", ())]
            self.tag_contacts(holders, tag_id, viewer_id, remove=True)
            for settings in self._table(SETTINGS).values():
                if settings.get("contacts_tag_id") == tag_id:
                    self._storage.mark_dirty()
                    settings["contacts_tag_id"] = ""
            self._remove(TAGS, [tag_id])

    # -- contacts ---------------------------------------------------------------------------------

    def add_contact(self, contact: Contact) -> Contact:
        with self.transaction():
            if contact.id in self._table(CONTACTS):
                raise StoreConflict(f"a contact with id {contact.id} already exists")
            self._check_contact_refs(contact, None)
            self._insert(CONTACTS, contact)
            self._touch(contact.id, added=1)
            if self._index is not None:
                self._index.put(contact.id, self._table(CONTACTS)[contact.id])
        return contact

    def add_contacts(self, contacts: Sequence[Contact]) -> None:
        with self.transaction():
            table = self._table(CONTACTS)
            seen: set[str] = set()
            for contact in contacts:
                if contact.id in table or contact.id in seen:
                    raise StoreConflict(f"a contact with id {contact.id} already exists")
                seen.add(contact.id)
                self._check_contact_refs(contact, None)
            self._put_docs(CONTACTS, ((c.id, _stored(c)) for c in contacts))
            self._touch(*seen, added=len(seen))
            if self._index is not None:
                for contact in contacts:
                    self._index.put(contact.id, table[contact.id])

    def get_contact(self, contact_id: str, viewer_id: str | None = None) -> Contact:
        with self._rlock:
            self._read()
            doc = self._contact_doc(contact_id)
            if doc is None:
                raise NotFound(f"no contact {contact_id}")
            return self._contact(contact_id, doc, viewer_id)

    def _contact(self, cid: str, doc: Mapping[str, Any], viewer_id: str | None) -> Contact:
        contact = self._stored_contact(cid, doc)
        if viewer_id is not None:
            visible = self._visible_tags(viewer_id)
            contact.tags = [t for t in contact.tags if t in visible]
        return contact

    def get_contacts(self, contact_ids: Sequence[str], viewer_id: str | None = None
                     ) -> list[Contact]:
        with self._rlock:
            self._read()
            partial = self._partial
            table: Mapping[str, Any] = (
                partial.page.docs if partial is not None
                and all(cid in partial.page.docs for cid in contact_ids)
                else self._table(CONTACTS))
            visible = self._visible_tags(viewer_id) if viewer_id is not None else None
            out = []
            for cid in contact_ids:
                doc = table.get(cid)
                if doc is None:
                    raise NotFound(f"no contact {cid}")
                contact = self._stored_contact(cid, doc)
                if visible is not None:
                    contact.tags = [t for t in contact.tags if t in visible]
                out.append(contact)
            return out

    def update_contact(self, contact: Contact, viewer_id: str | None = None,
                       *, touch: bool = True, expected: datetime | None = None) -> Contact:
        with self.transaction():
            old = self._table(CONTACTS).get(contact.id)
            if old is None:
                raise NotFound(f"no contact {contact.id}")
            if expected is not None and datetime.fromisoformat(old["modified"]) != expected:
                raise self.changed_meanwhile(self.get_contact(contact.id, viewer_id), expected)
            if viewer_id is not None:
                visible = self._visible_tags(viewer_id)
                hidden = [t for t in old.get("tags", ()) if t not in visible]
                contact = contact.evolve(tags=[t for t in contact.tags if t in visible] + hidden)
            self._check_contact_refs(contact, viewer_id)
            if touch:
                contact = contact.evolve(modified=utcnow(),
                                         modified_by=viewer_id or contact.modified_by)
            else:
                contact = contact.evolve(modified=new_version(
                    datetime.fromisoformat(old["modified"]), contact.modified))
            self._replace(CONTACTS, contact)
            self._touch(contact.id)
            if self._index is not None:
                self._index.put(contact.id, self._table(CONTACTS)[contact.id])
        return contact

    def delete_contact(self, contact_id: str) -> None:
        with self.transaction():
            if contact_id not in self._table(CONTACTS):
                raise NotFound(f"no contact {contact_id}")
            for user in self._table(USERS).values():
                if user.get("contact_id") == contact_id:
                    raise StoreConflict(f"the contact belongs to the user {user['email']}; "
                                   "it cannot be deleted")
            for aid, doc in list(self._table(ACTIVITIES).items()):
                parts = doc.get("participants", [])
                kept = [p for p in parts if not (p["kind"] == ParticipantKind.CONTACT.value
                                                 and p["ref_id"] == contact_id)]
                if len(kept) != len(parts):
                    self._update_fields(ACTIVITIES, {"participants": kept,
                                                     "modified": utcnow().isoformat()}, [aid])
            self._remove(CONTACTS, [contact_id])
            self._touch(contact_id, added=-1)
            if self._index is not None:
                self._index.drop(contact_id)

    def tag_contacts(self, contact_ids: Sequence[str], tag_id: str, viewer_id: str | None,
                     *, remove: bool = False) -> int:
        with self.transaction():
            self.get_tag(tag_id, viewer_id)
            table = self._table(CONTACTS)
            now = utcnow().isoformat()
            changed = 0
            missing = [cid for cid in contact_ids if cid not in table]
            if missing:
                raise NotFound(f"no contact {missing[0]}")
            for cid in contact_ids:
                doc = table[cid]
                tags = list(doc.get("tags", ()))
                if remove and tag_id in tags:
                    tags.remove(tag_id)
                elif not remove and tag_id not in tags:
                    tags.append(tag_id)
                else:
                    continue
                self._storage.mark_dirty(CONTACTS, [cid])
                doc["tags"] = tags
                doc["modified"] = now
                self._touch(cid)
                changed += 1
                if self._index is not None:
                    self._index.put(cid, doc)
            if changed:
                self._t(CONTACTS).clear_cache()
        return changed

    def find_contacts(self, query: ContactQuery, viewer_id: str | None) -> list[Contact]:
        return self.get_contacts(self.contact_ids(query, viewer_id), viewer_id)

    def all_contact_ids(self) -> list[str]:
        with self._rlock:
            self._read()
            return list(self._table(CONTACTS))

    def count_contacts(self) -> int:
        with self._rlock:
            self._read()
            partial = self._partial
            return partial.page.count if partial is not None else len(self._table(CONTACTS))

    def contacts_with_email(self, email: str) -> list[Contact]:
        key = email.strip().casefold()
        with self._rlock:
            self._read()
            return [self._stored_contact(cid, d) for cid, d in self._table(CONTACTS).items()
                    if any(e["value"].casefold() == key for e in d.get("emails", ()))]

    def contact_ids_by_email(self, emails: set[str]) -> dict[str, str]:
        found: dict[str, tuple[str, str]] = {}
        if not emails:
            return {}
        with self._rlock:
            self._read()
            for cid, doc in self._table(CONTACTS).items():
                for e in doc.get("emails", ()):
                    key = e["value"].casefold()
                    if key in emails:
                        stamp = (doc.get("created", ""), cid)
                        if key not in found or stamp < found[key]:
                            found[key] = stamp
        return {key: cid for key, (_, cid) in found.items()}

    def iter_contacts(self) -> Iterator[Contact]:
        with self._rlock:
            self._read()
            items = list(self._table(CONTACTS).items())
        for cid, doc in items:
            yield self._stored_contact(cid, doc)

    # -- accounts ---------------------------------------------------------------------------------

    def add_account(self, account: Account) -> Account:
        with self.transaction():
            if account.user_id not in self._table(USERS):
                raise NotFound(f"no user {account.user_id}")
            for doc in self._table(ACCOUNTS).values():
                if doc["user_id"] == account.user_id and doc["provider"] == account.provider:
                    raise StoreConflict(f"the user already has a linked {account.provider} account "
                                   f"({doc['email']}); unlink it first")
            self._insert(ACCOUNTS, account)
        return account

    def get_account(self, account_id: str) -> Account:
        with self._rlock:
            self._read()
            doc = self._table(ACCOUNTS).get(account_id)
            if doc is None:
                raise NotFound(f"no account {account_id}")
            return self._record(Account, ACCOUNTS, account_id, doc)

    def update_account(self, account: Account) -> Account:
        with self.transaction():
            if account.id not in self._table(ACCOUNTS):
                raise NotFound(f"no account {account.id}")
            self._replace(ACCOUNTS, account)
        return account

    def delete_account(self, account_id: str) -> None:
        with self.transaction():
            if account_id not in self._table(ACCOUNTS):
                raise NotFound(f"no account {account_id}")
            self._remove(ACCOUNTS, [account_id])

    def list_accounts(self, user_id: str | None = None) -> list[Account]:
        with self._rlock:
            self._read()
            return [self._record(Account, ACCOUNTS, aid, d) for aid, d in self._table(ACCOUNTS).items()
                    if user_id is None or d["user_id"] == user_id]


def open_store(data_dir: str | os.PathLike[str], *, deferred: bool = False) -> TinyDBRepository:
    """Open (creating if needed) the store in ``data_dir`` (``deferred``: see
    :class:`TinyDBRepository`)."""
    return TinyDBRepository(data_dir, deferred=deferred)


__all__ = ["TinyDBRepository", "open_store", "DB_FILE"]
