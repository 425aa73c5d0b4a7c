"""The emulator's control API under ``/__emulator/`` (never a Google path).

- ``POST /__emulator/accounts`` ``{"email"}``: create an account (or find it) and answer
  ``{"email", "access_token", "refresh_token", "client_id", "client_secret", "token_uri",
  "scopes"}``; ``GET /__emulator/accounts``: the accounts.
- ``POST /__emulator/faults`` ``{"method": "GET"|"*", "path": REGEX, "count": N, "status"?,
  "body"?, "delay"?, "drop"?, "headers"?}``: the next N matching requests (batch parts included)
  answer that status (with the body, or Google's usual body for it), wait ``delay`` seconds, or
  drop the connection. ``GET`` lists the pending faults, ``DELETE`` clears them.
- ``PUT /__emulator/quotas/{api}`` ``{"per_minute": N, "status": 429|403}`` (api: people or
  calendar); ``DELETE`` removes it.
- ``POST /__emulator/clock`` ``{"advance": SECONDS}``: move the clock forward; ``GET`` reads it.
- ``POST /__emulator/sync-tokens/invalidate``: every sync token issued so far becomes invalid.
- ``POST /__emulator/tokens/expire`` / ``.../revoke`` ``{"email"?}``: expire access tokens
  (clients must refresh) / revoke refresh tokens (refresh answers ``invalid_grant``).
- ``GET /__emulator/requests``: the log and counts of requests served; ``DELETE`` clears it.
- ``POST /__emulator/save``: write ``--state FILE`` now.
The People and Calendar modules add their own inspection and direct-write routes under
``/__emulator/accounts/{email}/...``, and People its propagation lag:
``PUT /__emulator/accounts/{email}/lag`` ``{"people_seconds": N}`` (``GET`` reads it).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from crmtui.emulator.errors import ApiError
from crmtui.emulator.http import Host, Request, Response, Route, account_or_404
from crmtui.emulator.state import Fault, Quota

PREFIX = "/__emulator"
__all__ = ["PREFIX", "account_or_404", "bad_request", "routes"]  # account_or_404: from .http


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"error": {"code": 400, "message": message}})


def routes(emulator: Host) -> list[Route]:
    state = emulator.state

    def body_of(req: Request) -> dict[str, Any]:
        data = req.json()
        if not isinstance(data, dict):
            raise bad_request("the body must be a JSON object")
        return data

    def create_account(req: Request) -> Response:
        email = body_of(req).get("email")
        if not isinstance(email, str):
            raise bad_request("'email' is required")
        try:
            creds = emulator.create_account(email)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return Response(200, creds)

    def list_accounts(req: Request) -> dict[str, Any]:
        return {"accounts": sorted(state.accounts)}

    def add_fault(req: Request) -> dict[str, Any]:
        data = body_of(req)
        try:
            fault = Fault(method=str(data.get("method", "*")).upper(),
                          path=re.compile(str(data.get("path", ".*"))),
                          count=int(data.get("count", 1)),
                          status=int(data["status"]) if data.get("status") is not None else None,
                          body=data.get("body"), delay=float(data.get("delay", 0)),
                          drop=bool(data.get("drop", False)),
                          headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()})
        except (re.error, TypeError, ValueError) as exc:
            raise bad_request(f"bad fault: {exc}") from None
        if fault.status is None and not fault.drop and not fault.delay:
            raise bad_request("a fault needs a status, a delay or drop")
        if fault.count < 1 or fault.delay < 0 or fault.delay > 120:
            raise bad_request("count must be at least 1 and delay between 0 and 120 seconds")
        state.faults.append(fault)
        return {"pending": len(state.faults)}

    def list_faults(req: Request) -> dict[str, Any]:
        return {"faults": [{"method": f.method, "path": f.path.pattern, "count": f.count,
                            "status": f.status, "delay": f.delay, "drop": f.drop}
                           for f in state.faults]}

    def clear_faults(req: Request) -> dict[str, Any]:
        state.faults.clear()
        return {}

    def set_quota(req: Request) -> dict[str, Any]:
        api = req.params["api"]
        data = body_of(req)
        try:
            quota = Quota(per_minute=int(data["per_minute"]), status=int(data.get("status", 429)))
        except (KeyError, TypeError, ValueError):
            raise bad_request("'per_minute' (a number) is required") from None
        if quota.status not in (403, 429) or quota.per_minute < 0:
            raise bad_request("status must be 403 or 429, per_minute at least 0")
        state.quotas[api] = quota
        return {}

    def clear_quota(req: Request) -> dict[str, Any]:
        state.quotas.pop(req.params["api"], None)
        return {}

    def clock(req: Request) -> dict[str, Any]:
        if req.method == "POST":
            try:
                state.clock.advance(float(body_of(req).get("advance", 0)))
            except (TypeError, ValueError) as exc:
                raise bad_request(f"bad advance: {exc}") from None
        return {"now": state.clock.now().isoformat(), "offset": state.clock.offset}

    def invalidate_sync_tokens(req: Request) -> dict[str, Any]:
        state.sync_epoch += 1
        state.dirty = True
        return {"sync_epoch": state.sync_epoch}

    def expire_tokens(req: Request) -> dict[str, Any]:
        return {"expired": state.expire_access_tokens(body_of(req).get("email"))}

    def revoke_tokens(req: Request) -> dict[str, Any]:
        return {"revoked": state.revoke_refresh_tokens(body_of(req).get("email"))}

    def requests_log(req: Request) -> dict[str, Any]:
        if req.method == "DELETE":
            state.requests.clear()
            return {}
        logged = [r for r in state.requests if r.api != "control"]
        counts = Counter(f"{r.method} {r.path}" for r in logged)
        return {"requests": [r.to_dict() for r in logged],
                "counts": {"total": len(logged),
                           "http": sum(1 for r in logged if r.batch != "part"),
                           "batch_parts": sum(1 for r in logged if r.batch == "part"),
                           "by_path": dict(counts)}}

    def save(req: Request) -> dict[str, Any]:
        if emulator.state_file is None:
            raise bad_request("the emulator runs without --state FILE")
        emulator.save_state()
        return {"saved": str(emulator.state_file)}

    def r(method: str, path: str, handler: Any) -> Route:
        return Route(method, PREFIX + path, handler, api="control", auth=False)

    return [
        r("POST", "/accounts", create_account),
        r("GET", "/accounts", list_accounts),
        r("POST", "/faults", add_fault),
        r("GET", "/faults", list_faults),
        r("DELETE", "/faults", clear_faults),
        r("PUT", "/quotas/(?P<api>people|calendar)", set_quota),
        r("DELETE", "/quotas/(?P<api>people|calendar)", clear_quota),
        r("GET", "/clock", clock),
        r("POST", "/clock", clock),
        r("POST", "/sync-tokens/invalidate", invalidate_sync_tokens),
        r("POST", "/tokens/expire", expire_tokens),
        r("POST", "/tokens/revoke", revoke_tokens),
        r("GET", "/requests", requests_log),
        r("DELETE", "/requests", requests_log),
        r("POST", "/save", save),
    ]
