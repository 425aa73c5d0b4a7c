"""What the commands of one invocation share: the data directory, the store, the current user,
and how ids, tags and users given on the command line are found."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click

from crmtui import config, paths
from crmtui.cli.output import fail, option_errors
from crmtui.config import ConfigError
from crmtui.model import (
    MAX_NAME,
    Contact,
    Email,
    Tag,
    User,
    ValidationError,
    check_email,
    check_zone,
    clean_text,
)
from crmtui.store import (
    ActivityQuery,
    NotFound,
    Repository,
    open_repository,
    open_store,
)

ID_PREFIX_MIN = 6  # an id may be given as a unique prefix of at least this many characters

T = TypeVar("T")


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


def choose_database(base: Path, option: str | None, demo: bool = False) -> str | None:
    """The PostgreSQL URL of the store, or None for the TinyDB file in ``base``: ``--database``,
    else ``$CRMTUI_DATABASE``, else ``database`` in ``base``'s config.toml. The demo uses only
    ``--database`` (a team's configured database never receives the demo data by accident)."""
    if option:
        source, value = "--database", option
    elif demo:
        return None
    elif os.environ.get(config.DATABASE_ENV):
        source, value = config.DATABASE_ENV, os.environ[config.DATABASE_ENV]
    elif not paths.config_file(base).is_file():
        return None  # (a data directory that cannot be used is reported when the store opens)
    else:
        return config.database(base)
    if not value.startswith(config.DATABASE_URL_SCHEMES):
        fail(f"{source}: {value!r} is not a PostgreSQL URL; give one like "
             "postgresql://USER@HOST:5432/DBNAME")
    return value


@dataclass
class Session:
    """What the commands of one invocation share: the data directory, the store, the user.

    ``database``: the PostgreSQL URL of the store (None: the TinyDB file in ``base``). ``demo``:
    a demo session; on a database, opening the store fills it with the demo data first."""

    base: Path
    user_email: str | None
    database: str | None = None
    demo: bool = False
    _repo: Repository | None = None
    _user: User | None = None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            if self.demo and self.database:
                from crmtui.demo import open_demo

                self._repo, _ = open_demo(self.base, self.database)
            elif self.database:
                self._repo = open_repository(self.base, self.database)
            else:
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
    except ValidationError as exc:  # named: "zoe@ is not a valid email address: ..."
        shown = str(exc.value).strip() if exc.value is not None else ""
        raise click.BadParameter(f"{shown} {exc.problem}" if shown else exc.problem) from None


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
    full = list(dict.fromkeys(text.strip() for text in given))
    try:
        repo.get_contacts(full)  # every id given in full: no need to list (and sort) them all
        return full
    except NotFound:
        pass
    return resolve_ids("contact", given, repo.all_contact_ids(), option)


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


pass_session = click.make_pass_decorator(Session)
