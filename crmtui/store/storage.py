"""Crash-safe JSON file storage for TinyDB.

The whole database lives in one JSON file. TinyDB reads and writes it through this storage, which
keeps the data in memory and writes it out only when the repository commits (:meth:`flush`).
A commit writes a temporary file in the same directory, fsyncs it, renames it over the database
file and fsyncs the directory: a process killed at any instant leaves either the previous file or
the new one, never a torn one.

orjson does the (de)serialization: at 100,000 contacts it is several times faster than the standard
library's json, which decides whether one committed change fits in the time a user waits for it.

The file is plain JSON laid out in lines: ``{``, then per table a line ``"name":{``, its documents
a thousand to a line, and a closing ``}``. Writing and reading it a line at a time keeps a second
copy of the whole database (the encoded text and the parser's own tree, 150 MB at 100,000
contacts) out of memory. A file laid out otherwise (written by hand, or by an older crmtui) is
parsed whole.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson
from tinydb.storages import Storage


class StorageError(RuntimeError):
    """The database file cannot be read or written."""


Signature = tuple[int, int, int, int]
FREEZE_SIZE = 4 << 20  # bytes: a database file this large has its data frozen out of the gc
LINE_DOCS = 1000  # documents per line of the file
# What to do about a database file that is there but cannot be used.
FIX = ("restore it from a backup, or move it away to start a new, empty database "
       "(crmtui leaves it as it is)")


def unreadable(path: Path, exc: OSError) -> str:
    """Why the file ``path`` could not be opened (``exc``), in words, and what to do."""
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a directory, not the database file; move it away"
    if isinstance(exc, PermissionError):
        return (f"cannot read the database {path}: permission denied; make it readable and "
                "writable by you (its owner and mode)")
    return f"cannot read the database {path}: {exc.strerror or exc}"


class AtomicJSONStorage(Storage):
    """A TinyDB storage holding the data in memory and committing it atomically to ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._data: dict[str, dict[str, Any]] = {}
        self._signature: Signature | None = None
        self.dirty = False
        self.writes = 0  # counts writes, so a transaction can tell whether a step wrote

    # TinyDB's storage interface -------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]]:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self.mark_dirty()

    def mark_dirty(self) -> None:
        """Called before data is changed in place (and by every write)."""
        self.dirty = True
        self.writes += 1

    def close(self) -> None:
        pass

    # Our own ---------------------------------------------------------------------------------

    def disk_signature(self) -> Signature | None:
        """Identity of the file on disk: a commit (by us or another process) changes it."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)

    def changed_on_disk(self) -> bool:
        return self.disk_signature() != self._signature

    def load(self) -> dict[str, dict[str, Any]]:
        """(Re)read the file; a missing file is an empty database. Discards unflushed writes.

        A file that is there but cannot be read, or does not hold a crmtui database (empty,
        not JSON, not tables of documents), is refused with :class:`StorageError`: it is never
        taken for a new database, so nothing is written over it."""
        try:
            with open(self.path, "rb") as fh:
                signature = os.fstat(fh.fileno())
                data = _parse(fh, large=signature.st_size > FREEZE_SIZE)
        except FileNotFoundError:
            self._data, self._signature, self.dirty = {}, None, False
            return self._data
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
        self._data = data
        self._signature = (signature.st_ino, signature.st_mtime_ns, signature.st_size,
                           signature.st_ctime_ns)
        self.dirty = False
        return data

    def flush(self) -> None:
        """Commit the in-memory data to disk atomically."""
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.writelines(_encode(self._data))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        _fsync_dir(directory)
        self._signature = self.disk_signature()
        self.dirty = False


def _encode(data: dict[str, dict[str, Any]]) -> Iterator[bytes]:
    """The database as JSON in lines (see the module's docstring)."""
    yield b"{"
    for i, (name, table) in enumerate(data.items()):
        yield (b",\n" if i else b"\n") + orjson.dumps(name) + b":{"
        docs = iter(table.items())
        lead = b"\n"
        while chunk := dict(islice(docs, LINE_DOCS)):
            yield lead + orjson.dumps(chunk)[1:-1]
            lead = b"\n,"
        yield b"\n}"
    yield b"\n}"


def _parse(fh: IO[bytes], *, large: bool) -> Any:
    """The file's JSON: a line at a time when :func:`_encode` wrote it, else all at once; None
    when the file is empty or holds only white space.

    A large database is millions of containers. Collecting garbage during the parse doubles its
    time, and afterwards every full collection walks them all (half a second at 100,000
    contacts). The data holds no reference cycles, so it is frozen out of the collector's sight;
    garbage is collected first so that only live objects are frozen. What an earlier load froze
    is unfrozen first, so that objects which became cyclic garbage since are still collected (a
    long-running TUI reloads whenever another process commits)."""
    if large:
        gc.unfreeze()
        gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        data = _parse_lines(fh)
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
        for doc_id, doc in table.items():
            if not isinstance(doc, dict):
                return f"the record {doc_id!r} of the table {name!r} is not an object"
    return ""


def _parse_lines(fh: IO[bytes]) -> dict[str, dict[str, Any]] | None:
    """Parse the lines :func:`_encode` writes; None when the file is laid out otherwise."""
    if fh.readline() != b"{\n":
        return None
    data: dict[str, dict[str, Any]] = {}
    table: dict[str, Any] | None = None
    last = False  # the last table was closed: only the final brace may follow
    try:
        for line in fh:
            if table is not None:
                if line in (b"}\n", b"},\n"):  # the end of a table
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
                table = data[name] = {}
            else:
                return None
    except orjson.JSONDecodeError:
        return None
    return None


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
