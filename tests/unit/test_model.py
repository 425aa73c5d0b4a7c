"""Validation and conversion of every domain entity in :mod:`crmtui.model`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtui.model import (
    MAX_ITEMS,
    MAX_NAME,
    MAX_NOTES,
    MAX_TITLE,
    SYNC_PERIODS,
    Account,
    AccountState,
    Activity,
    ActivityStatus,
    ActivityType,
    Address,
    Conflict,
    Contact,
    Email,
    Participant,
    ParticipantKind,
    Phone,
    Priority,
    ResponseStatus,
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

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def fails(field: str, fragment: str, fn: Any, *args: Any, **kwargs: Any) -> ValidationError:
    """Call ``fn``; it must raise a ValidationError naming ``field`` whose problem says ``fragment``."""
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    assert info.value.field == field, str(info.value)
    assert fragment in info.value.problem, str(info.value)
    assert str(info.value).startswith(f"{field}: ")
    return info.value


# --------------------------------------------------------------------------- helpers


def test_fold_ignores_case_and_accents() -> None:
    assert fold("José") == fold("JOSE") == "jose"
    assert fold("Ångström") == fold("ANGSTROM")
    assert fold("Straße") == "strasse"
    assert fold("Mc'Donald-Smith 42") == "mc'donald-smith 42"  # the ASCII fast path
    assert fold("ÉCOLE école") == "ecole ecole"


# --------------------------------------------------------------------------- emails and phones


@pytest.mark.parametrize("bad", ["not-an-email", "a@", "@example.com", "a b@example.com",
                                 "ann@@example.com", "ann@exa mple.com"])
def test_email_syntax_is_checked(bad: str) -> None:
    err = fails("email", "is not a valid email address", Email, bad)
    assert err.value == bad


def test_email_is_trimmed_and_domain_lowercased() -> None:
    assert Email("  Ann.Lee@EXAMPLE.Com ").value == "Ann.Lee@example.com"


def test_empty_email_is_refused() -> None:
    fails("email", "must not be empty", Email, "   ")


def test_email_type_must_be_known() -> None:
    err = fails("email type", "must be one of work, home, other", Email, "a@x.com", "pager")
    assert err.value == "pager"
    assert Email("a@x.com", "HOME").type == "home"
    assert Email("a@x.com", "").type == "other"


def test_user_and_account_emails_are_validated() -> None:
    fails("email", "is not a valid email address", User, name="Ann", email="ann")
    fails("email", "is not a valid email address", Account, user_id="u1", email="ann@")


@pytest.mark.parametrize("good", ["+1 (555) 123-4567", "555.123.4567", "030/1234567",
                                  "+44 20 7946 0958 ext. 12", "555-1234 x99"])
def test_valid_phones(good: str) -> None:
    assert Phone(good).value == good


@pytest.mark.parametrize("bad", ["abc", "12", "555-CALL-NOW", "+1 555 123 4567 #9"])
def test_invalid_phones(bad: str) -> None:
    fails("phone", "is not a phone number", Phone, bad)


def test_phone_type_must_be_known() -> None:
    fails("phone type", "must be one of work, home, mobile", Phone, "5551234", "satellite")


# --------------------------------------------------------------------------- text cleaning


def test_names_are_trimmed_and_whitespace_collapsed() -> None:
    c = Contact(given_name="  José \t  María ", family_name="\nvan   der Berg ",
                company="  ACME\u00a0 Corp ", job_title=" Chief   Officer ")
    assert c.given_name == "José María"
    assert c.family_name == "van der Berg"
    assert c.company == "ACME Corp"
    assert c.job_title == "Chief Officer"
    assert User(name="  Ann   Lee ", email="a@x.com").name == "Ann Lee"
    assert Tag(name="  Hot   lead ").name == "Hot lead"
    assert Activity(title=" Call \n  Bob ").title == "Call Bob"


def test_notes_keep_their_lines_but_are_trimmed() -> None:
    c = Contact(given_name="A", notes="\n first line\n\n  second  line \n")
    assert c.notes == "first line\n\n  second  line"


@pytest.mark.parametrize(("field", "limit"), [("given_name", MAX_NAME), ("family_name", MAX_NAME),
                                              ("middle_name", MAX_NAME), ("company", 200),
                                              ("job_title", 200), ("notes", MAX_NOTES)])
def test_contact_length_bounds(field: str, limit: int) -> None:
    ok = Contact(**{"company": "ACME", field: "x" * limit})
    assert len(getattr(ok, field)) == limit
    fails(field, f"is {limit + 1} characters long, at most {limit} allowed",
          Contact, **{"company": "ACME", field: "x" * (limit + 1)})


def test_length_is_counted_after_trimming() -> None:
    assert Contact(given_name="  " + "x" * MAX_NAME + "  ").given_name == "x" * MAX_NAME


def test_other_length_bounds() -> None:
    fails("title", f"at most {MAX_TITLE} allowed", Activity, title="t" * (MAX_TITLE + 1))
    fails("name", "at most 200 allowed", User, name="n" * 201, email="a@x.com")
    fails("tag name", "at most 100 allowed", Tag, name="t" * 101)
    fails("location", "at most 1000 allowed", Activity, title="t", location="l" * 1001)


def test_too_many_list_items() -> None:
    emails = [f"a{i}@x.com" for i in range(MAX_ITEMS)]
    assert len(Contact(emails=emails).emails) == MAX_ITEMS
    fails("emails", f"has {MAX_ITEMS + 1} entries, at most {MAX_ITEMS} allowed",
          Contact, emails=[*emails, "last@x.com"])
    fails("phones", "at most", Contact, given_name="A", phones=["5551234"] * (MAX_ITEMS + 1))


def test_from_dict_bounds_lists_like_the_constructor() -> None:
    emails = [{"value": f"a{i}@x.com"} for i in range(MAX_ITEMS + 1)]
    fails("emails", f"has {MAX_ITEMS + 1} entries, at most {MAX_ITEMS} allowed",
          Contact.from_dict, {"emails": emails})
    fails("participants", "at most", Activity.from_dict,
          {"title": "t", "participants": [{"kind": "contact", "ref_id": f"c{i}"}
                                          for i in range(MAX_ITEMS + 1)]})


def test_a_run_with_many_conflicts_reads_back() -> None:
    # The store keeps up to 1000 conflicts per run; reading the run must not refuse them.
    run = SyncRun(user_id="u1", kind="contacts",
                  conflicts=[Conflict(record_id=f"c{i}", field_name="f", kept=1, lost=0,
                                      winner="google") for i in range(MAX_ITEMS * 3)])
    assert len(_json_round_trip(run).conflicts) == MAX_ITEMS * 3


def test_text_fields_refuse_non_text_and_control_characters() -> None:
    err = fails("given_name", "must be text", Contact, given_name=42)
    assert err.value == 42
    fails("given_name", "contains control characters", Contact, given_name="Ann\x00")
    fails("notes", "contains control characters", Contact, given_name="A", notes="x\x1b[31m")


def test_required_texts() -> None:
    fails("name", "must not be empty", User, name="  ", email="a@x.com")
    fails("title", "must not be empty", Activity, title=" \t ")
    fails("tag name", "must not be empty", Tag, name="")


# --------------------------------------------------------------------------- contacts


def test_contact_needs_a_name_company_or_email() -> None:
    fails("name", "a contact needs a name, a company or an email", Contact)
    fails("name", "a contact needs a name", Contact, given_name="   ", notes="only notes")
    assert Contact(company="ACME").display_name == "ACME"
    assert Contact(emails=["x@y.com"]).display_name == "x@y.com"


def test_duplicate_emails_are_refused_case_insensitively() -> None:
    err = fails("emails", "the same address is listed twice", Contact,
                given_name="A", emails=["ann@example.com", {"value": "ANN@Example.COM"}])
    assert "ann" in str(err).lower()


def test_contact_lists_accept_strings_and_dicts() -> None:
    c = Contact(given_name="A", emails=["a@x.com", {"value": "b@x.com", "type": "home"}],
                phones=["5551234", Phone("5559999", "mobile", primary=True)],
                addresses=[{"city": "Oslo"}])
    assert [e.value for e in c.emails] == ["a@x.com", "b@x.com"]
    assert c.emails[1].type == "home"
    assert c.primary_email == "a@x.com"
    assert c.primary_phone == "5559999"
    assert c.addresses[0].one_line() == "Oslo"
    fails("email", "must be an object", Contact, given_name="A", emails=[42])
    fails("emails", "must be a list", Contact, given_name="A", emails="a@x.com")


def test_contact_tags_are_ids_and_deduplicated() -> None:
    assert Contact(given_name="A", tags=["t1", "t2", "t1"]).tags == ["t1", "t2"]
    fails("tags", "is not a valid identifier", Contact, given_name="A", tags=["has space"])


def test_contact_birthday() -> None:
    assert Contact(given_name="A", birthday="1990-02-28").birthday == date(1990, 2, 28)
    fails("birthday", "is not a date (YYYY-MM-DD)", Contact, given_name="A", birthday="28/02/1990")
    fails("birthday", "must be a date without a time", Contact, given_name="A",
          birthday=datetime(1990, 2, 28, tzinfo=UTC))


def test_address_rules() -> None:
    fails("address", "is empty", Address)
    fails("address type", "must be one of work, home, other", Address, type="boat", city="X")
    a = Address(street=" 1 Main St \n Apt 2 ", city="  New   York ", postal_code="10001")
    assert a.city == "New York"
    assert a.street.startswith("1 Main St") and a.street.endswith("Apt 2")
    assert a.one_line().endswith(", 10001, New York")


def test_contact_timestamps_must_be_aware() -> None:
    fails("created", "must carry a time zone", Contact, given_name="A",
          created=datetime(2024, 1, 1, 10, 0))
    fails("modified", "must carry a time zone", Contact, given_name="A",
          modified="2024-01-01T10:00:00")
    fails("created", "is not an ISO 8601 date and time", Contact, given_name="A",
          created="yesterday")
    c = Contact(given_name="A", created="2024-01-01T10:00:00+02:00")
    assert c.created == datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def test_evolve_validates() -> None:
    c = Contact(given_name="Ann")
    assert c.evolve(family_name=" Lee ").family_name == "Lee"
    fails("emails", "the same address is listed twice", c.evolve, emails=["a@x.com", "a@x.com"])


def test_ids_are_checked() -> None:
    fails("id", "is not a valid identifier", Contact, given_name="A", id="bad id!")
    fails("owner_id", "is not a valid identifier", Contact, given_name="A", owner_id="x/y")
    assert len(Contact(given_name="A").id) == 32


# --------------------------------------------------------------------------- tags


def test_private_tag_needs_an_owner() -> None:
    fails("tag owner", "a private tag must have an owner", Tag, name="Mine", kind=TagKind.PRIVATE)
    fails("tag owner", "a public tag has no owner", Tag, name="All", owner_id="u1")
    fails("tag owner", "a corporate tag has no owner", Tag, name="Co", kind="corporate",
          owner_id="u1")
    tag = Tag(name="Mine", kind="private", owner_id="u1")
    assert tag.kind is TagKind.PRIVATE
    assert tag.visible_to("u1") and not tag.visible_to("u2") and not tag.visible_to(None)
    assert Tag(name="All").visible_to("u2")


def test_unknown_enum_values_list_the_allowed_ones() -> None:
    fails("tag kind", "must be one of private, public, corporate", Tag, name="x", kind="secret")
    fails("type", "must be one of task, call, meeting, email", Activity, title="t", type="party")
    fails("status", "must be one of not_started, in_progress, completed, cancelled",
          Activity, title="t", status="done")
    fails("priority", "must be one of low, medium, high", Activity, title="t", priority="urgent")
    fails("participant kind", "must be one of user, contact", Participant, "robot", "u1")
    fails("participant response", "must be one of needsAction, accepted, tentative, declined",
          Participant, "user", "u1", "maybe")
    fails("state", "must be one of connected, needs_reconnect", Account, user_id="u1",
          email="a@x.com", state="lost")
    fails("kind", "must be one of contacts, activities", SyncLink, user_id="u1", kind="notes",
          local_id="l", remote_id="r")


# --------------------------------------------------------------------------- activities


def test_timed_activity_refuses_naive_datetimes() -> None:
    fails("start", "must carry a time zone (naive date and time)", Activity, title="t",
          start=datetime(2024, 1, 1, 10, 0))
    fails("end", "must carry a time zone", Activity, title="t", start=T0,
          end=datetime(2024, 3, 1, 10, 0))
    fails("start", "is not an ISO 8601 date and time", Activity, title="t", start="soon")


def test_end_before_start() -> None:
    err = fails("end", "is before the start", Activity, title="t", start=T0,
                end=T0 - timedelta(minutes=1))
    assert err.value == (T0 - timedelta(minutes=1)).isoformat()
    fails("start", "an activity with an end needs a start", Activity, title="t", end=T0)
    assert Activity(title="t", start=T0, end=T0).end == T0


def test_end_before_start_across_time_zones() -> None:
    # 10:00 in Berlin is 09:00 UTC: an end at 09:30 UTC is after it, one at 08:30 UTC is before.
    start = datetime(2024, 1, 10, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert Activity(title="t", start=start, end=datetime(2024, 1, 10, 9, 30, tzinfo=UTC))
    fails("end", "is before the start", Activity, title="t", start=start,
          end=datetime(2024, 1, 10, 8, 30, tzinfo=UTC))


def test_timezone_is_checked_and_applied() -> None:
    fails("timezone", "is not a known IANA time zone", Activity, title="t", timezone="Mars/Base")
    a = Activity(title="t", start=T0, end=T0 + timedelta(hours=1), timezone="America/New_York")
    assert a.start == T0 and a.start.utcoffset() == timedelta(hours=-5)
    assert a.starts_on() == date(2024, 3, 1)


def test_all_day_rules() -> None:
    fails("start_date", "an all-day activity needs a start date", Activity, title="t",
          all_day=True)
    fails("start", "an all-day activity has dates, not times", Activity, title="t", all_day=True,
          start_date="2024-01-01", start=T0)
    fails("end_date", "is before the start date", Activity, title="t", all_day=True,
          start_date="2024-01-02", end_date="2024-01-01")
    fails("start_date", "only an all-day activity has dates", Activity, title="t",
          start_date="2024-01-01")
    fails("start_date", "must be a date without a time", Activity, title="t", all_day=True,
          start_date=T0)
    one = Activity(title="t", all_day=True, start_date="2024-01-01")
    assert one.end_date == one.start_date == date(2024, 1, 1)
    assert one.sort_start() == datetime(2024, 1, 1, tzinfo=UTC)
    assert one.starts_on() == date(2024, 1, 1)


def test_participants() -> None:
    fails("participants", "the same participant is listed twice", Activity, title="t",
          participants=[Participant("user", "u1"), {"kind": "user", "ref_id": "u1"}])
    a = Activity(title="t", organizer_id="u0",
                 participants=[{"kind": "user", "ref_id": "u1"},
                               {"kind": "contact", "ref_id": "u1", "response": "accepted"}])
    assert a.is_collective
    assert a.participants[1].response is ResponseStatus.ACCEPTED
    assert a.involves("u0") and a.involves("u1") and not a.involves("u2")
    contact_only = Activity(title="t", participants=[Participant(ParticipantKind.CONTACT, "c1")])
    assert not contact_only.involves("c1") and not contact_only.is_collective
    fails("participant", "is required", Participant, "user", "")


def test_recurrence_lines() -> None:
    assert Activity(title="t", recurrence=["RRULE:FREQ=WEEKLY"]).recurrence == ["RRULE:FREQ=WEEKLY"]
    fails("recurrence", "lines must start with RRULE", Activity, title="t",
          recurrence=["FREQ=WEEKLY"])


# --------------------------------------------------------------------------- accounts and sync


@pytest.mark.parametrize("period", SYNC_PERIODS)
def test_sync_periods_allowed(period: int) -> None:
    s = SyncSettings(user_id="u1", contacts_period=period, activities_period=period)
    assert (s.contacts_period, s.activities_period) == (period, period)


@pytest.mark.parametrize("period", [0, 2, 20, 61, 120, -5, True, "5", 5.5, None])
def test_sync_periods_refused(period: Any) -> None:
    fails("contacts_period", "must be one of 1, 5, 10, 15, 30, 60 minutes", SyncSettings,
          user_id="u1", contacts_period=period)
    fails("activities_period", "must be one of 1, 5, 10, 15, 30, 60 minutes", SyncSettings,
          user_id="u1", activities_period=period)


def test_sync_settings_other_fields() -> None:
    fails("contacts_group_name", "must not be empty", SyncSettings, user_id="u1",
          contacts_group_name=" ")
    s = SyncSettings(user_id="u1", activities_from="2024-01-01")
    assert s.activities_from == date(2024, 1, 1)
    assert s.contacts_period == 60 and not s.contacts_auto


def test_account_endpoint_and_provider() -> None:
    fails("endpoint", "must be an http:// or https:// URL", Account, user_id="u1",
          email="a@x.com", endpoint="ftp://x")
    fails("provider", "must be one of google", Account, user_id="u1", email="a@x.com",
          provider="other")
    acc = Account(user_id="u1", email="a@x.com", endpoint="http://127.0.0.1:8080")
    assert acc.state is AccountState.CONNECTED


def test_journal_records() -> None:
    fails("winner", "must be one of crm, google", Conflict, record_id="r", field_name="f",
          kept=1, lost=2, winner="me")
    fails("status", "must be one of running, ok, failed, stopped", SyncRun, user_id="u",
          kind="contacts", status="weird")
    fails("counts", "must map names to whole numbers", SyncRun, user_id="u", kind="contacts",
          counts={"added": "3"})
    fails("counts", "must map names to whole numbers", SyncRun, user_id="u", kind="contacts",
          counts={"added": True})
    fails("finished", "must carry a time zone", SyncRun, user_id="u", kind="contacts",
          finished=datetime(2024, 1, 1))
    fails("remote_id", "must not be empty", SyncLink, user_id="u", kind="contacts",
          local_id="l", remote_id=" ")
    fails("base", "must be an object", SyncLink, user_id="u", kind="contacts", local_id="l",
          remote_id="people/1", base=[])


# --------------------------------------------------------------------------- from_dict and round trips


@pytest.mark.parametrize("cls", [Contact, Activity, User, Tag, Account, SyncSettings, SyncRun,
                                 SyncLink, Conflict, Email, Phone, Address, Participant])
def test_from_dict_refuses_unknown_keys(cls: type) -> None:
    err = fails(cls.__name__.lower(), "unknown field(s): colour, zeta", cls.from_dict,
                {"zeta": 1, "colour": "red"})
    assert err.field == cls.__name__.lower()


def test_from_dict_refuses_unknown_nested_keys_and_non_objects() -> None:
    fails("email", "unknown field(s): label", Contact.from_dict,
          {"given_name": "A", "emails": [{"value": "a@x.com", "label": "x"}]})
    fails("contact", "must be an object", Contact.from_dict, ["given_name", "A"])


def test_schema_zero_style_keys_are_unknown() -> None:
    # A contact dict with a single "email" string is the old layout: only migrations accept it.
    fails("contact", "unknown field(s): email", Contact.from_dict,
          {"given_name": "A", "email": "a@x.com"})


def _json_round_trip(record: Any) -> Any:
    data = orjson.loads(orjson.dumps(record.to_dict()))
    again = type(record).from_dict(data)
    assert again == record
    assert again.to_dict() == record.to_dict()
    return again


def test_round_trips_of_every_entity() -> None:
    user = User(name="Ann", email="ann@example.com", contact_id="c1")
    contact = Contact(given_name="Ann", family_name="Lee", middle_name="M", job_title="CTO",
                      company="ACME", emails=[Email("ann@example.com", "work", True)],
                      phones=[Phone("+1 (555) 123-4567", "mobile")],
                      addresses=[Address(street="1 Main St\nApt 2", city="Oslo", country="NO")],
                      birthday=date(1990, 1, 2), notes="line 1\nline 2", tags=["t1"],
                      owner_id=user.id)
    timed = Activity(title="Meet", type=ActivityType.MEETING, start=T0, end=T0 + timedelta(hours=1),
                     timezone="Europe/Paris", status=ActivityStatus.IN_PROGRESS,
                     priority=Priority.HIGH, location="Room 1", notes="n", owner_id=user.id,
                     organizer_id=user.id, show_in_calendar=True,
                     participants=[Participant("user", user.id, "accepted"),
                                   Participant("contact", contact.id)],
                     recurrence=["RRULE:FREQ=DAILY;COUNT=3"])
    all_day = Activity(title="Trip", all_day=True, start_date=date(2024, 5, 1),
                       end_date=date(2024, 5, 3), series_id=timed.id)
    run = SyncRun(user_id=user.id, kind=SyncKind.CONTACTS, finished=T0, status="ok",
                  counts={"added": 2}, errors=["boom"],
                  conflicts=[Conflict(record_id="c1", field_name="phone", kept="1", lost="2",
                                      winner="crm", at=T0)])
    records = [user, contact, timed, all_day, run,
               Tag(name="Mine", kind="private", owner_id=user.id),
               Account(user_id=user.id, email="ann@gmail.com", endpoint="http://localhost:1"),
               SyncSettings(user_id=user.id, contacts_auto=True, contacts_period=5,
                            contacts_tag_id="t1", activities_from=date(2024, 1, 1)),
               SyncLink(user_id=user.id, kind=SyncKind.ACTIVITIES, local_id=timed.id,
                        remote_id="evt1", etag='"e1"', base={"title": "Meet"}, synced=T0)]
    for record in records:
        _json_round_trip(record)
    again = _json_round_trip(timed)
    assert again.start.tzinfo is not None and again.start.utcoffset() == timedelta(hours=1)


# Hypothesis strategies for believable contacts.
_word = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzéüåßøABCZ'-"), min_size=1, max_size=12)
_name = st.lists(_word, min_size=0, max_size=3).map(" ".join)
_local = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=10)
_domain = st.sampled_from(["example.com", "example.org", "mail.example.net"])
_email_value = st.builds(lambda a, b, d: f"{a}.{b}@{d}", _local, _local, _domain)
_phone_value = st.builds(lambda cc, a, b: f"+{cc} ({a}) {b}", st.integers(1, 99),
                         st.integers(100, 999), st.integers(1000000, 9999999).map(str))
emails = st.lists(st.builds(Email, _email_value, st.sampled_from(["work", "home", "other"]),
                            st.booleans()),
                  max_size=4, unique_by=lambda e: e.value.casefold())
phones = st.lists(st.builds(Phone, _phone_value, st.sampled_from(["work", "mobile", "fax"]),
                            st.booleans()), max_size=3)
addresses = st.lists(st.builds(Address, type=st.sampled_from(["work", "home"]), city=_word,
                               street=_name, country=st.sampled_from(["", "NO", "FR"])),
                     max_size=2)
contacts = st.builds(
    Contact, given_name=_name, family_name=_name, company=st.one_of(st.just("ACME"), _word),
    emails=emails, phones=phones, addresses=addresses,
    birthday=st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2020, 12, 31))),
    notes=st.text(max_size=40).filter(lambda s: all(c.isprintable() or c in "\n\t" for c in s)),
    tags=st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=3),
    created=st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1),
                         timezones=st.sampled_from([UTC, ZoneInfo("Asia/Tokyo")])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contacts)
def test_contact_round_trip_property(contact: Contact) -> None:
    again = _json_round_trip(contact)
    assert again.display_name == contact.display_name
    # Validation is idempotent: a stored contact passes it unchanged.
    assert Contact(**{f: getattr(again, f) for f in Contact.__dataclass_fields__}) == contact


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_names_are_always_clean(raw: str) -> None:
    try:
        c = Contact(given_name=raw, company="ACME")
    except ValidationError as exc:
        assert exc.field == "given_name"
        return
    assert c.given_name == c.given_name.strip()
    assert "  " not in c.given_name
    assert not any(ch in c.given_name for ch in "\n\t\r")
