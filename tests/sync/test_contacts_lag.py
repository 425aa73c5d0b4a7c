"""The contact sync against a Google whose listings lag its writes, as Google's own API
description warns ("Writes may have a propagation delay of several minutes for sync requests"):
the emulator's per-account lag (``PUT /__emulator/accounts/{email}/lag``), end to end through the
real client library. Nothing is lost, duplicated or untagged on a listing's word alone."""

from __future__ import annotations

from typing import Any

from synckit import Gmail, Syncer
from test_contacts_e2e import add, edit, ok, remote_id, tagged

from crmtui.emulator.control_client import EmulatorControl
from crmtui.model import SyncKind, Tag, User
from crmtui.store import ContactQuery, TinyDBRepository

LAG = 300  # seconds: Google documents "several minutes"


def lag(gmail: Gmail, seconds: float) -> None:
    EmulatorControl(gmail.emu).set_lag(gmail.email, seconds)


def advance(gmail: Gmail, seconds: float) -> None:
    EmulatorControl(gmail.emu).advance_clock(seconds)


def notes(person: dict[str, Any]) -> str:
    return "".join(b.get("value", "") for b in person.get("biographies") or [])


def title(person: dict[str, Any]) -> str:
    return "".join(o.get("title", "") for o in person.get("organizations") or [])


def test_an_edit_on_each_side_around_a_lagged_listing_both_survive(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    ada = add(repo, user, sync_tag, "Ada", "Byron", job_title="Engineer")
    ok(sync())
    rid = remote_id(repo, user, ada)
    lag(gmail, LAG)
    gmail.edit(rid, biographies=[{"value": "Met in Gmail"}])  # the listing will not show it yet
    advance(gmail, 10)
    edit(repo, user, ada, job_title="CTO")
    ok(sync())  # the listing shows nothing new; crmtui's write meets Gmail's edit and merges
    # At +5 s past the lag the listing shows Gmail's edit but not yet crmtui's later write: an
    # older version than the one crmtui wrote. Later it shows crmtui's own.
    for step in (LAG - 5, LAG + 20):
        advance(gmail, step)
        ok(sync())
        now = repo.get_contact(ada.id, user.id)
        assert (now.job_title, now.notes) == ("CTO", "Met in Gmail")
        person = gmail.get(rid)
        assert (title(person), notes(person)) == ("CTO", "Met in Gmail")
    assert tagged(repo, user, ada, sync_tag)


def test_a_gmail_contact_added_during_the_lag_is_imported_once_when_it_shows(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    ok(sync())  # the group exists
    lag(gmail, LAG)
    made = gmail.create({"names": [{"givenName": "Late", "familyName": "Comer"}],
                         "emailAddresses": [{"value": "late@example.com"}]})
    ok(sync())
    assert not [c for c in repo.find_contacts(ContactQuery(), user.id) if c.given_name == "Late"]
    advance(gmail, LAG + 1)
    for _ in range(3):
        ok(sync())
        advance(gmail, 60)
    late = [c for c in repo.find_contacts(ContactQuery(), user.id) if c.given_name == "Late"]
    assert len(late) == 1 and tagged(repo, user, late[0], sync_tag)
    assert remote_id(repo, user, late[0]) == made["resourceName"]
    assert len([p for p in gmail.contacts()
                if p["names"][0]["givenName"] == "Late"]) == 1  # and no copy of it in Gmail


def test_a_full_listing_during_the_lag_keeps_every_linked_contact_tagged(
        repo: TinyDBRepository, user: User, sync_tag: Tag, gmail: Gmail, sync: Syncer) -> None:
    lag(gmail, LAG)
    people = [add(repo, user, sync_tag, f"New{i}") for i in range(8)]
    ok(sync())  # created in Google now: not in a listing for several minutes
    EmulatorControl(gmail.emu).invalidate_sync_tokens()  # the next listing is a full one
    report = ok(sync())
    assert report.crm.untagged == 0
    assert all(tagged(repo, user, c, sync_tag) for c in people)
    assert len(repo.list_links(user.id, SyncKind.CONTACTS)) == 8
    assert sorted(gmail.members()) == sorted(remote_id(repo, user, c) for c in people)
