"""``crmtui tags``: private, public and corporate tags."""

from __future__ import annotations

import click

from crmtui.cli.output import emit_json, json_option, option_errors, print_table, short
from crmtui.cli.root import cli
from crmtui.cli.session import Session, pass_session
from crmtui.model import Tag, TagKind


@cli.group()
def tags() -> None:
    """Tags: private (yours only), public (everyone's) and corporate."""


@tags.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in TagKind]), default="private",
              show_default=True, help="private tags belong to the current user; only they see "
                                      "them.")
@json_option
@pass_session
def tags_add(session: Session, name: str, kind: str, as_json: bool) -> None:
    """Add a tag named NAME."""
    owner = session.user().id if kind == TagKind.PRIVATE else ""
    with option_errors({"tag name": "NAME", "tag kind": "--kind"}):
        tag = Tag(name=name, kind=TagKind(kind), owner_id=owner)
    session.repo.add_tag(tag)
    if as_json:
        emit_json(tag.to_dict())
    else:
        click.echo(f"Added the {tag.kind.value} tag {tag.name!r} (id {short(tag.id)}).")


@tags.command("list")
@click.option("--kind", type=click.Choice([k.value for k in TagKind]),
              help="Only tags of this kind.")
@json_option
@pass_session
def tags_list(session: Session, kind: str | None, as_json: bool) -> None:
    """List the tags the current user can see."""
    found = session.repo.list_tags(session.user().id, TagKind(kind) if kind else None)
    if as_json:
        emit_json([t.to_dict() for t in found])
    elif not found:
        click.echo("No tags.")
    else:
        print_table(["NAME", "KIND", "ID"], [[t.name, t.kind.value, short(t.id)] for t in found])
