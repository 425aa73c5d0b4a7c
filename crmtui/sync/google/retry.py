"""Retries for Google API calls, shared by the People and Calendar adapters.

Every request goes through :class:`Retrier`: 429, 500, 502, 503, 504, 403 rate limits
(``rateLimitExceeded`` / ``userRateLimitExceeded``; People's ``RESOURCE_EXHAUSTED``) and network
errors are retried with exponential backoff and full jitter (base 1 s, cap 32 s), or after the
``Retry-After`` the server asked for, up to ``max_attempts`` attempts; then :class:`RemoteError` says what failed (the HTTP
status and Google's message, never a URL or a token). Other HTTP errors are raised as they are
for the adapter to handle (a 404 group, a stale etag, a rejected record...).

A response body that is not JSON (an HTML error page from a proxy, a cut-off body) is retried
like a 5xx, then :class:`RemoteError` says so in one line. The client library answers such a
body as it is: a non-2xx one is an :class:`HttpError` whose content is not JSON (retried by its
status), a 2xx one is *returned* as the raw text instead of a decoded object (its JSON decoding
error is swallowed), and a batch answer that is not multipart raises ``BatchError``. So every
answer must be a JSON object (:class:`NotJson` otherwise), in a batch part too.

google-api-python-client's own retries are never used (``execute(num_retries=0)``): they ignore
``Retry-After``, and ``BatchHttpRequest`` has none at all.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest
from googleapiclient.model import RawModel

from crmtui.sync.remote import AuthError, RemoteError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Calendar's errors[].reason; People's ErrorInfo reason (its 403s carry RESOURCE_EXHAUSTED)
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded",
                                "RATE_LIMIT_EXCEEDED"})
SCOPE_REASONS = frozenset({"ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientPermissions"})
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    httplib2.HttpLib2Error, http.client.HTTPException, ConnectionError, TimeoutError,
    socket.gaierror, ssl.SSLError)
BASE_DELAY = 1.0
MAX_DELAY = 32.0
MAX_RETRY_AFTER = 300.0  # a longer Retry-After is cut to this (a run never hangs for hours)
AUTH_MESSAGE = "Google refused the account's authorization; link the account again"


class NotJson(Exception):
    """Google's answer was not the JSON object (or the multipart batch) the API promises."""


def _sketch(answer: Any) -> str:
    """A few words on what came instead of a JSON object (never the text itself)."""
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    if isinstance(answer, str):
        text = answer.strip()
        if not text:
            return "an empty body"
        if text.startswith("<"):
            return "an HTML page"
        if text[0] in "[{":
            return "a cut-off JSON body"
        return "a body that is not JSON"
    return f"JSON that is not an object ({type(answer).__name__})"


def expects_json(request: Any) -> bool:
    """Does the request's method answer a JSON object? (A method without a response in the
    discovery document, a delete, answers its raw body: nothing.)"""
    return not isinstance(getattr(getattr(request, "postproc", None), "__self__", None),
                          RawModel)


def json_object(answer: Any) -> dict[str, Any]:
    """``answer`` if it is a decoded JSON object, else :class:`NotJson`."""
    if isinstance(answer, dict):
        return answer
    raise NotJson(f"{_sketch(answer)} instead of JSON")


@dataclass(frozen=True)
class Failure:
    """What Google said in an error response."""

    status: int
    message: str  # Google's message (or the HTTP reason)
    status_name: str = ""  # e.g. FAILED_PRECONDITION (People); "" for Calendar errors
    reasons: frozenset[str] = frozenset()  # errors[].reason and ErrorInfo reasons
    retry_after: float | None = None  # seconds, from the Retry-After header

    @property
    def retryable(self) -> bool:
        return self.status in RETRY_STATUSES or (
            self.status == 403 and (bool(self.reasons & RATE_LIMIT_REASONS)
                                    or self.status_name == "RESOURCE_EXHAUSTED"))

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.message else f"HTTP {self.status}"


def failure(err: HttpError) -> Failure:
    """Parse an :class:`HttpError` (its body and headers; never its URL)."""
    status = int(getattr(err.resp, "status", 0) or 0)
    message, status_name, reasons = "", "", set()
    try:
        body = json.loads(err.content or b"{}")
    except (ValueError, TypeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        status_name = str(error.get("status") or "")
        for item in (error.get("errors") or []) + (error.get("details") or []):
            if isinstance(item, dict) and item.get("reason"):
                reasons.add(str(item["reason"]))
    if not message:
        message = str(getattr(err.resp, "reason", "") or "")
    return Failure(status, message, status_name, frozenset(reasons), _retry_after(err))


def _retry_after(err: HttpError) -> float | None:
    raw = err.resp.get("retry-after") if hasattr(err.resp, "get") else None
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: back off as usual
    return None if seconds is None or seconds < 0 else min(seconds, MAX_RETRY_AFTER)


def refused(what: str, err: HttpError) -> RemoteError:
    """The :class:`RemoteError` for a request Google refused (status and message only)."""
    return RemoteError(f"{what}: Google refused the request ({failure(err)})")


def is_auth_failure(f: Failure) -> bool:
    """A 401 (after the client's own refresh), or a 403 for missing scopes."""
    return f.status == 401 or (f.status == 403 and bool(f.reasons & SCOPE_REASONS))


Result = Any  # a decoded JSON response, or the HttpError a batch part answered


class Retrier:
    """Runs google-api-python-client requests with retries (see the module docstring).

    ``sleep`` and ``jitter`` (a number in [0, 1)) are injectable so tests neither wait nor
    guess; ``on_retry`` hears a short line before each wait."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, max_attempts: int = 6,
                 jitter: Callable[[], float] = random.random,
                 on_retry: Callable[[str], None] | None = None) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.jitter = jitter
        self.on_retry = on_retry

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return retry_after
        return self.jitter() * min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))

    def _wait(self, what: str, attempt: int, why: str, retry_after: float | None) -> None:
        seconds = self.delay(attempt, retry_after)
        note = f"{what}: {why}; trying again in {seconds:.1f} s"
        log.info("retry %d: %s", attempt, note)
        if self.on_retry is not None:
            self.on_retry(note)
        self.sleep(seconds)

    def execute(self, request: Any, what: str) -> Any:
        """``request.execute()`` with retries. Raises :class:`RemoteError` when retries run
        out, :class:`AuthError` when the credentials are refused, and the :class:`HttpError`
        of any other failure."""
        if not expects_json(request):
            return self.call(lambda: request.execute(num_retries=0), what)
        return self.call(lambda: json_object(request.execute(num_retries=0)), what)

    def call(self, send: Callable[[], Any], what: str) -> Any:
        """``send()`` (one HTTP call) with the retries of :meth:`execute`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return send()
            except HttpError as err:
                f = failure(err)
                if is_auth_failure(f):
                    raise AuthError(f"{AUTH_MESSAGE} ({f})") from None
                if not f.retryable:
                    raise
                if attempt >= self.max_attempts:
                    raise RemoteError(f"{what}: Google still answers {f} after {attempt} "
                                      "attempts") from None
                self._wait(what, attempt, str(f), f.retry_after)
            except RefreshError:
                raise AuthError(AUTH_MESSAGE) from None
            except NotJson as exc:
                if attempt >= self.max_attempts:
                    raise RemoteError(f"{what}: Google still answers with {exc} after "
                                      f"{attempt} attempts") from None
                self._wait(what, attempt, f"Google answered with {exc}", None)
            except NETWORK_ERRORS as exc:
                if attempt >= self.max_attempts:
                    raise RemoteError(f"{what}: cannot reach Google ({_network(exc)}) after "
                                      f"{attempt} attempts") from None
                self._wait(what, attempt, _network(exc), None)

    def execute_all(self, requests: Mapping[str, Any], what: str,
                    batch_uri: str | None) -> dict[str, Result]:
        """Run independent requests: in multipart batches at ``batch_uri`` (at most 1000 parts
        each), or one by one when it is None. Returns each key's response, or the
        :class:`HttpError` it answered when that is not retryable; parts that keep failing
        with retryable errors raise :class:`RemoteError` as :meth:`execute` does."""
        if batch_uri is None:
            out: dict[str, Result] = {}
            for key, request in requests.items():
                try:
                    out[key] = self.execute(request, what)
                except HttpError as err:
                    out[key] = err
            return out
        results: dict[str, Result] = {}
        keys = list(requests)
        for start in range(0, len(keys), 1000):
            chunk = {k: requests[k] for k in keys[start:start + 1000]}
            results.update(self._batch(chunk, what, batch_uri))
        return results

    def _batch(self, requests: Mapping[str, Any], what: str, batch_uri: str
               ) -> dict[str, Result]:
        results: dict[str, Result] = {}
        pending = dict(requests)
        attempt = 0
        while pending:
            attempt += 1
            answered: dict[str, Result] = {}

            index = {str(i): key for i, key in enumerate(pending)}

            def send(answered: dict[str, Result] = answered,
                     parts: dict[str, Any] = pending, index: dict[str, str] = index) -> None:
                answered.clear()

                def collect(request_id: str, response: Any, exception: Exception | None) -> None:
                    answered[request_id] = exception if exception is not None else response

                batch = BatchHttpRequest(callback=collect, batch_uri=batch_uri)
                for rid, key in index.items():
                    batch.add(parts[key], request_id=rid)
                try:
                    batch.execute()
                except HttpError as err:
                    if not isinstance(err, BatchError) or (err.resp is not None
                                                           and err.resp.status >= 300):
                        raise
                    raise NotJson("a body that is not a batch response") from None
                except (KeyError, UnicodeDecodeError):  # a part or a header missing: cut off
                    raise NotJson("a cut-off batch response") from None

            self.call(send, what)  # the whole call: its own retries
            retry: dict[str, Any] = {}
            worst: Failure | None = None
            garbled = ""
            for rid, key in index.items():
                outcome = answered.get(rid)
                if not isinstance(outcome, HttpError | dict) and expects_json(pending[key]):
                    retry[key] = pending[key]
                    garbled = f"{_sketch(outcome)} instead of JSON"
                    continue
                if isinstance(outcome, HttpError):
                    f = failure(outcome)
                    if is_auth_failure(f):
                        raise AuthError(f"{AUTH_MESSAGE} ({f})")
                    if f.retryable:
                        retry[key] = pending[key]
                        if worst is None or (f.retry_after or 0) > (worst.retry_after or 0):
                            worst = f
                        continue
                results[key] = outcome
            if worst is not None or garbled:
                said = str(worst) if worst is not None else f"with {garbled}"
                if attempt >= self.max_attempts:
                    raise RemoteError(f"{what}: Google still answers {said} after {attempt} "
                                      "attempts")
                self._wait(what, attempt, f"{len(retry)} of {len(pending)} answered {said}",
                           worst.retry_after if worst is not None else None)
            pending = retry
        return results


def _network(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _read_page(request: Any, items: str) -> dict[str, Any]:
    return _page(request.execute(num_retries=0), items)


def _page(answer: Any, items: str) -> dict[str, Any]:
    """A listing page as the API promises it: its ``items`` a list, its tokens strings (the
    items themselves are checked one by one by the adapter: one bad record skips only itself)."""
    page = json_object(answer)
    for key, kind, name in ((items, list, "a list"), ("nextPageToken", str, "a string"),
                            ("nextSyncToken", str, "a string")):
        if page.get(key) is not None and not isinstance(page[key], kind):
            raise NotJson(f"a page whose {key} is not {name}")
    return page


def list_pages(retrier: Retrier, request: Callable[[str], Any], *, items: str, what: str,
               progress: Callable[[str], None], label: str
               ) -> tuple[list[dict[str, Any]], str]:
    """Every page of a synced listing: ``request(page_token)`` builds one page's request; the
    ``items`` of every page, and the sync token of the last (raising the HttpError of a refused
    page, :class:`RemoteError` when Google sends no sync token)."""
    found: list[dict[str, Any]] = []
    page_token = ""
    while True:
        page = retrier.call(partial(_read_page, request(page_token), items), what)
        found += page.get(items) or []
        page_token = page.get("nextPageToken") or ""
        if not page_token:
            break
        progress(f"{label}: {len(found)} so far")
    token = page.get("nextSyncToken")
    if not token:
        raise RemoteError(f"{what}: Google sent no sync token")
    return found, str(token)
