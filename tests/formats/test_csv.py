"""CSV contacts: the column encoding, tolerant reading and precise refusals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmtui.formats import FormatError, export_file, import_file
from crmtui.formats.csvfmt import COLUMNS, escape_cell, unescape_cell
from crmtui.model import Contact, Tag, TagKind, User
from crmtui.store import ContactQuery, TinyDBRepository


def _csv(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def _refused(repo: TinyDBRepository, path: Path, viewer: User) -> FormatError:
    before = repo.dump()
    with pytest.raises(FormatError) as info:
        import_file(repo, path, viewer_id=viewer.id)
    assert repo.dump() == before
    return info.value


def test_export_writes_the_documented_columns(repo: TinyDBRepository, ann: User,
                                              contacts: list[Contact], tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    export_file(repo, path, viewer_id=ann.id)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert tuple(rows[0]) == COLUMNS
    zoe = next(r for r in rows if r["id"] == contacts[0].id)
    assert zoe["emails"] == ("*work:zoe@example.com; home:zoe@home.example.org; "
                             "other:z.a@other.example.net")
    assert zoe["phones"].startswith("*mobile:+47 22 33 44 55; fax:+47 22 00 00 01; ")
    assert zoe["addresses"].startswith('[{"type": "home", "street": "Storgata 1, 3rd floor\\n')
    assert zoe["tags"] == "Customers; Ann's\\; favourites; Key account"
    assert zoe["owner"] == "ann@example.com"
    assert zoe["birthday"] == "1985-02-28"
    assert zoe["notes"] == contacts[0].notes
    assert zoe["modified"] == "2024-06-07T08:09:10.654321+02:00"


def test_minimal_columns_with_bom_make_new_contacts(repo: TinyDBRepository, ann: User,
                                                    tmp_path: Path) -> None:
    path = _csv(tmp_path, "Given_Name, family_name ,company,emails\r\n"
                          "Émile,Zola,,emile@example.fr\r\n"
                          ",,Acme SA,\r\n"
                          ",,,\r\n", bom=True)

    report = import_file(repo, path, viewer_id=ann.id)

    assert report.counts == {"contacts": 2, "updated": 0, "tags": 0}
    emile = repo.find_contacts(ContactQuery(text="zola"), ann.id)[0]
    assert emile.given_name == "Émile" and emile.owner_id == ann.id
    assert [(e.value, e.type, e.primary) for e in emile.emails] == \
        [("emile@example.fr", "work", False)]
    assert len(repo.find_contacts(ContactQuery(text="acme"), ann.id)) == 1


def test_tags_resolve_by_name_and_missing_ones_become_private(
        repo: TinyDBRepository, ann: User, bob: User, tmp_path: Path) -> None:
    public = repo.add_tag(Tag(name="Customers", kind=TagKind.PUBLIC))
    bobs = repo.add_tag(Tag(name="Secret", kind=TagKind.PRIVATE, owner_id=bob.id))
    path = _csv(tmp_path, "given_name,tags\nA,customers; Secret; New\\; one\nB,New\\; one\n")

    report = import_file(repo, path, viewer_id=ann.id)

    assert report.counts["tags"] == 2
    made = {t.name: t for t in repo.list_tags(ann.id, TagKind.PRIVATE)}
    assert set(made) == {"Secret", "New; one"}
    assert made["Secret"].id != bobs.id and made["Secret"].owner_id == ann.id
    a = repo.find_contacts(ContactQuery(text="A"), ann.id)
    tagged = next(c for c in a if c.given_name == "A")
    assert tagged.tags == [public.id, made["Secret"].id, made["New; one"].id]


def test_owner_column_names_a_user(repo: TinyDBRepository, ann: User, bob: User,
                                   tmp_path: Path) -> None:
    path = _csv(tmp_path, "given_name,owner\nOwned by Bob,BOB@example.com\nMine,\n")
    import_file(repo, path, viewer_id=ann.id)
    owners = {c.given_name: c.owner_id for c in repo.iter_contacts()}
    assert owners["Owned by Bob"] == bob.id and owners["Mine"] == ann.id


def test_update_changes_only_the_columns_in_the_file(repo: TinyDBRepository, ann: User,
                                                     contacts: list[Contact],
                                                     tmp_path: Path) -> None:
    zoe = contacts[0]
    path = _csv(tmp_path, f"id,company,birthday\n{zoe.id},New Co,\n")

    import_file(repo, path, viewer_id=ann.id, on_existing="update")

    after = repo.get_contact(zoe.id)
    assert after.company == "New Co" and after.birthday is None
    assert after.modified_by == ann.id  # the import changed it on her behalf
    assert after.to_dict() | {"company": zoe.company, "birthday": "1985-02-28",
                              "modified": zoe.modified.isoformat(),
                              "modified_by": zoe.modified_by} == zoe.to_dict()


def test_unknown_columns_are_refused_by_name(repo: TinyDBRepository, ann: User,
                                             tmp_path: Path) -> None:
    error = _refused(repo, _csv(tmp_path, "given_name,Fax number,shoe_size\nA,1,2\n"), ann)
    assert error.location == "line 1"
    assert "unknown column(s): 'Fax number', 'shoe_size'" in error.reason


@pytest.mark.parametrize(("text", "location", "reason"), [
    ("notes,emails\n\"two\nlines\",a@example.com\nok,not-an-email\n", "line 4",
     "emails: email is not a valid email address"),
    ("given_name,phones\nA,pager:+1 555 0100\n", "line 2",
     "phones: phone type must be one of work, home, mobile, main, fax, other"),
    ("given_name,phones\nA,*work:call me\n", "line 2", "phones: phone is not a phone number"),
    ("given_name,addresses\nA,\"[{\"\"city\"\": \"\"Oslo\"\",}]\"\n", "line 2",
     "addresses: is not a JSON list of addresses"),
    ("given_name,addresses\nA,\"[{\"\"town\"\": \"\"Oslo\"\"}]\"\n", "line 2",
     "addresses: address unknown field(s): town"),
    ("given_name,birthday\nA,31/12/1990\n", "line 2", "birthday: is not a date (YYYY-MM-DD)"),
    ("given_name,created\nA,yesterday\n", "line 2", "created: is not an ISO 8601 date and time"),
    ("given_name,created\nA,2024-01-01T10:00:00\n", "line 2", "created: must carry a time zone"),
    ("id,given_name\nbad id!,A\n", "line 2", "id: must be 32 hex digits"),
    ("id,given_name\nx1,A\n", "line 2", "id: must be 32 hex digits"),
    ("notes,company\nno name,\n", "line 2", "name: a contact needs a name, a company or an email"),
    ("given_name,company\nA,\"Acme\" Inc\n", "line 2", "not valid CSV"),
    ("given_name\nA,B\n", "line 2", "the row has 2 cells but the header names 1 columns"),
    (f"id,given_name\n{'a1' * 16},A\n{'b2' * 16},B\n{'A1' * 16},C\n", "line 4",
     f"id: the contact {'a1' * 16} is already listed at line 2"),
    ("id,notes\nx1,hello\n", "line 1", "the file needs at least one of the columns given_name"),
    ("given_name,Given_Name\nA,B\n", "line 1", "column(s) named twice: given_name"),
    ("", "line 1", "the file is empty"),
])
def test_bad_rows_are_refused_with_line_and_field(repo: TinyDBRepository, ann: User,
                                                  tmp_path: Path, text: str, location: str,
                                                  reason: str) -> None:
    error = _refused(repo, _csv(tmp_path, text), ann)
    assert (error.location, error.reason[:len(reason)]) == (location, reason)
    assert str(error) == f"{tmp_path / 'in.csv'}: {location}: {error.reason}"


def test_a_late_error_undoes_tags_made_for_earlier_rows(repo: TinyDBRepository, ann: User,
                                                        contacts: list[Contact],
                                                        tmp_path: Path) -> None:
    # The first row creates a tag inside the transaction; the second clashes with a stored id.
    path = _csv(tmp_path, f"id,given_name,tags\n,New,Fresh tag\n{contacts[1].id},Clash,\n")
    error = _refused(repo, path, ann)
    assert error.location == "line 3" and "already exists" in error.reason
    assert repo.find_tag("Fresh tag", ann.id) is None


def test_not_utf8_is_refused(repo: TinyDBRepository, ann: User, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("given_name\nA\nZo\u00eb\n".encode("latin-1"))
    error = _refused(repo, path, ann)
    assert error.location == "line 3" and "not UTF-8" in error.reason


def test_ten_thousand_contacts_import_in_one_commit(repo: TinyDBRepository, ann: User,
                                                    tmp_path: Path) -> None:
    lines = ["given_name,family_name,emails,phones,tags,notes"]
    lines += [f"Given{i},Family{i},*work:p{i}@example.com,mobile:+1 555 {i:04d},Bulk,\"n\n{i}\""
              for i in range(10_000)]
    path = _csv(tmp_path, "\n".join(lines) + "\n")
    generation = repo.generation

    report = import_file(repo, path, viewer_id=ann.id)

    assert report.counts == {"contacts": 10_000, "updated": 0, "tags": 1}
    assert repo.count_contacts() == 10_001
    assert repo.generation == generation + 1  # one commit for all of it
    last = repo.find_contacts(ContactQuery(text="p9999@example.com"), ann.id)
    assert [c.notes for c in last] == ["n\n9999"]


def test_skipped_rows_create_no_tags_and_updates_keep_unknown_owners(
        repo: TinyDBRepository, ann: User, bob: User, contacts: list[Contact],
        tmp_path: Path) -> None:
    zoe = contacts[0]
    repo.update_contact(zoe.evolve(owner_id=bob.id))
    path = _csv(tmp_path, f"id,given_name,tags,owner\n{zoe.id},Zoé,Only skipped,gone@example.com\n")

    report = import_file(repo, path, viewer_id=ann.id, on_existing="skip")
    assert report.counts["tags"] == 0 and repo.find_tag("Only skipped", ann.id) is None

    report = import_file(repo, path, viewer_id=ann.id, on_existing="update")
    after = repo.get_contact(zoe.id)
    assert after.given_name == "Zoé" and after.owner_id == bob.id
    assert report.skipped == ["line 2: owner: no crmtui user has the email gone@example.com; "
                              "new contacts that name it belong to the importing user"]


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+33 1 23", "'+33 1 23"), ("-x", "'-x"), ("@a", "'@a"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("'=x", "''=x"), ("''", "'''"), ("'a", "'a"), ("'", "'"),
    ("a=b", "a=b"), ("", ""), ("work:+33 1 23", "work:+33 1 23"),
])
def test_formula_cells_are_escaped_with_an_apostrophe(value: str, cell: str) -> None:
    assert escape_cell(value) == cell
    assert unescape_cell(cell) == value


@given(st.text())
def test_escaping_a_cell_round_trips_and_never_starts_a_formula(value: str) -> None:
    cell = escape_cell(value)
    assert unescape_cell(cell) == value
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")
