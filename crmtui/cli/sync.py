"""``crmtui sync``: synchronize with Google, and the sync settings."""

from __future__ import annotations

import logging
import re
import sys
from datetime import date
from typing import Any

import click

from crmtui.cli.output import (
    emit_json,
    json_option,
    option_errors,
    plural,
    print_fields,
    short,
)
from crmtui.cli.root import cli
from crmtui.cli.session import Session, current_user, pass_session
from crmtui.cli.wiring import sync_service
from crmtui.model import (
    DEFAULT_GROUP_NAME,
    SEND_UPDATES,
    SYNC_PERIODS,
    SyncKind,
    SyncSettings,
    User,
    utcnow,
)

logger = logging.getLogger(__name__)


def parse_period(text: str) -> int:
    """``30m``, ``1h``... as minutes, one of the periods a sync can run at."""
    match = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", text.lower())
    minutes = int(match[1]) * (60 if match[2] == "h" else 1) if match else 0
    if minutes not in SYNC_PERIODS:
        choices = ", ".join(f"{p}m" for p in SYNC_PERIODS)
        raise click.BadParameter(f"{text!r} is not a sync period: choose one of {choices} "
                                 "(or 1h)", param_hint="--every")
    return minutes


# Exit statuses of a sync run, and which is worse when `crmtui sync` runs several kinds: a failed
# run (or one the mass-unlink guard stopped) outranks one refused because another was running.
SEND_UPDATE_TEXT = {"none": "none", "external": "to guests outside your domain only",
                    "all": "to every guest"}

SYNC_OK, SYNC_FAILED, SYNC_BUSY = 0, 1, 3
SYNC_SEVERITY = {SYNC_OK: 0, SYNC_BUSY: 1, SYNC_FAILED: 2}
SYNC_EXIT_HELP = ("Exit status: 0 when the run completed (records Google refused are listed as "
                  "skipped), 1 when it failed or the mass-unlink guard stopped it (run again "
                  "with --yes to go ahead), 3 when another sync of the same user and kind is "
                  "running.")

dry_run_option = click.option("--dry-run", is_flag=True,
                              help="Print the plan; write nothing on either side.")
yes_option = click.option("--yes", is_flag=True,
                          help="Go ahead with a run the mass-unlink guard stopped.")
every_option = click.option("--every", metavar="PERIOD",
                            help="Synchronize automatically: 1m, 5m, 10m, 15m, 30m or 60m (1h).")
manual_option = click.option("--manual", is_flag=True, help="Synchronize only when asked.")


@cli.group(invoke_without_command=True)
@dry_run_option
@yes_option
@click.option("--due", is_flag=True,
              help="For cron or a systemd timer: sync only what is set to synchronize "
                   "automatically and whose period has passed since its last sync.")
@click.pass_context
def sync(ctx: click.Context, dry_run: bool, yes: bool, due: bool) -> None:
    """Synchronize with Google: settings and runs. Alone: synchronize contacts, then
    activities, each if it is set up (with --due: if it is due).

    Exit status: the worse of the two runs, 1 outranking 3 (see `crmtui sync contacts
    --help`)."""
    if ctx.invoked_subcommand is not None:
        return
    session: Session = ctx.find_object(Session)  # type: ignore[assignment]
    user = session.user()
    settings = session.repo.get_sync_settings(user.id)
    from crmtui.sync.service import SyncService

    service = SyncService(session.repo, session.base)  # asked for the status only
    statuses = [SYNC_OK]
    for kind in SyncKind:
        name = kind.value.capitalize()
        if not settings.is_set_up(kind):
            click.echo(f"{name}: not set up (see `crmtui sync setup {kind.value} --help`).")
        elif due and not service.status(user.id, kind).due(utcnow()):
            click.echo(f"{name}: not due yet (or not set to synchronize automatically).")
        else:
            click.echo(f"{name}:")
            statuses.append(run_sync(session, user, kind, dry_run=dry_run, yes=yes,
                                     as_json=False))
    worst = max(statuses, key=SYNC_SEVERITY.__getitem__)
    if worst != SYNC_OK:
        sys.exit(worst)


class _StderrProgress:
    """Log lines and, on a terminal, a progress bar on stderr (stdout keeps the summary)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, message: str, done: int, total: int) -> None:
        if message != self.last:
            if self.tty and self.last:
                click.echo("", err=True)
            if not self.tty:
                click.echo(f"crmtui sync: {message}", err=True)
            self.last = message
        if self.tty:
            width = 30
            filled = width * done // total if total else 0
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}" if total else ""
            click.echo(f"\r{message} {bar}\033[K", err=True, nl=False)

    def note(self, message: str) -> None:
        """A log line from the adapters (retries, waits)."""
        self(message, 0, 0)

    def close(self) -> None:
        if self.tty and self.last:
            click.echo("", err=True)


def run_sync(session: Session, user: User, kind: SyncKind, *, dry_run: bool, yes: bool,
             as_json: bool) -> int:
    """Run one sync of ``user`` and ``kind`` with progress on stderr and the summary (or the
    JSON outcome) on stdout; return the exit status (``SYNC_OK``, ``SYNC_FAILED``,
    ``SYNC_BUSY``)."""
    from crmtui.sync.service import SyncBusy

    progress = _StderrProgress()
    service = sync_service(session.repo, session.base, progress.note)
    logger.info("sync %s of user %s: start%s", kind.value, user.id,
                " (dry run)" if dry_run else "")
    try:
        outcome = service.run(user.id, kind, dry_run=dry_run, confirmed=yes, progress=progress)
    except SyncBusy as exc:
        logger.error("sync %s of user %s: busy: %s", kind.value, user.id, exc)
        click.echo(f"Error: {exc}", err=True)
        return SYNC_BUSY
    finally:
        progress.close()
    report = outcome.report
    logger.log(logging.INFO if outcome.ok else logging.ERROR,
               "sync %s of user %s: end, status %s, counts %s%s", kind.value, user.id,
               outcome.status, {k: n for k, n in report.counts().items() if n},
               f": {outcome.message}" if outcome.message else "")
    if as_json:
        emit_json({"kind": kind.value, "user": user.email, "status": outcome.status,
                   "message": outcome.message, "dry_run": dry_run, "counts": report.counts(),
                   "skipped": report.skipped, "notes": report.notes, "plan": report.plan,
                   "conflicts": [c.to_dict() for c in report.conflicts]})
    else:
        if dry_run:
            click.echo("Dry run: nothing was written. The plan:")
            for line in report.plan or ["nothing to do"]:
                click.echo(f"  {line}")
        click.echo(report.summary())
        for conflict in report.conflicts:
            click.echo(f"  conflict on {conflict.field_name} of {short(conflict.record_id)}: "
                       f"kept {conflict.kept!r} ({conflict.winner}), overwrote {conflict.lost!r}")
    if not outcome.ok:
        click.echo(f"Error: {outcome.message}", err=True)
        return SYNC_FAILED
    return SYNC_OK


def _sync_kind_command(kind: SyncKind, google: str, what: str) -> click.Command:
    """``crmtui sync KIND [--user EMAIL] [--dry-run] [--yes] [--json]``."""

    @sync.command(kind.value, short_help=f"Synchronize {kind.value} with {google}.",
                  help=f"Synchronize {what} with {google}, both ways.\n\n{SYNC_EXIT_HELP}")
    @click.option("--user", "user_email", metavar="EMAIL",
                  help="Synchronize this user (instead of the one `crmtui --user` or the "
                       "default user names).")
    @dry_run_option
    @yes_option
    @json_option
    @pass_session
    def command(session: Session, user_email: str | None, dry_run: bool, yes: bool,
                as_json: bool) -> None:
        user = current_user(session.repo, session.base, user_email) if user_email \
            else session.user()
        status = run_sync(session, user, kind, dry_run=dry_run, yes=yes, as_json=as_json)
        if status != SYNC_OK:
            sys.exit(status)

    return command


sync_contacts = _sync_kind_command(
    SyncKind.CONTACTS, "Google Contacts", "the user's tagged contacts (the sync group)")
sync_activities = _sync_kind_command(
    SyncKind.ACTIVITIES, "Google Calendar", "the activities the user organizes (Show in "
    "calendar, from the \"synchronize from\" date) and the user's primary calendar")


@sync.group("setup")
def sync_setup() -> None:
    """Choose what is synchronized and how often."""


def schedule_changes(kind: SyncKind, every: str | None, manual: bool) -> dict[str, Any]:
    """The settings ``--every PERIOD`` or ``--manual`` change for ``kind`` (none: kept)."""
    if every and manual:
        raise click.UsageError("choose --every PERIOD or --manual, not both")
    if every:
        return {f"{kind.value}_auto": True, f"{kind.value}_period": parse_period(every)}
    return {f"{kind.value}_auto": False} if manual else {}


def schedule_text(settings: SyncSettings, kind: SyncKind) -> str:
    if getattr(settings, f"{kind.value}_auto"):
        return f"every {plural(getattr(settings, f'{kind.value}_period'), 'minutes')}"
    return f"manual (run `crmtui sync {kind.value}`)"


@sync_setup.command("contacts")
@click.option("--tag", "tag_name", required=True, metavar="NAME",
              help="Your private tag: the contacts that carry it are synchronized.")
@click.option("--group", "group_name", metavar="NAME",
              help=f"The Google contact group they go in (default: {DEFAULT_GROUP_NAME!r}, "
                   "else the one set before).")
@every_option
@manual_option
@json_option
@pass_session
def sync_setup_contacts(session: Session, tag_name: str, group_name: str | None,
                        every: str | None, manual: bool, as_json: bool) -> None:
    """Set up the contacts sync: which tag, which Google group, how often.

    Without --every or --manual, the schedule set before is kept (manual at first).
    """
    changes = schedule_changes(SyncKind.CONTACTS, every, manual)
    repo, user = session.repo, session.user()
    from crmtui.sync.settings import SyncSettingsService

    setup = SyncSettingsService(repo)
    with option_errors({"contacts_tag_id": "--tag", "contacts_group_name": "--group"}):
        tag = setup.tag_named(user.id, tag_name)
        changes["contacts_tag_id"] = tag.id
        if group_name is not None:
            changes["contacts_group_name"] = group_name
        settings = setup.save(setup.get(user.id).evolve(**changes))
    if as_json:
        emit_json({**settings.to_dict(), "contacts_tag_name": tag.name})
        return
    print_fields("Contacts sync set up:", [("tag", tag.name),
                                          ("Google group", settings.contacts_group_name),
                                          ("schedule", schedule_text(settings,
                                                                     SyncKind.CONTACTS))])


def parse_from_date(text: str) -> date:
    """``--from``: YYYY-MM-DD, or ``today`` (the local date)."""
    if text.strip().lower() == "today":
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date: give YYYY-MM-DD (e.g. "
                                 f"{date.today().isoformat()}) or 'today'",
                                 param_hint="--from") from None


@sync_setup.command("activities")
@click.option("--from", "from_", required=True, metavar="DATE",
              help="Synchronize the activities starting on or after this date: YYYY-MM-DD, or "
                   "'today'.")
@click.option("--calendar", "calendar", metavar="ID",
              help="The Google calendar to synchronize with, by its id (a calendar you own; "
                   "default: your primary calendar, or the one set before).")
@click.option("--send-updates", type=click.Choice(SEND_UPDATES),
              help="Whom crmtui's changes to events e-mail: none (the default), external "
                   "(guests outside your domain only) or all guests.")
@every_option
@manual_option
@json_option
@pass_session
def sync_setup_activities(session: Session, from_: str, calendar: str | None,
                          send_updates: str | None, every: str | None, manual: bool,
                          as_json: bool) -> None:
    """Set up the activity sync with a Google calendar: from which date, how often.

    The activities you organize that have Show in calendar set and start on or after --from go
    to the calendar (your primary one unless --calendar says another); the calendar's events
    come in as activities. crmtui's writes e-mail no guest unless --send-updates says so.
    Without --every or --manual, the schedule set before is kept (manual at first). A Google
    account can be linked before or after (`crmtui account link google`); a sync needs one.
    """
    changes = schedule_changes(SyncKind.ACTIVITIES, every, manual)
    changes["activities_from"] = parse_from_date(from_)
    if calendar is not None:
        changes["activities_calendar"] = calendar.strip() or "primary"
    if send_updates is not None:
        changes["activities_send_updates"] = send_updates
    from crmtui.sync.settings import SyncSettingsService

    repo, user = session.repo, session.user()
    setup = SyncSettingsService(repo)
    settings = setup.save(setup.get(user.id).evolve(**changes))
    accounts = [a.email for a in repo.list_accounts(user.id) if a.provider == "google"]
    if as_json:
        emit_json({**settings.to_dict(), "google_account": accounts[0] if accounts else None})
        return
    which = ("its primary calendar" if settings.activities_calendar == "primary"
             else f"the calendar {settings.activities_calendar}")
    account = (f"{accounts[0]} ({which})" if accounts else
               "none linked yet: run `crmtui account link google` before syncing")
    assert settings.activities_from is not None
    print_fields("Activities sync set up:", [
        ("from", settings.activities_from.isoformat()),
        ("schedule", schedule_text(settings, SyncKind.ACTIVITIES)),
        ("Google account", account),
        ("e-mails to guests", SEND_UPDATE_TEXT[settings.activities_send_updates])])
