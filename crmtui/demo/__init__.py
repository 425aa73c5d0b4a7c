"""Sample data for ``crmtui --demo``: a small sales team, its contacts, tags and calendar.

:func:`seed_demo` fills an empty repository with believable, deterministic data: the same seed and
the same ``now`` give the same records, ids included. Activity dates are relative to ``now``, so the
demo always has meetings today and in the coming weeks. :func:`open_demo` opens (and, the first
time, seeds) the demo's own data directory. The fixed data it draws from (names, companies, the
team) is in :mod:`crmtui.demo.data`.

The demo runs as :data:`DEMO_EMAIL`. One of that user's private tags, :data:`SYNC_TAG_NAME`, holds
the contacts meant to be synchronized with Google.

The Google side: :func:`running_demo_google` runs the built-in Google emulator
(``crmtui.emulator``) for as long as the demo runs, with an account per demo user (its state kept in
the demo's directory). The demo user's Google address book holds a few of the people that the CRM
tags for sync (:func:`google_shared_emails`), so a first synchronization links them.
:func:`link_demo_google` links the demo user's CRM account to that Google account and sets up the
user's sync, so "Synchronize now" works at once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crmtui import config
from crmtui.demo.data import (
    _COMPANIES,
    _CORPORATE_TAGS,
    _JOB_TITLES,
    _LOCALES,
    _NOTES,
    _PERSONAL_DOMAINS,
    _PUBLIC_TAGS,
    _REGION_TAGS,
    _TEAM,
    _TRANSLIT,
    DEFAULT_CONTACTS,
    DEMO_EMAIL,
    DEMO_SEED,
    GOOGLE_STATE_FILE,
    HOME_ZONE,
    SYNC_TAG_NAME,
    _Locale,
)
from crmtui.model import (
    DEFAULT_GROUP_NAME,
    Account,
    Activity,
    ActivityStatus,
    ActivityType,
    Address,
    Contact,
    Email,
    Participant,
    ParticipantKind,
    Phone,
    Priority,
    ResponseStatus,
    SyncSettings,
    Tag,
    TagKind,
    User,
    fold,
    utcnow,
)
from crmtui.store import Repository, StoreError, open_repository

if TYPE_CHECKING:
    from crmtui.emulator import Emulator

# --------------------------------------------------------------------------- seeding


class _Seeder:
    """Builds the demo records from one random generator, in a fixed order."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now.astimezone(UTC).replace(microsecond=0)
        self.today = self.now.astimezone(ZoneInfo(HOME_ZONE)).date()
        self.used_emails: set[str] = set()

    def new_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def past(self, min_days: float, max_days: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(min_days, max_days),
                                    seconds=self.rng.randrange(86_400))

    def phone(self, locale: _Locale) -> str:
        digits = "".join(str(self.rng.randrange(10)) if ch == "#" else ch
                         for ch in locale.phone_pattern)
        return f"{locale.phone_prefix} {digits}"

    def unique_email(self, local: str, domain: str) -> str:
        address, n = f"{local}@{domain}", 2
        while address in self.used_emails:
            address, n = f"{local}{n}@{domain}", n + 1
        self.used_emails.add(address)
        return address

    # -- people ---------------------------------------------------------------------------------

    def users(self) -> list[tuple[User, Contact]]:
        out = []
        created = self.now - timedelta(days=900)
        for member in _TEAM:
            user_id, contact_id = self.new_id(), self.new_id()
            self.used_emails.update((member.email, member.home_email))
            contact = Contact(
                id=contact_id, given_name=member.given, family_name=member.family,
                job_title=member.job_title, company="Brightline",
                emails=[Email(member.email, "work", primary=True),
                        Email(member.home_email, "home")],
                phones=[Phone(member.phone, "work", primary=True)],
                owner_id=user_id, created=created, modified=created)
            user = User(id=user_id, name=f"{member.given} {member.family}", email=member.email,
                        contact_id=contact_id, created=created)
            out.append((user, contact))
        return out

    def contacts(self, count: int, owners: Sequence[str]) -> tuple[list[Contact], list[_Locale]]:
        rng = self.rng
        contacts, locales = [], []
        names: set[tuple[str, str]] = set()
        general: set[str] = set()  # companies that have a general contact (info@)
        for _ in range(count):
            locale = rng.choice(_LOCALES)
            for _attempt in range(5):  # avoid namesakes while the name pool allows it
                given, family = rng.choice(locale.given), rng.choice(locale.family)
                if (given, family) not in names:
                    break
            names.add((given, family))
            middle = rng.choice(locale.given) if rng.random() < 0.05 else ""
            if middle == given:
                middle = ""
            kind = rng.random()
            company = "" if kind < 0.08 else rng.choice(_COMPANIES)
            if kind > 0.97 and company not in general:  # a company's general contact
                given = family = middle = ""
                general.add(company)
            local = ".".join(p for p in (_ascii(given), _ascii(family)) if p) or "info"
            emails: list[Email] = []
            if company:
                emails.append(Email(self.unique_email(local, f"{_slug(company)}.example.com"),
                                    "work", primary=True))
            if given and (not company or rng.random() < 0.35):
                emails.append(Email(self.unique_email(local.replace(".", "") + str(
                    rng.randrange(10, 99)), rng.choice(_PERSONAL_DOMAINS)), "home",
                    primary=not emails))
            if given and emails and rng.random() < 0.08:
                emails.append(Email(self.unique_email(local, "alumni.example.com"), "other"))
            phones: list[Phone] = []
            for ptype, chance in (("work", 0.8), ("mobile", 0.55), ("home", 0.12),
                                  ("fax", 0.03)):
                if rng.random() < chance:
                    phones.append(Phone(self.phone(locale), ptype, primary=not phones))
            addresses: list[Address] = []
            for atype, chance in (("work", 0.5), ("home", 0.1)):
                if rng.random() < chance:
                    city, region, postal = rng.choice(locale.cities)
                    addresses.append(Address(
                        type=atype, street=rng.choice(locale.streets).format(
                            n=rng.randrange(1, 180)),
                        city=city, region=region, postal_code=postal, country=locale.country,
                        primary=not addresses))
            birthday = None
            if given and rng.random() < 0.35:
                birthday = date(rng.randrange(1955, 2001), rng.randrange(1, 13),
                                rng.randrange(1, 29))
            notes = ""
            if rng.random() < 0.3:
                city = rng.choice(locale.cities)[0]
                notes = rng.choice(_NOTES).format(
                    city=city, country=locale.country, company=company or "their company",
                    other=f"{rng.choice(locale.given)} {rng.choice(locale.family)}")
            created = self.past(30, 900)
            modified = min(self.now, created + timedelta(days=rng.uniform(0, 400)))
            contacts.append(Contact(
                id=self.new_id(), given_name=given, middle_name=middle, family_name=family,
                job_title=rng.choice(_JOB_TITLES) if company and given else "", company=company,
                emails=emails, phones=phones, addresses=addresses, birthday=birthday,
                notes=notes, owner_id=rng.choice(owners), created=created, modified=modified))
            locales.append(locale)
        return contacts, locales

    # -- tags -----------------------------------------------------------------------------------

    def tags(self, users: Sequence[User], contacts: list[Contact], locales: list[_Locale]
             ) -> list[Tag]:
        """Create the tags and put them on ``contacts`` (in place); returns the tags."""
        rng, created = self.rng, self.now - timedelta(days=800)
        tags: list[Tag] = []
        people = [c for c in contacts if c.given_name]

        def put(tag: Tag, holders: Sequence[Contact]) -> None:
            tags.append(tag)
            for contact in holders:
                contact.tags.append(tag.id)

        for name, share in _PUBLIC_TAGS:
            put(Tag(name, TagKind.PUBLIC, id=self.new_id(), created=created),
                [c for c in contacts if rng.random() < share])
        for name, share in _CORPORATE_TAGS:
            put(Tag(name, TagKind.CORPORATE, id=self.new_id(), created=created),
                [c for c in contacts if c.company and rng.random() < share])
        for region in _REGION_TAGS:
            put(Tag(region, TagKind.CORPORATE, id=self.new_id(), created=created),
                [c for c, loc in zip(contacts, locales, strict=True)
                 if loc.region_tag == region and c.company and rng.random() < 0.5])
        for user, member in zip(users, _TEAM, strict=True):
            for name, size in member.private_tags:
                put(Tag(name, TagKind.PRIVATE, owner_id=user.id, id=self.new_id(),
                        created=created),
                    rng.sample(people, min(size, len(people))))
        return tags

    # -- activities -----------------------------------------------------------------------------

    def at(self, day_offset: int, hour: int, minute: int, zone: str) -> datetime:
        day = self.today + timedelta(days=day_offset)
        return datetime.combine(day, time(hour, minute), ZoneInfo(zone))

    def workday(self, lo: int, hi: int) -> int:
        while True:
            offset = self.rng.randint(lo, hi)
            if (self.today + timedelta(days=offset)).weekday() < 5:
                return offset

    def activities(self, users: Sequence[User], contacts: Sequence[Contact]) -> list[Activity]:
        rng = self.rng
        demo, others = users[0], list(users[1:])
        people = [c for c in contacts if c.given_name]
        out: list[Activity] = []

        def add(title: str, kind: ActivityType, organizer: User, start: datetime | None,
                minutes: int, zone: str, guests: Sequence[Contact] = (),
                colleagues: Sequence[User] = (), **extra: Any) -> Activity:
            past = start is not None and start < self.now
            status = (ActivityStatus.COMPLETED if rng.random() < 0.9 else
                      ActivityStatus.CANCELLED) if past else ActivityStatus.NOT_STARTED
            participants = [Participant(ParticipantKind.USER, organizer.id,
                                        ResponseStatus.ACCEPTED)]
            participants += [Participant(ParticipantKind.USER, u.id, self.response())
                             for u in colleagues if u.id != organizer.id]
            participants += [Participant(ParticipantKind.CONTACT, c.id, self.response())
                             for c in guests]
            created = min(self.now, (start or self.now) - timedelta(days=rng.uniform(1, 20)))
            fields: dict[str, Any] = {
                "status": status, "priority": rng.choice((Priority.LOW, Priority.MEDIUM,
                                                          Priority.MEDIUM, Priority.HIGH)),
                "owner_id": organizer.id, "organizer_id": organizer.id,
                "participants": participants, "created": created, "modified": created}
            fields.update(extra)
            end = None if start is None else start + timedelta(minutes=minutes)
            activity = Activity(id=self.new_id(), title=title, type=kind, start=start, end=end,
                                timezone=zone if start is not None else "", **fields)
            out.append(activity)
            return activity

        # A weekly series of eight, from three Mondays ago, and one moved occurrence.
        monday = -self.today.weekday() - 21
        series = add("Weekly pipeline review", ActivityType.MEETING, demo,
                     self.at(monday, 9, 30, HOME_ZONE), 45, HOME_ZONE, colleagues=users,
                     location="Brightline office, room Ada", show_in_calendar=True,
                     recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"],
                     notes="Pipeline, forecast and blockers. Bring your top three deals.")
        add("Weekly pipeline review (moved to Tuesday)", ActivityType.MEETING, demo,
            self.at(monday + 29, 14, 0, HOME_ZONE), 45, HOME_ZONE, colleagues=users,
            location="Brightline office, room Grace", show_in_calendar=True,
            series_id=series.id)

        zones = ((HOME_ZONE, 0.6), ("America/New_York", 0.2), ("Asia/Tokyo", 0.15),
                 ("Europe/London", 0.05))
        meeting_titles = ("Quarterly business review — {company}", "Product demo for {company}",
                          "Contract negotiation with {company}", "Lunch with {name}",
                          "Kick-off: {company} rollout", "Workshop with {name}")
        for i in range(28):
            guest_count = rng.choice((1, 1, 2, 3))
            guests = rng.sample(people, guest_count)
            organizer = demo if i % 3 else rng.choice(others)
            colleagues = rng.sample(others, rng.randint(0, 2)) if i % 4 == 0 else []
            if i % 5 == 0 and demo not in colleagues:
                colleagues.append(demo)
            zone = rng.choices([z for z, _ in zones], [w for _, w in zones])[0]
            lead = guests[0]
            titles = [t for t in meeting_titles if lead.company or "{company}" not in t]
            add(rng.choice(titles).format(company=lead.company, name=lead.display_name),
                ActivityType.MEETING, organizer,
                self.at(self.workday(-20, 21), rng.randint(9, 16), rng.choice((0, 30)), zone),
                rng.choice((30, 60, 60, 90)), zone, guests, colleagues,
                location=rng.choice(("Video call", "Brightline office, room Ada",
                                     f"{lead.company or 'Their'} office",
                                     "Café de Flore, Paris")),
                show_in_calendar=rng.random() < 0.8)
        call_titles = ("Call {name} about the renewal", "Follow-up call with {name}",
                       "Discovery call: {company}", "Check in with {name}")
        for _ in range(16):
            guest = rng.choice(people)
            zone = rng.choice((HOME_ZONE, HOME_ZONE, "America/New_York", "Asia/Tokyo"))
            add(rng.choice(call_titles).format(name=guest.display_name,
                                               company=guest.company or guest.display_name),
                ActivityType.CALL, rng.choice((demo, demo, *others)),
                self.at(self.workday(-18, 18), rng.randint(8, 17), rng.choice((0, 15, 30, 45)),
                        zone),
                rng.choice((15, 30)), zone, [guest], show_in_calendar=rng.random() < 0.3,
                location=guest.primary_phone)
        task_titles = ("Send proposal to {company}", "Prepare quote for {company}",
                       "Update the {company} account plan", "Book travel for the {company} visit",
                       "Review contract draft from {company}")
        for _ in range(14):
            guest = rng.choice([c for c in people if c.company])
            add(rng.choice(task_titles).format(company=guest.company), ActivityType.TASK,
                rng.choice((demo, demo, *others)),
                self.at(self.workday(-15, 20), rng.randint(9, 17), 0, HOME_ZONE), 60, HOME_ZONE,
                [guest], notes=rng.choice(("", "See the shared folder for the template.",
                                           "Ask finance for the discount approval first.")))
        for _ in range(8):
            guest = rng.choice([c for c in people if c.emails])
            add(f"Email {guest.display_name} the updated price list", ActivityType.EMAIL,
                rng.choice((demo, *others)),
                self.at(self.workday(-10, 10), rng.randint(9, 17), 30, HOME_ZONE), 15, HOME_ZONE,
                [guest])
        # All-day events: a trade fair (three days), an offsite, a holiday, a birthday.
        for title, offset, days, kind, with_all in (
                ("Trade fair: Hannover Messe", 9, 3, ActivityType.MEETING, True),
                ("Team offsite", 16, 1, ActivityType.MEETING, True),
                ("Office closed (local holiday)", -6, 1, ActivityType.TASK, False),
                ("Prepare the annual account reviews", 3, 2, ActivityType.TASK, False)):
            start_day = self.today + timedelta(days=offset)
            add(title, kind, demo, None, 0, "", colleagues=users if with_all else (),
                all_day=True, start_date=start_day, end_date=start_day + timedelta(days=days - 1),
                show_in_calendar=True,
                status=(ActivityStatus.COMPLETED if offset < 0 else ActivityStatus.NOT_STARTED))
        return out

    def response(self) -> ResponseStatus:
        return self.rng.choice((ResponseStatus.ACCEPTED, ResponseStatus.ACCEPTED,
                                ResponseStatus.TENTATIVE, ResponseStatus.NEEDS_ACTION,
                                ResponseStatus.DECLINED))


def _ascii(text: str) -> str:
    """``text`` as lowercase ASCII letters and digits, for the local part of an email."""
    return "".join(ch for ch in fold(text).translate(_TRANSLIT) if ch.isascii() and ch.isalnum())


def _slug(company: str) -> str:
    words = [_ascii(w) for w in company.replace("&", " ").split()]
    suffixes = {"sa", "gmbh", "as", "kk", "sl", "inc", "spzoo", "llc", "sro", "ab", "aps",
                "pvtltd", "pvt", "ltd", "co", "lda", "ehf", "ag", "llp", "corp", "sadecv", "de",
                "cv", "z", "oo", "sp"}
    kept = [w for w in words if w and w not in suffixes]
    return "-".join(kept[:3])


@dataclass(frozen=True, slots=True)
class _DemoData:
    team: list[tuple[User, Contact]]  # each user with the user's own contact
    contacts: list[Contact]
    tags: list[Tag]
    activities: list[Activity]


def _generate(seed: int, now: datetime, contacts: int) -> _DemoData:
    seeder = _Seeder(seed, now)
    team = seeder.users()
    users = [user for user, _ in team]
    people, locales = seeder.contacts(contacts, [u.id for u in users])
    tags = seeder.tags(users, people, locales)
    return _DemoData(team, people, tags, seeder.activities(users, people))


def seed_demo(repo: Repository, *, seed: int = DEMO_SEED, contacts: int = DEFAULT_CONTACTS,
              now: datetime | None = None) -> str:
    """Fill the empty ``repo`` with sample data; returns the id of the demo user.

    The same ``seed`` and ``now`` give the same records. Activities fall in the three weeks
    before and after ``now`` (default: the current time). ``contacts`` sets how many contacts
    besides the team's own are made (benchmarks use large numbers).
    """
    if repo.list_users() or repo.count_contacts():
        raise StoreError(f"the demo data goes into an empty database, but {repo.path} already "
                         "holds users or contacts; use a new data directory")
    data = _generate(seed, now or utcnow(), contacts)
    with repo.transaction():
        for user, own_contact in data.team:
            repo.add_user(user, own_contact)
        for tag in data.tags:
            repo.add_tag(tag)
        repo.add_contacts(data.contacts)
        repo.add_activities(data.activities)
    return data.team[0][0].id


def open_demo(directory: Path, database: str | None = None) -> tuple[Repository, str]:
    """Open the demo store in ``directory``, or the PostgreSQL ``database`` (seeding it on first
    use, and making the demo user the default one when none is set); returns it and the user."""
    repo = open_repository(directory, database)
    try:
        user = repo.find_user(DEMO_EMAIL)
        if user is None:
            if repo.list_users():
                raise StoreError(f"{directory} holds data that is not crmtui's demo (no user "
                                 f"{DEMO_EMAIL}); point the demo at an empty directory")
            user_id = seed_demo(repo)
        else:
            user_id = user.id
        if not config.load(directory).get("default_user"):
            # The demo has three users: scripting it (`crmtui --demo account list`) acts as Alex.
            config.set_value(directory, "default_user", DEMO_EMAIL)
    except BaseException:
        repo.close()
        raise
    return repo, user_id


# --------------------------------------------------------------------------- the Google side


def google_accounts() -> list[tuple[str, str]]:
    """The demo team as ``(name, email)``, the demo user first: their Google accounts."""
    return [(f"{m.given} {m.family}", m.email) for m in _TEAM]


def google_shared_emails(count: int = 4) -> list[str]:
    """The work emails of ``count`` contacts that :func:`seed_demo` tags for sync with Google.

    The demo's Google address book holds them too, so a first synchronization links them rather
    than duplicating them. They come out of the same generator as the demo data, and do not
    depend on the time.
    """
    data = _generate(DEMO_SEED, utcnow(), DEFAULT_CONTACTS)
    owner = data.team[0][0].id
    sync = next(t for t in data.tags if t.name == SYNC_TAG_NAME and t.owner_id == owner)
    return [c.primary_email for c in data.contacts
            if sync.id in c.tags and c.company and c.given_name][:count]


def seed_google(emulator: Emulator) -> None:
    """Give the running ``emulator`` the demo's Google accounts, address book and calendars."""
    from crmtui.emulator.seed import seed_demo_google

    seed_demo_google(emulator, google_accounts(), crm_emails=google_shared_emails())


@contextmanager
def running_demo_google(directory: Path) -> Iterator[Emulator]:
    """Run the demo's Google side on a loopback port for the duration of the block.

    Yields the running emulator (its ``base_url`` changes with every run). Its state lives in
    ``directory`` (the demo's), so what the demo synchronizes survives a restart; it is seeded on
    first use. :func:`link_demo_google` links the demo user to it.
    """
    from crmtui.emulator import running_emulator

    with running_emulator(state_file=directory / GOOGLE_STATE_FILE) as emulator:
        if not emulator.state.accounts:
            seed_google(emulator)
        yield emulator


def demo_client_secrets(emulator: Emulator) -> dict[str, Any]:
    """The installed-app OAuth client of the demo's Google account (:data:`DEMO_EMAIL`) on the
    running ``emulator``, as a client secrets file holds it: what "New → Google" in the demo's
    Accounts screen links with. Its consent page grants at once, to that account."""
    info = emulator.create_account(DEMO_EMAIL)
    return {"installed": {
        "client_id": info["client_id"], "client_secret": info["client_secret"],
        "auth_uri": f"{emulator.base_url}/o/oauth2/auth", "token_uri": emulator.token_uri,
        "redirect_uris": ["http://localhost"]}}


def link_demo_google(repo: Repository, directory: Path, user_id: str,
                     emulator: Emulator) -> Account:
    """Link ``user_id`` to the demo's Google account (:data:`DEMO_EMAIL`) on the running
    ``emulator``, and set up the user's sync when it never was; returns the account.

    The emulator's port changes with every run: linking again re-points the existing account
    (endpoint and tokens) instead of adding a second one. The credentials pass through a 0600
    temporary file that is removed at once; the account's tokens go where every account's do.
    """
    import json
    import os
    import tempfile

    from crmtui.emulator.state import authorized_user
    from crmtui.sync.accounts import AccountService
    from crmtui.sync.google.factory import google_linker

    record = authorized_user(emulator.create_account(DEMO_EMAIL))
    fd, name = tempfile.mkstemp(prefix=".demo-google-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp makes it 0600
            json.dump(record, fh)
        accounts = AccountService(repo, directory,
                                  google_linker(directory, endpoint=emulator.base_url))
        account = accounts.link_from_credentials_file(user_id, Path(name), email=DEMO_EMAIL)
    finally:
        Path(name).unlink(missing_ok=True)
    if repo.get_sync_settings(user_id) == SyncSettings(user_id=user_id):  # never saved
        tag = repo.find_tag(SYNC_TAG_NAME, user_id)
        today = date.today()
        repo.save_sync_settings(SyncSettings(
            user_id=user_id, contacts_auto=True, contacts_period=60,
            contacts_tag_id=tag.id if tag is not None and tag.kind is TagKind.PRIVATE else "",
            contacts_group_name=DEFAULT_GROUP_NAME, activities_auto=True, activities_period=60,
            activities_from=today.replace(day=1)))
    return account
