"""People propagation lag: ``people.connections.list`` serves contacts as they were N seconds ago.

Google: "Writes may have a propagation delay of several minutes for sync requests." An account's
lag (``account.data["people"]["lag"]``, seconds, 0 = off) is set by the control API
``PUT /__emulator/accounts/{email}/lag {"people_seconds": N}``. While it is on, every contact keeps
its versions (``record["versions"]``: copies of ``seq``, ``updated``, ``deleted``, ``person``,
``groups`` with ``at``, the emulator-clock time of the write) and a listing made at time T shows
each contact's latest version written at or before T - N: a contact created later is absent, one
updated later is listed as it was, one deleted later is still listed.

Sync tokens carry the change number and the visibility horizon (T - N) they were issued at; an
incremental listing returns every contact whose visible version was not visible to its token, so a
change that becomes visible later is delivered later, never skipped.

Changes made while the lag is off are visible at once when it is turned on (the versions start
then). A superseded version is dropped once its successor has been visible for
:data:`VERSION_GRACE` seconds (page tokens of an open listing still need it until then); turning
the lag off drops every version.
"""

from __future__ import annotations

import copy
from typing import Any

Json = dict[str, Any]

VERSION_GRACE = 3600.0  # seconds a superseded version outlives its successor's visibility
VERSION_KEYS = ("seq", "updated", "deleted", "person", "groups")


def lag_of(data: Json) -> float:
    """The account's People lag in seconds (0 when off)."""
    return float(data.get("lag") or 0)


def snapshot(record: Json, at: float) -> Json:
    """A copy of a contact's current version, visible from ``at``."""
    version = {key: copy.deepcopy(record[key]) for key in VERSION_KEYS}
    version["at"] = at
    return version


def remember(record: Json) -> None:
    """Add the contact's version just written (when the lag keeps versions for it)."""
    versions = record.get("versions")
    if versions is not None:
        versions.append(snapshot(record, float(record["at"])))


def set_lag(data: Json, seconds: float, now: float) -> None:
    """Turn the lag on, change it, or turn it off (dropping every version)."""
    before = lag_of(data)
    data["lag"] = seconds
    contacts: dict[str, Json] = data["contacts"]
    for record in contacts.values():
        if not seconds:
            record.pop("versions", None)
        elif not before or "versions" not in record:
            record["versions"] = [snapshot(record, 0.0)]  # written while off: visible at once
    if seconds:
        prune(data, now)


def prune(data: Json, now: float) -> None:
    """Drop the versions no listing can show any more."""
    limit = now - lag_of(data) - VERSION_GRACE
    for record in data["contacts"].values():
        versions = record.get("versions")
        if not versions:
            continue
        keep = 0
        while keep + 1 < len(versions) and versions[keep + 1]["at"] <= limit:
            keep += 1
        if keep:
            del versions[:keep]


def visible(record: Json, seq: int, horizon: float) -> Json | None:
    """The contact's version a listing with change number ``seq`` and visibility horizon
    ``horizon`` shows (it has the record's keys), or None when it shows none."""
    versions = record.get("versions")
    if versions:
        for version in reversed(versions):
            if version["seq"] <= seq and version["at"] <= horizon:
                return version
        return None
    if record["seq"] <= seq and float(record.get("at", 0.0)) <= horizon:
        return record
    return None


def seen_by(version: Json, seq: int, horizon: float) -> bool:
    """Whether a listing with change number ``seq`` and horizon ``horizon`` showed it."""
    return bool(version["seq"] <= seq and float(version.get("at", 0.0)) <= horizon)
