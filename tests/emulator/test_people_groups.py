"""People API v1 contact groups and ``members:modify`` through the real client."""

from __future__ import annotations

import json

import pytest
from emukit import Google
from googleapiclient.errors import HttpError


def _error(exc: pytest.ExceptionInfo[HttpError]) -> dict:
    return json.loads(exc.value.content)["error"]


def _group(g: Google, name: str) -> dict:
    return g.people.contactGroups().create(body={"contactGroup": {"name": name}}).execute()


def _contact(g: Google, given: str = "A") -> str:
    return g.people.people().createContact(
        personFields="names", body={"names": [{"givenName": given}]}).execute()["resourceName"]


def test_system_groups_are_listed(google: Google) -> None:
    listed = google.people.contactGroups().list().execute()
    by_name = {g["resourceName"]: g for g in listed["contactGroups"]}
    assert by_name["contactGroups/myContacts"]["groupType"] == "SYSTEM_CONTACT_GROUP"
    assert by_name["contactGroups/myContacts"]["formattedName"] == "My Contacts"
    assert by_name["contactGroups/starred"]["groupType"] == "SYSTEM_CONTACT_GROUP"
    assert "memberCount" not in by_name["contactGroups/starred"]
    assert "nextSyncToken" in listed


def test_group_list_pages_by_30_with_sync_token_on_the_last_page(google: Google) -> None:
    for i in range(30):
        _group(google, f"G{i:02}")
    first = google.people.contactGroups().list().execute()
    assert len(first["contactGroups"]) == 30 and "nextSyncToken" not in first
    rest = google.people.contactGroups().list(pageToken=first["nextPageToken"]).execute()
    assert len(rest["contactGroups"]) == 2 and "nextPageToken" not in rest
    created = _group(google, "Later")
    delta = google.people.contactGroups().list(syncToken=rest["nextSyncToken"]).execute()
    assert [g["resourceName"] for g in delta["contactGroups"]] == [created["resourceName"]]


def test_create_rename_delete_group(google: Google) -> None:
    created = _group(google, "Clients")
    assert created["groupType"] == "USER_CONTACT_GROUP" and created["name"] == "Clients"
    assert "memberCount" not in created
    gid = created["resourceName"]
    renamed = google.people.contactGroups().update(
        resourceName=gid, body={"contactGroup": {"name": "Customers",
                                                 "etag": created["etag"]}}).execute()
    assert renamed["name"] == "Customers" and renamed["etag"] != created["etag"]
    sync = google.people.contactGroups().list().execute()["nextSyncToken"]
    assert google.people.contactGroups().delete(resourceName=gid).execute() == {}
    with pytest.raises(HttpError) as exc:
        google.people.contactGroups().get(resourceName=gid).execute()
    assert exc.value.status_code == 404
    delta = google.people.contactGroups().list(syncToken=sync).execute()
    (tombstone,) = delta["contactGroups"]
    assert set(tombstone) == {"resourceName", "etag", "metadata"}
    assert tombstone["resourceName"] == gid and tombstone["metadata"]["deleted"] is True


def test_duplicate_group_name_is_409(google: Google) -> None:
    _group(google, "Clients")
    other = _group(google, "Friends")
    with pytest.raises(HttpError) as exc:
        _group(google, "Clients")
    assert exc.value.status_code == 409
    assert _error(exc) == {"code": 409, "message": "Contact group name already exists.",
                           "status": "ALREADY_EXISTS"}
    with pytest.raises(HttpError) as exc:
        google.people.contactGroups().update(resourceName=other["resourceName"],
                                             body={"contactGroup": {"name": "Clients"}}).execute()
    assert exc.value.status_code == 409


def test_system_groups_cannot_be_renamed_or_deleted(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        google.people.contactGroups().update(resourceName="contactGroups/myContacts",
                                             body={"contactGroup": {"name": "Mine"}}).execute()
    assert exc.value.status_code == 400
    with pytest.raises(HttpError) as exc:
        google.people.contactGroups().delete(resourceName="contactGroups/starred").execute()
    assert exc.value.status_code == 400


def test_get_with_max_members_lists_members(google: Google) -> None:
    gid = _group(google, "Clients")["resourceName"]
    people = [_contact(google, str(i)) for i in range(3)]
    google.people.contactGroups().members().modify(
        resourceName=gid, body={"resourceNamesToAdd": people}).execute()
    plain = google.people.contactGroups().get(resourceName=gid).execute()
    assert plain["memberCount"] == 3 and "memberResourceNames" not in plain
    some = google.people.contactGroups().get(resourceName=gid, maxMembers=2).execute()
    assert some["memberCount"] == 3 and len(some["memberResourceNames"]) == 2
    assert set(some["memberResourceNames"]) <= set(people)


def test_members_modify_adds_removes_and_reports_unknown_names(google: Google) -> None:
    gid = _group(google, "Clients")["resourceName"]
    a, b = _contact(google), _contact(google)
    answer = google.people.contactGroups().members().modify(
        resourceName=gid, body={"resourceNamesToAdd": [a, b, "people/c1"]}).execute()
    assert answer == {"notFoundResourceNames": ["people/c1"]}
    google.people.contactGroups().members().modify(
        resourceName=gid, body={"resourceNamesToRemove": [b]}).execute()
    person = google.people.people().get(resourceName=a, personFields="memberships").execute()
    groups = [m["contactGroupMembership"]["contactGroupResourceName"]
              for m in person["memberships"]]
    assert groups == ["contactGroups/myContacts", gid]
    assert person["memberships"][1]["contactGroupMembership"]["contactGroupId"] == gid.split("/")[1]
    assert google.people.contactGroups().get(resourceName=gid).execute()["memberCount"] == 1


def test_members_modify_limits_and_last_group(google: Google) -> None:
    a = _contact(google)
    with pytest.raises(HttpError) as exc:
        google.people.contactGroups().members().modify(
            resourceName="contactGroups/starred",
            body={"resourceNamesToAdd": [a] * 600, "resourceNamesToRemove": [a] * 401}).execute()
    assert exc.value.status_code == 400
    answer = google.people.contactGroups().members().modify(
        resourceName="contactGroups/myContacts", body={"resourceNamesToRemove": [a]}).execute()
    assert answer == {"canNotRemoveLastContactGroupResourceNames": [a]}
    google.people.contactGroups().members().modify(
        resourceName="contactGroups/starred", body={"resourceNamesToAdd": [a]}).execute()
    starred = google.people.contactGroups().get(resourceName="contactGroups/starred",
                                                maxMembers=5).execute()
    assert starred["memberResourceNames"] == [a]


def test_delete_group_with_its_contacts(google: Google) -> None:
    keep, drop = _group(google, "Keep")["resourceName"], _group(google, "Drop")["resourceName"]
    a, b = _contact(google), _contact(google)
    google.people.contactGroups().members().modify(
        resourceName=keep, body={"resourceNamesToAdd": [a]}).execute()
    google.people.contactGroups().members().modify(
        resourceName=drop, body={"resourceNamesToAdd": [b]}).execute()
    google.people.contactGroups().delete(resourceName=keep).execute()
    google.people.contactGroups().delete(resourceName=drop, deleteContacts=True).execute()
    person = google.people.people().get(resourceName=a, personFields="memberships").execute()
    assert len(person["memberships"]) == 1
    with pytest.raises(HttpError) as exc:
        google.people.people().get(resourceName=b, personFields="names").execute()
    assert exc.value.status_code == 404


def test_group_batch_get(google: Google) -> None:
    gid = _group(google, "Clients")["resourceName"]
    answer = google.people.contactGroups().batchGet(
        resourceNames=[gid, "contactGroups/myContacts", "contactGroups/nope"]).execute()
    responses = answer["responses"]
    assert responses[0]["contactGroup"]["name"] == "Clients"
    assert responses[1]["contactGroup"]["groupType"] == "SYSTEM_CONTACT_GROUP"
    assert responses[2] == {"requestedResourceName": "contactGroups/nope",
                            "status": {"code": 5, "message": "Requested entity was not found."}}


def test_memberships_are_written_with_the_contact(google: Google) -> None:
    gid = _group(google, "Clients")["resourceName"]
    p = google.people.people().createContact(personFields="memberships", body={
        "names": [{"givenName": "M"}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": gid}}]}).execute()
    assert len(p["memberships"]) == 2
    with pytest.raises(HttpError) as exc:
        google.people.people().updateContact(resourceName=p["resourceName"],
                                             updatePersonFields="memberships",
                                             body={"etag": p["etag"], "memberships": []}).execute()
    assert exc.value.status_code == 400
    u = google.people.people().updateContact(
        resourceName=p["resourceName"], updatePersonFields="memberships",
        personFields="memberships",
        body={"etag": p["etag"], "memberships": [
            {"contactGroupMembership": {"contactGroupResourceName": gid}}]}).execute()
    assert [m["contactGroupMembership"]["contactGroupResourceName"]
            for m in u["memberships"]] == [gid]


def test_group_client_data_round_trips(google: Google) -> None:
    created = google.people.contactGroups().create(body={
        "contactGroup": {"name": "Synced", "clientData": [{"key": "crmtui", "value": "sync"}]},
        "readGroupFields": "name,clientData"}).execute()
    assert created["clientData"] == [{"key": "crmtui", "value": "sync"}]
    got = google.people.contactGroups().get(resourceName=created["resourceName"],
                                            groupFields="clientData").execute()
    assert got["clientData"] == [{"key": "crmtui", "value": "sync"}]
