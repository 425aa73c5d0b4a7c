"""A client of the emulator's control API (``/__emulator/...``), for the tests, the benchmarks
and the demo's seed data.

:class:`EmulatorControl` talks HTTP to an emulator in this process or one running as a command
(anything with a ``base_url``, or the base URL itself), using only the standard library and never
a proxy (the emulator is on loopback). :meth:`EmulatorControl.call` is the raw call; the other
methods name the control API's routes (see :mod:`crmtui.emulator.control`, and the People and
Calendar modules for the per-account routes).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Protocol
from urllib.parse import quote

Json = dict[str, Any]
PREFIX = "/__emulator"


class HasBaseUrl(Protocol):
    @property
    def base_url(self) -> str: ...


def call_json(url: str, method: str, body: Any = None, *, timeout: float = 60) -> Any:
    """A JSON request to a loopback URL, never through a proxy; the decoded answer or None."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


class EmulatorControl:
    """The control API of one emulator; ``target`` is its base URL or anything with a
    ``base_url`` (read at each call, so an emulator may start after this is made)."""

    def __init__(self, target: str | HasBaseUrl, *, timeout: float = 60) -> None:
        self.target = target
        self.timeout = timeout

    @property
    def base_url(self) -> str:
        return self.target if isinstance(self.target, str) else self.target.base_url

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One control call; ``path`` is below ``/__emulator`` (a leading ``/__emulator`` is
        accepted too)."""
        path = path.removeprefix(PREFIX)
        return call_json(f"{self.base_url}{PREFIX}{path}", method, body, timeout=self.timeout)

    # -- accounts, faults, quotas, clock, tokens, the request log ----------------------------------

    def create_account(self, email: str) -> Json:
        """Create (or find) an account; its credentials (``access_token``, ``refresh_token``,
        ``client_id``, ``client_secret``, ``token_uri``, ``scopes``)."""
        info: Json = self.call("POST", "/accounts", {"email": email})
        return info

    def accounts(self) -> list[str]:
        emails: list[str] = self.call("GET", "/accounts")["accounts"]
        return emails

    def fault(self, path: str, *, method: str = "*", count: int = 1, **how: Any) -> None:
        """The next ``count`` requests (batch parts included) matching ``method`` and the regex
        ``path`` answer ``status`` (``body``, ``headers``), wait ``delay`` seconds, or
        ``drop``."""
        self.call("POST", "/faults", {"method": method, "path": path, "count": count, **how})

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def set_quota(self, api: str, per_minute: int, status: int = 429) -> None:
        self.call("PUT", f"/quotas/{api}", {"per_minute": per_minute, "status": status})

    def clear_quota(self, api: str) -> None:
        self.call("DELETE", f"/quotas/{api}")

    def clock(self) -> Json:
        """``{"now": ISO time, "offset": seconds}``."""
        now: Json = self.call("GET", "/clock")
        return now

    def advance_clock(self, seconds: float) -> Json:
        now: Json = self.call("POST", "/clock", {"advance": seconds})
        return now

    def invalidate_sync_tokens(self) -> None:
        self.call("POST", "/sync-tokens/invalidate")

    def expire_tokens(self, email: str | None = None) -> None:
        self.call("POST", "/tokens/expire", {"email": email} if email else {})

    def revoke_tokens(self, email: str | None = None) -> None:
        self.call("POST", "/tokens/revoke", {"email": email} if email else {})

    def requests(self) -> Json:
        """The request log: ``{"requests": [...], "counts": {"total", "http", "batch_parts",
        "by_path"}}`` (control calls excluded)."""
        log: Json = self.call("GET", "/requests")
        return log

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    def save(self) -> None:
        self.call("POST", "/save")

    # -- one account's data, changed as if in Gmail or Google Calendar -----------------------------

    @staticmethod
    def account_path(email: str, *parts: str) -> str:
        """``/accounts/{email}/...`` (each part percent-encoded)."""
        return "/".join([f"/accounts/{quote(email, safe='@')}",
                         *(quote(p, safe="/") for p in parts)])

    def set_lag(self, email: str, people_seconds: float) -> None:
        """``people.connections.list`` shows the account's contacts as they were
        ``people_seconds`` ago (0 turns the propagation lag off)."""
        self.call("PUT", self.account_path(email, "lag"), {"people_seconds": people_seconds})

    def lag(self, email: str) -> float:
        """The account's People propagation lag in seconds (0 = off)."""
        seconds: float = self.call("GET", self.account_path(email, "lag"))["people_seconds"]
        return seconds

    def contacts(self, email: str, *, deleted: bool = False) -> list[Json]:
        query = "?deleted=true" if deleted else ""
        found: list[Json] = self.call("GET", self.account_path(email, "contacts") + query
                                      )["contacts"]
        return found

    def create_contact(self, email: str, person: Json) -> Json:
        made: Json = self.call("POST", self.account_path(email, "contacts"), person)
        return made

    def patch_contact(self, email: str, resource_name: str, fields: Json) -> Json:
        pid = resource_name.removeprefix("people/")
        made: Json = self.call("PATCH", self.account_path(email, "contacts", pid), fields)
        return made

    def delete_contact(self, email: str, resource_name: str) -> None:
        self.call("DELETE", self.account_path(email, "contacts",
                                              resource_name.removeprefix("people/")))

    def groups(self, email: str) -> list[Json]:
        found: list[Json] = self.call("GET", self.account_path(email, "groups"))["contactGroups"]
        return found

    def create_group(self, email: str, name: str, **more: Any) -> Json:
        made: Json = self.call("POST", self.account_path(email, "groups"), {"name": name, **more})
        return made

    def patch_group(self, email: str, group: str, changes: Json) -> Json:
        made: Json = self.call("PATCH", self.account_path(email, "groups", group), changes)
        return made

    def delete_group(self, email: str, group: str) -> None:
        self.call("DELETE", self.account_path(email, "groups", group))

    def modify_members(self, email: str, group: str, *, add: list[str] | None = None,
                       remove: list[str] | None = None) -> Json:
        body: Json = {}
        if add is not None:
            body["add"] = add
        if remove is not None:
            body["remove"] = remove
        out: Json = self.call("POST", self.account_path(email, "groups", group, "members"), body)
        return out

    def events(self, email: str, *, deleted: bool = False) -> list[Json]:
        query = "?deleted=true" if deleted else ""
        found: list[Json] = self.call("GET", self.account_path(email, "events") + query)["items"]
        return found

    def insert_event(self, email: str, event: Json) -> Json:
        made: Json = self.call("POST", self.account_path(email, "events"), event)
        return made

    def patch_event(self, email: str, event_id: str, changes: Json) -> Json:
        made: Json = self.call("PATCH", self.account_path(email, "events", event_id), changes)
        return made

    def delete_event(self, email: str, event_id: str) -> None:
        self.call("DELETE", self.account_path(email, "events", event_id))


def control(target: str | HasBaseUrl, method: str, path: str, body: Any = None) -> Any:
    """One control call on ``target`` (a base URL, or anything with a ``base_url``): ``path`` is
    below ``/__emulator``. Short for ``EmulatorControl(target).call(method, path, body)``."""
    return EmulatorControl(target).call(method, path, body)
