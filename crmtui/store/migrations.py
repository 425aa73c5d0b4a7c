"""Schema versions of the database file and the steps between them.

The file's ``_meta`` table holds ``{"schema": N}``. Opening a file of an older schema runs every
step from its version to :data:`SCHEMA_VERSION` and commits the result; a file of a newer schema
is refused (it was written by a newer crmtui), so nothing is damaged by a downgrade.

Schema history:
- 0: a TinyDB file without ``_meta`` (written by hand or by a pre-release crmtui): contacts may
  carry a single ``email`` / ``phone`` string and lack ``middle_name``, ``addresses`` and ``tags``.
- 1: the current layout, described in the README's "JSON schema".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCHEMA_VERSION = 1
META_TABLE = "_meta"
META_DOC = "schema"

Data = dict[str, dict[str, Any]]


class SchemaError(RuntimeError):
    pass


def file_version(data: Data) -> int:
    if not data:
        return SCHEMA_VERSION  # a new, empty database
    meta = data.get(META_TABLE, {}).get(META_DOC)
    if meta is None:
        return 0
    version = meta.get("schema")
    if not isinstance(version, int) or version < 0:
        raise SchemaError(f"the database's schema version {version!r} is not valid")
    return version


def _v0_to_v1(data: Data) -> Data:
    for doc in data.get("contacts", {}).values():
        email = doc.pop("email", None)
        if email and not doc.get("emails"):
            doc["emails"] = [{"value": email, "type": "work", "primary": True}]
        phone = doc.pop("phone", None)
        if phone and not doc.get("phones"):
            doc["phones"] = [{"value": phone, "type": "work", "primary": True}]
        for key, default in (("middle_name", ""), ("addresses", []), ("tags", []),
                             ("emails", []), ("phones", [])):
            doc.setdefault(key, default)
    return data


MIGRATIONS: dict[int, Callable[[Data], Data]] = {0: _v0_to_v1}


def migrate(data: Data) -> tuple[Data, bool]:
    """Bring ``data`` to the current schema; returns it and whether anything changed."""
    version = file_version(data)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the database has schema version {version}, newer than this crmtui understands "
            f"({SCHEMA_VERSION}); upgrade crmtui to open it")
    changed = False
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        changed = True
    if data.get(META_TABLE, {}).get(META_DOC, {}).get("schema") != SCHEMA_VERSION:
        data.setdefault(META_TABLE, {})[META_DOC] = {"schema": SCHEMA_VERSION}
        changed = True
    return data, changed
