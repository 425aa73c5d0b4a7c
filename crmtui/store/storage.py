"""Crash-safe JSON storage for TinyDB: a base file and an append-only journal beside it.

The database lives in two files: the base (``crmtui.json``) and its journal
(``crmtui.json.journal``). TinyDB reads and writes through this storage, which keeps the data in
memory and writes only when the repository commits (:meth:`flush`).

A commit appends one record to the journal, holding the documents the commit changed and the ids
of those it deleted, and fsyncs it: a commit costs what it changes, not the size of the
database. When the journal grows past a share of the base (:data:`COMPACT_SHARE`), the commit
compacts instead: it writes the whole database to a temporary file in the same directory, fsyncs
it, renames it over the base, fsyncs the directory and removes the journal.

Crash safety, killed at any instant:

- A record is one line, ``{"crc":C,"size":S,"commit":{...}}``, whose commit is S bytes long with
  CRC-32 C. A half-written last record (a commit killed while appending) fails those checks and
  is dropped when the journal is read, and cut off by the next commit before it appends.
- The base names its generation and a random id in its ``_storage`` table, and the journal's
  first line names the base it continues. A compaction that was killed after renaming the new
  base but before removing the journal leaves a journal of the previous base: it is ignored (the
  new base already holds its commits) and replaced by the next commit.
- A new journal is written whole to a temporary file and renamed into place.

So the files always hold the previous commit or the new one, never a torn one.

Other processes: :meth:`catch_up` reads only the journal's records added since the last read
(it keeps the journal's inode and the offset of the end of its last valid record); a new base
(a compaction by another process) changes the base's inode, and the whole database is read again.

orjson does the (de)serialization: at 100,000 contacts it is several times faster than the standard
library's json, which decides whether opening the database fits in the time a user waits for it.

The base is plain JSON laid out in lines: ``{``, then per table a line ``"name":{``, its documents
a thousand to a line, and a closing ``}``. Writing and reading it a line at a time keeps a second
copy of the whole database (the encoded text and the parser's own tree, 150 MB at 100,000
contacts) out of memory. A file laid out otherwise (written by hand, or by an older crmtui) is
parsed whole; a base without a ``_storage`` table (written by an older crmtui) gets one, and a
journal, from its first commit on.

A large table (:data:`LAZY_MIN_DOCS`) is written sorted by id, and the base's ``_storage`` table
lists the first id of each of its lines. Opening keeps such a table's lines unparsed
(:class:`_LazyTable`): asking for one document parses its line only (``crmtui contacts edit ID``
at 100,000 contacts parses one line of a hundred), and anything that needs the whole table
(iterating, counting) parses the rest then.
"""

from __future__ import annotations

import gc
import os
import re
import secrets
import tempfile
import threading
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, cast

import orjson
from tinydb.storages import Storage


class StorageError(RuntimeError):
    """The database file cannot be read or written."""


Signature = tuple[int, int, int, int]
FREEZE_SIZE = 4 << 20  # bytes: a database file this large has its data frozen out of the gc
LINE_DOCS = 1000  # documents per line of the file
# A table this large is written sorted by id, with the first id of each line listed in the base's
# _storage table; opening reads its lines only when a document of theirs is asked for (a command
# that edits one contact parses one line of them).
LAZY_MIN_DOCS = 10_000
FREEZE_DOCS = 10_000  # a table this large, read whole, is frozen out of the gc (see _parse)
JOURNAL_SUFFIX = ".journal"
JOURNAL_FORMAT = 1
STORAGE_TABLE = "_storage"  # the base's own table: which base this is (never seen by TinyDB)
STORAGE_DOC = "base"
# The journal is compacted into the base when it grows past this share of the base's size (and
# past COMPACT_MIN bytes): opening then reads at most a quarter more than the base.
COMPACT_SHARE = 0.25
COMPACT_MIN = 256 << 10
# What to do about a database file that is there but cannot be used.
FIX = ("restore it from a backup, or move it away to start a new, empty database "
       "(crmtui leaves it as it is)")

_RECORD = re.compile(rb'\{"crc":(\d{1,10}),"size":(\d{1,12}),"commit":')
_NO_JOURNAL: tuple[int, int] | None = None


def unreadable(path: Path, exc: OSError) -> str:
    """Why the file ``path`` could not be opened (``exc``), in words, and what to do."""
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a directory, not the database file; move it away"
    if isinstance(exc, PermissionError):
        return (f"cannot read the database {path}: permission denied; make it readable and "
                "writable by you (its owner and mode)")
    return f"cannot read the database {path}: {exc.strerror or exc}"


def journal_path(path: str | os.PathLike[str]) -> Path:
    """The journal of the base file ``path``."""
    path = Path(path)
    return path.with_name(path.name + JOURNAL_SUFFIX)


class _Table(dict[str, Any]):
    """A table's documents by id, telling the storage which ids were set or removed.

    Reads are the plain dict's. Changes made inside a stored document (not through the table)
    are told with :meth:`AtomicJSONStorage.mark_dirty`."""

    __slots__ = ("_owner", "_name", "_lazy")

    def __init__(self, owner: AtomicJSONStorage, name: str, docs: Mapping[str, Any] = {}
                 ) -> None:
        dict.__init__(self, docs)
        self._owner = owner
        self._name = name
        self._lazy: _Lines | None = None

    def _quiet_set(self, key: str, value: Any) -> None:
        """Set without noting a write (applying a journal record)."""
        dict.__setitem__(self, key, value)

    def _quiet_del(self, key: str) -> None:
        dict.pop(self, key, None)

    def __setitem__(self, key: str, value: Any) -> None:
        self._owner._touch(self._name, key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._owner._touch(self._name, key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._owner._touch(self._name, key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        key, value = dict.popitem(self)
        self._owner._touch(self._name, key)
        return key, value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> _Table:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        for key in self:
            self._owner._touch(self._name, key)
        dict.clear(self)


class _Lines:
    """A large table's documents as the base holds them: lines of LINE_DOCS documents sorted by
    id, parsed when a document of theirs is first asked for."""

    __slots__ = ("firsts", "lines", "parsed", "deleted", "where")

    def __init__(self, firsts: list[str], lines: list[bytes], where: Path) -> None:
        self.firsts = firsts  # the first id of each line
        self.lines = lines
        self.parsed: dict[int, dict[str, Any]] = {}
        self.deleted: set[str] = set()  # ids deleted since the base was read
        self.where = where

    def line(self, i: int) -> dict[str, Any]:
        docs = self.parsed.get(i)
        if docs is None:
            raw = self.lines[i]
            try:
                docs = orjson.loads(b"{" + raw[1 if i else 0:] + b"}")
            except orjson.JSONDecodeError as exc:
                raise StorageError(f"the database {self.where} is not valid JSON ({exc}): it "
                                   f"was damaged outside crmtui; {FIX}") from exc
            problem = _not_a_database({"table": docs})
            if problem:
                raise StorageError(f"{self.where} does not hold a crmtui database ({problem}); "
                                   f"{FIX}")
            self.parsed[i] = docs
            self.lines[i] = b""  # parsed: the text is not needed any more
        return docs

    def find(self, key: str) -> Any:
        """The base's document ``key``, or None."""
        if key in self.deleted or not isinstance(key, str):
            return None
        i = bisect_right(self.firsts, key) - 1
        return self.line(i).get(key) if i >= 0 else None

    def into(self, table: dict[str, Any]) -> None:
        """Put every document of the base that was not deleted since into ``table``."""
        for i in range(len(self.lines)):
            table.update(self.line(i))
        for key in self.deleted:
            table.pop(key, None)


_MISSING = object()
_READING_WHOLE = threading.Lock()


class _LazyTable(_Table):
    """A large table read from the base a line at a time, as its documents are asked for by id.

    Documents set since are held in the dict itself. Anything else than asking for, setting or
    removing one document by id (iterating, counting, comparing) first reads every line, and the
    table becomes a plain :class:`_Table`."""

    __slots__ = ()

    def _get(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        lazy = self._lazy
        if lazy is None:
            return _MISSING
        doc = lazy.find(key)
        return _MISSING if doc is None else doc

    def _materialize(self) -> None:
        with _READING_WHOLE:  # (the repository's lock serializes this already)
            lazy = self._lazy
            if lazy is None:
                return
            collecting = gc.isenabled()
            gc.disable()  # see _parse
            try:
                whole: dict[str, Any] = {}
                lazy.into(whole)  # a damaged line raises here, and the table stays as it was
                whole.update(dict.items(self))  # the documents set since
                # Only adds what is missing: a reader meanwhile never misses a document.
                dict.update(self, whole)
                if len(whole) >= FREEZE_DOCS:
                    gc.freeze()
            finally:
                if collecting:
                    gc.enable()
            self._lazy = None
            self.__class__ = cast(Any, _Table)

    def __getitem__(self, key: str) -> Any:
        doc = self._get(key)
        if doc is _MISSING:
            raise KeyError(key)
        return doc

    def get(self, key: str, default: Any = None) -> Any:
        doc = self._get(key)
        return default if doc is _MISSING else doc

    def __contains__(self, key: object) -> bool:
        return self._get(cast(str, key)) is not _MISSING

    def _quiet_set(self, key: str, value: Any) -> None:
        if self._lazy is not None:
            self._lazy.deleted.discard(key)
        dict.__setitem__(self, key, value)

    def _quiet_del(self, key: str) -> None:
        dict.pop(self, key, None)
        if self._lazy is not None:
            self._lazy.deleted.add(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._owner._touch(self._name, key)
        self._quiet_set(key, value)

    def __delitem__(self, key: str) -> None:
        if self._get(key) is _MISSING:
            raise KeyError(key)
        self._owner._touch(self._name, key)
        self._quiet_del(key)

    def pop(self, key: str, *default: Any) -> Any:
        doc = self._get(key)
        if doc is _MISSING:
            if default:
                return default[0]
            raise KeyError(key)
        self._owner._touch(self._name, key)
        self._quiet_del(key)
        return doc

    def setdefault(self, key: str, default: Any = None) -> Any:
        doc = self._get(key)
        if doc is _MISSING:
            self[key] = doc = default
        return doc


def _whole_table(name: str) -> Any:
    def method(self: _LazyTable, *args: Any, **kwargs: Any) -> Any:
        self._materialize()
        return getattr(self, name)(*args, **kwargs)
    method.__name__ = name
    return method


for _name in ("__iter__", "__len__", "__reversed__", "__eq__", "__ne__", "__repr__", "__or__",
              "__ror__", "__ior__", "keys", "values", "items", "copy", "popitem", "update",
              "clear"):
    setattr(_LazyTable, _name, _whole_table(_name))


class _Tables(dict[str, Any]):
    """The tables by name. Adding an empty table is nothing to commit; replacing or removing a
    table makes the next commit rewrite the whole base."""

    __slots__ = ("_owner",)

    def __init__(self, owner: AtomicJSONStorage, tables: Mapping[str, Mapping[str, Any]] = {}
                 ) -> None:
        dict.__init__(self, {name: docs if isinstance(docs, _Table) and docs._owner is owner
                             else _Table(owner, name, docs) for name, docs in tables.items()})
        self._owner = owner

    def __setitem__(self, name: str, docs: Mapping[str, Any]) -> None:
        if docs or name in self:
            self._owner.mark_dirty()
        dict.__setitem__(self, name, _Table(self._owner, name, docs))

    def __delitem__(self, name: str) -> None:
        dict.__delitem__(self, name)
        self._owner.mark_dirty()

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            self._owner.mark_dirty()
        return dict.pop(self, name, *default)

    def popitem(self) -> tuple[str, Any]:
        self._owner.mark_dirty()
        return dict.popitem(self)

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default or {}
        return dict.__getitem__(self, name)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, docs in dict(*args, **kwargs).items():
            self[name] = docs

    def __ior__(self, other: Any) -> _Tables:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        self._owner.mark_dirty()
        dict.clear(self)


Changes = dict[str, set[str]]


class _Reload(Exception):
    """The journal is not the one we were reading: read the whole database again."""


class AtomicJSONStorage(Storage):
    """A TinyDB storage holding the data in memory and committing it to ``path`` (the base) and
    its journal (see the module's docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.journal = journal_path(self.path)
        self._data = _Tables(self)
        self._base_sig: Signature | None = None
        self._base_id = ""  # "" for no base, or a base without a _storage table
        self._base_generation = 0
        self._journal_ino: int | None = None  # the journal continuing our base, if there is one
        self._journal_end = 0  # where its last valid record ends
        self._journal_seen: tuple[int, int] | None = None  # its (inode, size) when last read
        # the ids written since the last commit, per table, in the order first written (a
        # commit's record lists them in that order, so that a replay adds them in it)
        self._touched: dict[str, dict[str, None]] = {}
        self._whole = False  # the next commit rewrites the whole base
        self.dirty = False
        self.writes = 0  # counts writes, so a transaction can tell whether a step wrote
        self.compactions = 0  # how many commits of this process rewrote the base

    # TinyDB's storage interface -------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]]:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Replace the whole data (the next commit rewrites the base)."""
        if data is not self._data:
            self._data = _Tables(self, data)
        self.mark_dirty()

    def mark_dirty(self, table: str | None = None, ids: Iterable[str] = ()) -> None:
        """Called before data is changed in place: the documents ``ids`` of ``table``; with no
        table, anything (the next commit then rewrites the whole base)."""
        if table is None:
            self._whole = True
        else:
            self._touched.setdefault(table, {}).update(dict.fromkeys(ids))
        self.dirty = True
        self.writes += 1

    def _touch(self, table: str, key: str) -> None:
        touched = self._touched.get(table)
        if touched is None:
            touched = self._touched[table] = {}
        touched[key] = None
        self.dirty = True
        self.writes += 1

    def close(self) -> None:
        pass

    # Our own ---------------------------------------------------------------------------------

    def disk_signature(self) -> Signature | None:
        """Identity of the base on disk: a compaction (by us or another process) changes it."""
        return _signature(self.path)

    def _journal_signature(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.journal)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size)

    def changed_on_disk(self) -> bool:
        """Whether another process committed since we last read or wrote."""
        return (self.disk_signature() != self._base_sig
                or self._journal_signature() != self._journal_seen)

    def load(self) -> dict[str, dict[str, Any]]:
        """(Re)read the base and its journal; a missing base is an empty database. Discards
        unflushed writes.

        A file that is there but cannot be read, or does not hold a crmtui database (empty,
        not JSON, not tables of documents), is refused with :class:`StorageError`: it is never
        taken for a new database, so nothing is written over it. A journal is damaged only if a
        bad record is followed by good ones (a torn last record is what a crash leaves)."""
        for _attempt in range(10):
            data, signature, meta = self._load_base()
            self._adopt_base(signature, meta)
            self._journal_ino, self._journal_end, self._journal_seen = None, 0, None
            self._read_journal(data)
            if signature is None or _signature(self.path) == signature:
                break
            # Another process compacted while we read (its journal may be gone): read again.
        self._data = _Tables(self, data)
        self._touched, self._whole, self.dirty = {}, False, False
        return self._data

    def _load_base(self) -> tuple[dict[str, dict[str, Any]], Signature | None, Any]:
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                data = _parse(fh, large=st.st_size > FREEZE_SIZE, lazy=self._lazy_table)
        except FileNotFoundError:
            return {}, None, None
        except OSError as exc:
            raise StorageError(unreadable(self.path, exc)) from exc
        except orjson.JSONDecodeError as exc:
            raise StorageError(f"the database {self.path} is not valid JSON ({exc}): it was not "
                               f"written by crmtui or was damaged outside it; {FIX}") from exc
        if data is None:
            raise StorageError(f"the database {self.path} is empty (it was emptied or cut short "
                               f"outside crmtui); {FIX}")
        problem = _not_a_database(data)
        if problem:
            raise StorageError(f"{self.path} does not hold a crmtui database ({problem}); {FIX}")
        meta = data.pop(STORAGE_TABLE, {}).get(STORAGE_DOC)
        return data, (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns), meta

    def _lazy_table(self, name: str, firsts: list[str], lines: list[bytes]) -> _LazyTable:
        table = _LazyTable(self, name)
        table._lazy = _Lines(firsts, lines, self.path)
        return table

    def _adopt_base(self, signature: Signature | None, meta: Any) -> None:
        self._base_sig = signature
        self._base_id, self._base_generation = "", 0
        if isinstance(meta, dict) and isinstance(meta.get("id"), str):
            self._base_id = meta["id"]
            generation = meta.get("generation")
            self._base_generation = generation if isinstance(generation, int) else 0

    def _read_journal(self, data: dict[str, dict[str, Any]]) -> Changes:
        """Apply the journal's records after the last one read to ``data``; the ids changed.

        With no journal known yet, a journal that continues our base is read from its start;
        one that continues another base (left by a compaction killed before removing it) is
        ignored."""
        changes: Changes = {}
        try:
            fh = open(self.journal, "rb")
        except FileNotFoundError:
            self._journal_seen = None
            return changes
        except OSError as exc:
            raise StorageError(unreadable(self.journal, exc)) from exc
        with fh:
            st = os.fstat(fh.fileno())
            if self._journal_ino is None:
                header = fh.readline()
                if not self._continues_base(header):
                    self._journal_seen = (st.st_ino, st.st_size)
                    return changes
                start = len(header)
            elif st.st_ino != self._journal_ino:
                raise _Reload  # replaced since we looked
            else:
                start = self._journal_end
                fh.seek(start)
            raw = fh.read()
        end = start
        for commit, size in _records(raw, self.journal, start):
            _apply(data, commit, changes)
            end += size
        self._journal_ino, self._journal_end = st.st_ino, end
        self._journal_seen = (st.st_ino, max(st.st_size, start + len(raw)))
        return changes

    def _continues_base(self, header: bytes) -> bool:
        if not self._base_id or not header.endswith(b"\n"):
            return False
        try:
            head = orjson.loads(header)
        except orjson.JSONDecodeError:
            return False
        return (isinstance(head, dict) and head.get("crmtui_journal") == JOURNAL_FORMAT
                and head.get("base") == self._base_id)

    def catch_up(self) -> Changes | None:
        """Apply the commits other processes made since we last read: the ids they changed per
        table ({} when there were none); None when the base changed (a compaction), and the whole
        database must be read again (:meth:`load`). Only without unflushed writes."""
        if self.disk_signature() != self._base_sig:
            return None
        seen = self._journal_signature()
        if seen == self._journal_seen:
            return {}
        if self._journal_ino is not None and (seen is None or seen[0] != self._journal_ino
                                              or seen[1] < self._journal_end):
            return None  # our journal was removed, replaced or cut short by hand
        try:
            changes = self._read_journal(self._data)
        except _Reload:
            return None
        if self.disk_signature() != self._base_sig:
            return None  # compacted while we read
        return changes

    def flush(self) -> None:
        """Commit the writes since the last commit to disk: append them to the journal, or
        rewrite the whole base (see the module's docstring)."""
        if not self._whole and not self._touched:
            self.dirty = False
            return
        record = b""
        if not self._whole and self._base_id:
            record = self._record()
            if self._journal_end + len(record) > max(COMPACT_MIN,
                                                      COMPACT_SHARE * self._base_size()):
                record = b""
        if not record or not self._append(record):
            self._compact()
        self._touched, self._whole, self.dirty = {}, False, False

    def _base_size(self) -> int:
        return self._base_sig[2] if self._base_sig else 0

    def _record(self) -> bytes:
        tables = self._data
        commit = {}
        for name, ids in self._touched.items():
            docs = tables.get(name)
            commit[name] = {doc_id: docs.get(doc_id) if docs is not None else None
                            for doc_id in ids}
        payload = orjson.dumps(commit)
        return b'{"crc":%d,"size":%d,"commit":%b}\n' % (zlib.crc32(payload), len(payload),
                                                          payload)

    def _append(self, record: bytes) -> bool:
        """Append ``record`` to the journal (creating it); False when our journal is not the
        one on disk any more (removed or replaced by hand): the caller compacts instead."""
        if self._journal_ino is None:
            header = orjson.dumps({"crmtui_journal": JOURNAL_FORMAT, "base": self._base_id,
                                   "generation": self._base_generation}) + b"\n"
            _write_atomically(self.journal, [header, record])
            st = os.stat(self.journal)
            self._journal_ino, self._journal_end = st.st_ino, len(header) + len(record)
            self._journal_seen = (st.st_ino, self._journal_end)
            return True
        try:
            fd = os.open(self.journal, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return False
        try:
            st = os.fstat(fd)
            if st.st_ino != self._journal_ino or st.st_size < self._journal_end:
                return False
            if st.st_size > self._journal_end:
                os.ftruncate(fd, self._journal_end)  # a torn record left by a killed commit
            try:
                _write_all(fd, record, self._journal_end)
                _datasync(fd)
            except OSError:
                try:
                    os.ftruncate(fd, self._journal_end)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)
        self._journal_end += len(record)
        self._journal_seen = (self._journal_ino, self._journal_end)
        return True

    def _compact(self) -> None:
        """Write the whole database as a new base, atomically, and drop the journal."""
        generation, base_id = self._base_generation + 1, secrets.token_hex(8)
        tables: dict[str, Any] = {}
        lines: dict[str, list[str]] = {}  # a large table: the first id of each line
        for name, docs in self._data.items():
            if len(docs) >= LAZY_MIN_DOCS:
                tables[name] = items = sorted(docs.items(), key=itemgetter(0))
                lines[name] = [key for key, _ in items[::LINE_DOCS]]
            else:
                tables[name] = docs
        meta = {STORAGE_DOC: {"generation": generation, "id": base_id, "lines": lines}}
        _write_atomically(self.path, _encode({STORAGE_TABLE: meta, **tables}))
        # The old journal continues the old base: from now on it is ignored, so removing it
        # needs no care (a crash before this line leaves it behind, and it is still ignored).
        try:
            os.unlink(self.journal)
        except FileNotFoundError:
            pass
        self._base_sig = self.disk_signature()
        self._base_id, self._base_generation = base_id, generation
        self._journal_ino, self._journal_end, self._journal_seen = None, 0, None
        self.compactions += 1


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


def _records(raw: bytes, where: Path, offset: int) -> Iterator[tuple[Any, int]]:
    """The valid records at the start of ``raw`` (read from ``where`` at ``offset``): each
    record's commit and its size in bytes. Stops at the first record that is cut short or fails
    its checks, unless good records follow it (then the journal was damaged: StorageError)."""
    pos = 0
    view = memoryview(raw)
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            return  # nothing more, or a record cut short
        commit = _record_commit(raw, view, pos, end)
        if commit is None:
            if raw.find(b"\n", end + 1) >= 0:
                raise StorageError(
                    f"the journal {where} is damaged at byte {offset + pos} (a record that fails "
                    f"its checks is followed by others): it was changed outside crmtui; "
                    f"restore it and {where.with_suffix('').name} from a backup")
            return
        yield commit, end + 1 - pos
        pos = end + 1


def _record_commit(raw: bytes, view: memoryview, pos: int, end: int) -> Any:
    """The commit of the record in ``raw[pos:end]``, or None when it is not a whole record."""
    match = _RECORD.match(raw, pos, end)
    if match is None:
        return None
    start = match.end()
    stop = start + int(match[2])
    if stop + 1 != end or raw[stop] != ord("}") or zlib.crc32(view[start:stop]) != int(match[1]):
        return None
    try:
        commit = orjson.loads(view[start:stop])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(commit, dict) or not all(isinstance(docs, dict)
                                               for docs in commit.values()):
        return None
    return commit


def _apply(data: dict[str, dict[str, Any]], commit: dict[str, dict[str, Any]],
           changes: Changes) -> None:
    """Apply one journal record's commit to ``data`` (plainly, not as writes to commit)."""
    for name, docs in commit.items():
        table = data.get(name)
        if table is None:
            table = {} if type(data) is dict else _Table(data._owner, name)  # type: ignore[attr-defined]
            dict.__setitem__(data, name, table)
        if isinstance(table, _Table):
            for doc_id, doc in docs.items():
                if doc is None:
                    table._quiet_del(doc_id)
                else:
                    table._quiet_set(doc_id, doc)
        else:
            for doc_id, doc in docs.items():
                if doc is None:
                    table.pop(doc_id, None)
                else:
                    table[doc_id] = doc
        changes.setdefault(name, set()).update(docs)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _datasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _write_atomically(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``path`` whole or not at all: a temporary file in its directory, fsynced, renamed
    over it, and the directory fsynced."""
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(chunks)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _encode(data: Mapping[str, Any]) -> Iterator[bytes]:
    """The database as JSON in lines (see the module's docstring); a table is a mapping, or a
    list of (id, document) pairs."""
    yield b"{"
    for i, (name, table) in enumerate(data.items()):
        yield (b",\n" if i else b"\n") + orjson.dumps(name) + b":{"
        docs = iter(table.items() if isinstance(table, Mapping) else table)
        lead = b"\n"
        while chunk := dict(islice(docs, LINE_DOCS)):
            yield lead + orjson.dumps(chunk)[1:-1]
            lead = b"\n,"
        yield b"\n}"
    yield b"\n}"


LazyMaker = Callable[[str, list[str], list[bytes]], dict[str, Any]]


def _parse(fh: IO[bytes], *, large: bool, lazy: LazyMaker | None = None) -> Any:
    """The file's JSON: a line at a time when :func:`_encode` wrote it, else all at once; None
    when the file is empty or holds only white space.

    A large database is millions of containers. Collecting garbage during the parse doubles its
    time, and afterwards every full collection walks them all (half a second at 100,000
    contacts). The data holds no reference cycles, so it is frozen out of the collector's sight;
    garbage is collected first so that only live objects are frozen. What an earlier load froze
    is unfrozen first, so that objects which became cyclic garbage since are still collected (a
    long-running TUI reloads whenever another process compacts)."""
    if large:
        gc.unfreeze()
        gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        data = _parse_lines(fh, lazy)
        if data is None:
            fh.seek(0)
            raw = fh.read()
            data = orjson.loads(raw) if raw.strip() else None
        if large:
            gc.freeze()
        return data
    finally:
        if collecting:
            gc.enable()


def _not_a_database(data: Any) -> str:
    """What makes parsed JSON something other than TinyDB's tables of documents, or ""."""
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else "a single value"
        return f"its JSON is {kind}, not an object of tables"
    for name, table in data.items():
        if not isinstance(table, dict):
            return f"{name!r} is not a table"
        if isinstance(table, _LazyTable):
            continue  # each line is checked when it is read
        for doc_id, doc in table.items():
            if not isinstance(doc, dict):
                return f"the record {doc_id!r} of the table {name!r} is not an object"
    return ""


def _parse_lines(fh: IO[bytes], lazy: LazyMaker | None = None
                 ) -> dict[str, dict[str, Any]] | None:
    """Parse the lines :func:`_encode` writes; None when the file is laid out otherwise.

    With ``lazy``, a large table whose lines the base's ``_storage`` table lists (the first id
    of each) is kept as its lines, unparsed, in the table ``lazy`` makes of them."""
    if fh.readline() != b"{\n":
        return None
    data: dict[str, dict[str, Any]] = {}
    table: dict[str, Any] | None = None
    last = False  # the last table was closed: only the final brace may follow
    listed: dict[str, Any] = {}  # the large tables' first ids per line
    raw: list[bytes] | None = None  # the lines of a large table being read
    name = ""
    try:
        for line in fh:
            if raw is not None:
                if line in (b"}\n", b"},\n"):
                    firsts = listed[name]
                    if len(raw) != len(firsts) or any(
                            r.startswith(b",") != bool(i) for i, r in enumerate(raw)):
                        return None
                    assert lazy is not None
                    data[name] = lazy(name, firsts, raw)
                    raw, last = None, line == b"}\n"
                    continue
                if not line.endswith(b"\n"):
                    return None
                raw.append(line[:-1])
                continue
            if table is not None:
                if line in (b"}\n", b"},\n"):  # the end of a table
                    if not data.keys() - {name} and name == STORAGE_TABLE and lazy is not None:
                        base = table.get(STORAGE_DOC)
                        found = base.get("lines") if isinstance(base, dict) else None
                        if isinstance(found, dict):
                            listed = {k: v for k, v in found.items() if isinstance(v, list)
                                      and all(isinstance(first, str) for first in v)}
                    table, last = None, line == b"}\n"
                    continue
                if line.startswith(b",") != bool(table):  # documents; later lines go on with ","
                    return None
                docs = orjson.loads(b"{" + line[bool(table):].rstrip(b"\n") + b"}")
                if not isinstance(docs, dict):
                    return None
                table.update(docs)
            elif line == b"}" and (last or not data):  # the end of the database
                return data if fh.read(1) == b"" else None
            elif not last and line.endswith(b":{\n"):  # a table's name
                name = orjson.loads(line[:-3])
                if not isinstance(name, str) or name in data:
                    return None
                if name in listed:
                    raw = []
                else:
                    table = data[name] = {}
            else:
                return None
    except orjson.JSONDecodeError:
        return None
    return None


def read_files(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The database as the files at ``path`` (the base and its journal) hold it, read without
    changing anything: what the next process to open it will see."""
    storage = AtomicJSONStorage(path)
    return {name: dict(docs) for name, docs in storage.load().items()}


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
