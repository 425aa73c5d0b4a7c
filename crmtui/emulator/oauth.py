"""OAuth 2.0 for installed apps, as Google's authorization server answers it.

- ``GET /o/oauth2/auth`` (or ``/o/oauth2/v2/auth``): the consent screen, given at once. Checks
  ``client_id`` (the client id of one of the emulator's accounts, as the control API hands it
  out), ``response_type=code``, ``redirect_uri`` (loopback ``http`` only), ``scope``
  (space-separated, known scopes only), ``state`` and PKCE (``code_challenge`` with
  ``code_challenge_method=S256``, required here). The consenting account is the one named by
  ``login_hint``, else the account that owns the client.
  Answers 302 to ``redirect_uri?state=…&code=…&scope=…``; a bad request gets Google's error page
  (``Error 400: invalid_request`` and the like) and no redirect.
- ``POST /token``: ``grant_type=authorization_code`` (the code is single-use and short-lived;
  ``redirect_uri`` must match; ``code_verifier`` is checked against the S256 challenge) and
  ``grant_type=refresh_token`` (a new access token; the refresh token stays valid). The client
  authenticates with HTTP Basic or the form's ``client_id`` / ``client_secret``. Errors are
  Google's: ``{"error", "error_description"}`` with ``invalid_grant`` (400), ``invalid_client``
  (401), ``unauthorized_client`` (401), ``invalid_scope``, ``invalid_request`` and
  ``unsupported_grant_type`` (400).

Access tokens live ``state.token_lifetime`` seconds of the emulator's clock, so clients must
refresh; the control API can expire them or revoke refresh tokens at any time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from crmtui.emulator.errors import ApiError
from crmtui.emulator.http import Host, Request, Response, Route
from crmtui.emulator.state import ALL_SCOPES, Account

AUTH_CODE_LIFETIME = 600  # seconds an authorization code can be exchanged
# Scopes a consent may grant: the APIs' and the sign-in ones an app may add.
KNOWN_SCOPES = frozenset(ALL_SCOPES) | {
    "openid", "email", "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/contacts.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events.readonly",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
            "Pragma": "no-cache"}
EXPIRED_OR_REVOKED = "Token has been expired or revoked."


def token_error(status: int, error: str, description: str) -> ApiError:
    """The token endpoint's error body, as Google sends it."""
    return ApiError(status, {"error": error, "error_description": description}, dict(NO_STORE))


class ConsentError(Exception):
    """A request the consent screen refuses: shown as Google's error page, never redirected."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``: unpadded base64url of its SHA-256."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def is_loopback_redirect(uri: str) -> bool:
    """Whether ``uri`` is an ``http`` loopback address, the only redirect installed apps get."""
    try:
        parts = urlsplit(uri)
        port = parts.port  # a bad port raises ValueError
    except ValueError:
        return False
    return (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and port != 0
            and not parts.fragment)


def routes(emulator: Host) -> list[Route]:
    state = emulator.state

    def client(client_id: str) -> Account | None:
        return next((a for a in state.accounts.values() if a.client_id == client_id), None)

    # -- the consent screen ---------------------------------------------------------------------

    def consent(req: Request) -> tuple[Account, str, tuple[str, ...]]:
        """The consenting account, the redirect URI and the granted scopes, or ConsentError."""
        client_id = req.arg("client_id") or ""
        if not client_id:
            raise ConsentError("invalid_request", "Missing required parameter: client_id")
        owner = client(client_id)
        if owner is None:
            raise ConsentError("invalid_client", "The OAuth client was not found.")
        redirect_uri = req.arg("redirect_uri") or ""
        if not redirect_uri:
            raise ConsentError("invalid_request", "Missing required parameter: redirect_uri")
        if not is_loopback_redirect(redirect_uri):
            raise ConsentError("redirect_uri_mismatch",
                               "The redirect URI in the request, " + redirect_uri + ", does not "
                               "match the ones authorized for the OAuth client (installed "
                               "apps redirect to http://127.0.0.1 or http://localhost).")
        response_type = req.arg("response_type") or ""
        if response_type != "code":
            raise ConsentError("unsupported_response_type",
                               f"Invalid response_type: {response_type}" if response_type
                               else "Missing required parameter: response_type")
        scopes = tuple(dict.fromkeys((req.arg("scope") or "").split()))
        if not scopes:
            raise ConsentError("invalid_request", "Missing required parameter: scope")
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            valid = [s for s in scopes if s in KNOWN_SCOPES]
            raise ConsentError("invalid_scope", "Some requested scopes were invalid. "
                               f"{{valid=[{', '.join(valid)}], invalid=[{', '.join(unknown)}]}}")
        if not req.arg("code_challenge"):
            raise ConsentError("invalid_request",
                               "Missing required parameter: code_challenge (PKCE is required)")
        if req.arg("code_challenge_method") != "S256":
            raise ConsentError("invalid_request",
                               "Invalid code_challenge_method: only S256 is accepted")
        hint = req.arg("login_hint")
        account = owner
        if hint:
            found = state.account(hint)
            if found is None:
                raise ConsentError("invalid_request", f"No account {hint} (login_hint)")
            account = found
        return account, redirect_uri, scopes

    def authorize(req: Request) -> Response:
        try:
            account, redirect_uri, scopes = consent(req)
        except ConsentError as exc:
            return error_page(exc)
        code = "4/0A" + secrets.token_urlsafe(32)
        client_id = req.arg("client_id") or ""
        state.auth_codes[code] = {
            "email": account.email, "client_id": client_id, "redirect_uri": redirect_uri,
            "scopes": list(scopes), "challenge": req.arg("code_challenge"),
            "expires": state.clock.time() + AUTH_CODE_LIFETIME}
        answer = {"code": code, "scope": " ".join(scopes)}
        if req.arg("state") is not None:
            answer = {"state": req.arg("state") or "", **answer}
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        return Response(302, b"", {"Location": redirect_uri + joiner + urlencode(answer)})

    def error_page(exc: ConsentError) -> Response:
        page = ("<!DOCTYPE html><html><head><title>Error 400</title></head><body>"
                "<h1>Access blocked: authorization error</h1>"
                f"<p>Error 400: {html.escape(exc.error)}</p>"
                f"<p>{html.escape(exc.description)}</p></body></html>")
        return Response(400, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    # -- the token endpoint -----------------------------------------------------------------------

    def form(req: Request) -> dict[str, str]:
        if not req.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            raise token_error(400, "invalid_request",
                              "Invalid Content-Type: use application/x-www-form-urlencoded")
        fields = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in fields.items()}

    def authenticate_client(req: Request, data: dict[str, str]) -> Account:
        client_id, secret = data.get("client_id", ""), data.get("client_secret")
        header = req.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
                client_id, _, basic_secret = decoded.partition(":")
            except ValueError:
                raise token_error(401, "invalid_client", "Unauthorized") from None
            secret = basic_secret
        if not client_id:
            raise token_error(400, "invalid_request", "Could not determine client ID from "
                              "request.")
        owner = client(client_id)
        if owner is None:
            raise token_error(401, "invalid_client", "The OAuth client was not found.")
        if secret is None:
            raise token_error(400, "invalid_request", "client_secret is missing.")
        if not hmac.compare_digest(secret.encode(), owner.client_secret.encode()):
            raise token_error(401, "invalid_client", "Unauthorized")
        return owner

    def required(data: dict[str, str], name: str) -> str:
        value = data.get(name, "")
        if not value:
            raise token_error(400, "invalid_request", f"Missing required parameter: {name}")
        return value

    def exchange_code(data: dict[str, str], client_id: str) -> dict[str, Any]:
        code = required(data, "code")
        grant = state.auth_codes.pop(code, None)  # single-use, even when the exchange fails
        if grant is None or grant["expires"] <= state.clock.time():
            raise token_error(400, "invalid_grant", "Bad Request")
        if grant["client_id"] != client_id:
            raise token_error(400, "invalid_grant", "Bad Request")
        if data.get("redirect_uri", "") != grant["redirect_uri"]:
            raise token_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = data.get("code_verifier", "")
        if not verifier:
            raise token_error(400, "invalid_grant", "Missing code verifier.")
        if not hmac.compare_digest(s256(verifier), grant["challenge"]):
            raise token_error(400, "invalid_grant", "Invalid code verifier.")
        email, scopes = grant["email"], tuple(grant["scopes"])
        if email not in state.accounts:
            raise token_error(400, "invalid_grant", EXPIRED_OR_REVOKED)
        access, lifetime = state.mint_access_token(email, scopes)
        return {"access_token": access, "expires_in": lifetime,
                "refresh_token": state.mint_refresh_token(email, client_id, scopes),
                "scope": " ".join(scopes), "token_type": "Bearer"}

    def refresh(data: dict[str, str], client_id: str) -> dict[str, Any]:
        held = state.refresh_tokens.get(required(data, "refresh_token"))
        if held is None or held[0] not in state.accounts:
            raise token_error(400, "invalid_grant", EXPIRED_OR_REVOKED)
        email, issued_to, granted = held
        if issued_to != client_id:
            raise token_error(401, "unauthorized_client", "Unauthorized")
        scopes = granted
        if data.get("scope"):
            asked = tuple(dict.fromkeys(data["scope"].split()))
            if not set(asked) <= set(granted):
                raise token_error(400, "invalid_scope", "Bad Request")
            scopes = asked
        access, lifetime = state.mint_access_token(email, scopes)
        return {"access_token": access, "expires_in": lifetime, "scope": " ".join(scopes),
                "token_type": "Bearer"}

    def token(req: Request) -> Response:
        data = form(req)
        grant_type = data.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise token_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client_id = authenticate_client(req, data).client_id
        answer = (exchange_code(data, client_id) if grant_type == "authorization_code"
                  else refresh(data, client_id))
        return Response(200, answer, dict(NO_STORE))

    return [Route("GET", r"/o/oauth2(?:/v2)?/auth", authorize, api="oauth", auth=False),
            Route("POST", r"/token", token, api="oauth", auth=False)]
