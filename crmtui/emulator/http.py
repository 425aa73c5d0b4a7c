"""The HTTP types the emulator's API modules share: requests, responses, routes.

:mod:`.server` owns the wire and imports the API modules (:mod:`.people`, :mod:`.calendar`,
:mod:`.oauth`, :mod:`.control`); they import only this module, :mod:`.errors` and :mod:`.state`,
never the server or each other. :class:`Host` is what the OAuth and control routes need of the
running emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from crmtui.emulator.errors import ApiError, parse_error
from crmtui.emulator.state import Account, EmulatorState

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Request:
    """One API request as a handler sees it (a batch part is one too)."""

    method: str
    path: str  # percent-decoded, Calendar's prefix-less form normalized to /calendar/v3/...
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    api: str = ""
    params: dict[str, str] = field(default_factory=dict)  # the route's named groups
    account: Account | None = None
    scopes: tuple[str, ...] = ()
    batch: str = ""
    base_url: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def json(self) -> Any:
        """The JSON body; a malformed one is Google's 400 for this API."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise parse_error(self.api) from None

    @property
    def email(self) -> str:
        return self.account.email if self.account else ""


@dataclass
class Response:
    status: int = 200
    body: Any = None  # a JSON value, bytes, or None for no body
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None or self.status == 204:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        headers.setdefault("Content-Type", JSON_TYPE)
        return json.dumps(self.body, ensure_ascii=False).encode(), headers


Handler = Callable[[Request], Response | dict[str, Any] | None]


@dataclass
class Route:
    """``pattern`` is a regex matched against the whole decoded path; named groups go to
    ``request.params``. ``scopes``: the request's token needs one of them (empty: any token).
    ``auth=False`` for OAuth and control routes."""

    method: str
    pattern: str
    handler: Handler
    api: str
    auth: bool = True
    scopes: tuple[str, ...] = ()
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(self.pattern)


class Host(Protocol):
    """What the OAuth and control routes use of the running emulator."""

    state: EmulatorState
    state_file: Path | None

    def create_account(self, email: str) -> dict[str, Any]: ...

    def save_state(self) -> None: ...


def account_or_404(state: EmulatorState, email: str) -> Account:
    """The account a control route names, or the control API's 404."""
    account = state.account(email)
    if account is None:
        raise ApiError(404, {"error": {"code": 404, "message": f"no account {email}"}})
    return account


def normalize_path(raw_path: str) -> str:
    """Decode a request path; Calendar's prefix-less form gets its ``/calendar/v3`` prefix."""
    path = unquote(raw_path)
    if path.startswith(("/calendars/", "/users/me/", "/colors", "/freeBusy", "/channels/")):
        path = "/calendar/v3" + path
    return path


def make_request(method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
    """A :class:`Request` from an HTTP request line's parts (method override honoured)."""
    split = urlsplit(target)
    query = parse_qs(split.query, keep_blank_values=True)
    override = headers.get("x-http-method-override", "").upper()
    if method == "POST" and override:
        method = override
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for k, vs in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
                query.setdefault(k, []).extend(vs)
            body = b""
    return Request(method=method, path=normalize_path(split.path), query=query,
                   headers=headers, body=body)


__all__ = ["JSON_TYPE", "Handler", "Host", "Request", "Response", "Route", "account_or_404",
           "make_request", "normalize_path"]
