"""The emulator's wire behaviour shared by every API: auth, faults, quotas, batches, the log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError

from crmtui.emulator import Emulator, Response, Route
from crmtui.emulator.http import make_request


def _echo_route(emu: Emulator) -> None:
    """A test-only People-like route that echoes what the handler saw."""
    def echo(req):  # type: ignore[no-untyped-def]
        return Response(200, {"method": req.method, "path": req.path, "query": req.query,
                              "email": req.email, "body": req.body.decode()})
    for method in ("GET", "POST"):
        emu.routes.insert(0, Route(method, r"/v1/echo/(?P<rest>.+)", echo, api="people"))
        emu.routes.insert(0, Route(method, r"/calendar/v3/echo/(?P<rest>.+)", echo,
                                   api="calendar"))


def _call(emu: Emulator, method: str, path: str, *, token: str | None = None,
          body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(emu.base_url + path, data=body, method=method,
                                 headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_control_creates_accounts_with_credentials(emulator: Emulator) -> None:
    info = control(emulator, "POST", "/accounts", {"email": "Ann@Example.com"})
    assert info["email"] == "ann@example.com"
    assert info["token_uri"] == emulator.base_url + "/token"
    assert {"access_token", "refresh_token", "client_id", "client_secret"} <= set(info)
    again = control(emulator, "POST", "/accounts", {"email": "ann@example.com"})
    assert again["client_id"] == info["client_id"]
    assert control(emulator, "GET", "/accounts")["accounts"] == ["ann@example.com"]
    with pytest.raises(urllib.error.HTTPError) as err:
        control(emulator, "POST", "/accounts", {"email": "not an email"})
    assert err.value.code == 400


def test_missing_and_invalid_tokens_get_googles_401(emulator: Emulator, google: Google) -> None:
    _echo_route(emulator)
    status, body = _call(emulator, "GET", "/v1/echo/x")
    assert status == 401 and body["error"]["status"] == "UNAUTHENTICATED"
    assert "missing required authentication credential" in body["error"]["message"]
    status, body = _call(emulator, "GET", "/calendar/v3/echo/x", token="nope")
    assert status == 401
    assert body["error"]["errors"][0]["reason"] == "authError"
    status, body = _call(emulator, "GET", "/v1/echo/x", token=google.info["access_token"])
    assert status == 200 and body["email"] == "ann@example.com"


def test_expired_access_token_is_refused(emulator: Emulator, google: Google) -> None:
    _echo_route(emulator)
    control(emulator, "POST", "/clock", {"advance": 3601})
    status, _ = _call(emulator, "GET", "/v1/echo/x", token=google.info["access_token"])
    assert status == 401


def test_method_override_turns_a_form_post_into_a_get(emulator: Emulator, google: Google) -> None:
    _echo_route(emulator)
    status, body = _call(emulator, "POST", "/v1/echo/x", token=google.info["access_token"],
                         body=b"resourceNames=people%2Fc1&resourceNames=people%2Fc2",
                         headers={"X-HTTP-Method-Override": "GET",
                                  "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    assert body["method"] == "GET"
    assert body["query"]["resourceNames"] == ["people/c1", "people/c2"]


def test_paths_are_decoded_and_calendar_prefix_is_optional() -> None:
    req = make_request("GET", "/calendars/ann%40example.com/events?maxResults=5", {}, b"")
    assert req.path == "/calendar/v3/calendars/ann@example.com/events"
    assert req.query == {"maxResults": ["5"]}


def test_faults_answer_the_next_n_matching_requests(emulator: Emulator, google: Google) -> None:
    _echo_route(emulator)
    control(emulator, "POST", "/faults", {"method": "GET", "path": "^/v1/echo/", "count": 2,
                                          "status": 503})
    token = google.info["access_token"]
    assert _call(emulator, "GET", "/v1/echo/a", token=token)[0] == 503
    status, body = _call(emulator, "GET", "/v1/echo/b", token=token)
    assert status == 503 and body["error"]["status"] == "UNAVAILABLE"
    assert _call(emulator, "GET", "/v1/echo/c", token=token)[0] == 200
    assert control(emulator, "GET", "/faults")["faults"] == []


def test_dropped_connection_is_a_transport_error(emulator: Emulator, google: Google) -> None:
    _echo_route(emulator)
    control(emulator, "POST", "/faults", {"path": "^/v1/echo/", "drop": True})
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _call(emulator, "GET", "/v1/echo/a", token=google.info["access_token"])
    assert _call(emulator, "GET", "/v1/echo/a", token=google.info["access_token"])[0] == 200


def test_quota_per_user_per_minute(emulator: Emulator, google: Google,
                                   google_factory) -> None:  # type: ignore[no-untyped-def]
    _echo_route(emulator)
    control(emulator, "PUT", "/quotas/people", {"per_minute": 3, "status": 429})
    token = google.info["access_token"]
    assert [_call(emulator, "GET", "/v1/echo/q", token=token)[0] for _ in range(4)] == [
        200, 200, 200, 429]
    body = _call(emulator, "GET", "/v1/echo/q", token=token)[1]
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    bob = google_factory("bob@example.com")  # another user has a bucket of his own
    assert _call(emulator, "GET", "/v1/echo/q", token=bob.info["access_token"])[0] == 200
    control(emulator, "POST", "/clock", {"advance": 61})
    assert _call(emulator, "GET", "/v1/echo/q", token=token)[0] == 200


def test_client_library_retries_injected_5xx(emulator: Emulator, google: Google,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _echo_route(emulator)
    monkeypatch.setattr("googleapiclient.http.time.sleep", lambda s: None)

    def request():  # type: ignore[no-untyped-def]
        req = google.people.people().get(resourceName="people/c1", personFields="names")
        req.uri = emulator.base_url + "/v1/echo/retry"
        return req

    control(emulator, "POST", "/faults", {"method": "GET", "path": "echo", "count": 2,
                                          "status": 500})
    assert request().execute(num_retries=3)["path"] == "/v1/echo/retry"
    control(emulator, "POST", "/faults", {"method": "GET", "path": "echo", "count": 1,
                                          "status": 500})
    with pytest.raises(HttpError) as err:
        request().execute()
    assert err.value.status_code == 500
    control(emulator, "POST", "/faults", {"method": "GET", "path": "echo", "count": 1,
                                          "status": 403, "body": {"error": {
                                              "code": 403, "message": "Forbidden",
                                              "status": "PERMISSION_DENIED"}}})
    with pytest.raises(HttpError) as err:  # a People-style 403 is never retried
        request().execute(num_retries=3)
    assert err.value.status_code == 403


def test_request_log_counts(emulator: Emulator, google: Google) -> None:
    control(emulator, "DELETE", "/requests")
    _echo_route(emulator)
    _call(emulator, "GET", "/v1/echo/1", token=google.info["access_token"])
    _call(emulator, "GET", "/v1/nothing-here", token=google.info["access_token"])
    log = control(emulator, "GET", "/requests")
    assert log["counts"]["total"] == 2
    assert [r["status"] for r in log["requests"]] == [200, 404]
    assert log["counts"]["by_path"] == {"GET /v1/echo/1": 1, "GET /v1/nothing-here": 1}


def test_batch_parts_are_answered_in_googles_format(emulator: Emulator, google: Google) -> None:
    _echo_route(emulator)
    answers: dict[str, object] = {}

    def callback(request_id, response, exception):  # type: ignore[no-untyped-def]
        answers[request_id] = exception if exception is not None else response

    batch = google.people_batch(callback)
    req = google.people.people().get(resourceName="people/c1", personFields="names")
    req.uri = emulator.base_url + "/v1/echo/one?x=1"
    batch.add(req, request_id="first")
    missing = google.people.people().get(resourceName="people/c2", personFields="names")
    missing.uri = emulator.base_url + "/v1/nowhere"
    batch.add(missing, request_id="second")
    batch.execute()
    first = answers["first"]
    assert isinstance(first, dict) and first["path"] == "/v1/echo/one"
    assert first["email"] == "ann@example.com"
    second = answers["second"]
    assert isinstance(second, HttpError) and second.status_code == 404
    log = control(emulator, "GET", "/requests")
    assert log["counts"]["batch_parts"] == 2 and log["counts"]["http"] == 1


def test_malformed_batch_is_a_400(emulator: Emulator, google: Google) -> None:
    status, body = _call(emulator, "POST", "/batch", token=google.info["access_token"],
                         body=b"hello", headers={"Content-Type": "text/plain"})
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


def test_state_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "emu.json"
    with Emulator(state_file=state) as emu:
        info = emu.create_account("ann@example.com")
    assert state.exists() and oct(state.stat().st_mode & 0o777) == "0o600"
    with Emulator(state_file=state) as emu:
        assert "ann@example.com" in emu.state.accounts
        assert emu.state.token_owner(info["access_token"]) is not None


def test_concurrent_clients_lose_nothing(emulator: Emulator, google_factory) -> None:  # type: ignore[no-untyped-def]
    """Four clients, each with its own connection, create contacts at once: every one is kept,
    with a distinct resource name, and the log counts every request. (Google runs one user's
    mutations one at a time: an overlapping one answers 429, and the client sends it again.)"""
    import threading
    import time

    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError

    control(emulator, "DELETE", "/requests")
    ann = google_factory("ann@example.com")
    errors: list[BaseException] = []
    names: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        service = build("people", "v1", credentials=ann.creds, static_discovery=True,
                        client_options={"api_endpoint": emulator.base_url})
        try:
            for i in range(25):
                while True:
                    try:
                        person = service.people().createContact(
                            body={"names": [{"givenName": f"W{n}", "familyName": f"N{i}"}]},
                            personFields="names").execute()
                        break
                    except HttpError as err:
                        if err.resp.status != 429:
                            raise
                        time.sleep(0.001)
                with lock:
                    names.append(person["resourceName"])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(names) == len(set(names)) == 100
    listed = ann.people.people().connections().list(
        resourceName="people/me", personFields="names", pageSize=1000).execute()
    assert sorted(p["resourceName"] for p in listed["connections"]) == sorted(names)
    logged = control(emulator, "GET", "/requests")["requests"]
    assert len([r for r in logged if r["path"] == "/v1/people:createContact"
                and r["status"] == 200]) == 100
