"""Google accounts: OAuth linking, token storage, and authorized API clients.

Tokens live in ``<data dir>/tokens/<account id>.json`` (the authorized-user record), written
atomically with 0600 permissions in a 0700 directory. They are never printed or logged.
"""

from __future__ import annotations

from typing import Any

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

SCOPES = ("https://www.googleapis.com/auth/contacts",
          "https://www.googleapis.com/auth/calendar.events")

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
