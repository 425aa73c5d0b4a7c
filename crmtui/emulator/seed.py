"""Believable Google accounts for the demo: an address book and a calendar to synchronize with.

:func:`seed_demo_google` gives a running emulator one account per demo user. The first account,
the one the demo runs as, gets about 60 contacts (about 25 of them in the contact group
:data:`SYNC_GROUP`, the rest only in ``myContacts``; some with an email only, a phone only, a
birthday without a year, several emails) and about 20 events over the coming weeks: timed ones in
:data:`HOME_ZONE`, one in another time zone, an all-day trip, a weekly series, several with the
other demo users as attendees (so they appear in their calendars too) and one that another demo
user organizes. The same ``seed`` on the same day gives the same data.

Everything is written through the control API (``/__emulator/accounts/{email}/contacts``,
``/groups`` and ``/events``), as if the user had made it in Gmail and Google Calendar.
"""

from __future__ import annotations

import copy
import random
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crmtui.emulator.control_client import EmulatorControl

if TYPE_CHECKING:
    from crmtui.emulator.server import Emulator

SYNC_GROUP = "crmtui"  # the contact group crmtui synchronizes by default
HOME_ZONE = "Europe/Paris"
CONTACTS = 60
GROUP_MEMBERS = 25
MY_CONTACTS = "contactGroups/myContacts"

_GIVEN = ("Olivia", "Noah", "Chloé", "Mathis", "Hannah", "Jonas", "Léa", "Ruairí", "Marta",
          "Pablo", "Ingrid", "Tobias", "Aisha", "Omar", "Yuna", "Daniel", "Priya", "Rafael",
          "Elif", "Mikkel", "Zsófia", "Bartosz", "Camille", "Nadia", "Lukas", "Aoife", "Tomás",
          "Greta", "Sami", "Beatriz", "Julien", "Sara", "Emeka", "Leonie", "Matteo", "Clara",
          "Hugo", "Anja", "Kwame", "Inès", "Felix", "Maja", "Dario", "Sophie", "Arnav",
          "Valentina", "Theo", "Ewa", "Luis", "Nora")
_FAMILY = ("Bennett", "Lambert", "Keller", "Okafor", "Fontaine", "Nowak", "Haddad", "Lindgren",
           "Costa", "Yamada", "Schmidt", "Moreau", "Byrne", "Rossi", "Kaya", "Jansen", "Dupont",
           "Ferreira", "Svensson", "Horváth", "Petrov", "Laurent", "Walsh", "Ortega")
_COMPANIES = (("Northwind Traders", "northwind.example.org"),
              ("Contoso Pharma", "contoso.example.org"),
              ("Fabrikam Engineering", "fabrikam.example.net"),
              ("Tailspin Toys", "tailspin.example.net"),
              ("Wide World Importers", "wideworld.example.org"),
              ("Adatum Consulting", "adatum.example.net"),
              ("Litware Labs", "litware.example.org"),
              ("Proseware Logistics", "proseware.example.net"))
_TITLES = ("Purchasing Manager", "CTO", "Head of Sales", "Office Manager", "Consultant",
           "Project Lead", "Finance Director", "Founder", "Operations Manager", "Engineer")
_PERSONAL_DOMAINS = ("gmail.example.org", "posteo.example.net", "fastmail.example.org")
_CITIES = (("Paris", "75011", "France", "+33 6"), ("Lyon", "69003", "France", "+33 6"),
           ("Berlin", "10997", "Germany", "+49 151"), ("Madrid", "28004", "Spain", "+34 6"),
           ("Dublin", "D08 VF8H", "Ireland", "+353 87"), ("Milano", "20121", "Italy", "+39 3"))
_STREETS = ("rue Oberkampf", "Oranienstraße", "Calle de Fuencarral", "Camden Street",
            "Via Tortona", "rue de la République")
_NOTES = ("Met at the Web Summit.", "Neighbour; has a spare key.", "Old friend from university.",
          "Introduced by Camille at the conference in Lyon.", "Prefers WhatsApp to calls.",
          "Plays in the Thursday five-a-side team.")
_SERVICES = (({"names": [{"honorificPrefix": "Dr", "givenName": "Hélène",
                          "familyName": "Rivière"}],
               "organizations": [{"name": "Cabinet dentaire Rivière", "title": "Dentist"}],
               "phoneNumbers": [{"value": "+33 1 43 55 21 09", "type": "work"}]}),
             ({"organizations": [{"name": "Garage Lemaire"}],
               "phoneNumbers": [{"value": "+33 1 48 05 77 31", "type": "work"}]}),
             ({"emailAddresses": [{"value": "bookings@bistrot-paul.example.org",
                                   "type": "work"}]}),
             ({"names": [{"givenName": "Marc", "familyName": "Plombier"}],
               "nicknames": [{"value": "Marc the plumber"}],
               "phoneNumbers": [{"value": "+33 6 12 40 88 17", "type": "mobile"}]}))


def seed_demo_google(emulator: Emulator, users: Sequence[tuple[str, str]], *,
                     crm_emails: Sequence[str] = (), seed: int = 11) -> None:
    """Create an account for each ``(name, email)`` of ``users`` and fill the first one's.

    ``crm_emails``: emails of contacts the CRM's demo holds too; they become contacts of the
    :data:`SYNC_GROUP` group (named after the email), so a first synchronization links them
    instead of duplicating them. ``emulator`` must be running.
    """
    if not users:
        raise ValueError("the demo needs at least one user")
    ctl = EmulatorControl(emulator, timeout=30)
    for _, email in users:
        ctl.create_account(email)
    rng = random.Random(seed)
    owner = users[0][1]
    group = ctl.create_group(owner, SYNC_GROUP)["resourceName"]
    book = _address_book(rng, users, crm_emails)
    for n, person in enumerate(book):
        groups = [MY_CONTACTS, group] if n < GROUP_MEMBERS else [MY_CONTACTS]
        person["memberships"] = [{"contactGroupMembership": {"contactGroupResourceName": g}}
                                 for g in groups]
        ctl.create_contact(owner, person)
    now = datetime.fromisoformat(ctl.clock()["now"])
    guests = [p for p in book if p.get("names") and p.get("emailAddresses")]
    for email, event in _events(rng, now.date(), users, guests):
        ctl.insert_event(email, event)


# --------------------------------------------------------------------------- contacts


def _address_book(rng: random.Random, users: Sequence[tuple[str, str]],
                  crm_emails: Sequence[str]) -> list[dict[str, Any]]:
    """The first account's contacts: the :data:`GROUP_MEMBERS` first go into the sync group."""
    shared = [_named_after(email) for email in crm_emails]
    colleagues = [_person(name, [{"value": email, "type": "work"}]) for name, email in users[1:]]
    for person in colleagues:
        person["organizations"] = [{"name": "Brightline"}]
    services = copy.deepcopy(list(_SERVICES))
    count = CONTACTS - len(shared) - len(colleagues) - len(services)
    given_names = rng.sample(_GIVEN, len(_GIVEN)) * (count // len(_GIVEN) + 1)
    people = [_made_up(rng, given, rng.choice(_FAMILY)) for given in given_names[:count]]
    members = GROUP_MEMBERS - len(shared)
    return shared + people[:members] + colleagues + services + people[members:]


def _person(name: str, emails: list[dict[str, str]]) -> dict[str, Any]:
    given, _, family = name.rpartition(" ")
    names = {"givenName": given, "familyName": family} if given else {"givenName": family}
    return {"names": [names], "emailAddresses": emails}


def _named_after(email: str) -> dict[str, Any]:
    """A contact known by its email, named after it (``ana.lopez@…`` is Ana Lopez)."""
    local = email.split("@", 1)[0]
    words = [w.capitalize() for w in local.replace("_", ".").split(".") if w.isalpha()]
    person: dict[str, Any] = {"emailAddresses": [{"value": email, "type": "work"}]}
    if words:
        person["names"] = [{"givenName": " ".join(words[:-1]) or words[0],
                            **({"familyName": words[-1]} if len(words) > 1 else {})}]
    return person


def _made_up(rng: random.Random, given: str, family: str) -> dict[str, Any]:
    local = _ascii(f"{given}.{family}")
    person: dict[str, Any] = {"names": [{"givenName": given, "familyName": family}]}
    emails, phones = [], []
    city, postal, country, mobile = rng.choice(_CITIES)
    if rng.random() < 0.55:
        company, domain = rng.choice(_COMPANIES)
        person["organizations"] = [{"name": company, "title": rng.choice(_TITLES)}]
        emails.append({"value": f"{local}@{domain}", "type": "work"})
    if not emails or rng.random() < 0.4:
        emails.append({"value": f"{local.replace('.', '')}{rng.randrange(10, 99)}"
                                f"@{rng.choice(_PERSONAL_DOMAINS)}", "type": "home"})
    if rng.random() < 0.1:
        emails = []  # known by phone only
    if rng.random() < 0.8 or not emails:
        phones.append({"value": f"{mobile} {rng.randrange(10, 99)} {rng.randrange(10, 99)} "
                                f"{rng.randrange(10, 99)} {rng.randrange(10, 99)}",
                       "type": "mobile"})
    if emails:
        person["emailAddresses"] = emails
    if phones:
        person["phoneNumbers"] = phones
    if rng.random() < 0.3:
        person["addresses"] = [{"streetAddress": f"{rng.randrange(1, 120)} "
                                                 f"{rng.choice(_STREETS)}",
                                "city": city, "postalCode": postal, "country": country,
                                "type": "home"}]
    if rng.random() < 0.35:
        day = {"month": rng.randrange(1, 13), "day": rng.randrange(1, 29)}
        if rng.random() < 0.7:
            day["year"] = rng.randrange(1960, 2002)
        person["birthdays"] = [{"date": day}]
    if rng.random() < 0.2:
        person["biographies"] = [{"value": rng.choice(_NOTES), "contentType": "TEXT_PLAIN"}]
    return person


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch == "."))


# --------------------------------------------------------------------------- events


def _events(rng: random.Random, today: date, users: Sequence[tuple[str, str]],
            guests: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """``(calendar owner, Event)`` pairs: the owner organizes the event."""
    owner = users[0][1]
    team = [{"email": email, "displayName": name} for name, email in users]
    out: list[tuple[str, dict[str, Any]]] = []

    def workday(lo: int, hi: int) -> date:
        while True:
            day = today + timedelta(days=rng.randint(lo, hi))
            if day.weekday() < 5:
                return day

    def timed(day: date, hour: int, minute: int, minutes: int, zone: str = HOME_ZONE
              ) -> dict[str, Any]:
        start = datetime.combine(day, time(hour, minute), ZoneInfo(zone))
        end = start + timedelta(minutes=minutes)
        return {"start": {"dateTime": start.isoformat(), "timeZone": zone},
                "end": {"dateTime": end.isoformat(), "timeZone": zone}}

    def guest(person: dict[str, Any]) -> dict[str, Any]:
        name = person["names"][0]
        return {"email": person["emailAddresses"][0]["value"],
                "displayName": f"{name['givenName']} {name.get('familyName', '')}".strip(),
                "responseStatus": rng.choice(("needsAction", "accepted", "accepted",
                                              "tentative"))}

    def add(summary: str, when: dict[str, Any], *, organizer: str = owner,
            attendees: Sequence[dict[str, Any]] = (), **extra: Any) -> None:
        event = {"summary": summary, **when, **extra}
        if attendees:
            event["attendees"] = [{"email": organizer, "responseStatus": "accepted"}] + [
                a for a in attendees if a["email"] != organizer]
        out.append((organizer, event))

    colleagues = team[1:]
    monday = today + timedelta(days=7 - today.weekday())
    add("Team stand-up", timed(monday, 9, 15, 15), attendees=colleagues,
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=8"], location="Brightline office",
        description="What we did, what we will do, what blocks us.")
    add("Trip to Lisbon", {"start": {"date": (monday + timedelta(days=11)).isoformat()},
                           "end": {"date": (monday + timedelta(days=14)).isoformat()}},
        transparency="transparent", location="Lisboa, Portugal")
    add("Call with the New York office", timed(workday(3, 20), 11, 0, 45, "America/New_York"),
        attendees=colleagues[:1], location="Video call",
        description="Pipeline review with the US team (New York time).")
    if len(users) > 1:
        add("Quarterly planning", timed(workday(5, 15), 14, 0, 120), organizer=users[1][1],
            attendees=team, location="Brightline office, room Ada",
            description="Targets for next quarter; bring your forecast.")
    for title, hours, place in (
            ("Lunch with {name}", (12, 13), "Café Charlot, Paris"),
            ("Coffee with {name}", (9, 16), "Café Charlot, Paris"),
            ("Product demo for {name}", (10, 15), "Video call"),
            ("Contract review with {name}", (11, 14), "Brightline office"),
            ("Catch-up with {name}", (9, 17), "Video call"),
            ("Dinner with {name}", (19, 20), "Le Train Bleu, Paris"),
            ("Intro call: {name}", (9, 17), "Video call"),
            ("Workshop with {name}", (10, 14), "Their office")):
        person = rng.choice(guests)
        attendees = [guest(person)]
        if colleagues and rng.random() < 0.4:
            attendees.append(rng.choice(colleagues))
        add(title.format(name=person["names"][0]["givenName"]),
            timed(workday(-4, 30), rng.randint(*hours), rng.choice((0, 30)),
                  rng.choice((30, 45, 60, 90))), attendees=attendees, location=place)
    for title, minutes in (("Dentist", 45), ("Gym", 60), ("Pick up the car at the garage", 30),
                           ("Yoga class", 75), ("Call Mum", 30), ("Haircut", 30),
                           ("Renew passport (prefecture)", 60)):
        add(title, timed(workday(-2, 35), rng.choice((8, 12, 18)), rng.choice((0, 30)),
                         minutes))
    add("Focus time: quarterly report", timed(workday(1, 10), 14, 0, 180),
        transparency="opaque", description="No meetings, please.")
    return out
