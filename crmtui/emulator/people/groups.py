"""People API v1 contact groups: ``contactGroups.list/get/batchGet/create/update/delete`` and
``contactGroups.members.modify``."""

from __future__ import annotations

import secrets
from typing import Any

from crmtui.emulator.errors import people_error
from crmtui.emulator.http import Request
from crmtui.emulator.people.fields import (
    DEFAULT_GROUP_FIELDS,
    GROUP_FIELDS,
    MAX_BATCH_GET,
    MAX_MODIFY_MEMBERS,
    Json,
    bad_value,
    body_object,
    check_keys,
    check_types,
    fingerprint,
    flag,
    group_etag,
    group_id_of,
    invalid,
    page_size,
    parse_mask,
    prune,
    source_id_of,
)
from crmtui.emulator.people.store import PeopleStore
from crmtui.emulator.state import (
    Account,
    encode_token,
)


class GroupsApi(PeopleStore):
    """``contactGroups.*``: listing (with sync tokens), reading, creating, updating, deleting
    groups and changing their members."""

    @staticmethod
    def _group_fields(text: str | None, default: frozenset[str] = DEFAULT_GROUP_FIELDS
                      ) -> frozenset[str]:
        return parse_mask(text, "groupFields", GROUP_FIELDS, required=False) or default

    def list_groups(self, req: Request) -> Json:
        fields = self._group_fields(req.arg("groupFields"))
        size = page_size(req, 30)
        groups = self._groups(req.account)
        since: int | None = None
        if req.arg("syncToken"):
            since = int(self._read_token(req.arg("syncToken") or "", "gs", req.email, ())["s"])
        if req.arg("pageToken"):
            page = self._read_token(req.arg("pageToken") or "", "gp", req.email, ())
            if page.get("since") != since:
                raise invalid()
            snapshot, after = int(page["m"]), page["a"]
        else:
            snapshot, after = self.state.seq, None
        chosen = sorted(
            ([0 if g["system"] else 1, g["name"].lower(), gid], gid, g)
            for gid, g in groups.items()
            if g["seq"] <= snapshot and (g["seq"] > since if since is not None
                                         else not g["deleted"]))
        total = len(chosen)
        if after is not None:
            chosen = [c for c in chosen if c[0] > after]
        counts = self._member_counts(req.account)
        out: Json = {}
        if chosen[:size]:
            out["contactGroups"] = [self.render_group(req.account, gid, g, fields, counts)
                                    for _, gid, g in chosen[:size]]
        if len(chosen) > size:
            out["nextPageToken"] = encode_token({
                "k": "gp", "u": req.email, "m": snapshot, "a": chosen[size - 1][0],
                "since": since, "f": fingerprint(()), "e": self.state.sync_epoch})
        else:
            out["nextSyncToken"] = self._sync_token("gs", req.email, snapshot, ())
        if total:
            out["totalItems"] = total
        return out

    def _max_members(self, req: Request) -> int:
        raw = req.arg("maxMembers") or "0"
        try:
            value = int(raw)
        except ValueError:
            raise bad_value("max_members", raw) from None
        if value < 0:
            raise invalid("maxMembers must not be negative.")
        return value

    def get_group(self, req: Request) -> Json:
        fields = self._group_fields(req.arg("groupFields"))
        gid = req.params["gid"]
        return self.render_group(req.account, gid, self._group(req.account, gid), fields,
                                 max_members=self._max_members(req))

    def batch_get_groups(self, req: Request) -> Json:
        fields = self._group_fields(req.arg("groupFields"))
        names = req.args("resourceNames")
        if not names:
            raise invalid("resourceNames must have at least one entry.")
        if len(names) > MAX_BATCH_GET:
            raise invalid(f"Too many resource names: at most {MAX_BATCH_GET} are allowed.")
        max_members = self._max_members(req)
        responses = []
        for name in names:
            gid = group_id_of(name) or ""
            group = self._groups(req.account).get(gid)
            if group is None or group["deleted"]:
                responses.append({"requestedResourceName": name, "status": {
                    "code": 5, "message": "Requested entity was not found."}})
                continue
            responses.append({"requestedResourceName": name, "status": {},
                              "contactGroup": self.render_group(req.account, gid, group, fields,
                                                                max_members=max_members)})
        return {"responses": responses}

    def _group_body(self, req: Request, extra: tuple[str, ...]) -> tuple[Json, Json]:
        body = body_object(req)
        check_keys(body, ("contactGroup", "readGroupFields") + extra, "")
        group = body.get("contactGroup")
        if not isinstance(group, dict):
            raise invalid("contactGroup is required.")
        check_keys(group, ("resourceName", "etag", "metadata", "groupType", "name",
                           "formattedName", "memberResourceNames", "memberCount", "clientData"),
                   "contact_group")
        client_data = group.get("clientData", [])
        if not isinstance(client_data, list):
            raise bad_value("contact_group.client_data", client_data)
        for i, item in enumerate(client_data):
            if not isinstance(item, dict):
                raise bad_value(f"contact_group.client_data[{i}]", item)
            check_keys(item, ("key", "value"), f"contact_group.client_data[{i}]")
            check_types(item, f"contact_group.client_data[{i}]")
        return body, group

    def _check_name(self, account: Account | None, name: Any, gid: str | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise invalid("Contact group name must not be empty.")
        for other, group in self._groups(account).items():
            if other != gid and not group["deleted"] and group["name"] == name.strip():
                raise people_error(409, "Contact group name already exists.", "ALREADY_EXISTS")
        return name.strip()

    def _create_group(self, account: Account | None, name: Any, client_data: list[Json]
                      ) -> tuple[str, Json]:
        clean = self._check_name(account, name, None)
        groups = self._groups(account)
        gid = secrets.token_hex(7)
        while gid in groups:
            gid = secrets.token_hex(7)
        group = {"name": clean, "clientData": prune(client_data), "seq": 0, "updated": "",
                 "deleted": False, "system": False}
        self._touch(group)
        groups[gid] = group
        return gid, group

    def create_group(self, req: Request) -> Json:
        body, group = self._group_body(req, ())
        fields = self._group_fields(body.get("readGroupFields"),
                                    frozenset({"metadata", "groupType", "name"}))
        gid, stored = self._create_group(req.account, group.get("name"),
                                         group.get("clientData", []))
        return self.render_group(req.account, gid, stored, fields)

    def update_group(self, req: Request) -> Json:
        body, group = self._group_body(req, ("updateGroupFields",))
        gid = req.params["gid"]
        stored = self._group(req.account, gid)
        mask = parse_mask(body.get("updateGroupFields"), "updateGroupFields",
                          ("name", "clientData"), required=False) or frozenset({"name"})
        fields = self._group_fields(body.get("readGroupFields"),
                                    frozenset({"metadata", "groupType", "name"}))
        if stored["system"]:
            raise invalid("System contact groups cannot be modified.")
        etag = group.get("etag")
        if etag and etag != group_etag(gid, stored):
            raise people_error(400, "Request contactGroup.etag is different than the current "
                               "contactGroup.etag.", "FAILED_PRECONDITION")
        self._change_group(req.account, gid, stored, {k: group.get(k) for k in mask})
        return self.render_group(req.account, gid, stored, fields)

    def _change_group(self, account: Account | None, gid: str, stored: Json,
                      changes: Json) -> None:
        if "name" in changes:
            stored["name"] = self._check_name(account, changes["name"], gid)
        if "clientData" in changes:
            stored["clientData"] = prune(changes["clientData"] or [])
        self._touch(stored)

    def delete_group(self, req: Request) -> Json:
        gid = req.params["gid"]
        stored = self._group(req.account, gid)
        if stored["system"]:
            raise invalid("System contact groups cannot be deleted.")
        self._delete_group(req.account, gid, stored, flag(req, "deleteContacts"))
        return {}

    def _delete_group(self, account: Account | None, gid: str, stored: Json,
                      delete_contacts: bool) -> None:
        for record in self._contacts(account).values():
            if record["deleted"] or gid not in record["groups"]:
                continue
            if delete_contacts:
                self._delete(record)
            else:
                record["groups"].remove(gid)
                if not record["groups"]:
                    record["groups"].append("myContacts")
                self._touch(record)
        stored["deleted"] = True
        stored["clientData"] = []
        self._touch(stored)

    def modify_members(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("resourceNamesToAdd", "resourceNamesToRemove"), "")
        add = body.get("resourceNamesToAdd") or []
        remove = body.get("resourceNamesToRemove") or []
        if not isinstance(add, list) or not isinstance(remove, list):
            raise invalid()
        if len(add) + len(remove) > MAX_MODIFY_MEMBERS:
            raise invalid(f"Too many resource names: at most {MAX_MODIFY_MEMBERS} are allowed.")
        gid = req.params["gid"]
        return self._modify(req.account, gid, self._group(req.account, gid),
                            [str(n) for n in add], [str(n) for n in remove])

    def _modify(self, account: Account | None, gid: str, group: Json, add: list[str],
                remove: list[str]) -> Json:
        not_found_names: list[str] = []
        last_group: list[str] = []
        contacts = self._contacts(account)
        for names, adding in ((add, True), (remove, False)):
            for name in names:
                record = contacts.get(source_id_of(name) or "")
                if record is None or record["deleted"]:
                    not_found_names.append(name)
                elif adding and gid not in record["groups"]:
                    record["groups"].append(gid)
                    self._touch(record)
                elif not adding and gid in record["groups"]:
                    if record["groups"] == [gid]:
                        last_group.append(name)
                        continue
                    record["groups"].remove(gid)
                    self._touch(record)
        out: Json = {}
        if not_found_names:
            out["notFoundResourceNames"] = not_found_names
        if last_group:
            out["canNotRemoveLastContactGroupResourceNames"] = last_group
        return out
