"""Google's error envelopes, exactly, so the client library reacts as it does to Google.

Calendar (backend, "Apiary" style): ``{"error": {"errors": [{"domain", "reason", "message",
"locationType"?, "location"?}], "code", "message"}}`` with no ``status``.
People (``google.rpc.Status``): ``{"error": {"code", "message", "status", "details"?}}``.
Front-end errors (authentication, scopes, quota) carry ``status`` for both, and ``errors[]`` for
Calendar. See the reference on Google's APIs, section 2.
"""

from __future__ import annotations

from typing import Any

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND", 412: "FAILED_PRECONDITION",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class ApiError(Exception):
    """Raised by a handler: the response is ``status`` with the JSON ``body``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def calendar_error(status: int, reason: str, message: str, *, domain: str = "global",
                   location: str | None = None, location_type: str | None = None) -> ApiError:
    item: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location is not None:
        item["locationType"] = location_type or "parameter"
        item["location"] = location
    return ApiError(status, {"error": {"errors": [item], "code": status, "message": message}})


def people_error(status: int, message: str, status_name: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> ApiError:
    error: dict[str, Any] = {"code": status, "message": message,
                             "status": status_name or STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return ApiError(status, {"error": error})


def error_info(reason: str, domain: str = "people.googleapis.com",
               metadata: dict[str, str] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": reason, "domain": domain}
    if metadata:
        info["metadata"] = metadata
    return info


def unauthenticated(api: str, *, missing: bool) -> ApiError:
    if missing:
        message = ("Request is missing required authentication credential. Expected OAuth 2 "
                   "access token, login cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
        item = {"message": "Login Required.", "domain": "global", "reason": "required",
                "location": "Authorization", "locationType": "header"}
    else:
        message = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                   "token, login cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
        item = {"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                "location": "Authorization", "locationType": "header"}
    error: dict[str, Any] = {"code": 401, "message": message}
    if api == "calendar":
        error["errors"] = [item]
    error["status"] = "UNAUTHENTICATED"
    return ApiError(401, {"error": error}, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def insufficient_scopes(api: str) -> ApiError:
    service = "calendar-json.googleapis.com" if api == "calendar" else "people.googleapis.com"
    error: dict[str, Any] = {"code": 403, "message": "Request had insufficient authentication scopes."}
    if api == "calendar":
        error["errors"] = [{"message": "Insufficient Permission", "domain": "global",
                            "reason": "insufficientPermissions"}]
    error["status"] = "PERMISSION_DENIED"
    error["details"] = [error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com",
                                   {"service": service})]
    return ApiError(403, {"error": error})


def rate_limited(api: str, status: int) -> ApiError:
    """The body Google sends when a per-user quota is exceeded (403 or 429)."""
    if api == "calendar":
        return calendar_error(status, "rateLimitExceeded", "Rate Limit Exceeded",
                              domain="usageLimits")
    message = ("Quota exceeded for quota metric 'Critical read requests (Contact and Profile "
               "Reads)' and limit 'Critical read requests (Contact and Profile Reads) per minute "
               "per user' of service 'people.googleapis.com' for consumer "
               "'project_number:000000000000'.")
    return people_error(status, message, "RESOURCE_EXHAUSTED", [error_info(
        "RATE_LIMIT_EXCEEDED", "googleapis.com",
        {"service": "people.googleapis.com",
         "quota_metric": "people.googleapis.com/critical_read_requests",
         "quota_limit": "CriticalReadRequestsPerMinutePerProjectPerUser",
         "consumer": "projects/000000000000"})])


def concurrent_mutation() -> ApiError:
    """A People mutation that overlaps another one for the same user (Google: "Mutate requests
    for the same user should be sent sequentially to avoid increased latency and failures").
    The status is RESOURCE_EXHAUSTED with reason RATE_LIMIT_EXCEEDED, as for a quota; the
    message's wording is the emulator's own."""
    return people_error(429, "Too many concurrent mutate requests for the same user; send "
                        "them sequentially.", "RESOURCE_EXHAUSTED", [error_info(
                            "RATE_LIMIT_EXCEEDED", "googleapis.com",
                            {"service": "people.googleapis.com"})])


def default_error(api: str, status: int) -> ApiError:
    """A plausible body for ``status`` (used by injected faults that name no body)."""
    if status in (403, 429):
        return rate_limited(api, status)
    if api == "calendar":
        reason, message = {
            400: ("badRequest", "Bad Request"), 401: ("authError", "Invalid Credentials"),
            404: ("notFound", "Not Found"), 409: ("conflict", "Conflict"),
            410: ("deleted", "Resource has been deleted"),
            412: ("conditionNotMet", "Precondition Failed"),
        }.get(status, ("backendError", "Backend Error"))
        return calendar_error(status, reason, message)
    message = {400: "Request contains an invalid argument.",
               404: "Requested entity was not found.",
               500: "Internal error encountered.",
               503: "The service is currently unavailable."}.get(status, "Error.")
    return people_error(status, message)


def parse_error(api: str) -> ApiError:
    if api == "calendar":
        return calendar_error(400, "parseError", "Parse Error")
    return people_error(400, "Invalid JSON payload received.")


def not_found(api: str) -> ApiError:
    if api == "calendar":
        return calendar_error(404, "notFound", "Not Found")
    return people_error(404, "Requested entity was not found.")
