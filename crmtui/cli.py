"""The crmtui command line: the TUI by default, and scripting commands for every record kind.

``crmtui`` with no command opens the TUI; ``crmtui users|tags|contacts|activities ...``,
``crmtui import`` and ``crmtui export`` script the same database; ``crmtui emulator`` runs the
built-in Google emulator (``crmtui --demo`` runs it too, in process). This is the one module that
wires every layer together. Textual (through ``crmtui.app``), the formats and the emulator are
imported lazily, inside the commands that need them, so a scripting command starts fast and never
loads the UI.

Every scripting command takes ``--json`` (the model's ``to_dict()``; lists as JSON arrays). Errors of
the domain, the store and the configuration become ``Error: <message>`` on stderr with exit status
1; usage errors are click's (exit status 2).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import click

from crmtui import config, paths
from crmtui.config import ConfigError
from crmtui.model import (
    ADDRESS_TYPES,
    DEFAULT_GROUP_NAME,
    EMAIL_TYPES,
    MAX_NAME,
    PHONE_TYPES,
    SYNC_PERIODS,
    Account,
    Activity,
    ActivityStatus,
    ActivityType,
    Address,
    Contact,
    Email,
    Participant,
    ParticipantKind,
    Phone,
    Priority,
    SyncKind,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
    check_email,
    check_zone,
    clean_text,
    parse_date,
    parse_datetime,
)
from crmtui.store import (
    CONTACT_SORTS,
    ActivityQuery,
    ContactQuery,
    NotFound,
    Repository,
    SchemaError,
    StorageError,
    StoreError,
    open_store,
)

if TYPE_CHECKING:
    from crmtui.emulator import Emulator
    from crmtui.screens.context import Services
    from crmtui.sync.remote import CalendarRemote, ContactsRemote

ID_PREFIX_MIN = 6  # an id may be given as a unique prefix of at least this many characters
SHORT_ID = 8  # how many characters of an id the tables show
CELL_MAX = 36  # table cells longer than this are cut

# Errors that are the user's to fix: reported as "Error: <message>", exit status 1.
USER_ERRORS = (ValidationError, StoreError, StorageError, SchemaError, ConfigError, OSError)

T = TypeVar("T")
Typed = TypeVar("Typed", Email, Phone, Address)
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


# --------------------------------------------------------------------------- small helpers


def fail(message: str) -> NoReturn:
    """Stop the command with ``Error: message`` on stderr and exit status 1."""
    raise click.ClickException(message)


def stdin_is_tty() -> bool:
    """Whether a person can answer questions (first-run prompt, delete confirmation)."""
    return sys.stdin.isatty()


def local_zone() -> str:
    """The IANA name of the local time zone, or "" when it cannot be told."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if name:
            try:
                return check_zone("time zone", name)
            except ValidationError:
                continue
    return ""


@contextmanager
def option_errors(options: str | Mapping[str, str]) -> Iterator[None]:
    """Report a model ``ValidationError`` under the command-line option that caused it.

    ``options`` is one option name, or a map from model field names to option names. A qualified
    field such as ``address city`` keeps its qualifier: ``--address: city is ...``.
    """
    try:
        yield
    except ValidationError as exc:
        head, _, rest = exc.field.partition(" ")
        if isinstance(options, str):
            option, qualifier = options, rest
        elif exc.field in options:
            option, qualifier = options[exc.field], ""
        elif head in options:
            option, qualifier = options[head], rest
        else:
            raise
        problem = f"{qualifier} {exc.problem}" if qualifier else exc.problem
        raise ValidationError(option, problem, exc.value) from None


def emit_json(data: Any, err: bool = False) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False), err=err)


def short(record_id: str) -> str:
    return record_id[:SHORT_ID]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CELL_MAX else text[:CELL_MAX - 1] + "…"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    cells = [[_clip(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                         strict=True)).rstrip())


def print_fields(title: str, pairs: Iterable[tuple[str, str]]) -> None:
    """A record as a title line and indented ``label: value`` lines (empty values left out)."""
    click.echo(title)
    shown = [(label, value) for label, value in pairs if value]
    width = max((len(label) for label, _ in shown), default=0) + 1
    for label, value in shown:
        lines = value.splitlines() or [""]
        click.echo(f"  {(label + ':').ljust(width)} {lines[0]}")
        for line in lines[1:]:
            click.echo(f"  {' ' * width} {line}")


def plural(count: int, noun: str) -> str:
    """``1 contact``, ``2 contacts``, ``1 activity`` (``noun`` is the plural)."""
    if count == 1:
        noun = noun[:-3] + "y" if noun.endswith("ies") else noun.removesuffix("s")
    return f"{count} {noun}"


def shown_time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(sep=" ", timespec="seconds")


# --------------------------------------------------------------------------- the session


@dataclass
class Session:
    """What the commands of one invocation share: the data directory, the store, the user."""

    base: Path
    user_email: str | None
    _repo: Repository | None = None
    _user: User | None = None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = open_store(self.base)
        return self._repo

    def adopt(self, repo: Repository) -> None:
        """Use ``repo`` (opened elsewhere, e.g. by the demo) as this session's store."""
        self._repo = repo

    def user(self) -> User:
        """The current user (see :func:`current_user`)."""
        if self._user is None:
            self._user = current_user(self.repo, self.base, self.user_email)
        return self._user

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None


def current_user(repo: Repository, base: Path, email: str | None) -> User:
    """``--user EMAIL``, else the configured ``default_user``, else the only user.

    With no user at all, an interactive run asks for a name and an email and creates the user.
    """
    if email:
        user = repo.find_user(email)
        if user is None:
            fail(f"--user: no user has the email {email}; see `crmtui users list`")
        return user
    default = config.load(base).get("default_user")
    if default:
        user = repo.find_user(str(default))
        if user is None:
            raise ConfigError(
                f"default_user {default!r} in {paths.config_file(base)} is not a user of this "
                "database; choose one with `crmtui users default EMAIL`")
        return user
    users = repo.list_users()
    if len(users) == 1:
        return users[0]
    if not users:
        if stdin_is_tty():
            return first_run(repo, base)
        fail("there is no crmtui user yet; create one with "
             "`crmtui users add --name NAME --email EMAIL`")
    emails = ", ".join(u.email for u in users)
    fail(f"there are {len(users)} users ({emails}) and no default one; choose with "
         "`crmtui --user EMAIL ...` or set the default with `crmtui users default EMAIL`")


def _prompted(check: Callable[[], T]) -> T:
    try:
        return check()
    except ValidationError as exc:
        raise click.BadParameter(exc.problem) from None


def first_run(repo: Repository, base: Path) -> User:
    """Ask who is using crmtui, create that user and make it the default."""
    click.echo("Welcome to crmtui. There is no user yet: tell me who you are.", err=True)
    name = click.prompt("Your name", err=True,
                        value_proc=lambda v: _prompted(lambda: clean_text("name", v, MAX_NAME,
                                                                          required=True)))
    email = click.prompt("Your email", err=True,
                         value_proc=lambda v: _prompted(lambda: check_email("email", v)))
    user = create_user(repo, name, email)
    config.set_value(base, "default_user", user.email)
    click.echo(f"Created the user {user.name} <{user.email}>; it is the default user.", err=True)
    return user


def split_name(name: str) -> tuple[str, str]:
    """Given and family name from a display name: the last word is the family name."""
    words = name.split()
    if len(words) < 2:
        return name, ""
    return " ".join(words[:-1]), words[-1]


def create_user(repo: Repository, name: str, email: str) -> User:
    """Add a user and the user's own contact (carrying the email)."""
    with option_errors({"name": "--name", "email": "--email"}):
        user = User(name=name, email=email)
        given, family = split_name(user.name)
        contact = Contact(given_name=given, family_name=family,
                          emails=[Email(user.email, primary=True)])
    return repo.add_user(user, contact)


def find_user_option(repo: Repository, option: str, email: str) -> User:
    user = repo.find_user(email)
    if user is None:
        fail(f"{option}: no user has the email {email}; see `crmtui users list`")
    return user


def resolve_tag(repo: Repository, name: str, viewer_id: str, option: str = "--tag") -> Tag:
    tag = repo.find_tag(name, viewer_id)
    if tag is None:
        fail(f"{option}: there is no tag named {name!r}; see `crmtui tags list` or create it "
             f"with `crmtui tags add NAME`")
    return tag


def resolve_ids(kind: str, given: Sequence[str], ids: Iterable[str], option: str = ""
                ) -> list[str]:
    """Each of ``given`` as the one id in ``ids`` that it is or starts (at least 6 characters).

    Duplicates are dropped; the order is kept.
    """
    where = f"{option}: " if option else ""
    known = list(ids)
    exact = set(known)
    out: dict[str, None] = {}
    for text in given:
        text = text.strip()
        if text in exact:
            out[text] = None
            continue
        if len(text) < ID_PREFIX_MIN:
            fail(f"{where}no {kind} has the id {text!r} (an abbreviated id needs at least "
                 f"{ID_PREFIX_MIN} characters)")
        key = text.casefold()
        matches = [i for i in known if i.casefold().startswith(key)]
        if not matches:
            fail(f"{where}no {kind} has the id {text!r} (nor an id starting with it)")
        if len(matches) > 1:
            listed = ", ".join(sorted(matches)[:5]) + (", ..." if len(matches) > 5 else "")
            fail(f"{where}the id {text!r} is ambiguous: it starts {len(matches)} {kind} ids "
                 f"({listed}); give more characters")
        out[matches[0]] = None
    return list(out)


def resolve_contacts(repo: Repository, given: Sequence[str], viewer_id: str, option: str = ""
                     ) -> list[str]:
    return resolve_ids("contact", given, repo.contact_ids(ContactQuery(), viewer_id), option)


def resolve_contact(repo: Repository, given: str, viewer_id: str, option: str = "") -> str:
    return resolve_contacts(repo, [given], viewer_id, option)[0]


def resolve_activities(repo: Repository, given: Sequence[str]) -> list[str]:
    return resolve_ids("activity", given, (a.id for a in repo.find_activities(ActivityQuery())))


def resolve_activity(repo: Repository, given: str) -> str:
    return resolve_activities(repo, [given])[0]


def confirm_delete(what: str, labels: Sequence[str], yes: bool) -> None:
    """Ask before deleting, unless ``--yes``; without a terminal, ``--yes`` is required."""
    if yes:
        return
    if not stdin_is_tty():
        fail(f"deleting {what} needs confirmation and there is no terminal to ask: add --yes")
    click.echo("\n".join(f"  {label}" for label in labels), err=True)
    click.confirm(f"Delete {what}?", abort=True, err=True)


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of text.")
pass_session = click.make_pass_decorator(Session)


def compose(*decorators: Decorator) -> Decorator:
    """Apply several decorators, the first one outermost (as if stacked in that order)."""
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return apply


# --------------------------------------------------------------------------- the root command


class _Group(click.Group):
    """The root group: turns the user's errors into ``Error: ...`` and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader went away (`crmtui contacts list | head`): click exits quietly
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(name="crmtui", cls=_Group, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Data directory (default: $CRMTUI_HOME, else the platform's user data "
                   "directory).")
@click.option("--user", "user_email", metavar="EMAIL",
              help="Act as the user with this email (default: default_user in config.toml, "
                   "else the only user).")
@click.option("--demo", is_flag=True,
              help="Use the demo data directory (DIR/demo, sample data), never the real "
                   "database.")
@click.version_option(package_name="crmtui")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, user_email: str | None, demo: bool) -> None:
    """crmtui: a keyboard-driven CRM for the terminal.

    With no command, opens the TUI. The commands below script the same database; each takes
    --json for machine-readable output. Ids may be abbreviated to a unique prefix of at least 6
    characters.
    """
    base = paths.data_dir(data_dir)
    session = Session(paths.demo_dir(base) if demo else base, user_email)
    ctx.obj = session
    ctx.call_on_close(session.close)
    if ctx.invoked_subcommand is None:
        open_tui(session, demo)


def tui_services(repo: Repository, base: Path, user_id: str, *, demo: bool = False,
                 google_endpoint: str = "", client_secrets: Path | dict[str, Any] | None = None
                 ) -> Services:
    """The TUI's services: the repository, the sync service on the Google adapters (their
    retry notes relayed to the app's sync log), and the browser flow for "New → Google".

    ``client_secrets``: the OAuth client to link with (the demo's emulator client); else the
    config's ``google_client_secrets`` file, and without one "New → Google" says how to set it.
    """
    from crmtui.screens.context import NoteRelay, Services
    from crmtui.sync.service import SyncService

    # The Google client libraries load when first used (a sync, a link), not before the first
    # rows are painted: they take a third of a second to import.
    notes = NoteRelay()

    def contacts_remote(account: Account) -> ContactsRemote:
        from crmtui.sync.google.factory import contacts_remote_factory

        return contacts_remote_factory(base, progress=notes)(account)

    def calendar_remote(account: Account) -> CalendarRemote:
        from crmtui.sync.google.factory import calendar_remote_factory

        return calendar_remote_factory(base, progress=notes)(account)

    service = SyncService(repo, base, contacts_remote, calendar_remote)
    if client_secrets is None:
        configured = config.load(base).get("google_client_secrets")
        client_secrets = Path(str(configured)).expanduser() if configured else None
    secrets = client_secrets

    def link(user_id: str, show_url: Callable[[str], None],
             cancelled: threading.Event) -> Account:
        from crmtui.sync.accounts import AccountService
        from crmtui.sync.google.factory import google_linker
        from crmtui.sync.remote import LinkError

        if secrets is None:
            raise LinkError(
                f"no OAuth client is set up: put google_client_secrets = \"PATH\" (the JSON "
                f"of a Desktop app OAuth client from the Google Cloud console) in "
                f"{paths.config_file(base)}, or run `crmtui account link google "
                f"--client-secrets FILE`")
        google = google_linker(base, client_secrets=secrets, endpoint=google_endpoint or None,
                               open_browser=False, timeout=LINK_TIMEOUT)
        return AccountService(repo, base, google).link_with_browser(user_id, show_url, cancelled)

    return Services(repo, user_id, base, sync=service, link_google=link, demo=demo,
                    google_endpoint=google_endpoint, sync_notes=notes)


def open_tui(session: Session, demo: bool) -> None:
    from crmtui.app import run_app

    try:
        keys = config.keymap(session.base)
    except ConfigError as exc:
        fail(str(exc))
    if demo:
        from crmtui.demo import (
            demo_client_secrets,
            link_demo_google,
            open_demo,
            running_demo_google,
        )

        repo, demo_user_id = open_demo(session.base)
        session.adopt(repo)
        user_id = session.user().id if session.user_email else demo_user_id
        with running_demo_google(session.base) as emulator:
            link_demo_google(repo, session.base, demo_user_id, emulator)
            run_app(tui_services(repo, session.base, user_id, demo=True,
                                 google_endpoint=emulator.base_url,
                                 client_secrets=demo_client_secrets(emulator)), keymap=keys)
    else:
        run_app(tui_services(session.repo, session.base, session.user().id), keymap=keys)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``crmtui`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="crmtui")


# --------------------------------------------------------------------------- users


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


# --------------------------------------------------------------------------- tags


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


# --------------------------------------------------------------------------- contacts


# (option, model field, help) of a contact's single-valued fields.
CONTACT_FIELDS = (
    ("given", "given_name", "Given (first) name."),
    ("middle", "middle_name", "Middle name."),
    ("family", "family_name", "Family (last) name."),
    ("company", "company", "Company."),
    ("title", "job_title", "Job title."),
    ("birthday", "birthday", "Birthday, YYYY-MM-DD."),
    ("notes", "notes", "Notes (free text)."),
)
CONTACT_OPTIONS = {name: f"--{opt}" for opt, name, _ in CONTACT_FIELDS}
CONTACT_FIELD_OF = {opt: name for opt, name, _ in CONTACT_FIELDS}
EMAIL_HELP = f"[TYPE:]ADDRESS, TYPE one of {', '.join(EMAIL_TYPES)} (default {EMAIL_TYPES[0]})."
PHONE_HELP = f"[TYPE:]NUMBER, TYPE one of {', '.join(PHONE_TYPES)} (default {PHONE_TYPES[0]})."
ADDRESS_HELP = (f"'[TYPE:]street|city|region|postal code|country', TYPE one of "
                f"{', '.join(ADDRESS_TYPES)}; trailing parts may be left out.")


def split_type(option: str, text: str, types: Sequence[str]) -> tuple[str, str]:
    """``home:ann@example.com`` -> ("home", "ann@example.com"); no type -> the first of types."""
    head, sep, rest = text.partition(":")
    if sep and head.strip().isalpha():
        kind = head.strip().lower()
        if kind not in types:
            raise ValidationError(option, f"the type must be one of {', '.join(types)}", head)
        return kind, rest.strip()
    return types[0], text.strip()


def parse_email(option: str, text: str, primary: bool = False) -> Email:
    kind, value = split_type(option, text, EMAIL_TYPES)
    with option_errors(option):
        return Email(value, kind, primary)


def parse_phone(option: str, text: str, primary: bool = False) -> Phone:
    kind, value = split_type(option, text, PHONE_TYPES)
    with option_errors(option):
        return Phone(value, kind, primary)


def parse_address(option: str, text: str, primary: bool = False) -> Address:
    kind, value = split_type(option, text, ADDRESS_TYPES)
    parts = [p.strip() for p in value.split("|")]
    if len(parts) > 5:
        raise ValidationError(option, "has more than 5 parts (street|city|region|postal code|"
                              "country)", text)
    street, city, region, postal_code, country = parts + [""] * (5 - len(parts))
    with option_errors(option):
        return Address(kind, street, city, region, postal_code, country, primary)


def with_primary(items: list[Typed]) -> list[Typed]:
    """Mark the first item primary when none is."""
    if items and not any(item.primary for item in items):
        items[0] = replace(items[0], primary=True)
    return items


def contact_field_options(clearable: bool) -> Decorator:
    decorators: list[Decorator] = []
    for opt, _, help_text in CONTACT_FIELDS:
        decorators.append(click.option(f"--{opt}", metavar="TEXT" if opt != "birthday" else "DATE",
                                       help=help_text))
        if clearable:
            decorators.append(click.option(f"--clear-{opt}", is_flag=True,
                                           help=f"Clear the {opt} field."))
    return compose(*decorators)


@cli.group()
def contacts() -> None:
    """Contacts: add, list, show, edit, delete, tag and untag."""


def contact_labels(repo: Repository, contact_ids: Sequence[str], viewer_id: str) -> list[str]:
    return [f"{c.display_name} ({short(c.id)})"
            for c in repo.get_contacts(contact_ids, viewer_id)]


def tag_names(repo: Repository, viewer_id: str) -> dict[str, Tag]:
    return {t.id: t for t in repo.list_tags(viewer_id)}


@contacts.command("add")
@contact_field_options(clearable=False)
@click.option("--email", "emails", multiple=True, help=EMAIL_HELP + " Repeatable; the first is "
              "primary.")
@click.option("--phone", "phones", multiple=True, help=PHONE_HELP + " Repeatable; the first is "
              "primary.")
@click.option("--address", "addresses", multiple=True, help=ADDRESS_HELP + " Repeatable.")
@click.option("--tag", "tag_list", multiple=True, metavar="NAME",
              help="A tag you can see, by name. Repeatable.")
@json_option
@pass_session
def contacts_add(session: Session, emails: tuple[str, ...], phones: tuple[str, ...],
                 addresses: tuple[str, ...], tag_list: tuple[str, ...], as_json: bool,
                 **fields: str | None) -> None:
    """Add a contact owned by the current user.

    It needs at least a name, a company or an email.
    """
    user = session.user()
    values: dict[str, Any] = {CONTACT_FIELD_OF[opt]: value
                              for opt, value in fields.items() if value is not None}
    values["emails"] = [parse_email("--email", t, i == 0) for i, t in enumerate(emails)]
    values["phones"] = [parse_phone("--phone", t, i == 0) for i, t in enumerate(phones)]
    values["addresses"] = [parse_address("--address", t, i == 0) for i, t in enumerate(addresses)]
    values["tags"] = [resolve_tag(session.repo, name, user.id).id for name in tag_list]
    with option_errors({**CONTACT_OPTIONS, "emails": "--email"}):
        contact = Contact(owner_id=user.id, **values)
    session.repo.add_contact(contact)
    if as_json:
        emit_json(contact.to_dict())
    else:
        click.echo(f"Added the contact {contact.display_name} (id {short(contact.id)}).")


@contacts.command("list")
@click.option("--search", default="", metavar="TEXT",
              help="Every word must occur in the name, company, an email or a phone "
                   "(case and accents ignored).")
@click.option("--tag", "tag_list", multiple=True, metavar="NAME",
              help="Only contacts with this tag. Repeatable: all of them.")
@click.option("--tag-kind", type=click.Choice([k.value for k in TagKind]),
              help="Only contacts with at least one tag of this kind.")
@click.option("--sort", type=click.Choice(CONTACT_SORTS), default="name", show_default=True,
              help="Sort column.")
@click.option("--desc", is_flag=True, help="Sort in descending order.")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip this many first.")
@json_option
@pass_session
def contacts_list(session: Session, search: str, tag_list: tuple[str, ...], tag_kind: str | None,
                  sort: str, desc: bool, limit: int | None, offset: int, as_json: bool) -> None:
    """List contacts: search, filter by tags, sort and page."""
    repo, viewer = session.repo, session.user().id
    query = ContactQuery(text=search,
                         tag_ids=tuple(resolve_tag(repo, n, viewer).id for n in tag_list),
                         tag_kind=TagKind(tag_kind) if tag_kind else None,
                         sort=sort, descending=desc, offset=offset, limit=limit)
    found = repo.find_contacts(query, viewer)
    if as_json:
        emit_json([c.to_dict() for c in found])
        return
    if not found:
        click.echo("No contacts.")
        return
    names = tag_names(repo, viewer)
    print_table(["NAME", "COMPANY", "EMAIL", "PHONE", "TAGS", "ID"],
                [[c.display_name, c.company, c.primary_email, c.primary_phone,
                  ", ".join(names[t].name for t in c.tags if t in names), short(c.id)]
                 for c in found])


def typed_line(value: str, kind: str, primary: bool) -> str:
    return f"{value} ({kind}{', primary' if primary else ''})"


@contacts.command("show")
@click.argument("contact_id", metavar="ID")
@json_option
@pass_session
def contacts_show(session: Session, contact_id: str, as_json: bool) -> None:
    """Show every field of a contact."""
    repo, viewer = session.repo, session.user().id
    contact = repo.get_contact(resolve_contact(repo, contact_id, viewer), viewer)
    if as_json:
        emit_json(contact.to_dict())
        return
    names = tag_names(repo, viewer)
    try:
        owner = repo.get_user(contact.owner_id).name if contact.owner_id else ""
    except NotFound:
        owner = contact.owner_id
    print_fields(contact.display_name, [
        ("id", contact.id),
        ("given name", contact.given_name),
        ("middle name", contact.middle_name),
        ("family name", contact.family_name),
        ("company", contact.company),
        ("job title", contact.job_title),
        ("emails", "\n".join(typed_line(e.value, e.type, e.primary) for e in contact.emails)),
        ("phones", "\n".join(typed_line(p.value, p.type, p.primary) for p in contact.phones)),
        ("addresses", "\n".join(typed_line(a.one_line(), a.type, a.primary)
                                for a in contact.addresses)),
        ("birthday", contact.birthday.isoformat() if contact.birthday else ""),
        ("tags", ", ".join(f"{names[t].name} ({names[t].kind.value})"
                           for t in contact.tags if t in names)),
        ("owner", owner),
        ("created", shown_time(contact.created)),
        ("modified", shown_time(contact.modified)),
        ("notes", contact.notes),
    ])


def edit_values(current: Sequence[Typed], add: Sequence[str], remove: Sequence[str],
                parse: Callable[[str, str], Typed], same: Callable[[Typed, str], bool],
                noun: str) -> list[Typed]:
    """``current`` without the ``remove``d values and with the ``add``ed ones."""
    items = list(current)
    for text in remove:
        kept = [item for item in items if not same(item, text)]
        if len(kept) == len(items):
            fail(f"--remove-{noun}: the contact has no {noun} {text!r}")
        items = kept
    items += [parse(f"--add-{noun}", text) for text in add]
    return with_primary(items)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@contacts.command("edit")
@click.argument("contact_id", metavar="ID")
@contact_field_options(clearable=True)
@click.option("--add-email", multiple=True, help=EMAIL_HELP + " Repeatable.")
@click.option("--remove-email", multiple=True, metavar="ADDRESS", help="Repeatable.")
@click.option("--add-phone", multiple=True, help=PHONE_HELP + " Repeatable.")
@click.option("--remove-phone", multiple=True, metavar="NUMBER",
              help="Repeatable; digits are compared.")
@click.option("--add-address", multiple=True, help=ADDRESS_HELP + " Repeatable.")
@click.option("--clear-addresses", is_flag=True, help="Remove every address.")
@json_option
@pass_session
def contacts_edit(session: Session, contact_id: str, add_email: tuple[str, ...],
                  remove_email: tuple[str, ...], add_phone: tuple[str, ...],
                  remove_phone: tuple[str, ...], add_address: tuple[str, ...],
                  clear_addresses: bool, as_json: bool, **fields: Any) -> None:
    """Change a contact: only the fields given change."""
    repo, viewer = session.repo, session.user().id
    contact = repo.get_contact(resolve_contact(repo, contact_id, viewer), viewer)
    changes: dict[str, Any] = {}
    for opt, name, _ in CONTACT_FIELDS:
        value, clear = fields[opt], fields[f"clear_{opt}"]
        if value is not None and clear:
            raise click.UsageError(f"give --{opt} or --clear-{opt}, not both")
        if value is not None or clear:
            changes[name] = value if value is not None else (None if name == "birthday" else "")
    if add_email or remove_email:
        changes["emails"] = edit_values(
            contact.emails, add_email, remove_email, parse_email,
            lambda e, text: e.value.casefold() == text.strip().casefold(), "email")
    if add_phone or remove_phone:
        changes["phones"] = edit_values(
            contact.phones, add_phone, remove_phone, parse_phone,
            lambda p, text: _digits(p.value) == _digits(text), "phone")
    if add_address or clear_addresses:
        kept = [] if clear_addresses else list(contact.addresses)
        changes["addresses"] = with_primary(
            kept + [parse_address("--add-address", t) for t in add_address])
    if not changes:
        raise click.UsageError("nothing to change: give at least one option "
                               "(see `crmtui contacts edit --help`)")
    with option_errors({**CONTACT_OPTIONS, "emails": "--add-email"}):
        updated = contact.evolve(**changes)
    updated = repo.update_contact(updated, viewer)
    updated = repo.get_contact(updated.id, viewer)
    if as_json:
        emit_json(updated.to_dict())
    else:
        click.echo(f"Updated the contact {updated.display_name} (id {short(updated.id)}).")


@contacts.command("delete")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_session
def contacts_delete(session: Session, contact_ids: tuple[str, ...], yes: bool,
                    as_json: bool) -> None:
    """Delete contacts (they are also taken out of their activities)."""
    repo, viewer = session.repo, session.user().id
    ids = resolve_contacts(repo, contact_ids, viewer)
    confirm_delete(plural(len(ids), "contacts"), contact_labels(repo, ids, viewer), yes)
    with repo.transaction():
        for cid in ids:
            repo.delete_contact(cid)
    if as_json:
        emit_json({"deleted": ids})
    else:
        click.echo(f"Deleted {plural(len(ids), 'contacts')}.")


def _tagging(session: Session, contact_ids: Sequence[str], tag_list: Sequence[str],
             as_json: bool, remove: bool) -> None:
    repo, viewer = session.repo, session.user().id
    ids = resolve_contacts(repo, contact_ids, viewer)
    chosen = [resolve_tag(repo, name, viewer) for name in tag_list]
    changed: dict[str, int] = {}
    with repo.transaction():
        for tag in chosen:
            changed[tag.name] = repo.tag_contacts(ids, tag.id, viewer, remove=remove)
    if as_json:
        emit_json({"contacts": ids, "changed": changed})
        return
    for name, count in changed.items():
        if remove:
            click.echo(f"Removed the tag {name!r} from {count} of {plural(len(ids), 'contacts')}.")
        else:
            click.echo(f"Tagged {count} of {plural(len(ids), 'contacts')} with {name!r}.")


@contacts.command("tag")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--tag", "tag_list", multiple=True, required=True, metavar="NAME",
              help="The tag to add, by name. Repeatable.")
@json_option
@pass_session
def contacts_tag(session: Session, contact_ids: tuple[str, ...], tag_list: tuple[str, ...],
                 as_json: bool) -> None:
    """Add a tag to contacts."""
    _tagging(session, contact_ids, tag_list, as_json, remove=False)


@contacts.command("untag")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--tag", "tag_list", multiple=True, required=True, metavar="NAME",
              help="The tag to remove, by name. Repeatable.")
@json_option
@pass_session
def contacts_untag(session: Session, contact_ids: tuple[str, ...], tag_list: tuple[str, ...],
                   as_json: bool) -> None:
    """Remove a tag from contacts."""
    _tagging(session, contact_ids, tag_list, as_json, remove=True)


# --------------------------------------------------------------------------- activities


ACTIVITY_OPTIONS = {
    "title": "--title", "type": "--type", "start": "--start", "end": "--end",
    "timezone": "--tz", "start_date": "--date", "end_date": "--end-date", "status": "--status",
    "priority": "--priority", "location": "--location", "notes": "--notes",
    "participants": "--participant", "participant": "--participant", "recurrence": "--rrule",
}
_RECURRENCE_RE = re.compile(r"^(RRULE|EXRULE|RDATE|EXDATE)[:;]", re.I)


def parse_moment(option: str, text: str, zone: str) -> tuple[datetime, bool]:
    """An ISO date and time; a naive one is taken in ``zone`` (or the local zone).

    Returns the aware datetime and whether it was naive.
    """
    value = parse_datetime(option, text)
    if value.tzinfo is not None:
        return value, False
    return (value.replace(tzinfo=ZoneInfo(zone)) if zone else value.astimezone()), True


def recurrence_line(text: str) -> str:
    """``FREQ=WEEKLY`` -> ``RRULE:FREQ=WEEKLY``; full RRULE/EXDATE lines stay as they are."""
    line = text.strip()
    if not _RECURRENCE_RE.match(line):
        line = f"RRULE:{line}"
    if line.upper().startswith("RRULE") and "FREQ=" not in line.upper():
        raise ValidationError("--rrule", "an RRULE needs FREQ=..., e.g. FREQ=WEEKLY;BYDAY=MO",
                              text)
    return line


def resolve_participant(repo: Repository, option: str, text: str, viewer_id: str
                        ) -> Participant:
    """A user (by email), else a contact (by email, or by id)."""
    text = text.strip()
    if "@" not in text:
        return Participant(ParticipantKind.CONTACT,
                           resolve_contact(repo, text, viewer_id, option))
    user = repo.find_user(text)
    if user is not None:
        return Participant(ParticipantKind.USER, user.id)
    found = repo.contacts_with_email(text)
    if len(found) > 1:
        fail(f"{option}: {len(found)} contacts have the email {text}; give the contact's id "
             f"instead ({', '.join(short(c.id) for c in found)})")
    if not found:
        fail(f"{option}: no user or contact has the email {text}; add the contact first "
             f"(`crmtui contacts add --email {text}`)")
    return Participant(ParticipantKind.CONTACT, found[0].id)


def activity_common_options(edit: bool) -> Decorator:
    """The options ``activities add`` and ``activities edit`` share."""
    start_help = "New start" if edit else "Start"
    zone_default = "the activity's zone, else the local zone" if edit else "the local zone"
    return compose(
        click.option("--type", "type_", type=click.Choice([t.value for t in ActivityType]),
                     help="Type" + ("." if edit else " (default: task).")),
        click.option("--start", metavar="ISO", help=f"{start_help}, e.g. 2026-11-24T10:00 (without an "
                     "offset: in --tz)."),
        click.option("--end", metavar="ISO", help="End, like --start."),
        click.option("--tz", metavar="ZONE", help="IANA time zone of --start/--end, e.g. "
                     f"Europe/Paris (default: {zone_default})."),
        click.option("--date", "date_", metavar="DATE", help="All-day: the (first) date, "
                     "YYYY-MM-DD."),
        click.option("--end-date", metavar="DATE", help="All-day: the last date (inclusive)."),
        click.option("--status", type=click.Choice([s.value for s in ActivityStatus]),
                     help="Status" + ("." if edit else " (default: not_started).")),
        click.option("--priority", type=click.Choice([p.value for p in Priority]),
                     help="Priority" + ("." if edit else " (default: medium).")),
        click.option("--location", help="Location."),
        click.option("--notes", help="Notes (free text)."),
        click.option("--organizer", metavar="EMAIL", help="The organizing user" + (
            "." if edit else " (default: the current user).")),
        click.option("--show-in-calendar/--no-show-in-calendar", default=None,
                     help="Whether the activity goes to the calendar" + (
                         "." if edit else " (default: no).")),
        click.option("--rrule", metavar="RULE", help="Recurrence rule, e.g. "
                     "'FREQ=WEEKLY;BYDAY=MO' (RRULE: is added)."),
    )


@cli.group()
def activities() -> None:
    """Activities: tasks, calls, meetings and emails."""


@activities.command("add")
@click.option("--title", required=True, help="Title.")
@activity_common_options(edit=False)
@click.option("--all-day", is_flag=True, help="An all-day activity (give --date).")
@click.option("--participant", "participants", multiple=True, metavar="EMAIL_OR_CONTACT_ID",
              help="A user or contact email, or a contact id. Repeatable.")
@json_option
@pass_session
def activities_add(session: Session, title: str, type_: str | None, start: str | None,
                   end: str | None, tz: str | None, date_: str | None, end_date: str | None,
                   status: str | None, priority: str | None, location: str | None,
                   notes: str | None, organizer: str | None, show_in_calendar: bool | None,
                   rrule: str | None, all_day: bool, participants: tuple[str, ...],
                   as_json: bool) -> None:
    """Add an activity, owned by the current user.

    Timed: --start [--end] [--tz]. All-day: --date [--end-date].
    """
    repo, user = session.repo, session.user()
    zone = check_zone("--tz", tz or "")
    naive_zone = zone or local_zone()
    start_dt, start_naive = parse_moment("--start", start, naive_zone) if start else (None, False)
    end_dt, end_naive = parse_moment("--end", end, naive_zone) if end else (None, False)
    values: dict[str, Any] = {
        "title": title, "type": type_, "start": start_dt, "end": end_dt,
        "timezone": zone or (naive_zone if start_naive or end_naive else ""),
        "all_day": all_day or date_ is not None, "start_date": date_, "end_date": end_date,
        "status": status, "priority": priority, "location": location, "notes": notes,
        "show_in_calendar": show_in_calendar,
        "organizer_id": (find_user_option(repo, "--organizer", organizer) if organizer
                         else user).id,
        "participants": [resolve_participant(repo, "--participant", p, user.id)
                         for p in participants],
        "recurrence": [recurrence_line(rrule)] if rrule else [],
    }
    with option_errors(ACTIVITY_OPTIONS):
        activity = Activity(owner_id=user.id,
                            **{k: v for k, v in values.items() if v is not None})
    repo.add_activity(activity)
    if as_json:
        emit_json(activity.to_dict())
    else:
        click.echo(f"Added the {activity.type.value} {activity.title!r} "
                   f"({when(activity) or 'no date'}; id {short(activity.id)}).")


def when(activity: Activity) -> str:
    """When an activity takes place, in its own zone, e.g. ``2026-11-24 10:00-11:00``."""
    if activity.all_day and activity.start_date is not None:
        last = activity.end_date
        span = activity.start_date.isoformat()
        if last is not None and last != activity.start_date:
            span += f"..{last.isoformat()}"
        return f"{span} all day"
    if activity.start is None:
        return ""
    text = f"{activity.start:%Y-%m-%d %H:%M}"
    if activity.end is not None:
        same_day = activity.end.date() == activity.start.date()
        text += f"-{activity.end:%H:%M}" if same_day else f" - {activity.end:%Y-%m-%d %H:%M}"
    return text


@activities.command("list")
@click.option("--from", "from_", metavar="DATE", help="Starting on or after this date.")
@click.option("--to", metavar="DATE", help="Starting on or before this date.")
@click.option("--user", "user_email", metavar="EMAIL",
              help="Organized by this user or with them taking part (default: the current "
                   "user).")
@click.option("--all", "everyone", is_flag=True, help="Every user's activities.")
@click.option("--calendar/--no-calendar", default=None,
              help="Only activities shown (or not shown) in the calendar.")
@click.option("--type", "type_", type=click.Choice([t.value for t in ActivityType]),
              help="Only activities of this type.")
@click.option("--search", default="", metavar="TEXT",
              help="Every word must occur in the title, location or notes.")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many.")
@json_option
@pass_session
def activities_list(session: Session, from_: str | None, to: str | None, user_email: str | None,
                    everyone: bool, calendar: bool | None, type_: str | None, search: str,
                    limit: int | None, as_json: bool) -> None:
    """List activities sorted by start, past and upcoming (default: the current user's)."""
    if everyone and user_email:
        raise click.UsageError("give --user or --all, not both")
    repo = session.repo
    if everyone:
        user_id = None
    elif user_email:
        user_id = find_user_option(repo, "--user", user_email).id
    else:
        user_id = session.user().id
    start_from = parse_date("--from", from_) if from_ else None
    last = parse_date("--to", to) if to else None
    if start_from and last and last < start_from:
        raise ValidationError("--to", "is before --from", to)
    query = ActivityQuery(start_from=start_from,
                          start_to=last + timedelta(days=1) if last else None,
                          user_id=user_id, show_in_calendar=calendar,
                          type=ActivityType(type_) if type_ else None, text=search, limit=limit)
    found = repo.find_activities(query)
    if as_json:
        emit_json([a.to_dict() for a in found])
        return
    if not found:
        click.echo("No activities.")
        return
    names = {u.id: u.name for u in repo.list_users()}
    print_table(["WHEN", "TYPE", "TITLE", "STATUS", "CALENDAR", "ORGANIZER", "ID"],
                [[when(a), a.type.value, a.title, a.status.value,
                  "yes" if a.show_in_calendar else "", names.get(a.organizer_id, ""), short(a.id)]
                 for a in found])


def participant_label(repo: Repository, participant: Participant, viewer_id: str) -> str:
    try:
        if participant.kind is ParticipantKind.USER:
            user = repo.get_user(participant.ref_id)
            label = f"{user.name} <{user.email}> (user)"
        else:
            contact = repo.get_contact(participant.ref_id, viewer_id)
            email = f" <{contact.primary_email}>" if contact.primary_email else ""
            label = f"{contact.display_name}{email} (contact {short(contact.id)})"
    except NotFound:
        label = f"(deleted {participant.kind.value} {participant.ref_id})"
    return f"{label}: {participant.response.value}"


@activities.command("show")
@click.argument("activity_id", metavar="ID")
@json_option
@pass_session
def activities_show(session: Session, activity_id: str, as_json: bool) -> None:
    """Show every field of an activity."""
    repo, viewer = session.repo, session.user().id
    activity = repo.get_activity(resolve_activity(repo, activity_id))
    if as_json:
        emit_json(activity.to_dict())
        return
    users_by_id = {u.id: u for u in repo.list_users()}
    organizer = users_by_id.get(activity.organizer_id)
    owner = users_by_id.get(activity.owner_id)
    print_fields(activity.title, [
        ("id", activity.id),
        ("type", activity.type.value),
        ("when", when(activity)),
        ("time zone", activity.timezone if not activity.all_day else ""),
        ("status", activity.status.value),
        ("priority", activity.priority.value),
        ("location", activity.location),
        ("organizer", f"{organizer.name} <{organizer.email}>" if organizer else ""),
        ("participants", "\n".join(participant_label(repo, p, viewer)
                                   for p in activity.participants)),
        ("calendar", "shown in calendar" if activity.show_in_calendar else "not in calendar"),
        ("recurrence", "\n".join(activity.recurrence)),
        ("series", activity.series_id),
        ("owner", owner.name if owner else ""),
        ("created", shown_time(activity.created)),
        ("modified", shown_time(activity.modified)),
        ("notes", activity.notes),
    ])


def _set_or_clear(changes: dict[str, Any], name: str, value: Any, clear: bool,
                  empty: Any = "") -> None:
    if value is not None and clear:
        option = ACTIVITY_OPTIONS.get(name, f"--{name}")
        raise click.UsageError(f"give {option} or --clear-{option[2:]}, not both")
    if value is not None:
        changes[name] = value
    elif clear:
        changes[name] = empty


def _new_times(activity: Activity, start: str | None, end: str | None, tz: str | None,
               date_: str | None, end_date: str | None, clear_end: bool) -> dict[str, Any]:
    """The time fields an edit changes; a moved start keeps the activity's length."""
    if date_ is not None and (start is not None or end is not None):
        raise click.UsageError("give --date (all-day) or --start/--end (timed), not both")
    if clear_end and (end is not None or end_date is not None):
        raise click.UsageError("give --end/--end-date or --clear-end, not both")
    changes: dict[str, Any] = {}
    zone = check_zone("--tz", tz) if tz is not None else None
    naive_zone = zone or activity.timezone or local_zone()
    if zone is not None:
        changes["timezone"] = zone
    if date_ is not None:
        first = parse_date("--date", date_)
        if end_date is not None:
            last = parse_date("--end-date", end_date)
        elif activity.all_day and activity.start_date and activity.end_date and not clear_end:
            last = first + (activity.end_date - activity.start_date)
        else:
            last = first
        changes.update(all_day=True, start=None, end=None, start_date=first, end_date=last)
    elif end_date is not None or (clear_end and activity.all_day):
        if not activity.all_day:
            fail("--end-date: the activity has times, not dates; give --date to make it all-day")
        changes["end_date"] = end_date
    if start is not None:
        new_start, naive = parse_moment("--start", start, naive_zone)
        if end is not None:
            new_end: datetime | None = parse_moment("--end", end, naive_zone)[0]
        elif not clear_end and not activity.all_day and activity.start and activity.end:
            new_end = new_start + (activity.end - activity.start)
        else:
            new_end = None
        changes.update(all_day=False, start_date=None, end_date=None, start=new_start,
                       end=new_end)
        if naive and zone is None:
            changes["timezone"] = naive_zone
    elif end is not None or (clear_end and not activity.all_day):
        if activity.all_day:
            fail("--end: the activity is all-day; give --end-date, or --start to give it times")
        changes["end"] = parse_moment("--end", end, naive_zone)[0] if end is not None else None
    return changes


@activities.command("edit")
@click.argument("activity_id", metavar="ID")
@click.option("--title", help="New title.")
@activity_common_options(edit=True)
@click.option("--add-participant", multiple=True, metavar="EMAIL_OR_CONTACT_ID",
              help="A user or contact email, or a contact id. Repeatable.")
@click.option("--remove-participant", multiple=True, metavar="EMAIL_OR_CONTACT_ID",
              help="Repeatable.")
@click.option("--clear-end", is_flag=True, help="Remove the end (all-day: end on the start "
                                                 "date).")
@click.option("--clear-location", is_flag=True, help="Clear the location.")
@click.option("--clear-notes", is_flag=True, help="Clear the notes.")
@click.option("--clear-rrule", is_flag=True, help="Remove the recurrence.")
@json_option
@pass_session
def activities_edit(session: Session, activity_id: str, title: str | None, type_: str | None,
                    start: str | None, end: str | None, tz: str | None, date_: str | None,
                    end_date: str | None, status: str | None, priority: str | None,
                    location: str | None, notes: str | None, organizer: str | None,
                    show_in_calendar: bool | None, rrule: str | None,
                    add_participant: tuple[str, ...], remove_participant: tuple[str, ...],
                    clear_end: bool, clear_location: bool, clear_notes: bool, clear_rrule: bool,
                    as_json: bool) -> None:
    """Change an activity: only the fields given change.

    Giving --date makes it all-day, giving --start makes it timed; moving the start keeps its
    length unless --end (or --end-date) is given.
    """
    repo, viewer = session.repo, session.user().id
    activity = repo.get_activity(resolve_activity(repo, activity_id))
    changes = _new_times(activity, start, end, tz, date_, end_date, clear_end)
    for name, value in (("title", title), ("type", type_), ("status", status),
                        ("priority", priority), ("show_in_calendar", show_in_calendar)):
        if value is not None:
            changes[name] = value
    _set_or_clear(changes, "location", location, clear_location)
    _set_or_clear(changes, "notes", notes, clear_notes)
    _set_or_clear(changes, "recurrence", [recurrence_line(rrule)] if rrule else None, clear_rrule,
                  empty=[])
    if organizer is not None:
        changes["organizer_id"] = find_user_option(repo, "--organizer", organizer).id
    if add_participant or remove_participant:
        people = list(activity.participants)
        for text in remove_participant:
            gone = resolve_participant(repo, "--remove-participant", text, viewer)
            kept = [p for p in people if (p.kind, p.ref_id) != (gone.kind, gone.ref_id)]
            if len(kept) == len(people):
                fail(f"--remove-participant: {text} does not take part in the activity")
            people = kept
        people += [resolve_participant(repo, "--add-participant", text, viewer)
                   for text in add_participant]
        changes["participants"] = people
    if not changes:
        raise click.UsageError("nothing to change: give at least one option "
                               "(see `crmtui activities edit --help`)")
    with option_errors({**ACTIVITY_OPTIONS, "participants": "--add-participant"}):
        updated = activity.evolve(**changes)
    updated = repo.update_activity(updated)
    if as_json:
        emit_json(updated.to_dict())
    else:
        click.echo(f"Updated the {updated.type.value} {updated.title!r} "
                   f"({when(updated) or 'no date'}; id {short(updated.id)}).")


@activities.command("delete")
@click.argument("activity_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_session
def activities_delete(session: Session, activity_ids: tuple[str, ...], yes: bool,
                      as_json: bool) -> None:
    """Delete activities."""
    repo = session.repo
    session.user()  # like every activity command, this needs a valid current user
    ids = resolve_activities(repo, activity_ids)
    labels = [f"{a.title} ({when(a) or 'no date'}, {short(a.id)})"
              for a in (repo.get_activity(i) for i in ids)]
    confirm_delete(plural(len(ids), "activities"), labels, yes)
    with repo.transaction():
        for aid in ids:
            repo.delete_activity(aid)
    if as_json:
        emit_json({"deleted": ids})
    else:
        click.echo(f"Deleted {plural(len(ids), 'activities')}.")


# --------------------------------------------------------------------------- import and export


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


# --------------------------------------------------------------------------- accounts


LINK_TIMEOUT = 300.0  # seconds the browser flow waits for the user's consent
CLIENT_SECRETS_HELP = (
    "The OAuth client (a 'Desktop app' client's JSON from the Google Cloud console) for the "
    "browser flow. For the emulator: POST URL/__emulator/accounts with {\"email\": ...} answers "
    "the client_id and client_secret to put in {\"installed\": {...}}.")


@cli.group()
def account() -> None:
    """Linked Google accounts (their tokens are kept in DIR/tokens, 0600, never shown)."""


@account.group("link")
def account_link() -> None:
    """Link an external account to the current user."""


@account_link.command("google")
@click.option("--client-secrets", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help=CLIENT_SECRETS_HELP)
@click.option("--endpoint", metavar="URL",
              help="Google's address; e.g. the emulator's http://127.0.0.1:8765 (default: "
                   "$CRMTUI_GOOGLE_ENDPOINT, else Google).")
@click.option("--no-browser", is_flag=True,
              help="Do not open a browser: print the URL to open (on this machine).")
@click.option("--credentials", "credentials_file",
              type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Link from an authorized-user JSON file (token, refresh_token, client_id, "
                   "client_secret, token_uri) instead of the browser flow.")
@click.option("--email", metavar="EMAIL",
              help="With --credentials: the account's email, used when Google cannot tell it.")
@json_option
@pass_session
def account_link_google(session: Session, client_secrets: Path | None, endpoint: str | None,
                        no_browser: bool, credentials_file: Path | None, email: str | None,
                        as_json: bool) -> None:
    """Link a Google account (contacts and calendar events) to the current user.

    The browser flow (--client-secrets) asks Google for consent in a browser; --credentials
    links from saved credentials, for machines without a browser. Linking an account again
    reconnects it.
    """
    from crmtui.sync.accounts import AccountService
    from crmtui.sync.google.factory import google_linker
    from crmtui.sync.remote import LinkError

    if credentials_file and (client_secrets or no_browser):
        raise click.UsageError("--credentials links without a browser: it takes neither "
                               "--client-secrets nor --no-browser")
    if email and not credentials_file:
        raise click.UsageError("--email goes with --credentials (the browser flow asks Google)")
    if not credentials_file and not client_secrets:
        raise click.UsageError("give --client-secrets FILE for the browser flow, or "
                               "--credentials FILE")
    repo, user = session.repo, session.user()

    def show_url(url: str) -> None:
        lead = ("Open this address in a browser on this machine to link your Google account:"
                if no_browser else
                "Opening Google's consent page in your browser; if it does not open, go to:")
        click.echo(f"{lead}\n  {url}", err=True)

    accounts = AccountService(repo, session.base, google_linker(
        session.base, client_secrets=client_secrets, endpoint=endpoint,
        open_browser=not no_browser, timeout=LINK_TIMEOUT))
    try:
        if credentials_file:
            linked = accounts.link_from_credentials_file(user.id, credentials_file,
                                                         email=email or "")
        else:
            linked = accounts.link_with_browser(user.id, show_url)
    except LinkError as exc:
        fail(str(exc))
    if as_json:
        emit_json(linked.to_dict())
    else:
        where = f" at {linked.endpoint}" if linked.endpoint else ""
        click.echo(f"Linked the Google account {linked.email}{where} (id {short(linked.id)}).")


@account.command("list")
@json_option
@pass_session
def account_list(session: Session, as_json: bool) -> None:
    """List the current user's linked accounts and their state."""
    found = session.repo.list_accounts(session.user().id)
    if as_json:
        emit_json([a.to_dict() for a in found])
        return
    if not found:
        click.echo("No linked account; link one with `crmtui account link google`.")
        return
    print_table(["EMAIL", "PROVIDER", "ENDPOINT", "STATE", "ID"],
                [[a.email, a.provider, a.endpoint or "Google", a.state.value, short(a.id)]
                 for a in found])
    for a in found:
        if a.state_message:
            click.echo(f"{a.email}: {a.state_message}")


@account.command("unlink")
@click.argument("which", metavar="EMAIL|ID")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_session
def account_unlink(session: Session, which: str, yes: bool, as_json: bool) -> None:
    """Unlink an account of the current user and delete its saved tokens.

    The data already synchronized stays, in crmtui and in Google.
    """
    from crmtui.sync.accounts import AccountService

    mine = session.repo.list_accounts(session.user().id)
    chosen = [a for a in mine if a.email.casefold() == which.strip().casefold()]
    if not chosen:
        account_id = resolve_ids("account", [which], (a.id for a in mine), "EMAIL|ID")[0]
        chosen = [a for a in mine if a.id == account_id]
    if len(chosen) > 1:
        fail(f"{len(chosen)} accounts have the email {which}; give the id (see "
             "`crmtui account list`)")
    target = chosen[0]
    confirm_delete(f"the link to {target.email}", [f"{target.email} ({short(target.id)})"], yes)
    AccountService(session.repo, session.base).unlink(target.id)
    if as_json:
        emit_json({"unlinked": target.to_dict()})
    else:
        click.echo(f"Unlinked {target.email}; its tokens are deleted.")


# --------------------------------------------------------------------------- sync settings


def parse_period(text: str) -> int:
    """``30m``, ``1h``... as minutes, one of the periods a sync can run at."""
    match = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", text.lower())
    minutes = int(match[1]) * (60 if match[2] == "h" else 1) if match else 0
    if minutes not in SYNC_PERIODS:
        choices = ", ".join(f"{p}m" for p in SYNC_PERIODS)
        raise click.BadParameter(f"{text!r} is not a sync period: choose one of {choices} "
                                 "(or 1h)", param_hint="--every")
    return minutes


TAG_KIND_WHY = {TagKind.PUBLIC: "a public tag, visible to everyone",
                TagKind.CORPORATE: "a corporate tag, shared by the whole company"}

# Exit statuses of a sync run, and which is worse when `crmtui sync` runs several kinds: a failed
# run (or one the mass-unlink guard stopped) outranks one refused because another was running.
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


def sync_due(repo: Repository, settings: SyncSettings, kind: SyncKind) -> bool:
    """Whether ``kind`` is set to synchronize automatically and its period has passed."""
    from crmtui.sync.service import is_due

    return is_due(*settings.schedule(kind),
                  repo.get_sync_state(settings.user_id, kind).get("last_sync"))


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
    statuses = [SYNC_OK]
    for kind in SyncKind:
        name = kind.value.capitalize()
        if not settings.is_set_up(kind):
            click.echo(f"{name}: not set up (see `crmtui sync setup {kind.value} --help`).")
        elif due and not sync_due(session.repo, settings, kind):
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
    from crmtui.sync.google.factory import calendar_remote_factory, contacts_remote_factory
    from crmtui.sync.service import SyncBusy, SyncService

    repo = session.repo
    progress = _StderrProgress()
    service = SyncService(repo, session.base,
                          contacts_remote_factory(session.base, progress=progress.note),
                          calendar_remote_factory(session.base, progress=progress.note))
    try:
        outcome = service.run(user.id, kind, dry_run=dry_run, confirmed=yes, progress=progress)
    except SyncBusy as exc:
        click.echo(f"Error: {exc}", err=True)
        return SYNC_BUSY
    finally:
        progress.close()
    report = outcome.report
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
    tag = repo.find_tag(tag_name, user.id)
    if tag is None:
        fail(f"--tag: there is no tag named {tag_name!r}; create your private one with "
             f"`crmtui tags add {tag_name!r}`")
    if tag.kind != TagKind.PRIVATE:
        fail(f"--tag: only a private tag can be a sync tag: {tag.name!r} is "
             f"{TAG_KIND_WHY[tag.kind]}; create your own with `crmtui tags add NAME`")
    changes["contacts_tag_id"] = tag.id
    if group_name is not None:
        changes["contacts_group_name"] = group_name
    with option_errors({"contacts_group_name": "--group"}):
        settings = repo.get_sync_settings(user.id).evolve(**changes)
    repo.save_sync_settings(settings)
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
@every_option
@manual_option
@json_option
@pass_session
def sync_setup_activities(session: Session, from_: str, every: str | None, manual: bool,
                          as_json: bool) -> None:
    """Set up the activity sync with your primary Google calendar: from which date, how often.

    The activities you organize that have Show in calendar set and start on or after --from go
    to the calendar; the calendar's events come in as activities. Without --every or --manual,
    the schedule set before is kept (manual at first). A Google account can be linked before
    or after (`crmtui account link google`); a sync needs one.
    """
    changes = schedule_changes(SyncKind.ACTIVITIES, every, manual)
    changes["activities_from"] = parse_from_date(from_)
    repo, user = session.repo, session.user()
    settings = repo.get_sync_settings(user.id).evolve(**changes)
    repo.save_sync_settings(settings)
    accounts = [a.email for a in repo.list_accounts(user.id) if a.provider == "google"]
    if as_json:
        emit_json({**settings.to_dict(), "google_account": accounts[0] if accounts else None})
        return
    account = (f"{accounts[0]} (its primary calendar)" if accounts else
               "none linked yet: run `crmtui account link google` before syncing")
    assert settings.activities_from is not None
    print_fields("Activities sync set up:", [
        ("from", settings.activities_from.isoformat()),
        ("schedule", schedule_text(settings, SyncKind.ACTIVITIES)),
        ("Google account", account)])


# --------------------------------------------------------------------------- the Google emulator


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@cli.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes the emulator (and its "
                   "unauthenticated control API) to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Keep the accounts and their data in FILE: loaded at start, "
                                   "saved while running and on exit (default: memory only).")
@click.option("--seed", type=click.Choice(["empty", "demo"]), default="empty",
              show_default=True,
              help="demo: the Google accounts of the demo team, the demo user's with an address "
                   "book and a calendar (not when --state already holds accounts).")
@click.option("--token-lifetime", type=click.IntRange(min=1), default=3600, show_default=True,
              metavar="SECONDS", help="How long an access token is valid.")
def emulator_command(host: str, port: int, state_file: Path | None, seed: str,
                     token_lifetime: int) -> None:
    """Run the built-in Google emulator in the foreground until Ctrl-C.

    A loopback server that behaves like the parts of Google that crmtui synchronizes with
    (People v1, Calendar v3, OAuth), for tests and for trying crmtui without a Google account.
    Accounts, their credentials, faults and the clock are handled by its control API under
    /__emulator/ (see the README).
    """
    from crmtui.emulator import Emulator

    if host not in LOOPBACK_HOSTS:
        click.echo(f"Warning: listening on {host}, not on loopback: anyone who can reach this "
                   "machine can read and change the emulator's data.", err=True)
    try:
        emulator = Emulator(host, port, state_file=state_file, token_lifetime=token_lifetime)
    except RuntimeError as exc:  # an unreadable --state file
        fail(str(exc))
    try:
        url = emulator.start()
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo(f"crmtui's Google emulator at {url}")
        seeded = seed == "demo" and not emulator.state.accounts
        if seeded:
            from crmtui.demo import seed_google

            seed_google(emulator)
        _describe_emulator(url, emulator, state_file, seeded)
        while not stop.wait(1.0):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Stopped; the state is saved in {state_file}." if state_file else "Stopped.")


def _describe_emulator(url: str, emulator: Emulator, state_file: Path | None, seeded: bool) -> None:
    """Print where each API is served, the state file, and the accounts and their credentials."""
    click.echo(f"  People API:    api_endpoint {url}\n"
               f"  Calendar API:  api_endpoint {url}/calendar/v3/\n"
               f"  Batches:       {url}/batch and {url}/batch/calendar/v3\n"
               f"  OAuth:         {url}/o/oauth2/auth and {emulator.token_uri}\n"
               f"  Control API:   {url}/__emulator/")
    click.echo(f"State: {state_file} (saved while running and on exit)." if state_file
               else "State: in memory only (--state FILE keeps it).")
    if seeded:
        from crmtui.demo import google_accounts

        click.echo("Demo accounts (the first is the demo user's):")
        for name, email in google_accounts():
            click.echo(f"  {name} <{email}>")
    elif emulator.state.accounts:
        click.echo("Accounts: " + ", ".join(sorted(emulator.state.accounts)))
    click.echo(f"Credentials of an account (created if new): POST {url}/__emulator/accounts "
               'with {"email": "..."}.')
    click.echo("Press Ctrl-C to stop.")


__all__ = ["cli", "main"]
