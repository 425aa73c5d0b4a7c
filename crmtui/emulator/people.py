"""People API v1: each account's contacts and contact groups, as Google serves them.

Served at the production paths (``/v1/...``): ``people.connections.list`` (paging, sync tokens with
tombstones), ``people.get``, ``people.getBatchGet``, ``people.createContact``,
``people.updateContact``, ``people.deleteContact``, ``people.batchCreateContacts``,
``people.batchUpdateContacts``, ``people.batchDeleteContacts``, ``contactGroups.list/get/create/
update/delete/batchGet`` and ``contactGroups.members.modify``. See the reference on Google's APIs,
sections 1.3-1.5, 2 and 3.

Storage (``account.data["people"]``, plain JSON so ``--state`` round-trips it):
``contacts`` maps a CONTACT source id (16 hex digits) to ``{"seq", "updated", "deleted", "person",
"groups"}``: ``seq`` is the change number (``state.next_seq()``) of the contact's last write and
orders changes for sync tokens, ``updated`` its RFC 3339 time; ``person`` holds the writable Person
fields as the client sent them, output-only keys removed and defaults pruned; ``groups`` the ids of
the contact groups it belongs to. ``groups`` maps a group id to ``{"name", "clientData", "seq",
"updated", "deleted", "system"}``. Deleted contacts and groups stay as tombstones.

Etags: the person etag (``%...``) encodes the source id, the change number and a hash of the
requested field set; the CONTACT source etag (``#...``) the source id and change number. Both change
on every write (a membership change included). ``updateContact`` accepts either, when its change
number is the current one.

Choices where the reference is open (its section 8): ``pageSize`` above 1000 is a 400;
tombstones carry ``metadata.deleted`` only when ``metadata`` is in ``personFields``; sync tokens
live 7 days from issuance (and die at ``/__emulator/sync-tokens/invalidate``); a sync or page
token used with other ``personFields`` than the call that made it is a 400 ``INVALID_ARGUMENT``;
``getBatchGet`` reports a missing person as ``{"requestedResourceName", "httpStatusCode": 404,
"status": {"code": 5, "message"}}``; a duplicate group name is 409 ``"Contact group name already
exists."``; system groups cannot be renamed or deleted (400); batch mutations are validated as a
whole and fail as a whole.

Control routes (no authentication) under ``/__emulator/accounts/{email}/``: ``GET contacts``
(``?deleted=true`` adds tombstones), ``POST contacts`` (a Person; ``memberships`` may also be a list
of group resource names), ``PATCH contacts/{id}``, ``DELETE contacts/{id}``, ``GET``/``POST
groups``, ``PATCH``/``DELETE groups/{id}``, ``POST groups/{id}/members`` ``{"add", "remove"}``. They
are changes made "in Gmail": they bump change numbers, so the next sync reports them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from crmtui.emulator.control import account_or_404
from crmtui.emulator.errors import ApiError, error_info, not_found, people_error
from crmtui.emulator.server import Request, Route
from crmtui.emulator.state import (
    PEOPLE_SCOPES,
    Account,
    EmulatorState,
    decode_token,
    encode_token,
    rfc3339,
)

SYNC_TOKEN_LIFETIME = 7 * 24 * 3600
MAX_PAGE_SIZE = 1000
MAX_BATCH_GET = 200
MAX_BATCH_MUTATE = 200
MAX_BATCH_DELETE = 500
MAX_MODIFY_MEMBERS = 1000
PERSON_FIELD_DOCS = "https://developers.google.com/people/api/rest/v1/people/get"

# The keys of each Person field's items (discovery schemas; ``metadata`` is FieldMetadata).
_ITEM_KEY_NAMES = {
    "addresses": "city country countryCode extendedAddress formattedType formattedValue poBox "
                 "postalCode region streetAddress type",
    "ageRanges": "ageRange", "biographies": "contentType value", "birthdays": "date text",
    "braggingRights": "value", "calendarUrls": "formattedType type url",
    "clientData": "key value", "coverPhotos": "default url",
    "emailAddresses": "displayName formattedType type value",
    "events": "date formattedType type", "externalIds": "formattedType type value",
    "fileAses": "value", "genders": "addressMeAs formattedValue value",
    "imClients": "formattedProtocol formattedType protocol type username",
    "interests": "value", "locales": "value",
    "locations": "buildingId current deskCode floor floorSection type value",
    "memberships": "contactGroupMembership domainMembership",
    "miscKeywords": "formattedType type value",
    "names": "displayName displayNameLastFirst familyName givenName honorificPrefix "
             "honorificSuffix middleName phoneticFamilyName phoneticFullName phoneticGivenName "
             "phoneticHonorificPrefix phoneticHonorificSuffix phoneticMiddleName unstructuredName",
    "nicknames": "type value", "occupations": "value",
    "organizations": "costCenter current department domain endDate formattedType "
                     "fullTimeEquivalentMillipercent jobDescription location name phoneticName "
                     "startDate symbol title type",
    "phoneNumbers": "canonicalForm formattedType type value", "photos": "default url",
    "relations": "formattedType person type", "relationshipInterests": "formattedValue value",
    "relationshipStatuses": "formattedValue value", "residences": "current value",
    "sipAddresses": "formattedType type value", "skills": "value", "taglines": "value",
    "urls": "formattedType type value", "userDefined": "key value",
}
ITEM_KEYS = {name: frozenset(keys.split()) | {"metadata"} for name, keys in _ITEM_KEY_NAMES.items()}
PERSON_KEYS = frozenset(ITEM_KEYS) | {"resourceName", "etag", "metadata", "ageRange"}
BOOL_KEYS = frozenset({"current", "default", "primary", "sourcePrimary", "verified",
                       "inViewerDomain"})
INT_KEYS = frozenset({"fullTimeEquivalentMillipercent", "year", "month", "day"})
NESTED_KEYS = {"metadata": frozenset({"primary", "source", "sourcePrimary", "verified"}),
               "date": frozenset({"year", "month", "day"}),
               "startDate": frozenset({"year", "month", "day"}),
               "endDate": frozenset({"year", "month", "day"}),
               "contactGroupMembership": frozenset({"contactGroupResourceName", "contactGroupId"}),
               "domainMembership": frozenset({"inViewerDomain"})}
WRITABLE = frozenset(
    "addresses biographies birthdays calendarUrls clientData emailAddresses events externalIds "
    "genders imClients interests locales locations memberships miscKeywords names nicknames "
    "occupations organizations phoneNumbers relations sipAddresses urls userDefined".split())
READABLE = WRITABLE | {"ageRanges", "coverPhotos", "metadata", "photos", "skills"}
SINGLETONS = {"names": "name", "biographies": "biography", "birthdays": "birthday",
              "genders": "gender"}
OUTPUT_ONLY = frozenset({"formattedType", "canonicalForm", "formattedProtocol"})
OUTPUT_ONLY_OF = {"names": OUTPUT_ONLY | {"displayName", "displayNameLastFirst"},
                  "genders": OUTPUT_ONLY | {"formattedValue"}}
FORMATTED_TYPES = {
    "home": "Home", "work": "Work", "other": "Other", "mobile": "Mobile", "homeFax": "Home Fax",
    "workFax": "Work Fax", "otherFax": "Other Fax", "pager": "Pager", "workMobile": "Work Mobile",
    "workPager": "Work Pager", "main": "Main", "googleVoice": "Google Voice", "school": "School",
    "birthday": "Birthday", "anniversary": "Anniversary", "homePage": "Home Page", "blog": "Blog",
    "profile": "Profile", "ftp": "FTP", "spouse": "Spouse", "child": "Child", "mother": "Mother",
    "father": "Father", "parent": "Parent", "brother": "Brother", "sister": "Sister",
    "friend": "Friend", "relative": "Relative", "manager": "Manager", "assistant": "Assistant",
    "partner": "Partner", "domesticPartner": "Domestic Partner", "referredBy": "Referred By"}
GROUP_FIELDS = frozenset({"clientData", "groupType", "memberCount", "metadata", "name"})
DEFAULT_GROUP_FIELDS = frozenset({"metadata", "groupType", "memberCount", "name"})
SYSTEM_GROUPS = {"myContacts": "My Contacts", "starred": "Starred"}
READ_SOURCES = ("READ_SOURCE_TYPE_UNSPECIFIED", "READ_SOURCE_TYPE_PROFILE",
                "READ_SOURCE_TYPE_CONTACT", "READ_SOURCE_TYPE_DOMAIN_CONTACT",
                "READ_SOURCE_TYPE_OTHER_CONTACT")
SORT_ORDERS = ("LAST_MODIFIED_ASCENDING", "LAST_MODIFIED_DESCENDING", "FIRST_NAME_ASCENDING",
               "LAST_NAME_ASCENDING")

Json = dict[str, Any]


# -- errors --------------------------------------------------------------------------------------


def invalid(message: str = "Request contains an invalid argument.") -> ApiError:
    return people_error(400, message, "INVALID_ARGUMENT")


def unknown_name(name: str, where: str) -> ApiError:
    """Google's 400 for a JSON key that the message type does not have."""
    at = f" at '{where}'" if where else ""
    message = f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
    return people_error(400, message, "INVALID_ARGUMENT", [{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": where, "description": message}]}])


def bad_value(where: str, value: Any) -> ApiError:
    message = f"Invalid value at '{where}', {value!r}"
    return people_error(400, message, "INVALID_ARGUMENT", [{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": where, "description": message}]}])


def expired_sync_token() -> ApiError:
    return people_error(400, "Sync token is expired. Clear local cache and retry call without the "
                        "sync token.", "FAILED_PRECONDITION", [error_info("EXPIRED_SYNC_TOKEN")])


def stale_etag() -> ApiError:
    return people_error(400, "Request person.etag is different than the current person.etag. "
                        "Clear local cache and get the latest person.", "FAILED_PRECONDITION")


def missing_etag() -> ApiError:
    return invalid("Request must set person.etag or person.metadata.sources.etag for the source "
                   "that is being updated.")


def not_found_error() -> ApiError:
    return not_found("people")


# -- masks, tokens, small parsing helpers ----------------------------------------------------------


def parse_mask(text: Any, name: str, valid: Iterable[str], *, required: bool,
               prefix: str = "") -> frozenset[str] | None:
    """A comma-separated field mask; None when absent and not required."""
    if text is not None and not isinstance(text, str):
        raise bad_value(name, text)
    paths = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not paths:
        if required:
            raise invalid(f"{name} mask is required. Please specify one or more valid paths. "
                          f"Valid paths are documented at {PERSON_FIELD_DOCS}.")
        return None
    allowed = frozenset(valid)
    out = set()
    for path in paths:
        field = path[len(prefix):] if prefix and path.startswith(prefix) else path
        if field not in allowed:
            raise invalid(f"Invalid {name} mask path: {path}")
        out.add(field)
    return frozenset(out)


def person_fields(req: Request) -> frozenset[str]:
    """``personFields`` (or the deprecated ``requestMask.includeField``), required."""
    text = req.arg("personFields")
    if not text and req.arg("requestMask.includeField"):
        return parse_mask(req.arg("requestMask.includeField"), "requestMask.includeField",
                          READABLE, required=True, prefix="person.") or frozenset()
    return parse_mask(text, "personFields", READABLE, required=True) or frozenset()


def page_size(req: Request, default: int) -> int:
    raw = req.arg("pageSize") or "0"
    try:
        size = int(raw)
    except ValueError:
        raise bad_value("page_size", raw) from None
    if size < 0 or size > MAX_PAGE_SIZE:
        raise invalid(f"Page size must be between 0 and {MAX_PAGE_SIZE}.")
    return size or default


def flag(req: Request, name: str) -> bool:
    value = (req.arg(name) or "").lower()
    if value not in ("", "true", "false", "1", "0"):
        raise bad_value(name, value)
    return value in ("true", "1")


def source_id_of(resource_name: str) -> str | None:
    """The CONTACT source id (16 hex digits) of ``people/c<decimal>``; None if malformed."""
    if not resource_name.startswith("people/c") or not resource_name[8:].isdigit():
        return None
    number = int(resource_name[8:])
    return f"{number:016x}" if number < 1 << 64 else None


def resource_name_of(source_id: str) -> str:
    return f"people/c{int(source_id, 16)}"


def group_resource_name(gid: str) -> str:
    return f"contactGroups/{gid}"


def group_id_of(resource_name: str) -> str | None:
    if not resource_name.startswith("contactGroups/") or "/" in resource_name[14:]:
        return None
    return resource_name[14:] or None


def fingerprint(fields: Iterable[str]) -> str:
    return hashlib.sha1(",".join(sorted(fields)).encode()).hexdigest()[:8]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def group_etag(gid: str, group: Json) -> str:
    return _b64(hashlib.sha1(f"{gid}:{group['seq']}".encode()).digest()[:8])


def prune(value: Any) -> Any:
    """Proto3 JSON: drop defaults (``false``, ``0``, ``""``, empty lists and objects)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", False, 0, [], {})
                or v is True}
    if isinstance(value, list):
        return [v for v in (prune(x) for x in value) if v not in (None, "", [], {})]
    return value


def body_object(req: Request) -> Json:
    data = req.json()
    if not isinstance(data, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return data


def check_types(data: Json, where: str) -> None:
    """The scalar values of a message have their JSON types (nested messages are checked apart)."""
    for key, value in data.items():
        if key in NESTED_KEYS or key == "source" and isinstance(value, dict):
            continue
        expected: type | tuple[type, ...] = (
            bool if key in BOOL_KEYS else int if key in INT_KEYS else str)
        if not isinstance(value, expected) or expected is int and isinstance(value, bool):
            raise bad_value(f"{where}.{key}", value)


def check_keys(data: Json, allowed: Iterable[str], where: str) -> None:
    allowed = set(allowed)
    for key in data:
        if key not in allowed:
            raise unknown_name(key, where)


# -- Person normalization and rendering ------------------------------------------------------------


def clean_person(raw: Any, where: str) -> Json:
    """Validate a Person body; answer its writable fields, output-only keys removed, pruned.

    Unknown keys anywhere are Google's 400; a singleton field with more than one value is a 400.
    The item marked ``metadata.primary`` is kept as the one primary item."""
    if not isinstance(raw, dict):
        raise bad_value(where, raw)
    check_keys(raw, PERSON_KEYS, where)
    metadata = raw.get("metadata", {})
    sources = metadata.get("sources", []) if isinstance(metadata, dict) else None
    if not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources):
        raise bad_value(f"{where}.metadata", metadata)
    person: Json = {}
    for field, items in raw.items():
        if field not in ITEM_KEYS:
            continue
        if not isinstance(items, list):
            raise bad_value(f"{where}.{field}", items)
        cleaned = []
        for i, item in enumerate(items):
            at = f"{where}.{field}[{i}]"
            if not isinstance(item, dict):
                raise bad_value(at, item)
            check_keys(item, ITEM_KEYS[field], at)
            check_types(item, at)
            for key, allowed in NESTED_KEYS.items():
                if key in item:
                    if not isinstance(item[key], dict):
                        raise bad_value(f"{at}.{key}", item[key])
                    check_keys(item[key], allowed, f"{at}.{key}")
                    check_types(item[key], f"{at}.{key}")
            if field not in WRITABLE:
                continue
            primary = bool((item.get("metadata") or {}).get("primary"))
            output_only = OUTPUT_ONLY_OF.get(field, OUTPUT_ONLY)
            kept = {k: copy.deepcopy(v) for k, v in item.items()
                    if k != "metadata" and k not in output_only}
            if field == "memberships":
                kept = {"contactGroupMembership": {
                    "contactGroupResourceName": (item.get("contactGroupMembership") or {})
                    .get("contactGroupResourceName", "")}}
            kept = prune(kept)
            if primary:
                kept["metadata"] = {"primary": True}
            if kept and kept != {"metadata": {"primary": True}}:
                cleaned.append(kept)
        if field in SINGLETONS and len(cleaned) > 1:
            raise invalid(f"Only one {SINGLETONS[field]} is allowed per contact.")
        if field in WRITABLE:
            person[field] = cleaned
    for name in person.get("names", []):
        _parse_unstructured(name)
    return person


def _parse_unstructured(name: Json) -> None:
    """Google splits a bare ``unstructuredName`` into given and family names."""
    parts = ("honorificPrefix", "givenName", "middleName", "familyName", "honorificSuffix")
    if any(name.get(p) for p in parts) or not name.get("unstructuredName"):
        return
    words = str(name["unstructuredName"]).split()
    if len(words) == 1:
        name["givenName"] = words[0]
    elif words:
        name["givenName"] = " ".join(words[:-1])
        name["familyName"] = words[-1]


def _display(name: Json) -> Json:
    given = " ".join(str(name[k]) for k in ("honorificPrefix", "givenName", "middleName")
                     if name.get(k))
    family = str(name.get("familyName", ""))
    suffix = str(name.get("honorificSuffix", ""))
    display = " ".join(p for p in (given, family) if p) + (f", {suffix}" if suffix else "")
    display = display or str(name.get("unstructuredName", ""))
    last_first = f"{family}, {given}" if family and given else (family or given or display)
    if suffix and family:
        last_first += f", {suffix}"
    out = dict(name)
    out["displayName"] = display
    out["displayNameLastFirst"] = last_first
    out.setdefault("unstructuredName", display)
    return out


def _formatted(field: str, item: Json) -> Json:
    out = dict(item)
    kind = item.get("type")
    if isinstance(kind, str) and kind and field not in ("nicknames", "locations", "memberships"):
        out["formattedType"] = FORMATTED_TYPES.get(kind, kind)
    if field == "phoneNumbers":
        value = str(item.get("value", ""))
        digits = "".join(c for c in value if c.isdigit())
        if value.strip().startswith("+") and 7 <= len(digits) <= 15:
            out["canonicalForm"] = "+" + digits
    elif field == "addresses" and "formattedValue" not in item:
        town = " ".join(str(item[k]) for k in ("postalCode", "city") if item.get(k))
        lines = [item.get("streetAddress"), item.get("extendedAddress"), item.get("poBox"),
                 town, item.get("region"), item.get("country")]
        text = "\n".join(str(line) for line in lines if line)
        if text:
            out["formattedValue"] = text
    elif field == "biographies":
        out.setdefault("contentType", "TEXT_PLAIN")
    return out


class PeopleApi:
    """The People API module: routes, per-account contact and group storage, persistence."""

    name = "people"

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # -- module interface ------------------------------------------------------------------------

    def new_account(self, account: Account) -> None:
        now = rfc3339(self.state.clock.now())
        account.data[self.name] = {
            "contacts": {},
            "groups": {gid: {"name": gid, "clientData": [], "seq": 0, "updated": now,
                             "deleted": False, "system": True} for gid in SYSTEM_GROUPS},
        }

    def dump(self, account: Account) -> Any:
        return copy.deepcopy(account.data[self.name])

    def load(self, account: Account, data: Any) -> None:
        account.data[self.name] = copy.deepcopy(data)

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
            ctl("GET", "groups", self.control_groups),
            ctl("POST", "groups", self.control_create_group),
            ctl("PATCH", r"groups/(?:contactGroups/)?(?P<gid>[^/]+)", self.control_patch_group),
            ctl("DELETE", r"groups/(?:contactGroups/)?(?P<gid>[^/]+)", self.control_delete_group),
            ctl("POST", r"groups/(?:contactGroups/)?(?P<gid>[^/]+)/members",
                self.control_members),
        ]

    # -- storage -----------------------------------------------------------------------------------

    def _data(self, account: Account | None) -> Json:
        assert account is not None
        data: Json = account.data[self.name]
        return data

    def _contacts(self, account: Account | None) -> dict[str, Json]:
        contacts: dict[str, Json] = self._data(account)["contacts"]
        return contacts

    def _groups(self, account: Account | None) -> dict[str, Json]:
        groups: dict[str, Json] = self._data(account)["groups"]
        return groups

    def _touch(self, record: Json) -> None:
        record["seq"] = self.state.next_seq()
        record["updated"] = rfc3339(self.state.clock.now())

    def _contact(self, account: Account | None, resource_name: str) -> tuple[str, Json]:
        """The live contact named ``resource_name``: 400 if malformed, 404 if unknown."""
        sid = source_id_of(resource_name)
        if sid is None:
            raise invalid()
        record = self._contacts(account).get(sid)
        if record is None or record["deleted"]:
            raise not_found_error()
        return sid, record

    def _group(self, account: Account | None, gid: str) -> Json:
        group = self._groups(account).get(gid)
        if group is None or group["deleted"]:
            raise not_found_error()
        return group

    def _membership_ids(self, account: Account | None, items: list[Json]) -> list[str]:
        """Group ids named by stored membership items (each must be a live group)."""
        out: list[str] = []
        for item in items:
            name = item.get("contactGroupMembership", {}).get("contactGroupResourceName", "")
            gid = group_id_of(name)
            group = self._groups(account).get(gid or "")
            if gid is None or group is None or group["deleted"]:
                raise invalid(f"Contact group {name!r} does not exist.")
            if gid not in out:
                out.append(gid)
        return out

    def _new_contact(self, account: Account | None, person: Json) -> tuple[str, Json]:
        contacts = self._contacts(account)
        sid = f"{secrets.randbits(64) | 1 << 60:016x}"
        while sid in contacts:
            sid = f"{secrets.randbits(64) | 1 << 60:016x}"
        groups = self._membership_ids(account, person.pop("memberships", []))
        if "myContacts" not in groups:
            groups.insert(0, "myContacts")
        record = {"seq": 0, "updated": "", "deleted": False, "person": person, "groups": groups}
        self._touch(record)
        contacts[sid] = record
        return sid, record

    def _apply(self, account: Account | None, record: Json, person: Json,
               fields: Iterable[str]) -> None:
        """Replace ``fields`` of a contact with those of ``person`` (absent ones are cleared)."""
        for field in fields:
            if field == "memberships":
                groups = self._membership_ids(account, person.get("memberships", []))
                if not groups:
                    raise invalid("A contact must be in at least one contact group.")
                record["groups"] = groups
            elif person.get(field):
                record["person"][field] = person[field]
            else:
                record["person"].pop(field, None)
        self._touch(record)

    def _delete(self, record: Json) -> None:
        record["deleted"] = True
        record["person"] = {}
        record["groups"] = []
        self._touch(record)

    # -- rendering ---------------------------------------------------------------------------------

    def _etags(self, sid: str, record: Json, fields: Iterable[str]) -> tuple[str, str]:
        version = record["seq"].to_bytes(8, "big")
        person = b"\x12" + bytes.fromhex(sid) + version + bytes.fromhex(fingerprint(fields))
        source = hashlib.sha1(bytes.fromhex(sid) + version).digest()[:8]
        return "%" + _b64(person), "#" + _b64(source)

    def _etag_ok(self, sid: str, record: Json, body: Json) -> bool:
        """Whether the body carries the contact's current person or CONTACT source etag."""
        person_etag, source_etag = self._etags(sid, record, ())
        given = body.get("etag")
        if isinstance(given, str) and given.startswith("%"):
            try:
                raw = base64.b64decode(given[1:], validate=True)
            except ValueError:
                raw = b""
            if raw[:17] == base64.b64decode(person_etag[1:])[:17]:
                return True
        sources = (body.get("metadata") or {}).get("sources") or []
        return any(isinstance(s, dict) and s.get("etag") == source_etag for s in sources)

    @staticmethod
    def _has_etag(body: Json) -> bool:
        sources = (body.get("metadata") or {}).get("sources") or []
        return bool(body.get("etag")) or any(isinstance(s, dict) and s.get("etag")
                                             for s in sources)

    def render(self, sid: str, record: Json, fields: frozenset[str]) -> Json:
        """A contact as Google returns it with the ``fields`` mask (a tombstone if deleted)."""
        person_etag, source_etag = self._etags(sid, record, fields)
        out: Json = {"resourceName": resource_name_of(sid), "etag": person_etag}
        source = {"type": "CONTACT", "id": sid}
        if record["deleted"]:
            if "metadata" in fields:
                out["metadata"] = {"sources": [source], "deleted": True, "objectType": "PERSON"}
            return out
        if "metadata" in fields:
            out["metadata"] = {"sources": [{**source, "etag": source_etag,
                                            "updateTime": record["updated"]}],
                               "objectType": "PERSON"}
        person = record["person"]
        for field in sorted(fields):
            if field == "memberships":
                out["memberships"] = [
                    {"metadata": {"source": source},
                     "contactGroupMembership": {"contactGroupId": gid,
                                                "contactGroupResourceName":
                                                group_resource_name(gid)}}
                    for gid in record["groups"]]
                continue
            items = person.get(field)
            if not items:
                continue
            primary = next((i for i, it in enumerate(items)
                            if it.get("metadata", {}).get("primary")), 0)
            rendered = []
            for i, item in enumerate(items):
                shown = _display(item) if field == "names" else _formatted(field, item)
                meta: Json = {"source": source}
                if i == primary:
                    meta = {"primary": True, "sourcePrimary": True, "source": source}
                shown["metadata"] = meta
                rendered.append(shown)
            out[field] = rendered
        return out

    def render_group(self, account: Account | None, gid: str, group: Json,
                     fields: frozenset[str], counts: Counter[str] | None = None,
                     max_members: int = 0) -> Json:
        out: Json = {"resourceName": group_resource_name(gid), "etag": group_etag(gid, group)}
        if "metadata" in fields:
            out["metadata"] = {"updateTime": group["updated"]}
            if group["deleted"]:
                out["metadata"]["deleted"] = True
        if group["deleted"]:
            return out
        if "groupType" in fields:
            out["groupType"] = "SYSTEM_CONTACT_GROUP" if group["system"] else "USER_CONTACT_GROUP"
        if "name" in fields:
            out["name"] = group["name"]
            out["formattedName"] = SYSTEM_GROUPS.get(gid, group["name"])
        if "clientData" in fields and group["clientData"]:
            out["clientData"] = copy.deepcopy(group["clientData"])
        members: list[str] = []
        if counts is None or max_members:
            members = [resource_name_of(sid) for sid, c in self._contacts(account).items()
                       if not c["deleted"] and gid in c["groups"]]
        count = counts[gid] if counts is not None else len(members)
        if "memberCount" in fields and count:
            out["memberCount"] = count
        if max_members and members:
            out["memberResourceNames"] = members[:max_members]
        return out

    def _member_counts(self, account: Account | None) -> Counter[str]:
        counts: Counter[str] = Counter()
        for record in self._contacts(account).values():
            if not record["deleted"]:
                counts.update(record["groups"])
        return counts

    # -- sync and page tokens ----------------------------------------------------------------------

    def _sync_token(self, kind: str, email: str, seq: int, fields: Iterable[str]) -> str:
        return encode_token({"k": kind, "u": email, "s": seq, "t": self.state.clock.time(),
                             "e": self.state.sync_epoch, "f": fingerprint(fields)})

    def _read_token(self, token: str, kind: str, email: str, fields: Iterable[str]) -> Json:
        """A token's payload: 400 INVALID_ARGUMENT when garbage or for other parameters,
        400 EXPIRED_SYNC_TOKEN when older than 7 days or issued before an invalidation."""
        payload = decode_token(token)
        if payload is None or payload.get("k") != kind or payload.get("u") != email:
            raise invalid()
        is_sync = kind.endswith("s")
        shape_ok = (isinstance(payload.get("s"), int) and isinstance(payload.get("t"), float)
                    if is_sync else
                    isinstance(payload.get("m"), int) and isinstance(payload.get("a"), list))
        if not shape_ok or payload.get("f") != fingerprint(fields):
            raise invalid()
        stale = payload.get("e") != self.state.sync_epoch
        if stale and (is_sync or payload.get("since") is not None):
            raise expired_sync_token()
        if is_sync and self.state.clock.time() - payload["t"] > SYNC_TOKEN_LIFETIME:
            raise expired_sync_token()
        return payload

    # -- people ------------------------------------------------------------------------------------

    def list_connections(self, req: Request) -> Json:
        if req.params["owner"] != "me":
            raise invalid()
        fields = person_fields(req)
        size = page_size(req, 100)
        order = req.arg("sortOrder") or SORT_ORDERS[0]
        if order not in SORT_ORDERS:
            raise bad_value("sort_order", order)
        want_sync = flag(req, "requestSyncToken")
        for source in req.args("sources"):
            if source not in READ_SOURCES:
                raise bad_value("sources", source)
        contacts = self._contacts(req.account)
        sync_token, page_token = req.arg("syncToken"), req.arg("pageToken")
        since: int | None = None
        if sync_token:
            since = int(self._read_token(sync_token, "ps", req.email, fields)["s"])
        if page_token:
            page = self._read_token(page_token, "pp", req.email, fields)
            if page.get("since") != since or page.get("o") != order:
                raise invalid()
            snapshot, after = int(page["m"]), page["a"]
        else:
            snapshot, after = self.state.seq, None
        key = self._sort_key(order if since is None else SORT_ORDERS[0])
        chosen = [(key(sid, r), sid, r) for sid, r in contacts.items()
                  if r["seq"] <= snapshot and (r["seq"] > since if since is not None
                                               else not r["deleted"])]
        total = len(chosen)
        if after is not None:
            chosen = [c for c in chosen if c[0] > after]
        chosen.sort(key=lambda c: c[0])
        out: Json = {}
        page_items = chosen[:size]
        if page_items:
            out["connections"] = [self.render(sid, r, fields) for _, sid, r in page_items]
        if len(chosen) > size:
            out["nextPageToken"] = encode_token({
                "k": "pp", "u": req.email, "m": snapshot, "a": page_items[-1][0], "since": since,
                "o": order, "f": fingerprint(fields), "e": self.state.sync_epoch})
        elif want_sync:
            out["nextSyncToken"] = self._sync_token("ps", req.email, snapshot, fields)
        if total:
            out["totalPeople"] = out["totalItems"] = total
        return out

    @staticmethod
    def _sort_key(order: str) -> Callable[[str, Json], list[Any]]:
        def name_part(record: Json, part: str) -> str:
            names = record["person"].get("names") or [{}]
            return str(names[0].get(part, "")).lower()

        if order == "LAST_MODIFIED_DESCENDING":
            return lambda sid, r: [-r["seq"], sid]
        if order == "FIRST_NAME_ASCENDING":
            return lambda sid, r: [name_part(r, "givenName"), r["seq"], sid]
        if order == "LAST_NAME_ASCENDING":
            return lambda sid, r: [name_part(r, "familyName"), r["seq"], sid]
        return lambda sid, r: [r["seq"], sid]

    def get_person(self, req: Request) -> Json:
        fields = person_fields(req)
        if req.params["pid"] == "me":
            return self._profile(req, fields)
        sid, record = self._contact(req.account, "people/" + req.params["pid"])
        return self.render(sid, record, fields)

    def _profile(self, req: Request, fields: frozenset[str]) -> Json:
        """``people/me``: the account's own profile (not a contact; read-only)."""
        number = int(hashlib.sha1(req.email.encode()).hexdigest()[:15], 16)
        source = {"type": "PROFILE", "id": str(number)}
        out: Json = {"resourceName": f"people/{number}",
                     "etag": "%" + _b64(hashlib.sha1(req.email.encode()).digest()[:12])}
        if "metadata" in fields:
            out["metadata"] = {"sources": [source], "objectType": "PERSON"}
        if "emailAddresses" in fields:
            out["emailAddresses"] = [{"metadata": {"primary": True, "verified": True,
                                                   "source": source}, "value": req.email}]
        if "names" in fields:
            name = _display({"givenName": req.email.split("@")[0]})
            out["names"] = [{**name, "metadata": {"primary": True, "source": source}}]
        return out

    def batch_get(self, req: Request) -> Json:
        fields = person_fields(req)
        names = req.args("resourceNames")
        if not names:
            raise invalid("resourceNames must have at least one entry.")
        if len(names) > MAX_BATCH_GET:
            raise invalid(f"Too many resource names: at most {MAX_BATCH_GET} are allowed.")
        responses = []
        for name in names:
            try:
                sid, record = self._contact(req.account, name)
            except ApiError as err:
                code = err.status
                responses.append({"requestedResourceName": name, "httpStatusCode": code,
                                  "status": {"code": 5 if code == 404 else 3,
                                             "message": err.body["error"]["message"]}})
                continue
            responses.append({"requestedResourceName": name, "httpStatusCode": 200,
                              "person": self.render(sid, record, fields), "status": {}})
        return {"responses": responses}

    def create_contact(self, req: Request) -> Json:
        fields = parse_mask(req.arg("personFields"), "personFields", READABLE,
                            required=False) or READABLE
        person = clean_person(body_object(req), "person")
        sid, record = self._new_contact(req.account, person)
        return self.render(sid, record, fields)

    def update_contact(self, req: Request) -> Json:
        mask = parse_mask(req.arg("updatePersonFields"), "updatePersonFields", WRITABLE,
                          required=True) or frozenset()
        fields = parse_mask(req.arg("personFields"), "personFields", READABLE,
                            required=False) or READABLE
        body = body_object(req)
        person = clean_person(body, "person")
        sid, record = self._contact(req.account, "people/" + req.params["pid"])
        self._check_update(sid, record, body, "people/" + req.params["pid"])
        self._apply(req.account, record, person, mask)
        return self.render(sid, record, fields)

    def _check_update(self, sid: str, record: Json, body: Json, name: str) -> None:
        given = body.get("resourceName")
        if given is not None and given != name:
            raise invalid("Resource name in the request does not match the person.")
        if not self._has_etag(body):
            raise missing_etag()
        if not self._etag_ok(sid, record, body):
            raise stale_etag()

    def delete_contact(self, req: Request) -> Json:
        _, record = self._contact(req.account, "people/" + req.params["pid"])
        self._delete(record)
        return {}

    def batch_create(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("contacts", "readMask", "sources"), "")
        fields = parse_mask(body.get("readMask"), "readMask", READABLE, required=False)
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise invalid("contacts must have at least one entry.")
        if len(contacts) > MAX_BATCH_MUTATE:
            raise invalid(f"Too many contacts: at most {MAX_BATCH_MUTATE} are allowed.")
        people = []
        for i, entry in enumerate(contacts):
            if not isinstance(entry, dict):
                raise bad_value(f"contacts[{i}]", entry)
            check_keys(entry, ("contactPerson",), f"contacts[{i}]")
            people.append(clean_person(entry.get("contactPerson", {}),
                                       f"contacts[{i}].contact_person"))
        for person in people:  # every membership valid before anything is written
            self._membership_ids(req.account, person.get("memberships", []))
        created = [self._new_contact(req.account, person) for person in people]
        if fields is None:
            return {}
        return {"createdPeople": [
            {"requestedResourceName": resource_name_of(sid), "httpStatusCode": 200,
             "person": self.render(sid, record, fields), "status": {}}
            for sid, record in created]}

    def batch_update(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("contacts", "updateMask", "readMask", "sources"), "")
        mask = parse_mask(body.get("updateMask"), "updateMask", WRITABLE,
                          required=True) or frozenset()
        fields = parse_mask(body.get("readMask"), "readMask", READABLE, required=False)
        contacts = body.get("contacts")
        if not isinstance(contacts, dict) or not contacts:
            raise invalid("contacts must have at least one entry.")
        if len(contacts) > MAX_BATCH_MUTATE:
            raise invalid(f"Too many contacts: at most {MAX_BATCH_MUTATE} are allowed.")
        planned = []
        for name, raw in contacts.items():
            person = clean_person(raw, f"contacts[{name}]")
            sid, record = self._contact(req.account, name)
            self._check_update(sid, record, raw, name)
            if "memberships" in mask:
                self._membership_ids(req.account, person.get("memberships", []))
            planned.append((name, sid, record, person))
        for _, _, record, person in planned:
            self._apply(req.account, record, person, mask)
        if fields is None:
            return {}
        return {"updateResult": {
            name: {"requestedResourceName": name, "httpStatusCode": 200,
                   "person": self.render(sid, record, fields), "status": {}}
            for name, sid, record, _ in planned}}

    def batch_delete(self, req: Request) -> Json:
        body = body_object(req)
        check_keys(body, ("resourceNames",), "")
        names = body.get("resourceNames")
        if not isinstance(names, list) or not names:
            raise invalid("resourceNames must have at least one entry.")
        if len(names) > MAX_BATCH_DELETE:
            raise invalid(f"Too many resource names: at most {MAX_BATCH_DELETE} are allowed.")
        records = [self._contact(req.account, str(name))[1] for name in names]
        for record in records:
            if not record["deleted"]:
                self._delete(record)
        return {}

    # -- contact groups ----------------------------------------------------------------------------

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
