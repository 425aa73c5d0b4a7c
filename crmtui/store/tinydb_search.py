"""Contact search of the TinyDB repository: text, tags and modification time, in a column's order
(over the index of :mod:`crmtui.store.tinydb_index`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from itertools import compress

from crmtui.model import ValidationError, fold
from crmtui.store.repository import CONTACT_SORTS, ContactQuery
from crmtui.store.tinydb_base import CONTACTS, TinyDBBase
from crmtui.store.tinydb_index import (
    _CONTACT_KEYS,
    _ContactIndex,
    _haystack,
    _Letters,
    _mask,
    _matches,
    _phone_digits,
    pair_bitmaps,
)

QUICK_CANDIDATES = 40_000
"""Texts a quick search (:meth:`ContactSearch.quick_contact_ids`) tests at most (a few ms)."""
FIRST_MATCHES = 200
"""Matches a scan finds before the index is built (a few screenfuls)."""
SCAN_AT_MOST = 20_000
"""Contacts such a scan tests at most (its time stays a fraction of building the index)."""


_ORDERING = threading.Lock()
"""Held while a thread sorts every contact outside the store's lock (one sort at a time)."""


class ContactSearch(TinyDBBase):
    """Finding contacts by text, tags and modification time, in a column's order."""

    def _index_ready(self) -> _ContactIndex:
        if self._index is None:
            self._index = _ContactIndex()
        return self._index

    def _ensure_order(self, sort: str) -> None:
        """Sort every contact by ``sort`` outside the store's lock (a second at 100,000
        contacts, during which the UI thread's reads would otherwise wait), keeping the order
        only when nothing was written meanwhile (else the search sorts under the lock).
        Threads asking at once wait for the one sorting rather than each sorting again."""
        with _ORDERING, self._rlock:
            self._read()
            index = self._index_ready()
            if sort in index.orders or self._depth:
                return
            generation = self._generation
            items = list(self._table(CONTACTS).items())
        with _ORDERING:
            if sort in index.orders:  # sorted by another thread meanwhile
                return
            fn = _CONTACT_KEYS[sort]
            keys = {cid: f"{fn(doc)}\x00{cid}" for cid, doc in items}
            order = sorted(keys, key=keys.__getitem__)
            with self._rlock:
                if (self._index is index and self._generation == generation
                        and self._depth == 0 and sort not in index.orders):
                    index.sort_keys[sort] = keys
                    index.orders[sort] = order

    def contact_ids(self, query: ContactQuery, viewer_id: str | None) -> list[str]:
        if query.sort not in CONTACT_SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(CONTACT_SORTS)}", query.sort)
        self._ensure_order(query.sort)
        if query.text.strip():
            self._await_prepared(query.sort)
        with self._rlock:
            self._read()
            table = self._table(CONTACTS)
            ids = self._index_ready().find(query.text, query.sort, table)
            if query.modified_since is not None:
                since = query.modified_since
                if since.tzinfo is None:
                    raise ValidationError("modified_since", "must carry a time zone",
                                          since.isoformat())
                ids = [cid for cid in ids
                       if datetime.fromisoformat(table[cid]["modified"]) >= since]
            if query.tag_ids or query.tag_kind is not None:
                visible = self._visible_tags(viewer_id)
                wanted = set(query.tag_ids)
                if not wanted <= set(visible):
                    return []
                kind_tags = ({tid for tid, d in visible.items() if d["kind"] == query.tag_kind}
                             if query.tag_kind is not None else None)
                kept = []
                for cid in ids:
                    tags = table[cid].get("tags", ())
                    if wanted and not wanted.issubset(tags):
                        continue
                    if kind_tags is not None and kind_tags.isdisjoint(tags):
                        continue
                    kept.append(cid)
                ids = kept
            if query.descending:
                ids = self._index_ready().descending(ids, query.sort, table)
        end = None if query.limit is None else query.offset + query.limit
        return ids[query.offset:end]

    def quick_contact_ids(self, query: ContactQuery, viewer_id: str | None
                          ) -> tuple[Sequence[str], int, int] | None:
        # Only a text search (any column, either direction) over the characters' bitmaps, with
        # the column's order at hand, the store's lock free and nothing new on disk. (The
        # bitmaps are built from every contact: a store opened deferred has read them all.)
        index = self._index
        if (index is None or index.letters is None or query.tag_ids
                or query.tag_kind is not None or query.modified_since is not None
                or query.sort not in index.orders):
            return None
        if not self._rlock.acquire(blocking=False):
            return None
        try:
            if self._depth or self._index is not index or self._storage.changed_on_disk():
                return None
            table = self._table(CONTACTS)
            ids = index.find_at_once(query.text, query.sort, table, QUICK_CANDIDATES)
            if ids is None:
                return None
            if query.descending:
                ids = index.descending(list(ids), query.sort, table)
            total, generation = len(table), self._generation
        finally:
            self._rlock.release()
        if query.offset or query.limit is not None:
            end = None if query.limit is None else query.offset + query.limit
            ids = ids[query.offset:end]
        return ids, total, generation

    def narrow_contact_ids(self, ids: Sequence[str], text: str, viewer_id: str | None
                           ) -> list[str]:
        words = fold(text).split()
        self._await_prepared()
        with self._rlock:
            self._read()
            index = self._index_ready()
            hay = index.search_texts(self._table(CONTACTS))
            letters = index.letters
            if letters is not None and words:
                letters.catch_up(hay)
                mask = letters.mask(letters.search(words))
                slot_of = letters.slot_of
                return [cid for cid in ids if (s := slot_of.get(cid)) is not None and mask[s]]
            if len(ids) * 4 >= len(hay):
                # Most contacts: one scan of every text in memory order beats picking them.
                if not words:
                    return [cid for cid in ids if cid in hay]
                matching = set(compress(hay, _mask(words, hay)))
                return [cid for cid in ids if cid in matching]
            pairs = [(cid, h) for cid in ids if (h := hay.get(cid)) is not None]
        for word in words:
            digits = _phone_digits(word)
            pairs = ([p for p in pairs if word in p[1]] if digits is None else
                     [p for p in pairs if word in p[1] or digits in p[1]])
        return [cid for cid, _ in pairs]

    def prepare_search(self, sort: str = "name") -> None:
        self._prepare(sort, bitmaps=True)

    def _prepare(self, sort: str, *, bitmaps: bool) -> None:
        # The search texts are built outside the lock (reads and scrolling go on meanwhile)
        # from a snapshot of the contacts, and kept only when nothing was written in between;
        # a search asked for meanwhile waits for them rather than building them again.
        # The characters' bitmaps (_Letters) are built from the same texts, and brought up to
        # date with the texts written meanwhile.
        with self._preparing:
            with self._rlock:
                self._read()
                index = self._index_ready()
                generation = self._generation
                items = (list(self._table(CONTACTS).items()) if index.hay is None else None)
                texts = (list(index.hay.items()) if bitmaps and index.hay is not None
                         and index.letters is None else None)
            hay = None if items is None else {cid: _haystack(doc) for cid, doc in items}
            if hay is not None and bitmaps:
                texts = list(hay.items())
            letters = None if texts is None else _Letters(texts)
            with self._rlock:
                if self._index is index and self._depth == 0:
                    if (hay is not None and index.hay is None
                            and self._generation == generation):
                        index.hay = hay
                    if letters is not None and index.letters is None and index.hay is not None:
                        current = index.hay
                        letters.dirty.update(cid for cid, text in texts or ()
                                             if current.get(cid) != text)
                        if len(current) != len(texts or ()) or letters.dirty:
                            letters.dirty.update(current.keys() - letters.slot_of.keys())
                        index.letters = letters
                if sort in CONTACT_SORTS and index.hay is not None:
                    table = self._table(CONTACTS)
                    if index.letters is not None:
                        index.letters.catch_up(index.hay)
                        index.letters.picker(sort, index._order(sort, table))
                    else:
                        index.picker(sort, table)
                letters = index.letters
                snapshot = (list(letters.texts) if letters is not None and not letters.all_pairs
                            else None)
            # Then the bitmaps of every pair of characters (a word's pairs then leave few
            # texts to test), also outside the lock.
            if bitmaps and letters is not None and snapshot is not None:
                built = pair_bitmaps(snapshot)
                with self._rlock:
                    if self._index is index and index.letters is letters:
                        letters.add_pairs(built, snapshot)

    def _first_matches(self, query: ContactQuery) -> tuple[list[str], int] | None:
        """While the search texts are not indexed yet (being built in a thread): the first
        :data:`FIRST_MATCHES` contacts matching ``query.text``, by a scan of the contacts in
        the sort order (kept for the full answer) testing each one's text, at most
        :data:`SCAN_AT_MOST` of them; None when the index is built, nothing was found, or the
        query has more than a text. The full answer follows from :meth:`contact_ids`."""
        words = fold(query.text).split()
        if (not words or query.tag_ids or query.tag_kind is not None or query.descending
                or query.modified_since is not None or query.offset
                or query.sort not in CONTACT_SORTS):
            return None
        if self._index is None or self._index.hay is None:
            self._ensure_order(query.sort)
        with self._rlock:
            self._read()
            index = self._index_ready()
            if index.hay is not None or self._depth:
                return None
            if self._index is not index or query.sort not in CONTACT_SORTS:
                return None
            table = self._table(CONTACTS)
            order = index._order(query.sort, table)  # kept: the full answer needs it too
            total = len(table)
            wanted = FIRST_MATCHES if query.limit is None else min(query.limit, FIRST_MATCHES)
            tests = [(word, _phone_digits(word)) for word in words]
            found: list[str] = []
            for cid in order[:SCAN_AT_MOST]:
                doc = table.get(cid)
                if doc is None:
                    continue
                if _matches(_haystack(doc), tests):
                    found.append(cid)
                    if len(found) >= wanted:
                        break
        return (found, total) if found else None

    def _await_prepared(self, sort: str = "name") -> None:
        """Have the search texts built outside the store's lock (the UI thread's reads go on
        meanwhile), or wait for a prepare_search under way; never while this thread holds the
        store's lock (the preparation needs it: the search then builds them under it)."""
        if (self._index is None or self._index.hay is None) and not self._rlock._is_owned():  # type: ignore[attr-defined]
            self._prepare(sort, bitmaps=False)  # the texts only: a search is waiting
