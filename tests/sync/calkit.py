"""Helpers for the activity sync tests (imported as ``calkit``): a team of CRM users, each with a
Google account on the emulator and activity sync set up, their calendars changed "in Google
Calendar" through the emulator's control API, and one sync service wired as the command line
wires it (the real Calendar adapter), its back-off waits recorded instead of slept."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from synckit import Requests

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl
from crmtui.emulator.state import authorized_user
from crmtui.model import Activity, Contact, SyncKind, SyncSettings, User
from crmtui.store import Repository
from crmtui.sync.accounts import AccountService
from crmtui.sync.google.factory import (
    calendar_remote_factory,
    contacts_remote_factory,
    google_linker,
)
from crmtui.sync.service import SyncOutcome, SyncService

Json = dict[str, Any]
SINCE = date(2026, 1, 1)  # every member's "synchronize from" date


class Calendar:
    """One Google account's primary calendar, changed "in Google Calendar" (the control API:
    every change propagates to attendees' copies as the API does)."""

    def __init__(self, emu: Emulator, email: str) -> None:
        self.emu = emu
        self.email = email
        self.control = EmulatorControl(emu)

    def events(self, *, deleted: bool = False) -> list[Json]:
        """Every event (cancelled ones too with ``deleted``), as the API renders them."""
        return self.control.events(self.email, deleted=deleted)

    def live(self) -> list[Json]:
        return [e for e in self.events() if e.get("status") != "cancelled"]

    def get(self, event_id: str) -> Json:
        return next(e for e in self.events(deleted=True) if e["id"] == event_id)

    def create(self, summary: str, start: str = "2026-03-02T10:00:00+00:00",
               end: str = "2026-03-02T11:00:00+00:00", *, zone: str = "UTC",
               attendees: tuple[str, ...] = (), **more: Any) -> Json:
        """A timed event (``start``/``end`` RFC 3339 in ``zone``), or pass ``start``/``end``
        bodies through ``more``."""
        body: Json = {"summary": summary,
                      "start": {"dateTime": start, "timeZone": zone},
                      "end": {"dateTime": end, "timeZone": zone}}
        if attendees:
            body["attendees"] = [{"email": e} for e in attendees]
        body.update(more)
        return self.control.insert_event(self.email, body)

    def edit(self, event_id: str, **changes: Any) -> Json:
        return self.control.patch_event(self.email, event_id, changes)

    def cancel(self, event_id: str) -> None:
        self.control.delete_event(self.email, event_id)


@dataclass
class Member:
    """A CRM user with a linked Google account and activity sync set up."""

    user: User
    calendar: Calendar
    progress: list[str] = field(default_factory=list)


class Team:
    """Several CRM users sharing one CRM and one emulator; ``sync(member)`` runs one activity
    sync of that member and returns the outcome (the request log is reset first)."""

    def __init__(self, repo: Repository, data_dir: Path, emu: Emulator, tmp_path: Path) -> None:
        self.repo = repo
        self.data_dir = data_dir
        self.emu = emu
        self.tmp_path = tmp_path
        self.sleeps: list[float] = []
        self.requests = Requests(emu)
        self.service = SyncService(
            repo, data_dir, contacts_remote_factory(data_dir, sleep=self.sleeps.append),
            calendar_remote_factory(data_dir, sleep=self.sleeps.append))
        self.members: dict[str, Member] = {}

    def add(self, key: str, name: str, *, since: date | None = SINCE, linked: bool = True
            ) -> Member:
        """A user ``key@example.com``; with ``linked`` their Google account of the same address
        is linked, and with ``since`` their activity sync is set up."""
        email = f"{key}@example.com"
        user = self.repo.add_user(User(name=name, email=email),
                                  Contact(given_name=name, emails=[email]))
        if linked:
            info = EmulatorControl(self.emu).create_account(email)
            path = self.tmp_path / f"authorized-{key}.json"
            path.write_text(json.dumps(authorized_user(info)))
            AccountService(self.repo, self.data_dir, google_linker(
                self.data_dir, endpoint=self.emu.base_url)).link_from_credentials_file(user.id,
                                                                                       path)
        if since is not None:
            self.repo.save_sync_settings(SyncSettings(user_id=user.id, activities_from=since))
        member = Member(user, Calendar(self.emu, email))
        self.members[key] = member
        return member

    def sync(self, member: Member, **kw: Any) -> SyncOutcome:
        self.requests.reset()

        def hear(message: str, done: int, total: int) -> None:
            member.progress.append(message)

        return self.service.run(member.user.id, SyncKind.ACTIVITIES, progress=hear, **kw)

    def event_id(self, member: Member, activity: Activity) -> str:
        link = self.repo.get_link(member.user.id, SyncKind.ACTIVITIES, activity.id)
        assert link is not None, f"{activity.title!r} is not linked for {member.user.name}"
        return link.remote_id

    def activities(self) -> list[Activity]:
        from crmtui.store import ActivityQuery
        return self.repo.find_activities(ActivityQuery())
