"""``crmtui emulator``: the built-in Google emulator in the foreground."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crmtui.cli.output import fail
from crmtui.cli.root import cli

if TYPE_CHECKING:
    from crmtui.emulator import Emulator

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
