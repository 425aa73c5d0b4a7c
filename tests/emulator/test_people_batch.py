"""People API v1 batch methods and Google's multipart ``/batch`` through the real client."""

from __future__ import annotations

import json

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError

from crmtui.emulator import Emulator


def _error(exc: pytest.ExceptionInfo[HttpError]) -> dict:
    return json.loads(exc.value.content)["error"]


def _create_many(g: Google, n: int, read_mask: str = "names,clientData,metadata") -> dict:
    body = {"contacts": [{"contactPerson": {"names": [{"givenName": f"P{i}"}],
                                            "clientData": [{"key": "id", "value": str(i)}]}}
                         for i in range(n)], "readMask": read_mask}
    return g.people.people().batchCreateContacts(body=body).execute()


def test_batch_create_answers_created_people(google: Google) -> None:
    result = _create_many(google, 200)
    created = result["createdPeople"]
    assert len(created) == 200
    assert created[5]["person"]["clientData"][0]["value"] == "5"
    assert created[5]["requestedResourceName"] == created[5]["person"]["resourceName"]
    assert created[5]["httpStatusCode"] == 200


def test_batch_create_over_200_is_400(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        _create_many(google, 201)
    assert _error(exc)["status"] == "INVALID_ARGUMENT"
    listed = google.people.people().connections().list(resourceName="people/me",
                                                       personFields="names").execute()
    assert "connections" not in listed


def test_batch_create_with_empty_read_mask_returns_no_data(google: Google) -> None:
    assert _create_many(google, 2, read_mask="") == {}


def test_batch_update_replaces_masked_fields(google: Google) -> None:
    created = [c["person"] for c in _create_many(google, 3)["createdPeople"]]
    body = {"contacts": {p["resourceName"]: {"etag": p["etag"],
                                             "names": [{"givenName": "New" + str(i)}]}
                         for i, p in enumerate(created)},
            "updateMask": "names", "readMask": "names,clientData"}
    result = google.people.people().batchUpdateContacts(body=body).execute()["updateResult"]
    first = result[created[0]["resourceName"]]["person"]
    assert first["names"][0]["givenName"] == "New0"
    assert first["clientData"][0]["value"] == "0"


def test_batch_update_with_a_stale_etag_fails_as_a_whole(google: Google) -> None:
    a, b = (c["person"] for c in _create_many(google, 2)["createdPeople"])
    body = {"contacts": {a["resourceName"]: {"etag": a["etag"], "names": [{"givenName": "X"}]},
                         b["resourceName"]: {"etag": "%AAAA", "names": [{"givenName": "Y"}]}},
            "updateMask": "names", "readMask": "names"}
    with pytest.raises(HttpError) as exc:
        google.people.people().batchUpdateContacts(body=body).execute()
    assert _error(exc)["status"] == "FAILED_PRECONDITION"
    again = google.people.people().get(resourceName=a["resourceName"],
                                       personFields="names").execute()
    assert again["names"][0]["givenName"] == "P0"


def test_batch_delete_up_to_500(google: Google) -> None:
    names = [c["person"]["resourceName"] for _ in range(3)
             for c in _create_many(google, 200)["createdPeople"]]
    assert google.people.people().batchDeleteContacts(
        body={"resourceNames": names[:500]}).execute() == {}
    listed = google.people.people().connections().list(resourceName="people/me",
                                                       personFields="names").execute()
    assert listed["totalItems"] == 100
    with pytest.raises(HttpError) as exc:
        google.people.people().batchDeleteContacts(
            body={"resourceNames": names[:501]}).execute()
    assert exc.value.status_code == 400


def test_get_batch_get_with_200_names_uses_method_override(emulator: Emulator,
                                                            google: Google) -> None:
    names = [c["person"]["resourceName"] for c in _create_many(google, 199)["createdPeople"]]
    names.append("people/c1234")
    control(emulator, "DELETE", "/requests")
    result = google.people.people().getBatchGet(resourceNames=names,
                                                personFields="names").execute()
    responses = result["responses"]
    assert [r["requestedResourceName"] for r in responses] == names
    assert responses[0]["person"]["names"][0]["givenName"] == "P0"
    assert responses[-1] == {"requestedResourceName": "people/c1234", "httpStatusCode": 404,
                             "status": {"code": 5, "message": "Requested entity was not found."}}
    log = control(emulator, "GET", "/requests")["requests"]
    assert [(r["method"], r["path"]) for r in log] == [("GET", "/v1/people:batchGet")]
    assert len(log[0]["query"]) > 2048  # the client sent it as a POST with the query as body
    with pytest.raises(HttpError) as exc:
        google.people.people().getBatchGet(resourceNames=names + ["people/c1"],
                                           personFields="names").execute()
    assert exc.value.status_code == 400


def test_people_methods_inside_a_multipart_batch(emulator: Emulator, google: Google) -> None:
    """Each mutation in a batch of its own (mutations in one batch overlap: see
    test_people_concurrency), with a read that fails alongside it."""
    existing = _create_many(google, 2)["createdPeople"]
    results: dict[str, object] = {}

    def callback(request_id: str, response: object, exception: object) -> None:
        results[request_id] = exception or response

    people = google.people.people()
    first = existing[0]["person"]
    mutations = {
        "c": people.createContact(personFields="names",
                                  body={"names": [{"givenName": "Batched"}]}),
        "bc": people.batchCreateContacts(body={"contacts": [
            {"contactPerson": {"names": [{"givenName": "Inner"}]}}], "readMask": "names"}),
        "bu": people.batchUpdateContacts(body={
            "contacts": {first["resourceName"]: {"etag": first["etag"],
                                                 "names": [{"givenName": "Upd"}]}},
            "updateMask": "names", "readMask": "names"}),
        "bd": people.batchDeleteContacts(
            body={"resourceNames": [existing[1]["person"]["resourceName"]]}),
    }
    for request_id, request in mutations.items():
        batch = google.people_batch(callback)
        batch.add(request, request_id=request_id)
        batch.add(people.get(resourceName="people/c99", personFields="names"),
                  request_id="missing")
        batch.execute()
        missing = results.pop("missing")
        assert isinstance(missing, HttpError) and missing.status_code == 404
    assert results["c"]["names"][0]["givenName"] == "Batched"  # type: ignore[index]
    assert results["bc"]["createdPeople"][0]["person"]["names"][0]["givenName"] == "Inner"  # type: ignore[index]
    assert results["bu"]["updateResult"][first["resourceName"]]["person"]["names"][0][  # type: ignore[index]
        "givenName"] == "Upd"
    assert results["bd"] == {}
    counts = control(emulator, "GET", "/requests")["counts"]
    assert counts["by_path"]["POST /batch"] == 4


def test_quota_429_is_retried_by_the_client(emulator: Emulator, google: Google,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # the client backs off; the quota's minute passes
        sleeps.append(seconds)
        control(emulator, "POST", "/clock", {"advance": 61})

    monkeypatch.setattr("googleapiclient.http.time.sleep", sleep)
    p = google.people.people().createContact(personFields="names",
                                             body={"names": [{"givenName": "Q"}]}).execute()
    control(emulator, "PUT", "/quotas/people", {"per_minute": 1, "status": 429})
    get = google.people.people().get(resourceName=p["resourceName"], personFields="names")
    get.execute()
    with pytest.raises(HttpError) as exc:
        get.execute()
    assert exc.value.status_code == 429 and _error(exc)["status"] == "RESOURCE_EXHAUSTED"
    assert get.execute(num_retries=3)["names"][0]["givenName"] == "Q"
    assert len(sleeps) == 1
