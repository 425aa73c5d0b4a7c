"""The People API module's routes: the Google API's and the control API's changes made
"in Gmail" (``/__emulator/accounts/{email}/contacts`` and ``/groups``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmtui.emulator.errors import ApiError
from crmtui.emulator.http import Request, Route, account_or_404
from crmtui.emulator.people import lag
from crmtui.emulator.people.contacts import ContactsApi
from crmtui.emulator.people.fields import (
    GROUP_FIELDS,
    READABLE,
    WRITABLE,
    Json,
    body_object,
    clean_person,
    flag,
    group_resource_name,
    invalid,
)
from crmtui.emulator.people.groups import GroupsApi
from crmtui.emulator.state import (
    PEOPLE_SCOPES,
    Account,
)


class PeopleApi(ContactsApi, GroupsApi):
    """The People API module: routes, per-account contact and group storage, persistence."""

    def routes(self) -> list[Route]:
        def api(method: str, pattern: str, handler: Callable[[Request], Any]) -> Route:
            return Route(method, pattern, handler, api="people", scopes=PEOPLE_SCOPES)

        def ctl(method: str, pattern: str, handler: Callable[[Request], Any]) -> Route:
            return Route(method, "/__emulator/accounts/(?P<email>[^/]+)/" + pattern, handler,
                         api="control", auth=False)

        person = r"/v1/people/(?P<pid>[^/:]+)"
        group = r"/v1/contactGroups/(?P<gid>[^/:]+)"
        return [
            api("GET", r"/v1/people/(?P<owner>[^/:]+)/connections", self.list_connections),
            api("GET", r"/v1/people:batchGet", self.batch_get),
            api("POST", r"/v1/people:createContact", self.create_contact),
            api("POST", r"/v1/people:batchCreateContacts", self.batch_create),
            api("POST", r"/v1/people:batchUpdateContacts", self.batch_update),
            api("POST", r"/v1/people:batchDeleteContacts", self.batch_delete),
            api("GET", person, self.get_person),
            api("PATCH", person + ":updateContact", self.update_contact),
            api("DELETE", person + ":deleteContact", self.delete_contact),
            api("GET", r"/v1/contactGroups", self.list_groups),
            api("POST", r"/v1/contactGroups", self.create_group),
            api("GET", r"/v1/contactGroups:batchGet", self.batch_get_groups),
            api("GET", group, self.get_group),
            api("PUT", group, self.update_group),
            api("DELETE", group, self.delete_group),
            api("POST", group + "/members:modify", self.modify_members),
            ctl("GET", "contacts", self.control_list),
            ctl("POST", "contacts", self.control_create),
            ctl("PATCH", r"contacts/(?:people/)?(?P<pid>[^/]+)", self.control_patch),
            ctl("DELETE", r"contacts/(?:people/)?(?P<pid>[^/]+)", self.control_delete),
            ctl("GET", "lag", self.control_lag),
            ctl("PUT", "lag", self.control_lag),
            ctl("GET", "groups", self.control_groups),
            ctl("POST", "groups", self.control_create_group),
            ctl("PATCH", r"groups/(?:contactGroups/)?(?P<gid>[^/]+)", self.control_patch_group),
            ctl("DELETE", r"groups/(?:contactGroups/)?(?P<gid>[^/]+)", self.control_delete_group),
            ctl("POST", r"groups/(?:contactGroups/)?(?P<gid>[^/]+)/members",
                self.control_members),
        ]

    # -- control routes (changes made "in Gmail") --------------------------------------------------

    def _control_account(self, req: Request) -> Account:
        account = account_or_404(self.state, req.params["email"])
        return account

    def _control_contact(self, account: Account, pid: str) -> tuple[str, Json]:
        """A contact by ``c<decimal>`` (its resource name's tail) or bare decimal."""
        return self._contact(account, "people/" + (pid if pid.startswith("c") else "c" + pid))

    def _control_person(self, body: Json) -> Json:
        memberships = body.get("memberships")
        if isinstance(memberships, list) and all(isinstance(m, str) for m in memberships):
            body = {**body, "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName":
                                            m if m.startswith("contactGroups/")
                                            else group_resource_name(m)}} for m in memberships]}
        return clean_person(body, "person")

    def control_list(self, req: Request) -> Json:
        account = self._control_account(req)
        deleted = flag(req, "deleted")
        records = sorted(self._contacts(account).items(), key=lambda item: item[1]["seq"])
        return {"contacts": [self.render(sid, r, READABLE) for sid, r in records
                             if deleted or not r["deleted"]]}

    def control_create(self, req: Request) -> Json:
        account = self._control_account(req)
        sid, record = self._new_contact(account, self._control_person(body_object(req)))
        return self.render(sid, record, READABLE)

    def control_patch(self, req: Request) -> Json:
        account = self._control_account(req)
        body = body_object(req)
        person = self._control_person(body)
        sid, record = self._control_contact(account, req.params["pid"])
        self._apply(account, record, person, [f for f in body if f in WRITABLE])
        return self.render(sid, record, READABLE)

    def control_delete(self, req: Request) -> Json:
        account = self._control_account(req)
        self._delete(self._control_contact(account, req.params["pid"])[1])
        return {}

    def control_lag(self, req: Request) -> Json:
        """``GET``/``PUT lag`` ``{"people_seconds": N}``: the People propagation lag of the
        account's sync listings (0 = off; see :mod:`.lag`)."""
        account = self._control_account(req)
        data = self._data(account)
        if req.method == "PUT":
            seconds = body_object(req).get("people_seconds")
            if (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                    or not 0 <= seconds <= 7 * 24 * 3600):
                raise ApiError(400, {"error": {
                    "code": 400, "message": "'people_seconds' must be a number of seconds "
                    "from 0 to 604800"}})
            lag.set_lag(data, seconds, self.state.clock.time())
            self.state.dirty = True
        return {"people_seconds": lag.lag_of(data)}

    def control_groups(self, req: Request) -> Json:
        account = self._control_account(req)
        counts = self._member_counts(account)
        return {"contactGroups": [
            self.render_group(account, gid, g, GROUP_FIELDS, counts)
            for gid, g in self._groups(account).items() if not g["deleted"]]}

    def control_create_group(self, req: Request) -> Json:
        account = self._control_account(req)
        body = body_object(req)
        gid, group = self._create_group(account, body.get("name"), body.get("clientData") or [])
        return self.render_group(account, gid, group, GROUP_FIELDS)

    def control_patch_group(self, req: Request) -> Json:
        account = self._control_account(req)
        gid = req.params["gid"]
        group = self._group(account, gid)
        if group["system"]:
            raise invalid("System contact groups cannot be modified.")
        body = body_object(req)
        self._change_group(account, gid, group,
                           {k: body[k] for k in ("name", "clientData") if k in body})
        return self.render_group(account, gid, group, GROUP_FIELDS)

    def control_delete_group(self, req: Request) -> Json:
        account = self._control_account(req)
        gid = req.params["gid"]
        group = self._group(account, gid)
        if group["system"]:
            raise invalid("System contact groups cannot be deleted.")
        self._delete_group(account, gid, group, flag(req, "deleteContacts"))
        return {}

    def control_members(self, req: Request) -> Json:
        account = self._control_account(req)
        gid = req.params["gid"]
        body = body_object(req)

        def names(key: str) -> list[str]:
            return [n if str(n).startswith("people/") else "people/" + str(n)
                    for n in body.get(key) or []]

        return self._modify(account, gid, self._group(account, gid), names("add"),
                            names("remove"))
