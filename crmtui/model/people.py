"""People and how they are labelled: users, contacts (with their emails, phones and addresses)
and tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from crmtui.model.common import (
    MAX_NAME,
    MAX_NOTES,
    MAX_SHORT,
    ValidationError,
    _check_list,
    _coerce,
    _Entity,
    _known,
    _opt_date,
    check_aware,
    check_choice,
    check_email,
    check_enum,
    check_id,
    check_phone,
    clean_text,
    new_id,
    utcnow,
)

# Types of emails, phones and addresses ("typed values").
EMAIL_TYPES = ("work", "home", "other")
PHONE_TYPES = ("work", "home", "mobile", "main", "fax", "other")
ADDRESS_TYPES = ("work", "home", "other")


class TagKind(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"
    CORPORATE = "corporate"


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True, slots=True)
class Email:
    value: str
    type: str = "work"
    primary: bool = False

    _from_text = True  # a bare address is enough to build one (see _coerce)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_email("email", self.value))
        object.__setattr__(self, "type", check_choice("email type", self.type or "other", EMAIL_TYPES))
        object.__setattr__(self, "primary", bool(self.primary))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "type": self.type, "primary": self.primary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Email:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class Phone:
    value: str
    type: str = "work"
    primary: bool = False

    _from_text = True  # a bare number is enough to build one (see _coerce)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_phone("phone", self.value))
        object.__setattr__(self, "type", check_choice("phone type", self.type or "other", PHONE_TYPES))
        object.__setattr__(self, "primary", bool(self.primary))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "type": self.type, "primary": self.primary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Phone:
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True)
class Address:
    type: str = "work"
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    primary: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", check_choice("address type", self.type or "other",
                                                      ADDRESS_TYPES))
        object.__setattr__(self, "street", clean_text("address street", self.street, MAX_SHORT,
                                                      multiline=True))
        for name in ("city", "region", "postal_code", "country"):
            object.__setattr__(self, name, clean_text(f"address {name.replace('_', ' ')}",
                                                      getattr(self, name), MAX_SHORT))
        object.__setattr__(self, "primary", bool(self.primary))
        if not any((self.street, self.city, self.region, self.postal_code, self.country)):
            raise ValidationError("address", "is empty")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Address:
        return cls(**_known(cls, data))

    def one_line(self) -> str:
        return ", ".join(p for p in (self.street.replace("\n", ", "), self.postal_code, self.city,
                                     self.region, self.country) if p)


# --------------------------------------------------------------------------- entities


@dataclass(slots=True)
class User(_Entity):
    """A CRM user. ``contact_id`` is the user's own contact, whose emails are the user's."""

    name: str
    email: str
    contact_id: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.name = clean_text("name", self.name, MAX_NAME, required=True)
        self.email = check_email("email", self.email)
        self.contact_id = check_id("contact_id", self.contact_id, required=False)
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)


@dataclass(slots=True)
class Tag(_Entity):
    """A tag. A private tag has an owner (a user id) and only that user sees it."""

    name: str
    kind: TagKind = TagKind.PUBLIC
    owner_id: str = ""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.name = clean_text("tag name", self.name, 100, required=True)
        self.kind = check_enum("tag kind", TagKind, self.kind)
        self.owner_id = check_id("tag owner", self.owner_id, required=False)
        if self.kind is TagKind.PRIVATE and not self.owner_id:
            raise ValidationError("tag owner", "a private tag must have an owner")
        if self.kind is not TagKind.PRIVATE and self.owner_id:
            raise ValidationError("tag owner", f"a {self.kind.value} tag has no owner")
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)

    def visible_to(self, user_id: str | None) -> bool:
        return self.kind is not TagKind.PRIVATE or self.owner_id == user_id


@dataclass(slots=True)
class Contact(_Entity):
    given_name: str = ""
    family_name: str = ""
    middle_name: str = ""
    job_title: str = ""
    company: str = ""
    emails: list[Email] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    birthday: date | None = None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    owner_id: str = ""
    honorific: str = ""
    """A title before the name ("Dr", "Prof."): Google's ``honorificPrefix``."""
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    modified_by: str = ""  # the user who changed it last ("": unknown, or from before)

    _nested = {"emails": Email, "phones": Phone, "addresses": Address}

    def __post_init__(self) -> None:
        self.given_name = clean_text("given_name", self.given_name, MAX_NAME)
        self.family_name = clean_text("family_name", self.family_name, MAX_NAME)
        self.middle_name = clean_text("middle_name", self.middle_name, MAX_NAME)
        self.honorific = clean_text("honorific", self.honorific, MAX_NAME)
        self.job_title = clean_text("job_title", self.job_title, MAX_SHORT)
        self.company = clean_text("company", self.company, MAX_SHORT)
        if not (self.given_name or self.family_name or self.company or self.emails):
            raise ValidationError("name", "a contact needs a name, a company or an email")
        self.emails = [_coerce(e, Email) for e in _check_list("emails", self.emails)]
        self.phones = [_coerce(p, Phone) for p in _check_list("phones", self.phones)]
        self.addresses = [_coerce(a, Address) for a in _check_list("addresses", self.addresses)]
        seen: set[str] = set()
        for email in self.emails:
            key = email.value.casefold()
            if key in seen:
                raise ValidationError("emails", "the same address is listed twice", email.value)
            seen.add(key)
        self.birthday = _opt_date("birthday", self.birthday)
        self.notes = clean_text("notes", self.notes, MAX_NOTES, multiline=True)
        self.tags = list(dict.fromkeys(check_id("tags", t) for t in _check_list("tags", self.tags)))
        self.owner_id = check_id("owner_id", self.owner_id, required=False)
        self.id = check_id("id", self.id)
        self.created = check_aware("created", self.created)
        self.modified = check_aware("modified", self.modified)
        self.modified_by = check_id("modified_by", self.modified_by, required=False)

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.given_name, self.middle_name, self.family_name) if p)
        return name or self.company or (self.emails[0].value if self.emails else "")

    @property
    def primary_email(self) -> str:
        for email in self.emails:
            if email.primary:
                return email.value
        return self.emails[0].value if self.emails else ""

    @property
    def primary_phone(self) -> str:
        for phone in self.phones:
            if phone.primary:
                return phone.value
        return self.phones[0].value if self.phones else ""
