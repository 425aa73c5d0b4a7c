"""The emulator's HTTP server: routing, authentication, faults, quotas, batches, the request log.

One :class:`Emulator` serves People v1 at ``/v1/...`` and ``/batch``, Calendar v3 at
``/calendar/v3/...`` (the prefix-less form is accepted too) and ``/batch/calendar/v3``, OAuth at
``/o/oauth2/auth`` and ``/token``, and its own control API under ``/__emulator/``. The API modules
(:mod:`.people`, :mod:`.calendar`, :mod:`.oauth`, :mod:`.control`) contribute :class:`Route` s
(the request, response and route types live in :mod:`.http`, which they share; they never import
this module nor each other); this module owns the wire: request parsing (including ``X-HTTP-Method-Override``), bearer tokens,
injected faults, per-user quotas, Google's multipart batch format and the log of requests.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crmtui.emulator import calendar, control, oauth, people
from crmtui.emulator.control_client import EmulatorControl, call_json
from crmtui.emulator.errors import (
    ApiError,
    calendar_error,
    concurrent_mutation,
    default_error,
    insufficient_scopes,
    not_found,
    people_error,
    rate_limited,
    unauthenticated,
)
from crmtui.emulator.http import (
    JSON_TYPE,
    Handler,
    Request,
    Response,
    Route,
    make_request,
    normalize_path,
)
from crmtui.emulator.state import EmulatorState, LoggedRequest

# Defined in .http and .control_client; importable from here as before.
__all__ = ["JSON_TYPE", "MAX_BATCH_PARTS", "Emulator", "Handler", "Request", "Response", "Route",
           "call_json", "make_request", "normalize_path", "running_emulator"]

MAX_BATCH_PARTS = 1000


class Emulator:
    """A loopback Google People v1 + Calendar v3 + OAuth server."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 state_file: str | os.PathLike[str] | None = None,
                 token_lifetime: float = 3600, enforce_scopes: bool = True,
                 quiet: bool = True) -> None:
        self.host, self.port = host, port
        self.quiet = quiet
        self.state = EmulatorState(token_lifetime=token_lifetime, enforce_scopes=enforce_scopes)
        self.people = people.PeopleApi(self.state)
        self.calendar = calendar.CalendarApi(self.state)
        self.modules: list[Any] = [self.people, self.calendar]
        self.routes: list[Route] = []
        for module in (self.people, self.calendar):
            self.routes += module.routes()
        self.routes += oauth.routes(self)
        self.routes += control.routes(self)
        self.state_file = Path(state_file) if state_file else None
        if self.state_file and self.state_file.exists():
            self.load_state()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self._mutating: set[str] = set()  # users with a People mutation in progress

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{int(port)}"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    def start(self) -> str:
        handler = type("BoundHandler", (_HTTPHandler,), {"emulator": self})
        self._server = _Server((self.host, self.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="crmtui-emulator", daemon=True)
        self._thread.start()
        if self.state_file:
            self._saver = threading.Thread(target=self._autosave, name="crmtui-emulator-save",
                                           daemon=True)
            self._saver.start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.state_file:
            self.save_state()
        self._server = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- accounts (also used by the control API and the demo) --------------------------------------

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call this emulator's control API over HTTP (``path`` is below ``/__emulator``)."""
        return EmulatorControl(self).call(method, path, body)

    def create_account(self, email: str) -> dict[str, Any]:
        """Create (or find) an account and return fresh credentials for it."""
        with self.state.lock:
            account = self.state.add_account(email, self.modules)
            return self.state.credentials_for(account.email, self.token_uri)

    # -- persistence -------------------------------------------------------------------------

    def save_state(self) -> None:
        if not self.state_file:
            return
        with self.state.lock:
            data = json.dumps(self.state.dump(self.modules), ensure_ascii=False).encode()
            self.state.dirty = False
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.state_file)

    def load_state(self) -> None:
        assert self.state_file is not None
        try:
            data = json.loads(self.state_file.read_bytes())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read the emulator state {self.state_file}: {exc}") from exc
        with self.state.lock:
            self.state.load(data, self.modules)

    def _autosave(self) -> None:
        while not self._stopping.wait(2.0):
            if self.state.dirty:
                try:
                    self.save_state()
                except OSError as exc:  # keep serving; say why the file is not written
                    print(f"crmtui emulator: cannot save state: {exc}", file=sys.stderr)

    # -- dispatch ------------------------------------------------------------------------------

    def dispatch(self, req: Request, held: list[str] | None = None) -> Response:
        """Answer one batch part: its own faults (a dropped part answers 503), auth, quota.
        The users it starts a mutation for go to ``held`` (released when the batch ends)."""
        with self.state.lock:
            fault = self.state.take_fault(req.method, req.path)
        if fault is not None and fault.drop and fault.status is None:
            fault = replace(fault, status=503)  # a part cannot drop its connection
        return self.respond(req, fault, held)

    def respond(self, req: Request, fault: Any, held: list[str] | None = None) -> Response:
        """Answer one request, given the fault (if any) already taken for it.

        Google runs one user's People mutations one at a time ("Mutate requests for the same
        user should be sent sequentially"): a mutation that starts while another one for the
        same user is in progress (from the time it is received until it is answered, an
        injected delay included) answers 429. ``held`` collects the users this request keeps
        busy beyond its own answer (the parts of one batch overlap each other)."""
        with self.state.lock:
            user = self._mutation_user(req)
            busy = user is not None and user in self._mutating
            if user is not None and not busy:
                self._mutating.add(user)
            else:
                user = None
        try:
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            with self.state.lock:
                response = self._answer(req, fault, busy=busy)
                self.state.log(LoggedRequest(req.method, req.path, _query_text(req.query),
                                             response.status, req.api, req.email, req.batch,
                                             self.state.clock.time()))
        finally:
            if user is not None:
                if held is not None:
                    held.append(user)
                else:
                    self.release(user)
        return response

    def release(self, *users: str) -> None:
        """End the mutations in progress of ``users``."""
        with self.state.lock:
            self._mutating.difference_update(users)

    def _mutation_user(self, req: Request) -> str | None:
        """The user a People mutation (any People method but a GET) is for, when its access
        token is good; None for anything else."""
        route, _, _ = self._match(req)
        if route is None or route.api != "people" or req.method == "GET":
            return None
        live = self.state.token_owner(_bearer(req))
        return live.email if live is not None else None

    def _answer(self, req: Request, fault: Any, *, busy: bool = False) -> Response:
        route, params, allowed = self._match(req)
        req.api = route.api if route else _api_of(req.path)
        try:
            if route is None:
                if allowed:
                    raise _method_not_allowed(req.api)
                raise not_found(req.api)
            req.params = params
            if route.auth:
                self._authenticate(req, route)
            if fault is not None and fault.status is not None:
                if fault.body is None:
                    raise _with_headers(default_error(req.api, fault.status), fault.headers)
                raise ApiError(fault.status, fault.body, fault.headers)
            if busy:
                raise concurrent_mutation()
            if route.auth and req.account is not None:
                quota = self.state.over_quota(req.api, req.account.email)
                if quota is not None:
                    raise rate_limited(req.api, quota.status)
            result = route.handler(req)
        except ApiError as err:
            return Response(err.status, err.body, dict(err.headers))
        except Exception:  # a bug in the emulator: say so, never hang
            traceback.print_exc()
            return Response(500, default_error(req.api, 500).body)
        if isinstance(result, Response):
            return result
        return Response(200, result if result is not None else {})

    def _match(self, req: Request) -> tuple[Route | None, dict[str, str], bool]:
        allowed = False
        for route in self.routes:
            m = route.regex.fullmatch(req.path)
            if m is None:
                continue
            if route.method == req.method:
                return route, {k: v for k, v in m.groupdict().items() if v is not None}, True
            allowed = True
        return None, {}, allowed

    def _authenticate(self, req: Request, route: Route) -> None:
        token = _bearer(req)
        if not token:
            raise unauthenticated(route.api, missing=True)
        live = self.state.token_owner(token)
        if live is None or live.email not in self.state.accounts:
            raise unauthenticated(route.api, missing=False)
        if self.state.enforce_scopes and route.scopes and not set(route.scopes) & set(live.scopes):
            raise insufficient_scopes(route.api)
        req.account = self.state.accounts[live.email]
        req.scopes = live.scopes

    # -- batches ---------------------------------------------------------------------------------

    def batch(self, outer: Request, api: str) -> Response:
        """Google's multipart/mixed batch: every part dispatched as its own request."""
        content_type = outer.headers.get("content-type", "")
        m = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.startswith("multipart/mixed") or m is None:
            return _batch_error(api, "Invalid batch request: multipart/mixed with a boundary "
                                "is required.")
        try:
            parts = _split_multipart(outer.body, m.group(1))
        except ValueError as exc:
            return _batch_error(api, f"Invalid batch request: {exc}.")
        if len(parts) > MAX_BATCH_PARTS:
            return _batch_error(api, f"A batch may hold at most {MAX_BATCH_PARTS} requests; "
                                f"this one holds {len(parts)}.")
        boundary = "batch_" + secrets.token_hex(12)
        out = [b"\r\n"]
        held: list[str] = []  # Google may run the parts in parallel: they overlap
        try:
            self._batch_parts(outer, api, parts, boundary, out, held)
        finally:
            self.release(*held)
        out.append(f"--{boundary}--\r\n".encode())
        return Response(200, b"".join(out),
                        {"Content-Type": f"multipart/mixed; boundary={boundary}"})

    def _batch_parts(self, outer: Request, api: str, parts: list[tuple[str, bytes]],
                     boundary: str, out: list[bytes], held: list[str]) -> None:
        for content_id, raw in parts:
            try:
                inner = _parse_inner(raw, outer)
            except ValueError as exc:
                err = (calendar_error(400, "badRequest", f"Invalid inner request: {exc}")
                       if api == "calendar" else
                       people_error(400, f"Invalid inner request: {exc}"))
                response = Response(400, err.body)
            else:
                inner.batch = "part"
                inner.base_url = outer.base_url
                response = self.dispatch(inner, held)
            body, headers = response.encode()
            reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus.__members__.values() else ""
            head = [f"HTTP/1.1 {response.status} {reason}"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            head.append(f"Content-Length: {len(body)}")
            rid = content_id[1:-1] if content_id.startswith("<") else content_id
            out.append(f"--{boundary}\r\nContent-Type: application/http\r\n"
                       f"Content-ID: <response-{rid}>\r\n\r\n".encode())
            out.append("\r\n".join(head).encode() + b"\r\n\r\n" + body + b"\r\n")


def _with_headers(err: ApiError, headers: dict[str, str]) -> ApiError:
    err.headers.update(headers)
    return err


def _bearer(req: Request) -> str:
    """The access token a request carries (``Authorization: Bearer`` or ``access_token``)."""
    header = req.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return req.arg("access_token") or ""


def _method_not_allowed(api: str) -> ApiError:
    if api == "calendar":
        return calendar_error(405, "httpMethodNotAllowed", "HTTP method not allowed")
    return people_error(404, "Requested entity was not found.")


def _batch_error(api: str, message: str) -> Response:
    err = (calendar_error(400, "badRequest", message) if api == "calendar"
           else people_error(400, message))
    return Response(400, err.body)


def _api_of(path: str) -> str:
    if path.startswith("/calendar/v3/") or path.startswith("/batch/calendar"):
        return "calendar"
    if path.startswith("/v1/") or path == "/batch":
        return "people"
    if path.startswith("/__emulator/"):
        return "control"
    return "oauth"


def _query_text(query: dict[str, list[str]]) -> str:
    return "&".join(f"{k}={v}" for k, vs in query.items() for v in vs)


def _split_multipart(body: bytes, boundary: str) -> list[tuple[str, bytes]]:
    """The parts of a multipart body as (Content-ID, payload) pairs."""
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    if len(chunks) < 2:
        raise ValueError("no parts")
    parts: list[tuple[str, bytes]] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, payload = _split_head(chunk)
        headers = _parse_headers(head)
        if chunk.strip() == b"":
            continue
        parts.append((headers.get("content-id", ""), payload))
    return parts


def _split_head(chunk: bytes) -> tuple[bytes, bytes]:
    crlf = chunk.find(b"\r\n\r\n")
    lf = chunk.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        return chunk[:crlf], chunk[crlf + 4:]
    if lf != -1:
        return chunk[:lf], chunk[lf + 2:]
    return chunk, b""


def _parse_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers


def _parse_inner(raw: bytes, outer: Request) -> Request:
    """The HTTP request inside a batch part (``METHOD /path HTTP/1.1``, headers, body)."""
    head, body = _split_head(raw)
    lines = head.decode("utf-8", "replace").splitlines()
    if not lines:
        raise ValueError("empty part")
    request_line = lines[0].split()
    if len(request_line) < 2:
        raise ValueError(f"bad request line {lines[0]!r}")
    method, target = request_line[0].upper(), request_line[1]
    if target.startswith("http://") or target.startswith("https://"):
        split = urlsplit(target)
        target = split.path + ("?" + split.query if split.query else "")
    headers = _parse_headers("\n".join(lines[1:]).encode())
    if "authorization" not in headers and "authorization" in outer.headers:
        headers["authorization"] = outer.headers["authorization"]
    body = body.rstrip(b"\r\n") if body.strip() else b""
    length = headers.get("content-length")
    if length and length.isdigit():
        body = body[: int(length)]
    return make_request(method, target, headers, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _HTTPHandler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stall
    server_version = "crmtui-emulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if not self.emulator.quiet:
            super().log_message(format, *args)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = make_request(self.command, self.path, headers, body)
        req.base_url = self.emulator.base_url
        emu = self.emulator
        if req.path in ("/batch", "/batch/calendar/v3") and req.method == "POST":
            api = "calendar" if req.path.endswith("calendar/v3") else "people"
            req.api = api
            with emu.state.lock:
                fault = emu.state.take_fault(req.method, req.path)
            if fault is not None and fault.drop:
                self._drop()
                return
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            if fault is not None and fault.status is not None:
                err = default_error(api, fault.status) if fault.body is None else ApiError(
                    fault.status, fault.body)
                response = Response(err.status, err.body, dict(fault.headers))
            else:
                req.batch = "outer"
                response = emu.batch(req, api)
            with emu.state.lock:
                emu.state.log(LoggedRequest(req.method, req.path, "", response.status, api,
                                            "", "outer", emu.state.clock.time()))
        else:
            with emu.state.lock:
                fault = emu.state.take_fault(req.method, req.path)
            if fault is not None and fault.drop:
                self._drop()
                return
            response = emu.respond(req, fault)
        self._send(response)

    def _drop(self) -> None:
        """Close the connection without an answer (a network failure)."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        body, headers = response.encode()
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def running_emulator(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Iterator[Emulator]:
    """Run an emulator in this process for the duration of the block."""
    emulator = Emulator(host, port, **kwargs)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
