"""The PostgreSQL repository's foundation: the connection, transactions, the change counter and
the query helpers every part uses.

One connection per repository (autocommit outside transactions), guarded by an RLock so the UI
thread and sync workers can share the repository, as with the TinyDB store. A transaction runs
``BEGIN`` ... ``COMMIT`` on it; nested transactions join the outermost one, and a failed write
inside dooms it (as in the TinyDB store). Each commit that wrote raises the ``generation``
counter in ``crmtui_meta`` and sends a NOTIFY on :data:`~crmtui.store.pg_schema.NOTIFY_CHANNEL`,
so other processes see that something changed with one cheap query.

A lost connection is reported as a StoreError (what was committed stays committed); the next
call connects again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Self, TypeVar, cast

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads

from crmtui.model import trusted_data
from crmtui.store.nesting import NestedTransactions
from crmtui.store.pg_schema import (
    NOTIFY_CHANNEL,
    PERMISSIONS,
    _first_line,
    connect,
    describe,
    prepare,
)
from crmtui.store.repository import Repository, StoreConflict, StoreError

logger = logging.getLogger(__name__)
R = TypeVar("R")
_DAMAGED = (ValueError, TypeError, KeyError, AttributeError)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=_dumps)


def like_word(word: str) -> str:
    """A LIKE pattern matching ``word`` anywhere."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def clean(text: str) -> str:
    """Text as PostgreSQL stores it (it cannot hold NUL characters)."""
    return text.replace("\x00", "")


_READER_LOCK = threading.Lock()  # opening a repository's second connection (see _free)


class PostgresBase(NestedTransactions, Repository):
    """The connection, transactions and query helpers of the PostgreSQL repository."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = describe(url)
        self._lock = threading.RLock()
        self._depth = 0
        self._writes = 0
        self._doomed = False
        self._seen = 0
        self._writes_at_begin = 0
        self._analyze = False  # a bulk write: refresh the planner's statistics after it
        self._conn: psycopg.Connection[Any] | None = None
        self._reader: Self | None = None  # see _free
        conn = self._connection()
        try:
            self.trigram = prepare(conn, self.path)
        except BaseException:
            self.close()
            raise
        asked = time.perf_counter()
        self._seen = self._current_generation()
        self.round_trip = time.perf_counter() - asked
        """Seconds one small query took when the repository opened (how near the server is)."""

    # -- the connection ---------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if self._depth:
                raise StoreError(f"lost the connection to {self.path} in the middle of a "
                                 "transaction; nothing of it was written")
            conn = connect(self.url)
            # Plan every query with its values: a generic plan of a prepared statement cannot
            # tell a search word that matches most contacts (walk a sort index) from a rare one
            # (the trigram index), and would sort the whole table for the first.
            conn.prepare_threshold = None
            set_json_loads(orjson.loads, conn)
            set_json_dumps(_dumps, conn)
            self._conn = conn
        return conn

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def _translate(self, exc: psycopg.Error) -> StoreError:
        if isinstance(exc, pg_errors.UniqueViolation):
            return StoreConflict(f"the record clashes with one already stored "
                                 f"({_first_line(exc)})")
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            return StoreError(f"not allowed by {self.path} ({_first_line(exc)}): {PERMISSIONS}")
        if isinstance(exc, psycopg.OperationalError):
            return StoreError(f"lost the connection to {self.path} ({_first_line(exc)}); what "
                              "was committed is kept, try again")
        return StoreError(f"the database {self.path} refused a request ({_first_line(exc)})")

    def _run(self, sql: str, params: Any = None, *, write: bool = False
             ) -> psycopg.Cursor[Any]:
        with self._lock:
            if write:
                self._writes += 1
                if self._depth == 0:
                    raise AssertionError("a write outside a transaction")
            try:
                return self._connection().execute(cast(Any, sql), params)
            except psycopg.Error as exc:
                if self._depth:
                    self._doomed = True  # PostgreSQL aborts the transaction on any error
                raise self._translate(exc) from exc

    def _all(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._run(sql, params).fetchall()

    def _one(self, sql: str, params: Any = None) -> tuple[Any, ...] | None:
        with self._lock:
            return self._run(sql, params).fetchone()

    def _exec(self, sql: str, params: Any = None) -> int:
        """Run a write; returns the number of rows it touched."""
        with self._lock:
            return self._run(sql, params, write=True).rowcount

    def _many(self, sql: str, rows: Sequence[Any]) -> None:
        if not rows:
            return
        with self._lock:
            self._writes += 1
            try:
                with self._connection().cursor() as cur:
                    cur.executemany(cast(Any, sql), rows)
            except psycopg.Error as exc:
                self._doomed = True
                raise self._translate(exc) from exc

    # -- transactions -----------------------------------------------------------------------------

    def _guard(self) -> AbstractContextManager[object]:
        return self._lock

    def _writes_so_far(self) -> int:
        return self._writes

    def _begin(self) -> None:
        conn = self._connection()
        try:
            conn.execute("BEGIN")
        except psycopg.Error as exc:
            raise self._translate(exc) from exc
        self._doomed = False
        self._writes_at_begin = self._writes

    def _finish(self, failed: bool) -> None:
        conn = self._conn
        try:
            if failed or self._doomed:
                self._rollback()
                if not failed:
                    raise StoreError("a write inside the transaction failed, so the transaction "
                                     "was rolled back and nothing was written")
                return
            if conn is None:
                raise StoreError(f"lost the connection to {self.path}; nothing was written")
            try:
                if self._writes != self._writes_at_begin:
                    row = conn.execute(
                        "UPDATE crmtui_meta SET value = value + 1 WHERE key = 'generation' "
                        "RETURNING value").fetchone()
                    conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
                    conn.execute("COMMIT")
                    if row is not None:
                        self._seen = int(row[0])
                    if self._analyze:
                        self._refresh_statistics(conn)
                else:
                    conn.execute("COMMIT")
            except psycopg.Error as exc:
                self._rollback()
                raise self._translate(exc) from exc
        finally:
            self._doomed = False
            self._analyze = False

    def _refresh_statistics(self, conn: psycopg.Connection[Any]) -> None:
        """After a bulk write: statistics and the visibility map, so the planner walks the sort
        indexes alone instead of sorting the table (autovacuum would, later). Only the tables'
        owner may; for others PostgreSQL skips it and autovacuum does it."""
        try:
            conn.execute("VACUUM (ANALYZE) contacts, activities")
        except psycopg.Error:
            logger.info("ANALYZE after a bulk write was refused", exc_info=True)

    def _rollback(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            logger.warning("rollback on %s failed; closing the connection", self.path,
                           exc_info=True)
            self.close()

    # -- other processes' commits -----------------------------------------------------------------

    def _current_generation(self) -> int:
        row = self._one("SELECT value FROM crmtui_meta WHERE key = 'generation'")
        return int(row[0]) if row else 0

    def refresh(self) -> bool:
        with self._lock:
            if self._depth:
                return False
            current = self._current_generation()
            if current != self._seen:
                self._seen = current
                return True
            return False

    def watch(self, stop: threading.Event, changed: Callable[[], None],
              interval: float = 1.0) -> None:
        """Wait for other processes' commits on a connection of its own that LISTENs on
        :data:`~crmtui.store.pg_schema.NOTIFY_CHANNEL` (every commit that wrote sends a NOTIFY),
        and call ``changed`` when one came: nothing is asked of the database meanwhile. When
        the connection cannot be made or is lost, the default polling takes over."""
        try:
            conn = connect(self.url)
        except StoreError:
            logger.warning("cannot listen for changes on %s; polling instead", self.path,
                           exc_info=True)
            super().watch(stop, changed, interval)
            return
        try:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            changed()  # a commit made before the LISTEN began
            while not stop.is_set():
                # wakes at least every half second to see whether to stop
                if any(True for _ in conn.notifies(timeout=min(interval, 0.5), stop_after=1)):
                    changed()
        except psycopg.Error:
            logger.warning("lost the connection listening for changes on %s; polling instead",
                           self.path, exc_info=True)
            changed()  # whatever was missed meanwhile
            super().watch(stop, changed, interval)
        finally:
            conn.close()

    @property
    def generation(self) -> int:
        """The change counter (never waiting behind another thread's query: the TUI's thread
        asks while its query thread reads a long id list)."""
        if self._lock.acquire(blocking=False):
            try:
                self.refresh()
                return self._seen
            finally:
                self._lock.release()
        with self._free() as repo:
            return max(self._seen, repo._current_generation())

    @contextmanager
    def _free(self) -> Iterator[Self]:
        """A repository whose connection is free for a quick read: this one when no other
        thread is using its connection (or this thread's own transaction holds it), else a
        second connection, opened once. The TUI's first matches and the rows it shows then do
        not wait behind the whole id list of a search still running in the query thread. The
        second connection reads what is committed, as this one does outside a transaction."""
        if self._lock.acquire(blocking=False):
            try:
                yield self
            finally:
                self._lock.release()
            return
        with _READER_LOCK:
            if self._reader is None:
                self._reader = type(self)(self.url)
            reader = self._reader
        yield reader

    # -- reading records --------------------------------------------------------------------------

    def _record(self, cls: Callable[..., R], table: str, record_id: str,
                doc: Mapping[str, Any], *, trusted: bool = False) -> R:
        """A stored record as ``cls``; one the model refuses (changed by hand in the database)
        raises StoreError naming it."""
        from_dict = cast(Any, cls).from_dict
        try:
            if trusted:
                with trusted_data():
                    return cast(R, from_dict(doc))
            return cast(R, from_dict(doc))
        except _DAMAGED as exc:
            raise StoreError(
                f"the record {record_id} of the table {table!r} in {self.path} cannot be read "
                f"({exc}): it was changed outside crmtui; correct or remove it") from exc

    def _visible_sql(self, alias: str = "g") -> str:
        """The condition that a tag row ``alias`` is visible to the viewer ``%(viewer)s``."""
        return f"({alias}.kind <> 'private' OR {alias}.owner_id = %(viewer)s::text)"

    def _ids_in(self, table: str, ids: Sequence[str], column: str = "id") -> set[str]:
        if not ids:
            return set()
        return {r[0] for r in self._all(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)",
                                        (list(ids),))}
