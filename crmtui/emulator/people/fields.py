"""People API v1: limits, the Person schema and its validation, masks, resource names,
the errors Google answers, and how a stored Person renders."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable
from typing import Any

from crmtui.emulator.errors import ApiError, error_info, not_found, people_error
from crmtui.emulator.http import Request

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
