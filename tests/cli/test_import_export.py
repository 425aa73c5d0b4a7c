"""The wiring of `crmtui import` and `crmtui export` (the formats have their own tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Crm


@pytest.fixture
def filled(crm: Crm, ann: dict[str, Any]) -> Crm:
    crm.ok("tags", "add", "VIP", "--kind", "public")
    crm.add_contact("--given", "Zoë", "--family", "Ångström", "--email", "zoe@nordlys.example",
                    "--tag", "VIP")
    crm.add_contact("--company", "Acme")
    return crm


def test_export_writes_the_file_and_summarizes(filled: Crm, tmp_path: Path) -> None:
    target = tmp_path / "contacts.vcf"
    out = filled.ok("export", str(target), "--vcard-version", "4.0")
    assert out == "Exported 3 contacts to contacts.vcf.\n"
    text = target.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == 3 and "VERSION:4.0" in text and "Ångström" in text
    report = filled.json("export", str(tmp_path / "all.json"))
    assert report["counts"]["contacts"] == 3 and report["counts"]["users"] == 1
    # To standard output, the file is on stdout and the summary on stderr.
    result = filled.run("export", "-", "--format", "csv")
    assert result.exit_code == 0 and "zoe@nordlys.example" in result.stdout
    assert result.stderr == "Exported 3 contacts to standard output.\n"
    err = filled.fails("export", str(tmp_path / "x.txt"))
    assert "cannot tell the format from the extension .txt" in err


def test_import_restores_a_json_export_into_an_empty_database(filled: Crm,
                                                               tmp_path: Path) -> None:
    dump = tmp_path / "all.json"
    filled.ok("export", str(dump))
    fresh = Crm(tmp_path / "fresh")
    out = fresh.ok("import", str(dump))  # no user yet: a JSON file brings its own
    assert out.startswith("Imported 1 user, 1 tag, 3 contacts")
    assert out.endswith(" from all.json.\n")
    assert [u["email"] for u in fresh.json("users", "list")] == ["ann@example.com"]
    assert len(fresh.json("contacts", "list", "--tag", "VIP")) == 1
    # Importing it again is refused as a whole, or skips what exists.
    assert "already" in fresh.fails("import", str(dump))
    skipped = fresh.json("import", str(dump), "--on-existing", "skip")
    assert skipped["counts"].get("contacts", 0) == 0
    assert len(fresh.json("contacts", "list")) == 3


def test_import_csv_as_the_current_user_and_errors(crm: Crm, ann: dict[str, Any],
                                                    tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("given_name,family_name,emails,tags\nLi,Wei,li@example.com,Friends\n",
                      encoding="utf-8")
    out = crm.ok("import", str(people))
    assert out.startswith("Imported ") and "1 contact" in out and out.endswith("people.csv.\n")
    (li,) = crm.json("contacts", "list", "--tag", "Friends")
    assert li["owner_id"] == ann["id"] and li["emails"][0]["value"] == "li@example.com"
    bad = tmp_path / "broken.csv"
    bad.write_text("shoe_size\n42\n", encoding="utf-8")
    assert crm.fails("import", str(bad)).startswith(f"Error: {bad}: ")
    assert len(crm.json("contacts", "list")) == 2  # Ann's own and Li: nothing more
    assert "does not exist" in crm.fails("import", str(tmp_path / "missing.csv"), code=2)


# --------------------------------------------------------------------------- hostile files


def _refused(crm: Crm, path: Path, *words: str) -> str:
    """Import ``path``, which must be refused with one ``Error:`` line naming the file and
    holding ``words``, leaving the database as it was."""
    with crm.store() as repo:
        before = repo.dump()
    err = crm.fails("import", str(path))
    assert err.startswith(f"Error: {path}: ") and err.count("\n") == 1, err
    assert "unexpected" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    with crm.store() as repo:
        assert repo.dump() == before
    return err


def test_a_csv_address_cell_nested_too_deep_is_refused(crm: Crm, ann: dict[str, Any],
                                                        tmp_path: Path) -> None:
    path = tmp_path / "deep.csv"
    path.write_text('given_name,addresses\nZoë,"' + "[" * 5000 + "]" * 5000 + '"\n',
                    encoding="utf-8")
    _refused(crm, path, ": line 2: addresses: ", "nested")


def test_a_json_file_nested_too_deep_is_refused(crm: Crm, ann: dict[str, Any],
                                                tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"format": "crmtui", "schema": 1,\n "contacts": '
                    + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    _refused(crm, path, ": line 2, column ", "nested")


def test_a_json_number_of_thousands_of_digits_is_refused(crm: Crm, ann: dict[str, Any],
                                                         tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"format": "crmtui", "schema": 1,\n "journal": [{"counts": {"n": '
                    + "9" * 5000 + "}}]}", encoding="utf-8")
    _refused(crm, path, ": line 2, column 31: ", "5000 digits")


def test_a_json_record_with_missing_fields_is_refused(crm: Crm, ann: dict[str, Any],
                                                      tmp_path: Path) -> None:
    path = tmp_path / "links.json"
    path.write_text('{"format": "crmtui", "schema": 1, "sync_links": [{"user_id": "'
                    + ann["id"] + '"}]}', encoding="utf-8")
    _refused(crm, path, ": sync_links[1]: ", "missing", "kind, local_id, remote_id")
    user = dict(ann)
    del user["email"]
    path.write_text(json.dumps({"format": "crmtui", "schema": 1, "users": [user]}),
                    encoding="utf-8")
    _refused(crm, path, ": users[1]: ", "missing", "email", ann["id"])


@pytest.mark.parametrize("cid", ["not-an-id", "0123456789abcdef0123456789abcde",
                                 "0123456789abcdef0123456789abcdefa", "x" * 32])
def test_a_csv_id_that_is_not_32_hex_digits_is_refused(crm: Crm, ann: dict[str, Any],
                                                       tmp_path: Path, cid: str) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(f"id,given_name\n,Li\n{cid},Zoë\n", encoding="utf-8")
    _refused(crm, path, ": line 3: id: ", "32 hex digits")


# --------------------------------------------------------------------------- spreadsheet formulas

FORMULAS = ["=HYPERLINK(\"http://x.example\",\"y\")", "+1+2", "-2+3", "@SUM(A1)",
            "'=already escaped", "''two", "'", "'plain", "plain'", "=", "+33 1 23"]


def test_csv_export_escapes_formulas_and_import_restores_them(crm: Crm, ann: dict[str, Any],
                                                              tmp_path: Path) -> None:
    import csv
    import io

    for i, text in enumerate(FORMULAS):
        crm.add_contact("--given", text, "--family", f"F{i}", "--company", text,
                        "--title", text, "--phone", "+33 1 23 45 67 89")
    path = tmp_path / "out.csv"
    crm.ok("export", str(path))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    for row in rows:
        for column, cell in row.items():
            # Nothing a spreadsheet runs: no cell starts with a formula character.
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), (column, cell)
    by_family = {r["family_name"]: r for r in rows}
    assert by_family["F0"]["given_name"] == "'" + FORMULAS[0]
    assert by_family["F4"]["company"] == "''=already escaped"
    assert by_family["F7"]["job_title"] == "'plain"  # no formula, no second apostrophe
    assert by_family["F0"]["phones"].endswith("work:+33 1 23 45 67 89")  # a typed list
    before = {c["family_name"]: c for c in crm.json("contacts", "list")}
    fresh = Crm(tmp_path / "fresh")
    fresh.add_user("Ann Lee", "ann@example.com")
    fresh.ok("import", str(path))
    after = {c["family_name"]: c for c in fresh.json("contacts", "list")}
    for i, text in enumerate(FORMULAS):
        got = after[f"F{i}"]
        assert (got["given_name"], got["company"], got["job_title"]) == (text, text, text)
        assert {**got, "owner_id": ""} == {**before[f"F{i}"], "owner_id": ""}


def test_an_import_error_quoting_the_file_stays_one_line(crm: Crm, ann: dict[str, Any],
                                                         tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"format": "crmtui", "schema": 1,
                                "users": [{**ann, "x\n\x1b[31my": 1}]}), encoding="utf-8")
    err = _refused(crm, path, ": users[1]: ", "unknown field(s): x\\n\\x1b[31my")
    assert "\x1b" not in err


def test_json_numbers_beyond_what_the_database_holds_are_refused(crm: Crm, ann: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for number in ("9223372036854775808", "1e400", "NaN", "-Infinity"):
        path.write_text('{"format": "crmtui", "schema": 1,\n "sync_state": [{"key": "k", "n": '
                        + number + "}]}", encoding="utf-8")
        _refused(crm, path, ": line 2, column ", number)
