"""The People adapter against the emulator, through the real client library: mapping round trips,
fields crmtui does not own, listings and sync tokens, the group, batched writes and their
request counts, stale etags, rejected records, and retries (429/503 storms, Retry-After, dropped
connections). The ``emulator`` fixture is in ``conftest.py``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synckit import control
from test_mapping import contacts, normalized

from crmtui.emulator import Emulator
from crmtui.emulator.state import authorized_user
from crmtui.sync.contacts import contact_fields
from crmtui.sync.google import auth
from crmtui.sync.google.people import GooglePeople, item_result
from crmtui.sync.google.retry import Retrier
from crmtui.sync.remote import (
    AuthError,
    ContactUpdate,
    NewContact,
    RemoteContact,
    RemoteError,
    WriteResult,
)

EMAIL = "ann@example.com"


class Gmail:
    """One fresh emulator account: the adapter under test, the sleeps it asked for, and
    the control API ("changes made in Gmail")."""

    def __init__(self, emu: Emulator, **options: Any) -> None:
        self.emu = emu
        self.email = EMAIL
        info = control(emu, "POST", "/accounts", {"email": self.email})
        self.creds = auth.credentials_from_record(authorized_user(info))
        self.service = auth.build_people_service(self.creds, emu.base_url)
        self.sleeps: list[float] = []
        self.messages: list[str] = []
        group = options.pop("group", "crmtui")
        options.setdefault("batch_uri", auth.batch_uri(emu.base_url, "people"))
        self.people = GooglePeople(self.service, sleep=self.sleeps.append,
                                   progress=self.messages.append, **options)
        self.group_name = self.group(group) if group else ""

    def ctl(self, method: str, path: str, body: Any = None) -> Any:
        return control(self.emu, method, f"/accounts/{self.email}/{path}", body)

    def add(self, **person: Any) -> dict[str, Any]:
        """A contact made in Gmail."""
        answer: dict[str, Any] = self.ctl("POST", "contacts", person)
        return answer

    def person(self, resource_name: str) -> dict[str, Any]:
        found = self.service.people().get(resourceName=resource_name,
                                          personFields="names,organizations,emailAddresses,"
                                          "phoneNumbers,addresses,birthdays,biographies,urls,"
                                          "userDefined,clientData,memberships").execute()
        return dict(found)

    def group(self, name: str) -> str:
        """A contact group made in Gmail; its resource name."""
        return self.ctl("POST", "groups", {"name": name})["resourceName"]

    def requests(self) -> list[dict[str, Any]]:
        """The People requests made so far (HTTP calls and batch parts)."""
        return control(self.emu, "GET", "/requests")["requests"]

    def calls(self, fragment: str) -> int:
        return sum(1 for r in self.requests() if fragment in r["path"])

    def fault(self, **fault: Any) -> None:
        control(self.emu, "POST", "/faults", fault)


@pytest.fixture
def gmail(emulator: Emulator) -> Gmail:
    return Gmail(emulator)


def new(crm_id: str, **fields: Any) -> NewContact:
    base: dict[str, Any] = {"given_name": "", "middle_name": "", "family_name": "",
                            "company": "", "job_title": "", "emails": [], "phones": [],
                            "addresses": [], "birthday": None, "notes": ""}
    base.update(fields)
    return NewContact(crm_id=crm_id, fields=base)


def email(value: str, kind: str = "work", primary: bool = True) -> dict[str, Any]:
    return {"value": value, "type": kind, "primary": primary}


def written(results: list[WriteResult]) -> list[RemoteContact]:
    """The contacts of successful writes (every one must have succeeded)."""
    contacts = [r.contact for r in results]
    assert all(c is not None for c in contacts), results
    return [c for c in contacts if c is not None]


def ids(results: list[WriteResult]) -> list[str]:
    return [c.remote_id for c in written(results)]


# --------------------------------------------------------------------------- mapping


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(contacts(), min_size=1, max_size=5))
def test_contacts_crmtui_writes_read_back_equal_from_google(gmail: Gmail, batch: list[Any]
                                                            ) -> None:
    wanted = [normalized(contact_fields(c)) for c in batch]
    results = gmail.people.create([NewContact(f"c{i}", f) for i, f in enumerate(wanted)],
                                  gmail.group_name)
    assert [c.fields for c in written(results)] == wanted
    again = gmail.people.get(ids(results), gmail.group_name)
    assert [rc.fields for rc in again] == wanted


def test_an_update_leaves_person_fields_crmtui_does_not_own(gmail: Gmail) -> None:
    made = gmail.add(names=[{"givenName": "Ada"}],
                     organizations=[{"name": "Engines", "department": "R&D"},
                                    {"name": "Royal Society", "type": "school"}],
                     emailAddresses=[{"value": "ada@engines.org", "type": "Assistant",
                                      "displayName": "Ada L."}],
                     urls=[{"value": "https://ada.example"}],
                     userDefined=[{"key": "Shoe size", "value": "38"}],
                     clientData=[{"key": "other-app", "value": "7"}],
                     memberships=[gmail.group_name])
    rc = gmail.people.get([made["resourceName"]], gmail.group_name)[0]
    fields = {**rc.fields, "company": "Difference Engines", "notes": "Counts",
              "emails": rc.fields["emails"] + [email("ada@new.org", "home", False)]}
    [result] = gmail.people.update([ContactUpdate(rc, fields, ["company", "notes", "emails"])],
                                   gmail.group_name)
    assert result.contact is not None and result.contact.fields == fields
    person = gmail.person(made["resourceName"])
    assert [(o.get("name"), o.get("department")) for o in person["organizations"]] == [
        ("Difference Engines", "R&D"), ("Royal Society", None)]
    assert [(e["value"], e["type"], e.get("displayName")) for e in person["emailAddresses"]
            ] == [("ada@engines.org", "Assistant", "Ada L."), ("ada@new.org", "home", None)]
    assert [u["value"] for u in person["urls"]] == ["https://ada.example"]
    assert [(u["key"], u["value"]) for u in person["userDefined"]] == [("Shoe size", "38")]
    assert [(d["key"], d["value"]) for d in person["clientData"]] == [("other-app", "7")]
    update = [r for r in gmail.requests() if "batchUpdateContacts" in r["path"]]
    assert len(update) == 1


def test_an_update_writes_only_the_person_fields_of_changed_fields(gmail: Gmail) -> None:
    made = gmail.add(names=[{"givenName": "Ada"}], biographies=[{"value": "in Gmail"}],
                     birthdays=[{"date": {"month": 12, "day": 10}}])
    [rc] = gmail.people.get([made["resourceName"]], gmail.group_name)
    # what the engine holds of the notes differs from Gmail: only a write could change them
    rc.raw["biographies"] = [{"value": "held by crmtui"}]
    rc.fields["notes"] = "held by crmtui"
    fields = {**rc.fields, "given_name": "Augusta", "birthday": None}
    [result] = gmail.people.update([ContactUpdate(rc, fields, ["given_name", "birthday"])],
                                   gmail.group_name)
    assert result.contact is not None
    person = gmail.person(made["resourceName"])
    assert person["names"][0]["givenName"] == "Augusta"
    assert person["biographies"][0]["value"] == "in Gmail"
    assert person["birthdays"][0]["date"] == {"month": 12, "day": 10}  # yearless: kept


def test_per_record_answers_of_a_batch_write_are_read() -> None:
    stale = {"status": {"code": 9, "message": "Request person.etag is different than the "
                        "current person.etag. Clear local cache and get the latest person."}}
    bad = {"status": {"code": 3, "message": "Invalid email"}}
    ok = {"person": {"resourceName": "people/c1", "etag": "%e", "names": [{"givenName": "A"}]}}
    assert item_result("people/c1", stale, "contactGroups/g").stale
    assert item_result("people/c1", bad, "contactGroups/g").error == (
        "Google refused it (Invalid email)")
    done = item_result("people/c1", ok, "contactGroups/g").contact
    assert done is not None and done.fields["given_name"] == "A"
    assert item_result("people/c1", {}, "g").error == "Google did not answer for it"


# --------------------------------------------------------------------------- listing


def make(gmail: Gmail, n: int) -> list[str]:
    """``n`` contacts created through the adapter (in the group); their resource names."""
    results = gmail.people.create(
        [new(f"crm{i}", given_name=f"P{i}", emails=[email(f"p{i}@x.org")])
         for i in range(n)], gmail.group_name)
    return ids(results)


def test_a_full_listing_comes_in_pages_of_1000(gmail: Gmail) -> None:
    names = make(gmail, 2300)
    control(gmail.emu, "DELETE", "/requests")
    listing = gmail.people.list_changes("", gmail.group_name)
    assert listing.full and listing.sync_token
    assert sorted(rc.remote_id for rc in listing.contacts) == sorted(names)
    assert all(rc.in_group and rc.crm_id.startswith("crm") for rc in listing.contacts)
    pages = [r for r in gmail.requests() if r["path"] == "/v1/people/me/connections"]
    assert len(pages) == 3 and all("pageSize=1000" in r["query"] for r in pages)


def test_a_sync_token_lists_only_changes_and_tombstones(gmail: Gmail) -> None:
    a, b, c = make(gmail, 3)
    token = gmail.people.list_changes("", gmail.group_name).sync_token
    gmail.ctl("PATCH", f"contacts/{a}", {"names": [{"givenName": "Changed"}]})
    gmail.ctl("DELETE", f"contacts/{b}")
    d = gmail.add(names=[{"givenName": "New"}])["resourceName"]
    listing = gmail.people.list_changes(token, gmail.group_name)
    assert not listing.full and listing.sync_token != token
    got = {rc.remote_id: rc for rc in listing.contacts}
    assert set(got) == {a, b, d}
    assert got[a].fields["given_name"] == "Changed" and got[a].in_group
    assert got[b].deleted and not got[b].in_group
    assert not got[d].in_group and not got[d].crm_id


@pytest.mark.parametrize("expire", ["clock", "invalidate"])
def test_an_expired_sync_token_lists_everything(gmail: Gmail, expire: str) -> None:
    names = make(gmail, 3)
    token = gmail.people.list_changes("", gmail.group_name).sync_token
    if expire == "clock":
        control(gmail.emu, "POST", "/clock", {"advance": 8 * 24 * 3600})
    else:
        control(gmail.emu, "POST", "/sync-tokens/invalidate")
    listing = gmail.people.list_changes(token, gmail.group_name)
    assert listing.full
    assert sorted(rc.remote_id for rc in listing.contacts) == sorted(names)
    assert gmail.people.list_changes(listing.sync_token, gmail.group_name).contacts == []


def test_a_listing_that_fails_half_way_is_an_error(gmail: Gmail) -> None:
    make(gmail, 1500)
    gmail.fault(method="GET", path="connections", count=100, status=500)
    with pytest.raises(RemoteError, match="500"):
        gmail.people.list_changes("", gmail.group_name)


def test_get_reads_200_per_call_and_leaves_out_missing_contacts(gmail: Gmail) -> None:
    names = make(gmail, 250)
    gmail.ctl("DELETE", f"contacts/{names[0]}")
    control(gmail.emu, "DELETE", "/requests")
    got = gmail.people.get(names, gmail.group_name)
    assert [rc.remote_id for rc in got] == names[1:]
    assert sum(1 for r in gmail.requests() if r["path"] == "/v1/people:batchGet") == 2


# --------------------------------------------------------------------------- the group


def test_the_group_is_created_when_absent(emulator: Emulator) -> None:
    gmail = Gmail(emulator, group=None)
    group = gmail.people.ensure_group("", "crmtui")
    assert group is not None and group.created and not group.recreated
    names = {g["name"] for g in gmail.ctl("GET", "groups")["contactGroups"]}
    assert "crmtui" in names


def test_a_dry_run_does_not_create_the_group(emulator: Emulator) -> None:
    gmail = Gmail(emulator, group=None)
    assert gmail.people.ensure_group("", "crmtui", create=False) is None
    assert "crmtui" not in {g["name"] for g in gmail.ctl("GET", "groups")["contactGroups"]}


def test_the_group_is_found_by_name_when_none_is_remembered(gmail: Gmail) -> None:
    group = gmail.people.ensure_group("", "crmtui")
    assert group is not None and group.resource_name == gmail.group_name
    assert not group.created and not group.recreated


def test_the_remembered_group_is_found_after_a_rename(gmail: Gmail) -> None:
    gmail.ctl("PATCH", f"groups/{gmail.group_name}", {"name": "Renamed in Gmail"})
    control(gmail.emu, "DELETE", "/requests")
    group = gmail.people.ensure_group(gmail.group_name, "crmtui")
    assert group is not None and group.resource_name == gmail.group_name
    assert group.name == "Renamed in Gmail" and not group.created
    assert len(gmail.requests()) == 1


def test_a_deleted_group_is_created_again(gmail: Gmail) -> None:
    gmail.ctl("DELETE", f"groups/{gmail.group_name}")
    group = gmail.people.ensure_group(gmail.group_name, "crmtui")
    assert group is not None and group.created and group.recreated
    assert group.resource_name != gmail.group_name


# --------------------------------------------------------------------------- writing


def test_450_new_contacts_take_3_create_calls_with_id_and_group(gmail: Gmail) -> None:
    control(gmail.emu, "DELETE", "/requests")
    names = make(gmail, 450)
    paths = [r["path"] for r in gmail.requests()]
    assert paths == ["/v1/people:batchCreateContacts"] * 3
    for name in (names[0], names[449]):
        person = gmail.person(name)
        assert {(d["key"], d["value"]) for d in person["clientData"]} <= {
            ("crmtui-id", f"crm{i}") for i in range(450)}
        groups = {m["contactGroupMembership"]["contactGroupResourceName"]
                  for m in person["memberships"]}
        assert groups == {gmail.group_name, "contactGroups/myContacts"}
    listing = gmail.people.list_changes("", gmail.group_name)
    assert sorted(rc.crm_id for rc in listing.contacts) == sorted(f"crm{i}" for i in range(450))
    assert all(rc.in_group for rc in listing.contacts)


def test_a_record_google_rejects_is_reported_and_the_others_are_written(gmail: Gmail) -> None:
    batch = [new(f"crm{i}", given_name=f"P{i}") for i in range(5)]
    batch[3].fields["given_name"] = 12345  # Google refuses a name that is not a string
    results = gmail.people.create(batch, gmail.group_name)
    assert [r.key for r in results] == [f"crm{i}" for i in range(5)]
    assert results[3].contact is None and "Invalid value" in results[3].error
    assert all(r.contact is not None for i, r in enumerate(results) if i != 3)
    listing = gmail.people.list_changes("", gmail.group_name)
    assert sorted(rc.crm_id for rc in listing.contacts) == ["crm0", "crm1", "crm2", "crm4"]


def test_creates_stop_at_once_when_the_group_is_gone(gmail: Gmail) -> None:
    gmail.ctl("DELETE", f"groups/{gmail.group_name}")
    control(gmail.emu, "DELETE", "/requests")
    with pytest.raises(RemoteError, match="HTTP 400"):
        make(gmail, 200)
    assert len(gmail.requests()) == 1  # not 399 calls to find "the bad record"


def test_a_value_that_cannot_be_mapped_is_reported_without_a_call(gmail: Gmail) -> None:
    control(gmail.emu, "DELETE", "/requests")
    [result] = gmail.people.create([new("crm1", given_name="A", birthday="1990-02-30")],
                                   gmail.group_name)
    assert result.contact is None and "cannot be mapped" in result.error
    assert gmail.requests() == []


@pytest.mark.parametrize("batched", [True, False])
def test_a_stale_etag_is_reported_and_the_others_are_updated(emulator: Emulator,
                                                             batched: bool) -> None:
    gmail = Gmail(emulator, **({} if batched else {"batch_uri": None}))
    names = make(gmail, 4)
    read = gmail.people.get(names, gmail.group_name)
    gmail.ctl("PATCH", f"contacts/{names[1]}", {"names": [{"givenName": "Gmail"}]})
    gmail.ctl("DELETE", f"contacts/{names[2]}")
    control(gmail.emu, "DELETE", "/requests")
    results = gmail.people.update(
        [ContactUpdate(rc, {**rc.fields, "job_title": "Boss"}, ["job_title"]) for rc in read],
        gmail.group_name)
    outer = [r for r in gmail.requests() if r["batch"] != "part"]
    assert len(outer) == 5  # the batch call, then each record alone, one after another
    assert not [r for r in gmail.requests() if r["batch"] == "part"]  # never parallel parts
    assert [r.key for r in results] == names
    assert results[1].stale and results[1].contact is None
    assert results[2].contact is None and results[2].error and not results[2].stale
    for i in (0, 3):
        assert written(results[i:i + 1])[0].fields["job_title"] == "Boss"
        assert gmail.person(names[i])["organizations"][0]["title"] == "Boss"
    assert "organizations" not in gmail.person(names[1])


def test_250_updates_take_2_update_calls(gmail: Gmail) -> None:
    names = make(gmail, 250)
    read = gmail.people.get(names, gmail.group_name)
    control(gmail.emu, "DELETE", "/requests")
    updates = [ContactUpdate(rc, {**rc.fields, "notes": f"n{i}"} if i % 2 else
                             {**rc.fields, "company": f"c{i}"}, ["notes"] if i % 2 else
                             ["company"]) for i, rc in enumerate(read)]
    results = gmail.people.update(updates, gmail.group_name)
    assert [r["path"] for r in gmail.requests()] == ["/v1/people:batchUpdateContacts"] * 2
    assert [c.fields for c in written(results)] == [u.fields for u in updates]


def test_an_update_with_nothing_to_write_makes_no_call(gmail: Gmail) -> None:
    [rc] = gmail.people.get(make(gmail, 1), gmail.group_name)
    control(gmail.emu, "DELETE", "/requests")
    [result] = gmail.people.update([ContactUpdate(rc, dict(rc.fields), ["notes"])],
                                   gmail.group_name)
    assert result.contact is rc and gmail.requests() == []


def test_contacts_leave_the_group_and_stay_in_gmail(gmail: Gmail) -> None:
    names = make(gmail, 3)
    only_group = gmail.add(names=[{"givenName": "Only"}], memberships=[gmail.group_name])
    gmail.ctl("POST", "groups/myContacts/members", {"remove": [only_group["resourceName"]]})
    gone = "people/c12345"
    unknown = gmail.people.remove_from_group(names[:2] + [only_group["resourceName"], gone],
                                             gmail.group_name)
    assert unknown == [gone]
    listing = gmail.people.list_changes("", gmail.group_name)
    in_group = {rc.remote_id for rc in listing.contacts if rc.in_group}
    assert in_group == {names[2]}
    assert len(listing.contacts) == 4  # nobody was deleted
    assert gmail.people.add_to_group(names[:1] + [gone], gmail.group_name) == [gone]
    assert gmail.people.get(names[:1], gmail.group_name)[0].in_group


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_storm_is_retried_with_growing_jittered_delays(gmail: Gmail, status: int) -> None:
    gmail.fault(method="POST", path="batchCreateContacts", count=4, status=status)
    make(gmail, 3)
    assert len(gmail.sleeps) == 4
    assert all(0 <= s <= bound for s, bound in zip(gmail.sleeps, [1, 2, 4, 8], strict=True))
    assert any(f"HTTP {status}" in m for m in gmail.messages)


def test_a_403_rate_limit_is_retried(gmail: Gmail) -> None:
    gmail.fault(method="GET", path="connections", count=2, status=403)
    gmail.people.list_changes("", gmail.group_name)
    assert len(gmail.sleeps) == 2


def test_retry_after_is_honoured(gmail: Gmail) -> None:
    gmail.fault(method="POST", path="batchCreateContacts", count=3, status=503,
                headers={"Retry-After": "7"})
    make(gmail, 2)
    assert gmail.sleeps == [7, 7, 7]


def test_a_storm_longer_than_max_attempts_is_a_remote_error(gmail: Gmail) -> None:
    gmail.fault(method="POST", path="batchCreateContacts", count=10, status=503)
    with pytest.raises(RemoteError, match="HTTP 503.*after 6 attempts") as info:
        make(gmail, 2)
    assert len(gmail.sleeps) == 5
    assert str(gmail.creds.token) not in str(info.value)


def test_a_dropped_connection_is_retried(gmail: Gmail) -> None:
    make(gmail, 2)
    gmail.fault(method="GET", path="connections", count=3, drop=True)
    listing = gmail.people.list_changes("", gmail.group_name)
    assert len(listing.contacts) == 2 and gmail.sleeps


def test_updates_sent_alone_are_retried_alone_one_at_a_time(gmail: Gmail) -> None:
    """When Google refuses a batchUpdateContacts as a whole (a stale etag in it), each update is
    sent alone, one after the other (a user's mutations are sequential on Google: the parts of a
    multipart batch may run in parallel and answer 429), and one that answers 503 is retried."""
    names = make(gmail, 3)
    read = gmail.people.get(names, gmail.group_name)
    gmail.ctl("PATCH", f"contacts/{names[0]}", {"names": [{"givenName": "Gmail"}]})
    gmail.fault(method="PATCH", path="updateContact", count=2, status=503,
                headers={"Retry-After": "3"})
    control(gmail.emu, "DELETE", "/requests")
    results = gmail.people.update(
        [ContactUpdate(rc, {**rc.fields, "notes": "x"}, ["notes"]) for rc in read],
        gmail.group_name)
    assert results[0].stale and all(r.contact is not None for r in results[1:])
    assert gmail.sleeps == [3, 3]
    assert not [r for r in gmail.requests() if r["batch"] == "part"]
    alone = [r for r in gmail.requests() if "updateContact" in r["path"] and "batch" not in
             r["path"]]
    assert len(alone) == 5  # three, and the two that answered 503 again


def test_refused_credentials_are_an_auth_error(gmail: Gmail) -> None:
    control(gmail.emu, "POST", "/tokens/revoke", {"email": gmail.email})
    control(gmail.emu, "POST", "/tokens/expire", {"email": gmail.email})
    with pytest.raises(AuthError):
        gmail.people.list_changes("", gmail.group_name)


def test_full_jitter_backoff_doubles_up_to_32_seconds() -> None:
    retrier = Retrier(jitter=lambda: 1.0)
    assert [retrier.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 32, 32]
    assert Retrier(jitter=lambda: 0.25).delay(3) == 1
    assert retrier.delay(2, retry_after=7) == 7


# --------------------------------------------------------------------------- malformed records


def _people_on(answers: list[tuple[str, bytes]]) -> tuple[GooglePeople, list[float]]:
    """The adapter on a client that gets these raw HTTP answers (status, body) in turn."""
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    http = HttpMockSequence([({"status": status}, body) for status, body in answers])
    service = build("people", "v1", http=http, static_discovery=True, cache_discovery=False)
    sleeps: list[float] = []
    return GooglePeople(service, batch_uri=None, sleep=sleeps.append, max_attempts=3), sleeps


LISTED = (b'{"connections": [{"resourceName": "people/c1", "etag": "e1", '
          b'"names": [{"givenName": "Ann"}]}], "nextSyncToken": "t1"}')


def test_a_body_that_is_not_json_is_retried_like_a_5xx() -> None:
    people, sleeps = _people_on([("200", b"<html><h1>502 Bad Gateway</h1></html>"),
                                 ("200", b'{"connections": [{"resourceName": "peo'),
                                 ("200", LISTED)])
    listing = people.list_changes("", "contactGroups/g")
    assert [c.remote_id for c in listing.contacts] == ["people/c1"] and len(sleeps) == 2


def test_a_body_that_stays_not_json_fails_with_one_line() -> None:
    people, _ = _people_on([("200", b"<html>proxy error</html>")] * 3)
    with pytest.raises(RemoteError) as raised:
        people.list_changes("", "contactGroups/g")
    assert str(raised.value) == ("people.connections.list: Google still answers with an HTML "
                                 "page instead of JSON after 3 attempts")
    people, _ = _people_on([("502", b"<html>Bad Gateway</html>")] * 3)
    with pytest.raises(RemoteError, match="HTTP 502.* after 3 attempts"):
        people.list_changes("", "contactGroups/g")


def test_a_listing_page_whose_items_are_not_a_list_is_retried() -> None:
    people, sleeps = _people_on([("200", b'{"connections": "none", "nextSyncToken": "t"}'),
                                 ("200", LISTED)])
    assert len(people.list_changes("", "contactGroups/g").contacts) == 1 and len(sleeps) == 1


GOOD = {"resourceName": "people/c9", "etag": "e",
        "names": [{"givenName": "Ann", "metadata": {"primary": True}}],
        "birthdays": [{"date": {"month": 2, "day": 29}}],  # yearless: fine
        "metadata": {"sources": [{"type": "CONTACT", "updateTime": "2026-01-02T03:04:05Z"}]}}


@pytest.mark.parametrize(("change", "why"), [
    ({"names": "Ann"}, "names is a string, not a list"),
    ({"emailAddresses": [["ann@example.com"]]}, "emailAddresses[0] is a list, not an object"),
    ({"names": [{"givenName": None}]}, "names[0].givenName is null, not a string"),
    ({"birthdays": [{"date": {"year": 1990, "month": 13, "day": 1}}]}, "birthday month 13"),
    ({"birthdays": [{"date": {"year": 1990, "month": 2, "day": 30}}]},
     "birthday day 30 of month 2 in 1990"),
    ({"birthdays": [{"date": {"year": "1990", "month": 2, "day": 3}}]},
     "birthdays[0].date.year is a string, not a whole number"),
    ({"metadata": {"sources": [{"type": "CONTACT", "updateTime": "yesterday"}]}},
     "metadata.sources[0].updateTime 'yesterday' is not a date and time"),
    ({"memberships": {"contactGroupMembership": {}}}, "memberships is an object, not a list"),
    ({"resourceName": 7}, "the contact has no resource name"),
])
def test_a_person_not_as_the_api_promises_is_set_apart_with_the_reason(
        change: dict[str, Any], why: str) -> None:
    from crmtui.sync.google.people_mapping import read_people

    read, malformed = read_people([GOOD, {**GOOD, "resourceName": "people/c8", **change}], "g")
    assert [c.remote_id for c in read] == ["people/c9"]
    assert malformed == [("people/c8" if "resourceName" not in change else "", why)]
    assert read[0].fields["birthday"] is None  # the yearless birthday reads as none


def test_get_names_the_contacts_it_cannot_read(gmail: Gmail) -> None:
    ok = gmail.add(names=[{"givenName": "Ok"}])["resourceName"]
    bad = gmail.add(names=[{"givenName": "Bad"}],
                    birthdays=[{"date": {"year": 2001, "month": 13, "day": 2}}])["resourceName"]
    from crmtui.sync.remote import malformed_in

    found = gmail.people.get([ok, bad], gmail.group_name)
    assert [c.remote_id for c in found] == [ok]
    assert malformed_in(found) == [(bad, "birthday month 13")]
    listing = gmail.people.list_changes("", gmail.group_name)
    assert [c.remote_id for c in listing.contacts] == [ok]
    assert listing.malformed == [(bad, "birthday month 13")]
