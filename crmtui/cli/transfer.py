"""``crmtui import`` and ``crmtui export``: JSON, CSV, vCard and iCalendar files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from crmtui.cli.output import emit_json, fail, json_option, plural
from crmtui.cli.root import cli
from crmtui.cli.session import Session, pass_session


def summary(counts: Mapping[str, int]) -> str:
    parts = [plural(n, kind.replace("_", " ")) for kind, n in counts.items() if n]
    return ", ".join(parts) or "nothing"


def _where(file: Path) -> str:
    return "standard input" if str(file) == "-" else file.name


def _viewer_for(session: Session, file: Path, fmt: str | None) -> str:
    """The user an import or export acts for; a JSON file (the whole database) needs none."""
    from crmtui.formats import detect_format

    return "" if detect_format(file, fmt) == "json" else session.user().id


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True,
                                        path_type=Path))
@click.option("--format", "fmt", metavar="FORMAT",
              help="json, csv or vcard (default: from the file name's extension).")
@click.option("--on-existing", type=click.Choice(["error", "skip", "update"]), default="error",
              show_default=True,
              help="A record whose id is already stored: refuse the file, skip the record, or "
                   "update the stored contact (csv, vcard).")
@json_option
@pass_session
def import_command(session: Session, file: Path, fmt: str | None, on_existing: str,
                   as_json: bool) -> None:
    """Import FILE ("-": standard input), all of it or nothing.

    JSON restores a whole database (no current user needed); CSV and vCard add contacts owned
    by the current user.
    """
    from crmtui.formats import FormatError, import_file

    try:
        viewer_id = _viewer_for(session, file, fmt)
        report = import_file(session.repo, file, fmt=fmt, viewer_id=viewer_id,
                             on_existing=on_existing)
    except FormatError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"file": str(file), "counts": dict(report.counts),
                   "skipped": list(report.skipped)})
        return
    click.echo(f"Imported {summary(report.counts)} from {_where(file)}.")
    if report.skipped:
        click.echo(f"Skipped {len(report.skipped)}:", err=True)
        for line in report.skipped:
            click.echo(f"  {line}", err=True)


@cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--format", "fmt", metavar="FORMAT",
              help="json, csv, vcard or ics (default: from the file name's extension).")
@click.option("--vcard-version", type=click.Choice(["3.0", "4.0"]), default="3.0",
              show_default=True, help="vCard version (vCard exports only).")
@json_option
@pass_session
def export_command(session: Session, file: Path, fmt: str | None, vcard_version: str,
                   as_json: bool) -> None:
    """Export to FILE ("-": standard output).

    JSON: the whole database. CSV and vCard: every contact, with the tags the current user can
    see. iCalendar (.ics): the current user's activities. Writing to standard output, the
    summary goes to standard error.
    """
    from crmtui.formats import FormatError, export_file

    try:
        viewer_id = _viewer_for(session, file, fmt)
        report = export_file(session.repo, file, fmt=fmt, viewer_id=viewer_id,
                             vcard_version=vcard_version)
    except FormatError as exc:
        fail(str(exc))
    to_stdout = str(file) == "-"
    if as_json:
        emit_json({"file": str(file), "counts": dict(report.counts)}, err=to_stdout)
    else:
        where = "standard output" if to_stdout else file.name
        click.echo(f"Exported {summary(report.counts)} to {where}.", err=to_stdout)
