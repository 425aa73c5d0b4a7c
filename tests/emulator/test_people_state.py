"""People data survives ``--state FILE``: contacts, tombstones, groups, change numbers."""

from __future__ import annotations

from pathlib import Path

from emukit import Google, control

from crmtui.emulator import running_emulator

ANN = "/accounts/ann@example.com"


def test_people_data_persists_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running_emulator(state_file=state) as emu:
        g = Google(emu, "ann@example.com")
        groups = g.people.contactGroups()
        group = groups.create(body={"contactGroup": {"name": "Clients"}}).execute()
        kept = g.people.people().createContact(personFields="names,clientData", body={
            "names": [{"givenName": "Kept"}], "clientData": [{"key": "id", "value": "7"}],
            "memberships": [{"contactGroupMembership": {
                "contactGroupResourceName": group["resourceName"]}}]}).execute()
        gone = g.people.people().createContact(personFields="names",
                                               body={"names": [{"givenName": "Gone"}]}).execute()
        sync = g.people.people().connections().list(
            resourceName="people/me", personFields="names,metadata",
            requestSyncToken=True).execute()["nextSyncToken"]
        g.people.people().deleteContact(resourceName=gone["resourceName"]).execute()
    with running_emulator(state_file=state) as emu:
        g = Google(emu, "ann@example.com")
        delta = g.people.people().connections().list(
            resourceName="people/me", personFields="names,metadata", syncToken=sync,
            requestSyncToken=True).execute()
        assert [(p["resourceName"], p["metadata"].get("deleted")) for p in delta["connections"]] \
            == [(gone["resourceName"], True)]
        again = g.people.people().get(resourceName=kept["resourceName"],
                                      personFields="names,clientData").execute()
        assert again == kept
        members = g.people.contactGroups().get(resourceName=group["resourceName"],
                                               maxMembers=10).execute()
        assert members["memberResourceNames"] == [kept["resourceName"]]
        every = control(emu, "GET", ANN + "/contacts?deleted=true")["contacts"]
        assert len(every) == 2
        made = g.people.people().createContact(personFields="names",
                                               body={"names": [{"givenName": "New"}]}).execute()
        delta2 = g.people.people().connections().list(
            resourceName="people/me", personFields="names,metadata",
            syncToken=delta["nextSyncToken"], requestSyncToken=True).execute()
        assert [p["resourceName"] for p in delta2["connections"]] == [made["resourceName"]]


def test_control_groups_routes() -> None:
    with running_emulator() as emu:
        Google(emu, "ann@example.com")
        group = control(emu, "POST", ANN + "/groups", {"name": "Clients"})
        gid = group["resourceName"].split("/")[1]
        made = control(emu, "POST", ANN + "/contacts", {"names": [{"givenName": "A"}]})
        control(emu, "POST", ANN + f"/groups/{gid}/members", {"add": [made["resourceName"]]})
        renamed = control(emu, "PATCH", ANN + f"/groups/{gid}", {"name": "Customers"})
        assert renamed["name"] == "Customers" and renamed["memberCount"] == 1
        names = {g["name"] for g in control(emu, "GET", ANN + "/groups")["contactGroups"]}
        assert names == {"myContacts", "starred", "Customers"}
        control(emu, "DELETE", ANN + f"/groups/{gid}")
        names = {g["name"] for g in control(emu, "GET", ANN + "/groups")["contactGroups"]}
        assert names == {"myContacts", "starred"}
