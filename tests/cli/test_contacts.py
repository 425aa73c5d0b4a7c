"""`crmtui contacts ...`: add, list (search, filters, sort, paging), show, edit, delete, tag."""

from __future__ import annotations

from typing import Any

import pytest

from crmtui.model import Contact
from crmtui.store import ContactQuery

from .conftest import Crm


@pytest.fixture
def people(crm: Crm, ann: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Ann (the current user, whose own contact exists too), two tags and four contacts."""
    crm.ok("tags", "add", "Google")
    crm.ok("tags", "add", "VIP", "--kind", "public")
    return {
        "zoe": crm.add_contact("--given", "Zoë", "--family", "Ångström", "--company", "Nordlys",
                               "--email", "zoe@nordlys.example", "--phone", "+47 555 0101",
                               "--tag", "Google", "--tag", "VIP"),
        "jose": crm.add_contact("--given", "José", "--family", "Núñez", "--company", "Acme",
                                "--email", "jose@acme.example", "--tag", "VIP"),
        "li": crm.add_contact("--given", "Li", "--family", "Wei", "--company", "Zenith",
                              "--phone", "mobile:(020) 7946 0018"),
        "acme": crm.add_contact("--company", "Acme Support", "--email", "help@acme.example"),
    }


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["given_name"] or r["company"] for r in rows]


# --------------------------------------------------------------------------- add


def test_contacts_add_every_field(crm: Crm, ann: dict[str, Any]) -> None:
    crm.ok("tags", "add", "Google")
    added = crm.add_contact(
        "--given", "Zoë", "--middle", "A.", "--family", "Ångström", "--company", "Nordlys",
        "--title", "CTO", "--email", "work:zoe@nordlys.example", "--email", "HOME:zoe@home.example",
        "--phone", "mobile:+47 555 0101", "--phone", "+47 555 0102",
        "--address", "home:Storgata 1|Oslo||0155|Norway", "--address", "work:Kai 2|Bergen",
        "--birthday", "1990-02-03", "--notes", "Met at the fair", "--tag", "google")
    assert added["owner_id"] == ann["id"]
    assert added["emails"] == [
        {"value": "zoe@nordlys.example", "type": "work", "primary": True},
        {"value": "zoe@home.example", "type": "home", "primary": False}]
    assert added["phones"] == [{"value": "+47 555 0101", "type": "mobile", "primary": True},
                               {"value": "+47 555 0102", "type": "work", "primary": False}]
    assert added["addresses"][0] == {"type": "home", "street": "Storgata 1", "city": "Oslo",
                                     "region": "", "postal_code": "0155", "country": "Norway",
                                     "primary": True}
    assert (added["addresses"][1]["city"], added["addresses"][1]["primary"]) == ("Bergen", False)
    assert (added["middle_name"], added["job_title"], added["birthday"], added["notes"]) == (
        "A.", "CTO", "1990-02-03", "Met at the fair")
    with crm.store() as repo:
        stored = repo.get_contact(added["id"], ann["id"])
        google = repo.find_tag("Google", ann["id"])
    assert google is not None and stored.tags == [google.id]
    assert stored.to_dict() == added


def test_contacts_add_human_output(crm: Crm, ann: dict[str, Any]) -> None:
    out = crm.ok("contacts", "add", "--company", "Nordlys")
    assert out.startswith("Added the contact Nordlys (id ")


@pytest.mark.parametrize(("args", "message"), [
    (["--given", "Ann", "--email", "ann-at-example"], "--email: is not a valid email address"),
    (["--given", "Ann", "--email", "fax:ann@example.com"], "--email: the type must be one of"),
    (["--given", "Ann", "--phone", "call me"], "--phone: is not a phone number"),
    (["--given", "Ann", "--birthday", "1990-13-01"], "--birthday: is not a date (YYYY-MM-DD)"),
    (["--given", "Ann", "--address", "a|b|c|d|e|f"], "--address: has more than 5 parts"),
    (["--given", "Ann", "--address", "|||"], "--address: is empty"),
    (["--given", "x" * 201], "--given: is 201 characters long, at most 200"),
    (["--given", "Ann", "--email", "a@example.com", "--email", "home:A@example.com"],
     "--email: the same address is listed twice"),
    (["--notes", "no name"], "a contact needs a name, a company or an email"),
    (["--given", "Ann", "--tag", "Nope"], "--tag: there is no tag named 'Nope'"),
])
def test_contacts_add_validation_names_the_option_and_writes_nothing(
        crm: Crm, ann: dict[str, Any], args: list[str], message: str) -> None:
    err = crm.fails("contacts", "add", *args)
    assert message in err
    with crm.store() as repo:
        assert repo.count_contacts() == 1  # Ann's own contact only


# --------------------------------------------------------------------------- list


def test_contacts_list_table(crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    lines = crm.ok("contacts", "list").splitlines()
    assert lines[0].split() == ["NAME", "COMPANY", "EMAIL", "PHONE", "TAGS", "ID"]
    zoe = next(line for line in lines if line.startswith("Zoë Ångström"))
    for cell in ("Nordlys", "zoe@nordlys.example", "+47 555 0101", "Google, VIP",
                 people["zoe"]["id"][:8]):
        assert cell in zoe
    assert len(lines) == 6  # header, four contacts and Ann's own


def test_contacts_list_default_sort_is_by_name(crm: Crm,
                                               people: dict[str, dict[str, Any]]) -> None:
    # Sorted by family name, then given name; a company-only contact by its company.
    assert _names(crm.json("contacts", "list")) == ["Acme Support", "Zoë", "Ann", "José", "Li"]


def test_contacts_list_search_ignores_case_and_accents(
        crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    assert _names(crm.json("contacts", "list", "--search", "JOSE")) == ["José"]
    assert _names(crm.json("contacts", "list", "--search", "acme")) == ["Acme Support", "José"]
    assert _names(crm.json("contacts", "list", "--search", "acme nunez")) == ["José"]
    assert _names(crm.json("contacts", "list", "--search", "79460018")) == ["Li"]
    assert crm.ok("contacts", "list", "--search", "nobody") == "No contacts.\n"


def test_contacts_list_tag_filters(crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    assert _names(crm.json("contacts", "list", "--tag", "vip")) == ["Zoë", "José"]
    assert _names(crm.json("contacts", "list", "--tag", "VIP", "--tag", "Google")) == ["Zoë"]
    assert _names(crm.json("contacts", "list", "--tag-kind", "private")) == ["Zoë"]
    assert _names(crm.json("contacts", "list", "--tag-kind", "corporate")) == []
    assert "--tag: there is no tag named 'Friends'" in crm.fails(
        "contacts", "list", "--tag", "Friends")


def test_contacts_list_sort_desc_limit_offset(crm: Crm,
                                              people: dict[str, dict[str, Any]]) -> None:
    by_company = _names(crm.json("contacts", "list", "--sort", "company"))
    assert by_company == ["José", "Acme Support", "Zoë", "Li", "Ann"]  # no company: last
    # Descending reverses the order; contacts without a given name stay last.
    assert _names(crm.json("contacts", "list", "--sort", "given_name", "--desc")) == [
        "Zoë", "Li", "José", "Ann", "Acme Support"]
    assert _names(crm.json("contacts", "list", "--sort", "company", "--limit", "2",
                           "--offset", "1")) == ["Acme Support", "Zoë"]
    err = crm.fails("contacts", "list", "--sort", "shoe size", code=2)
    assert "Invalid value for '--sort'" in err
    assert "Invalid value for '--limit'" in crm.fails("contacts", "list", "--limit", "-1",
                                                      code=2)


# --------------------------------------------------------------------------- show and ids


def test_contacts_show_human_and_json(crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    zoe = people["zoe"]
    out = crm.ok("contacts", "show", zoe["id"])
    lines = out.splitlines()
    assert lines[0] == "Zoë Ångström"
    assert f"id:          {zoe['id']}" in out
    assert "zoe@nordlys.example (work, primary)" in out
    assert "tags:        Google (private), VIP (public)" in out
    assert "owner:       Ann Lee" in out
    assert crm.json("contacts", "show", zoe["id"]) == zoe


def test_ids_may_be_unique_prefixes_of_six_characters(crm: Crm,
                                                      people: dict[str, dict[str, Any]]) -> None:
    zoe = people["zoe"]
    assert crm.json("contacts", "show", zoe["id"][:6])["id"] == zoe["id"]
    assert crm.json("contacts", "show", zoe["id"][:6].upper())["id"] == zoe["id"]
    err = crm.fails("contacts", "show", zoe["id"][:5])
    assert "an abbreviated id needs at least 6 characters" in err
    assert "no contact has the id 'zzzzzz' (nor an id starting with it)" in crm.fails("contacts", "show",
                                                                       "zzzzzz")


def test_an_ambiguous_prefix_is_an_error(crm: Crm, ann: dict[str, Any]) -> None:
    with crm.store() as repo:
        for suffix in ("1", "2"):
            repo.add_contact(Contact(id="abcdef" + suffix, company="Twin " + suffix))
    err = crm.fails("contacts", "show", "abcdef")
    assert "the id 'abcdef' is ambiguous: it starts 2 contact ids (abcdef1, abcdef2)" in err
    assert crm.json("contacts", "show", "abcdef2")["company"] == "Twin 2"


def test_another_users_private_tags_never_show(crm: Crm) -> None:
    crm.add_user("Ann Lee", "ann@example.com")
    crm.add_user("Bob Stone", "bob@example.com")
    as_ann = ("--user", "ann@example.com")
    as_bob = ("--user", "bob@example.com")
    crm.ok(*as_ann, "tags", "add", "AnnSecret")
    crm.ok(*as_ann, "tags", "add", "Shared", "--kind", "public")
    cid = crm.json(*as_ann, "contacts", "add", "--company", "Nordlys", "--tag", "AnnSecret",
                   "--tag", "Shared")["id"]
    with crm.store() as repo:
        shared = repo.find_tag("Shared", None)
        secret = repo.find_tag("AnnSecret", crm.json("users", "list")[0]["id"])
    assert shared is not None and secret is not None
    assert crm.json(*as_bob, "contacts", "show", cid)["tags"] == [shared.id]
    assert "AnnSecret" not in crm.ok(*as_bob, "contacts", "show", cid)
    assert "AnnSecret" not in crm.ok(*as_bob, "contacts", "list")
    listed = crm.json(*as_bob, "contacts", "list", "--search", "nordlys")
    assert listed[0]["tags"] == [shared.id]
    # Bob cannot filter by Ann's private tag, and his edits keep it on the contact.
    assert "no tag named 'AnnSecret'" in crm.fails(*as_bob, "contacts", "list", "--tag",
                                                   "AnnSecret")
    crm.ok(*as_bob, "contacts", "edit", cid, "--title", "Buyer")
    assert set(crm.json(*as_ann, "contacts", "show", cid)["tags"]) == {shared.id, secret.id}


# --------------------------------------------------------------------------- edit


def test_contacts_edit_changes_only_the_given_fields(crm: Crm,
                                                     people: dict[str, dict[str, Any]]) -> None:
    zoe = people["zoe"]
    edited = crm.json("contacts", "edit", zoe["id"][:8], "--title", "CTO", "--clear-company",
                      "--add-email", "home:zoe@home.example", "--remove-email",
                      "ZOE@nordlys.example", "--remove-phone", "+47 5550101",
                      "--add-address", "Storgata 1|Oslo", "--birthday", "1990-02-03")
    assert (edited["job_title"], edited["company"], edited["birthday"]) == ("CTO", "", "1990-02-03")
    assert edited["emails"] == [{"value": "zoe@home.example", "type": "home", "primary": True}]
    assert edited["phones"] == []
    assert edited["addresses"][0]["city"] == "Oslo"
    for unchanged in ("given_name", "family_name", "tags", "created", "owner_id"):
        assert edited[unchanged] == zoe[unchanged]
    assert edited["modified"] > zoe["modified"]
    again = crm.json("contacts", "edit", zoe["id"], "--clear-birthday", "--clear-addresses",
                     "--add-phone", "mobile:+47 555 0199")
    assert again["birthday"] is None and again["addresses"] == []
    assert again["phones"] == [{"value": "+47 555 0199", "type": "mobile", "primary": True}]
    assert crm.ok("contacts", "edit", zoe["id"], "--notes", "x").startswith(
        "Updated the contact Zoë Ångström")


def test_contacts_edit_errors(crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    cid = people["li"]["id"]
    before = crm.json("contacts", "show", cid)
    assert "nothing to change" in crm.fails("contacts", "edit", cid, code=2)
    assert "give --given or --clear-given, not both" in crm.fails(
        "contacts", "edit", cid, "--given", "Lee", "--clear-given", code=2)
    assert "--remove-email: the contact has no email 'x@example.com'" in crm.fails(
        "contacts", "edit", cid, "--remove-email", "x@example.com")
    assert "--add-email: is not a valid email address" in crm.fails(
        "contacts", "edit", cid, "--add-email", "nope", "--title", "Boss")
    assert "--birthday: is not a date" in crm.fails("contacts", "edit", cid, "--birthday",
                                                    "soon")
    assert "a contact needs a name, a company or an email" in crm.fails(
        "contacts", "edit", cid, "--clear-given", "--clear-family", "--clear-company")
    assert crm.json("contacts", "show", cid) == before


# --------------------------------------------------------------------------- delete


def test_delete_without_a_terminal_requires_yes(crm: Crm,
                                                people: dict[str, dict[str, Any]]) -> None:
    cid = people["li"]["id"]
    err = crm.fails("contacts", "delete", cid)
    assert "needs confirmation" in err and "--yes" in err
    assert crm.json("contacts", "show", cid)["id"] == cid
    assert crm.json("contacts", "delete", cid, people["acme"]["id"][:7], "--yes") == {
        "deleted": [cid, people["acme"]["id"]]}
    with crm.store() as repo:
        remaining = repo.contact_ids(ContactQuery(), None)
    assert cid not in remaining and people["acme"]["id"] not in remaining
    assert len(remaining) == 3


def test_delete_on_a_terminal_asks(crm: Crm, people: dict[str, dict[str, Any]],
                                   tty: None) -> None:
    cid = people["li"]["id"]
    declined = crm.run("contacts", "delete", cid, input="n\n")
    assert declined.exit_code == 1
    assert "Li Wei" in declined.stderr and "Delete 1 contact?" in declined.stderr
    assert crm.json("contacts", "show", cid)["id"] == cid
    accepted = crm.run("contacts", "delete", cid, input="y\n")
    assert accepted.exit_code == 0 and accepted.stdout == "Deleted 1 contact.\n"
    assert "no contact has the id" in crm.fails("contacts", "show", cid)


def test_delete_is_all_or_nothing(crm: Crm, people: dict[str, dict[str, Any]],
                                  ann: dict[str, Any]) -> None:
    err = crm.fails("contacts", "delete", people["li"]["id"], ann["contact_id"], "--yes")
    assert "belongs to the user ann@example.com" in err
    assert crm.json("contacts", "show", people["li"]["id"])["given_name"] == "Li"
    assert "no contact has the id 'ffffff'" in crm.fails(
        "contacts", "delete", people["li"]["id"], "ffffff", "--yes")


# --------------------------------------------------------------------------- tag and untag


def test_tag_and_untag(crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    li, jose = people["li"]["id"], people["jose"]["id"]
    out = crm.ok("contacts", "tag", li, jose, "--tag", "VIP")
    assert out == "Tagged 1 of 2 contacts with 'VIP'.\n"  # José had it already
    assert _names(crm.json("contacts", "list", "--tag", "VIP")) == ["Zoë", "José", "Li"]
    result = crm.json("contacts", "untag", li, jose, "--tag", "vip", "--tag", "Google")
    assert result == {"contacts": [li, jose], "changed": {"VIP": 2, "Google": 0}}
    assert _names(crm.json("contacts", "list", "--tag", "VIP")) == ["Zoë"]
    assert "--tag: there is no tag named 'Nope'" in crm.fails("contacts", "tag", li, "--tag",
                                                              "Nope")
    assert "Missing option '--tag'" in crm.fails("contacts", "tag", li, code=2)
