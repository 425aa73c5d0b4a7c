"""The TinyDB repository's foundation: the file, the locks, transactions and low-level writes.

One JSON base file per data directory (``crmtui.json``) and its journal (``crmtui.json.journal``),
written through :class:`AtomicJSONStorage`: a commit appends the documents it changed to the
journal. Documents are keyed by crmtui's own ids (TinyDB document ids are those strings), so the
file reads naturally and the ids survive export and import.

Concurrency: a file lock (``crmtui.json.lock``) is held for every commit. A write first takes the
lock, catches up with what other processes committed since it last read (their journal records,
or the whole database after a compaction), applies the change and commits, so no process loses
another's update. Reads catch up the same way (:meth:`TinyDBBase._catch_up`). A lock
file that cannot be used (a directory in its place, no permission) is reported in words: opening
the database for reading goes on without it, a write is refused.

A record that does not read back as its model (a field added or damaged by hand) is reported with
its id, its table and the file (:meth:`TinyDBBase._record`), never as a bare validation error.
Within a process an RLock makes the repository safe for the UI thread and sync workers together.

:class:`TinyDBBase` holds this state; the parts of the repository (contact search, activities,
sync tables, the whole-database dump) build on it, and :class:`~crmtui.store.tinydb_store.
TinyDBRepository` brings them together.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar, cast

from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.table import Document, Table

from crmtui.model import Activity, Contact, TagKind, User, trusted_data
from crmtui.store.migrations import SchemaError, migrate
from crmtui.store.nesting import NestedTransactions
from crmtui.store.repository import NotFound, Repository, StoreError, check_activity_refs
from crmtui.store.storage import AtomicJSONStorage, StorageError
from crmtui.store.tinydb_index import _ContactIndex

DB_FILE = "crmtui.json"
LOCK_TIMEOUT = 60.0

logger = logging.getLogger(__name__)
R = TypeVar("R")
# What a stored record that the model refuses raises while it is read back.
_DAMAGED = (ValueError, TypeError, KeyError, AttributeError)

USERS, TAGS, CONTACTS, ACTIVITIES = "users", "tags", "contacts", "activities"
ACCOUNTS, SETTINGS, STATE, LINKS, JOURNAL = ("accounts", "sync_settings", "sync_state",
                                             "sync_links", "journal")
TABLES = (USERS, TAGS, CONTACTS, ACTIVITIES, ACCOUNTS, SETTINGS, STATE, LINKS, JOURNAL)


class _Table(Table):
    """A TinyDB table keyed by string ids.

    Our document ids are crmtui's string ids, so the int conversion TinyDB does around every
    update (rebuilding the whole table twice, ~10 ms at 100,000 contacts) has nothing to do:
    updates work on the stored dict in place. The storage's tables note which ids are set or
    removed; an update changes documents in place, so it tells the storage which ones (a commit
    writes only those).
    """

    document_id_class = str  # type: ignore[assignment]

    def _update_table(self, updater: Callable[[dict[Any, Any]], None]) -> None:
        updater(cast(AtomicJSONStorage, self._storage).read().setdefault(self.name, {}))
        self.clear_cache()

    def update(self, fields: Any, cond: Any = None, doc_ids: Any = None) -> list[Any]:
        storage = cast(AtomicJSONStorage, self._storage)
        if doc_ids is not None:
            doc_ids = list(doc_ids)
            storage.mark_dirty(self.name, doc_ids)
        else:
            storage.mark_dirty()  # which documents a query updates is not known in advance
        return super().update(fields, cond, doc_ids)

    def update_multiple(self, updates: Any) -> list[Any]:
        cast(AtomicJSONStorage, self._storage).mark_dirty()
        return super().update_multiple(updates)


class _DB(TinyDB):
    table_class = _Table


def _doc(doc_id: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    return {**doc, "id": doc_id}


def _stored_contact(cid: str, doc: Mapping[str, Any]) -> Contact:
    """A stored contact (validated when it was written, so emails are not parsed again)."""
    with trusted_data():
        return Contact.from_dict(_doc(cid, doc))


def _stored_user(uid: str, doc: Mapping[str, Any]) -> User:
    with trusted_data():
        return User.from_dict(_doc(uid, doc))


def lock_problem(lock: str, exc: OSError) -> str:
    """Why the lock file ``lock`` cannot be used (``exc``), in words, and what to do."""
    if isinstance(exc, IsADirectoryError):
        why = "a directory is in its place; remove that directory"
    elif isinstance(exc, PermissionError):
        why = ("permission denied; make it (and its directory) writable by you, or remove "
               "it (crmtui creates it again)")
    elif exc.errno == errno.ELOOP:
        why = "it is a symbolic link, which crmtui does not follow; remove it"
    elif isinstance(exc, FileNotFoundError):
        why = "its directory or the target of its link does not exist; remove it"
    else:
        why = f"{exc.strerror or exc}; remove it (crmtui creates it again)"
    return f"cannot use the lock file {lock}: {why}"


def _stored(record: Any) -> dict[str, Any]:
    data: dict[str, Any] = record.to_dict()
    data.pop("id", None)
    return data


class TinyDBBase(NestedTransactions, Repository):
    """The state every part of the TinyDB repository shares, and its transactions."""

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
        locked = self._acquire(reading=True)
        try:
            if locked:
                self._remove_stale_temporaries()
            self._load()
        finally:
            if locked:
                self._flock.release()

    # -- lifecycle and transactions ---------------------------------------------------------------

    def _acquire(self, *, reading: bool = False) -> bool:
        """Take the file lock. A lock file that cannot be used refuses a write (StoreError with
        the reason); a read goes on without the lock (False), with a warning in the log."""
        try:
            self._flock.acquire()
        except Timeout:
            raise StoreError(f"the database {self.path} is locked by another crmtui process; "
                             "try again when it has finished") from None
        except OSError as exc:
            problem = lock_problem(self._flock.lock_file, exc)
            if reading:
                logger.warning("%s; reading the database without it", problem)
                return False
            raise StoreError(f"{problem}. Nothing was written") from exc
        return True

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
            data.setdefault(name, {})  # an empty table: nothing to write
        try:
            data, changed = migrate(data)
        except SchemaError as exc:
            raise SchemaError(f"{self.path}: {exc}") from None
        if changed:
            self._storage.write(data)  # the next commit rewrites the whole base
            if self._flock.is_locked:
                # The migrated file is committed only under the lock; without it (a lock file
                # that cannot be used) the migration stays in memory, and the next write
                # commits it.
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

    def _guard(self) -> AbstractContextManager[object]:
        return self._rlock

    def _writes_so_far(self) -> int:
        return self._storage.writes

    def _begin(self) -> None:
        self._flock_enter()

    def _catch_up(self) -> bool:
        """Pick up other processes' commits: only their journal records, or the whole database
        after a compaction. Whether anything changed."""
        if not self._storage.changed_on_disk():
            return False
        changes = self._storage.catch_up()
        if changes is None:
            self._load()
            return True
        if not changes:
            return False
        contacts = changes.get(CONTACTS)
        if contacts and self._index is not None:
            table = self._table(CONTACTS)
            for cid in contacts:
                doc = table.get(cid)
                if doc is None:
                    self._index.drop(cid)
                else:
                    self._index.put(cid, doc)
        if LINKS in changes:
            self._remote_links = None
        self._db.clear_cache()
        self._generation += 1
        return True

    def _flock_enter(self) -> None:
        self._acquire()
        try:
            self._catch_up()
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
            return self._depth == 0 and self._catch_up()

    @property
    def generation(self) -> int:
        self.refresh()
        return self._generation

    def _read(self) -> None:
        """Before a read outside a transaction: pick up other processes' commits."""
        if self._depth == 0:
            self._catch_up()

    def _record(self, cls: Callable[..., R], table: str, doc_id: str, doc: Mapping[str, Any],
                *, keyed: bool = True, trusted: bool = False) -> R:
        """The stored document ``doc_id`` of ``table`` as ``cls`` (``cls.from_dict``); ``keyed``:
        the document's id is its key, not one of its fields; ``trusted``: see
        :func:`~crmtui.model.trusted_data`. A document the model refuses (changed by hand)
        raises StorageError naming the record, its table and the file."""
        from_dict = cast(Any, cls).from_dict
        try:
            if trusted:
                with trusted_data():
                    return cast(R, from_dict(_doc(doc_id, doc) if keyed else doc))
            return cast(R, from_dict(_doc(doc_id, doc) if keyed else doc))
        except _DAMAGED as exc:
            raise StorageError(
                f"the record {doc_id} of the table {table!r} in {self.path} cannot be read "
                f"({exc}): it was changed outside crmtui; correct or remove that record in the "
                "file, or restore the file from a backup") from exc

    def _stored_contact(self, cid: str, doc: Mapping[str, Any]) -> Contact:
        return self._record(Contact, CONTACTS, cid, doc, trusted=True)

    def _stored_user(self, uid: str, doc: Mapping[str, Any]) -> User:
        return self._record(User, USERS, uid, doc, trusted=True)

    # -- checks shared by the parts ---------------------------------------------------------------

    def _visible_tags(self, viewer_id: str | None) -> dict[str, dict[str, Any]]:
        return {tid: doc for tid, doc in self._table(TAGS).items()
                if doc["kind"] != TagKind.PRIVATE.value or doc.get("owner_id") == viewer_id}

    def _check_contact_refs(self, contact: Contact, viewer_id: str | None) -> None:
        tags = self._table(TAGS)
        for tid in contact.tags:
            doc = tags.get(tid)
            if doc is None:
                raise NotFound(f"no tag {tid}")
        if contact.owner_id and contact.owner_id not in self._table(USERS):
            raise NotFound(f"no user {contact.owner_id} to own the contact")

    def _check_activity_refs(self, activity: Activity) -> None:
        check_activity_refs(activity, self._table(USERS), self._table(CONTACTS),
                            self._table(ACTIVITIES))

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
