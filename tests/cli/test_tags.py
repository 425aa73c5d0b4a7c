"""`crmtui tags ...`: kinds, ownership and what each user sees."""

from __future__ import annotations

from typing import Any

from .conftest import Crm


def test_tags_add_private_by_default_owned_by_the_current_user(crm: Crm,
                                                               ann: dict[str, Any]) -> None:
    assert crm.ok("tags", "add", "Google").startswith("Added the private tag 'Google'")
    tag = crm.json("tags", "add", "VIP", "--kind", "public")
    assert (tag["name"], tag["kind"], tag["owner_id"]) == ("VIP", "public", "")
    with crm.store() as repo:
        google = repo.find_tag("google", ann["id"])
    assert google is not None and google.kind.value == "private"
    assert google.owner_id == ann["id"]


def test_tags_list_human_json_and_kind_filter(crm: Crm, ann: dict[str, Any]) -> None:
    crm.ok("tags", "add", "Google")
    crm.ok("tags", "add", "VIP", "--kind", "public")
    crm.ok("tags", "add", "Partners", "--kind", "corporate")
    lines = crm.ok("tags", "list").splitlines()
    assert lines[0].split() == ["NAME", "KIND", "ID"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["Partners", "corporate"], ["Google", "private"], ["VIP", "public"]]
    assert [t["name"] for t in crm.json("tags", "list", "--kind", "public")] == ["VIP"]
    assert crm.ok("tags", "list", "--kind", "corporate").count("\n") == 2


def test_another_users_private_tags_are_never_listed(crm: Crm) -> None:
    crm.add_user("Ann Lee", "ann@example.com")
    crm.add_user("Bob Stone", "bob@example.com")
    crm.ok("--user", "ann@example.com", "tags", "add", "AnnSecret")
    crm.ok("--user", "bob@example.com", "tags", "add", "BobSecret")
    crm.ok("--user", "bob@example.com", "tags", "add", "Shared", "--kind", "public")
    ann_sees = [t["name"] for t in crm.json("--user", "ann@example.com", "tags", "list")]
    assert ann_sees == ["AnnSecret", "Shared"]
    human = crm.ok("--user", "ann@example.com", "tags", "list")
    assert "BobSecret" not in human
    # The same private name may exist once per user; a public one once in all.
    crm.ok("--user", "ann@example.com", "tags", "add", "BobSecret")
    err = crm.fails("--user", "ann@example.com", "tags", "add", "shared", "--kind", "public")
    assert "already exists" in err


def test_tags_add_errors(crm: Crm, ann: dict[str, Any]) -> None:
    assert "NAME: must not be empty" in crm.fails("tags", "add", " ")
    assert "Invalid value for '--kind'" in crm.fails("tags", "add", "X", "--kind", "secret",
                                                     code=2)
    crm.ok("tags", "add", "Google")
    assert "already exists" in crm.fails("tags", "add", "GOOGLE")
    assert crm.json("tags", "list") != [] and len(crm.json("tags", "list")) == 1


def test_tags_empty_list(crm: Crm, ann: dict[str, Any]) -> None:
    assert crm.ok("tags", "list") == "No tags.\n"
    assert crm.json("tags", "list") == []
