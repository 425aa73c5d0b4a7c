"""vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) contacts, read and written with vobject.

Mapping of a crmtui contact to a card:

================  ===============================================================================
property          crmtui field
================  ===============================================================================
UID               id (a card without a usable UID gets a new id)
N                 family_name; given_name; middle_name
FN                the display name (read as the given name only when a card has no N)
ORG, TITLE        company, job_title
EMAIL, TEL, ADR   emails, phones, addresses, with TYPE (work, home; for TEL also cell = mobile,
                  main, fax) and the primary one marked PREF (3.0: ``TYPE=WORK,PREF``; 4.0:
                  ``TYPE=work;PREF=1``); a type crmtui does not know is read as "other"
BDAY              birthday (3.0: ``1990-05-17``; 4.0: ``19900517``)
NOTE              notes
CATEGORIES        tags, by name (only tags the exporting user can see)
REV               modified, in UTC to the second; ``X-CRMTUI-MODIFIED`` carries the exact time
                  when REV cannot (fractions of a second, another offset)
X-CRMTUI-CREATED  created
================  ===============================================================================

On import, unknown properties and groups (``item1.EMAIL``) are accepted; a birthday without a
year is left out and noted in the report; anything else that is not valid refuses the file, naming
the card and the line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import IO, Any

import vobject
from vobject.base import Component, ContentLine

from crmtui.model import (
    Address,
    Contact,
    Email,
    Phone,
    Tag,
    ValidationError,
    check_aware,
    new_id,
)
from crmtui.store import ContactQuery, Repository

from .common import ExportReport, FormatError, ImportReport, ParsedContact, write_contacts

VERSIONS = ("3.0", "4.0")
PRODID = "-//crmtui//crmtui//EN"

# crmtui type -> vCard TYPE value; "other" is written without a TYPE.
EMAIL_TYPES_OUT = {"work": "work", "home": "home"}
PHONE_TYPES_OUT = {"work": "work", "home": "home", "mobile": "cell", "main": "main", "fax": "fax"}
ADDRESS_TYPES_OUT = {"work": "work", "home": "home"}
# vCard TYPE value -> crmtui type, in order of precedence (a work fax is a fax).
EMAIL_TYPES_IN = (("work", "work"), ("home", "home"))
PHONE_TYPES_IN = (("fax", "fax"), ("cell", "mobile"), ("mobile", "mobile"), ("main", "main"),
                  ("x-main", "main"), ("work", "work"), ("home", "home"))
ADDRESS_TYPES_IN = EMAIL_TYPES_IN

# Fields a card always sets (an update replaces them).
CARD_FIELDS = frozenset(("given_name", "middle_name", "family_name", "company", "job_title",
                         "emails", "phones", "addresses", "birthday", "notes", "tags"))


# --------------------------------------------------------------------------- export


def export_vcard(repo: Repository, viewer_id: str, version: str, out: IO[str]
                 ) -> ExportReport:
    """Write every contact to ``out`` as vCards of ``version`` ("3.0" or "4.0"), as it is
    read."""
    tag_names = {t.id: t.name for t in repo.list_tags(viewer_id)}
    count = 0
    for c in repo.stream_contacts(ContactQuery(), viewer_id):
        out.write(_card(c, [tag_names[t] for t in c.tags if t in tag_names], version)
                  .serialize())
        count += 1
    return ExportReport(counts={"contacts": count})


def _card(c: Contact, tags: Sequence[str], version: str) -> Component:
    card = vobject.vCard()
    card.add("version").value = version
    card.add("prodid").value = PRODID
    card.add("uid").value = c.id
    card.add("n").value = vobject.vcard.Name(family=c.family_name, given=c.given_name,
                                             additional=c.middle_name)
    card.add("fn").value = c.display_name
    if c.company:
        card.add("org").value = [c.company]
    if c.job_title:
        card.add("title").value = c.job_title
    for e in c.emails:
        line = card.add("email")
        line.value = e.value
        _typed(line, EMAIL_TYPES_OUT.get(e.type), e.primary, version,
               always=["INTERNET"] if version == "3.0" else [])
    for p in c.phones:
        line = card.add("tel")
        line.value = p.value
        _typed(line, PHONE_TYPES_OUT.get(p.type), p.primary, version)
    for a in c.addresses:
        line = card.add("adr")
        line.value = vobject.vcard.Address(street=a.street, city=a.city, region=a.region,
                                           code=a.postal_code, country=a.country)
        _typed(line, ADDRESS_TYPES_OUT.get(a.type), a.primary, version)
    if c.birthday:
        card.add("bday").value = c.birthday.strftime("%Y-%m-%d" if version == "3.0" else "%Y%m%d")
    if c.notes:
        card.add("note").value = c.notes
    if tags:
        card.add("categories").value = list(tags)
    rev = c.modified.astimezone(UTC).replace(microsecond=0)
    card.add("rev").value = rev.strftime("%Y-%m-%dT%H:%M:%SZ" if version == "3.0"
                                         else "%Y%m%dT%H%M%SZ")
    if rev.isoformat() != c.modified.isoformat():
        card.add("x-crmtui-modified").value = c.modified.isoformat()
    card.add("x-crmtui-created").value = c.created.isoformat()
    return card


def _typed(line: ContentLine, kind: str | None, primary: bool, version: str,
           always: Sequence[str] = ()) -> None:
    if version == "3.0":
        types = [*always, *([kind.upper()] if kind else []), *(["PREF"] if primary else [])]
        if types:
            line.params["TYPE"] = types
    else:
        if kind:
            line.params["TYPE"] = [kind]
        if primary:
            line.params["PREF"] = ["1"]


# --------------------------------------------------------------------------- import


def import_vcard(repo: Repository, name: str, text: str, *, viewer_id: str, on_existing: str
                 ) -> ImportReport:
    """Add (or skip, or update) the contacts of a vCard file, all in one transaction."""
    parsed, notes = parse_vcards(name, text)
    report = write_contacts(repo, name, parsed, viewer_id=viewer_id, on_existing=on_existing)
    report.skipped[:0] = notes
    return report


def parse_vcards(name: str, text: str) -> tuple[list[ParsedContact], list[str]]:
    """Parse and validate every card; returns the contacts and notes on what was left out."""
    parsed: list[ParsedContact] = []
    notes: list[str] = []
    for number, (start, raw) in enumerate(_split_cards(name, text), 1):
        parsed.append(_Card(name, number, start, raw).contact(notes))
    return parsed, notes


def _split_cards(name: str, text: str) -> list[tuple[int, list[str]]]:
    """The cards of ``text`` as (line number of BEGIN, raw lines)."""
    cards: list[tuple[int, list[str]]] = []
    current: tuple[int, list[str]] | None = None
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        folded = raw[:1] in (" ", "\t")
        key = "" if folded else raw.strip().upper()
        if current is None:
            if not raw.strip():
                continue
            if key != "BEGIN:VCARD":
                raise FormatError(name, f"line {number}", "text outside a card: every card "
                                  "starts with BEGIN:VCARD and ends with END:VCARD")
            current = (number, [raw])
            continue
        if key == "BEGIN:VCARD":
            raise FormatError(name, f"record {len(cards) + 1} (line {current[0]})",
                              f"the card is not closed with END:VCARD before line {number}")
        current[1].append(raw)
        if key == "END:VCARD":
            cards.append(current)
            current = None
    if current is not None:
        raise FormatError(name, f"record {len(cards) + 1} (line {current[0]})",
                          "the card is not closed with END:VCARD")
    if not cards:
        raise FormatError(name, "", "the file holds no vCard (no BEGIN:VCARD line)")
    return cards


class _Card:
    """One card being read: its text, where it is, and the line of each property."""

    def __init__(self, name: str, number: int, start: int, raw: list[str]) -> None:
        self.name = name
        self.number = number
        self.start = start
        self.lines: dict[str, list[int]] = {}  # property name -> line numbers, in order
        logical: list[tuple[int, str]] = []
        for offset, line in enumerate(raw):
            if line[:1] in (" ", "\t") and logical:
                logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
            else:
                logical.append((start + offset, line))
        for lineno, line in logical:
            prop = re.split(r"[;:]", line, maxsplit=1)[0].rsplit(".", 1)[-1].lower()
            self.lines.setdefault(prop, []).append(lineno)
        try:
            self.card = vobject.readOne("\r\n".join(raw) + "\r\n")
        except Exception as exc:  # vobject raises assorted errors on malformed input
            text = str(exc)
            bad = text.split("Failed to parse line: ", 1)[-1].strip()
            at = next((n for n, line in logical if line.strip() == bad), start)
            text = re.sub(r"^At line \d+: ", "", text)
            raise FormatError(name, self.where(at), f"not a valid vCard: {text}") from None

    def where(self, line: int | None = None) -> str:
        return f"record {self.number} (line {line or self.start})"

    def fail(self, prop: str, index: int, reason: str) -> FormatError:
        lines = self.lines.get(prop, [])
        return FormatError(self.name, self.where(lines[index] if index < len(lines) else None),
                           f"{prop.upper()}: {reason}")

    def values(self, prop: str) -> list[ContentLine]:
        return list(self.card.contents.get(prop, []))

    def text(self, prop: str) -> str:
        lines = self.values(prop)
        return _text(lines[0].value) if lines else ""

    def contact(self, notes: list[str]) -> ParsedContact:
        values: dict[str, Any] = {}
        given = set(CARD_FIELDS)
        names = self.values("n")
        if names:
            n = names[0].value
            values.update(family_name=_text(n.family), given_name=_text(n.given),
                          middle_name=_text(n.additional))
        values["company"] = _text(self.values("org")[0].value[:1]) if self.values("org") else ""
        values["job_title"] = self.text("title")
        values["emails"] = self.typed("email", Email, EMAIL_TYPES_IN, "mailto:")
        values["phones"] = self.typed("tel", Phone, PHONE_TYPES_IN, "tel:")
        values["addresses"] = self.addresses()
        values["notes"] = "\n".join(_text(line.value) for line in self.values("note"))
        full = self.text("fn")
        if not any(values.get(k) for k in ("given_name", "family_name", "middle_name")) and \
                full and full != values["company"] and \
                full.casefold() not in {e.value.casefold() for e in values["emails"]}:
            values["given_name"] = full
        birthday = self.birthday(notes)
        if birthday is None and self.values("bday"):
            given.discard("birthday")  # a birthday crmtui cannot hold; keep the stored one
        values["birthday"] = birthday
        values.update(self.times())
        if "created" in values:
            given.add("created")
        uid = self.text("uid").strip()
        has_id = bool(uid) and re.fullmatch(r"[A-Za-z0-9_.:\-]{1,100}", uid) is not None
        values["id"] = uid if has_id else new_id()
        try:
            contact = Contact(**values)
        except ValidationError as exc:
            prop = {"given_name": "n", "family_name": "n", "middle_name": "n", "name": "n",
                    "company": "org", "job_title": "title", "notes": "note",
                    "emails": "email"}.get(exc.field, exc.field)
            raise self.fail(prop, 0, str(exc)) from None
        return ParsedContact(contact=contact, where=self.where(), given=frozenset(given),
                             tag_names=self.categories(), has_id=has_id)

    def typed(self, prop: str, cls: type[Email] | type[Phone],
              types: Sequence[tuple[str, str]], scheme: str) -> list[Any]:
        out = []
        for index, line in enumerate(self.values(prop)):
            value = _text(line.value).strip()
            if value.lower().startswith(scheme):
                value = value[len(scheme):]
            tokens = _types(line)
            try:
                out.append(cls(value=value, type=_kind(tokens, types), primary=_pref(line, tokens)))
            except ValidationError as exc:
                raise self.fail(prop, index, str(exc)) from None
        return out

    def addresses(self) -> list[Address]:
        out = []
        for index, line in enumerate(self.values("adr")):
            a = line.value
            street = "\n".join(s for s in (_text(a.street), _text(a.extended), _text(a.box)) if s)
            parts = dict(street=street, city=_text(a.city), region=_text(a.region),
                         postal_code=_text(a.code), country=_text(a.country))
            if not any(v.strip() for v in parts.values()):
                continue  # an empty address some programs write
            tokens = _types(line)
            try:
                out.append(Address(type=_kind(tokens, ADDRESS_TYPES_IN),
                                   primary=_pref(line, tokens), **parts))
            except ValidationError as exc:
                raise self.fail("adr", index, str(exc)) from None
        return out

    def birthday(self, notes: list[str]) -> date | None:
        lines = self.values("bday")
        if not lines:
            return None
        raw = _text(lines[0].value).strip()
        text = raw.split("T", 1)[0]
        if text.startswith("--") or lines[0].params.get("VALUE", [""])[0].lower() == "text":
            notes.append(f"{self.where(self.lines['bday'][0])}: the birthday {raw!r} is not a "
                         "full date; it was left out")
            return None
        for fmt in ("%Y-%m-%d", "%Y%m%d"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise self.fail("bday", 0, f"is not a date (YYYY-MM-DD or YYYYMMDD) (got {raw!r})")

    def times(self) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        created = self.text("x-crmtui-created")
        if created:
            out["created"] = self.instant("x-crmtui-created", created)
        rev = self.text("rev")
        if rev:
            modified = self.instant("rev", rev)
            exact = self.text("x-crmtui-modified")
            if exact:
                precise = self.instant("x-crmtui-modified", exact)
                if precise.astimezone(UTC).replace(microsecond=0) == modified:
                    modified = precise  # REV was not changed by another program since
            out["modified"] = modified
        return out

    def instant(self, prop: str, text: str) -> datetime:
        text = text.strip()
        try:
            value = datetime.fromisoformat(text) if "T" in text else \
                datetime.combine(date.fromisoformat(text), datetime.min.time())
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)  # a floating time: read as UTC
            return check_aware(prop, value)
        except (ValueError, ValidationError):
            raise self.fail(prop, 0, f"is not an ISO 8601 date and time (got {text!r})"
                            ) from None

    def categories(self) -> list[str]:
        names: list[str] = []
        for index, line in enumerate(self.values("categories")):
            value = line.value if isinstance(line.value, list) else [line.value]
            for item in value:
                tag_name = _text(item).strip()
                if not tag_name or tag_name in names:
                    continue
                try:
                    Tag(name=tag_name)
                except ValidationError as exc:
                    raise self.fail("categories", index, f"{exc.problem} ({tag_name!r})"
                                    ) from None
                names.append(tag_name)
        return names


def _text(value: Any) -> str:
    """A property value as text (vobject gives a list where a component had commas)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value if v)
    return "" if value is None else str(value)


def _types(line: ContentLine) -> list[str]:
    """The TYPE values of a line, lower case (``TYPE=WORK,PREF``, ``TYPE="work,voice"``, or
    vCard 2.1's bare ``;WORK``)."""
    raw = [*line.params.get("TYPE", []), *line.singletonparams]
    return [t.strip().lower() for value in raw for t in value.split(",") if t.strip()]


def _kind(tokens: Sequence[str], types: Sequence[tuple[str, str]]) -> str:
    return next((ours for theirs, ours in types if theirs in tokens), "other")


def _pref(line: ContentLine, tokens: Sequence[str]) -> bool:
    return "pref" in tokens or "PREF" in line.params


__all__ = ["VERSIONS", "export_vcard", "import_vcard", "parse_vcards"]
