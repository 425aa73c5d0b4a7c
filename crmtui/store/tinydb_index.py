"""The TinyDB repository's in-memory contact index: search texts and sort keys, built once and
kept current as contacts change (the store's search and sort read it)."""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import compress
from operator import itemgetter
from typing import Any

from crmtui.model import fold


def _instant(text: str | None) -> datetime:
    if not text:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(text).astimezone(UTC)


class _ContactIndex:
    """In-memory search text and sort keys of every contact, kept up to date on writes.

    Each part is built on first use (listing needs no search text). A sort key is one string
    that ends with the contact's id, so sorting compares plain strings and ties keep a stable
    order. Searching scans the texts in the order they were built (reading memory in sequence)
    and marks the matches in a bytes mask; many matches are then picked from the cached order
    of all contacts, few are sorted.
    """

    def __init__(self) -> None:
        self.hay: dict[str, str] | None = None
        self.sort_keys: dict[str, dict[str, str]] = {}
        self.orders: dict[str, list[str]] = {}  # every contact id, sorted by a column
        # per column: picks the mask's bytes of an order's ids (where each is in ``hay``)
        self.places: dict[str, Callable[[bytes], Sequence[int]]] = {}

    def put(self, cid: str, doc: Mapping[str, Any]) -> None:
        """A contact added or changed: its sort keys and place in the built orders move (a
        binary search, not a new sort); only what a move makes stale is dropped."""
        if self.hay is not None:
            if cid not in self.hay:
                self.places.clear()  # a new text at the end: every order's places change
            self.hay[cid] = _haystack(doc)
        for column, keys in self.sort_keys.items():
            key = f"{_CONTACT_KEYS[column](doc)}\x00{cid}"
            if keys.get(cid) != key:
                self._unplace(column, keys, cid)
                keys[cid] = key
                order = self.orders.get(column)
                if order is not None:
                    insort(order, cid, key=keys.__getitem__)
                self.places.pop(column, None)

    def drop(self, cid: str) -> None:
        if self.hay is not None:
            self.hay.pop(cid, None)
        for column, keys in self.sort_keys.items():
            self._unplace(column, keys, cid)
            keys.pop(cid, None)
        self.places.clear()

    def _unplace(self, column: str, keys: dict[str, str], cid: str) -> None:
        """Take ``cid`` out of the column's built order (found by its current key)."""
        order = self.orders.get(column)
        if order is None or cid not in keys:
            return
        i = bisect_left(order, keys[cid], key=keys.__getitem__)
        if i < len(order) and order[i] == cid:
            del order[i]
        else:
            del self.orders[column]  # not where its key says: built again when next needed

    def search_texts(self, contacts: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """The search text of every contact (built on first use)."""
        if self.hay is None:
            self.hay = {cid: _haystack(doc) for cid, doc in contacts.items()}
        return self.hay

    def find(self, text: str, column: str, contacts: Mapping[str, Mapping[str, Any]]
             ) -> list[str]:
        """Ids of the contacts matching every word of ``text``, in the column's order."""
        words = fold(text).split()
        if not words:
            return list(self._order(column, contacts))
        hay = self.search_texts(contacts)
        mask = _mask(words, hay)
        if mask.count(1) * 8 < len(mask) and column in self.sort_keys:
            keys = self._keys(column, contacts)
            return sorted(compress(hay, mask), key=keys.__getitem__)
        # Many matches, or the first search by this column (which builds all it needs).
        return list(compress(self._order(column, contacts), self.picker(column, contacts)(mask)))

    def picker(self, column: str, contacts: Mapping[str, Mapping[str, Any]]
               ) -> Callable[[bytes], Sequence[int]]:
        """What picks the bytes of a mask over ``hay`` in the column's order of the ids."""
        pick = self.places.get(column)
        if pick is None:
            order = self._order(column, contacts)
            where = {cid: i for i, cid in enumerate(self.search_texts(contacts))}
            places = [where[cid] for cid in order]
            # itemgetter permutes the mask into the column's order in C (a third of the time
            # of a Python loop); with fewer than two contacts it would not return a tuple.
            if len(places) > 1:
                pick = itemgetter(*places)
            else:
                def pick(mask: bytes, places: list[int] = places) -> Sequence[int]:
                    return [mask[i] for i in places]
            self.places[column] = pick
        return pick

    def descending(self, ids: list[str], column: str,
                   contacts: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """``ids`` (in the column's order) reversed, contacts without a value still last."""
        ids.reverse()
        if column not in _TEXT_SORTS:
            return ids
        keys = self._keys(column, contacts)
        empty = 0
        for cid in ids:
            if not keys[cid].startswith(_EMPTY):
                break
            empty += 1
        return ids[empty:] + ids[:empty] if empty else ids

    def _keys(self, column: str, contacts: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        keys = self.sort_keys.setdefault(column, {})
        if len(keys) != len(contacts):
            fn = _CONTACT_KEYS[column]
            for cid, doc in contacts.items():
                if cid not in keys:
                    keys[cid] = f"{fn(doc)}\x00{cid}"
        return keys

    def _order(self, column: str, contacts: Mapping[str, Mapping[str, Any]]) -> list[str]:
        order = self.orders.get(column)
        if order is None:
            keys = self._keys(column, contacts)
            order = self.orders[column] = sorted(keys, key=keys.__getitem__)
        return order


def _mask(words: list[str], hay: dict[str, str]) -> bytes:
    """One byte per search text of ``hay``: 1 where every word occurs in it.

    A word of digits and phone punctuation also matches its digits alone (a phone's digits).
    The first word scans every text, the others test only the texts still matching; the
    comparisons are spelled out, as a general test per text would double the time."""
    texts = hay.values()
    mask: bytes | None = None
    for word in words:
        digits = _phone_digits(word)
        if mask is None:
            mask = bytes([word in h for h in texts] if digits is None else
                         [word in h or digits in h for h in texts])
        elif digits is None:
            mask = bytes([m and word in h for m, h in zip(mask, texts, strict=True)])
        else:
            mask = bytes([m and (word in h or digits in h)
                          for m, h in zip(mask, texts, strict=True)])
    assert mask is not None, "no words to search for"
    return mask


_NOT_DIGITS = re.compile(r"[^0-9]")


def _phone_digits(word: str) -> str | None:
    """The digits of a search word made of digits and phone punctuation, if it has 3 or more."""
    digits = _NOT_DIGITS.sub("", word)
    if len(digits) >= 3 and digits != word and len(digits) == len(word.replace("-", "")
                                                                   .replace("+", "")):
        return digits
    return None


def _haystack(doc: Mapping[str, Any]) -> str:
    parts = [doc.get("given_name", ""), doc.get("middle_name", ""), doc.get("family_name", ""),
             doc.get("company", "")]
    parts += [e.get("value", "") for e in doc.get("emails", ())]
    for p in doc.get("phones", ()):
        value = p.get("value", "")
        parts.append(value)
        parts.append(_NOT_DIGITS.sub("", value))
    # Folded part by part: most parts are ASCII, which folds fast.
    return "\x1f".join(map(fold, parts))


def _first(doc: Mapping[str, Any], key: str) -> str:
    items = doc.get(key) or ()
    for item in items:
        if item.get("primary"):
            return str(item.get("value", ""))
    return str(items[0].get("value", "")) if items else ""


_EMPTY = "1"


def _text_key(value: str) -> str:
    # Empty values sort last (in both directions: see _ContactIndex.descending).
    return "0" + fold(value) if value else _EMPTY


_CONTACT_KEYS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "name": lambda d: _text_key(" ".join(p for p in (d.get("family_name", ""),
                                                      d.get("given_name", ""),
                                                      d.get("middle_name", "")) if p)
                                or d.get("company", "") or _first(d, "emails")),
    "given_name": lambda d: _text_key(d.get("given_name", "")),
    "family_name": lambda d: _text_key(d.get("family_name", "")),
    "company": lambda d: _text_key(d.get("company", "")),
    "job_title": lambda d: _text_key(d.get("job_title", "")),
    "email": lambda d: _text_key(_first(d, "emails")),
    "phone": lambda d: _text_key(_first(d, "phones")),
    "birthday": lambda d: _text_key(d.get("birthday") or ""),
    "created": lambda d: _instant(d.get("created")).isoformat(timespec="microseconds"),
    "modified": lambda d: _instant(d.get("modified")).isoformat(timespec="microseconds"),
}


_TEXT_SORTS = frozenset(_CONTACT_KEYS) - {"created", "modified"}
