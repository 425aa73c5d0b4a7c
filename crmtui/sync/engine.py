"""The sync engine's shared parts: three-way merge per field, the report, the guard.

Contacts and activities plan with these: a plan is computed from the local records, the remote
changes and the stored base (the values both sides agreed on at the last sync), then applied by
:mod:`crmtui.sync.runner`. Merging is per field: a field changed on one side only is taken from that side; a field
changed on both sides to different values takes the most recent change, and the value that loses
is recorded as a :class:`~crmtui.model.Conflict` for the journal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmtui.model import Conflict, SyncLink

GUARD_MIN = 5  # the mass-unlink guard never stops a run that unlinks fewer records than this
GUARD_SHARE = 0.3  # ... nor one that unlinks at most this share of the linked records


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _equal(name: str, a: Any, b: Any) -> bool:
    return bool(a == b)


@dataclass
class Merge:
    """The outcome of merging one record's fields."""

    fields: dict[str, Any]
    to_local: list[str]  # fields whose merged value differs from the local one
    to_remote: list[str]  # fields whose merged value differs from the remote one
    conflicts: list[Conflict]


def merge_fields(names: Sequence[str], base: Mapping[str, Any] | None,
                 local: Mapping[str, Any], remote: Mapping[str, Any], *,
                 local_time: datetime | None, remote_time: datetime | None,
                 record_id: str, now: datetime | None = None,
                 same: Callable[[str, Any, Any], bool] | None = None) -> Merge:
    """Three-way merge of ``local`` and ``remote`` against ``base``.

    Without a base (two records linked for the first time) a field empty on one side takes the
    other side's value; fields set differently on both sides go to the most recent change. Ties go
    to the CRM. ``same(name, a, b)`` says whether two values of a field are the same (default:
    equal); values that are the same are no change and no conflict, and neither side is
    written for them (emails that differ only in letter case, say)."""
    at = now or datetime.now(UTC)
    eq = same or _equal
    merged: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    local_wins = (remote_time is None or
                  (local_time is not None and local_time >= remote_time))
    for name in names:
        lv, rv = local.get(name), remote.get(name)
        if eq(name, lv, rv):
            value = lv
        elif base is not None and eq(name, lv, base.get(name)):
            value = rv
        elif base is not None and eq(name, rv, base.get(name)):
            value = lv
        elif base is None and _empty(lv):
            value = rv
        elif base is None and _empty(rv):
            value = lv
        else:
            value, lost = (lv, rv) if local_wins else (rv, lv)
            conflicts.append(Conflict(record_id=record_id, field_name=name, kept=value, lost=lost,
                                      winner="crm" if local_wins else "google", at=at))
        merged[name] = value
    return Merge(fields=merged,
                 to_local=[n for n in names if not eq(n, merged[n], local.get(n))],
                 to_remote=[n for n in names if not eq(n, merged[n], remote.get(n))],
                 conflicts=conflicts)


def changed_meanwhile(names: Sequence[str], read: Mapping[str, Any] | None,
                      now: Mapping[str, Any],
                      same: Callable[[str, Any, Any], bool] | None = None) -> list[str]:
    """Those of ``names`` whose value in the CRM record ``now`` is no longer the one the merge
    ``read``: saved by someone while the sync ran. The sync leaves these as they are (the
    person's change is the most recent) for its next run to send (none when nothing was read)."""
    if read is None:
        return []
    eq = same or _equal
    return [name for name in names if not eq(name, now.get(name), read.get(name))]


class SyncSetupError(RuntimeError):
    """The user's sync is not set up well enough to run (the message says what to do)."""


class AccountNeeded(SyncSetupError):
    """No Google account is linked, or the linked one must be reconnected."""


class GuardStop(Exception):
    """The run would unlink an unusual share of the linked records; it stopped before writing."""

    def __init__(self, unlinking: int, linked: int, reason: str) -> None:
        self.unlinking, self.linked, self.reason = unlinking, linked, reason
        super().__init__(
            f"{reason}: this run would unlink {unlinking} of {linked} linked records at once, "
            "so it stopped before changing anything. Check Google, then run again with --yes "
            "(or confirm in the app) to go ahead.")


def check_guard(unlinking: int, linked: int, *, reason: str, confirmed: bool,
                always: bool = False) -> None:
    """Raise :class:`GuardStop` unless the run is confirmed or the share is usual."""
    if confirmed or unlinking == 0:
        return
    if always or (unlinking >= GUARD_MIN and unlinking > GUARD_SHARE * linked):
        raise GuardStop(unlinking, linked, reason)


@dataclass
class SideCounts:
    created: int = 0
    updated: int = 0
    linked: int = 0
    untagged: int = 0  # CRM side: records that lost the sync tag
    removed: int = 0  # Google side: taken out of the group (or removed from a calendar)


@dataclass
class SyncReport:
    """What a run did (or, dry, would do), per side, for the summary and the journal."""

    kind: str
    dry_run: bool = False
    crm: SideCounts = field(default_factory=SideCounts)
    google: SideCounts = field(default_factory=SideCounts)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "who: why"
    notes: list[str] = field(default_factory=list)  # e.g. the group was recreated
    plan: list[str] = field(default_factory=list)  # dry run: one line per planned action
    requests: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for side, counts in (("crm", self.crm), ("google", self.google)):
            for name, value in vars(counts).items():
                out[f"{side}_{name}"] = value
        out["conflicts"] = len(self.conflicts)
        out["skipped"] = len(self.skipped)
        return out

    def summary(self) -> str:
        crm, google = self.crm, self.google
        if self.kind == "activities":  # ``untagged`` counts the activities that lost their link
            lines = [f"In crmtui: {crm.created} created, {crm.updated} updated, "
                     f"{crm.linked} linked, {crm.untagged} unlinked",
                     f"In Google Calendar: {google.created} created, {google.updated} updated, "
                     f"{google.removed} removed from the calendar"]
        else:
            lines = [f"In crmtui: {crm.created} created, {crm.updated} updated, {crm.linked} "
                     f"linked to existing Google contacts, {crm.untagged} untagged",
                     f"In Google: {google.created} created, {google.updated} updated, "
                     f"{google.removed} removed from the group"]
        lines.append(f"Conflicts: {len(self.conflicts)}; skipped: {len(self.skipped)}")
        lines += [f"  skipped {s}" for s in self.skipped]
        lines += self.notes
        return "\n".join(lines)


ProgressFn = Callable[[str, int, int], None]  # message, done, total


def no_progress(message: str, done: int, total: int) -> None:
    """A progress callback that shows nothing."""


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def describe_merge(report: SyncReport, label: str, to_remote: Sequence[str],
                   to_local: Sequence[str]) -> None:
    """A dry run's plan lines (and counts) for one merged record."""
    if to_remote:
        report.plan.append(f"Google: update {label} ({', '.join(to_remote)})")
        report.google.updated += 1
    if to_local:
        report.plan.append(f"crmtui: update {label} ({', '.join(to_local)})")
        report.crm.updated += 1


def doubtful_records(listed: Sequence[Any], links: Mapping[str, SyncLink],
                     local_of: Mapping[str, str], gone: Callable[[Any], bool]) -> set[str]:
    """The remote ids of linked records a (possibly lagging) listing cannot be trusted on: those
    it shows ``gone`` (deleted, cancelled, out of the group), and those it shows in a version
    older than the one crmtui last wrote or read. They are read again before a plan acts."""
    out: set[str] = set()
    for rc in listed:
        link = links.get(local_of[rc.remote_id])
        if gone(rc):
            out.add(rc.remote_id)
        elif (link is not None and rc.etag != link.etag and rc.updated is not None
              and link.remote_updated is not None and rc.updated < link.remote_updated):
            out.add(rc.remote_id)
    return out


# --------------------------------------------------------------------------- lean links

Defaults = Mapping[str, Any]


def lean_base(base: Mapping[str, Any], defaults: Defaults,
              items: Mapping[str, Defaults]) -> dict[str, Any]:
    """``base`` as a link keeps it: without the fields (of ``defaults``) that hold their
    default value, and, in the objects or lists of objects that ``items`` names, without the
    keys that hold theirs. :func:`full_base` gives the complete base back."""
    out: dict[str, Any] = {}
    for name, value in base.items():
        if name in defaults and _same_default(value, defaults[name]):
            continue
        keys = items.get(name)
        if keys is not None:
            value = _lean_value(value, keys)
        out[name] = value
    return out


def full_base(stored: Mapping[str, Any], defaults: Defaults,
              items: Mapping[str, Defaults]) -> dict[str, Any]:
    """The complete base of a link kept by :func:`lean_base` (a complete base is returned as
    it is)."""
    out = {**defaults, **stored}
    for name, keys in items.items():
        value = out.get(name)
        if isinstance(value, dict):
            out[name] = {**keys, **value}
        elif isinstance(value, list):
            out[name] = [{**keys, **v} if isinstance(v, dict) else v for v in value]
    return out


def _same_default(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


def _lean_value(value: Any, keys: Defaults) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not (k in keys and _same_default(v, keys[k]))}
    if isinstance(value, list):
        return [_lean_value(v, keys) if isinstance(v, dict) else v for v in value]
    return value
