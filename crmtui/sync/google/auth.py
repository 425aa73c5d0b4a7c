"""Google's side of linking accounts: OAuth flows, token storage, and authorized API clients.

:class:`GoogleAuth` implements the sync core's :class:`~crmtui.sync.remote.GoogleAuthorizer`: it
gets credentials (the browser flow, or an authorized-user file), asks Google for the account's
email, and saves the credentials; the account records are the sync core's
(:class:`crmtui.sync.accounts.AccountService`), never written here.

Tokens live in ``<data dir>/tokens/<account id>.json`` (the authorized-user record), written
atomically with 0600 permissions in a 0700 directory. They are never printed or logged.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
import time
import urllib.parse
import webbrowser
import wsgiref.simple_server
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import (
    InstalledAppFlow,
    WSGITimeoutError,
    _ExclusiveWSGIServer,
    _RedirectWSGIApp,
    _WSGIRequestHandler,
)
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from crmtui.model import Account
from crmtui.sync.remote import LINK_CANCELLED_MESSAGE as CANCELLED_MESSAGE  # noqa: F401
from crmtui.sync.remote import (
    Authorization,
    LinkCancelled,
    LinkError,
    ReconnectNeeded,
    RemoteError,
    SaveAs,
)
from crmtui.sync.tokens import TOKENS_DIR as TOKENS_DIR  # re-exported: token paths live there
from crmtui.sync.tokens import delete_credentials as delete_credentials
from crmtui.sync.tokens import token_file

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/contacts",
          "https://www.googleapis.com/auth/calendar.events")

ENV_ENDPOINT = "CRMTUI_GOOGLE_ENDPOINT"
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
AUTHORIZED_USER_KEYS = ("refresh_token", "client_id", "client_secret", "token_uri")
RELINK_HINT = "run `crmtui account link google` again"
REFUSED_MESSAGE = ("Google refused the saved authorization (it was revoked or expired); "
                   + RELINK_HINT)
SUCCESS_PAGE = "crmtui: the Google account is signed in. You may close this window."
NOT_THE_REDIRECT_PAGE = "Not found: this address only takes crmtui's sign-in answer from Google."
OTHER_ATTEMPT_PAGE = ("crmtui ignored this answer: it belongs to another sign-in attempt (an "
                      "older consent page). Open the address crmtui shows now.")
OTHER_ATTEMPT_NOTE = ("; an answer of another sign-in attempt came and was ignored: open the "
                      "address shown for this one")
# oauthlib's errors about the redirect itself, found on this machine (not Google's refusals)
LOCAL_OAUTH_ERRORS = frozenset({"mismatching_state", "missing_code", "insecure_transport"})


# Google's batch paths (discovery ``batchPath``), below the endpoint's root.
_BATCH_PATHS = {"people": "batch", "calendar": "batch/calendar/v3"}
_GOOGLE_BATCH_URIS = {"people": "https://people.googleapis.com/batch",
                      "calendar": "https://www.googleapis.com/batch/calendar/v3"}


def build_people_service(creds: Credentials, endpoint: str = "") -> Any:
    """A People v1 client; ``endpoint`` (e.g. the emulator's base URL) replaces Google's root."""
    opts = {"api_endpoint": endpoint.rstrip("/")} if endpoint else None
    return build("people", "v1", credentials=creds, client_options=opts,
                 static_discovery=True, cache_discovery=False)


def build_calendar_service(creds: Credentials, endpoint: str = "") -> Any:
    """A Calendar v3 client; ``endpoint`` replaces Google's root (``/calendar/v3/`` appended)."""
    opts = {"api_endpoint": endpoint.rstrip("/") + "/calendar/v3/"} if endpoint else None
    return build("calendar", "v3", credentials=creds, client_options=opts,
                 static_discovery=True, cache_discovery=False)


def batch_uri(endpoint: str, api: str) -> str:
    """The batch URI for ``api`` ("people" or "calendar") at ``endpoint`` ("" for Google).

    ``service.new_batch_http_request()`` ignores ``api_endpoint``; build
    ``BatchHttpRequest(batch_uri=batch_uri(endpoint, api))`` instead.
    """
    if api not in _BATCH_PATHS:
        raise ValueError(f"unknown Google API {api!r}")
    if not endpoint:
        return _GOOGLE_BATCH_URIS[api]
    return endpoint.rstrip("/") + "/" + _BATCH_PATHS[api]


# --------------------------------------------------------------------------- endpoints


def resolve_endpoint(endpoint: str | None) -> str:
    """The Google endpoint to use: ``endpoint``, else ``$CRMTUI_GOOGLE_ENDPOINT``, else "" (Google)."""
    chosen = endpoint if endpoint is not None else os.environ.get(ENV_ENDPOINT, "")
    return chosen.strip().rstrip("/")


def _is_loopback(endpoint: str) -> bool:
    return urllib.parse.urlsplit(endpoint).hostname in LOOPBACK_HOSTS


# --------------------------------------------------------------------------- token storage


def _record(creds: Credentials) -> dict[str, Any]:
    """The authorized-user record of ``creds`` (what the token file holds)."""
    expiry = creds.expiry
    return {"token": creds.token, "refresh_token": creds.refresh_token,
            "client_id": creds.client_id, "client_secret": creds.client_secret,
            "token_uri": creds.token_uri, "scopes": list(creds.scopes or SCOPES),
            "expiry": expiry.isoformat() + "Z" if expiry is not None else None}


def credentials_from_record(record: dict[str, Any]) -> Credentials:
    """Credentials from an authorized-user record, keeping its ``token_uri`` and ``expiry``."""
    expiry = record.get("expiry")
    when = None
    if expiry:
        parsed = datetime.fromisoformat(str(expiry).removesuffix("Z"))
        # google-auth compares expiry with naive UTC times
        when = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return Credentials(token=record.get("token"), refresh_token=record.get("refresh_token"),
                       client_id=record.get("client_id"),
                       client_secret=record.get("client_secret"),
                       token_uri=record.get("token_uri") or GOOGLE_TOKEN_URI,
                       scopes=list(record.get("scopes") or SCOPES), expiry=when)


def save_credentials(data_dir: Path, account_id: str, creds: Credentials) -> None:
    """Write ``creds`` to the account's token file: atomically, 0600, in a 0700 directory."""
    path = token_file(data_dir, account_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data = json.dumps(_record(creds)).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_credentials(data_dir: Path, account: Account) -> Credentials:
    """The saved credentials of ``account``; :class:`ReconnectNeeded` when there are none
    usable."""
    path = token_file(data_dir, account.id)
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ReconnectNeeded(f"no saved authorization for {account.email}; "
                              f"{RELINK_HINT}") from None
    except (OSError, ValueError) as exc:
        raise ReconnectNeeded(f"cannot read the saved authorization of {account.email} ({path}: "
                              f"{exc.__class__.__name__}); {RELINK_HINT}") from None
    if not isinstance(record, dict) or not record.get("refresh_token"):
        raise ReconnectNeeded(f"the saved authorization of {account.email} is incomplete; "
                              f"{RELINK_HINT}")
    return credentials_from_record(record)


# --------------------------------------------------------------------------- linking


def _account_email(creds: Credentials, endpoint: str) -> str:
    """The email of the Google account ``creds`` belong to (``people/me``)."""
    me = build_people_service(creds, endpoint).people().get(
        resourceName="people/me", personFields="emailAddresses").execute()
    emails = me.get("emailAddresses") or []
    primary = [e for e in emails if (e.get("metadata") or {}).get("primary")] or emails
    if not primary or not primary[0].get("value"):
        raise LinkError("Google did not tell the account's email address")
    return str(primary[0]["value"])


def _save(data_dir: Path, save_as: SaveAs, email: str, endpoint: str,
          creds: Credentials) -> Authorization:
    """Save ``creds`` under the id ``save_as`` gives for ``email``."""
    credentials_id = save_as(email)
    save_credentials(data_dir, credentials_id, creds)
    return Authorization(credentials_id=credentials_id, email=email, endpoint=endpoint)


def _read_json(path: Path) -> Any:
    """The JSON in ``path``; LinkError saying why it cannot be read (never its content)."""
    try:
        return json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise LinkError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise LinkError(f"{path} is not a JSON file") from None


def read_authorized_user_file(path: Path) -> dict[str, Any]:
    """The authorized-user record in ``path``, checked (errors name keys, never values)."""
    record = _read_json(path)
    if not isinstance(record, dict):
        raise LinkError(f"{path} must hold a JSON object (an authorized-user record)")
    for key in AUTHORIZED_USER_KEYS:
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise LinkError(f"{path} has no {key!r}: an authorized-user file needs "
                            f"{', '.join(AUTHORIZED_USER_KEYS)}")
    if record.get("token") is not None and not isinstance(record["token"], str):
        raise LinkError(f"{path}: 'token' must be a string")
    return record


def authorize_from_credentials_file(data_dir: Path, path: Path, endpoint: str | None,
                                    save_as: SaveAs, *, email: str = "") -> Authorization:
    """Authorize with the authorized-user JSON file ``path``: its credentials are saved under
    ``save_as(email)``.

    The account's email comes from ``people/me``; when Google cannot be asked, from ``email``.
    """
    endpoint = resolve_endpoint(endpoint)
    record = read_authorized_user_file(path)
    creds = credentials_from_record({**record, "scopes": record.get("scopes") or list(SCOPES)})
    try:
        found = _account_email(creds, endpoint)
    except RefreshError:
        raise LinkError(f"Google refused the authorization in {path} (revoked or expired)"
                        ) from None
    except (HttpError, LinkError, OSError, httplib2.HttpLib2Error) as exc:
        if not email:
            raise LinkError(f"cannot ask Google for the account's email ({_describe(exc)}); "
                            "give it with --email") from None
        found = email
    if email and found.casefold() != email.casefold():
        raise LinkError(f"the credentials in {path} belong to {found}, not {email}")
    return _save(data_dir, save_as, found, endpoint, creds)


def _describe(exc: BaseException) -> str:
    """A short description of a failed request (status and reason; no request details)."""
    if isinstance(exc, HttpError):
        return f"HTTP {exc.status_code}: {exc.reason}"
    return str(exc) or exc.__class__.__name__


def _client_config(client_secrets: Path | dict[str, Any], endpoint: str) -> dict[str, Any]:
    """The installed-app client config, its OAuth URIs at the emulator when ``endpoint`` is set."""
    if isinstance(client_secrets, dict):
        config, where = client_secrets, "the client secrets"
    else:
        where = str(client_secrets)
        config = _read_json(client_secrets)
    kind = next((k for k in ("installed", "web") if isinstance(config, dict)
                 and isinstance(config.get(k), dict)), None)
    if kind is None:
        raise LinkError(f"{where} is not an OAuth client secrets file (no 'installed' client)")
    client = dict(config[kind])
    for key in ("client_id", "client_secret"):
        if not isinstance(client.get(key), str) or not client[key]:
            raise LinkError(f"{where} has no {key!r}")
    if endpoint:
        client["auth_uri"] = f"{endpoint}/o/oauth2/auth"
        client["token_uri"] = f"{endpoint}/token"
    client.setdefault("auth_uri", GOOGLE_AUTH_URI)
    client.setdefault("token_uri", GOOGLE_TOKEN_URI)
    return {"installed": client}


class _RedirectCatcher(_RedirectWSGIApp):
    """The loopback server's app: it keeps this sign-in's redirect (the redirect path, with a
    ``code`` or an ``error`` and this attempt's ``state``) and answers anything else without ending
    the wait: a stray request (a browser's ``/favicon.ico``) gets a small 404, and a redirect of
    another sign-in attempt (an old consent page: its ``state`` differs) a page saying so."""

    def __init__(self, path: str) -> None:
        super().__init__(SUCCESS_PAGE)
        self.path = path
        self.state = ""  # set once the consent URL is made
        self.answered = threading.Event()
        self.other_attempts = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING") or "", keep_blank_values=True)
        if ((environ.get("PATH_INFO") or "/") != self.path or "state" not in params
                or not ("code" in params or "error" in params)):
            log.debug("sign-in loopback: ignored a request that is not the redirect")
            return _page(start_response, "404 Not Found", NOT_THE_REDIRECT_PAGE)
        with self._lock:
            if not self.state or params["state"] != [self.state]:
                self.other_attempts += 1
                log.info("sign-in loopback: ignored a redirect of another sign-in attempt")
                return _page(start_response, "400 Bad Request", OTHER_ATTEMPT_PAGE)
            if self.answered.is_set():
                return _page(start_response, "200 OK", SUCCESS_PAGE)
            page: list[bytes] = super().__call__(environ, start_response)
            self.answered.set()
            return page


def _page(start_response: Any, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-type", "text/plain; charset=utf-8")])
    return [text.encode()]


class _LoopbackServer(socketserver.ThreadingMixIn, _ExclusiveWSGIServer):
    """google-auth-oauthlib's loopback server, each connection in its own thread (a browser's
    idle or parallel connection never holds up the redirect); errors go to the log."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("sign-in loopback: a request failed", exc_info=True)


class _LoopbackHandler(_WSGIRequestHandler):
    timeout = 10  # seconds a connection may stay silent


def _open_browser(url: str, browser: str | None) -> bool:
    """Open ``url`` in ``browser`` (None: the system's); False when there is none (the URL was
    shown: the user opens it)."""
    try:
        return bool(webbrowser.get(browser).open(url, new=1, autoraise=True))
    except (webbrowser.Error, OSError) as exc:
        log.info("no browser to open the consent page (%s): the address is shown instead",
                 exc.__class__.__name__)
        return False


class _AnnouncingFlow(InstalledAppFlow):
    """The installed-app flow, handing the authorization URL to a callback when it is made, and
    waiting on its loopback server until this sign-in's redirect comes (other requests do not end
    the wait), the timeout passes, or ``cancel`` is set (:class:`LinkCancelled`)."""

    announce: Callable[[str], None] = staticmethod(lambda url: None)
    cancel: threading.Event | None = None
    catcher: _RedirectCatcher | None = None

    def authorization_url(self, **kwargs: Any) -> tuple[str, str]:
        url, state = super().authorization_url(**kwargs)
        self.announce(url)
        return url, state

    def run_loopback(self, *, open_browser: bool, browser: str | None, timeout: float,
                     **kwargs: Any) -> Credentials:
        """google-auth-oauthlib's ``run_local_server`` on ``localhost`` (any free port), with a
        wait that only this sign-in's redirect ends; :class:`WSGITimeoutError` after
        ``timeout`` seconds (``other_attempts`` then tells how many stale redirects came)."""
        catcher = _RedirectCatcher("/")
        server = wsgiref.simple_server.make_server(
            "localhost", 0, catcher, server_class=_LoopbackServer,
            handler_class=_LoopbackHandler)
        self.catcher = catcher
        try:
            self.redirect_uri = f"http://localhost:{server.server_port}/"
            url, catcher.state = self.authorization_url(**kwargs)
            if open_browser:
                _open_browser(url, browser)
            deadline = time.monotonic() + timeout
            while not catcher.answered.is_set():
                if self.cancel is not None and self.cancel.is_set():
                    raise LinkCancelled()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WSGITimeoutError("no redirect from the browser")
                server.timeout = min(left, 0.05)
                server.handle_request()
            # oauthlib insists on https; the loopback redirect is plain http
            answer = str(catcher.last_request_uri).replace("http", "https", 1)
            self.fetch_token(authorization_response=answer)
        finally:
            server.server_close()
        return self.credentials


@contextmanager
def _oauthlib_env(endpoint: str) -> Iterator[None]:
    """oauthlib's relaxations for the flow's duration: http only for a loopback endpoint, and
    granted scopes that may differ from the requested ones (checked afterwards)."""
    wanted = {"OAUTHLIB_RELAX_TOKEN_SCOPE": "1"}
    if endpoint and _is_loopback(endpoint):
        wanted["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def authorize_with_browser(data_dir: Path, save_as: SaveAs, *,
                           client_secrets: Path | dict[str, Any], endpoint: str | None = None,
                           open_browser: bool = True, print_url: Callable[[str], None],
                           timeout: float = 300.0, browser: str | None = None,
                           cancel: threading.Event | None = None) -> Authorization:
    """Authorize with the installed-app flow (loopback redirect, PKCE, offline); the credentials
    are saved under ``save_as(email)``.

    ``print_url`` receives the authorization URL (to show when no browser opens it);
    ``browser`` names a :mod:`webbrowser` browser (default: the system's). Setting ``cancel``
    (from another thread) ends the wait for the browser at once: :class:`LinkCancelled`.
    """
    endpoint = resolve_endpoint(endpoint)
    config = _client_config(client_secrets, endpoint)
    if cancel is not None and cancel.is_set():
        raise LinkCancelled()
    flow = _AnnouncingFlow.from_client_config(config, list(SCOPES),
                                              autogenerate_code_verifier=True)
    flow.announce = print_url
    flow.cancel = cancel
    try:
        with _oauthlib_env(endpoint):
            creds = flow.run_loopback(open_browser=open_browser, browser=browser,
                                      timeout=timeout, access_type="offline", prompt="consent")
    except WSGITimeoutError:
        if cancel is not None and cancel.is_set():
            raise LinkCancelled() from None
        stale = flow.catcher is not None and flow.catcher.other_attempts
        raise LinkError(f"no answer from the browser within {timeout:g} seconds"
                        + (OTHER_ATTEMPT_NOTE if stale else "")) from None
    except OAuth2Error as exc:
        if cancel is not None and cancel.is_set():
            raise LinkCancelled() from None
        if exc.error in LOCAL_OAUTH_ERRORS:  # found here, not by Google
            raise LinkError(f"the browser's answer does not fit this sign-in ({exc.error}): "
                            "link again and open the address it shows") from None
        raise LinkError(f"Google refused the authorization: {exc.error}"
                        + (f" ({exc.description})" if exc.description else "")) from None
    except OSError as exc:  # the loopback port, or Google's token endpoint out of reach
        raise LinkError(f"the sign-in could not finish ({_describe(exc)})") from None
    if cancel is not None and cancel.is_set():
        raise LinkCancelled()  # cancelled as the browser answered: link nothing
    granted = set(creds.granted_scopes or creds.scopes or ())
    if SCOPES[0] not in granted:
        raise LinkError("Google did not grant access to the contacts; link again and allow it")
    if not creds.refresh_token:
        raise LinkError("Google gave no refresh token; link again")
    try:
        email = _account_email(creds, endpoint)
    except (HttpError, RefreshError, OSError, httplib2.HttpLib2Error) as exc:
        raise LinkError(f"cannot ask Google for the account's email ({_describe(exc)})"
                        ) from None
    return _save(data_dir, save_as, email, endpoint, creds)


class GoogleAuth:
    """The sync core's :class:`~crmtui.sync.remote.GoogleAuthorizer` on Google (or the emulator
    at ``endpoint``; None means ``$CRMTUI_GOOGLE_ENDPOINT``, else Google), its tokens in
    ``data_dir``. The browser flow needs ``client_secrets`` (the installed-app OAuth client);
    ``browser`` names a :mod:`webbrowser` browser (default: the system's)."""

    def __init__(self, data_dir: str | os.PathLike[str], *, endpoint: str | None = None,
                 client_secrets: Path | dict[str, Any] | None = None, open_browser: bool = True,
                 timeout: float = 300.0, browser: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.endpoint = endpoint
        self.client_secrets = client_secrets
        self.open_browser = open_browser
        self.timeout = timeout
        self.browser = browser

    def authorize_with_browser(self, show_url: Callable[[str], None],
                               cancel: threading.Event | None, save_as: SaveAs) -> Authorization:
        if self.client_secrets is None:
            raise LinkError("no OAuth client is set up for the browser flow: give the client "
                            "secrets file")
        return authorize_with_browser(self.data_dir, save_as, client_secrets=self.client_secrets,
                                      endpoint=self.endpoint, open_browser=self.open_browser,
                                      print_url=show_url, timeout=self.timeout,
                                      browser=self.browser, cancel=cancel)

    def authorize_from_file(self, path: Path, save_as: SaveAs, *, email: str = ""
                            ) -> Authorization:
        return authorize_from_credentials_file(self.data_dir, path, self.endpoint, save_as,
                                               email=email)


# --------------------------------------------------------------------------- credentials for a sync


def _is_invalid_grant(exc: RefreshError) -> bool:
    data = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(data, dict) and data.get("error") == "invalid_grant":
        return True
    return bool(exc.args) and str(exc.args[0]).startswith("invalid_grant")


class _SyncCredentials(Credentials):
    """Credentials that save every refresh at once, and turn a refused refresh into
    :class:`ReconnectNeeded` (an :class:`AuthError`: the sync core marks the account)."""

    def bind(self, data_dir: Path, account: Account) -> None:
        self._crmtui_target = (data_dir, account)

    def refresh(self, request: Any) -> None:
        data_dir, account = self._crmtui_target
        try:
            super().refresh(request)
        except RefreshError as exc:
            if not _is_invalid_grant(exc):
                raise RemoteError(f"cannot refresh the authorization of {account.email}: "
                                  "Google's token endpoint failed; try again later") from None
            raise ReconnectNeeded(REFUSED_MESSAGE) from None
        save_credentials(data_dir, account.id, self)


def credentials_for_sync(data_dir: Path, account: Account) -> Credentials:
    """The account's credentials, refreshed when expired; every refresh (now or during API calls)
    is saved at once. No usable saved authorization, or a refresh Google refuses, raises
    :class:`ReconnectNeeded` (the sync core marks the account needs-reconnect)."""
    saved = load_credentials(data_dir, account)
    creds = _SyncCredentials(
        token=saved.token, refresh_token=saved.refresh_token, client_id=saved.client_id,
        client_secret=saved.client_secret, token_uri=saved.token_uri, scopes=saved.scopes,
        expiry=saved.expiry)
    creds.bind(data_dir, account)
    if not creds.valid:
        creds.refresh(GoogleRequest())
    return creds
