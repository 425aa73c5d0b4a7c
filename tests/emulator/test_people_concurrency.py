"""One user's People mutations run one at a time on Google ("Mutate requests for the same user
should be sent sequentially to avoid increased latency and failures"): through the real client, a
mutation that overlaps another for the same user answers 429 RESOURCE_EXHAUSTED, and so do all
but one of the mutating parts of one multipart batch (Google may run them in parallel)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from emukit import EmulatorControl, Google
from googleapiclient.errors import HttpError

from crmtui.emulator import Emulator


def _create(g: Google, name: str) -> dict:
    return g.people.people().createContact(personFields="names",
                                           body={"names": [{"givenName": name}]}).execute()


def _update(g: Google, person: dict, name: str) -> Any:
    return g.people.people().updateContact(
        resourceName=person["resourceName"], updatePersonFields="names", personFields="names",
        body={"etag": person["etag"], "names": [{"givenName": name}]})


def _in_background(request: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``request`` in a thread (made with a client of its own: the client library's
    connection is not thread-safe)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["answer"] = request.execute()
        except HttpError as err:
            outcome["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)  # the slow request is in progress now
    return thread, outcome


def _is_concurrent_429(err: object) -> bool:
    if not isinstance(err, HttpError) or err.status_code != 429:
        return False
    body = json.loads(err.content)["error"]
    return bool(body["status"] == "RESOURCE_EXHAUSTED"
                and body["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED")


def test_a_mutation_overlapping_another_for_the_same_user_is_429(
        emulator: Emulator, google_factory: Any) -> None:
    ann, bob = google_factory("ann@example.com"), google_factory("bob@example.com")
    person = _create(ann, "Slow")
    EmulatorControl(emulator).fault(r":updateContact$", method="PATCH", delay=1.5)
    thread, outcome = _in_background(_update(google_factory("ann@example.com"), person,
                                             "Slower"))
    with pytest.raises(HttpError) as exc:
        _create(ann, "Overlapping")
    assert _is_concurrent_429(exc.value)
    with pytest.raises(HttpError) as exc:
        ann.people.contactGroups().create(body={"contactGroup": {"name": "G"}}).execute()
    assert _is_concurrent_429(exc.value)
    assert _create(bob, "Another user")["names"][0]["givenName"] == "Another user"
    listed = ann.people.people().connections().list(resourceName="people/me",
                                                     personFields="names").execute()
    assert len(listed["connections"]) == 1  # reads are never refused for it
    thread.join()
    assert outcome["answer"]["names"][0]["givenName"] == "Slower"
    assert _create(ann, "After")["names"][0]["givenName"] == "After"  # sequential is fine


def test_mutating_parts_of_one_batch_overlap(google: Google) -> None:
    people = [_create(google, f"P{i}") for i in range(3)]
    results: dict[str, Any] = {}

    def callback(request_id: str, response: Any, exception: Any) -> None:
        results[request_id] = exception or response

    batch = google.people_batch(callback)
    for i, person in enumerate(people):
        batch.add(_update(google, person, f"Q{i}"), request_id=str(i))
        batch.add(google.people.people().get(resourceName=person["resourceName"],
                                             personFields="names"), request_id=f"get{i}")
    batch.execute()
    assert results["0"]["names"][0]["givenName"] == "Q0"
    assert _is_concurrent_429(results["1"]) and _is_concurrent_429(results["2"])
    assert all(results[f"get{i}"]["resourceName"] == people[i]["resourceName"] for i in range(3))
    names = {p["names"][0]["givenName"] for p in google.people.people().connections().list(
        resourceName="people/me", personFields="names").execute()["connections"]}
    assert names == {"Q0", "P1", "P2"}


def test_one_batch_update_call_is_one_mutation(google: Google) -> None:
    people = [_create(google, f"P{i}") for i in range(3)]
    answer = google.people.people().batchUpdateContacts(body={
        "contacts": {p["resourceName"]: {"etag": p["etag"], "names": [{"givenName": f"R{i}"}]}
                     for i, p in enumerate(people)},
        "updateMask": "names", "readMask": "names"}).execute()
    assert sorted(r["person"]["names"][0]["givenName"]
                  for r in answer["updateResult"].values()) == ["R0", "R1", "R2"]
    created = google.people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": {"names": [{"givenName": f"N{i}"}]}} for i in range(3)],
        "readMask": "names"}).execute()
    assert len(created["createdPeople"]) == 3


def test_a_batch_keeps_the_user_busy_for_a_plain_request(emulator: Emulator, google: Google,
                                                         google_factory: Any) -> None:
    person = _create(google, "P")
    EmulatorControl(emulator).fault(r":updateContact$", method="PATCH", delay=1.5)
    other = google_factory("ann@example.com")
    batch = other.people_batch()
    batch.add(_update(other, person, "Q"))
    thread, _ = _in_background(batch)
    with pytest.raises(HttpError) as exc:
        google.people.people().deleteContact(resourceName=person["resourceName"]).execute()
    assert _is_concurrent_429(exc.value)
    thread.join()
    google.people.people().deleteContact(resourceName=person["resourceName"]).execute()
