"""Helpers for the end-to-end contact sync tests (imported as ``synckit``): the emulator's
control API, changes made "in Gmail", the request log, and the sync runner the fixtures of
``conftest.py`` hand out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl, control
from crmtui.model import SyncKind
from crmtui.sync.service import SyncOutcome, SyncService

Json = dict[str, Any]


__all__ = ["EmulatorControl", "Gmail", "Requests", "Syncer", "client_data", "control", "fault",
           "groups_of", "person"]


def fault(emu: Emulator, path: str, *, method: str = "*", count: int = 1, **how: Any) -> None:
    """The next ``count`` requests (batch parts included) matching ``method`` and the regex
    ``path`` answer ``status`` (``body``, ``headers``), wait ``delay`` seconds, or ``drop``."""
    EmulatorControl(emu).fault(path, method=method, count=count, **how)


def person(given: str, family: str = "", *, email: str = "", **more: Any) -> Json:
    """A People API Person body: a name, an optional work email, and any other Person fields."""
    body: Json = {"names": [{"givenName": given, **({"familyName": family} if family else {})}]}
    if email:
        body["emailAddresses"] = [{"value": email, "type": "work"}]
    return {**body, **more}


class Gmail:
    """One Google account's contacts, changed "in Gmail" through the emulator's control API
    (every change bumps change numbers, so the next sync sees it).

    ``group`` is the sync group's resource name: found by ``group_name`` the first time, then
    remembered, so it still names the group after a rename (as the sync does)."""

    def __init__(self, emu: Emulator, email: str, group_name: str) -> None:
        self.emu = emu
        self.email = email
        self.group_name = group_name
        self._group = ""
        self.control = EmulatorControl(emu)

    # -- contacts -----------------------------------------------------------------------------

    def contacts(self) -> list[Json]:
        """Every contact (not deleted), oldest first, as the People API renders them."""
        return self.control.contacts(self.email)

    def get(self, resource_name: str) -> Json:
        """One contact by resource name (KeyError when it is gone)."""
        for found in self.contacts():
            if found["resourceName"] == resource_name:
                return found
        raise KeyError(resource_name)

    def create(self, body: Json, *, in_group: bool = True, groups: Iterable[str] = ()) -> Json:
        """Create a contact (in the sync group unless ``in_group`` is false)."""
        names = [*groups, *([self.group] if in_group else [])]
        return self.control.create_contact(
            self.email, {**body, "memberships": ["contactGroups/myContacts", *names]})

    def edit(self, resource_name: str, **fields: Any) -> Json:
        """Replace the given Person fields (``names=[...]``...) of a contact."""
        return self.control.patch_contact(self.email, resource_name, fields)

    def delete(self, resource_name: str) -> None:
        self.control.delete_contact(self.email, resource_name)

    # -- the sync group -----------------------------------------------------------------------

    def groups(self) -> list[Json]:
        return self.control.groups(self.email)

    def group_named(self, name: str) -> str:
        """The resource name of the user group called ``name`` ("" when there is none)."""
        return next((g["resourceName"] for g in self.groups()
                     if g.get("groupType") == "USER_CONTACT_GROUP" and g["name"] == name), "")

    @property
    def group(self) -> str:
        if not self._group:
            self._group = self.group_named(self.group_name)
            assert self._group, f"there is no group {self.group_name!r} in Gmail"
        return self._group

    def members(self) -> list[str]:
        """Resource names of the contacts in the sync group."""
        return [c["resourceName"] for c in self.contacts() if self.group in groups_of(c)]

    def move_in(self, *resource_names: str) -> None:
        self.control.modify_members(self.email, self.group, add=list(resource_names))

    def move_out(self, *resource_names: str) -> None:
        self.control.modify_members(self.email, self.group, remove=list(resource_names))

    def create_group(self, name: str) -> str:
        """Create a user group in Gmail; returns its resource name."""
        made: str = self.control.create_group(self.email, name)["resourceName"]
        return made

    def rename_group(self, name: str) -> None:
        self.control.patch_group(self.email, self.group, {"name": name})

    def delete_group(self) -> None:
        """Delete the group (its contacts stay); ``group`` then looks it up by name again."""
        self.control.delete_group(self.email, self.group)
        self._group = ""


def groups_of(found: Json) -> list[str]:
    """The contact group resource names a rendered Person is a member of."""
    return [m["contactGroupMembership"]["contactGroupResourceName"]
            for m in found.get("memberships") or [] if "contactGroupMembership" in m]


def client_data(found: Json) -> dict[str, str]:
    """A rendered Person's ``clientData`` as a dict."""
    return {d["key"]: d["value"] for d in found.get("clientData") or []}


class Requests:
    """The emulator's request log (control calls excluded). ``sync()`` resets it first, so after
    a run it holds that run's requests."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.control = EmulatorControl(emu)

    def __call__(self) -> Json:
        """``{"total", "http", "batch_parts", "by_path": {"METHOD /path": n}}``."""
        counts: Json = self.control.requests()["counts"]
        return counts

    def log(self) -> list[Json]:
        logged: list[Json] = self.control.requests()["requests"]
        return logged

    def reset(self) -> None:
        self.control.clear_requests()

    def calls(self, path_end: str) -> int:
        """How many requests (batch parts included) went to a path ending with ``path_end``."""
        return sum(n for key, n in self()["by_path"].items() if key.endswith(path_end))


class Syncer:
    """``sync(**kw)``: one contact sync of the user through the service (``dry_run``,
    ``confirmed``); returns the outcome. Progress lines of every run land in ``progress``."""

    def __init__(self, service: SyncService, user_id: str, requests: Requests) -> None:
        self.service = service
        self.user_id = user_id
        self.requests = requests
        self.progress: list[str] = []

    def __call__(self, **kw: Any) -> SyncOutcome:
        self.requests.reset()
        return self.service.run(self.user_id, SyncKind.CONTACTS, progress=self._hear, **kw)

    def _hear(self, message: str, done: int, total: int) -> None:
        self.progress.append(message)

