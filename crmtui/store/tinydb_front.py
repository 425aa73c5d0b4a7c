"""The front page of the TinyDB store: what the TUI's first screenful needs, kept beside the
database so that the contacts show before the whole database is read.

``crmtui.front.json`` holds the small tables (users, tags, accounts, sync settings and state,
the sync journal), the number of contacts, and the first :data:`KEEP` contacts of the default
order (by name, ascending) with their sort keys, plus the users' own contacts. It names the
commit it shows by the *signature* of the database files (inode, modification time and size
of ``crmtui.json`` and of any file beside it whose name starts so, such as a journal): a front
page whose signature is not that of the files on disk (written by another version, or before a
crash) is ignored, so it can never show stale data.

The repository rewrites it after each commit, under the database's lock: from the previous page
and the contacts the commit changed when the page was current (a few microseconds per change),
else from every contact (one pass, about 0.3 s at 100,000 contacts). It is a cache: it is written
atomically but not fsynced, and a missing or damaged one only means a slower start.
"""

from __future__ import annotations

import heapq
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from crmtui.store.tinydb_index import _CONTACT_KEYS

FRONT_FILE = "crmtui.front.json"
FORMAT = 1
KEEP = 300
"""Contacts of the default order kept on the front page."""
LOW = 150
"""Below this many (of more contacts than that), the page is rebuilt from every contact."""

logger = logging.getLogger(__name__)

Signature = list[list[Any]]


def signature(data_dir: Path, db_file: str) -> Signature:
    """Identity of the database files on disk: every commit changes it."""
    out: Signature = []
    try:
        names = sorted(os.listdir(data_dir))
    except OSError:
        return out
    for name in names:
        if not name.startswith(db_file) or name.endswith(".lock"):
            continue
        try:
            st = os.stat(data_dir / name)
        except OSError:
            continue
        out.append([name, st.st_ino, st.st_mtime_ns, st.st_size])
    return out


def name_key(cid: str, doc: Mapping[str, Any]) -> str:
    """The contact's key in the default order (as the index sorts by name)."""
    return f"{_CONTACT_KEYS['name'](doc)}\x00{cid}"


@dataclass
class FrontPage:
    """The front page as read or built: see the module's docstring."""

    signature: Signature
    count: int
    tables: dict[str, dict[str, Any]]
    order: list[tuple[str, str]]  # (sort key, contact id), the first contacts by name
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # of order and the users

    @property
    def complete(self) -> bool:
        """Whether ``order`` holds every contact."""
        return len(self.order) >= self.count

    def ids(self) -> list[str]:
        return [cid for _, cid in self.order]

    def to_json(self) -> bytes:
        return orjson.dumps({"format": FORMAT, "signature": self.signature, "count": self.count,
                             "tables": self.tables, "order": self.order, "docs": self.docs})


def read(data_dir: Path, db_file: str, *, expected: Signature | None = None
         ) -> FrontPage | None:
    """The front page, if there is one and it shows the database on disk now (or the files
    of signature ``expected``)."""
    try:
        raw = (data_dir / FRONT_FILE).read_bytes()
        data = orjson.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        page = FrontPage(data["signature"], int(data["count"]), data["tables"],
                         [(k, c) for k, c in data["order"]], data["docs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if page.signature != (signature(data_dir, db_file) if expected is None else expected):
        return None
    return page


def write(data_dir: Path, page: FrontPage) -> None:
    """Replace the front page atomically (not fsynced: a lost one is rebuilt)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{FRONT_FILE}.", suffix=".tmp", dir=data_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(page.to_json())
            os.replace(tmp, data_dir / FRONT_FILE)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        logger.warning("cannot write the front page %s: %s", data_dir / FRONT_FILE, exc)


def build(sig: Signature, tables: Mapping[str, Mapping[str, Any]], small: Iterable[str],
          contacts_table: str, users_table: str) -> FrontPage:
    """A front page from every contact (one pass: the first :data:`KEEP` by name)."""
    contacts = tables[contacts_table]
    order = heapq.nsmallest(KEEP, ((name_key(cid, doc), cid) for cid, doc in contacts.items()))
    return _page(sig, tables, small, contacts_table, users_table, order)


def update(previous: FrontPage, sig: Signature, tables: Mapping[str, Mapping[str, Any]],
           small: Iterable[str], contacts_table: str, users_table: str,
           changed: Iterable[str], added: int) -> FrontPage:
    """``previous`` (current before a commit) after the commit that changed the contacts
    ``changed`` and added ``added`` contacts (negative: removed); rebuilt from every contact
    when too few of the first ones are left. Only the changed contacts are read from
    ``tables``: a large table read a line at a time stays so."""
    contacts = tables[contacts_table]
    changed = set(changed)
    count = previous.count + added
    order = [(k, c) for k, c in previous.order if c not in changed]
    boundary = previous.order[-1][0] if previous.order and not previous.complete else None
    for cid in changed:
        doc = contacts.get(cid)
        if doc is None:
            continue
        key = name_key(cid, doc)
        if boundary is None or key <= boundary:
            order.append((key, cid))
    order.sort()
    complete = len(order) >= count
    if not complete and len(order) < LOW:
        return build(sig, tables, small, contacts_table, users_table)
    known = {cid: doc for cid, doc in previous.docs.items() if cid not in changed}
    return _page(sig, tables, small, contacts_table, users_table, order[:KEEP], count, known)


def _page(sig: Signature, tables: Mapping[str, Mapping[str, Any]], small: Iterable[str],
          contacts_table: str, users_table: str, order: list[tuple[str, str]],
          count: int | None = None, known: Mapping[str, dict[str, Any]] | None = None
          ) -> FrontPage:
    """The page of ``order``; ``count``: the number of contacts (counted when None);
    ``known``: documents already at hand, by id (the rest are read from ``tables``)."""
    contacts = tables[contacts_table]
    known = known or {}

    def doc(cid: str) -> Any:
        found = known.get(cid)
        return found if found is not None else contacts.get(cid)

    docs = {cid: doc(cid) for _, cid in order}
    for user in tables[users_table].values():
        cid = user.get("contact_id")
        if cid:
            found = doc(cid)
            if found is not None:
                docs[cid] = found
    return FrontPage(sig, len(contacts) if count is None else count,
                     {name: dict(tables[name]) for name in small}, order, docs)
