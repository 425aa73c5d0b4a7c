"""Behaviour shared by the contact formats (CSV, vCard 3.0, vCard 4.0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import Contact, Tag, TagKind, User
from crmtui.store import TinyDBRepository

from .conftest import same_people

CONTACT_FORMATS = [
    pytest.param("csv", "3.0", id="csv"),
    pytest.param("vcard", "3.0", id="vcard3"),
    pytest.param("vcard", "4.0", id="vcard4"),
]


def _export(repo: TinyDBRepository, viewer: User, tmp_path: Path, fmt: str, version: str,
            name: str = "contacts") -> Path:
    path = tmp_path / f"{name}.{'csv' if fmt == 'csv' else 'vcf'}"
    report = export_file(repo, path, viewer_id=viewer.id, vcard_version=version)
    assert report.counts == {"contacts": repo.count_contacts()}
    return path


def _by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_round_trip_keeps_every_field(repo: TinyDBRepository, ann: User, contacts: list[Contact],
                                      other: TinyDBRepository, tmp_path: Path, fmt: str,
                                      version: str) -> None:
    path = _export(repo, ann, tmp_path, fmt, version)
    same_people(repo, other)  # the same users and tags, and the users' own contacts

    report = import_file(other, path, viewer_id=ann.id, on_existing="skip")

    assert report.counts == {"contacts": len(contacts), "updated": 0, "tags": 0}
    assert len(report.skipped) == 1 and "Ann Lee" in report.skipped[0]  # Ann's own contact
    assert _by_id(other.dump()["contacts"]) == _by_id(repo.dump()["contacts"])


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_round_trip_into_an_empty_store_creates_private_tags(
        repo: TinyDBRepository, ann: User, contacts: list[Contact], other: TinyDBRepository,
        tmp_path: Path, fmt: str, version: str) -> None:
    path = _export(repo, ann, tmp_path, fmt, version)
    newcomer = other.add_user(User(name="Nina New", email="nina@example.com"))

    report = import_file(other, path, viewer_id=newcomer.id)

    assert report.counts == {"contacts": len(contacts) + 1, "updated": 0, "tags": 3}
    made = other.list_tags(newcomer.id)
    assert sorted(t.name for t in made) == ["Ann's; favourites", "Customers", "Key account"]
    assert all(t.kind is TagKind.PRIVATE and t.owner_id == newcomer.id for t in made)
    zoe = other.get_contact(contacts[0].id)
    assert sorted(other.get_tag(t, newcomer.id).name for t in zoe.tags) == \
        ["Ann's; favourites", "Customers", "Key account"]
    assert zoe.owner_id == newcomer.id  # Ann is no user here
    if fmt == "csv":  # CSV names the owner; the unknown one is reported once
        assert report.skipped == ["line 2: owner: no crmtui user has the email ann@example.com; "
                                  "new contacts that name it belong to the importing user"]


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_export_leaves_out_other_users_private_tags(
        repo: TinyDBRepository, ann: User, bob: User, contacts: list[Contact], tmp_path: Path,
        fmt: str, version: str) -> None:
    bobs = repo.add_tag(Tag(name="Bob secret", kind=TagKind.PRIVATE, owner_id=bob.id))
    repo.tag_contacts([contacts[0].id], bobs.id, bob.id)

    as_ann = _export(repo, ann, tmp_path, fmt, version, "ann").read_text(encoding="utf-8")
    as_bob = _export(repo, bob, tmp_path, fmt, version, "bob").read_text(encoding="utf-8")

    assert "Bob secret" not in as_ann and "favourites" in as_ann
    assert "Bob secret" in as_bob and "favourites" not in as_bob
    assert "Customers" in as_ann and "Customers" in as_bob


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_existing_contact_refuses_the_whole_file_by_default(
        repo: TinyDBRepository, ann: User, contacts: list[Contact], tmp_path: Path, fmt: str,
        version: str) -> None:
    path = _export(repo, ann, tmp_path, fmt, version)
    before = repo.dump()

    with pytest.raises(FormatError) as info:
        import_file(repo, path, viewer_id=ann.id)

    assert repo.dump() == before
    assert info.value.location == ("line 2" if fmt == "csv" else "record 1 (line 1)")
    assert "already exists" in info.value.reason and "'skip' or 'update'" in info.value.reason


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_skip_leaves_existing_contacts_alone(repo: TinyDBRepository, ann: User,
                                             contacts: list[Contact], tmp_path: Path, fmt: str,
                                             version: str) -> None:
    path = _export(repo, ann, tmp_path, fmt, version)
    repo.update_contact(contacts[0].evolve(job_title="Changed since"))
    before = repo.dump()

    report = import_file(repo, path, viewer_id=ann.id, on_existing="skip")

    assert repo.dump() == before
    assert report.counts == {"contacts": 0, "updated": 0, "tags": 0}
    assert len(report.skipped) == len(contacts) + 1
    assert any(contacts[0].id in s and "Zoë" in s for s in report.skipped)


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_update_replaces_fields_and_keeps_hidden_tags(
        repo: TinyDBRepository, ann: User, bob: User, contacts: list[Contact], tmp_path: Path,
        fmt: str, version: str) -> None:
    path = _export(repo, ann, tmp_path, fmt, version)
    bobs = repo.add_tag(Tag(name="Bob secret", kind=TagKind.PRIVATE, owner_id=bob.id))
    zoe = repo.get_contact(contacts[0].id)
    repo.update_contact(zoe.evolve(job_title="Changed since", emails=zoe.emails[:1],
                                   tags=[*zoe.tags[:1], bobs.id]))

    report = import_file(repo, path, viewer_id=ann.id, on_existing="update")

    assert report.counts == {"contacts": 0, "updated": repo.count_contacts(), "tags": 0}
    after = repo.get_contact(zoe.id)
    assert after.job_title == zoe.job_title and after.emails == zoe.emails
    assert after.tags == [*zoe.tags, bobs.id]  # Ann's tags from the file; Bob's kept
    assert after.created == zoe.created
    assert after.modified > zoe.modified  # an update is a change made now


@pytest.mark.parametrize(("fmt", "version"), CONTACT_FORMATS)
def test_unknown_on_existing_is_refused(repo: TinyDBRepository, ann: User,
                                        contacts: list[Contact], tmp_path: Path, fmt: str,
                                        version: str) -> None:
    path = _export(repo, ann, tmp_path, fmt, version)
    with pytest.raises(FormatError, match="on_existing must be one of error, skip, update"):
        import_file(repo, path, viewer_id=ann.id, on_existing="merge")
