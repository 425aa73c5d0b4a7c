"""People propagation lag through the real client: ``connections.list`` shows each contact as it
was N seconds ago (Google: "Writes may have a propagation delay of several minutes for sync
requests"), a change that shows later comes in a later incremental listing, and ``people.get`` /
``getBatchGet`` are not lagged."""

from __future__ import annotations

import json

import pytest
from emukit import EmulatorControl, Google

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import call_json

ANN = "ann@example.com"
FIELDS = "names,metadata,memberships"


def _list(g: Google, **kwargs: object) -> dict:
    kwargs.setdefault("personFields", FIELDS)
    return g.people.people().connections().list(resourceName="people/me", requestSyncToken=True,
                                                **kwargs).execute()


def _full(g: Google, page_size: int = 100) -> tuple[dict[str, dict], str]:
    """Every person of a full listing by resource name, and its sync token."""
    people: dict[str, dict] = {}
    token = None
    while True:
        page = _list(g, pageSize=page_size, **({"pageToken": token} if token else {}))
        people.update({p["resourceName"]: p for p in page.get("connections", [])})
        token = page.get("nextPageToken")
        if not token:
            return people, page["nextSyncToken"]


def _changes(g: Google, sync: str) -> tuple[dict[str, dict], str]:
    page = _list(g, syncToken=sync)
    assert "nextPageToken" not in page
    return {p["resourceName"]: p for p in page.get("connections", [])}, page["nextSyncToken"]


def _create(g: Google, name: str) -> dict:
    return g.people.people().createContact(personFields=FIELDS,
                                           body={"names": [{"givenName": name}]}).execute()


def _rename(g: Google, person: dict, name: str) -> dict:
    return g.people.people().updateContact(
        resourceName=person["resourceName"], updatePersonFields="names", personFields=FIELDS,
        body={"etag": person["etag"], "names": [{"givenName": name}]}).execute()


def _given(person: dict) -> str:
    return person["names"][0]["givenName"]


@pytest.fixture
def ctl(emulator: Emulator) -> EmulatorControl:
    return EmulatorControl(emulator)


def test_the_lag_is_off_by_default_and_set_per_account(ctl: EmulatorControl,
                                                       google: Google) -> None:
    assert ctl.lag(ANN) == 0
    ctl.set_lag(ANN, 120)
    assert ctl.lag(ANN) == 120
    ctl.create_account("bob@example.com")
    assert ctl.lag("bob@example.com") == 0
    url = f"{ctl.base_url}/__emulator/accounts/{ANN}/lag"
    for bad in ({"people_seconds": -1}, {"people_seconds": "60"}, {"people_seconds": True}, {}):
        with pytest.raises(Exception, match="400"):
            call_json(url, "PUT", bad)
    with pytest.raises(Exception, match="404"):
        call_json(f"{ctl.base_url}/__emulator/accounts/nobody@example.com/lag", "GET")
    ctl.set_lag(ANN, 0)
    assert ctl.lag(ANN) == 0


def test_a_new_contact_shows_after_the_lag_and_comes_in_a_token_issued_before(
        ctl: EmulatorControl, google: Google) -> None:
    ctl.set_lag(ANN, 60)
    _, before = _full(google)
    made = _create(google, "Newton")
    people, during = _full(google)
    assert people == {}
    assert _changes(google, before)[0] == {}
    got = google.people.people().get(resourceName=made["resourceName"],
                                     personFields="names").execute()
    assert _given(got) == "Newton"  # people.get is not lagged
    ctl.advance_clock(30)
    assert _changes(google, before)[0] == {}
    ctl.advance_clock(31)
    for token in (before, during):  # nothing is skipped for good
        changes, _ = _changes(google, token)
        assert list(changes) == [made["resourceName"]] and changes[made["resourceName"]] == made
    assert list(_full(google)[0]) == [made["resourceName"]]


def test_an_update_is_listed_in_its_previous_version_until_the_lag_passes(
        ctl: EmulatorControl, google: Google) -> None:
    person = _create(google, "Old")
    group = google.people.contactGroups().create(body={"contactGroup": {"name": "CRM"}}).execute()
    ctl.set_lag(ANN, 300)
    _, sync = _full(google)
    google.people.contactGroups().members().modify(
        resourceName=group["resourceName"],
        body={"resourceNamesToAdd": [person["resourceName"]]}).execute()
    ctl.advance_clock(100)
    current = google.people.people().get(resourceName=person["resourceName"],
                                         personFields=FIELDS).execute()
    updated = _rename(google, current, "New")
    ctl.advance_clock(100)
    people, during = _full(google)
    assert people[person["resourceName"]] == person  # previous etag, fields, memberships
    assert _changes(google, sync)[0] == {}
    batch = google.people.people().getBatchGet(resourceNames=[person["resourceName"]],
                                               personFields=FIELDS).execute()
    assert batch["responses"][0]["person"] == updated  # getBatchGet is not lagged
    ctl.advance_clock(150)  # the membership change (100 s older) shows, the rename not yet
    changes, _ = _changes(google, during)
    shown = changes[person["resourceName"]]
    assert _given(shown) == "Old" and shown["etag"] not in (person["etag"], updated["etag"])
    assert group["resourceName"] in [m["contactGroupMembership"]["contactGroupResourceName"]
                                     for m in shown["memberships"]]
    ctl.advance_clock(60)
    for token in (sync, during):
        changes, _ = _changes(google, token)
        assert changes == {person["resourceName"]: updated}
    assert _full(google)[0][person["resourceName"]] == updated


def test_a_deleted_contact_is_still_listed_then_comes_as_a_tombstone(
        ctl: EmulatorControl, google: Google) -> None:
    person = _create(google, "Gone")
    ctl.set_lag(ANN, 60)
    _, sync = _full(google)
    google.people.people().deleteContact(resourceName=person["resourceName"]).execute()
    people, during = _full(google)
    assert people == {person["resourceName"]: person}
    assert _changes(google, sync)[0] == {}
    ctl.advance_clock(61)
    for token in (sync, during):
        changes, _ = _changes(google, token)
        assert changes[person["resourceName"]]["metadata"]["deleted"] is True
    assert _full(google)[0] == {}


def test_gmail_changes_lag_too_and_pages_show_one_moment(ctl: EmulatorControl,
                                                         google: Google) -> None:
    made = [_create(google, f"P{i}") for i in range(5)]
    ctl.set_lag(ANN, 60)
    first = _list(google, pageSize=2)
    ctl.patch_contact(ANN, made[4]["resourceName"], {"names": [{"givenName": "Renamed"}]})
    ctl.create_contact(ANN, {"names": [{"givenName": "Added in Gmail"}]})
    ctl.advance_clock(61)  # the changes are visible now, but the open listing goes on as it began
    people = {p["resourceName"]: p for p in first["connections"]}
    token = first["nextPageToken"]
    while token:
        page = _list(google, pageSize=2, pageToken=token)
        people.update({p["resourceName"]: p for p in page["connections"]})
        token = page.get("nextPageToken")
    assert people == {p["resourceName"]: p for p in made}
    changes, _ = _changes(google, page["nextSyncToken"])
    assert sorted(_given(p) for p in changes.values()) == ["Added in Gmail", "Renamed"]


def test_versions_are_kept_only_while_the_lag_needs_them(emulator: Emulator, ctl: EmulatorControl,
                                                         google: Google) -> None:
    person = _create(google, "V0")
    ctl.set_lag(ANN, 60)
    for i in range(1, 4):
        person = _rename(google, person, f"V{i}")
    data = emulator.people._contacts(emulator.state.accounts[ANN])
    assert [len(r["versions"]) for r in data.values()] == [4]
    ctl.advance_clock(60 + 3600 + 1)
    _full(google)
    assert [len(r["versions"]) for r in data.values()] == [1]
    ctl.set_lag(ANN, 0)
    assert all("versions" not in r for r in data.values())
    assert _given(next(iter(_full(google)[0].values()))) == "V3"
    json.dumps(emulator.state.dump(emulator.modules))  # --state still round-trips it


def test_turning_the_lag_off_delivers_what_was_hidden(ctl: EmulatorControl,
                                                      google: Google) -> None:
    ctl.set_lag(ANN, 600)
    _, sync = _full(google)
    made = _create(google, "Hidden")
    _, during = _full(google)
    ctl.set_lag(ANN, 0)
    for token in (sync, during):
        assert list(_changes(google, token)[0]) == [made["resourceName"]]
