"""The root command ``crmtui``: its global options, the TUI it opens with no command, and the
``main`` entry point."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from crmtui import config, paths
from crmtui.cli.output import USER_ERRORS, fail
from crmtui.cli.session import Session, choose_database
from crmtui.cli.wiring import tui_services
from crmtui.config import ConfigError
from crmtui.log import LOG_FILE, LOGGER, log_file, redact, setup_logging

logger = logging.getLogger(__name__)
# Without a log file (a data directory that cannot be written to), records must not reach
# Python's last-resort handler, which would print them on stderr beside the Error: line.
logging.getLogger(LOGGER).addHandler(logging.NullHandler())


COMMAND_MODULES = {
    "account": "account",
    "activities": "activities",
    "contacts": "contacts",
    "db": "db",
    "emulator": "emulator",
    "export": "transfer",
    "import": "transfer",
    "sync": "sync",
    "tags": "tags",
    "users": "users",
}
"""Each command of ``crmtui`` and the module of :mod:`crmtui.cli` that defines it (importing
the module adds the command to :data:`cli`)."""


class _Group(click.Group):
    """The root group: turns the user's errors into ``Error: ...`` and exit status 1, and logs
    every error; an unexpected exception is logged with its traceback and shown as one
    ``Error:`` line that says where the log is. That holds for the commands (:meth:`invoke`)
    and, as a last resort, for what happens around them: parsing the command line and closing
    the store (:meth:`main`).

    Its commands load when first named (click's lazy group): ``crmtui`` alone, the TUI, loads
    none of them, ``crmtui contacts ...`` only its own module, ``crmtui --help`` all of them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"crmtui.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except Exception as exc:  # click has handled its own errors; SystemExit passes
            if not kwargs.get("standalone_mode", True):
                raise
            argv = kwargs.get("args", args[0] if args else None)
            _log_to(sys.argv[1:] if argv is None else list(argv))
            if isinstance(exc, USER_ERRORS):
                logger.error("crmtui: %s", exc)
                message = str(exc)
            else:
                logger.error("crmtui: unexpected error", exc_info=exc)
                message = _unexpected(exc)
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader went away (`crmtui contacts list | head`): click exits quietly
        except click.ClickException as exc:
            logger.error("%s: %s", _failed_command(ctx, exc), exc.format_message())
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except USER_ERRORS as exc:
            logger.error("%s: %s", _failed_command(ctx, exc), exc)
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            logger.error("%s: unexpected error", _failed_command(ctx, exc), exc_info=exc)
            raise click.ClickException(_unexpected(exc)) from None


def _unexpected(exc: BaseException) -> str:
    """The ``Error:`` line's text for an exception crmtui did not expect."""
    path = log_file()
    where = f"the details are in {path}" if path else "run with -v for details"
    return redact(f"unexpected error ({type(exc).__name__}: {exc}); {where}")


def _log_to(argv: Sequence[str]) -> None:
    """Make sure the log is the data directory's that ``argv`` names (an error may come before
    the root command set it up, e.g. while the command line is parsed)."""
    explicit: str | None = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--data-dir" and i + 1 < len(argv):
            explicit = argv[i + 1]
        elif arg.startswith("--data-dir="):
            explicit = arg.partition("=")[2]
    try:
        base = paths.data_dir(explicit)
        if "--demo" in argv:
            base = paths.demo_dir(base)
        if log_file() != base / LOG_FILE:
            setup_logging(base, "-v" in argv or "--verbose" in argv)
    except Exception:  # noqa: BLE001 - the error being reported matters more than its log
        pass


def _failed_command(root: click.Context, exc: BaseException) -> str:
    """The command that raised ``exc`` (``crmtui contacts add``), from the contexts on its way."""
    path = root.command_path
    trace = exc.__traceback__
    while trace is not None:
        ctx = trace.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context):
            path = ctx.command_path
        trace = trace.tb_next
    return path


@click.group(name="crmtui", cls=_Group, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Data directory (default: $CRMTUI_HOME, else the platform's user data "
                   "directory).")
@click.option("--user", "user_email", metavar="EMAIL",
              help="Act as the user with this email (default: default_user in config.toml, "
                   "else the only user).")
@click.option("--database", metavar="URL",
              help="Use the team's PostgreSQL database at URL (postgresql://USER@HOST:5432/DB) "
                   "instead of the data directory's own file (default: $CRMTUI_DATABASE, else "
                   "database in config.toml). Tokens and settings stay in the data directory.")
@click.option("--demo", is_flag=True,
              help="Use the demo data directory (DIR/demo, sample data), never the real "
                   "database.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also print the log's records on stderr (the log: DIR/crmtui.log).")
@click.version_option(package_name="crmtui")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, user_email: str | None,
        database: str | None, demo: bool, verbose: bool) -> None:
    """crmtui: a keyboard-driven CRM for the terminal.

    With no command, opens the TUI. The commands below script the same database; each takes
    --json for machine-readable output. Ids may be abbreviated to a unique prefix of at least 6
    characters. Errors are logged in DIR/crmtui.log.
    """
    base = paths.data_dir(data_dir)
    session = Session(paths.demo_dir(base) if demo else base, user_email, demo=demo)
    setup_logging(session.base, verbose)
    try:
        session.database = choose_database(session.base, database, demo)
    except ConfigError as exc:
        fail(str(exc))
    logger.debug("%s started", " ".join(filter(None, [ctx.command_path,
                                                      ctx.invoked_subcommand])))
    ctx.obj = session
    ctx.call_on_close(session.close)
    if ctx.invoked_subcommand is None:
        open_tui(session, demo)
    else:
        gc.enable()  # held back by main() while starting


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

        repo, demo_user_id = open_demo(session.base, session.database)
        session.adopt(repo)
        user_id = session.user().id if session.user_email else demo_user_id
        with running_demo_google(session.base) as emulator:
            link_demo_google(repo, session.base, demo_user_id, emulator)
            run_app(tui_services(repo, session.base, user_id, demo=True,
                                 google_endpoint=emulator.base_url,
                                 client_secrets=demo_client_secrets(emulator)), keymap=keys)
    else:
        if not session.database:
            from crmtui.store import open_store

            # The first rows show from the store's front page while the rest is read.
            session.adopt(open_store(session.base, deferred=True))
        run_app(tui_services(session.repo, session.base, session.user().id), keymap=keys)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``crmtui`` console script.

    Python's cyclic garbage collector is held back while crmtui starts (imports and the TUI's
    first frame allocate much and free almost nothing, so its passes only cost time): a
    command enables it when it starts, the TUI once its first frame is on the terminal."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="crmtui")
    finally:
        if enabled:
            gc.enable()
