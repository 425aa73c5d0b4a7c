"""The emulator's state: its clock, Google accounts, OAuth tokens, faults, quotas, request log.

Everything lives in memory behind one re-entrant lock (``state.lock``): the server takes it for the
whole handling of each request, so concurrent clients see one request at a time, as a consistent
store would. The API modules (People, Calendar) keep their per-account data in
``Account.data[<module name>]`` and serialize it themselves for ``--state FILE``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PEOPLE_SCOPES = ("https://www.googleapis.com/auth/contacts",)
CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar.events",
                   "https://www.googleapis.com/auth/calendar")
ALL_SCOPES = PEOPLE_SCOPES + CALENDAR_SCOPES
DEFAULT_TOKEN_LIFETIME = 3600  # seconds an access token is valid


class Clock:
    """Real time plus an offset that tests advance (token expiry, ``updated`` times, quotas)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only goes forward")
        self.offset += seconds


def rfc3339(moment: datetime) -> str:
    """Google's timestamp format: UTC, milliseconds, ``Z`` (``2026-11-24T09:00:00.123Z``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def encode_token(payload: dict[str, Any]) -> str:
    """An opaque page or sync token carrying ``payload``."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any] | None:
    """The payload of a token made by :func:`encode_token`; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


@dataclass
class AccessToken:
    email: str
    expires: float  # emulator clock seconds
    scopes: tuple[str, ...]


@dataclass
class Account:
    """One Google account: its email and the data each API module keeps for it."""

    email: str
    client_id: str
    client_secret: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fault:
    """The next ``count`` requests matching ``method`` and ``path`` (a regex) misbehave."""

    method: str  # "*" for any
    path: re.Pattern[str]
    count: int
    status: int | None = None
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and bool(self.path.search(path))


@dataclass
class Quota:
    """At most ``per_minute`` requests per account per minute to one API, then ``status``."""

    per_minute: int
    status: int = 429


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    api: str
    email: str
    batch: str  # "" for a plain request, "outer" or "part" for batches
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.query,
                "status": self.status, "api": self.api, "email": self.email, "batch": self.batch,
                "at": self.at}


class EmulatorState:
    """Accounts, tokens, faults, quotas and the request log of one emulator."""

    def __init__(self, *, token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
                 enforce_scopes: bool = True) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.token_lifetime = token_lifetime
        self.enforce_scopes = enforce_scopes
        self.accounts: dict[str, Account] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # -> email, client, scopes
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.quotas: dict[str, Quota] = {}
        self._quota_windows: dict[tuple[str, str], deque[float]] = {}
        self.requests: list[LoggedRequest] = []
        self.max_logged = 100_000
        self.sync_epoch = 0  # bumped to invalidate every sync token at once
        self._seq = 0
        self.dirty = False

    # -- sequence numbers for change tracking -------------------------------------------------

    def next_seq(self) -> int:
        """A number larger than every one handed out before (orders all changes)."""
        self._seq += 1
        self.dirty = True
        return self._seq

    @property
    def seq(self) -> int:
        return self._seq

    # -- accounts and tokens ---------------------------------------------------------------------

    def add_account(self, email: str, modules: list[Any]) -> Account:
        key = email.strip().lower()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", key):
            raise ValueError(f"{email!r} is not an email address")
        if key in self.accounts:
            return self.accounts[key]
        account = Account(email=key, client_id=f"{secrets.token_hex(6)}.apps.googleusercontent.com",
                          client_secret=secrets.token_urlsafe(18))
        self.accounts[key] = account
        for module in modules:
            module.new_account(account)
        self.dirty = True
        return account

    def account(self, email: str) -> Account | None:
        return self.accounts.get(email.strip().lower())

    def mint_access_token(self, email: str, scopes: tuple[str, ...]) -> tuple[str, int]:
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        self.access_tokens[token] = AccessToken(email, self.clock.time() + self.token_lifetime,
                                                scopes)
        self.dirty = True
        return token, int(self.token_lifetime)

    def mint_refresh_token(self, email: str, client_id: str, scopes: tuple[str, ...]) -> str:
        token = "1//emu-" + secrets.token_urlsafe(32)
        self.refresh_tokens[token] = (email, client_id, scopes)
        self.dirty = True
        return token

    def credentials_for(self, email: str, token_uri: str) -> dict[str, Any]:
        """Fresh tokens for an account, as an authorized-user record."""
        account = self.accounts[email]
        access, _ = self.mint_access_token(email, ALL_SCOPES)
        refresh = self.mint_refresh_token(email, account.client_id, ALL_SCOPES)
        return {"email": email, "access_token": access, "refresh_token": refresh,
                "client_id": account.client_id, "client_secret": account.client_secret,
                "token_uri": token_uri, "scopes": list(ALL_SCOPES)}

    def token_owner(self, token: str) -> AccessToken | None:
        """The live access token ``token``; None when unknown or expired."""
        found = self.access_tokens.get(token)
        if found is None or found.expires <= self.clock.time():
            return None
        return found

    def expire_access_tokens(self, email: str | None = None) -> int:
        n = 0
        for tok in self.access_tokens.values():
            if email is None or tok.email == email:
                tok.expires = 0
                n += 1
        return n

    def revoke_refresh_tokens(self, email: str | None = None) -> int:
        gone = [t for t, (e, _, _) in self.refresh_tokens.items() if email is None or e == email]
        for t in gone:
            del self.refresh_tokens[t]
        self.expire_access_tokens(email)
        return len(gone)

    # -- faults, quotas, log ---------------------------------------------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def over_quota(self, api: str, email: str) -> Quota | None:
        quota = self.quotas.get(api)
        if quota is None or not email:
            return None
        now = self.clock.time()
        window = self._quota_windows.setdefault((api, email), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= quota.per_minute:
            return quota
        window.append(now)
        return None

    def log(self, entry: LoggedRequest) -> None:
        self.requests.append(entry)
        if len(self.requests) > self.max_logged:
            del self.requests[: len(self.requests) - self.max_logged]

    # -- persistence -----------------------------------------------------------------------------

    def dump(self, modules: list[Any]) -> dict[str, Any]:
        return {
            "version": 1,
            "clock_offset": self.clock.offset,
            "seq": self._seq,
            "sync_epoch": self.sync_epoch,
            "accounts": {
                email: {"client_id": a.client_id, "client_secret": a.client_secret,
                        **{m.name: m.dump(a) for m in modules}}
                for email, a in self.accounts.items()},
            "access_tokens": {t: [a.email, a.expires, list(a.scopes)]
                              for t, a in self.access_tokens.items()},
            "refresh_tokens": {t: [e, c, list(s)] for t, (e, c, s) in self.refresh_tokens.items()},
        }

    def load(self, data: dict[str, Any], modules: list[Any]) -> None:
        self.clock.offset = float(data.get("clock_offset", 0.0))
        self._seq = int(data.get("seq", 0))
        self.sync_epoch = int(data.get("sync_epoch", 0))
        for email, raw in data.get("accounts", {}).items():
            account = Account(email=email, client_id=raw["client_id"],
                              client_secret=raw["client_secret"])
            self.accounts[email] = account
            for module in modules:
                module.new_account(account)
                if module.name in raw:
                    module.load(account, raw[module.name])
        self.access_tokens = {t: AccessToken(e, x, tuple(s))
                              for t, (e, x, s) in data.get("access_tokens", {}).items()}
        self.refresh_tokens = {t: (e, c, tuple(s))
                               for t, (e, c, s) in data.get("refresh_tokens", {}).items()}


def authorized_user(info: dict[str, Any]) -> dict[str, Any]:
    """The authorized-user record (what ``crmtui account link google --credentials`` reads) of
    the credentials the control API answers for an account."""
    return {"token": info["access_token"], "refresh_token": info["refresh_token"],
            "client_id": info["client_id"], "client_secret": info["client_secret"],
            "token_uri": info["token_uri"], "scopes": list(info.get("scopes", ALL_SCOPES))}


def parse_rfc3339(text: str) -> datetime:
    """A timestamp as Google writes it (``Z`` or an offset, optional fraction)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no time zone")
    return value


__all__ = ["ALL_SCOPES", "authorized_user", "CALENDAR_SCOPES", "PEOPLE_SCOPES", "Account", "AccessToken", "Clock",
           "EmulatorState", "Fault", "LoggedRequest", "Quota", "decode_token", "encode_token",
           "parse_rfc3339", "rfc3339"]
