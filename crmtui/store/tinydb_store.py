"""The TinyDB implementation of the repository.

One JSON file per data directory (``crmtui.json``), written through :class:`AtomicJSONStorage`.
Documents are keyed by crmtui's own ids (TinyDB document ids are those strings), so the file reads
naturally and the ids survive export and import.

Concurrency: a file lock (``crmtui.json.lock``) is held for every commit. A write first takes the
lock, reloads the file if another process committed since it was read, applies the change and
commits, so no process loses another's update. Reads reload when the file changed on disk.
Within a process an RLock makes the repository safe for the UI thread and sync workers together.
"""

from __future__ import annotations

import glob
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.table import Document, Table

from crmtui.model import (
    Account,
    Activity,
    Contact,
    ParticipantKind,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
    check_aware,
    fold,
    trusted_data,
    utcnow,
)
from crmtui.store.migrations import migrate
from crmtui.store.repository import (
    ACTIVITY_SORTS,
    CONTACT_SORTS,
    ActivityQuery,
    ContactQuery,
    NotFound,
    Repository,
    StoreConflict,
    StoreError,
)
from crmtui.store.storage import AtomicJSONStorage, StorageError

DB_FILE = "crmtui.json"
JOURNAL_MAX_RUNS = 500  # per user
JOURNAL_MAX_CONFLICTS = 1000  # per run
LOCK_TIMEOUT = 60.0

USERS, TAGS, CONTACTS, ACTIVITIES = "users", "tags", "contacts", "activities"
ACCOUNTS, SETTINGS, STATE, LINKS, JOURNAL = ("accounts", "sync_settings", "sync_state",
                                             "sync_links", "journal")
TABLES = (USERS, TAGS, CONTACTS, ACTIVITIES, ACCOUNTS, SETTINGS, STATE, LINKS, JOURNAL)


class _Table(Table):
    """A TinyDB table keyed by string ids.

    Our document ids are crmtui's string ids, so the int conversion TinyDB does around every
    update (rebuilding the whole table twice, ~10 ms at 100,000 contacts) has nothing to do:
    updates work on the stored dict in place.
    """

    document_id_class = str  # type: ignore[assignment]

    def _update_table(self, updater: Callable[[dict[Any, Any]], None]) -> None:
        tables = self._storage.read() or {}
        updater(tables.setdefault(self.name, {}))
        self._storage.write(tables)
        self.clear_cache()


class _DB(TinyDB):
    table_class = _Table


class _ContactIndex:
    """In-memory search text and sort keys of every contact, kept up to date on writes.

    Each part is built on first use (listing needs no search text). A sort key is one string
    that ends with the contact's id, so sorting compares plain strings and ties keep a stable
    order. Searching scans the texts in the order they were built (reading memory in sequence)
    and marks the matches in a bytes mask; many matches are then picked from the cached order
    of all contacts, few are sorted.
    """

    def __init__(self) -> None:
        self.hay: dict[str, str] | None = None
        self.sort_keys: dict[str, dict[str, str]] = {}
        self.orders: dict[str, list[str]] = {}  # every contact id, sorted by a column
        # per column: picks the mask's bytes of an order's ids (where each is in ``hay``)
        self.places: dict[str, Callable[[bytes], Sequence[int]]] = {}

    def put(self, cid: str, doc: Mapping[str, Any]) -> None:
        if self.hay is not None:
            self.hay[cid] = _haystack(doc)
        for keys in self.sort_keys.values():
            keys.pop(cid, None)
        self.orders.clear()
        self.places.clear()

    def drop(self, cid: str) -> None:
        if self.hay is not None:
            self.hay.pop(cid, None)
        for keys in self.sort_keys.values():
            keys.pop(cid, None)
        self.orders.clear()
        self.places.clear()

    def search_texts(self, contacts: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """The search text of every contact (built on first use)."""
        if self.hay is None:
            self.hay = {cid: _haystack(doc) for cid, doc in contacts.items()}
        return self.hay

    def find(self, text: str, column: str, contacts: Mapping[str, Mapping[str, Any]]
             ) -> list[str]:
        """Ids of the contacts matching every word of ``text``, in the column's order."""
        words = fold(text).split()
        if not words:
            return list(self._order(column, contacts))
        hay = self.search_texts(contacts)
        mask = _mask(words, hay)
        if mask.count(1) * 8 < len(mask) and column in self.sort_keys:
            keys = self._keys(column, contacts)
            return sorted(compress(hay, mask), key=keys.__getitem__)
        # Many matches, or the first search by this column (which builds all it needs).
        return list(compress(self._order(column, contacts), self.picker(column, contacts)(mask)))

    def picker(self, column: str, contacts: Mapping[str, Mapping[str, Any]]
               ) -> Callable[[bytes], Sequence[int]]:
        """What picks the bytes of a mask over ``hay`` in the column's order of the ids."""
        pick = self.places.get(column)
        if pick is None:
            order = self._order(column, contacts)
            where = {cid: i for i, cid in enumerate(self.search_texts(contacts))}
            places = [where[cid] for cid in order]
            # itemgetter permutes the mask into the column's order in C (a third of the time
            # of a Python loop); with fewer than two contacts it would not return a tuple.
            if len(places) > 1:
                pick = itemgetter(*places)
            else:
                def pick(mask: bytes, places: list[int] = places) -> Sequence[int]:
                    return [mask[i] for i in places]
            self.places[column] = pick
        return pick

    def descending(self, ids: list[str], column: str,
                   contacts: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """``ids`` (in the column's order) reversed, contacts without a value still last."""
        ids.reverse()
        if column not in _TEXT_SORTS:
            return ids
        keys = self._keys(column, contacts)
        empty = 0
        for cid in ids:
            if not keys[cid].startswith(_EMPTY):
                break
            empty += 1
        return ids[empty:] + ids[:empty] if empty else ids

    def _keys(self, column: str, contacts: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        keys = self.sort_keys.setdefault(column, {})
        if len(keys) != len(contacts):
            fn = _CONTACT_KEYS[column]
            for cid, doc in contacts.items():
                if cid not in keys:
                    keys[cid] = f"{fn(doc)}\x00{cid}"
        return keys

    def _order(self, column: str, contacts: Mapping[str, Mapping[str, Any]]) -> list[str]:
        order = self.orders.get(column)
        if order is None:
            keys = self._keys(column, contacts)
            order = self.orders[column] = sorted(keys, key=keys.__getitem__)
        return order


def _mask(words: list[str], hay: dict[str, str]) -> bytes:
    """One byte per search text of ``hay``: 1 where every word occurs in it.

    A word of digits and phone punctuation also matches its digits alone (a phone's digits).
    The first word scans every text, the others test only the texts still matching; the
    comparisons are spelled out, as a general test per text would double the time."""
    texts = hay.values()
    mask: bytes | None = None
    for word in words:
        digits = _phone_digits(word)
        if mask is None:
            mask = bytes([word in h for h in texts] if digits is None else
                         [word in h or digits in h for h in texts])
        elif digits is None:
            mask = bytes([m and word in h for m, h in zip(mask, texts, strict=True)])
        else:
            mask = bytes([m and (word in h or digits in h)
                          for m, h in zip(mask, texts, strict=True)])
    assert mask is not None, "no words to search for"
    return mask


_NOT_DIGITS = re.compile(r"[^0-9]")


def _phone_digits(word: str) -> str | None:
    """The digits of a search word made of digits and phone punctuation, if it has 3 or more."""
    digits = _NOT_DIGITS.sub("", word)
    if len(digits) >= 3 and digits != word and len(digits) == len(word.replace("-", "")
                                                                   .replace("+", "")):
        return digits
    return None


def _haystack(doc: Mapping[str, Any]) -> str:
    parts = [doc.get("given_name", ""), doc.get("middle_name", ""), doc.get("family_name", ""),
             doc.get("company", "")]
    parts += [e.get("value", "") for e in doc.get("emails", ())]
    for p in doc.get("phones", ()):
        value = p.get("value", "")
        parts.append(value)
        parts.append(_NOT_DIGITS.sub("", value))
    # Folded part by part: most parts are ASCII, which folds fast.
    return "\x1f".join(map(fold, parts))


def _first(doc: Mapping[str, Any], key: str) -> str:
    items = doc.get(key) or ()
    for item in items:
        if item.get("primary"):
            return str(item.get("value", ""))
    return str(items[0].get("value", "")) if items else ""


_EMPTY = "1"


def _text_key(value: str) -> str:
    # Empty values sort last (in both directions: see _ContactIndex.descending).
    return "0" + fold(value) if value else _EMPTY


_CONTACT_KEYS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "name": lambda d: _text_key(" ".join(p for p in (d.get("family_name", ""),
                                                      d.get("given_name", ""),
                                                      d.get("middle_name", "")) if p)
                                or d.get("company", "") or _first(d, "emails")),
    "given_name": lambda d: _text_key(d.get("given_name", "")),
    "family_name": lambda d: _text_key(d.get("family_name", "")),
    "company": lambda d: _text_key(d.get("company", "")),
    "job_title": lambda d: _text_key(d.get("job_title", "")),
    "email": lambda d: _text_key(_first(d, "emails")),
    "phone": lambda d: _text_key(_first(d, "phones")),
    "birthday": lambda d: _text_key(d.get("birthday") or ""),
    "created": lambda d: _instant(d.get("created")).isoformat(timespec="microseconds"),
    "modified": lambda d: _instant(d.get("modified")).isoformat(timespec="microseconds"),
}


_TEXT_SORTS = frozenset(_CONTACT_KEYS) - {"created", "modified"}


def _instant(text: str | None) -> datetime:
    if not text:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(text).astimezone(UTC)


def _doc(doc_id: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    return {**doc, "id": doc_id}


def _stored_contact(cid: str, doc: Mapping[str, Any]) -> Contact:
    """A stored contact (validated when it was written, so emails are not parsed again)."""
    with trusted_data():
        return Contact.from_dict(_doc(cid, doc))


def _stored_user(uid: str, doc: Mapping[str, Any]) -> User:
    with trusted_data():
        return User.from_dict(_doc(uid, doc))


def _stored(record: Any) -> dict[str, Any]:
    data: dict[str, Any] = record.to_dict()
    data.pop("id", None)
    return data


class TinyDBRepository(Repository):
    """The repository over one TinyDB JSON file in ``data_dir``."""

    def __init__(self, data_dir: str | os.PathLike[str], *, lock_timeout: float = LOCK_TIMEOUT
                 ) -> None:
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data directory {self.data_dir}: "
                             f"{exc.strerror}") from exc
        self.path = self.data_dir / DB_FILE
        self._flock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)
        self._rlock = threading.RLock()
        self._preparing = threading.Lock()  # held while prepare_search builds the index
        self._depth = 0
        self._doomed = False
        self._generation = 0
        self._index: _ContactIndex | None = None
        self._remote_links: dict[tuple[str, str, str], str] | None = None
        self._db = _DB(storage=AtomicJSONStorage, path=self.path)
        self._storage: AtomicJSONStorage = self._db.storage  # type: ignore[assignment]
        with self._lock_file():
            self._remove_stale_temporaries()
            self._load()

    # -- lifecycle and transactions ---------------------------------------------------------------

    @contextmanager
    def _lock_file(self) -> Iterator[None]:
        try:
            self._flock.acquire()
        except Timeout:
            raise StoreError(f"the database {self.path} is locked by another crmtui process; "
                             "try again when it has finished") from None
        try:
            yield
        finally:
            self._flock.release()

    def _remove_stale_temporaries(self) -> None:
        # Left by a process killed while committing; we hold the lock, so nobody is writing one.
        for tmp in glob.glob(str(self.data_dir / f".{DB_FILE}.*.tmp")):
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _load(self) -> None:
        data = self._storage.load()
        for name in TABLES:
            data.setdefault(name, {})
        data, changed = migrate(data)
        self._storage.write(data)
        if changed:
            self._storage.flush()
        self._storage.dirty = False
        self._db.clear_cache()
        self._index = None
        self._remote_links = None
        self._generation += 1

    @property
    def _data(self) -> dict[str, dict[str, Any]]:
        return self._storage.read()

    def _table(self, name: str) -> dict[str, Any]:
        return self._storage.read()[name]

    def _t(self, name: str) -> Table:
        return self._db.table(name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._rlock:
            outermost = self._depth == 0
            if outermost:
                self._flock_enter()
            self._depth += 1
            writes_before = self._storage.writes
            failed = False
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                self._depth -= 1
                if failed and self._storage.writes != writes_before:
                    # A step that failed after writing: the whole transaction is rolled back.
                    self._doomed = True
                if outermost:
                    self._finish(failed)

    def _flock_enter(self) -> None:
        try:
            self._flock.acquire()
        except Timeout:
            raise StoreError(f"the database {self.path} is locked by another crmtui process; "
                             "try again when it has finished") from None
        try:
            if self._storage.changed_on_disk():
                self._load()
        except BaseException:
            self._flock.release()
            raise
        self._doomed = False

    def _finish(self, failed: bool) -> None:
        try:
            if failed or self._doomed:
                if self._storage.dirty:
                    self._load()  # roll back to the committed file
                if not failed:
                    raise StoreError("a write inside the transaction failed, so the transaction "
                                     "was rolled back and nothing was written")
            elif self._storage.dirty:
                try:
                    self._storage.flush()
                except OSError as exc:
                    self._load()
                    raise StorageError(f"cannot write {self.path}: {exc.strerror}") from exc
                self._generation += 1
        finally:
            self._doomed = False
            self._flock.release()

    def close(self) -> None:
        self._db.close()

    def refresh(self) -> bool:
        with self._rlock:
            if self._depth == 0 and self._storage.changed_on_disk():
                self._load()
                return True
            return False

    @property
    def generation(self) -> int:
        self.refresh()
        return self._generation

    def _read(self) -> None:
        """Before a read outside a transaction: pick up other processes' commits."""
        if self._depth == 0 and self._storage.changed_on_disk():
            self._load()

    # -- users ------------------------------------------------------------------------------------

    def add_user(self, user: User, contact: Contact | None = None) -> User:
        with self.transaction():
            if self.find_user(user.email) is not None:
                raise StoreConflict(f"a user with the email {user.email} already exists")
            if contact is not None:
                user = user.evolve(contact_id=contact.id)
            elif user.contact_id and user.contact_id not in self._table(CONTACTS):
                raise NotFound(f"no contact {user.contact_id}")
            self._insert(USERS, user)
            if contact is not None:
                self.add_contact(contact if contact.owner_id else contact.evolve(owner_id=user.id))
        return user

    def get_user(self, user_id: str) -> User:
        with self._rlock:
            self._read()
            doc = self._table(USERS).get(user_id)
            if doc is None:
                raise NotFound(f"no user {user_id}")
            return _stored_user(user_id, doc)

    def find_user(self, email: str) -> User | None:
        key = email.strip().casefold()
        with self._rlock:
            self._read()
            contacts = self._table(CONTACTS)
            for uid, doc in self._table(USERS).items():
                if doc["email"].casefold() == key:
                    return _stored_user(uid, doc)
            for uid, doc in self._table(USERS).items():
                contact = contacts.get(doc.get("contact_id") or "")
                if contact and any(e["value"].casefold() == key for e in contact.get("emails", ())):
                    return _stored_user(uid, doc)
        return None

    def list_users(self) -> list[User]:
        with self._rlock:
            self._read()
            users = [_stored_user(uid, d) for uid, d in self._table(USERS).items()]
        return sorted(users, key=lambda u: fold(u.name))

    def user_emails(self, user_id: str) -> list[str]:
        user = self.get_user(user_id)
        emails = [user.email]
        with self._rlock:
            contact = self._table(CONTACTS).get(user.contact_id or "")
            for e in (contact or {}).get("emails", ()):
                if e["value"].casefold() not in {x.casefold() for x in emails}:
                    emails.append(e["value"])
        return emails

    # -- tags -------------------------------------------------------------------------------------

    def _visible_tags(self, viewer_id: str | None) -> dict[str, dict[str, Any]]:
        return {tid: doc for tid, doc in self._table(TAGS).items()
                if doc["kind"] != TagKind.PRIVATE.value or doc.get("owner_id") == viewer_id}

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
            return Tag.from_dict(_doc(tag_id, doc))

    def find_tag(self, name: str, viewer_id: str | None) -> Tag | None:
        key = fold(name.strip())
        with self._rlock:
            self._read()
            found = [Tag.from_dict(_doc(tid, d)) for tid, d in self._visible_tags(viewer_id).items()
                     if fold(d["name"]) == key]
        found.sort(key=lambda t: t.kind is not TagKind.PRIVATE)
        return found[0] if found else None

    def list_tags(self, viewer_id: str | None, kind: TagKind | None = None) -> list[Tag]:
        with self._rlock:
            self._read()
            tags = [Tag.from_dict(_doc(tid, d)) for tid, d in self._visible_tags(viewer_id).items()
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

    def _index_ready(self) -> _ContactIndex:
        if self._index is None:
            self._index = _ContactIndex()
        return self._index

    def _check_contact_refs(self, contact: Contact, viewer_id: str | None) -> None:
        tags = self._table(TAGS)
        for tid in contact.tags:
            doc = tags.get(tid)
            if doc is None:
                raise NotFound(f"no tag {tid}")
        if contact.owner_id and contact.owner_id not in self._table(USERS):
            raise NotFound(f"no user {contact.owner_id} to own the contact")

    def add_contact(self, contact: Contact) -> Contact:
        with self.transaction():
            if contact.id in self._table(CONTACTS):
                raise StoreConflict(f"a contact with id {contact.id} already exists")
            self._check_contact_refs(contact, None)
            self._insert(CONTACTS, contact)
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
            if self._index is not None:
                for contact in contacts:
                    self._index.put(contact.id, table[contact.id])

    def get_contact(self, contact_id: str, viewer_id: str | None = None) -> Contact:
        with self._rlock:
            self._read()
            doc = self._table(CONTACTS).get(contact_id)
            if doc is None:
                raise NotFound(f"no contact {contact_id}")
            return self._contact(contact_id, doc, viewer_id)

    def _contact(self, cid: str, doc: Mapping[str, Any], viewer_id: str | None) -> Contact:
        contact = _stored_contact(cid, doc)
        if viewer_id is not None:
            visible = self._visible_tags(viewer_id)
            contact.tags = [t for t in contact.tags if t in visible]
        return contact

    def get_contacts(self, contact_ids: Sequence[str], viewer_id: str | None = None
                     ) -> list[Contact]:
        with self._rlock:
            self._read()
            table = self._table(CONTACTS)
            visible = self._visible_tags(viewer_id) if viewer_id is not None else None
            out = []
            for cid in contact_ids:
                doc = table.get(cid)
                if doc is None:
                    raise NotFound(f"no contact {cid}")
                contact = _stored_contact(cid, doc)
                if visible is not None:
                    contact.tags = [t for t in contact.tags if t in visible]
                out.append(contact)
            return out

    def update_contact(self, contact: Contact, viewer_id: str | None = None,
                       *, touch: bool = True) -> Contact:
        with self.transaction():
            old = self._table(CONTACTS).get(contact.id)
            if old is None:
                raise NotFound(f"no contact {contact.id}")
            if viewer_id is not None:
                visible = self._visible_tags(viewer_id)
                hidden = [t for t in old.get("tags", ()) if t not in visible]
                contact = contact.evolve(tags=[t for t in contact.tags if t in visible] + hidden)
            self._check_contact_refs(contact, viewer_id)
            if touch:
                contact = contact.evolve(modified=utcnow())
            self._replace(CONTACTS, contact)
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
                self._storage.mark_dirty()
                doc["tags"] = tags
                doc["modified"] = now
                changed += 1
                if self._index is not None:
                    self._index.put(cid, doc)
            if changed:
                self._t(CONTACTS).clear_cache()
        return changed

    def contact_ids(self, query: ContactQuery, viewer_id: str | None) -> list[str]:
        if query.sort not in CONTACT_SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(CONTACT_SORTS)}", query.sort)
        if query.text.strip():
            self._await_prepared()
        with self._rlock:
            self._read()
            table = self._table(CONTACTS)
            ids = self._index_ready().find(query.text, query.sort, table)
            if query.modified_since is not None:
                since = query.modified_since
                if since.tzinfo is None:
                    raise ValidationError("modified_since", "must carry a time zone",
                                          since.isoformat())
                ids = [cid for cid in ids
                       if datetime.fromisoformat(table[cid]["modified"]) >= since]
            if query.tag_ids or query.tag_kind is not None:
                visible = self._visible_tags(viewer_id)
                wanted = set(query.tag_ids)
                if not wanted <= set(visible):
                    return []
                kind_tags = ({tid for tid, d in visible.items() if d["kind"] == query.tag_kind}
                             if query.tag_kind is not None else None)
                kept = []
                for cid in ids:
                    tags = table[cid].get("tags", ())
                    if wanted and not wanted.issubset(tags):
                        continue
                    if kind_tags is not None and kind_tags.isdisjoint(tags):
                        continue
                    kept.append(cid)
                ids = kept
            if query.descending:
                ids = self._index_ready().descending(ids, query.sort, table)
        end = None if query.limit is None else query.offset + query.limit
        return ids[query.offset:end]

    def narrow_contact_ids(self, ids: Sequence[str], text: str, viewer_id: str | None
                           ) -> list[str]:
        words = fold(text).split()
        self._await_prepared()
        with self._rlock:
            self._read()
            hay = self._index_ready().search_texts(self._table(CONTACTS))
            if len(ids) * 4 >= len(hay):
                # Most contacts: one scan of every text in memory order beats picking them.
                if not words:
                    return [cid for cid in ids if cid in hay]
                matching = set(compress(hay, _mask(words, hay)))
                return [cid for cid in ids if cid in matching]
            pairs = [(cid, h) for cid in ids if (h := hay.get(cid)) is not None]
        for word in words:
            digits = _phone_digits(word)
            pairs = ([p for p in pairs if word in p[1]] if digits is None else
                     [p for p in pairs if word in p[1] or digits in p[1]])
        return [cid for cid, _ in pairs]

    def prepare_search(self, sort: str = "name") -> None:
        # The search texts are built outside the lock (reads and scrolling go on meanwhile)
        # from a snapshot of the contacts, and kept only when nothing was written in between;
        # a search asked for meanwhile waits for them rather than building them again.
        with self._preparing:
            with self._rlock:
                self._read()
                index = self._index_ready()
                generation = self._generation
                items = (list(self._table(CONTACTS).items()) if index.hay is None else None)
            hay = None if items is None else {cid: _haystack(doc) for cid, doc in items}
            with self._rlock:
                if (hay is not None and self._index is index and index.hay is None
                        and self._depth == 0 and self._generation == generation):
                    index.hay = hay
                if sort in CONTACT_SORTS and index.hay is not None:
                    index.picker(sort, self._table(CONTACTS))

    def _await_prepared(self) -> None:
        """Wait for a prepare_search under way (its result serves the search about to run);
        never while this thread holds the store's lock (the preparation needs it)."""
        if (self._index is None or self._index.hay is None) and not self._rlock._is_owned():  # type: ignore[attr-defined]
            with self._preparing:
                pass

    def find_contacts(self, query: ContactQuery, viewer_id: str | None) -> list[Contact]:
        return self.get_contacts(self.contact_ids(query, viewer_id), viewer_id)

    def count_contacts(self) -> int:
        with self._rlock:
            self._read()
            return len(self._table(CONTACTS))

    def contacts_with_email(self, email: str) -> list[Contact]:
        key = email.strip().casefold()
        with self._rlock:
            self._read()
            return [_stored_contact(cid, d) for cid, d in self._table(CONTACTS).items()
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
            yield _stored_contact(cid, doc)

    # -- activities -------------------------------------------------------------------------------

    def _check_activity_refs(self, activity: Activity) -> None:
        users, contacts = self._table(USERS), self._table(CONTACTS)
        for name, uid in (("owner", activity.owner_id), ("organizer", activity.organizer_id)):
            if uid and uid not in users:
                raise NotFound(f"no user {uid} to be the activity's {name}")
        for p in activity.participants:
            pool = users if p.kind is ParticipantKind.USER else contacts
            if p.ref_id not in pool:
                raise NotFound(f"no {p.kind.value} {p.ref_id} to take part in the activity")
        if activity.series_id and activity.series_id not in self._table(ACTIVITIES):
            raise NotFound(f"no activity {activity.series_id} to be the series")

    def add_activity(self, activity: Activity) -> Activity:
        self.add_activities([activity])
        return activity

    def add_activities(self, activities: Sequence[Activity]) -> None:
        with self.transaction():
            table = self._table(ACTIVITIES)
            for activity in activities:
                if activity.id in table:
                    raise StoreConflict(f"an activity with id {activity.id} already exists")
                self._insert(ACTIVITIES, activity)
            for activity in activities:  # series may come after their occurrences
                self._check_activity_refs(activity)

    def get_activity(self, activity_id: str) -> Activity:
        with self._rlock:
            self._read()
            doc = self._table(ACTIVITIES).get(activity_id)
            if doc is None:
                raise NotFound(f"no activity {activity_id}")
            return Activity.from_dict(_doc(activity_id, doc))

    def get_activities(self, activity_ids: Sequence[str]) -> list[Activity]:
        with self._rlock:
            self._read()
            table = self._table(ACTIVITIES)
            docs = [(aid, table[aid]) for aid in activity_ids if aid in table]
        return [Activity.from_dict(_doc(aid, doc)) for aid, doc in docs]

    def activity_ids(self) -> set[str]:
        with self._rlock:
            self._read()
            return set(self._table(ACTIVITIES))

    def activity_ids_by_uid(self, uids: set[str]) -> dict[str, str]:
        if not uids:
            return {}
        with self._rlock:
            self._read()
            return {doc["ical_uid"]: aid for aid, doc in self._table(ACTIVITIES).items()
                    if doc.get("ical_uid") in uids}

    def update_activity(self, activity: Activity, *, touch: bool = True) -> Activity:
        with self.transaction():
            if activity.id not in self._table(ACTIVITIES):
                raise NotFound(f"no activity {activity.id}")
            self._check_activity_refs(activity)
            if touch:
                activity = activity.evolve(modified=utcnow())
            self._replace(ACTIVITIES, activity)
        return activity

    def delete_activity(self, activity_id: str) -> None:
        with self.transaction():
            table = self._table(ACTIVITIES)
            if activity_id not in table:
                raise NotFound(f"no activity {activity_id}")
            occurrences = [aid for aid, d in table.items() if d.get("series_id") == activity_id]
            if occurrences:
                self._update_fields(ACTIVITIES, {"series_id": ""}, occurrences)
            self._remove(ACTIVITIES, [activity_id])

    def find_activities(self, query: ActivityQuery) -> list[Activity]:
        if query.sort not in ACTIVITY_SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(ACTIVITY_SORTS)}", query.sort)
        for name in ("start_from", "start_to"):
            bound = getattr(query, name)
            if isinstance(bound, datetime):
                check_aware(name, bound)  # a naive bound cannot be compared with a start
        with self._rlock:
            self._read()
            items = list(self._table(ACTIVITIES).items())
        words = fold(query.text).split()
        since = query.modified_since
        if since is not None:
            check_aware("modified_since", since)
        out: list[Activity] = []
        for aid, doc in items:
            if since is not None and datetime.fromisoformat(doc["modified"]) < since:
                continue
            if query.show_in_calendar is not None and \
                    bool(doc.get("show_in_calendar")) != query.show_in_calendar:
                continue
            if query.type is not None and doc.get("type") != query.type.value:
                continue
            if query.user_id is not None and not (
                    doc.get("organizer_id") == query.user_id or any(
                        p["kind"] == "user" and p["ref_id"] == query.user_id
                        for p in doc.get("participants", ()))):
                continue
            if words:
                hay = fold(" ".join((doc.get("title", ""), doc.get("location", ""),
                                     doc.get("notes", ""))))
                if not all(w in hay for w in words):
                    continue
            if (query.start_from is not None or query.start_to is not None) and \
                    not _in_range(doc, query.start_from, query.start_to):
                continue
            out.append(Activity.from_dict(_doc(aid, doc)))
        out.sort(key=_ACTIVITY_KEYS[query.sort], reverse=query.descending)
        end = None if query.limit is None else query.offset + query.limit
        return out[query.offset:end]

    # -- accounts and settings --------------------------------------------------------------------

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
            return Account.from_dict(_doc(account_id, doc))

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
            return [Account.from_dict(_doc(aid, d)) for aid, d in self._table(ACCOUNTS).items()
                    if user_id is None or d["user_id"] == user_id]

    def get_sync_settings(self, user_id: str) -> SyncSettings:
        with self._rlock:
            self._read()
            doc = self._table(SETTINGS).get(user_id)
        return SyncSettings.from_dict(doc) if doc else SyncSettings(user_id=user_id)

    def save_sync_settings(self, settings: SyncSettings) -> None:
        with self.transaction():
            if settings.user_id not in self._table(USERS):
                raise NotFound(f"no user {settings.user_id}")
            if settings.contacts_tag_id:
                tag = self._table(TAGS).get(settings.contacts_tag_id)
                if tag is None:
                    raise NotFound(f"no tag {settings.contacts_tag_id}")
                if tag["kind"] != TagKind.PRIVATE.value or tag.get("owner_id") != settings.user_id:
                    raise ValidationError(
                        "contacts_tag_id", f"the sync tag must be a private tag of the user; "
                        f"{tag['name']!r} is a {tag['kind']} tag"
                        + ("" if tag["kind"] != "private" else " of another user"))
            self._upsert(SETTINGS, settings.user_id, settings.to_dict())

    # -- sync state -------------------------------------------------------------------------------

    def get_sync_state(self, user_id: str, kind: SyncKind) -> dict[str, Any]:
        with self._rlock:
            self._read()
            return dict(self._table(STATE).get(f"{user_id}:{kind.value}", {}))

    def set_sync_state(self, user_id: str, kind: SyncKind, state: dict[str, Any]) -> None:
        with self.transaction():
            doc_id = f"{user_id}:{kind.value}"
            self._table(STATE).pop(doc_id, None)
            self._put_docs(STATE, [(doc_id, dict(state))])

    def _link_index(self) -> dict[tuple[str, str, str], str]:
        if self._remote_links is None:
            self._remote_links = {(d["user_id"], d["kind"], d["remote_id"]): lid
                                  for lid, d in self._table(LINKS).items()}
        return self._remote_links

    def put_link(self, link: SyncLink) -> None:
        with self.transaction():
            doc_id = f"{link.user_id}:{link.kind.value}:{link.local_id}"
            index = self._link_index()
            old = self._table(LINKS).get(doc_id)
            if old is not None:
                index.pop((old["user_id"], old["kind"], old["remote_id"]), None)
            other = index.get((link.user_id, link.kind.value, link.remote_id))
            if other is not None and other != doc_id:
                raise StoreConflict(f"the remote record {link.remote_id} is already linked")
            self._upsert(LINKS, doc_id, link.to_dict())
            index[(link.user_id, link.kind.value, link.remote_id)] = doc_id

    def get_link(self, user_id: str, kind: SyncKind, local_id: str) -> SyncLink | None:
        with self._rlock:
            self._read()
            doc = self._table(LINKS).get(f"{user_id}:{kind.value}:{local_id}")
            return SyncLink.from_dict(doc) if doc else None

    def link_by_remote(self, user_id: str, kind: SyncKind, remote_id: str) -> SyncLink | None:
        with self._rlock:
            self._read()
            doc_id = self._link_index().get((user_id, kind.value, remote_id))
            return SyncLink.from_dict(self._table(LINKS)[doc_id]) if doc_id else None

    def delete_link(self, user_id: str, kind: SyncKind, local_id: str) -> None:
        with self.transaction():
            doc_id = f"{user_id}:{kind.value}:{local_id}"
            doc = self._table(LINKS).get(doc_id)
            if doc is None:
                return
            self._link_index().pop((doc["user_id"], doc["kind"], doc["remote_id"]), None)
            self._remove(LINKS, [doc_id])

    def list_links(self, user_id: str, kind: SyncKind) -> list[SyncLink]:
        with self._rlock:
            self._read()
            return [SyncLink.from_dict(d) for d in self._table(LINKS).values()
                    if d["user_id"] == user_id and d["kind"] == kind.value]

    def link_index(self, user_id: str, kind: SyncKind) -> dict[str, tuple[str, str]]:
        with self._rlock:
            self._read()
            return {d["local_id"]: (d["remote_id"], d.get("etag", ""))
                    for d in self._table(LINKS).values()
                    if d["user_id"] == user_id and d["kind"] == kind.value}

    def get_links(self, user_id: str, kind: SyncKind, local_ids: Iterable[str]
                  ) -> dict[str, SyncLink]:
        with self._rlock:
            self._read()
            table = self._table(LINKS)
            found = {}
            for local_id in local_ids:
                doc = table.get(f"{user_id}:{kind.value}:{local_id}")
                if doc is not None:
                    found[local_id] = SyncLink.from_dict(doc)
            return found

    def add_run(self, run: SyncRun) -> None:
        if len(run.conflicts) > JOURNAL_MAX_CONFLICTS:
            dropped = len(run.conflicts) - JOURNAL_MAX_CONFLICTS
            run = run.evolve(conflicts=run.conflicts[-JOURNAL_MAX_CONFLICTS:],
                             errors=[*run.errors, f"{dropped} older conflicts of this run were "
                                     "not kept in the journal"])
        with self.transaction():
            table = self._table(JOURNAL)
            table.pop(run.id, None)
            self._put_docs(JOURNAL, [(run.id, _stored(run))])
            mine = sorted((_instant(d["started"]), rid) for rid, d in table.items()
                          if d["user_id"] == run.user_id)
            excess = [rid for _, rid in mine[:max(0, len(mine) - JOURNAL_MAX_RUNS)]]
            if excess:
                self._remove(JOURNAL, excess)

    def list_runs(self, user_id: str, kind: SyncKind | None = None,
                  limit: int | None = None) -> list[SyncRun]:
        with self._rlock:
            self._read()
            runs = [SyncRun.from_dict(_doc(rid, d)) for rid, d in self._table(JOURNAL).items()
                    if d["user_id"] == user_id and (kind is None or d["kind"] == kind.value)]
        runs.sort(key=lambda r: r.started, reverse=True)
        return runs[:limit] if limit is not None else runs

    # -- whole database ---------------------------------------------------------------------------

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
            for i, row in enumerate(rows, 1):
                where = f"{name}[{i}]"
                try:
                    if name in entity:
                        record = entity[name].from_dict(row)
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
            self._index = None
            self._remote_links = None
        return {name: len(parsed_rows) for name, parsed_rows in parsed.items()}

    def _check_unique(self, users: list[tuple[str, dict[str, Any]]],
                      tags: list[tuple[str, dict[str, Any]]]) -> None:
        """New users' emails and new tags' names (per scope) are not taken (raises StoreConflict)."""
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

    # -- low-level writes -------------------------------------------------------------------------

    def _insert(self, table: str, record: Any) -> None:
        self._put_docs(table, [(record.id, _stored(record))])

    def _put_docs(self, table: str, docs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self._t(table).insert_multiple(Document(doc, doc_id=cast(Any, doc_id))
                                       for doc_id, doc in docs)

    def _upsert(self, table: str, doc_id: str, doc: dict[str, Any]) -> None:
        self._t(table).upsert(Document(doc, doc_id=cast(Any, doc_id)))

    def _update_fields(self, table: str, changes: dict[str, Any], ids: Sequence[str]) -> None:
        self._t(table).update(changes, doc_ids=cast(Any, list(ids)))

    def _remove(self, table: str, ids: Sequence[str]) -> None:
        self._t(table).remove(doc_ids=cast(Any, list(ids)))

    def _replace(self, table: str, record: Any) -> None:
        stored = _stored(record)

        def updater(docs: dict[str, Any]) -> None:
            docs[record.id] = stored

        self._t(table)._update_table(cast(Any, updater))


def _in_range(doc: Mapping[str, Any], lo: date | datetime | None, hi: date | datetime | None
              ) -> bool:
    if doc.get("all_day"):
        day = date.fromisoformat(doc["start_date"]) if doc.get("start_date") else None
        if day is None:
            return False
        lo_d = lo.date() if isinstance(lo, datetime) else lo
        hi_d = hi.date() if isinstance(hi, datetime) else hi
        return (lo_d is None or day >= lo_d) and (hi_d is None or day < hi_d)
    if not doc.get("start"):
        return False
    start = datetime.fromisoformat(doc["start"])
    for bound, is_lo in ((lo, True), (hi, False)):
        if bound is None:
            continue
        if isinstance(bound, datetime):
            ok = start >= bound if is_lo else start < bound
        else:
            ok = start.date() >= bound if is_lo else start.date() < bound
        if not ok:
            return False
    return True


_FAR = datetime.max.replace(tzinfo=UTC)


def _activity_start(a: Activity) -> tuple[datetime, str]:
    return (a.sort_start() or _FAR, a.id)


_ACTIVITY_KEYS: dict[str, Callable[[Activity], Any]] = {
    "start": _activity_start,
    "title": lambda a: (fold(a.title), a.id),
    "type": lambda a: (a.type.value, _activity_start(a)),
    "status": lambda a: (a.status.value, _activity_start(a)),
    "priority": lambda a: (("high", "medium", "low").index(a.priority.value), _activity_start(a)),
    "created": lambda a: (a.created, a.id),
    "modified": lambda a: (a.modified, a.id),
}


def open_store(data_dir: str | os.PathLike[str]) -> TinyDBRepository:
    """Open (creating if needed) the store in ``data_dir``."""
    return TinyDBRepository(data_dir)


__all__ = ["TinyDBRepository", "open_store", "DB_FILE"]
