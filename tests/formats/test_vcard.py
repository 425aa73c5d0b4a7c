"""vCard 3.0 and 4.0: what is written, cards from other programs, and refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import vobject

from crmtui.formats import FormatError, export_file, import_file
from crmtui.model import Contact, User
from crmtui.store import ContactQuery, TinyDBRepository


def _vcf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.vcf"
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return path


def _refused(repo: TinyDBRepository, path: Path, viewer: User) -> FormatError:
    before = repo.dump()
    with pytest.raises(FormatError) as info:
        import_file(repo, path, viewer_id=viewer.id)
    assert repo.dump() == before
    return info.value


def _zoe_card(repo: TinyDBRepository, ann: User, tmp_path: Path, version: str,
              zoe: Contact) -> str:
    path = tmp_path / "out.vcf"
    export_file(repo, path, viewer_id=ann.id, vcard_version=version)
    text = path.read_bytes().decode("utf-8")
    cards = [c for c in text.split("BEGIN:VCARD") if f"UID:{zoe.id}" in c]
    assert len(cards) == 1
    return cards[0]


def test_version_3_syntax(repo: TinyDBRepository, ann: User, contacts: list[Contact],
                          tmp_path: Path) -> None:
    card = _zoe_card(repo, ann, tmp_path, "3.0", contacts[0])
    for line in ("VERSION:3.0", "N:Ångström;Zoë;Åsa Marie;;", "FN:Zoë Åsa Marie Ångström",
                 "ORG:Ünïcode\\, Inc.\\; Intl", "EMAIL;TYPE=INTERNET,WORK,PREF:zoe@example.com",
                 "EMAIL;TYPE=INTERNET:z.a@other.example.net", "TEL;TYPE=CELL,PREF:+47 22 33 44 55",
                 "TEL;TYPE=FAX:+47 22 00 00 01", "BDAY:1985-02-28", "REV:2024-06-07T06:09:10Z",
                 "X-CRMTUI-MODIFIED:2024-06-07T08:09:10.654321+02:00",
                 "X-CRMTUI-CREATED:2023-05-06T07:08:09.123456+00:00",
                 "CATEGORIES:Customers,Ann's\\; favourites,Key account"):
        assert f"\r\n{line}\r\n" in card, line


def test_version_4_syntax(repo: TinyDBRepository, ann: User, contacts: list[Contact],
                          tmp_path: Path) -> None:
    card = _zoe_card(repo, ann, tmp_path, "4.0", contacts[0])
    for line in ("VERSION:4.0", "EMAIL;PREF=1;TYPE=work:zoe@example.com",
                 "EMAIL;TYPE=home:zoe@home.example.org", "TEL;PREF=1;TYPE=cell:+47 22 33 44 55",
                 "BDAY:19850228", "REV:20240607T060910Z"):
        assert f"\r\n{line}\r\n" in card, line
    assert "INTERNET" not in card
    assert "ADR;PREF=1;TYPE=home:;;Storgata 1\\, 3rd floor\\nBack door\\; ring twice;Oslo;" \
        "Oslo;0155;Norway" in card.replace("\r\n ", "")


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_export_parses_back_with_vobject(repo: TinyDBRepository, ann: User,
                                         contacts: list[Contact], tmp_path: Path,
                                         version: str) -> None:
    path = tmp_path / "out.vcf"
    export_file(repo, path, fmt="vcard", viewer_id=ann.id, vcard_version=version)
    cards = list(vobject.readComponents(path.read_text(encoding="utf-8")))
    assert len(cards) == len(contacts) + 1
    zoe = next(c for c in cards if c.uid.value == contacts[0].id)
    assert zoe.note.value == contacts[0].notes
    assert zoe.version.value == version


GOOGLE_CARD = """BEGIN:VCARD
VERSION:3.0
FN:Ingrid Bergström
N:Bergström;Ingrid;;Dr.;
NICKNAME:Inge
EMAIL;TYPE=INTERNET;TYPE=HOME:ingrid@example.se
EMAIL;TYPE=INTERNET;TYPE=WORK:ingrid.b@work.example.se
item1.EMAIL;TYPE=INTERNET:ingrid@custom.example.se
item1.X-ABLabel:Private
TEL;TYPE=CELL:+46 70 123 45 67
TEL;TYPE=WORK;TYPE=VOICE:+46 8 123 456
item2.TEL:+46 8 999 999
item2.X-ABLabel:Summer house
ADR;TYPE=HOME:;;Storgatan 1;Stockholm;;111 22;Sweden
item3.URL:https\\://example.se
item3.X-ABLabel:PROFILE
ORG:Example AB;Research
TITLE:Scientist
BDAY:1979-03-14
NOTE:Met at Nobel week\\nBrings cake
CATEGORIES:myContacts,Starred
X-GOOGLE-SOMETHING:whatever
PHOTO;VALUE=uri:https://lh3.googleusercontent.example/photo.jpg
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:No Year
N:Year;No;;;
BDAY:--05-17
item1.EMAIL;TYPE=INTERNET:noyear@example.com
END:VCARD
"""


def test_card_from_another_program_imports(repo: TinyDBRepository, ann: User,
                                           tmp_path: Path) -> None:
    report = import_file(repo, _vcf(tmp_path, GOOGLE_CARD), viewer_id=ann.id)

    assert report.counts == {"contacts": 2, "updated": 0, "tags": 2}
    assert report.skipped == ["record 2 (line 29): the birthday '--05-17' is not a full date; "
                              "it was left out"]
    ingrid = repo.find_contacts(ContactQuery(text="ingrid"), ann.id)[0]
    assert (ingrid.given_name, ingrid.family_name, ingrid.company, ingrid.job_title) == \
        ("Ingrid", "Bergström", "Example AB", "Scientist")
    assert [(e.value, e.type, e.primary) for e in ingrid.emails] == [
        ("ingrid@example.se", "home", False), ("ingrid.b@work.example.se", "work", False),
        ("ingrid@custom.example.se", "other", False)]
    assert [(p.value, p.type) for p in ingrid.phones] == [
        ("+46 70 123 45 67", "mobile"), ("+46 8 123 456", "work"), ("+46 8 999 999", "other")]
    assert [(a.type, a.street, a.city, a.postal_code, a.country) for a in ingrid.addresses] == \
        [("home", "Storgatan 1", "Stockholm", "111 22", "Sweden")]
    assert ingrid.birthday == date(1979, 3, 14)
    assert ingrid.notes == "Met at Nobel week\nBrings cake"
    assert sorted(repo.get_tag(t, ann.id).name for t in ingrid.tags) == ["Starred", "myContacts"]
    assert len(ingrid.id) == 32 and ingrid.owner_id == ann.id  # no UID: a new id
    no_year = repo.find_contacts(ContactQuery(text="noyear"), ann.id)[0]
    assert no_year.birthday is None


def test_version_4_card_with_uri_values_and_quoted_types(repo: TinyDBRepository, ann: User,
                                                         tmp_path: Path) -> None:
    text = """BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
FN:Jane Roe
EMAIL;TYPE="work,internet";PREF=1:mailto:jane@example.com
TEL;VALUE=uri;TYPE="voice,home":tel:+1-555-555-5555
BDAY:19700101
REV:20240102T030405Z
END:VCARD
"""
    import_file(repo, _vcf(tmp_path, text), viewer_id=ann.id)
    jane = repo.get_contact("urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1")
    assert jane.given_name == "Jane Roe"  # no N: the formatted name
    assert [(e.value, e.type, e.primary) for e in jane.emails] == \
        [("jane@example.com", "work", True)]
    assert [(p.value, p.type) for p in jane.phones] == [("+1-555-555-5555", "home")]
    assert jane.birthday == date(1970, 1, 1)
    assert jane.modified == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_rev_changed_elsewhere_wins_over_the_exact_time(repo: TinyDBRepository, ann: User,
                                                        tmp_path: Path) -> None:
    text = """BEGIN:VCARD
VERSION:3.0
UID:c1
FN:A
N:;A;;;
REV:2025-01-01T00:00:00Z
X-CRMTUI-MODIFIED:2024-06-07T08:09:10.654321+02:00
END:VCARD
"""
    import_file(repo, _vcf(tmp_path, text), viewer_id=ann.id)
    assert repo.get_contact("c1").modified.isoformat() == "2025-01-01T00:00:00+00:00"


@pytest.mark.parametrize(("text", "location", "reason"), [
    ("BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\nFN:B\n"
     "EMAIL;TYPE=WORK:b@example.com\nEMAIL;TYPE=HOME:not-an-email\nEND:VCARD\n",
     "record 2 (line 9)", "EMAIL: email: is not a valid email address"),
    ("BEGIN:VCARD\nVERSION:3.0\nFN:A\nthis line has no colon\nEND:VCARD\n",
     "record 1 (line 4)", "not a valid vCard"),
    ("BEGIN:VCARD\nVERSION:3.0\nFN:A\nN:;A;;;\nTEL:call me maybe\nEND:VCARD\n",
     "record 1 (line 5)", "TEL: phone: is not a phone number"),
    ("BEGIN:VCARD\nVERSION:3.0\nFN:A\nN:;A;;;\nBDAY:1990-13-45\nEND:VCARD\n",
     "record 1 (line 5)", "BDAY: is not a date"),
    ("BEGIN:VCARD\nVERSION:3.0\nN:;A;;;\nREV:last tuesday\nEND:VCARD\n",
     "record 1 (line 4)", "REV: is not an ISO 8601 date and time"),
    ("BEGIN:VCARD\nVERSION:3.0\nUID:x\nNOTE:no name at all\nEND:VCARD\n",
     "record 1 (line 1)", "N: name: a contact needs a name"),
    ("BEGIN:VCARD\nVERSION:3.0\nUID:x\nFN:A\nEND:VCARD\nBEGIN:VCARD\nUID:x\nFN:B\nEND:VCARD\n",
     "record 2 (line 6)", "id: the contact x is already listed at record 1 (line 1)"),
    ("BEGIN:VCARD\nVERSION:3.0\nFN:A\n", "record 1 (line 1)", "the card is not closed"),
    ("BEGIN:VCARD\nFN:A\nBEGIN:VCARD\nFN:B\nEND:VCARD\n", "record 1 (line 1)",
     "the card is not closed with END:VCARD before line 3"),
    ("BEGIN:VCARD\nFN:A\nEND:VCARD\nstray text\n", "line 4", "text outside a card"),
    ("given_name,family_name\nA,B\n", "line 1", "text outside a card"),
    ("\n\n", "", "the file holds no vCard"),
])
def test_bad_cards_are_refused_with_record_and_line(repo: TinyDBRepository, ann: User,
                                                    tmp_path: Path, text: str, location: str,
                                                    reason: str) -> None:
    error = _refused(repo, _vcf(tmp_path, text), ann)
    assert (error.location, error.reason[:len(reason)]) == (location, reason)


def test_folded_lines_and_long_unicode_notes_survive(repo: TinyDBRepository, ann: User,
                                                     other: TinyDBRepository,
                                                     tmp_path: Path) -> None:
    notes = "Ünïcødé 😀 " * 40 + "\n" + "ü" * 300
    contact = repo.add_contact(Contact(given_name="Long", notes=notes, owner_id=ann.id))
    path = tmp_path / "long.vcf"
    export_file(repo, path, viewer_id=ann.id, vcard_version="4.0")
    assert max(len(line) for line in path.read_bytes().split(b"\r\n")) <= 75
    other.add_user(User(name="Ann", email="ann@example.com", id=ann.id))
    import_file(other, path, viewer_id=ann.id, on_existing="skip")
    assert other.get_contact(contact.id).notes == notes
