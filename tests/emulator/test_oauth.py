"""OAuth against the emulator: google-auth-oauthlib's installed-app flow, then google-auth's refresh.

A fake browser plays the user: it opens the authorization URL at the emulator, whose consent is
given at once, and follows the redirect to the app's loopback callback, as a real browser would.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from collections.abc import Callable
from typing import Any

import pytest
import requests
from emukit import control, credentials
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow, InstalledAppFlow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import (
    CustomOAuth2Error,
    InvalidGrantError,
    UnsupportedGrantTypeError,
)
from requests_oauthlib import OAuth2Session

from crmtui.emulator import Emulator

CONTACTS = "https://www.googleapis.com/auth/contacts"
CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPES = [CONTACTS, CALENDAR]
REDIRECT = "http://127.0.0.1:8080/"


@pytest.fixture(autouse=True)
def _oauthlib_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib insists on https and on the granted scopes being the requested ones."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


class ConsentBrowser(webbrowser.BaseBrowser):
    """A browser whose user consents: it loads the authorization URL and follows the redirect to
    the loopback callback from a thread (the app only listens once ``open`` has returned)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.errors: list[BaseException] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        def visit() -> None:
            try:
                with urllib.request.urlopen(url, timeout=10) as page:
                    page.read()
            except Exception as exc:  # the test sees it in self.errors
                self.errors.append(exc)

        threading.Thread(target=visit, daemon=True).start()
        return True


@pytest.fixture
def browser() -> ConsentBrowser:
    name = f"crmtui-consent-{threading.get_ident()}-{id(object())}"
    consenting = ConsentBrowser(name)
    webbrowser.register(name, None, consenting)
    return consenting


def client_config(emu: Emulator, info: dict[str, Any]) -> dict[str, Any]:
    """A client-secrets record for the OAuth client of the account ``info`` (control API)."""
    return {"installed": {"client_id": info["client_id"], "client_secret": info["client_secret"],
                          "auth_uri": emu.base_url + "/o/oauth2/auth",
                          "token_uri": emu.token_uri, "redirect_uris": ["http://localhost"]}}


SignIn = Callable[..., Credentials]


@pytest.fixture
def sign_in(emulator: Emulator, browser: ConsentBrowser) -> SignIn:
    """Run the whole installed-app flow for the client of ``email``'s account."""
    def run(email: str = "ann@example.com", scopes: list[str] | None = None,
            **kwargs: Any) -> Credentials:
        info = control(emulator, "POST", "/accounts", {"email": email})
        flow = InstalledAppFlow.from_client_config(client_config(emulator, info),
                                                   scopes or SCOPES)
        try:
            return flow.run_local_server(port=0, browser=browser.name, open_browser=True,
                                         authorization_prompt_message=None, timeout_seconds=10,
                                         **kwargs)
        finally:
            assert not browser.errors
    return run


def calendar(emu: Emulator, creds: Credentials) -> Any:
    return build("calendar", "v3", credentials=creds, static_discovery=True,
                 client_options={"api_endpoint": emu.base_url + "/calendar/v3/"})


def people(emu: Emulator, creds: Credentials) -> Any:
    return build("people", "v1", credentials=creds, static_discovery=True,
                 client_options={"api_endpoint": emu.base_url})


def primary_calendar(emu: Emulator, creds: Credentials) -> str:
    """The id of the primary calendar the credentials reach (the account's email)."""
    return calendar(emu, creds).calendarList().get(calendarId="primary").execute()["id"]


def token_requests(emu: Emulator) -> list[int]:
    """The statuses of the token endpoint's answers so far."""
    log = control(emu, "GET", "/requests")["requests"]
    return [r["status"] for r in log if r["path"] == "/token"]


def consent_code(flow: Flow, **kwargs: Any) -> str:
    """Consent to ``flow``'s authorization URL and return the code its redirect carries."""
    class Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    url, _ = flow.authorization_url(**kwargs)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(Stop).open(url, timeout=10)
    assert answer.value.code == 302
    location = urllib.parse.urlsplit(answer.value.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    return dict(urllib.parse.parse_qsl(location.query))["code"]


def code_flow(emu: Emulator, email: str = "ann@example.com") -> Flow:
    info = control(emu, "POST", "/accounts", {"email": email})
    return Flow.from_client_config(client_config(emu, info), SCOPES, redirect_uri=REDIRECT)


def test_installed_app_flow_gives_working_credentials(emulator: Emulator,
                                                      sign_in: SignIn) -> None:
    creds = sign_in()
    assert str(creds.token).startswith("ya29.") and str(creds.refresh_token).startswith("1//")
    assert creds.token_uri == emulator.token_uri
    assert sorted(creds.granted_scopes) == sorted(SCOPES)
    assert primary_calendar(emulator, creds) == "ann@example.com"
    found = people(emulator, creds).people().connections().list(
        resourceName="people/me", personFields="names").execute()
    assert "connections" not in found  # a new account has no contacts
    assert token_requests(emulator) == [200]


def test_expired_access_token_is_refreshed_by_the_client(emulator: Emulator,
                                                        sign_in: SignIn) -> None:
    creds = sign_in()
    first_token, refresh_token = creds.token, creds.refresh_token
    control(emulator, "POST", "/clock", {"advance": emulator.state.token_lifetime + 1})
    assert primary_calendar(emulator, creds) == "ann@example.com"
    assert creds.token != first_token and creds.refresh_token == refresh_token
    log = [(r["path"], r["status"]) for r in control(emulator, "GET", "/requests")["requests"]]
    assert log[-3:] == [("/calendar/v3/users/me/calendarList/primary", 401), ("/token", 200),
                        ("/calendar/v3/users/me/calendarList/primary", 200)]


def test_refresh_token_stays_valid_after_a_refresh(emulator: Emulator, sign_in: SignIn) -> None:
    creds = sign_in()
    for _ in range(2):
        control(emulator, "POST", "/tokens/expire", {"email": "ann@example.com"})
        assert primary_calendar(emulator, creds) == "ann@example.com"
    assert token_requests(emulator) == [200, 200, 200]


def test_revoked_refresh_token_is_invalid_grant(emulator: Emulator, sign_in: SignIn) -> None:
    creds = sign_in()
    control(emulator, "POST", "/tokens/revoke", {"email": "ann@example.com"})
    with pytest.raises(RefreshError) as err:
        primary_calendar(emulator, creds)
    assert "invalid_grant: Token has been expired or revoked." in str(err.value)
    assert err.value.retryable is False


def test_granted_scopes_limit_what_the_token_reaches(emulator: Emulator,
                                                     sign_in: SignIn) -> None:
    creds = sign_in(scopes=[CONTACTS])
    assert creds.granted_scopes == [CONTACTS]
    people(emulator, creds).people().connections().list(
        resourceName="people/me", personFields="names").execute()
    with pytest.raises(HttpError) as err:
        primary_calendar(emulator, creds)
    assert err.value.status_code == 403


def test_login_hint_chooses_the_consenting_account(emulator: Emulator, sign_in: SignIn) -> None:
    control(emulator, "POST", "/accounts", {"email": "bob@example.com"})
    creds = sign_in("ann@example.com", login_hint="bob@example.com")
    assert primary_calendar(emulator, creds) == "bob@example.com"


def test_wrong_code_verifier_is_refused(emulator: Emulator) -> None:
    flow = code_flow(emulator)
    code = consent_code(flow)
    with pytest.raises(InvalidGrantError) as err:
        flow.fetch_token(code=code, code_verifier="x" * 64)
    assert err.value.description == "Invalid code verifier."


def test_code_is_single_use(emulator: Emulator) -> None:
    flow = code_flow(emulator)
    code = consent_code(flow)
    assert flow.fetch_token(code=code)["access_token"].startswith("ya29.")
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(code=code)


def test_code_expires(emulator: Emulator) -> None:
    flow = code_flow(emulator)
    code = consent_code(flow)
    control(emulator, "POST", "/clock", {"advance": 601})
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(code=code)


def test_code_needs_the_same_redirect_uri(emulator: Emulator) -> None:
    flow = code_flow(emulator)
    code = consent_code(flow)
    flow.redirect_uri = "http://127.0.0.1:9999/"
    with pytest.raises(CustomOAuth2Error, match="redirect_uri_mismatch"):
        flow.fetch_token(code=code)


def test_wrong_client_secret_is_invalid_client(emulator: Emulator) -> None:
    info = control(emulator, "POST", "/accounts", {"email": "ann@example.com"})
    creds = credentials({**info, "client_secret": "not-the-secret"})
    with pytest.raises(RefreshError, match="invalid_client"):
        creds.refresh(GoogleRequest())


def test_refresh_token_of_another_client_is_refused(emulator: Emulator) -> None:
    ann = control(emulator, "POST", "/accounts", {"email": "ann@example.com"})
    bob = control(emulator, "POST", "/accounts", {"email": "bob@example.com"})
    creds = credentials({**ann, "client_id": bob["client_id"],
                         "client_secret": bob["client_secret"]})
    with pytest.raises(RefreshError, match="unauthorized_client"):
        creds.refresh(GoogleRequest())


def test_unsupported_grant_type(emulator: Emulator) -> None:
    info = control(emulator, "POST", "/accounts", {"email": "ann@example.com"})
    session = OAuth2Session(client=BackendApplicationClient(client_id=info["client_id"]))
    with pytest.raises(UnsupportedGrantTypeError):
        session.fetch_token(emulator.token_uri, client_id=info["client_id"],
                            client_secret=info["client_secret"])


def test_token_request_without_its_parameters_is_invalid_request(emulator: Emulator) -> None:
    info = control(emulator, "POST", "/accounts", {"email": "ann@example.com"})
    answer = requests.post(emulator.token_uri, timeout=10,
                           data={"grant_type": "authorization_code",
                                 "client_id": info["client_id"],
                                 "client_secret": info["client_secret"]})
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request",
                             "error_description": "Missing required parameter: code"}


@pytest.mark.parametrize(("change", "error"), [
    ({"client_id": "unknown.apps.googleusercontent.com"}, "invalid_client"),
    ({"redirect_uri": "https://crmtui.example.com/callback"}, "redirect_uri_mismatch"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": CONTACTS + " https://www.googleapis.com/auth/drive"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_consent_refuses_bad_requests_with_an_error_page(emulator: Emulator,
                                                         change: dict[str, str | None],
                                                         error: str) -> None:
    url, _ = code_flow(emulator).authorization_url()
    split = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(split.query))
    query.update(change)
    query = {k: v for k, v in query.items() if v is not None}
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(split._replace(query=urllib.parse.urlencode(query)).geturl(),
                               timeout=10)
    assert answer.value.code == 400 and "Location" not in answer.value.headers
    assert f"Error 400: {error}" in answer.value.read().decode()
