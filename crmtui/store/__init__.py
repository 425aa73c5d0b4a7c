"""Storage: the repository interface and its two implementations, TinyDB (the embedded default,
the only TinyDB user) and PostgreSQL (a team's shared database, the only psycopg user; loaded
only when a database URL is given)."""

from __future__ import annotations

import os

from crmtui.store.migrations import SCHEMA_VERSION, SchemaError
from crmtui.store.repository import (
    ACTIVITY_SORTS,
    CONTACT_SORTS,
    ActivityQuery,
    ChangedMeanwhile,
    ContactQuery,
    NotFound,
    Repository,
    StoreConflict,
    StoreError,
    SyncLocked,
)
from crmtui.store.storage import StorageError
from crmtui.store.tinydb_store import DB_FILE, TinyDBRepository, open_store


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database (rather than a data directory)."""
    return text.startswith(("postgresql://", "postgres://"))


def open_repository(data_dir: str | os.PathLike[str], database: str | None = None
                    ) -> Repository:
    """The store: the PostgreSQL database at ``database`` (a ``postgresql://`` URL) when one is
    given, else the TinyDB file in ``data_dir``."""
    if database:
        from crmtui.store.pg_store import open_postgres

        return open_postgres(database)
    return open_store(data_dir)


__all__ = [
    "ACTIVITY_SORTS", "CONTACT_SORTS", "DB_FILE", "SCHEMA_VERSION", "ActivityQuery", "ChangedMeanwhile",
    "ContactQuery",
    "NotFound", "Repository", "SchemaError", "StorageError", "StoreConflict", "StoreError",
    "SyncLocked", "TinyDBRepository", "is_database_url", "open_repository", "open_store",
]
