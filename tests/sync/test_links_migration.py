"""A database of schema 1, whose sync links carry a whole copy of each Google record, opens as
schema 2 with lean links, and syncs on from them: nothing duplicated, no edit lost on either
side, and what crmtui does not own in Gmail kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synckit import Gmail, Syncer

from crmtui.model import (
    Address,
    Contact,
    Email,
    Phone,
    SyncKind,
    SyncLink,
    Tag,
    User,
)
from crmtui.store import SCHEMA_VERSION, ContactQuery, TinyDBRepository, open_store
from crmtui.store.migrations import migrate
from crmtui.store.storage import journal_path, read_files
from crmtui.sync.activities import mapping as amap
from crmtui.sync.contacts import mapping as cmap
from crmtui.sync.contacts.mapping import link_base
from crmtui.sync.service import SyncService

Json = dict[str, Any]
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PERSON_FIELDS = {"names", "emailAddresses", "phoneNumbers", "addresses", "organizations",
                 "memberships", "resourceName", "urls"}


def test_a_schema_1_database_with_whole_records_in_its_links_is_migrated_and_syncs_on(
        repo: TinyDBRepository, data_dir: Path, user: User, sync_tag: Tag, gmail: Gmail,
        sync: Syncer, service: SyncService) -> None:
    rich = repo.add_contact(Contact(
        given_name="Zoë", family_name="Ångström", owner_id=user.id, company="Nordlys",
        job_title="Founder",
        emails=[Email("zoe@nordlys.example", "work", True), Email("zoe@home.example", "home")],
        phones=[Phone("+47 900 11 222", "mobile", True), Phone("+47 22 33 44 55", "work")],
        addresses=[Address(street="Storgata 1", city="Oslo", postal_code="0155",
                           country="Norway", type="work")],
        tags=[sync_tag.id]))
    assert sync().ok
    made = gmail.create({"names": [{"givenName": "Kari", "familyName": "Nordmann"}],
                         "emailAddresses": [{"value": "kari@example.com", "type": "home",
                                             "displayName": "Kari N."}],
                         "organizations": [{"name": "Fjord", "title": "CTO",
                                            "department": "R&D"}],
                         "urls": [{"value": "https://fjord.example"}]})
    assert sync().ok
    kari_link = repo.link_by_remote(user.id, SyncKind.CONTACTS, made["resourceName"])
    assert kari_link is not None
    kari_id, zoe_rid = kari_link.local_id, repo.get_link(user.id, SyncKind.CONTACTS,
                                                         rich.id).remote_id
    # what schema 1 kept: the whole base and the whole Person
    bases = {cid: link_base(repo.get_link(user.id, SyncKind.CONTACTS, cid))
             for cid in (rich.id, kari_id)}
    repo.close()
    path = data_dir / "crmtui.json"
    data = read_files(path)  # the base and its journal, as one file of schema 1 held them
    journal_path(path).unlink(missing_ok=True)
    data.pop("_storage", None)
    for doc in data["sync_links"].values():
        person = gmail.get(doc["remote_id"])
        person["etag"] = doc["etag"]
        doc["remote"], doc["base"] = person, bases[doc["local_id"]]
    data["_meta"]["schema"] = {"schema": 1}
    path.write_text(json.dumps(data))
    old_size = max(len(json.dumps(d, separators=(",", ":")))
                   for d in data["sync_links"].values())
    contacts_before, gmail_before = len(data["contacts"]), len(gmail.contacts())

    # edits on both sides while the database waits for its migration
    gmail.edit(zoe_rid, biographies=[{"value": "from Gmail"}])
    store = open_store(data_dir)
    try:
        migrated = json.loads(path.read_text())
        assert migrated["_meta"]["schema"] == {"schema": SCHEMA_VERSION} == {"schema": 2}
        links = {d["local_id"]: d for d in migrated["sync_links"].values()}
        assert not set(links[rich.id]["remote"]) & PERSON_FIELDS
        assert "organizations" in links[kari_id]["remote"]  # its department
        assert "emailAddresses" in links[kari_id]["remote"]  # the email's display name
        assert "urls" not in links[kari_id]["remote"]  # never written by crmtui
        new_size = max(len(json.dumps(d, separators=(",", ":"))) for d in links.values())
        assert new_size * 2 < old_size
        for cid, base in bases.items():
            assert link_base(store.get_link(user.id, SyncKind.CONTACTS, cid)) == base

        zoe = store.get_contact(rich.id, user.id)
        store.update_contact(zoe.evolve(job_title="Chair"), user.id)
        kari = store.get_contact(kari_id, user.id)
        store.update_contact(kari.evolve(company="Fjord AS", phones=[Phone("+47 1234 5678")]),
                             user.id)
        again = SyncService(store, data_dir, service.contacts_remote)
        outcome = again.run(user.id, SyncKind.CONTACTS)
        assert outcome.ok, outcome.message
        assert outcome.report.google.created == 0 and outcome.report.crm.created == 0

        assert len(gmail.contacts()) == gmail_before
        assert len(store.contact_ids(ContactQuery(), None)) == contacts_before
        zoe_g = gmail.get(zoe_rid)
        assert zoe_g["organizations"][0]["title"] == "Chair"
        assert zoe_g["biographies"][0]["value"] == "from Gmail"
        assert store.get_contact(rich.id, user.id).notes == "from Gmail"
        kari_g = gmail.get(made["resourceName"])
        assert [(o["name"], o.get("department")) for o in kari_g["organizations"]] == [
            ("Fjord AS", "R&D")]
        assert [(e["value"], e.get("displayName")) for e in kari_g["emailAddresses"]] == [
            ("kari@example.com", "Kari N.")]
        assert [p["value"] for p in kari_g["phoneNumbers"]] == ["+47 1234 5678"]
        assert [u["value"] for u in kari_g["urls"]] == ["https://fjord.example"]
        outcome = again.run(user.id, SyncKind.CONTACTS)
        assert outcome.ok and outcome.report.google.updated == 0
        assert outcome.report.crm.updated == 0
    finally:
        store.close()


def test_the_step_to_schema_2_keeps_what_each_link_needs() -> None:
    """The migration step on its own: an activity link and a contact link of schema 1."""
    event_base = {"title": "Kick-off", "notes": "", "location": "Room 1",
                  "time": {"all_day": False, "start": "2026-03-02T10:00:00+00:00",
                           "end": "2026-03-02T11:00:00+00:00", "timezone": "Europe/Berlin",
                           "start_date": None, "end_date": None},
                  "recurrence": [], "attendees": ["u1", "u2"]}
    attendees = [{"email": "a@x.org", "response": "accepted", "organizer": True},
                 {"email": "b@x.org", "response": "needsAction", "organizer": False}]
    contact_base = {"given_name": "Ada", "middle_name": "", "family_name": "Lovelace",
                    "company": "", "job_title": "", "birthday": None, "notes": "",
                    "emails": [{"value": "ada@x.org", "type": "work", "primary": True}],
                    "phones": [], "addresses": []}
    person = {"resourceName": "people/c1", "etag": "%E1",
              "metadata": {"sources": [{"type": "CONTACT", "id": "ab", "etag": "#s1",
                                        "updateTime": "2026-03-02T10:00:00Z"}],
                           "objectType": "PERSON"},
              "names": [{"givenName": "Ada", "familyName": "Lovelace",
                         "displayName": "Ada Lovelace", "unstructuredName": "Ada Lovelace",
                         "metadata": {"primary": True}}],
              "emailAddresses": [{"value": "ada@x.org", "type": "work", "formattedType": "Work",
                                  "metadata": {"primary": True}}],
              "birthdays": [{"date": {"month": 12, "day": 10}}],
              "clientData": [{"key": "crmtui-id", "value": "c" * 32,
                              "metadata": {"primary": True}}],
              "memberships": [{"contactGroupMembership": {
                  "contactGroupResourceName": "contactGroups/g"}}]}
    data: Json = {"_meta": {"schema": {"schema": 1}}, "sync_links": {
        "u:activities:a": {"user_id": "u", "kind": "activities", "local_id": "a",
                           "remote_id": "ev1", "etag": '"1"', "base": event_base,
                           "remote": {"organizer_self": True, "ical_uid": "ev1@google.com",
                                      "attendees": attendees}},
        "u:contacts:c": {"user_id": "u", "kind": "contacts", "local_id": "c",
                         "remote_id": "people/c1", "etag": "%E1", "base": contact_base,
                         "remote": person}}}
    out, changed = migrate(data)
    assert changed and out["_meta"]["schema"] == {"schema": 2}
    event = out["sync_links"]["u:activities:a"]
    assert event["remote"] == {"organizer_self": True, "attendees": [
        {"email": "a@x.org", "response": "accepted", "organizer": True}, {"email": "b@x.org"}]}
    assert event["base"]["time"] == {"start": "2026-03-02T10:00:00+00:00",
                                     "end": "2026-03-02T11:00:00+00:00",
                                     "timezone": "Europe/Berlin"}
    contact = out["sync_links"]["u:contacts:c"]
    assert contact["remote"] == {
        "metadata": {"sources": [{"type": "CONTACT", "id": "ab", "etag": "#s1"}]},
        "clientData": [{"key": "crmtui-id", "value": "c" * 32}],
        "birthdays": [{"date": {"month": 12, "day": 10}}]}  # yearless: the base has None
    assert contact["base"] == {"given_name": "Ada", "family_name": "Lovelace",
                               "emails": [{"value": "ada@x.org", "primary": True}]}
    # read back by the sync core: the same values as before the step
    a_link = SyncLink.from_dict(event)
    assert amap.link_base(a_link) == event_base
    assert amap.link_remote(a_link) == {"organizer_self": True, "ical_uid": "ev1@google.com",
                                        "attendees": attendees}
    c_link = SyncLink.from_dict(contact)
    assert cmap.link_base(c_link) == contact_base
    assert cmap.link_raw(c_link)["etag"] == "%E1"
