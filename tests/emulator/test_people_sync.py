"""People API v1 ``connections.list`` through the real client: paging, sync tokens, tombstones."""

from __future__ import annotations

import base64
import json

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError

from crmtui.emulator import Emulator

ANN = "/accounts/ann@example.com"
EXPIRED = {"code": 400,
           "message": "Sync token is expired. Clear local cache and retry call without the sync "
                      "token.",
           "status": "FAILED_PRECONDITION",
           "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "EXPIRED_SYNC_TOKEN", "domain": "people.googleapis.com"}]}


def _make(g: Google, n: int) -> list[str]:
    names = []
    for start in range(0, n, 200):
        body = {"contacts": [{"contactPerson": {"names": [{"givenName": f"P{i}"}]}}
                             for i in range(start, min(n, start + 200))], "readMask": "names"}
        result = g.people.people().batchCreateContacts(body=body).execute()
        names += [r["person"]["resourceName"] for r in result["createdPeople"]]
    return names


def _list(g: Google, **kwargs: object) -> dict:
    kwargs.setdefault("personFields", "names,metadata")
    return g.people.people().connections().list(resourceName="people/me", **kwargs).execute()


def _full_sync(g: Google, page_size: int = 1000) -> tuple[list[dict], list[dict], str]:
    """(every person, every page, the sync token) of a full listing."""
    people, pages, token = [], [], None
    while True:
        page = _list(g, pageSize=page_size, requestSyncToken=True,
                     **({"pageToken": token} if token else {}))
        pages.append(page)
        people += page.get("connections", [])
        token = page.get("nextPageToken")
        if not token:
            return people, pages, page["nextSyncToken"]


def _error(exc: pytest.ExceptionInfo[HttpError]) -> dict:
    return json.loads(exc.value.content)["error"]


def test_full_listing_pages_then_sync_returns_changes_and_tombstones(google: Google) -> None:
    names = _make(google, 1201)
    people, pages, sync = _full_sync(google)
    assert [len(p["connections"]) for p in pages] == [1000, 201]
    assert sorted(p["resourceName"] for p in people) == sorted(names)
    google.people.people().deleteContact(resourceName=names[0]).execute()
    changed = google.people.people().get(resourceName=names[1], personFields="names").execute()
    google.people.people().updateContact(
        resourceName=names[1], updatePersonFields="names", personFields="names",
        body={"etag": changed["etag"], "names": [{"givenName": "Renamed"}]}).execute()
    new = google.people.people().createContact(personFields="names",
                                               body={"names": [{"givenName": "N"}]}).execute()
    delta = _list(google, syncToken=sync, requestSyncToken=True)
    got = {p["resourceName"]: p for p in delta["connections"]}
    assert set(got) == {names[0], names[1], new["resourceName"]}
    assert got[names[0]]["metadata"]["deleted"] is True
    assert "names" not in got[names[0]]
    assert got[names[1]]["names"][0]["givenName"] == "Renamed"
    assert "deleted" not in got[names[1]]["metadata"]
    assert "nextSyncToken" in delta


def test_sync_with_no_changes_is_just_a_token(google: Google) -> None:
    _make(google, 3)
    _, _, sync = _full_sync(google)
    delta = _list(google, syncToken=sync, requestSyncToken=True)
    assert set(delta) == {"nextSyncToken"}


def test_next_sync_token_only_on_last_page_and_only_when_asked(google: Google) -> None:
    _make(google, 5)
    _, pages, _ = _full_sync(google, page_size=2)
    assert len(pages) == 3
    assert all("nextSyncToken" not in p and "nextPageToken" in p for p in pages[:-1])
    assert "nextSyncToken" in pages[-1] and "nextPageToken" not in pages[-1]
    assert "nextSyncToken" not in _list(google)


def test_default_page_size_is_100_and_over_1000_is_400(google: Google) -> None:
    _make(google, 101)
    first = _list(google)
    assert len(first["connections"]) == 100 and first["totalItems"] == 101
    with pytest.raises(HttpError) as exc:
        _list(google, pageSize=1001)
    assert _error(exc)["status"] == "INVALID_ARGUMENT"


def test_changes_during_paging_wait_for_the_next_sync(google: Google) -> None:
    names = _make(google, 4)
    first = _list(google, pageSize=2, requestSyncToken=True)
    google.people.people().deleteContact(resourceName=names[3]).execute()
    rest = _list(google, pageSize=2, requestSyncToken=True, pageToken=first["nextPageToken"])
    assert [p["resourceName"] for p in rest["connections"]] == [names[2]]
    delta = _list(google, syncToken=rest["nextSyncToken"], requestSyncToken=True)
    assert [p["metadata"].get("deleted") for p in delta["connections"]] == [True]


def test_sync_token_expires_seven_days_after_the_full_sync(emulator: Emulator,
                                                           google: Google) -> None:
    """"Sync tokens expire 7 days after the full sync": a token issued by an incremental
    listing dies with the full sync that began its chain, however fresh it is."""
    _make(google, 1)
    _, _, sync = _full_sync(google)
    control(emulator, "POST", "/clock", {"advance": 7 * 86400 - 60})
    fresh = _list(google, syncToken=sync, requestSyncToken=True)["nextSyncToken"]
    control(emulator, "POST", "/clock", {"advance": 120})
    for token in (sync, fresh):
        with pytest.raises(HttpError) as exc:
            _list(google, syncToken=token, requestSyncToken=True)
        assert exc.value.status_code == 400 and _error(exc) == EXPIRED
    _, _, restarted = _full_sync(google)  # a new full sync begins a new chain
    control(emulator, "POST", "/clock", {"advance": 6 * 86400})
    assert "nextSyncToken" in _list(google, syncToken=restarted, requestSyncToken=True)


def test_invalidated_sync_token_is_expired(emulator: Emulator, google: Google) -> None:
    _, _, sync = _full_sync(google)
    control(emulator, "POST", "/sync-tokens/invalidate")
    with pytest.raises(HttpError) as exc:
        _list(google, syncToken=sync, requestSyncToken=True)
    assert _error(exc) == EXPIRED


def test_garbage_tokens_are_invalid_argument(google: Google) -> None:
    forged = base64.urlsafe_b64encode(b'{"k":"ps","u":"ann@example.com","s":"x"}').decode()
    for kwargs in ({"syncToken": "not-a-token"}, {"pageToken": "abc%2B%2F%3D"},
                   {"syncToken": forged}):
        with pytest.raises(HttpError) as exc:
            _list(google, **kwargs)
        assert _error(exc) == {"code": 400, "status": "INVALID_ARGUMENT",
                               "message": "Request contains an invalid argument."}


def test_token_with_other_person_fields_is_invalid_argument(google: Google) -> None:
    _, _, sync = _full_sync(google)
    with pytest.raises(HttpError) as exc:
        _list(google, personFields="names", syncToken=sync)
    assert _error(exc)["status"] == "INVALID_ARGUMENT"


def test_another_accounts_token_is_refused(google_factory) -> None:  # type: ignore[no-untyped-def]
    ann, bob = google_factory("ann@example.com"), google_factory("bob@example.com")
    _, _, sync = _full_sync(ann)
    with pytest.raises(HttpError) as exc:
        _list(bob, syncToken=sync)
    assert exc.value.status_code == 400


def test_gmail_changes_show_up_in_sync(emulator: Emulator, google: Google) -> None:
    kept, dropped = _make(google, 2)
    group = control(emulator, "POST", ANN + "/groups", {"name": "Clients"})
    _, _, sync = _full_sync(google)
    made = control(emulator, "POST", ANN + "/contacts",
                   {"names": [{"givenName": "Gmail"}], "memberships": [group["resourceName"]]})
    control(emulator, "POST", ANN + f"/groups/{group['resourceName']}/members",
            {"add": [kept]})
    control(emulator, "DELETE", ANN + f"/contacts/{dropped.split('/')[1]}")
    delta = _list(google, syncToken=sync, requestSyncToken=True,
                  personFields="names,metadata")
    got = {p["resourceName"]: p for p in delta["connections"]}
    assert set(got) == {made["resourceName"], kept, dropped}
    assert got[dropped]["metadata"]["deleted"] is True
    sync = delta["nextSyncToken"]
    control(emulator, "POST", ANN + f"/groups/{group['resourceName']}/members",
            {"remove": [kept]})
    delta = _list(google, syncToken=sync, requestSyncToken=True, personFields="names,metadata")
    assert [p["resourceName"] for p in delta["connections"]] == [kept]


def test_control_patch_merges_and_lists_tombstones(emulator: Emulator, google: Google) -> None:
    made = control(emulator, "POST", ANN + "/contacts",
                   {"names": [{"givenName": "A"}], "emailAddresses": [{"value": "a@x.com"}]})
    cid = made["resourceName"].split("/")[1]
    patched = control(emulator, "PATCH", ANN + f"/contacts/{cid}",
                      {"phoneNumbers": [{"value": "+1 555 0100"}]})
    assert patched["emailAddresses"][0]["value"] == "a@x.com"
    assert patched["phoneNumbers"][0]["value"] == "+1 555 0100"
    control(emulator, "DELETE", ANN + f"/contacts/{cid}")
    assert control(emulator, "GET", ANN + "/contacts")["contacts"] == []
    every = control(emulator, "GET", ANN + "/contacts?deleted=true")["contacts"]
    assert every[0]["metadata"]["deleted"] is True


def test_tombstone_without_metadata_mask_has_no_deleted_flag(google: Google) -> None:
    (name,) = _make(google, 1)
    sync = _list(google, personFields="names", requestSyncToken=True)["nextSyncToken"]
    google.people.people().deleteContact(resourceName=name).execute()
    delta = _list(google, syncToken=sync, personFields="names")
    assert delta["connections"] == [{"resourceName": name,
                                     "etag": delta["connections"][0]["etag"]}]



def test_sort_orders_page_consistently(google: Google) -> None:
    body = {"contacts": [{"contactPerson": {"names": [{"givenName": g, "familyName": f}]}}
                         for g, f in (("Cy", "Abel"), ("Al", "Zorn"), ("Bo", "Moss"))],
            "readMask": "names"}
    google.people.people().batchCreateContacts(body=body).execute()

    def order(sort: str) -> list[str]:
        first = _list(google, personFields="names", pageSize=2, sortOrder=sort)
        rest = _list(google, personFields="names", pageSize=2, sortOrder=sort,
                     pageToken=first["nextPageToken"])
        return [p["names"][0]["givenName"] for p in first["connections"] + rest["connections"]]

    assert order("FIRST_NAME_ASCENDING") == ["Al", "Bo", "Cy"]
    assert order("LAST_NAME_ASCENDING") == ["Cy", "Bo", "Al"]
    assert order("LAST_MODIFIED_DESCENDING") == ["Bo", "Al", "Cy"]


def test_deprecated_request_mask_is_accepted(google: Google) -> None:
    _make(google, 1)
    page = _list(google, personFields=None, requestMask_includeField="person.names")
    assert set(page["connections"][0]) == {"resourceName", "etag", "names"}


def test_interleaved_listings_page_as_they_would_alone(google: Google) -> None:
    """Pages of two listings (other orders, a sync-token listing) asked in turn give what each
    gives alone; an edit between two pages is seen as it is without the other listing."""
    names = _make(google, 7)
    _, _, token = _full_sync(google)
    google.people.people().updateContact(
        resourceName=names[5], updatePersonFields="names",
        body={"etag": _list(google, pageSize=1000)["connections"][5]["etag"],
              "names": [{"givenName": "Zed"}]}).execute()

    by_name = _list(google, pageSize=3, sortOrder="FIRST_NAME_ASCENDING")
    recent = _list(google, pageSize=3, sortOrder="LAST_MODIFIED_DESCENDING")
    delta = _list(google, syncToken=token, requestSyncToken=True, pageSize=3)
    by_name_2 = _list(google, pageSize=3, sortOrder="FIRST_NAME_ASCENDING",
                      pageToken=by_name["nextPageToken"])
    google.people.people().deleteContact(resourceName=names[0]).execute()
    recent_2 = _list(google, pageSize=3, sortOrder="LAST_MODIFIED_DESCENDING",
                     pageToken=recent["nextPageToken"])
    by_name_3 = _list(google, pageSize=3, sortOrder="FIRST_NAME_ASCENDING",
                      pageToken=by_name_2["nextPageToken"])

    def given(*found: dict) -> list[str]:
        return [p["names"][0]["givenName"] for page in found for p in page.get("connections", [])]

    assert given(by_name, by_name_2) == ["P0", "P1", "P2", "P3", "P4", "P6"]
    assert given(by_name_3) == ["Zed"] and "nextPageToken" not in by_name_3
    assert given(recent) == ["Zed", "P6", "P4"]
    # P0 was deleted after the listing began: its later pages no longer show it
    assert given(recent_2) == ["P3", "P2", "P1"] and "nextPageToken" not in recent_2
    assert given(delta) == ["Zed"] and by_name["totalItems"] == recent["totalItems"] == 7
