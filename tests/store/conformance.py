"""The Repository contract: one suite that every store passes (the TinyDB file and PostgreSQL).

Each backend's test module subclasses :class:`RepositoryContract` and provides ``new_store`` (a
fixture: a factory of new, empty stores) and ``open_again``; the contract makes from them
``make_store`` (stores closed after the test), ``repo`` (the store under test) and ``reopen`` (a
second repository on the same store, as another process would open it).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crmtui.model import (
    Account,
    AccountState,
    Activity,
    ActivityStatus,
    ActivityType,
    Conflict,
    Contact,
    Participant,
    Priority,
    SyncKind,
    SyncLink,
    SyncRun,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
    fold,
)
from crmtui.store import (
    ACTIVITY_SORTS,
    CONTACT_SORTS,
    ActivityQuery,
    ChangedMeanwhile,
    ContactQuery,
    NotFound,
    Repository,
    StoreConflict,
    StoreError,
    SyncLocked,
)
from crmtui.store.repository import JOURNAL_MAX_CONFLICTS, JOURNAL_MAX_RUNS

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class Boom(Exception):
    pass


def ids(repo: Repository, viewer: str | None = None, **kw: object) -> list[str]:
    return repo.contact_ids(ContactQuery(**kw), viewer)  # type: ignore[arg-type]


def keys(people: dict[str, Contact], found: list[str]) -> list[str]:
    by_id = {c.id: k for k, c in people.items()}
    return [by_id[i] for i in found if i in by_id]


def _values(repo: Repository, column: str, found: list[str]) -> list[object]:
    out: list[object] = []
    for c in repo.get_contacts(found):
        out.append({
            "name": c.family_name or c.display_name, "given_name": c.given_name,
            "family_name": c.family_name, "company": c.company, "job_title": c.job_title,
            "email": c.primary_email, "phone": c.primary_phone, "birthday": c.birthday,
            "created": c.created, "modified": c.modified,
        }[column])
    return out


TOKYO = ZoneInfo("Asia/Tokyo")


NEW_YORK = ZoneInfo("America/New_York")


def found(repo: Repository, acts: dict[str, Activity], **kw: object) -> list[str]:
    by_id = {a.id: k for k, a in acts.items()}
    return [by_id[a.id] for a in repo.find_activities(ActivityQuery(**kw))]  # type: ignore[arg-type]


T0 = datetime(2024, 1, 1, tzinfo=UTC)


CONTACTS, ACTIVITIES = SyncKind.CONTACTS, SyncKind.ACTIVITIES


def link(user: User, local: str, remote: str, kind: SyncKind = CONTACTS, etag: str = "e"
         ) -> SyncLink:
    return SyncLink(user_id=user.id, kind=kind, local_id=local, remote_id=remote, etag=etag,
                    base={"given_name": local}, synced=T0)


def _closing(factory: Callable[[], Repository]) -> Iterator[Callable[[], Repository]]:
    """A fixture's factory of stores, each closed after the test."""
    made: list[Repository] = []

    def make() -> Repository:
        store = factory()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


class RepositoryContract:
    """What every store must do. Subclasses provide ``new_store`` (a fixture: a factory of new,
    empty stores) and ``open_again`` (the same store opened anew, as another process would)."""

    @pytest.fixture
    def make_store(self, new_store: Callable[[], Repository]
                   ) -> Iterator[Callable[[], Repository]]:
        yield from _closing(new_store)

    @pytest.fixture
    def repo(self, make_store: Callable[[], Repository]) -> Repository:
        return make_store()

    @pytest.fixture
    def reopen(self, repo: Repository) -> Iterator[Callable[[], Repository]]:
        yield from _closing(lambda: self.open_again(repo))

    def open_again(self, repo: Repository) -> Repository:
        raise NotImplementedError

    @pytest.fixture
    def people(self, repo: Repository) -> dict[str, Contact]:
        """A small address book with accents, phones and companies to search in."""
        made = {
            "jose": Contact(given_name="José", family_name="Álvarez", company="Ångström AB",
                            emails=["jose@example.com"], phones=["+1 (555) 123-4567"],
                            job_title="Engineer", birthday=date(1980, 5, 1)),
            "joan": Contact(given_name="Joan", family_name="Baker", company="Widgets Ltd",
                            emails=["joan.baker@widgets.example"], phones=["020 7946 0958"],
                            job_title="CEO"),
            "zoe": Contact(given_name="Zoë", family_name="Clark", emails=["zoe@example.org"],
                           birthday=date(1990, 1, 1)),
            "acme": Contact(company="ACME Corp", phones=["+44 20 7946 0000"]),
            "mail": Contact(emails=["anonymous@nowhere.example"]),
        }
        for i, contact in enumerate(made.values()):
            stamp = T0 + timedelta(days=i)
            repo.add_contact(contact.evolve(created=stamp, modified=stamp))
        return {k: repo.get_contact(c.id) for k, c in made.items()}

    @pytest.mark.parametrize(("text", "expected"), [
        ("jose", {"jose"}),
        ("JOSÉ", {"jose"}),
        ("alvarez", {"jose"}),
        ("ANGSTROM", {"jose"}),
        ("ångström", {"jose"}),
        ("zoe", {"zoe"}),
        ("widgets", {"joan"}),            # company and email domain
        ("joan.baker@", {"joan"}),        # email
        ("example.org", {"zoe"}),
        ("acme", {"acme"}),
        ("nowhere", {"mail"}),
        ("jo", {"jose", "joan"}),         # prefix of several
        ("jo baker", {"joan"}),           # every word must match (AND)
        ("jo clark", set()),
        ("baker jo", {"joan"}),           # word order does not matter
        ("5551234", {"jose"}),            # digits only finds a formatted phone
        ("555-123-4567", {"jose"}),
        ("+15551234567", {"jose"}),
        ("(555) 123", {"jose"}),
        ("7946", {"joan", "acme"}),
        ("79460958", {"joan"}),
        ("engineer", set()),              # job titles are not searched
        ("  ", {"jose", "joan", "zoe", "acme", "mail"}),
    ])
    def test_search(self, repo: Repository, people: dict[str, Contact], text: str,
                    expected: set[str]) -> None:
        assert set(keys(people, ids(repo, text=text))) == expected

    def test_search_does_not_match_across_fields(self, repo: Repository,
                                                 people: dict[str, Contact]) -> None:
        # "josé" ends a name and "álvarez" begins the next one: a word never spans both.
        assert ids(repo, text="josealvarez") == []
        assert ids(repo, text="jose@example.comjoan") == []

    def test_short_digit_runs_do_not_match_any_phone(self, repo: Repository,
                                                     people: dict[str, Contact]) -> None:
        # Two digits are too few to be a phone search; they only match literally.
        assert ids(repo, text="99") == []

    def test_index_follows_writes(self, repo: Repository, people: dict[str, Contact]) -> None:
        assert keys(people, ids(repo, text="joan")) == ["joan"]  # builds the index
        joan = people["joan"]
        repo.update_contact(joan.evolve(given_name="Joanna", phones=["+33 1 23 45 67 89"]))
        assert keys(people, ids(repo, text="joanna")) == ["joan"]
        assert ids(repo, text="79460958") == []
        assert keys(people, ids(repo, text="123456789")) == ["joan"]
        new = repo.add_contact(Contact(given_name="Joaquim"))
        assert set(ids(repo, text="joa")) == {joan.id, new.id}
        repo.delete_contact(new.id)
        assert ids(repo, text="joaquim") == []
        repo.add_contacts([Contact(given_name="Bulk", family_name=str(i)) for i in range(3)])
        assert len(ids(repo, text="bulk")) == 3

    @pytest.mark.parametrize("column", CONTACT_SORTS)
    def test_sort_every_column(self, repo: Repository, people: dict[str, Contact],
                               column: str) -> None:
        asc = ids(repo, sort=column)
        desc = ids(repo, sort=column, descending=True)
        assert sorted(asc) == sorted(desc) == sorted(c.id for c in people.values())
        values = _values(repo, column, asc)
        present = [v for v in values if v not in ("", None)]
        # Empty values come last in both directions, the rest are in order.
        assert values[:len(present)] == present
        filled = len(present)
        assert desc == asc[:filled][::-1] + asc[filled:][::-1]
        assert _values(repo, column, desc)[:filled] == present[::-1]
        if isinstance(present[0], str):
            assert present == sorted(present, key=lambda v: fold(str(v)))
        else:
            assert present == sorted(present)  # type: ignore[type-var]

    def test_sort_by_name_is_family_then_given_and_accent_insensitive(self,
            repo: Repository, people: dict[str, Contact]) -> None:
        # Álvarez sorts with the A's; company-only and email-only contacts use those.
        assert keys(people, ids(repo, sort="name")) == ["acme", "jose", "mail", "joan", "zoe"]

    def test_sort_created_and_modified(self, repo: Repository, people: dict[str, Contact]) -> None:
        assert keys(people, ids(repo, sort="created")) == list(people)
        repo.update_contact(people["jose"])  # touched now: the most recently modified
        assert keys(people, ids(repo, sort="modified", descending=True))[0] == "jose"

    def test_unknown_sort_is_refused(self, repo: Repository) -> None:
        with pytest.raises(ValidationError, match="sort: must be one of name, given_name"):
            ids(repo, sort="shoe_size")

    def test_offset_and_limit(self, repo: Repository, people: dict[str, Contact]) -> None:
        everything = ids(repo, sort="given_name")
        assert ids(repo, sort="given_name", limit=2) == everything[:2]
        assert ids(repo, sort="given_name", offset=2, limit=2) == everything[2:4]
        assert ids(repo, sort="given_name", offset=4) == everything[4:]
        assert ids(repo, sort="given_name", offset=10, limit=5) == []
        assert ids(repo, sort="given_name", limit=0) == []
        page = repo.find_contacts(ContactQuery(sort="given_name", offset=1, limit=2), None)
        assert [c.id for c in page] == everything[1:3]

    def test_count_and_lookups(self, repo: Repository, people: dict[str, Contact]) -> None:
        assert repo.count_contacts() == 5
        assert [c.id for c in repo.contacts_with_email("JOSE@example.com ")] == [people["jose"].id]
        assert {c.id for c in repo.iter_contacts()} == {c.id for c in people.values()}
        with pytest.raises(NotFound, match="no contact nope"):
            repo.get_contacts([people["jose"].id, "nope"])
        with pytest.raises(StoreConflict, match="already exists"):
            repo.add_contact(people["jose"])
        with pytest.raises(StoreConflict, match="already exists"):
            repo.add_contacts([Contact(given_name="X"), people["zoe"]])
        assert repo.count_contacts() == 5

    @pytest.fixture
    def tagged(self, repo: Repository, people: dict[str, Contact], ann: User, bob: User
               ) -> dict[str, Tag]:
        tags = {
            "vip": repo.add_tag(Tag(name="VIP")),
            "corp": repo.add_tag(Tag(name="Partners", kind=TagKind.CORPORATE)),
            "ann": repo.add_tag(Tag(name="Ann's", kind=TagKind.PRIVATE, owner_id=ann.id)),
            "bob": repo.add_tag(Tag(name="Bob's", kind=TagKind.PRIVATE, owner_id=bob.id)),
        }
        repo.tag_contacts([people["jose"].id, people["joan"].id], tags["vip"].id, None)
        repo.tag_contacts([people["joan"].id], tags["corp"].id, None)
        repo.tag_contacts([people["zoe"].id, people["jose"].id], tags["ann"].id, ann.id)
        repo.tag_contacts([people["acme"].id, people["jose"].id], tags["bob"].id, bob.id)
        return tags

    def test_filter_by_tags(self, repo: Repository, people: dict[str, Contact], tagged: dict[str, Tag],
                            ann: User) -> None:
        def found(**kw: object) -> set[str]:
            return set(keys(people, ids(repo, ann.id, **kw)))

        assert found(tag_ids=(tagged["vip"].id,)) == {"jose", "joan"}
        assert found(tag_ids=(tagged["vip"].id, tagged["corp"].id)) == {"joan"}  # all of them
        assert found(tag_ids=(tagged["vip"].id, tagged["ann"].id)) == {"jose"}
        assert found(tag_kind=TagKind.CORPORATE) == {"joan"}
        assert found(tag_kind=TagKind.PUBLIC) == {"jose", "joan"}
        assert found(tag_kind=TagKind.PRIVATE) == {"zoe", "jose"}  # only Ann's private tag counts
        assert found(tag_kind=TagKind.PUBLIC, text="jose") == {"jose"}
        assert found(tag_ids=(tagged["vip"].id,), sort="given_name", descending=True) == {"jose",
                                                                                         "joan"}
        assert keys(people, ids(repo, ann.id, tag_ids=(tagged["vip"].id,), sort="given_name",
                                descending=True)) == ["jose", "joan"]

    def test_tag_contacts_counts_and_removes(self, repo: Repository, people: dict[str, Contact],
                                             tagged: dict[str, Tag]) -> None:
        vip = tagged["vip"].id
        assert repo.tag_contacts([people["jose"].id, people["zoe"].id], vip, None) == 1
        assert repo.tag_contacts([people["jose"].id, people["zoe"].id], vip, None, remove=True) == 2
        assert repo.tag_contacts([people["jose"].id], vip, None, remove=True) == 0
        assert vip not in repo.get_contact(people["jose"].id).tags
        with pytest.raises(NotFound):
            repo.tag_contacts(["missing"], vip, None)

    def test_private_tags_of_others_are_invisible(self, repo: Repository, people: dict[str, Contact],
                                                  tagged: dict[str, Tag], ann: User, bob: User
                                                  ) -> None:
        bobs = tagged["bob"]
        assert bobs.id not in {t.id for t in repo.list_tags(ann.id)}
        assert {t.name for t in repo.list_tags(ann.id)} == {"VIP", "Partners", "Ann's"}
        assert {t.name for t in repo.list_tags(None)} == {"VIP", "Partners"}
        assert [t.name for t in repo.list_tags(ann.id, TagKind.PRIVATE)] == ["Ann's"]
        assert repo.find_tag("bob's", ann.id) is None
        assert repo.find_tag("BOB'S", bob.id) == bobs
        with pytest.raises(NotFound):
            repo.get_tag(bobs.id, ann.id)
        assert repo.get_tag(bobs.id, bob.id) == bobs
        # Never matches a filter of someone who cannot see it.
        assert ids(repo, ann.id, tag_ids=(bobs.id,)) == []
        assert ids(repo, None, tag_ids=(bobs.id,)) == []
        assert set(keys(people, ids(repo, bob.id, tag_ids=(bobs.id,)))) == {"acme", "jose"}
        assert "acme" not in keys(people, ids(repo, ann.id, tag_kind=TagKind.PRIVATE))
        # Hidden from the contact Ann reads, shown to Bob and to the system (no viewer).
        jose = people["jose"].id
        assert bobs.id not in repo.get_contact(jose, ann.id).tags
        assert tagged["ann"].id in repo.get_contact(jose, ann.id).tags
        assert bobs.id in repo.get_contact(jose, bob.id).tags
        assert tagged["ann"].id not in repo.get_contact(jose, bob.id).tags
        assert {tagged["ann"].id, bobs.id} <= set(repo.get_contact(jose).tags)
        assert bobs.id not in repo.get_contacts([jose], ann.id)[0].tags
        assert bobs.id not in repo.find_contacts(ContactQuery(text="jose"), ann.id)[0].tags
        # Nor can Ann tag with it, or delete it.
        with pytest.raises(NotFound):
            repo.tag_contacts([people["zoe"].id], bobs.id, ann.id)
        with pytest.raises(NotFound):
            repo.delete_tag(bobs.id, ann.id)

    def test_private_tag_is_preserved_when_another_user_updates(self,
            repo: Repository, people: dict[str, Contact], tagged: dict[str, Tag], ann: User,
            bob: User) -> None:
        jose = people["jose"].id
        seen_by_ann = repo.get_contact(jose, ann.id)
        assert tagged["bob"].id not in seen_by_ann.tags
        # Ann edits the name and drops the VIP tag she can see.
        updated = repo.update_contact(seen_by_ann.evolve(given_name="Jo",
                                                         tags=[tagged["ann"].id]), ann.id)
        stored = repo.get_contact(jose)
        assert stored.given_name == "Jo"
        assert set(stored.tags) == {tagged["ann"].id, tagged["bob"].id}
        assert tagged["bob"].id in updated.tags
        assert set(keys(people, ids(repo, bob.id, tag_ids=(tagged["bob"].id,)))) == {"acme", "jose"}
        # Ann cannot smuggle Bob's tag on either.
        repo.update_contact(repo.get_contact(people["zoe"].id, ann.id).evolve(
            tags=[tagged["bob"].id]), ann.id)
        assert tagged["bob"].id not in repo.get_contact(people["zoe"].id).tags

    def test_tag_names_are_unique_per_scope(self, repo: Repository, tagged: dict[str, Tag],
                                            ann: User, bob: User) -> None:
        with pytest.raises(StoreConflict, match="already exists"):
            repo.add_tag(Tag(name="vip"))
        with pytest.raises(StoreConflict):
            repo.add_tag(Tag(name="ann's", kind=TagKind.PRIVATE, owner_id=ann.id))
        # Another user may have a private tag of the same name; find_tag prefers one's own.
        mine = repo.add_tag(Tag(name="VIP", kind=TagKind.PRIVATE, owner_id=bob.id))
        assert repo.find_tag("vip", bob.id) == mine
        assert repo.find_tag("vip", ann.id) == tagged["vip"]
        with pytest.raises(NotFound, match="no user"):
            repo.add_tag(Tag(name="Ghost's", kind=TagKind.PRIVATE, owner_id="ghost"))

    def test_contact_tag_must_exist(self, repo: Repository, people: dict[str, Contact]) -> None:
        with pytest.raises(NotFound, match="no tag nope"):
            repo.update_contact(people["zoe"].evolve(tags=["nope"]))
        with pytest.raises(NotFound, match="no tag nope"):
            repo.add_contact(Contact(given_name="X", tags=["nope"]))

    def test_delete_tag_untags_and_clears_sync_settings(self,
            repo: Repository, people: dict[str, Contact], tagged: dict[str, Tag],
            ann: User) -> None:
        repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=tagged["ann"].id,
                                             contacts_period=5))
        repo.delete_tag(tagged["ann"].id, ann.id)
        assert all(tagged["ann"].id not in c.tags for c in repo.iter_contacts())
        settings = repo.get_sync_settings(ann.id)
        assert settings.contacts_tag_id == ""
        assert settings.contacts_period == 5
        with pytest.raises(NotFound):
            repo.get_tag(tagged["ann"].id, ann.id)
        repo.delete_tag(tagged["vip"].id, None)
        assert all(tagged["vip"].id not in c.tags for c in repo.iter_contacts())
        assert ids(repo, tag_kind=TagKind.PUBLIC) == []
        # Bob's tag is untouched on the contacts.
        assert tagged["bob"].id in repo.get_contact(people["jose"].id).tags

    def test_delete_contact_leaves_the_activities(self, repo: Repository, people: dict[str, Contact],
                                                  ann: User) -> None:
        jose, zoe = people["jose"].id, people["zoe"].id
        act = repo.add_activity(Activity(
            title="Lunch", organizer_id=ann.id, start=T0,
            participants=[Participant("user", ann.id), Participant("contact", jose),
                          Participant("contact", zoe)]))
        other = repo.add_activity(Activity(title="Solo", organizer_id=ann.id,
                                           participants=[Participant("contact", zoe)]))
        repo.delete_contact(jose)
        with pytest.raises(NotFound):
            repo.get_contact(jose)
        stored = repo.get_activity(act.id)
        assert [(p.kind.value, p.ref_id) for p in stored.participants] == [("user", ann.id),
                                                                           ("contact", zoe)]
        assert stored.modified > act.modified
        assert repo.get_activity(other.id) == other  # untouched
        assert ids(repo, text="jose") == []
        with pytest.raises(NotFound):
            repo.delete_contact(jose)

    def test_users_own_contact_cannot_be_deleted(self, repo: Repository, ann: User) -> None:
        with pytest.raises(StoreConflict, match="belongs to the user ann@example.com"):
            repo.delete_contact(ann.contact_id)
        assert repo.get_contact(ann.contact_id).given_name == "Ann"

    def test_update_missing_contact(self, repo: Repository) -> None:
        with pytest.raises(NotFound):
            repo.update_contact(Contact(given_name="Ghost"))

    def test_update_touch_and_keep_modified(self, repo: Repository, people: dict[str, Contact]
                                            ) -> None:
        zoe = people["zoe"]
        kept = repo.update_contact(zoe.evolve(job_title="CTO", modified=T0), touch=False)
        assert repo.get_contact(zoe.id).modified == kept.modified == T0
        touched = repo.update_contact(zoe.evolve(job_title="CEO", modified=T0))
        assert touched.modified > T0
        assert repo.get_contact(zoe.id).modified == touched.modified

    def test_save_on_a_stale_contact_is_refused(self, repo: Repository, reopen: Callable[[], Repository],
                                                people: dict[str, Contact], ann: User, bob: User
                                                ) -> None:
        read_by_ann = repo.get_contact(people["joan"].id, ann.id)
        other = reopen()  # Bob, in another process
        read_by_bob = other.get_contact(people["joan"].id, bob.id)
        saved = other.update_contact(read_by_bob.evolve(job_title="CFO"), bob.id,
                                     expected=read_by_bob.modified)
        assert saved.modified_by == bob.id and saved.modified > read_by_bob.modified
        with pytest.raises(ChangedMeanwhile, match="changed by Bob Stone at ") as err:
            repo.update_contact(read_by_ann.evolve(notes="Ann's note"), ann.id,
                                expected=read_by_ann.modified)
        assert err.value.by == bob.id and err.value.by_name == "Bob Stone"
        assert err.value.at == saved.modified
        assert isinstance(err.value.current, Contact)
        assert err.value.current.job_title == "CFO" and err.value.current.notes == ""
        stored = repo.get_contact(people["joan"].id)
        assert (stored.job_title, stored.notes, stored.modified_by) == ("CFO", "", bob.id)
        # saved again deliberately, on the version just read: accepted
        again = repo.update_contact(err.value.current.evolve(notes="Ann's note"), ann.id,
                                    expected=err.value.current.modified)
        assert repo.get_contact(people["joan"].id).notes == "Ann's note"
        assert again.modified_by == ann.id
        # without a version the save is unconditional, as before
        repo.update_contact(read_by_bob.evolve(company="Other"), None)
        assert repo.get_contact(people["joan"].id).company == "Other"

    def test_a_sync_write_is_versioned_too(self, repo: Repository, people: dict[str, Contact],
                                           ann: User) -> None:
        zoe = people["zoe"]
        repo.update_contact(zoe.evolve(job_title="Edited"), ann.id)
        with pytest.raises(ChangedMeanwhile):  # the sync read zoe before the edit
            repo.update_contact(zoe.evolve(notes="from Google", modified=T0), ann.id,
                                touch=False, expected=zoe.modified)
        assert repo.get_contact(zoe.id).job_title == "Edited"

    def test_a_write_that_keeps_the_stamp_is_still_a_new_version(
            self, repo: Repository, people: dict[str, Contact], ann: User) -> None:
        zoe = people["zoe"]
        pulled = repo.update_contact(zoe.evolve(notes="pulled"), touch=False)
        assert zoe.modified < pulled.modified <= zoe.modified + timedelta(milliseconds=1)
        assert repo.get_contact(zoe.id).modified == pulled.modified
        with pytest.raises(ChangedMeanwhile) as err:  # a form opened before the write
            repo.update_contact(zoe.evolve(job_title="Boss"), ann.id, expected=zoe.modified)
        # the refusal names the sync, not the last person's save (whose stamp it kept)
        assert err.value.by_sync and str(err.value) == "changed by a sync with Google"
        assert err.value.current.notes == "pulled"
        act = repo.add_activity(Activity(title="Call", owner_id=ann.id, organizer_id=ann.id))
        kept = repo.update_activity(act.evolve(ical_uid="uid-1"), touch=False)
        assert kept.modified > act.modified
        kept = repo.update_activity(kept.evolve(location="Room 2"), touch=False)  # twice
        with pytest.raises(ChangedMeanwhile) as err:
            repo.update_activity(act.evolve(title="Call back"), expected=act.modified)
        assert err.value.by_sync and err.value.by_name == "a sync with Google"
        assert repo.get_activity(act.id).ical_uid == "uid-1"
        # a person's save after the sync's: named, with its time
        repo.update_contact(pulled.evolve(job_title="Chief"), ann.id)
        with pytest.raises(ChangedMeanwhile, match="changed by Ann Lee at ") as err:
            repo.update_contact(zoe.evolve(job_title="Boss"), ann.id, expected=zoe.modified)
        assert not err.value.by_sync

    def test_save_on_a_stale_activity_is_refused(self, repo: Repository, reopen: Callable[[], Repository],
                                                 ann: User, bob: User) -> None:
        act = repo.add_activity(Activity(title="Kick-off", owner_id=ann.id, organizer_id=ann.id))
        other = reopen()
        theirs = other.update_activity(act.evolve(location="Room 1", modified_by=bob.id),
                                       expected=act.modified)
        with pytest.raises(ChangedMeanwhile, match="changed by Bob Stone") as err:
            repo.update_activity(act.evolve(title="Kick-off!", modified_by=ann.id),
                                 expected=act.modified)
        assert isinstance(err.value.current, Activity)
        assert err.value.current.location == "Room 1" and err.value.at == theirs.modified
        assert repo.get_activity(act.id).title == "Kick-off"
        repo.update_activity(err.value.current.evolve(title="Kick-off!", modified_by=ann.id),
                             expected=err.value.current.modified)
        stored = repo.get_activity(act.id)
        assert (stored.title, stored.location, stored.modified_by) == ("Kick-off!", "Room 1", ann.id)
        with pytest.raises(ChangedMeanwhile, match="changed by Ann Lee"):
            other.update_activity(theirs, expected=theirs.modified)

    def test_revise_applies_the_change_again_on_a_version_saved_meanwhile(
            self, repo: Repository, reopen: Callable[[], Repository], people: dict[str, Contact],
            ann: User, bob: User) -> None:
        other = reopen()  # Bob saves, in another process, between the read and the write
        seen: list[str] = []

        def pull_notes(c: Contact) -> Contact:
            seen.append(c.job_title)
            if len(seen) == 1:
                mine = other.get_contact(c.id, bob.id)
                other.update_contact(mine.evolve(job_title="CFO"), bob.id)
            return c.evolve(notes="from Google")

        stored = repo.revise_contact(people["joan"].id, pull_notes, ann.id)
        assert seen[1:] == ["CFO"] and seen[0] != "CFO"  # read again after Bob's save
        assert (stored.job_title, stored.notes) == ("CFO", "from Google")
        now = repo.get_contact(people["joan"].id)
        assert (now.job_title, now.notes) == ("CFO", "from Google")
        assert repo.revise_contact(people["joan"].id, lambda c: None).modified == now.modified
        act = repo.add_activity(Activity(title="Call", owner_id=ann.id, organizer_id=ann.id))
        tries = 0

        def set_uid(a: Activity) -> Activity:
            nonlocal tries
            tries += 1
            if tries == 1:
                other.update_activity(other.get_activity(a.id).evolve(location="Room 1"))
            return a.evolve(ical_uid="uid-1")

        repo.revise_activity(act.id, set_uid)
        stored_act = repo.get_activity(act.id)
        assert tries == 2 and (stored_act.location, stored_act.ical_uid) == ("Room 1", "uid-1")

    def test_unknown_editor_is_someone_else(self, repo: Repository, people: dict[str, Contact]
                                            ) -> None:
        zoe = people["zoe"]
        repo.update_contact(zoe.evolve(job_title="X"))
        with pytest.raises(ChangedMeanwhile, match="changed by someone else"):
            repo.update_contact(zoe, expected=zoe.modified)

    def test_watch_tells_of_another_process_commit_until_stopped(
            self, repo: Repository, reopen: Callable[[], Repository]) -> None:
        other = reopen()
        told = threading.Event()
        stop = threading.Event()
        watcher = threading.Thread(target=repo.watch, args=(stop, told.set, 0.05))
        watcher.start()
        try:
            other.add_contact(Contact(given_name="Nina"))
            assert told.wait(10)
            repo.refresh()
            assert "Nina" in {c.given_name for c in repo.iter_contacts()}
        finally:
            stop.set()
            watcher.join(10)
        assert not watcher.is_alive()

    def test_users(self, repo: Repository, ann: User, bob: User) -> None:
        assert [u.name for u in repo.list_users()] == ["Ann Lee", "Bob Stone"]
        assert repo.find_user("ANN@example.com") == ann
        assert repo.find_user("ann.lee@example.org") == ann  # an email of her contact
        assert repo.find_user("nobody@example.com") is None
        assert repo.user_emails(ann.id) == ["ann@example.com", "ann.lee@example.org"]
        assert repo.get_contact(ann.contact_id).owner_id == ann.id
        with pytest.raises(StoreConflict, match="already exists"):
            repo.add_user(User(name="Ann 2", email="Ann@Example.com"))
        with pytest.raises(NotFound):
            repo.get_user("nope")
        with pytest.raises(NotFound, match="no contact"):
            repo.add_user(User(name="C", email="c@example.com", contact_id="missing"))

    def test_store_persists_across_opens(self, reopen: Callable[[], Repository], people: dict[str, Contact],
                                         repo: Repository) -> None:
        again = reopen()
        try:
            assert again.count_contacts() == 5
            assert again.get_contact(people["jose"].id) == people["jose"]
            assert set(again.contact_ids(ContactQuery(text="angstrom"), None)) == {people["jose"].id}
        finally:
            again.close()

    def test_narrow_and_broad_results_sort_alike(self, repo: Repository) -> None:
        """Few matches are sorted directly, many are picked from the cached order of all contacts:
        both give the same order, also after edits that invalidate the cache."""

        rng = random.Random(7)
        names = ["Ann", "Åsa", "Bob", "Zoë", "Émile", "Li", ""]
        repo.add_contacts([
            Contact(given_name=rng.choice(names), family_name=f"Fam{rng.randrange(50):02d}",
                    company=rng.choice(["ACME", "Globex", ""]) or "Solo",
                    emails=[f"p{i}@example.com"], phones=[f"+1 555 {i:04d}"] if i % 3 else [])
            for i in range(160)])

        def check() -> None:
            for column in CONTACT_SORTS:
                for descending in (False, True):
                    full = ids(repo, sort=column, descending=descending)
                    assert len(full) == repo.count_contacts()
                    for text in ("fam0", "acme", "555", "ann", "p1", "zoe fam1", "p15", "fam07"):
                        matched = set(ids(repo, text=text))
                        assert 0 < len(matched)
                        assert ids(repo, text=text, sort=column, descending=descending) == [
                            cid for cid in full if cid in matched], (column, descending, text)

        check()
        first = ids(repo, sort="name")[0]
        repo.update_contact(repo.get_contact(first).evolve(family_name="Zzz", given_name="Ann"))
        repo.delete_contact(ids(repo, sort="name")[5])
        repo.add_contact(Contact(given_name="Ann", family_name="Aaa", company="ACME"))
        check()
        assert ids(repo, sort="name", limit=1) != [first]
        assert ids(repo, sort="name", descending=True, limit=1) == [first]

    @pytest.fixture
    def acts(self, repo: Repository, ann: User, bob: User) -> dict[str, Activity]:
        client = repo.add_contact(Contact(given_name="Client"))
        # Every activity has an organizer; Cem organizes those neither Ann nor Bob is part of.
        cem = repo.add_user(User(name="Cem Aydin", email="cem@example.com"))
        made = {
            # 2024-03-10 00:30 in Tokyo is 2024-03-09 15:30 UTC: its local date is the 10th.
            "tokyo": Activity(title="Tokyo breakfast", type=ActivityType.MEETING,
                              start=datetime(2024, 3, 10, 0, 30, tzinfo=TOKYO),
                              end=datetime(2024, 3, 10, 1, 30, tzinfo=TOKYO), timezone="Asia/Tokyo",
                              organizer_id=ann.id, show_in_calendar=True, priority=Priority.HIGH,
                              status=ActivityStatus.COMPLETED),
            # 2024-03-09 23:00 in New York is 2024-03-10 04:00 UTC: its local date is the 9th.
            "nyc": Activity(title="Late call", type=ActivityType.CALL,
                            start=datetime(2024, 3, 9, 23, 0, tzinfo=NEW_YORK),
                            timezone="America/New_York", organizer_id=bob.id,
                            participants=[Participant("user", ann.id)], priority=Priority.LOW,
                            location="Café Zürich"),
            "allday": Activity(title="Conference", type=ActivityType.MEETING, all_day=True,
                               start_date=date(2024, 3, 10), end_date=date(2024, 3, 12),
                               organizer_id=bob.id, show_in_calendar=True,
                               participants=[Participant("contact", client.id)],
                               status=ActivityStatus.IN_PROGRESS),
            "utc": Activity(title="Email follow-up", type=ActivityType.EMAIL,
                            start=datetime(2024, 3, 11, 12, 0, tzinfo=UTC),
                            notes="Send the Ångström quote", status=ActivityStatus.CANCELLED,
                            organizer_id=cem.id),
            "undated": Activity(title="Someday task", owner_id=ann.id, organizer_id=cem.id,
                                priority=Priority.HIGH),
        }
        base = datetime(2024, 1, 1, tzinfo=UTC)
        for i, a in enumerate(made.values()):
            made_at = base + timedelta(hours=i)
            repo.add_activity(a.evolve(created=made_at, modified=made_at))
        return {k: repo.get_activity(a.id) for k, a in made.items()}

    @pytest.mark.parametrize(("start_from", "start_to", "expected"), [
        # Dates compare with the local start date.
        (date(2024, 3, 10), date(2024, 3, 11), {"tokyo", "allday"}),
        (date(2024, 3, 9), date(2024, 3, 10), {"nyc"}),
        (date(2024, 3, 11), None, {"utc"}),
        (None, date(2024, 3, 10), {"nyc"}),
        (date(2024, 3, 12), date(2024, 3, 20), set()),  # the conference started on the 10th
        # Datetimes compare with the start instant.
        (datetime(2024, 3, 9, 15, 30, tzinfo=UTC), datetime(2024, 3, 9, 15, 31, tzinfo=UTC),
         {"tokyo"}),
        (datetime(2024, 3, 9, 15, 31, tzinfo=UTC), None, {"nyc", "allday", "utc"}),
        (datetime(2024, 3, 10, 4, 0, tzinfo=UTC), datetime(2024, 3, 11, 12, 0, tzinfo=UTC),
         {"nyc", "allday"}),   # the end is exclusive
        (None, datetime(2024, 3, 10, 4, 0, tzinfo=UTC), {"tokyo"}),
        (datetime(2024, 3, 10, 0, 0, tzinfo=TOKYO), datetime(2024, 3, 11, 0, 0, tzinfo=TOKYO),
         {"tokyo", "nyc", "allday"}),
        # An all-day activity compares with the bound's own date.
        (datetime(2024, 3, 10, 23, 0, tzinfo=UTC), datetime(2024, 3, 10, 23, 30, tzinfo=UTC),
         set()),
        (datetime(2024, 3, 9, 23, 0, tzinfo=UTC), datetime(2024, 3, 11, 0, 0, tzinfo=UTC),
         {"nyc", "allday"}),
    ])
    def test_date_range(self, repo: Repository, acts: dict[str, Activity],
                        start_from: date | datetime | None, start_to: date | datetime | None,
                        expected: set[str]) -> None:
        assert set(found(repo, acts, start_from=start_from, start_to=start_to)) == expected

    def test_undated_activities_only_without_a_range(self, repo: Repository,
                                                     acts: dict[str, Activity]) -> None:
        assert "undated" in found(repo, acts)
        assert "undated" not in found(repo, acts, start_from=date(2000, 1, 1))

    def test_by_user_organizer_or_participant(self, repo: Repository, acts: dict[str, Activity],
                                              ann: User, bob: User) -> None:
        assert set(found(repo, acts, user_id=ann.id)) == {"tokyo", "nyc"}  # owner alone is not it
        assert set(found(repo, acts, user_id=bob.id)) == {"nyc", "allday"}
        assert found(repo, acts, user_id="nobody") == []

    def test_by_calendar_flag_type_and_text(self, repo: Repository, acts: dict[str, Activity]
                                            ) -> None:
        assert set(found(repo, acts, show_in_calendar=True)) == {"tokyo", "allday"}
        assert set(found(repo, acts, show_in_calendar=False)) == {"nyc", "utc", "undated"}
        assert set(found(repo, acts, type=ActivityType.MEETING)) == {"tokyo", "allday"}
        assert found(repo, acts, type=ActivityType.CALL) == ["nyc"]
        assert found(repo, acts, text="cafe zurich") == ["nyc"]    # location, accents folded
        assert found(repo, acts, text="ANGSTROM quote") == ["utc"]  # notes
        assert found(repo, acts, text="someday TASK") == ["undated"]
        assert found(repo, acts, text="someday call") == []
        assert set(found(repo, acts, show_in_calendar=True, type=ActivityType.MEETING,
                         start_from=date(2024, 3, 10), start_to=date(2024, 3, 11))) == {"tokyo",
                                                                                         "allday"}

    def test_sort_by_start(self, repo: Repository, acts: dict[str, Activity]) -> None:
        # By instant; an all-day activity counts from midnight UTC; undated ones last.
        assert found(repo, acts) == ["tokyo", "allday", "nyc", "utc", "undated"]
        assert found(repo, acts, descending=True) == ["undated", "utc", "nyc", "allday", "tokyo"]

    @pytest.mark.parametrize("column", ACTIVITY_SORTS)
    def test_activities_sort_every_column(self, repo: Repository, acts: dict[str, Activity], column: str
                               ) -> None:
        asc = repo.find_activities(ActivityQuery(sort=column))
        desc = repo.find_activities(ActivityQuery(sort=column, descending=True))
        assert [a.id for a in desc] == [a.id for a in asc][::-1]
        assert len(asc) == len(acts)
        primary = {
            "start": lambda a: a.sort_start() or datetime.max.replace(tzinfo=UTC),
            "title": lambda a: fold(a.title),
            "type": lambda a: a.type.value,
            "status": lambda a: a.status.value,
            "priority": lambda a: ["high", "medium", "low"].index(a.priority.value),
            "created": lambda a: a.created,
            "modified": lambda a: a.modified,
        }[column]
        values = [primary(a) for a in asc]
        assert values == sorted(values)

    def test_sort_ties_by_start(self, repo: Repository, acts: dict[str, Activity]) -> None:
        assert found(repo, acts, sort="priority") == ["tokyo", "undated", "allday", "utc", "nyc"]
        assert found(repo, acts, sort="type")[:2] == ["nyc", "utc"]  # call, email
        assert found(repo, acts, sort="title") == ["allday", "utc", "nyc", "undated", "tokyo"]

    def test_offset_limit_and_bad_sort(self, repo: Repository, acts: dict[str, Activity]) -> None:
        assert found(repo, acts, offset=1, limit=2) == ["allday", "nyc"]
        assert found(repo, acts, offset=4, limit=10) == ["undated"]
        with pytest.raises(ValidationError, match="sort: must be one of start, title"):
            repo.find_activities(ActivityQuery(sort="colour"))

    def test_an_activity_without_an_organizer_is_refused(
            self, repo: Repository, acts: dict[str, Activity]) -> None:
        with pytest.raises(ValidationError, match="organizer"):
            repo.add_activity(Activity(title="Nobody's"))
        with pytest.raises(ValidationError, match="organizer"):
            repo.update_activity(acts["nyc"].evolve(organizer_id=""))
        assert repo.get_activity(acts["nyc"].id).organizer_id == acts["nyc"].organizer_id
        dump = {"activities": [{**acts["nyc"].to_dict(), "id": "copy", "organizer_id": ""}]}
        with pytest.raises(ValidationError, match=r"activities\[1\]\.organizer_id"):
            repo.load_dump(dump)
        assert "copy" not in repo.activity_ids()

    def test_activity_references_and_crud(self, repo: Repository, acts: dict[str, Activity],
                                          ann: User) -> None:
        with pytest.raises(NotFound, match="no user ghost"):
            repo.add_activity(Activity(title="x", organizer_id="ghost"))
        with pytest.raises(NotFound, match="no contact c0"):
            repo.add_activity(Activity(title="x", organizer_id=ann.id,
                                       participants=[Participant("contact", "c0")]))
        with pytest.raises(StoreConflict):
            repo.add_activity(acts["utc"])
        with pytest.raises(NotFound):
            repo.update_activity(Activity(title="never stored"))
        changed = repo.update_activity(acts["utc"].evolve(title="Email sent"))
        assert repo.get_activity(changed.id).title == "Email sent"
        assert changed.modified > acts["utc"].modified
        # Deleting a series detaches its occurrences.
        occurrence = repo.add_activity(Activity(title="One", organizer_id=ann.id,
                                                series_id=acts["tokyo"].id))
        repo.delete_activity(acts["tokyo"].id)
        assert repo.get_activity(occurrence.id).series_id == ""
        with pytest.raises(NotFound):
            repo.get_activity(acts["tokyo"].id)
        with pytest.raises(NotFound):
            repo.delete_activity(acts["tokyo"].id)

    def test_activity_round_trips_through_the_store(self, repo: Repository,
                                                    acts: dict[str, Activity]) -> None:
        tokyo = repo.get_activity(acts["tokyo"].id)
        assert tokyo.start == datetime(2024, 3, 9, 15, 30, tzinfo=UTC)
        assert tokyo.start.utcoffset() == timedelta(hours=9)
        assert repo.get_activity(acts["allday"].id).end_date == date(2024, 3, 12)

    def test_naive_datetime_bound_is_refused(self, repo: Repository, acts: dict[str, Activity]
                                             ) -> None:
        with pytest.raises(ValidationError, match="start_from: must carry a time zone"):
            repo.find_activities(ActivityQuery(start_from=datetime(2024, 3, 10)))
        with pytest.raises(ValidationError, match="start_to: must carry a time zone"):
            repo.find_activities(ActivityQuery(start_to=datetime(2024, 3, 10)))

    def test_settings_default_and_saved(self, repo: Repository, ann: User, ann_private_tag: Tag
                                        ) -> None:
        default = repo.get_sync_settings(ann.id)
        assert default == SyncSettings(user_id=ann.id)
        saved = SyncSettings(user_id=ann.id, contacts_auto=True, contacts_period=15,
                             contacts_tag_id=ann_private_tag.id, activities_auto=True,
                             activities_period=1, activities_from=date(2024, 2, 1))
        repo.save_sync_settings(saved)
        assert repo.get_sync_settings(ann.id) == saved
        repo.save_sync_settings(saved.evolve(contacts_period=30))
        assert repo.get_sync_settings(ann.id).contacts_period == 30

    @pytest.mark.parametrize("kind", [TagKind.PUBLIC, TagKind.CORPORATE])
    def test_sync_tag_must_be_private(self, repo: Repository, ann: User, kind: TagKind) -> None:
        tag = repo.add_tag(Tag(name="Shared", kind=kind))
        with pytest.raises(ValidationError, match=f"must be a private tag.*is a {kind.value} tag"
                           ) as info:
            repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=tag.id))
        assert info.value.field == "contacts_tag_id"
        assert repo.get_sync_settings(ann.id).contacts_tag_id == ""

    def test_sync_tag_must_be_the_users_own(self, repo: Repository, ann: User, bob: User,
                                            ann_private_tag: Tag) -> None:
        with pytest.raises(ValidationError, match="private tag of another user"):
            repo.save_sync_settings(SyncSettings(user_id=bob.id, contacts_tag_id=ann_private_tag.id))
        with pytest.raises(NotFound, match="no tag"):
            repo.save_sync_settings(SyncSettings(user_id=bob.id, contacts_tag_id="missing"))
        with pytest.raises(NotFound, match="no user"):
            repo.save_sync_settings(SyncSettings(user_id="ghost"))

    def test_sync_state_per_user_and_kind(self, repo: Repository, ann: User, bob: User) -> None:
        assert repo.get_sync_state(ann.id, CONTACTS) == {}
        repo.set_sync_state(ann.id, CONTACTS, {"token": "t1", "group": "contactGroups/1"})
        repo.set_sync_state(ann.id, ACTIVITIES, {"token": "cal"})
        repo.set_sync_state(ann.id, CONTACTS, {"token": "t2"})  # replaces, not merges
        assert repo.get_sync_state(ann.id, CONTACTS) == {"token": "t2"}
        assert repo.get_sync_state(ann.id, ACTIVITIES) == {"token": "cal"}
        assert repo.get_sync_state(bob.id, CONTACTS) == {}
        state = repo.get_sync_state(ann.id, CONTACTS)
        state["token"] = "mutated"
        assert repo.get_sync_state(ann.id, CONTACTS) == {"token": "t2"}  # a copy

    def test_links(self, repo: Repository, ann: User, bob: User) -> None:
        repo.put_link(link(ann, "c1", "people/1"))
        repo.put_link(link(ann, "c2", "people/2"))
        repo.put_link(link(ann, "a1", "people/1", kind=ACTIVITIES))  # another kind: no clash
        repo.put_link(link(bob, "c1", "people/1"))  # another user: no clash
        assert repo.get_link(ann.id, CONTACTS, "c1") == link(ann, "c1", "people/1")
        assert repo.link_by_remote(ann.id, CONTACTS, "people/2") == link(ann, "c2", "people/2")
        assert repo.link_by_remote(ann.id, ACTIVITIES, "people/2") is None
        assert repo.get_link(ann.id, CONTACTS, "nope") is None
        assert {lk.local_id for lk in repo.list_links(ann.id, CONTACTS)} == {"c1", "c2"}
        assert len(repo.list_links(bob.id, CONTACTS)) == 1
        # Updating a link keeps it unique; relinking to a new remote frees the old one.
        repo.put_link(link(ann, "c1", "people/1", etag="e2"))
        assert repo.get_link(ann.id, CONTACTS, "c1").etag == "e2"  # type: ignore[union-attr]
        repo.put_link(link(ann, "c1", "people/9"))
        assert repo.link_by_remote(ann.id, CONTACTS, "people/1") is None
        assert repo.link_by_remote(ann.id, CONTACTS, "people/9").local_id == "c1"  # type: ignore[union-attr]
        repo.delete_link(ann.id, CONTACTS, "c1")
        repo.delete_link(ann.id, CONTACTS, "c1")  # deleting twice is harmless
        assert repo.get_link(ann.id, CONTACTS, "c1") is None
        assert repo.link_by_remote(ann.id, CONTACTS, "people/9") is None
        repo.put_link(link(ann, "c3", "people/9"))  # the remote id is free again

    def test_duplicate_remote_id_is_a_conflict(self, repo: Repository, ann: User) -> None:
        repo.put_link(link(ann, "c1", "people/1"))
        with pytest.raises(StoreConflict, match="people/1 is already linked"):
            repo.put_link(link(ann, "c2", "people/1"))
        assert repo.get_link(ann.id, CONTACTS, "c2") is None
        assert repo.link_by_remote(ann.id, CONTACTS, "people/1").local_id == "c1"  # type: ignore[union-attr]

    def test_link_index_survives_rollback_and_reopen(self, reopen: Callable[[], Repository], repo: Repository, ann: User) -> None:
        repo.put_link(link(ann, "c1", "people/1"))
        with pytest.raises(RuntimeError), repo.transaction():
            repo.put_link(link(ann, "c2", "people/2"))
            raise RuntimeError
        assert repo.link_by_remote(ann.id, CONTACTS, "people/2") is None
        again = reopen()
        try:
            assert again.link_by_remote(ann.id, CONTACTS, "people/1").local_id == "c1"  # type: ignore[union-attr]
            with pytest.raises(StoreConflict):
                again.put_link(link(ann, "c9", "people/1"))
        finally:
            again.close()

    def test_runs_newest_first_and_replaced_by_id(self, repo: Repository, ann: User) -> None:
        first = SyncRun(user_id=ann.id, kind=CONTACTS, started=T0)
        second = SyncRun(user_id=ann.id, kind=ACTIVITIES, started=T0 + timedelta(hours=1))
        repo.add_run(first)
        repo.add_run(second)
        done = first.evolve(status="ok", finished=T0 + timedelta(minutes=1), counts={"added": 3})
        repo.add_run(done)
        assert repo.list_runs(ann.id) == [second, done]
        assert repo.list_runs(ann.id, CONTACTS) == [done]
        assert repo.list_runs(ann.id, limit=1) == [second]
        assert repo.list_runs("someone-else") == []

    def test_journal_keeps_the_latest_runs_per_user(self, repo: Repository, ann: User, bob: User
                                                    ) -> None:
        extra = 5
        with repo.transaction():
            for i in range(JOURNAL_MAX_RUNS + extra):
                repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, started=T0 + timedelta(minutes=i),
                                     id=f"ann{i}"))
            for i in range(3):
                repo.add_run(SyncRun(user_id=bob.id, kind=CONTACTS, started=T0, id=f"bob{i}"))
        runs = repo.list_runs(ann.id)
        assert len(runs) == JOURNAL_MAX_RUNS
        assert runs[0].id == f"ann{JOURNAL_MAX_RUNS + extra - 1}"
        assert runs[-1].id == f"ann{extra}"  # the oldest ones went
        assert len(repo.list_runs(bob.id)) == 3  # another user's journal is not trimmed

    def test_journal_trims_by_instant_not_by_text(self, repo: Repository, ann: User,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("crmtui.store.repository.JOURNAL_MAX_RUNS", 2)
        tokyo = ZoneInfo("Asia/Tokyo")
        # As text "2024-01-01T10:00+09:00" sorts after "2024-01-01T05:00+00:00", yet it is older.
        repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, id="oldest",
                             started=datetime(2024, 1, 1, 10, 0, tzinfo=tokyo)))
        repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, id="middle",
                             started=datetime(2024, 1, 1, 5, 0, tzinfo=UTC)))
        repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, id="newest",
                             started=datetime(2024, 1, 1, 6, 0, tzinfo=UTC)))
        assert [r.id for r in repo.list_runs(ann.id)] == ["newest", "middle"]

    def test_conflicts_of_a_run_are_capped(self, repo: Repository, ann: User) -> None:
        extra = 7
        conflicts = [Conflict(record_id=f"c{i}", field_name="phone", kept=str(i), lost="old",
                              winner="crm", at=T0) for i in range(JOURNAL_MAX_CONFLICTS + extra)]
        repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS, conflicts=conflicts, errors=["first"]))
        (run,) = repo.list_runs(ann.id)
        assert len(run.conflicts) == JOURNAL_MAX_CONFLICTS
        assert run.conflicts[0].record_id == f"c{extra}"  # the latest ones are kept
        assert run.conflicts[-1].record_id == f"c{JOURNAL_MAX_CONFLICTS + extra - 1}"
        assert run.errors[0] == "first"
        assert run.errors[1] == f"{extra} older conflicts of this run were not kept in the journal"

    def test_accounts(self, repo: Repository, ann: User, bob: User) -> None:
        acc = repo.add_account(Account(user_id=ann.id, email="ann@gmail.com"))
        assert repo.get_account(acc.id) == acc
        with pytest.raises(StoreConflict, match="already has a linked google account"):
            repo.add_account(Account(user_id=ann.id, email="ann2@gmail.com"))
        with pytest.raises(NotFound, match="no user"):
            repo.add_account(Account(user_id="ghost", email="g@gmail.com"))
        bobs = repo.add_account(Account(user_id=bob.id, email="bob@gmail.com"))
        repo.update_account(acc.evolve(state=AccountState.NEEDS_RECONNECT, state_message="expired"))
        assert repo.get_account(acc.id).state is AccountState.NEEDS_RECONNECT
        assert repo.list_accounts(ann.id) == [repo.get_account(acc.id)]
        assert len(repo.list_accounts()) == 2
        repo.delete_account(bobs.id)
        with pytest.raises(NotFound):
            repo.get_account(bobs.id)
        with pytest.raises(NotFound):
            repo.delete_account(bobs.id)
        with pytest.raises(NotFound):
            repo.update_account(bobs)

    def test_dump_and_load_round_trip(self, make_store: Callable[[], Repository], repo: Repository, ann: User, ann_private_tag: Tag,
                                      tmp_path: object) -> None:
        c = repo.add_contact(Contact(given_name="Tagged", tags=[ann_private_tag.id]))
        repo.save_sync_settings(SyncSettings(user_id=ann.id, contacts_tag_id=ann_private_tag.id))
        repo.put_link(link(ann, c.id, "people/1"))
        repo.set_sync_state(ann.id, CONTACTS, {"token": "t"})
        repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS))
        dump = repo.dump()
        target = make_store()
        try:
            counts = target.load_dump(dump)
            assert counts["contacts"] == 2 and counts["tags"] == 1 and counts["sync_links"] == 1
            assert target.dump() == dump
            assert target.link_by_remote(ann.id, CONTACTS, "people/1").local_id == c.id  # type: ignore[union-attr]
            with pytest.raises(StoreConflict, match="already exists"):
                target.load_dump(dump)
            assert target.count_contacts() == 2
        finally:
            target.close()

    def test_load_dump_is_all_or_nothing(self, repo: Repository) -> None:
        good = Contact(given_name="Good").to_dict()
        bad = Contact(given_name="Bad", tags=["missing-tag"]).to_dict()
        with pytest.raises(NotFound, match="carries a missing tag"):
            repo.load_dump({"contacts": [good, bad]})
        assert repo.count_contacts() == 0
        with pytest.raises(ValidationError, match=r"contacts\[2\]\.emails"):
            repo.load_dump({"contacts": [good, {**good, "id": "x2", "emails": [{"value": "a@x.com"}] * 2}]})
        with pytest.raises(ValidationError, match="unknown section"):
            repo.load_dump({"contactz": []})
        assert repo.count_contacts() == 0

    def test_load_dump_refuses_a_taken_email_or_tag_name(self, make_store: Callable[[], Repository], repo: Repository, tmp_path) -> None:
        source = make_store()
        ann = source.add_user(User(name="Ann", email="ann@example.com"))
        source.add_tag(Tag(name="VIP", kind=TagKind.PUBLIC))
        source.add_tag(Tag(name="Mine", kind=TagKind.PRIVATE, owner_id=ann.id))
        dump = source.dump()

        repo.add_user(User(name="Other Ann", email="ANN@example.com"))
        before = repo.dump()
        with pytest.raises(StoreConflict, match="users: a user with the email ann@example.com"):
            repo.load_dump(dump)
        assert repo.dump() == before

        target = make_store()
        target.add_tag(Tag(name="vip", kind=TagKind.PUBLIC))
        with pytest.raises(StoreConflict, match="tags: a tag named 'VIP' already exists"):
            target.load_dump(dump)
        assert target.list_tags(None) and len(target.list_users()) == 0

        # A private tag of the same name belongs to another scope: no clash.
        fresh = make_store()
        fresh.load_dump({"tags": [Tag(name="vip", kind=TagKind.CORPORATE).to_dict()]})
        with pytest.raises(StoreConflict, match="tags: a tag named 'VIP'"):
            fresh.load_dump(dump)  # public and corporate share one scope
        fresh2 = make_store()
        other = fresh2.add_user(User(name="Zed", email="zed@example.com"))
        fresh2.add_tag(Tag(name="Mine", kind=TagKind.PRIVATE, owner_id=other.id))
        assert fresh2.load_dump(dump)["tags"] == 2

    # ----------------------------------------------------------------------- transactions

    def test_writes_in_a_transaction_are_seen_elsewhere_only_at_its_end(
            self, repo: Repository, reopen: Callable[[], Repository]) -> None:
        other = reopen()
        with repo.transaction():
            a = repo.add_contact(Contact(given_name="A"))
            with repo.transaction():
                repo.add_contact(Contact(given_name="B"))
                with repo.transaction():
                    repo.update_contact(a.evolve(family_name="Z"))
            assert repo.count_contacts() == 2  # the transaction sees its own writes
            assert other.count_contacts() == 0  # nobody else does yet
        assert other.count_contacts() == 2
        assert other.get_contact(a.id).family_name == "Z"
        repo.add_contact(Contact(given_name="C"))  # a write outside a transaction commits
        assert other.count_contacts() == 3

    def test_exception_leaves_nothing_written(self, repo: Repository, ann: User,
                                              reopen: Callable[[], Repository]) -> None:
        with pytest.raises(Boom):
            with repo.transaction():
                c = repo.add_contact(Contact(given_name="Ghost", emails=["ghost@example.com"]))
                repo.update_contact(repo.get_contact(ann.contact_id).evolve(family_name="Changed"))
                assert repo.count_contacts() == 2
                raise Boom
        for store in (repo, reopen()):
            with pytest.raises(NotFound):
                store.get_contact(c.id)
            assert store.get_contact(ann.contact_id).family_name == "Lee"
            assert store.contact_ids(ContactQuery(text="ghost"), None) == []
            assert store.contacts_with_email("ghost@example.com") == []
            assert store.count_contacts() == 1
        repo.add_contact(Contact(given_name="After"))  # the repository works afterwards
        assert repo.count_contacts() == 2

    def test_rollback_after_search_index_was_built(self, repo: Repository) -> None:
        repo.add_contact(Contact(given_name="Kept"))
        assert len(repo.contact_ids(ContactQuery(text="kept"), None)) == 1
        with pytest.raises(Boom), repo.transaction():
            repo.add_contact(Contact(given_name="Dropped"))
            assert len(repo.contact_ids(ContactQuery(text="dropped"), None)) == 1
            raise Boom
        assert repo.contact_ids(ContactQuery(text="dropped"), None) == []
        assert len(repo.contact_ids(ContactQuery(text="kept"), None)) == 1

    def test_failed_inner_write_dooms_the_outer_transaction(
            self, repo: Repository, reopen: Callable[[], Repository]) -> None:
        with pytest.raises(StoreError, match="rolled back and nothing was written"):
            with repo.transaction():
                repo.add_contact(Contact(given_name="Outer"))
                try:
                    with repo.transaction():
                        repo.add_contact(Contact(given_name="Inner"))
                        raise Boom
                except Boom:
                    pass  # the caller carries on as if nothing happened
                repo.add_contact(Contact(given_name="Later"))
        assert repo.count_contacts() == 0
        assert reopen().count_contacts() == 0

    def test_failed_check_before_any_write_does_not_doom(self, repo: Repository, ann: User
                                                         ) -> None:
        with repo.transaction():
            repo.add_contact(Contact(given_name="Kept"))
            with pytest.raises(StoreConflict):
                repo.add_user(User(name="Ann again", email="ann@example.com"))
            with pytest.raises(NotFound):
                repo.update_contact(Contact(given_name="Never stored"))
            with pytest.raises(NotFound):
                repo.delete_contact("nope")
        assert repo.count_contacts() == 2

    def test_a_failed_transaction_holds_nothing_back(self, repo: Repository,
                                                      reopen: Callable[[], Repository]) -> None:
        other = reopen()
        with pytest.raises(Boom), repo.transaction():
            repo.add_contact(Contact(given_name="X"))
            raise Boom
        other.add_contact(Contact(given_name="Other"))  # would wait if a lock were held
        assert repo.count_contacts() == 1

    # ----------------------------------------------------------------------- other processes

    def test_other_process_commit_is_seen(self, repo: Repository,
                                          reopen: Callable[[], Repository]) -> None:
        other = reopen()
        assert repo.refresh() is False
        generation = repo.generation
        c = other.add_contact(Contact(given_name="From", family_name="Elsewhere"))
        assert repo.generation != generation  # reading the generation picks it up
        assert repo.refresh() is False  # already loaded
        other.add_contact(Contact(given_name="Second"))
        assert repo.refresh() is True
        assert repo.refresh() is False
        other.update_contact(c.evolve(given_name="Changed"))
        # Plain reads pick up the commit without an explicit refresh.
        assert repo.get_contact(c.id).given_name == "Changed"
        assert repo.contact_ids(ContactQuery(text="changed"), None) == [c.id]
        assert repo.count_contacts() == 2

    def test_generation_changes_once_per_commit_and_not_on_reads(self, repo: Repository
                                                                 ) -> None:
        generation = repo.generation
        repo.contact_ids(ContactQuery(text="x"), None)
        repo.list_users()
        assert repo.generation == generation
        with repo.transaction():
            repo.add_contact(Contact(given_name="A"))
            repo.add_contact(Contact(given_name="B"))
        after = repo.generation
        assert after != generation
        repo.add_contact(Contact(given_name="C"))
        assert repo.generation not in (generation, after)

    def test_stale_writer_does_not_lose_the_other_commit(
            self, repo: Repository, reopen: Callable[[], Repository]) -> None:
        other = reopen()
        a = repo.add_contact(Contact(given_name="A"))
        assert other.count_contacts() == 1
        repo.add_contact(Contact(given_name="B"))
        # ``other`` last read before B was committed; its write must keep B.
        other.update_contact(other.get_contact(a.id).evolve(given_name="A2"))
        assert sorted(c.given_name for c in reopen().iter_contacts()) == ["A2", "B"]

    def test_transaction_starts_from_the_latest_commit(
            self, repo: Repository, reopen: Callable[[], Repository]) -> None:
        other = reopen()
        counter = repo.add_contact(Contact(given_name="Counter", job_title="0"))
        other.get_contact(counter.id)
        for _ in range(3):
            for store in (repo, other):
                with store.transaction():
                    current = store.get_contact(counter.id)
                    store.update_contact(current.evolve(job_title=str(int(current.job_title) + 1)))
        assert repo.get_contact(counter.id).job_title == "6"

    # ----------------------------------------------------------------------- erase

    def test_erase_removes_everything_in_one_transaction(
            self, repo: Repository, ann: User, ann_private_tag: Tag,
            reopen: Callable[[], Repository]) -> None:
        c = repo.add_contact(Contact(given_name="Tagged", tags=[ann_private_tag.id]))
        repo.add_activity(Activity(title="Call", organizer_id=ann.id,
                                   participants=[Participant("contact", c.id)]))
        repo.put_link(link(ann, c.id, "people/1"))
        repo.set_sync_state(ann.id, CONTACTS, {"token": "t"})
        repo.add_run(SyncRun(user_id=ann.id, kind=CONTACTS))
        dump = repo.dump()
        with pytest.raises(Boom), repo.transaction():
            repo.erase()
            raise Boom
        assert repo.dump() == dump
        repo.erase()
        assert not any(repo.dump().values())
        assert not any(reopen().dump().values())
        assert repo.load_dump(dump)["contacts"] == 2
        assert repo.get_contact(c.id, ann.id).tags == [ann_private_tag.id]

    # ----------------------------------------------------------------------- one sync at a time

    def test_one_sync_per_user_and_kind(self, repo: Repository, ann: User, bob: User,
                                        reopen: Callable[[], Repository], tmp_path: Path
                                        ) -> None:
        other = reopen()  # as another process (or, for a shared database, computer) would
        locks = tmp_path / "locks"
        with repo.sync_lock(ann.id, CONTACTS, locks):
            with pytest.raises(SyncLocked, match="contacts sync of this user is already running"):
                with other.sync_lock(ann.id, CONTACTS, locks):
                    pass
            with other.sync_lock(ann.id, ACTIVITIES, locks), \
                    other.sync_lock(bob.id, CONTACTS, locks):
                pass  # another kind, another user: no wait
        with other.sync_lock(ann.id, CONTACTS, locks):  # released at the end of the block
            pass
        with pytest.raises(Boom), repo.sync_lock(ann.id, CONTACTS, locks):
            raise Boom
        with other.sync_lock(ann.id, CONTACTS, locks):  # and when the block fails
            pass
