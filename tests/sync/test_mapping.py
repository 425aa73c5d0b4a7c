"""Mapping between Google's Person and crmtui's canonical contact fields (no network): what is
read, what a push writes, what it keeps, and that a value crmtui writes reads back equal."""

from __future__ import annotations

import string
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtui.model import Address, Contact, Email, Phone, ValidationError
from crmtui.sync.contacts import contact_fields
from crmtui.sync.google.people_mapping import (
    OWNED,
    person_body,
    slim_person,
    to_fields,
    update_mask,
)
from crmtui.sync.remote import CONTACT_FIELDS

# --------------------------------------------------------------------------- strategies

_words = st.text(string.ascii_letters + "äéøßłÇ' -", max_size=24)
_lines = st.text(string.printable.replace("\x0b", "").replace("\x0c", "") + "äé€",
                 max_size=120)
_emails = st.from_regex(r"[a-z][a-z0-9._+-]{0,12}@[a-z][a-z0-9-]{0,10}\.(com|org|de|co\.uk)",
                        fullmatch=True)
_phones = st.from_regex(r"\+?[0-9]{1,4}[ ()./-]?[0-9]{3,8}( ?x ?[0-9]{1,4})?", fullmatch=True)


@st.composite
def contacts(draw: st.DrawFn) -> Contact:
    """A valid crmtui contact (any value the model accepts, primaries anywhere)."""
    def valid(build: Any, *args: Any) -> Any:
        try:
            return build(*args)
        except ValidationError:
            return None

    kinds = st.sampled_from(["work", "home", "other"])
    phone_kinds = st.sampled_from(["work", "home", "mobile", "main", "fax", "other"])
    emails = [valid(Email, v, draw(kinds), draw(st.booleans()))
              for v in draw(st.lists(_emails, max_size=4, unique_by=str.casefold))]
    phones = [valid(Phone, v, draw(phone_kinds), draw(st.booleans()))
              for v in draw(st.lists(_phones, max_size=4))]
    addresses = [valid(Address, draw(kinds), draw(_lines), draw(_words), draw(_words),
                       draw(_words), draw(_words), draw(st.booleans()))
                 for _ in range(draw(st.integers(0, 3)))]
    emails = [e for e in emails if e is not None]
    phones = [p for p in phones if p is not None]
    addresses = [a for a in addresses if a is not None]
    try:
        return Contact(given_name=draw(_words), middle_name=draw(_words),
                       family_name=draw(_words), company=draw(_words), job_title=draw(_words),
                       emails=emails, phones=phones, addresses=addresses,
                       birthday=draw(st.none() | st.dates(date(1, 1, 1), date(9999, 12, 31))),
                       notes=draw(_lines | st.just("")))
    except ValidationError:  # a contact needs a name, a company or an email
        return Contact(given_name="Ann", emails=emails, phones=phones, addresses=addresses)


def normalized(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with exactly one primary in each non-empty list (the first marked one, else
    the first), as Google keeps them."""
    out = dict(fields)
    for key in ("emails", "phones", "addresses"):
        items = [dict(item) for item in fields[key]]
        chosen = next((i for i, item in enumerate(items) if item["primary"]), 0)
        for i, item in enumerate(items):
            item["primary"] = i == chosen
        out[key] = items
    return out


def meta(primary: bool = False) -> dict[str, Any]:
    """Item metadata as Google renders it."""
    source = {"type": "CONTACT", "id": "1a2b3c4d5e6f7a8b"}
    return {"primary": True, "sourcePrimary": True, "source": source} if primary else {
        "source": source}


def rich_person() -> dict[str, Any]:
    """A Person as Google returns it, with much crmtui does not own."""
    return {
        "resourceName": "people/c1", "etag": "%abc",
        "names": [{"metadata": meta(True), "givenName": "Ada", "familyName": "Lovelace",
                   "honorificPrefix": "Dr", "displayName": "Dr Ada Lovelace",
                   "displayNameLastFirst": "Lovelace, Dr Ada",
                   "unstructuredName": "Dr Ada Lovelace"}],
        "organizations": [{"metadata": meta(True), "name": "Engines", "title": "Engineer",
                           "department": "R&D", "type": "work", "formattedType": "Work"},
                          {"metadata": meta(), "name": "Royal Society", "type": "school"}],
        "emailAddresses": [{"metadata": meta(True), "value": "ada@engines.org",
                            "type": "Assistant", "formattedType": "Assistant",
                            "displayName": "Ada L."},
                           {"metadata": meta(), "value": "ada@home.org", "type": "home"}],
        "phoneNumbers": [{"metadata": meta(True), "value": "+44 20 7946 0000", "type": "homeFax",
                          "canonicalForm": "+442079460000"},
                         {"metadata": meta(), "value": "555-0100", "type": "pager"}],
        "addresses": [{"metadata": meta(True), "streetAddress": "1 Main St",
                       "extendedAddress": "Flat 4", "city": "London", "postalCode": "N1",
                       "country": "United Kingdom", "countryCode": "GB", "type": "home",
                       "formattedValue": "1 Main St\nFlat 4\nN1 London\nUnited Kingdom"},
                      {"metadata": meta(), "poBox": "PO 7"}],
        "birthdays": [{"metadata": meta(True), "date": {"month": 12, "day": 10}}],
        "biographies": [{"metadata": meta(True), "value": "Counts things",
                         "contentType": "TEXT_PLAIN"}],
        "urls": [{"value": "https://ada.example"}],
        "userDefined": [{"key": "Shoe size", "value": "38"}],
    }


# --------------------------------------------------------------------------- reading


def test_reading_a_person_maps_every_canonical_field() -> None:
    fields = to_fields(rich_person())
    assert fields == {
        "given_name": "Ada", "middle_name": "", "family_name": "Lovelace",
        "company": "Engines", "job_title": "Engineer",
        "emails": [{"value": "ada@engines.org", "type": "other", "primary": True},
                   {"value": "ada@home.org", "type": "home", "primary": False}],
        "phones": [{"value": "+44 20 7946 0000", "type": "fax", "primary": True},
                   {"value": "555-0100", "type": "other", "primary": False}],
        "addresses": [{"type": "home", "street": "1 Main St", "city": "London", "region": "",
                       "postal_code": "N1", "country": "United Kingdom", "primary": True}],
        "birthday": None, "notes": "Counts things", "honorific": "Dr"}
    assert tuple(fields) == CONTACT_FIELDS


def test_phone_types_map_to_crmtuis() -> None:
    kinds = ["work", "home", "mobile", "main", "workFax", "homeFax", "otherFax", "other",
             "pager", "googleVoice", "Custom", ""]
    person = {"phoneNumbers": [{"value": f"55501{i:02}", "type": k} for i, k in enumerate(kinds)]}
    assert [p["type"] for p in to_fields(person)["phones"]] == [
        "work", "home", "mobile", "main", "fax", "fax", "fax", "other", "other", "other",
        "other", "other"]


def test_a_birthday_with_a_year_reads_as_a_date_and_one_without_as_none() -> None:
    assert to_fields({"birthdays": [{"date": {"year": 1815, "month": 12, "day": 10}}]}
                     )["birthday"] == "1815-12-10"
    assert to_fields({"birthdays": [{"date": {"month": 12, "day": 10}}]})["birthday"] is None
    assert to_fields({"birthdays": [{"text": "10 December"}]})["birthday"] is None


def test_an_empty_person_reads_as_empty_fields() -> None:
    assert to_fields({}) == {"given_name": "", "middle_name": "", "family_name": "",
                             "company": "", "job_title": "", "emails": [], "phones": [],
                             "addresses": [], "birthday": None, "notes": "",
                             "honorific": ""}


# --------------------------------------------------------------------------- round trips


@given(contacts())
def test_every_contact_crmtui_can_hold_reads_back_equal(contact: Contact) -> None:
    fields = contact_fields(contact)
    assert to_fields(person_body(fields, {})) == fields


@given(contacts(), contacts())
def test_a_contact_merged_into_another_person_reads_back_equal(contact: Contact,
                                                                 before: Contact) -> None:
    raw = person_body(contact_fields(before), rich_person())
    fields = contact_fields(contact)
    assert to_fields(person_body(fields, raw)) == fields


@given(contacts())
def test_a_push_of_what_was_read_changes_nothing(contact: Contact) -> None:
    raw = {**rich_person(), **person_body(contact_fields(contact), rich_person())}
    assert update_mask(to_fields(raw), raw, CONTACT_FIELDS) == []


# --------------------------------------------------------------------------- what a push keeps


def changed(raw: dict[str, Any], **changes: Any) -> tuple[list[str], dict[str, Any]]:
    """The mask and body of a push of ``changes`` to what ``raw`` reads as."""
    fields = {**to_fields(raw), **changes}
    mask = update_mask(fields, raw, list(changes))
    body = person_body(fields, raw, mask)
    assert to_fields({**raw, **body}) == fields
    return mask, body


def test_only_the_person_fields_of_changed_fields_are_written() -> None:
    mask, body = changed(rich_person(), job_title="Analyst", notes="New notes")
    assert mask == ["organizations", "biographies"]
    assert set(body) == {"organizations", "biographies"}


def test_a_new_company_keeps_the_department_and_the_second_organization() -> None:
    _, body = changed(rich_person(), company="Difference Engines")
    assert body["organizations"] == [
        {"metadata": {"primary": True}, "name": "Difference Engines", "title": "Engineer",
         "department": "R&D", "type": "work"},
        {"name": "Royal Society", "type": "school"}]


def test_clearing_company_and_title_keeps_an_organization_with_a_department() -> None:
    _, body = changed(rich_person(), company="", job_title="")
    assert body["organizations"][0] == {"metadata": {"primary": True}, "department": "R&D",
                                        "type": "work"}


def test_a_new_email_keeps_the_custom_label_and_display_name_of_the_others() -> None:
    fields = to_fields(rich_person())
    emails = fields["emails"] + [{"value": "ada@new.org", "type": "work", "primary": False}]
    _, body = changed(rich_person(), emails=emails)
    assert body["emailAddresses"] == [
        {"metadata": {"primary": True}, "value": "ada@engines.org", "type": "Assistant",
         "displayName": "Ada L."},
        {"value": "ada@home.org", "type": "home"},
        {"value": "ada@new.org", "type": "work"}]


def test_a_changed_email_type_replaces_the_custom_label() -> None:
    emails = to_fields(rich_person())["emails"]
    emails[0] = {**emails[0], "type": "work"}
    _, body = changed(rich_person(), emails=emails)
    assert body["emailAddresses"][0] == {"metadata": {"primary": True},
                                         "value": "ada@engines.org", "type": "work",
                                         "displayName": "Ada L."}


def test_a_fax_keeps_googles_kind_of_fax_and_a_new_fax_is_a_work_fax() -> None:
    phones = to_fields(rich_person())["phones"]
    phones.append({"value": "+1 555 0199", "type": "fax", "primary": False})
    _, body = changed(rich_person(), phones=phones)
    assert [p["type"] for p in body["phoneNumbers"]] == ["homeFax", "pager", "workFax"]


def test_a_changed_address_drops_googles_formatting_and_keeps_extra_lines() -> None:
    addresses = to_fields(rich_person())["addresses"]
    addresses[0] = {**addresses[0], "city": "Cambridge", "country": "UK"}
    _, body = changed(rich_person(), addresses=addresses)
    assert body["addresses"] == [
        {"metadata": {"primary": True}, "streetAddress": "1 Main St", "extendedAddress": "Flat 4",
         "city": "Cambridge", "postalCode": "N1", "country": "UK", "type": "home"},
        {"poBox": "PO 7"}]  # an address crmtui cannot show stays


def test_a_yearless_birthday_is_never_clobbered_by_none() -> None:
    mask, _ = changed(rich_person(), birthday=None)
    assert mask == []


def test_a_birthday_with_a_year_is_cleared_by_none() -> None:
    person = {**rich_person(), "birthdays": [{"date": {"year": 1815, "month": 12, "day": 10}}]}
    mask, body = changed(person, birthday=None)
    assert mask == ["birthdays"] and body["birthdays"] == []


def test_a_new_birthday_replaces_a_yearless_one() -> None:
    _, body = changed(rich_person(), birthday="1815-12-10")
    assert body["birthdays"] == [{"metadata": {"primary": True},
                                  "date": {"year": 1815, "month": 12, "day": 10}}]


def test_a_new_name_keeps_the_honorific_and_lets_google_derive_the_rest() -> None:
    _, body = changed(rich_person(), given_name="Augusta", middle_name="Ada")
    assert body["names"] == [{"metadata": {"primary": True}, "givenName": "Augusta",
                              "middleName": "Ada", "familyName": "Lovelace",
                              "honorificPrefix": "Dr"}]


def test_emptied_notes_clear_the_biography() -> None:
    mask, body = changed(rich_person(), notes="")
    assert mask == ["biographies"] and body["biographies"] == []


def test_a_new_person_body_holds_only_what_crmtui_sets() -> None:
    fields = to_fields({})
    fields.update(given_name="Ann", emails=[{"value": "ann@x.org", "type": "home",
                                             "primary": True}])
    assert person_body(fields, {}) == {
        "names": [{"givenName": "Ann"}], "organizations": [],
        "emailAddresses": [{"value": "ann@x.org", "type": "home",
                            "metadata": {"primary": True}}],
        "phoneNumbers": [], "addresses": [], "birthdays": [], "biographies": []}



# --------------------------------------------------------------------------- what a link keeps

SLIM_CASES = [
    {"names": [{"givenName": "Ada", "familyName": "King", "displayName": "Ada King",
                "unstructuredName": "Ada King", "metadata": {"primary": True}}],
     "emailAddresses": [{"value": "ada@x.org", "type": "work", "formattedType": "Work"},
                        {"value": "ada@y.org", "type": "home"}],
     "phoneNumbers": [{"value": "+44 20 1234", "type": "mobile", "canonicalForm": "+44201234"},
                      {"value": "+44 20 9999", "type": "workFax"}],
     "addresses": [{"streetAddress": "1 St", "city": "London", "type": "home",
                    "formattedValue": "1 St\nLondon"}],
     "birthdays": [{"date": {"year": 1815, "month": 12, "day": 10}}],
     "biographies": [{"value": "note", "contentType": "TEXT_PLAIN"}]},
    {"names": [{"givenName": "Ada", "displayName": "Ada", "unstructuredName": "Countess Ada"}],
     "organizations": [{"name": "Engines", "title": "Analyst", "department": "R&D"},
                       {"name": "Royal Society"}],
     "emailAddresses": [{"value": "ada@x.org", "type": "Assistant", "displayName": "Ada L."},
                        {"value": "ada@z.org", "type": "other"}, {"value": ""}],
     "phoneNumbers": [{"value": "+44 20 1", "type": "homeFax"}],
     "addresses": [{"formattedValue": "somewhere free-form"}, {"city": "Leeds",
                                                               "extendedAddress": "Flat 2"}],
     "birthdays": [{"date": {"month": 12, "day": 10}}],
     "biographies": [{"value": "<b>x</b>", "contentType": "TEXT_HTML"}]},
]


@pytest.mark.parametrize("person", SLIM_CASES)
def test_a_person_slimmed_for_a_link_builds_the_same_update_as_the_whole_person(
        person: dict[str, Any]) -> None:
    """What a link keeps of a Person (``slim_person``) gives the same update body as the whole
    Person would, for any change of the canonical fields, up to what Google computes again."""

    def comparable(body: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, items in body.items():
            out[name] = [{k: v for k, v in item.items()
                          if k not in ("metadata", "formattedValue", "unstructuredName")}
                         for item in items]
        return out

    fields = to_fields(person)
    slim = slim_person(person)
    changes = [{}, {"given_name": "Augusta", "company": "Difference"},
               {"emails": [*fields["emails"], {"value": "new@x.org", "type": "work",
                                               "primary": False}]},
               {"phones": [], "addresses": [], "notes": "", "birthday": "1816-01-01"}]
    for change in changes:
        wanted = {**fields, **change}
        assert comparable(person_body(wanted, slim)) == comparable(
            person_body(wanted, person)), change
    assert not set(slim) & {"resourceName", "memberships"}
    kept = set(slim) & set(OWNED)
    assert kept == (set() if person is SLIM_CASES[0] else
                    {"names", "organizations", "emailAddresses", "phoneNumbers", "addresses",
                     "birthdays", "biographies"})
