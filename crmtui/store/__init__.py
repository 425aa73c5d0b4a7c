"""Storage: the repository interface and its TinyDB implementation (the only TinyDB user)."""

from crmtui.store.migrations import SCHEMA_VERSION, SchemaError
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
from crmtui.store.storage import StorageError
from crmtui.store.tinydb_store import DB_FILE, TinyDBRepository, open_store

__all__ = [
    "ACTIVITY_SORTS", "CONTACT_SORTS", "DB_FILE", "SCHEMA_VERSION", "ActivityQuery", "ContactQuery",
    "NotFound", "Repository", "SchemaError", "StorageError", "StoreConflict", "StoreError",
    "TinyDBRepository", "open_store",
]
