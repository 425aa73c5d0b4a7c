"""Contact queries: search, tag filters, sorting, paging, private tags, deletion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crmtui.model import (
    Activity,
    Contact,
    Participant,
    SyncSettings,
    Tag,
    TagKind,
    User,
    ValidationError,
    fold,
)
from crmtui.store import (
    CONTACT_SORTS,
    ContactQuery,
    NotFound,
    StoreConflict,
    TinyDBRepository,
    open_store,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def people(repo: TinyDBRepository) -> dict[str, Contact]:
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


def ids(repo: TinyDBRepository, viewer: str | None = None, **kw: object) -> list[str]:
    return repo.contact_ids(ContactQuery(**kw), viewer)  # type: ignore[arg-type]


def keys(people: dict[str, Contact], found: list[str]) -> list[str]:
    by_id = {c.id: k for k, c in people.items()}
    return [by_id[i] for i in found if i in by_id]


# --------------------------------------------------------------------------- search


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
def test_search(repo: TinyDBRepository, people: dict[str, Contact], text: str,
                expected: set[str]) -> None:
    assert set(keys(people, ids(repo, text=text))) == expected


def test_search_does_not_match_across_fields(repo: TinyDBRepository,
                                             people: dict[str, Contact]) -> None:
    # "josé" ends a name and "álvarez" begins the next one: a word never spans both.
    assert ids(repo, text="josealvarez") == []
    assert ids(repo, text="jose@example.comjoan") == []


def test_short_digit_runs_do_not_match_any_phone(repo: TinyDBRepository,
                                                 people: dict[str, Contact]) -> None:
    # Two digits are too few to be a phone search; they only match literally.
    assert ids(repo, text="99") == []


def test_index_follows_writes(repo: TinyDBRepository, people: dict[str, Contact]) -> None:
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


# --------------------------------------------------------------------------- sorting and paging


def _values(repo: TinyDBRepository, column: str, found: list[str]) -> list[object]:
    out: list[object] = []
    for c in repo.get_contacts(found):
        out.append({
            "name": c.family_name or c.display_name, "given_name": c.given_name,
            "family_name": c.family_name, "company": c.company, "job_title": c.job_title,
            "email": c.primary_email, "phone": c.primary_phone, "birthday": c.birthday,
            "created": c.created, "modified": c.modified,
        }[column])
    return out


@pytest.mark.parametrize("column", CONTACT_SORTS)
def test_sort_every_column(repo: TinyDBRepository, people: dict[str, Contact],
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


def test_sort_by_name_is_family_then_given_and_accent_insensitive(
        repo: TinyDBRepository, people: dict[str, Contact]) -> None:
    # Álvarez sorts with the A's; company-only and email-only contacts use those.
    assert keys(people, ids(repo, sort="name")) == ["acme", "jose", "mail", "joan", "zoe"]


def test_sort_created_and_modified(repo: TinyDBRepository, people: dict[str, Contact]) -> None:
    assert keys(people, ids(repo, sort="created")) == list(people)
    repo.update_contact(people["jose"])  # touched now: the most recently modified
    assert keys(people, ids(repo, sort="modified", descending=True))[0] == "jose"


def test_unknown_sort_is_refused(repo: TinyDBRepository) -> None:
    with pytest.raises(ValidationError, match="sort: must be one of name, given_name"):
        ids(repo, sort="shoe_size")


def test_offset_and_limit(repo: TinyDBRepository, people: dict[str, Contact]) -> None:
    everything = ids(repo, sort="given_name")
    assert ids(repo, sort="given_name", limit=2) == everything[:2]
    assert ids(repo, sort="given_name", offset=2, limit=2) == everything[2:4]
    assert ids(repo, sort="given_name", offset=4) == everything[4:]
    assert ids(repo, sort="given_name", offset=10, limit=5) == []
    assert ids(repo, sort="given_name", limit=0) == []
    page = repo.find_contacts(ContactQuery(sort="given_name", offset=1, limit=2), None)
    assert [c.id for c in page] == everything[1:3]


def test_count_and_lookups(repo: TinyDBRepository, people: dict[str, Contact]) -> None:
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


# --------------------------------------------------------------------------- tags


@pytest.fixture
def tagged(repo: TinyDBRepository, people: dict[str, Contact], ann: User, bob: User
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


def test_filter_by_tags(repo: TinyDBRepository, people: dict[str, Contact], tagged: dict[str, Tag],
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


def test_tag_contacts_counts_and_removes(repo: TinyDBRepository, people: dict[str, Contact],
                                         tagged: dict[str, Tag]) -> None:
    vip = tagged["vip"].id
    assert repo.tag_contacts([people["jose"].id, people["zoe"].id], vip, None) == 1
    assert repo.tag_contacts([people["jose"].id, people["zoe"].id], vip, None, remove=True) == 2
    assert repo.tag_contacts([people["jose"].id], vip, None, remove=True) == 0
    assert vip not in repo.get_contact(people["jose"].id).tags
    with pytest.raises(NotFound):
        repo.tag_contacts(["missing"], vip, None)


def test_private_tags_of_others_are_invisible(repo: TinyDBRepository, people: dict[str, Contact],
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


def test_private_tag_is_preserved_when_another_user_updates(
        repo: TinyDBRepository, people: dict[str, Contact], tagged: dict[str, Tag], ann: User,
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


def test_tag_names_are_unique_per_scope(repo: TinyDBRepository, tagged: dict[str, Tag],
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


def test_contact_tag_must_exist(repo: TinyDBRepository, people: dict[str, Contact]) -> None:
    with pytest.raises(NotFound, match="no tag nope"):
        repo.update_contact(people["zoe"].evolve(tags=["nope"]))
    with pytest.raises(NotFound, match="no tag nope"):
        repo.add_contact(Contact(given_name="X", tags=["nope"]))


def test_delete_tag_untags_and_clears_sync_settings(
        repo: TinyDBRepository, people: dict[str, Contact], tagged: dict[str, Tag],
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


# --------------------------------------------------------------------------- deleting contacts


def test_delete_contact_leaves_the_activities(repo: TinyDBRepository, people: dict[str, Contact],
                                              ann: User) -> None:
    jose, zoe = people["jose"].id, people["zoe"].id
    act = repo.add_activity(Activity(
        title="Lunch", organizer_id=ann.id, start=T0,
        participants=[Participant("user", ann.id), Participant("contact", jose),
                      Participant("contact", zoe)]))
    other = repo.add_activity(Activity(title="Solo", organizer_id=ann.id, participants=[Participant("contact", zoe)]))
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


def test_users_own_contact_cannot_be_deleted(repo: TinyDBRepository, ann: User) -> None:
    with pytest.raises(StoreConflict, match="belongs to the user ann@example.com"):
        repo.delete_contact(ann.contact_id)
    assert repo.get_contact(ann.contact_id).given_name == "Ann"


def test_update_missing_contact(repo: TinyDBRepository) -> None:
    with pytest.raises(NotFound):
        repo.update_contact(Contact(given_name="Ghost"))


def test_update_touch_and_keep_modified(repo: TinyDBRepository, people: dict[str, Contact]
                                        ) -> None:
    zoe = people["zoe"]
    kept = repo.update_contact(zoe.evolve(job_title="CTO", modified=T0), touch=False)
    assert repo.get_contact(zoe.id).modified == kept.modified == T0
    touched = repo.update_contact(zoe.evolve(job_title="CEO", modified=T0))
    assert touched.modified > T0
    assert repo.get_contact(zoe.id).modified == touched.modified


# --------------------------------------------------------------------------- users


def test_users(repo: TinyDBRepository, ann: User, bob: User) -> None:
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


def test_store_persists_across_opens(people: dict[str, Contact],
                                     repo: TinyDBRepository) -> None:
    again = open_store(repo.data_dir)
    try:
        assert again.count_contacts() == 5
        assert again.get_contact(people["jose"].id) == people["jose"]
        assert set(again.contact_ids(ContactQuery(text="angstrom"), None)) == {people["jose"].id}
    finally:
        again.close()


# --------------------------------------------------------------------------- index at scale


def test_narrow_and_broad_results_sort_alike(repo: TinyDBRepository) -> None:
    """Few matches are sorted directly, many are picked from the cached order of all contacts:
    both give the same order, also after edits that invalidate the cache."""
    import random

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
