"""Calendar events.list: full and incremental sync, paging, filters, ordering, their errors."""

from __future__ import annotations

from typing import Any

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError
from test_calendar_events import all_day, error_of, insert, timed

from crmtui.emulator import Emulator


def listing(g: Google, **params: Any) -> dict[str, Any]:
    return g.calendar.events().list(calendarId="primary", **params).execute()


def every_page(g: Google, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All items of a listing and each page's response."""
    pages, items, token = [], [], None
    while True:
        page = listing(g, **params, **({"pageToken": token} if token else {}))
        pages.append(page)
        items += page["items"]
        token = page.get("nextPageToken")
        if not token:
            return items, pages


def test_full_list_then_sync_returns_only_changes_and_tombstones(google: Google) -> None:
    kept = insert(google, timed("Kept"))
    changed = insert(google, timed("Changed"))
    deleted = insert(google, timed("Deleted"))
    full = listing(google)
    assert {e["summary"] for e in full["items"]} == {"Kept", "Changed", "Deleted"}
    assert "nextPageToken" not in full
    google.calendar.events().patch(calendarId="primary", eventId=changed["id"],
                                   body={"summary": "Changed!"}).execute()
    google.calendar.events().delete(calendarId="primary", eventId=deleted["id"]).execute()
    added = insert(google, timed("Added"))
    delta = listing(google, syncToken=full["nextSyncToken"])
    by_id = {e["id"]: e for e in delta["items"]}
    assert set(by_id) == {changed["id"], deleted["id"], added["id"]}
    assert kept["id"] not in by_id
    assert by_id[changed["id"]]["summary"] == "Changed!"
    assert by_id[deleted["id"]] == {"kind": "calendar#event", "etag": by_id[deleted["id"]]["etag"],
                                    "id": deleted["id"], "status": "cancelled"}
    again = listing(google, syncToken=delta["nextSyncToken"])
    assert again["items"] == [] and again["nextSyncToken"]


def test_full_list_hides_cancelled_events_unless_show_deleted(google: Google) -> None:
    ev = insert(google, timed("Cancelled"))
    google.calendar.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert listing(google)["items"] == []
    shown = listing(google, showDeleted=True)["items"]
    assert [(e["id"], e["status"], e["summary"]) for e in shown] == [
        (ev["id"], "cancelled", "Cancelled")]


def test_pages_carry_next_page_token_xor_next_sync_token(google: Google) -> None:
    for n in range(7):
        insert(google, timed(f"E{n}"))
    items, pages = every_page(google, maxResults=3)
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    for page in pages[:-1]:
        assert "nextPageToken" in page and "nextSyncToken" not in page
    assert "nextPageToken" not in pages[-1] and "nextSyncToken" in pages[-1]
    assert len({e["id"] for e in items}) == 7


def test_incremental_results_page_too(google: Google) -> None:
    token = listing(google)["nextSyncToken"]
    for n in range(5):
        insert(google, timed(f"E{n}"))
    items, pages = every_page(google, syncToken=token, maxResults=2)
    assert len(pages) == 3 and len(items) == 5
    assert "nextSyncToken" in pages[-1]


def test_page_token_of_another_query_is_refused(google: Google) -> None:
    for n in range(3):
        insert(google, timed(f"E{n}"))
    token = listing(google, maxResults=1)["nextPageToken"]
    with pytest.raises(HttpError) as exc:
        listing(google, pageToken=token, showDeleted=True)
    assert exc.value.status_code == 400


def test_invalidated_sync_token_is_410(google: Google, emulator: Emulator) -> None:
    token = listing(google)["nextSyncToken"]
    control(emulator, "POST", "/sync-tokens/invalidate")
    with pytest.raises(HttpError) as exc:
        listing(google, syncToken=token)
    assert error_of(exc) == {"status": 410, "domain": "calendar", "reason": "fullSyncRequired",
                             "message": "Sync token is no longer valid, a full sync is required.",
                             "locationType": "parameter", "location": "syncToken"}
    assert listing(google, syncToken=listing(google)["nextSyncToken"])["items"] == []


@pytest.mark.parametrize("garbage", ["garbage", "CPDAlvWDx70CEPDAlvWDx70CGAU=", "e30"])
def test_unparseable_sync_token_is_410(google: Google, garbage: str) -> None:
    with pytest.raises(HttpError) as exc:
        listing(google, syncToken=garbage)
    assert error_of(exc)["reason"] == "fullSyncRequired"


def test_sync_token_expires_after_thirty_days(google: Google, emulator: Emulator) -> None:
    token = listing(google)["nextSyncToken"]
    control(emulator, "POST", "/clock", {"advance": 29 * 86400})
    assert listing(google, syncToken=token)["items"] == []
    control(emulator, "POST", "/clock", {"advance": 2 * 86400})
    with pytest.raises(HttpError) as exc:
        listing(google, syncToken=token)
    assert exc.value.status_code == 410


def test_sync_token_of_another_account_is_410(google: Google, google_factory: Any) -> None:
    bob = google_factory("bob@example.com")
    with pytest.raises(HttpError) as exc:
        listing(google, syncToken=listing(bob)["nextSyncToken"])
    assert exc.value.status_code == 410


@pytest.mark.parametrize("param", [
    {"timeMin": "2026-01-01T00:00:00Z"}, {"timeMax": "2027-01-01T00:00:00Z"},
    {"orderBy": "updated"}, {"q": "x"}, {"iCalUID": "a@google.com"},
    {"privateExtendedProperty": "localId=1"}, {"sharedExtendedProperty": "k=v"},
    {"updatedMin": "2026-11-01T00:00:00Z"}, {"showDeleted": False}])
def test_parameters_forbidden_with_a_sync_token(google: Google, param: dict[str, Any]) -> None:
    token = listing(google)["nextSyncToken"]
    with pytest.raises(HttpError) as exc:
        listing(google, syncToken=token, **param)
    assert error_of(exc)["reason"] == "invalid" and exc.value.status_code == 400


def test_time_min_bounds_the_end_and_time_max_the_start_exclusively(google: Google) -> None:
    insert(google, timed("Morning", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"))
    insert(google, timed("Noon", "2026-12-01T12:00:00Z", "2026-12-01T13:00:00Z"))
    insert(google, all_day("Day", "2026-12-02", "2026-12-03"))

    def between(lo: str, hi: str) -> set[str]:
        return {e["summary"] for e in listing(google, timeMin=lo, timeMax=hi)["items"]}

    assert between("2026-12-01T10:00:00Z", "2026-12-01T12:00:00Z") == set()
    assert between("2026-12-01T09:59:59Z", "2026-12-01T12:00:01Z") == {"Morning", "Noon"}
    assert between("2026-12-01T13:00:00Z", "2026-12-02T00:00:00Z") == set()
    assert between("2026-12-01T13:00:00Z", "2026-12-02T00:00:01Z") == {"Day"}
    assert {e["summary"] for e in listing(google, timeMin="2026-12-01T11:00:00+01:00")[
        "items"]} == {"Noon", "Day"}


def test_a_full_sync_bounded_by_time_min_still_gives_a_sync_token(google: Google) -> None:
    page = listing(google, timeMin="2026-01-01T00:00:00Z")
    assert "nextSyncToken" in page


def test_time_min_not_before_time_max_is_an_empty_range(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        listing(google, timeMin="2026-12-02T00:00:00Z", timeMax="2026-12-01T00:00:00Z")
    assert error_of(exc)["reason"] == "timeRangeEmpty"


def test_time_min_needs_an_offset(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        listing(google, timeMin="2026-12-01T00:00:00")
    assert exc.value.status_code == 400


def test_order_by_start_time_needs_single_events(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        listing(google, orderBy="startTime")
    assert error_of(exc) == {
        "status": 400, "domain": "global", "reason": "badRequest",
        "message": "The requested ordering is not available for the particular query."}


def test_order_by_start_time_sorts_and_gives_no_sync_token(google: Google) -> None:
    insert(google, timed("Late", "2026-12-03T10:00:00Z", "2026-12-03T11:00:00Z"))
    insert(google, timed("Early", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"))
    insert(google, all_day("Middle", "2026-12-02", "2026-12-03"))
    page = listing(google, orderBy="startTime", singleEvents=True)
    assert [e["summary"] for e in page["items"]] == ["Early", "Middle", "Late"]
    assert "nextSyncToken" not in page and "nextPageToken" not in page


def test_order_by_updated(google: Google, emulator: Emulator) -> None:
    first = insert(google, timed("First"))
    control(emulator, "POST", "/clock", {"advance": 1})
    insert(google, timed("Second"))
    control(emulator, "POST", "/clock", {"advance": 1})
    google.calendar.events().patch(calendarId="primary", eventId=first["id"],
                                   body={"description": "touched"}).execute()
    page = listing(google, orderBy="updated")
    assert [e["summary"] for e in page["items"]] == ["Second", "First"]
    assert "nextSyncToken" not in page


def test_private_extended_property_filters_are_anded(google: Google) -> None:
    insert(google, timed("Both", extendedProperties={"private": {"crm": "1", "kind": "call"}}))
    insert(google, timed("One", extendedProperties={"private": {"crm": "1", "kind": "mail"}}))
    insert(google, timed("Shared", extendedProperties={"shared": {"crm": "1"}}))
    found = listing(google, privateExtendedProperty=["crm=1", "kind=call"])["items"]
    assert [e["summary"] for e in found] == ["Both"]
    found = listing(google, privateExtendedProperty="crm=1")["items"]
    assert {e["summary"] for e in found} == {"Both", "One"}
    found = listing(google, sharedExtendedProperty="crm=1")["items"]
    assert [e["summary"] for e in found] == ["Shared"]


def test_ical_uid_and_text_filters(google: Google) -> None:
    target = insert(google, timed("Quarterly review", location="Board room"))
    insert(google, timed("Lunch"))
    assert [e["id"] for e in listing(google, iCalUID=target["iCalUID"])["items"]] == [target["id"]]
    assert [e["id"] for e in listing(google, q="board")["items"]] == [target["id"]]


def test_max_results_is_capped_at_2500_and_must_be_positive(google: Google) -> None:
    insert(google, timed("One"))
    assert len(listing(google, maxResults=5000)["items"]) == 1
    with pytest.raises(HttpError) as exc:
        listing(google, maxResults=0)
    assert error_of(exc)["location"] == "maxResults"


def test_default_page_size_is_250(google: Google, emulator: Emulator) -> None:
    batch = google.calendar_batch()
    for n in range(260):
        batch.add(google.calendar.events().insert(calendarId="primary", body=timed(f"E{n}")))
    batch.execute()
    first = listing(google)
    assert len(first["items"]) == 250 and "nextPageToken" in first


def test_updated_min_returns_changes_since_with_deleted(google: Google, emulator: Emulator) -> None:
    old = insert(google, timed("Old"))
    control(emulator, "POST", "/clock", {"advance": 60})
    since = control(emulator, "GET", "/clock")["now"]
    google.calendar.events().delete(calendarId="primary", eventId=old["id"]).execute()
    insert(google, timed("New"))
    found = listing(google, updatedMin=since)["items"]
    assert sorted((e["summary"], e["status"]) for e in found) == [("New", "confirmed"),
                                                                 ("Old", "cancelled")]


def test_a_change_made_in_the_calendar_ui_reaches_sync(google: Google,
                                                       emulator: Emulator) -> None:
    token = listing(google)["nextSyncToken"]
    made = control(emulator, "POST", "/accounts/ann@example.com/events", timed("From the UI"))
    delta = listing(google, syncToken=token)
    assert [e["id"] for e in delta["items"]] == [made["id"]]
    control(emulator, "DELETE", f"/accounts/ann@example.com/events/{made['id']}")
    gone = listing(google, syncToken=delta["nextSyncToken"])["items"]
    assert [(e["id"], e["status"]) for e in gone] == [(made["id"], "cancelled")]
    listed = control(emulator, "GET", "/accounts/ann@example.com/events")["items"]
    assert listed == []
    listed = control(emulator, "GET", "/accounts/ann@example.com/events?deleted=true")["items"]
    assert [e["status"] for e in listed] == ["cancelled"]
