"""``crmtui db copy``: move a whole database between the TinyDB file of a data directory and a
team's PostgreSQL database (either way: into team mode, out of it, or for a backup)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from crmtui.cli.output import emit_json, fail, json_option
from crmtui.cli.root import cli
from crmtui.cli.transfer import summary
from crmtui.store import DB_FILE, Repository, is_database_url, open_repository, open_store


@cli.group("db")
def db_group() -> None:
    """The database as a whole: copy it between a data directory and PostgreSQL."""


def _label(where: str) -> str:
    if is_database_url(where):
        from crmtui.store.pg_schema import describe

        return describe(where)
    return str(Path(where).expanduser())


def _open(where: str, *, source: bool) -> Repository:
    """The store at ``where`` (a data directory or a postgresql:// URL); a source directory
    must hold a crmtui database."""
    if is_database_url(where):
        return open_repository("", where)
    path = Path(where).expanduser()
    if source and not (path / DB_FILE).is_file():
        fail(f"--from: {path} holds no crmtui database ({DB_FILE}); give the data directory "
             "(see `crmtui --help` for its default) or a postgresql:// URL")
    if path.exists() and not path.is_dir():
        fail(f"{'--from' if source else '--to'}: {path} is not a directory")
    return open_store(path)


def _count(data: Mapping[str, list[Any]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in data.items()}


@db_group.command("copy")
@click.option("--from", "source", required=True, metavar="SRC",
              help="Copy from this data directory (its crmtui.json) or postgresql:// URL.")
@click.option("--to", "target", required=True, metavar="DST",
              help="Copy into this data directory or postgresql:// URL (created if needed).")
@click.option("--force", is_flag=True,
              help="Replace what DST holds (by default a DST that holds anything is refused).")
@json_option
def copy_command(source: str, target: str, force: bool, as_json: bool) -> None:
    """Copy every record (users, tags, contacts, activities, accounts, sync settings, state,
    links and the journal) from SRC to DST, all of it or nothing.

    OAuth tokens are not records: they stay in each member's data directory. Progress goes to
    standard error.
    """
    same = (source == target if is_database_url(source) or is_database_url(target)
            else os.path.realpath(Path(source).expanduser())
            == os.path.realpath(Path(target).expanduser()))
    if same:
        fail("--from and --to are the same database")
    with ExitStack() as stack:
        src = _open(source, source=True)
        stack.callback(src.close)
        click.echo(f"Reading {_label(source)} ...", err=True)
        data = src.dump()
        counts = _count(data)
        click.echo(f"Read {summary(counts)}.", err=True)
        dst = _open(target, source=False)
        stack.callback(dst.close)
        held = dst.dump()
        if any(held.values()) and not force:
            fail(f"--to: {_label(target)} already holds {summary(_count(held))}; copy into an "
                 "empty database, or add --force to replace what it holds")
        click.echo(f"Writing {_label(target)} ...", err=True)
        with dst.transaction():
            if any(held.values()):
                dst.erase()
            written = dst.load_dump(data)
        click.echo("Done.", err=True)
    if as_json:
        emit_json({"from": _label(source), "to": _label(target), "counts": written})
        return
    click.echo(f"Copied {summary(written)} from {_label(source)} to {_label(target)}.")
