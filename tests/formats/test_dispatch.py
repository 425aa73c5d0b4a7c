"""Choosing a format, standard input and output, and the error type."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from crmtui.formats import FORMATS, FormatError, detect_format, export_file, import_file
from crmtui.model import Contact, User
from crmtui.store import TinyDBRepository


@pytest.mark.parametrize(("path", "explicit", "expected"), [
    ("a.json", None, "json"), ("A.CSV", None, "csv"), ("b.vcf", None, "vcard"),
    ("b.vcard", None, "vcard"), ("c.ics", None, "ics"), ("data.txt", "CSV", "csv"),
    ("-", "vcf", "vcard"), ("x.json", "ics", "ics"),
])
def test_detect_format(path: str, explicit: str | None, expected: str) -> None:
    assert detect_format(path, explicit) == expected
    assert expected in FORMATS


@pytest.mark.parametrize(("path", "explicit", "words"), [
    ("notes.txt", None, "cannot tell the format from the extension .txt"),
    ("noext", None, "extension (none)"),
    ("-", None, "cannot be guessed"),
    ("a.json", "xml", "unknown format 'xml'; the supported formats are json, csv, vcard, ics"),
])
def test_unknown_format_names_the_supported_ones(path: str, explicit: str | None,
                                                 words: str) -> None:
    with pytest.raises(FormatError) as info:
        detect_format(path, explicit)
    assert words in str(info.value)
    assert "json, csv, vcard, ics" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_error_message_names_file_location_and_reason() -> None:
    error = FormatError("in.csv", "line 14", "emails: bad")
    assert (str(error), error.location, error.reason) == ("in.csv: line 14: emails: bad",
                                                          "line 14", "emails: bad")
    assert str(FormatError("in.csv", "", "empty")) == "in.csv: empty"


def test_missing_file_is_a_format_error(repo: TinyDBRepository, ann: User,
                                        tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read the file"):
        import_file(repo, tmp_path / "absent.csv", viewer_id=ann.id)


def test_unwritable_target_is_a_format_error(repo: TinyDBRepository, ann: User,
                                             tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot write the file"):
        export_file(repo, tmp_path / "no" / "such" / "dir.json", viewer_id=ann.id)


def test_bad_vcard_version(repo: TinyDBRepository, ann: User, tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="vCard version '2.1' is not supported; use 3.0 or 4.0"):
        export_file(repo, tmp_path / "x.vcf", viewer_id=ann.id, vcard_version="2.1")


def test_standard_output_and_input(repo: TinyDBRepository, ann: User, other: TinyDBRepository,
                                   capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    repo.add_contact(Contact(given_name="Ünïcode", notes="two\nlines", owner_id=ann.id))
    export_file(repo, "-", fmt="json", viewer_id=ann.id)
    text = capsys.readouterr().out
    assert json.loads(text)["format"] == "crmtui"

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")),
                                                       encoding="utf-8"))
    report = import_file(other, "-", fmt="json", viewer_id=ann.id)
    assert report.counts["contacts"] == 2
    assert other.dump() == repo.dump()


def test_standard_input_errors_name_it(repo: TinyDBRepository, ann: User,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"given_name\n\"A\n"),
                                                       encoding="utf-8"))
    with pytest.raises(FormatError) as info:
        import_file(repo, "-", fmt="csv", viewer_id=ann.id)
    assert str(info.value).startswith("standard input: line 2: not valid CSV")
