"""Google's listings lag its writes ("Writes may have a propagation delay of several minutes for
sync requests"); a direct read does not. The contact sync checks what a listing says of linked
contacts with a direct read before it acts on it (against the in-memory Google, made to lag)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
from test_engine import World

from crmtui.model import SyncKind
from crmtui.store import TinyDBRepository
from crmtui.sync.fake import FakeContactsRemote
from crmtui.sync.remote import Listing, RemoteContact


class LaggingGoogle(FakeContactsRemote):
    """Listings that leave out ``hidden`` contacts, show ``ghosts`` as deleted and serve the
    versions kept in ``old`` instead of the current ones; ``get`` is always current."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()
        self.ghosts: set[str] = set()
        self.old: dict[str, RemoteContact] = {}

    def list_changes(self, sync_token: str, group: str) -> Listing:
        listing = super().list_changes(sync_token, group)
        out = []
        for rc in listing.contacts:
            if rc.remote_id in self.hidden:
                continue
            if rc.remote_id in self.ghosts:
                rc = RemoteContact(rc.remote_id, etag=rc.etag, deleted=True)
            out.append(self.old.get(rc.remote_id, rc))
        out += [RemoteContact(rid, deleted=True) for rid in self.ghosts
                if rid not in {rc.remote_id for rc in out}]
        return replace(listing, contacts=out)

    def snapshot(self, remote_id: str, group: str) -> RemoteContact:
        [rc] = self.get([remote_id], group)
        return copy.deepcopy(rc)


@pytest.fixture
def world(repo: TinyDBRepository, tmp_path: Path) -> World:
    w = World(repo, tmp_path)
    w.google = LaggingGoogle()
    return w


def google(world: World) -> LaggingGoogle:
    assert isinstance(world.google, LaggingGoogle)
    return world.google


def test_a_full_listing_that_lacks_linked_contacts_keeps_them_linked_and_tagged(
        world: World) -> None:
    contacts = [world.add(f"C{i}") for i in range(8)]
    assert world.sync().ok
    g = google(world)
    g.hidden = {p.remote_id for p in g.in_group(world.group)}  # the listing lags: all left out
    g.expire_tokens()  # the next listing is a full one
    outcome = world.sync()
    assert outcome.ok, outcome.message  # not stopped by the guard: nothing is unlinked
    assert outcome.report.crm.untagged == 0
    assert {c.id for c in world.tagged()} == {c.id for c in contacts}
    assert len(world.repo.list_links(world.user.id, SyncKind.CONTACTS)) == 8
    assert g.calls["get"] >= 1  # checked by a direct read


def test_a_deletion_the_listing_shows_is_confirmed_by_a_direct_read(world: World) -> None:
    kept, gone = world.add("Kept"), world.add("Gone")
    assert world.sync().ok
    g = google(world)
    ids = {p.fields["given_name"]: p.remote_id for p in g.in_group(world.group)}
    g.ghosts = {ids["Kept"]}  # listed as deleted, but it is not
    g.gmail_delete(ids["Gone"])
    outcome = world.sync()
    assert outcome.ok and outcome.report.crm.untagged == 1
    assert [c.id for c in world.tagged()] == [kept.id]
    assert world.repo.get_link(world.user.id, SyncKind.CONTACTS, kept.id) is not None
    assert world.repo.get_link(world.user.id, SyncKind.CONTACTS, gone.id) is None


def test_an_older_version_in_the_listing_is_not_applied_over_newer_data(world: World) -> None:
    c = world.add("Ada", job_title="Engineer")
    assert world.sync().ok
    g = google(world)
    [rid] = [p.remote_id for p in g.in_group(world.group)]
    before = g.snapshot(rid, world.group)  # the version the listing will keep serving
    g.clock = g.clock.replace(year=2027)  # Google's clock runs ahead of the CRM's edits
    world.repo.update_contact(world.repo.get_contact(c.id).evolve(job_title="CTO"),
                              world.user.id)
    assert world.sync().ok  # crmtui writes CTO: Google's newer version
    assert g.people[rid].fields["job_title"] == "CTO"
    g.old = {rid: before}  # the listing still shows the version before that write
    g.gmail_edit(rid, notes="touched")  # ... as the change of a contact crmtui linked
    g.old = {rid: replace(before, etag="e-stale")}
    outcome = world.sync()
    assert outcome.ok, outcome.message
    assert world.repo.get_contact(c.id).job_title == "CTO"  # the old Engineer is not applied
    assert world.repo.get_contact(c.id).notes == "touched"  # the read version is
    assert g.people[rid].fields["job_title"] == "CTO"
