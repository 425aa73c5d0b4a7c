"""`crmtui users ...` and the rules that choose the current user."""

from __future__ import annotations

from typing import Any

from crmtui import config

from .conftest import Crm


def test_users_add_creates_the_user_and_its_own_contact(crm: Crm) -> None:
    out = crm.ok("users", "add", "--name", "Ann Marie Lee", "--email", "ann@example.com")
    assert out.startswith("Added the user Ann Marie Lee <ann@example.com>")
    with crm.store() as repo:
        (user,) = repo.list_users()
        contact = repo.get_contact(user.contact_id)
    assert (contact.given_name, contact.family_name) == ("Ann Marie", "Lee")
    assert [e.value for e in contact.emails] == ["ann@example.com"]
    assert contact.emails[0].primary and contact.owner_id == user.id
    assert config.load(crm.data_dir) == {}  # --default not given


def test_users_add_json_and_default(crm: Crm) -> None:
    bob = crm.add_user("Bob Stone", "Bob@Example.com", "--default")
    assert bob["name"] == "Bob Stone" and bob["email"] == "Bob@example.com"
    assert len(bob["id"]) == 32 and bob["contact_id"]
    assert config.load(crm.data_dir)["default_user"] == "Bob@example.com"


def test_users_list_human_marks_the_default_and_json_lists_everyone(crm: Crm) -> None:
    crm.add_user("Bob Stone", "bob@example.com")
    crm.add_user("Ann Lee", "ann@example.com", "--default")
    lines = crm.ok("users", "list").splitlines()
    assert lines[0].split() == ["NAME", "EMAIL", "ID"]
    assert lines[1].startswith("*") and "Ann Lee" in lines[1]
    assert not lines[2].startswith("*") and "bob@example.com" in lines[2]
    listed = crm.json("users", "list")
    assert [u["email"] for u in listed] == ["ann@example.com", "bob@example.com"]


def test_users_list_empty(crm: Crm) -> None:
    assert "No users yet" in crm.ok("users", "list")
    assert crm.json("users", "list") == []


def test_users_default_sets_the_config(crm: Crm) -> None:
    crm.add_user("Ann Lee", "ann@example.com")
    bob = crm.add_user("Bob Stone", "bob@example.com")
    assert "now the default user" in crm.ok("users", "default", "BOB@example.com")
    assert config.load(crm.data_dir)["default_user"] == "bob@example.com"
    assert crm.json("tags", "add", "Mine")["owner_id"] == bob["id"]
    assert "EMAIL: no user has the email zed@example.com" in crm.fails(
        "users", "default", "zed@example.com")


def test_users_add_refuses_bad_values_and_writes_nothing(crm: Crm) -> None:
    err = crm.fails("users", "add", "--name", "Ann", "--email", "not-an-email")
    assert err.startswith("Error: --email: is not a valid email address")
    err = crm.fails("users", "add", "--name", "  ", "--email", "ann@example.com")
    assert err.startswith("Error: --name: must not be empty")
    with crm.store() as repo:
        assert repo.list_users() == [] and repo.count_contacts() == 0
    crm.add_user("Ann Lee", "ann@example.com")
    err = crm.fails("users", "add", "--name", "Other Ann", "--email", "ANN@example.com")
    assert "a user with the email" in err and "already exists" in err
    with crm.store() as repo:
        assert len(repo.list_users()) == 1


def test_users_add_requires_name_and_email_as_a_usage_error(crm: Crm) -> None:
    assert "Missing option '--email'" in crm.fails("users", "add", "--name", "Ann", code=2)


# --------------------------------------------------------------------------- the current user


def _owner_of_new_tag(crm: Crm, *global_args: str) -> str:
    tag: dict[str, Any] = crm.json(*global_args, "tags", "add", f"t{len(global_args)}")
    return str(tag["owner_id"])


def test_the_only_user_is_current(crm: Crm, ann: dict[str, Any]) -> None:
    assert _owner_of_new_tag(crm) == ann["id"]


def test_user_option_by_login_email_or_an_email_of_the_users_contact(crm: Crm) -> None:
    ann = crm.add_user("Ann Lee", "ann@example.com")
    bob = crm.add_user("Bob Stone", "bob@example.com", "--default")
    crm.ok("contacts", "edit", bob["contact_id"], "--add-email", "home:bobby@home.example")
    assert _owner_of_new_tag(crm, "--user", "ANN@example.com") == ann["id"]
    assert _owner_of_new_tag(crm, "--user", "bobby@home.example") == bob["id"]
    assert _owner_of_new_tag(crm) == bob["id"]  # the default


def test_unknown_user_option_is_an_error_naming_it(crm: Crm, ann: dict[str, Any]) -> None:
    err = crm.fails("--user", "zed@example.com", "contacts", "list")
    assert "--user: no user has the email zed@example.com" in err


def test_several_users_and_no_default_is_an_error_saying_how_to_choose(crm: Crm) -> None:
    crm.add_user("Ann Lee", "ann@example.com")
    crm.add_user("Bob Stone", "bob@example.com")
    err = crm.fails("contacts", "list")
    assert "2 users (ann@example.com, bob@example.com) and no default" in err
    assert "--user EMAIL" in err and "crmtui users default EMAIL" in err


def test_a_default_user_that_does_not_exist_is_an_error(crm: Crm, ann: dict[str, Any]) -> None:
    config.set_value(crm.data_dir, "default_user", "gone@example.com")
    err = crm.fails("contacts", "list")
    assert "default_user 'gone@example.com'" in err and "config.toml" in err


def test_no_user_without_a_terminal_says_how_to_create_one(crm: Crm) -> None:
    err = crm.fails("contacts", "list", "--json")
    assert "crmtui users add --name NAME --email EMAIL" in err
    with crm.store() as repo:
        assert repo.list_users() == []


def test_first_run_on_a_terminal_asks_and_creates_the_default_user(crm: Crm, tty: None) -> None:
    # A bad email is asked again.
    result = crm.run("tags", "add", "Friends", "--json",
                     input="Zoë Ångström\nzoe@\nzoe@nordlys.example\n")
    assert result.exit_code == 0, result.stderr
    assert "Your name" in result.stderr and "Your email" in result.stderr
    assert result.stderr.count("Your email") == 2
    with crm.store() as repo:
        (user,) = repo.list_users()
        contact = repo.get_contact(user.contact_id)
    assert (user.name, user.email) == ("Zoë Ångström", "zoe@nordlys.example")
    assert (contact.given_name, contact.family_name) == ("Zoë", "Ångström")
    assert config.load(crm.data_dir)["default_user"] == "zoe@nordlys.example"
    assert '"owner_id": "' + user.id in result.stdout  # the prompts stayed off stdout


def test_commands_that_need_no_user_do_not_ask(crm: Crm, tty: None) -> None:
    assert crm.json("users", "list") == []


def test_first_run_names_the_email_it_refuses(crm: Crm, tty: None) -> None:
    result = crm.run("tags", "add", "Friends", input="Zoë Ångström\nzoe@\nzoe@nordlys.example\n")
    assert result.exit_code == 0, result.stderr
    assert "Error: zoe@ is not a valid email address" in result.stderr
