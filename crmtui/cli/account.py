"""``crmtui account``: linked Google accounts."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

from crmtui.cli.output import emit_json, fail, json_option, print_table, short
from crmtui.cli.root import cli
from crmtui.cli.session import Session, confirm_delete, pass_session, resolve_ids
from crmtui.cli.wiring import LINK_TIMEOUT

CLIENT_SECRETS_HELP = (
    "The OAuth client (a 'Desktop app' client's JSON from the Google Cloud console) for the "
    "browser flow. For the emulator: POST URL/__emulator/accounts with {\"email\": ...} answers "
    "the client_id and client_secret to put in {\"installed\": {...}}.")


def browser_available() -> bool:
    """Whether :mod:`webbrowser` finds a browser to open here (none on most SSH servers)."""
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def show_consent_url(url: str, *, opens: bool) -> None:
    """Tell the user where to consent: the address alone on its line (to copy whole) and, when no
    browser opens here or over SSH, the ssh command that forwards the sign-in's loopback port."""
    from crmtui.sync.accounts import port_forward_command

    click.echo("Opening Google's consent page in your browser; if it does not open, open this "
               "address:" if opens else
               "No browser opens here: open this address in a browser to link your Google "
               "account:", err=True)
    click.echo(url, err=True)
    forward = port_forward_command(url)
    if forward and (not opens or os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY")):
        click.echo("If this machine is reached over SSH, first forward its sign-in port: run this "
                   "on your own computer (HOST: this machine, as you reach it), then open the "
                   "address in a browser there:", err=True)
        click.echo(forward, err=True)
    click.echo(f"Waiting for Google's answer (up to {LINK_TIMEOUT / 60:g} minutes; Ctrl+C "
               "stops)…", err=True)


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
              help="Do not open a browser: print the address to open, and how to reach this "
                   "machine's sign-in port over SSH (the default when no browser is found).")
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

    The browser flow (--client-secrets) asks Google for consent in a browser; with no browser
    here (over SSH) it prints the address to open on your own computer and the port to forward.
    --credentials links from saved credentials instead. Linking an account again reconnects it.
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
    opens = not credentials_file and not no_browser and browser_available()
    accounts = AccountService(repo, session.base, google_linker(
        session.base, client_secrets=client_secrets, endpoint=endpoint, open_browser=opens,
        timeout=LINK_TIMEOUT))
    show_url = functools.partial(show_consent_url, opens=opens)
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
