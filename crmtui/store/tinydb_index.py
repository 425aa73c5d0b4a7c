"""The TinyDB repository's in-memory contact index: search texts and sort keys, built once and
kept current as contacts change (the store's search and sort read it)."""

from __future__ import annotations

import re
import time
from bisect import bisect_left, insort
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import compress, repeat
from operator import add, itemgetter
from typing import Any, overload

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
        self.letters: _Letters | None = None  # built with ``hay`` (see prepare_search)
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
            text = _haystack(doc)
            if self.letters is not None and self.hay.get(cid) != text:
                self.letters.touch(cid)
            self.hay[cid] = text
        for column, keys in self.sort_keys.items():
            key = f"{_CONTACT_KEYS[column](doc)}\x00{cid}"
            if keys.get(cid) != key:
                self._unplace(column, keys, cid)
                keys[cid] = key
                order = self.orders.get(column)
                if order is not None:
                    insort(order, cid, key=keys.__getitem__)
                self.places.pop(column, None)
                if self.letters is not None:
                    self.letters.pickers.pop(column, None)

    def drop(self, cid: str) -> None:
        if self.hay is not None:
            self.hay.pop(cid, None)
        if self.letters is not None:
            self.letters.touch(cid)
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
        ids = self._find(text, column, contacts)
        assert ids is not None
        return ids if isinstance(ids, list) else list(ids)

    def find_at_once(self, text: str, column: str, contacts: Mapping[str, Mapping[str, Any]],
                     most: int) -> Sequence[str] | None:
        """:meth:`find`, when the characters' bitmaps answer without testing more than
        ``most`` texts, with little to catch up and what orders the answer at hand; else
        None. Many matches are picked in the column's order as they are read (:class:`_Picked`,
        which holds a copy of the order)."""
        return self._find(text, column, contacts, most)

    def _find(self, text: str, column: str, contacts: Mapping[str, Mapping[str, Any]],
              most: int | None = None) -> Sequence[str] | None:
        words = fold(text).split()
        if not words:
            return list(self._order(column, contacts))
        hay = self.search_texts(contacts)
        letters = self.letters
        if letters is not None:
            if most is not None and len(letters.dirty) > CATCH_UP_AT_ONCE:
                return None
            letters.catch_up(hay)
            found = letters.search(words, most)
            if found is None:
                return None
            order = self._order(column, contacts)
            if letters.count(found) * 16 < len(order):
                keys = self._keys(column, contacts)
                ids = letters.ids
                return sorted([ids[s] for s in letters.slots(found)],  # type: ignore[misc]
                              key=keys.__getitem__)
            if most is None:
                return list(compress(order, letters.picker(column, order)(letters.mask(found))))
            if column not in letters.pickers:
                return None
            return _Picked(list(order), letters.places(column, order), letters.mask(found),
                           letters.count(found), letters.slot_of)
        if most is not None:
            return None
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


def _matches(text: str, tests: list[tuple[str, str | None]]) -> bool:
    """Whether a search text holds every word (or, for a phone-like word, its digits)."""
    return all(word in text or (digits is not None and digits in text) for word, digits in tests)


_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_FROM_DIGITS = bytes.maketrans(b"01", b"\x00\x01")
CATCH_UP_AT_ONCE = 100
"""Contacts written since the last search that a quick search catches up with at most."""
RECENT_SEARCHES = 8
"""Searches whose matches :class:`_Letters` keeps (a longer search starts from them)."""

Found = int | list[int]
"""Matching slots: a bitmap (bit ``i`` for slot ``i``) or an ascending list."""


def _bitmap(mask: bytes | bytearray) -> int:
    """The bitmap of a mask of one byte (0 or 1) per slot."""
    return int(mask.translate(_TO_DIGITS)[::-1] or b"0", 2)


class _Letters:
    """Which search texts hold each character, one bit per contact, to answer a search
    without testing every text.

    Each contact has a *slot* (its bit). A search word's matches are among the texts holding
    all its characters (one AND of bitmaps); a one-character word's matches are exactly these,
    a longer word's are the candidates that contain it (a substring test each). The matches of
    the last searches are kept: a search that only adds to their words (the next letter typed)
    tests only their matches. Contacts written since are caught up before the next search
    (:meth:`touch`, :meth:`catch_up`). Whitespace separates words, so it has no bitmap.
    """

    def __init__(self, hay: Iterable[tuple[str, str]]) -> None:
        self.slot_of: dict[str, int] = {}
        self.ids: list[str | None] = []
        texts: list[str] = []
        for cid, text in hay:
            self.slot_of[cid] = len(self.ids)
            self.ids.append(cid)
            texts.append(text)
        self.texts = texts  # "" for a deleted contact's slot
        self.bits: dict[str, int] = {}
        for ch in set().union(*texts):
            if not ch.isspace():
                self.bits[ch] = self._scan(ch)
        self.pairs: dict[str, int] = {}
        """Bitmaps of pairs of characters: every pair once :meth:`add_pairs` has run (see
        :func:`pair_bitmaps`), else each made when a search first needs it."""
        self.all_pairs = False
        self.dirty: set[str] = set()
        """Contacts written since their bits were set (see :meth:`catch_up`)."""
        self.recent: OrderedDict[tuple[str, ...], Found] = OrderedDict()
        # per column: the slot of each id in the column's order, and what picks the bytes of
        # a slots' mask in that order
        self.pickers: dict[str, tuple[list[int], Callable[[bytes], Sequence[int]]]] = {}

    def _scan(self, part: str) -> int:
        return _bitmap(bytes([part in text for text in self.texts]))

    def touch(self, cid: str) -> None:
        """The contact's search text changed, or it was deleted."""
        self.dirty.add(cid)
        self.recent.clear()

    def catch_up(self, hay: Mapping[str, str]) -> None:
        """Bring the bits of the contacts written since up to date with ``hay``."""
        if not self.dirty:
            return
        changed = self.dirty
        self.dirty = set()
        self.recent.clear()
        cleared: list[int] = []
        added: dict[str, list[int]] = {}
        for cid in changed:
            slot = self.slot_of.get(cid)
            text = hay.get(cid)
            if slot is None:
                if text is None:
                    continue
                slot = self.slot_of[cid] = len(self.ids)
                self.ids.append(cid)
                self.texts.append(text)
                self.pickers.clear()  # a new slot: every order's places change
            else:
                cleared.append(slot)
                if text is None:  # deleted: its slot stays empty
                    del self.slot_of[cid]
                    self.ids[slot] = None
                    self.pickers.clear()
                self.texts[slot] = text or ""
            if text is None:
                continue
            for ch in set(text):
                if ch in self.bits:
                    added.setdefault(ch, []).append(slot)
                elif not ch.isspace():
                    self.bits[ch] = 0  # a new character: set below
                    added[ch] = [slot]
            for pair in set(map(add, text, text[1:])):
                if pair in self.pairs:
                    added.setdefault(pair, []).append(slot)
        if cleared:
            gone = _bitmap(self._scatter(cleared))
            kept = ~gone
            for bitmaps in (self.bits, self.pairs):
                for gram, bits in bitmaps.items():
                    if bits & gone:
                        bitmaps[gram] = bits & kept
        for gram, slots in added.items():
            bitmaps = self.bits if len(gram) == 1 else self.pairs
            bitmaps[gram] |= _bitmap(self._scatter(slots))

    def add_pairs(self, built: dict[str, int], texts: Sequence[str]) -> None:
        """Take the bitmaps of every pair, :func:`pair_bitmaps` of ``texts`` (the texts of
        the slots when they were built), bringing up to date the slots changed since."""
        current = self.texts
        changed = [s for s, (now, then) in enumerate(zip(current, texts, strict=False))
                   if now is not then]
        changed += range(len(texts), len(current))
        if changed:
            kept = ~_bitmap(self._scatter(changed))
            added: dict[str, list[int]] = {}
            for slot in changed:
                text = current[slot]
                for pair in set(map(add, text, text[1:])):
                    if pair in built:
                        added.setdefault(pair, []).append(slot)
            for pair in built:
                built[pair] &= kept
            for pair, slots in added.items():
                built[pair] |= _bitmap(self._scatter(slots))
        for pair, bits in built.items():
            self.pairs.setdefault(pair, bits)  # one made meanwhile is as good
        self.all_pairs = True

    def _scatter(self, slots: Iterable[int]) -> bytearray:
        mask = bytearray(len(self.ids))
        deque(map(mask.__setitem__, slots, repeat(1)), maxlen=0)
        return mask

    def _word_bits(self, word: str) -> int:
        """The texts holding every character of ``word`` and the pairs of them known."""
        bits = -1
        for ch in set(word):
            bits &= self.bits.get(ch, 0)
        for pair in set(map(add, word, word[1:])):
            pair_bits = self.pairs.get(pair)
            if pair_bits is not None:
                bits &= pair_bits
        return bits

    @overload
    def search(self, words: list[str]) -> Found: ...

    @overload
    def search(self, words: list[str], most: int | None) -> Found | None: ...

    def search(self, words: list[str], most: int | None = None) -> Found | None:
        """The slots whose texts hold every word (or, for a phone-like word, its digits);
        None when that needs testing more than ``most`` texts."""
        key = tuple(words)
        found = self.recent.get(key)
        if found is not None:
            self.recent.move_to_end(key)
            return found
        bits = -1
        every = []
        for word in dict.fromkeys(words):
            digits = _phone_digits(word)
            word_bits = self._word_bits(word)
            if digits is not None:
                word_bits |= self._word_bits(digits)
            bits &= word_bits
            every.append((word, digits))
        pairs = self.pairs
        if len(every) == 1 and len(words[0]) == 2 and words[0] not in pairs and bits:
            # One word of two characters (the second letter typed): its pair's bitmap, from
            # the texts holding both characters (only they can hold the pair).
            pair = words[0]
            hits = bytes([pair in text for text in compress(self.texts, self.mask(bits))])
            pairs[pair] = _bitmap(self._scatter(compress(self.slots(bits), hits)))
            bits &= pairs[pair]
        # Words of one character, or two with their pair's bitmap: the bits are their answer.
        tests = [test for test in every if len(test[0]) > 2
                 or (len(test[0]) == 2 and test[0] not in pairs)]
        if not tests:
            return self._keep(key, bits)
        # An earlier search that these words narrow (each of its words is part of one of
        # these), with fewer matches than the candidates? (Not with a phone-like word, which
        # also matches its digits alone.)
        candidates: Found = bits
        fewest = bits.bit_count()
        if all(digits is None for _, digits in tests):
            for earlier, matches in self.recent.items():
                if (self.count(matches) < fewest
                        and all(any(e in w for w in words) for e in earlier)):
                    # its matches, not these bits: every word is tested
                    candidates, fewest, tests = matches, self.count(matches), every
        if most is not None and fewest > most:
            return None
        texts = self.texts
        if len(tests) == 1 and tests[0][1] is None:
            word = tests[0][0]
            found = [s for s in self.slots(candidates) if word in texts[s]]
        else:
            found = [s for s in self.slots(candidates) if _matches(texts[s], tests)]
        if len(found) * 16 > len(texts):  # many: a bitmap is smaller than a list
            return self._keep(key, _bitmap(self._scatter(found)))
        return self._keep(key, found)

    def _keep(self, key: tuple[str, ...], found: Found) -> Found:
        self.recent[key] = found
        while len(self.recent) > RECENT_SEARCHES:
            self.recent.popitem(last=False)
        return found

    @staticmethod
    def count(found: Found) -> int:
        return found.bit_count() if isinstance(found, int) else len(found)

    def mask(self, found: Found) -> bytes:
        """One byte per slot: 1 for the slots of ``found``."""
        if isinstance(found, list):
            return bytes(self._scatter(found))
        n = len(self.ids)
        digits = bin(found)[:1:-1][:n].ljust(n, "0")
        return digits.encode("ascii").translate(_FROM_DIGITS)

    def slots(self, found: Found) -> Sequence[int]:
        """The slots of ``found``, ascending."""
        if isinstance(found, list):
            return found
        return list(compress(range(len(self.ids)), self.mask(found)))

    def picker(self, column: str, order: Sequence[str]) -> Callable[[bytes], Sequence[int]]:
        """What picks the bytes of a slots' mask in ``order`` (every contact, in the column's
        order)."""
        return self._placed(column, order)[1]

    def places(self, column: str, order: Sequence[str]) -> list[int]:
        """The slot of each id of ``order`` (every contact, in the column's order)."""
        return self._placed(column, order)[0]

    def _placed(self, column: str, order: Sequence[str]
                ) -> tuple[list[int], Callable[[bytes], Sequence[int]]]:
        placed = self.pickers.get(column)
        if placed is None:
            slot_of = self.slot_of
            places = [slot_of[cid] for cid in order]
            placed = self.pickers[column] = (places, _pick(places))
        return placed


PAIRS_BLOCK = 8192
"""Texts :func:`pair_bitmaps` indexes at a time (its memory stays small)."""


def pair_bitmaps(texts: Sequence[str]) -> dict[str, int]:
    """The bitmap of every pair of characters (without whitespace) of ``texts``: bit ``i``
    for ``texts[i]`` holding the pair. A second or two at 100,000 contacts: meant for a
    thread, it lets others run between blocks of texts."""
    bitmaps: dict[str, int] = {}
    for base in range(0, len(texts), PAIRS_BLOCK):
        postings: dict[str, list[int]] = {}
        for i, text in enumerate(texts[base:base + PAIRS_BLOCK]):
            for pair in set(map(add, text, text[1:])):
                posting = postings.get(pair)
                if posting is None:
                    postings[pair] = [i]
                else:
                    posting.append(i)
        size = min(PAIRS_BLOCK, len(texts) - base)
        for pair, slots in postings.items():
            mask = bytearray(size)
            deque(map(mask.__setitem__, slots, repeat(1)), maxlen=0)
            bitmaps[pair] = bitmaps.get(pair, 0) | (_bitmap(mask) << base)
        time.sleep(0)  # the UI thread's turn
    return {pair: bits for pair, bits in bitmaps.items()
            if not (pair[0].isspace() or pair[1].isspace())}


def _pick(places: list[int]) -> Callable[[bytes], Sequence[int]]:
    """What picks the bytes at ``places`` of a mask."""
    if len(places) > 1:  # in C, see _ContactIndex.picker
        return itemgetter(*places)

    def pick(mask: bytes, places: list[int] = places) -> Sequence[int]:
        return [mask[i] for i in places]
    return pick


class _Picked(Sequence[str]):
    """The ids of ``order`` whose slots ``mask`` marks, in that order, picked as they are
    read: a search matching most contacts shows its first rows without picking them all.

    ``order`` and ``places`` (the slot of each of its ids) are not changed afterwards;
    ``slot_of`` (the live map of the slots) tells at once whether an id is among them."""

    CHUNK = 2048

    def __init__(self, order: list[str], places: list[int], mask: bytes, count: int,
                 slot_of: Mapping[str, int]) -> None:
        self._order = order
        self._places = places
        self._mask = mask
        self._count = count
        self._slot_of = slot_of
        self._ids: list[str] = []
        self._done = 0  # ids of the order looked at

    def __len__(self) -> int:
        return self._count

    def _fill(self, needed: int) -> None:
        """Pick until ``needed`` ids are picked (or the order is done)."""
        ids, order, count = self._ids, self._order, max(1, self._count)
        while len(ids) < needed and self._done < len(order):
            # enough of the order for the ids missing, as dense as the matches are
            step = max(self.CHUNK, (needed - len(ids)) * len(order) // count * 5 // 4)
            start, stop = self._done, min(len(order), self._done + step)
            ids.extend(compress(order[start:stop], _pick(self._places[start:stop])(self._mask)))
            self._done = stop

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            self._fill(max(start, stop) if step > 0 else self._count)
            return self._ids[start:stop:step] if step > 0 else self._ids[index]
        i = index + self._count if index < 0 else index
        if not 0 <= i < self._count:
            raise IndexError("index out of range")
        self._fill(i + 1)
        return self._ids[i]

    def __iter__(self) -> Iterator[str]:
        self._fill(self._count)
        return iter(self._ids)

    def __contains__(self, key: object) -> bool:
        slot = self._slot_of.get(key) if isinstance(key, str) else None
        if slot is None:  # not a contact, or deleted since: look
            self._fill(self._count)
            return key in self._ids
        return slot < len(self._mask) and bool(self._mask[slot])

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        if value not in self:
            raise ValueError(f"{value!r} is not among the ids")
        end = self._count if stop is None else stop
        looked = start
        while True:
            try:
                return self._ids.index(value, looked, end)
            except ValueError:
                if len(self._ids) >= min(end, self._count):
                    raise
                looked = max(start, len(self._ids))
                self._fill(min(self._count, len(self._ids) * 2 + self.CHUNK))


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
