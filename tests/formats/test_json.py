"""crmtui JSON: the whole database, exported and imported with full fidelity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import User
from crmtui.store import SCHEMA_VERSION, TinyDBRepository


def test_round_trip_reproduces_the_whole_database(full_db: TinyDBRepository, ann: User,
                                                  other: TinyDBRepository, tmp_path: Path
                                                  ) -> None:
    path = tmp_path / "backup.json"
    report = export_file(full_db, path, viewer_id=ann.id)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "crmtui" and data["schema"] == SCHEMA_VERSION
    assert "Zoë" in path.read_text(encoding="utf-8")  # Unicode written as itself
    assert report.counts["contacts"] == 6 and report.counts["activities"] == 4
    assert all(report.counts[k] == 1 for k in ("accounts", "sync_settings", "sync_state",
                                               "sync_links", "journal"))

    imported = import_file(other, path, viewer_id=ann.id)

    assert other.dump() == full_db.dump()
    assert imported.counts == {k: v for k, v in report.counts.items()}
    assert imported.skipped == []


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _export(repo: TinyDBRepository, viewer: User, tmp_path: Path) -> dict:
    path = tmp_path / "out.json"
    export_file(repo, path, viewer_id=viewer.id)
    return json.loads(path.read_text(encoding="utf-8"))


def _refused(repo: TinyDBRepository, path: Path, viewer: User, **kwargs: str) -> FormatError:
    before = repo.dump()
    with pytest.raises(FormatError) as info:
        import_file(repo, path, viewer_id=viewer.id, **kwargs)
    assert repo.dump() == before
    return info.value


def test_malformed_json_names_line_and_column(other: TinyDBRepository, ann: User,
                                              tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "format": "crmtui",\n  "schema": 1,\n  "users": [,]\n}\n')
    error = _refused(other, path, ann)
    assert error.location == "line 4, column 13"
    assert "not valid JSON" in error.reason
    assert str(error).startswith(f"{path}: line 4, column 13: not valid JSON")


@pytest.mark.parametrize(("data", "location", "words"), [
    ({"format": "vcard", "schema": 1}, "format", "not a crmtui JSON export"),
    ([1, 2, 3], "format", "no \"format\" marker"),
    ({"format": "crmtui", "schema": SCHEMA_VERSION + 1}, "schema", "newer crmtui"),
    ({"format": "crmtui", "schema": "1"}, "schema", "whole number"),
    ({"format": "crmtui", "schema": 0}, "schema", "older"),
    ({"format": "crmtui", "schema": 1, "widgets": []}, "file", "unknown section(s): widgets"),
])
def test_foreign_or_newer_files_are_refused(other: TinyDBRepository, ann: User, tmp_path: Path,
                                            data: object, location: str, words: str) -> None:
    error = _refused(other, _write(tmp_path, data), ann)
    assert error.location == location
    assert words in error.reason


def test_invalid_record_is_named_and_nothing_is_written(full_db: TinyDBRepository, ann: User,
                                                       other: TinyDBRepository,
                                                       tmp_path: Path) -> None:
    data = _export(full_db, ann, tmp_path)
    data["contacts"][2]["emails"] = [{"value": "not an email", "type": "work",
                                      "primary": False}]
    error = _refused(other, _write(tmp_path, data), ann)
    assert error.location == "contacts[3]"
    assert error.reason.startswith("email: is not a valid email address")
    assert "not an email" in error.reason


def test_duplicate_id_in_file_is_refused(full_db: TinyDBRepository, ann: User,
                                         other: TinyDBRepository, tmp_path: Path) -> None:
    data = _export(full_db, ann, tmp_path)
    data["contacts"].append(dict(data["contacts"][0]))
    error = _refused(other, _write(tmp_path, data), ann)
    assert "the same id appears twice" in error.reason
    assert error.location.startswith("contacts")


def test_missing_reference_is_refused(full_db: TinyDBRepository, ann: User,
                                      other: TinyDBRepository, tmp_path: Path) -> None:
    data = _export(full_db, ann, tmp_path)
    data["activities"][2]["organizer_id"] = "nobody0000"
    error = _refused(other, _write(tmp_path, data), ann)
    assert error.location == "activities[3]"
    assert "no user nobody0000" in error.reason


def test_existing_records_error_or_skip(full_db: TinyDBRepository, ann: User,
                                        tmp_path: Path) -> None:
    path = tmp_path / "again.json"
    export_file(full_db, path, viewer_id=ann.id)

    error = _refused(full_db, path, ann)
    assert error.location == "users[1]" and "already exists" in error.reason
    error = _refused(full_db, path, ann, on_existing="update")
    assert "cannot update" in error.reason

    before = full_db.dump()
    report = import_file(full_db, path, viewer_id=ann.id, on_existing="skip")
    assert full_db.dump() == before
    assert sum(report.counts.values()) == 0
    assert len(report.skipped) == sum(len(rows) for rows in before.values())
    assert report.skipped[0].startswith("users[1]: ") and "already exists" in report.skipped[0]


def test_skip_adds_only_what_is_missing(full_db: TinyDBRepository, ann: User,
                                        other: TinyDBRepository, tmp_path: Path) -> None:
    data = _export(full_db, ann, tmp_path)
    partial = {**data, "contacts": data["contacts"][:3], "activities": [], "sync_links": []}
    import_file(other, _write(tmp_path, partial), viewer_id=ann.id)
    export_file(full_db, tmp_path / "full.json", viewer_id=ann.id)

    report = import_file(other, tmp_path / "full.json", viewer_id=ann.id, on_existing="skip")

    assert report.counts["contacts"] == 3 and report.counts["activities"] == 4
    assert other.dump()["contacts"] and {c["id"] for c in other.dump()["contacts"]} == \
        {c["id"] for c in full_db.dump()["contacts"]}


def test_an_export_of_schema_1_imports_with_its_sync_links_made_lean(
        full_db: TinyDBRepository, ann: User, other: TinyDBRepository, tmp_path: Path) -> None:
    """Schema 1 kept a whole Google Person in each contact link; such an export still imports,
    its links as schema 2 keeps them."""
    path = tmp_path / "old.json"
    export_file(full_db, path, viewer_id=ann.id)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["schema"] = 1
    [link] = data["sync_links"]
    link["base"] = {"given_name": "Zoë", "middle_name": "", "family_name": "", "company": "",
                    "job_title": "", "emails": [], "phones": [], "addresses": [],
                    "birthday": None, "notes": ""}
    link["remote"] = {"resourceName": "people/c123", "etag": link["etag"],
                      "names": [{"givenName": "Zoë", "displayName": "Zoë",
                                 "unstructuredName": "Zoë", "metadata": {"primary": True}}],
                      "organizations": [{"name": "", "department": "Board"}],
                      "metadata": {"sources": [{"type": "CONTACT", "id": "1f", "etag": "#a"}]},
                      "memberships": [{"contactGroupMembership": {
                          "contactGroupResourceName": "contactGroups/myContacts"}}]}
    path.write_text(json.dumps(data), encoding="utf-8")
    imported = import_file(other, path, viewer_id=ann.id)
    assert imported.counts["sync_links"] == 1
    [stored] = other.dump()["sync_links"]
    assert stored["base"] == {"given_name": "Zoë"}
    assert stored["remote"] == {"metadata": {"sources": [{"type": "CONTACT", "id": "1f",
                                                          "etag": "#a"}]},
                                "organizations": [{"name": "", "department": "Board"}]}
