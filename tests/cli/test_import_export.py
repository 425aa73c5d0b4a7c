"""The wiring of `crmtui import` and `crmtui export` (the formats have their own tests)."""

from __future__ import annotations

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
