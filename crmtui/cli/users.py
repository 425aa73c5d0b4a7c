"""``crmtui users``: the people who use this database."""

from __future__ import annotations

import click

from crmtui import config
from crmtui.cli.output import emit_json, json_option, print_table, short
from crmtui.cli.root import cli
from crmtui.cli.session import Session, create_user, find_user_option, pass_session


@cli.group()
def users() -> None:
    """CRM users: the people who use this database."""


@users.command("add")
@click.option("--name", required=True, help="Display name, e.g. 'Ann Lee'.")
@click.option("--email", required=True, help="Login email address.")
@click.option("--default", "make_default", is_flag=True,
              help="Make this user the default (current) user.")
@json_option
@pass_session
def users_add(session: Session, name: str, email: str, make_default: bool, as_json: bool) -> None:
    """Add a user (and the user's own contact, carrying the email)."""
    user = create_user(session.repo, name, email)
    if make_default:
        config.set_value(session.base, "default_user", user.email)
    if as_json:
        emit_json(user.to_dict())
    else:
        click.echo(f"Added the user {user.name} <{user.email}> (id {short(user.id)})"
                   + (", the default user." if make_default else "."))


@users.command("list")
@json_option
@pass_session
def users_list(session: Session, as_json: bool) -> None:
    """List the users; the default one is marked with *."""
    everyone = session.repo.list_users()
    if as_json:
        emit_json([u.to_dict() for u in everyone])
        return
    if not everyone:
        click.echo("No users yet; add one with `crmtui users add --name NAME --email EMAIL`.")
        return
    default = config.load(session.base).get("default_user")
    chosen = session.repo.find_user(str(default)) if default else None
    print_table(["", "NAME", "EMAIL", "ID"],
                [["*" if chosen and u.id == chosen.id else "", u.name, u.email, short(u.id)]
                 for u in everyone])


@users.command("default")
@click.argument("email")
@json_option
@pass_session
def users_default(session: Session, email: str, as_json: bool) -> None:
    """Make the user with EMAIL the default (current) user."""
    user = find_user_option(session.repo, "EMAIL", email)
    config.set_value(session.base, "default_user", user.email)
    if as_json:
        emit_json(user.to_dict())
    else:
        click.echo(f"{user.name} <{user.email}> is now the default user.")
