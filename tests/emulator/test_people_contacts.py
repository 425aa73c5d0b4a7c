"""People API v1 contacts through the real client: create, get, update, delete, fields, errors."""

from __future__ import annotations

import json
import re

import pytest
from emukit import Google, control
from googleapiclient.errors import HttpError

from crmtui.emulator import Emulator

FIELDS = "names,emailAddresses,phoneNumbers,organizations,addresses,birthdays,biographies," \
         "memberships,clientData,metadata,urls,nicknames,userDefined,relations,events"


def _error(exc: pytest.ExceptionInfo[HttpError]) -> dict:
    return json.loads(exc.value.content)["error"]


def _create(g: Google, body: dict | None = None, fields: str = FIELDS) -> dict:
    body = body or {"names": [{"givenName": "Ada", "familyName": "Lovelace"}]}
    return g.people.people().createContact(personFields=fields, body=body).execute()


def test_created_contact_has_google_shape(google: Google) -> None:
    p = _create(google, {"names": [{"givenName": "Ada", "familyName": "Lovelace"}],
                         "emailAddresses": [{"value": "ada@example.com", "type": "work"}],
                         "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "mobile"}]})
    source = p["metadata"]["sources"][0]
    assert source["type"] == "CONTACT" and re.fullmatch(r"[0-9a-f]{16}", source["id"])
    assert p["resourceName"] == f"people/c{int(source['id'], 16)}"
    assert p["etag"].startswith("%") and source["etag"].startswith("#")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", source["updateTime"])
    name = p["names"][0]
    assert name["displayName"] == "Ada Lovelace"
    assert name["displayNameLastFirst"] == "Lovelace, Ada"
    assert name["metadata"] == {"primary": True, "sourcePrimary": True,
                                "source": {"type": "CONTACT", "id": source["id"]}}
    assert p["emailAddresses"][0]["formattedType"] == "Work"
    assert p["phoneNumbers"][0]["canonicalForm"] == "+442079460000"


def test_new_contact_is_in_my_contacts(google: Google) -> None:
    p = _create(google)
    membership = p["memberships"][0]["contactGroupMembership"]
    assert membership == {"contactGroupId": "myContacts",
                          "contactGroupResourceName": "contactGroups/myContacts"}


def test_proto3_json_omits_defaults(google: Google) -> None:
    p = _create(google, {"names": [{"givenName": "Bo", "middleName": ""}],
                         "emailAddresses": [{"value": "a@x.com"}, {"value": "b@x.com"}],
                         "organizations": [{"name": "Acme", "current": False}],
                         "urls": []})
    assert "urls" not in p and "biographies" not in p
    assert "middleName" not in p["names"][0]
    assert "current" not in p["organizations"][0]
    assert "deleted" not in p["metadata"]
    second = p["emailAddresses"][1]["metadata"]
    assert "primary" not in second and "sourcePrimary" not in second
    assert "formattedType" not in p["emailAddresses"][0]


def test_only_requested_fields_are_returned(google: Google) -> None:
    p = _create(google, {"names": [{"givenName": "Ada"}],
                         "emailAddresses": [{"value": "a@x.com"}]})
    got = google.people.people().get(resourceName=p["resourceName"],
                                      personFields="emailAddresses").execute()
    assert set(got) == {"resourceName", "etag", "emailAddresses"}


def test_client_data_round_trips(google: Google) -> None:
    p = _create(google, {"names": [{"givenName": "Ada"}],
                         "clientData": [{"key": "crmtui.id", "value": "42"},
                                        {"key": "crmtui.id", "value": "43"}]})
    got = google.people.people().get(resourceName=p["resourceName"],
                                      personFields="clientData").execute()
    assert [(c["key"], c["value"]) for c in got["clientData"]] == [("crmtui.id", "42"),
                                                                    ("crmtui.id", "43")]


def test_update_replaces_masked_fields_and_leaves_the_rest(google: Google) -> None:
    p = _create(google, {"names": [{"givenName": "Ada"}],
                         "emailAddresses": [{"value": "old@x.com"}],
                         "phoneNumbers": [{"value": "+1 555 0100"}],
                         "urls": [{"value": "https://ada.example"}],
                         "nicknames": [{"value": "Countess"}],
                         "userDefined": [{"key": "shoe", "value": "38"}],
                         "relations": [{"person": "Byron", "type": "father"}],
                         "events": [{"date": {"year": 1833, "month": 6, "day": 5},
                                     "type": "anniversary"}]})
    u = google.people.people().updateContact(
        resourceName=p["resourceName"], updatePersonFields="emailAddresses,phoneNumbers",
        personFields=FIELDS,
        body={"etag": p["etag"], "emailAddresses": [{"value": "new@x.com"}]}).execute()
    assert [e["value"] for e in u["emailAddresses"]] == ["new@x.com"]
    assert "phoneNumbers" not in u
    for field in ("names", "urls", "nicknames", "userDefined", "relations", "events"):
        assert u[field] == p[field] or field == "names" and u["names"][0]["givenName"] == "Ada"
    assert u["relations"][0]["formattedType"] == "Father"


def test_every_write_changes_etags_and_update_time(emulator: Emulator, google: Google) -> None:
    p = _create(google)
    control(emulator, "POST", "/clock", {"advance": 60})
    u = google.people.people().updateContact(
        resourceName=p["resourceName"], updatePersonFields="names", personFields="metadata",
        body={"etag": p["etag"], "names": [{"givenName": "Augusta"}]}).execute()
    before, after = p["metadata"]["sources"][0], u["metadata"]["sources"][0]
    assert u["etag"] != p["etag"] and after["etag"] != before["etag"]
    assert after["updateTime"] > before["updateTime"]


def test_update_accepts_the_source_etag(google: Google) -> None:
    p = _create(google)
    body = {"metadata": {"sources": [{"type": "CONTACT", "id": p["metadata"]["sources"][0]["id"],
                                      "etag": p["metadata"]["sources"][0]["etag"]}]},
            "names": [{"givenName": "Augusta"}]}
    u = google.people.people().updateContact(resourceName=p["resourceName"],
                                             updatePersonFields="names", personFields="names",
                                             body=body).execute()
    assert u["names"][0]["givenName"] == "Augusta"


def test_update_with_stale_etag_is_failed_precondition(google: Google) -> None:
    p = _create(google)
    google.people.people().updateContact(resourceName=p["resourceName"],
                                         updatePersonFields="names", personFields="names",
                                         body={"etag": p["etag"],
                                               "names": [{"givenName": "B"}]}).execute()
    with pytest.raises(HttpError) as exc:
        google.people.people().updateContact(resourceName=p["resourceName"],
                                             updatePersonFields="names", personFields="names",
                                             body={"etag": p["etag"],
                                                   "names": [{"givenName": "C"}]}).execute()
    assert exc.value.status_code == 400
    assert _error(exc) == {
        "code": 400, "status": "FAILED_PRECONDITION",
        "message": "Request person.etag is different than the current person.etag. "
                   "Clear local cache and get the latest person."}


def test_update_without_etag_is_invalid_argument(google: Google) -> None:
    p = _create(google)
    with pytest.raises(HttpError) as exc:
        google.people.people().updateContact(resourceName=p["resourceName"],
                                             updatePersonFields="names",
                                             body={"names": [{"givenName": "C"}]}).execute()
    assert _error(exc) == {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": "Request must set person.etag or person.metadata.sources.etag for the source "
                   "that is being updated."}


def test_update_requires_update_person_fields(google: Google) -> None:
    p = _create(google)
    with pytest.raises(HttpError) as exc:
        google.people.people().updateContact(resourceName=p["resourceName"],
                                             body={"etag": p["etag"]}).execute()
    assert exc.value.status_code == 400
    assert _error(exc)["message"].startswith("updatePersonFields mask is required.")


def test_person_fields_are_required(google: Google) -> None:
    p = _create(google)
    with pytest.raises(HttpError) as exc:
        google.people.people().get(resourceName=p["resourceName"]).execute()
    assert _error(exc) == {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": "personFields mask is required. Please specify one or more valid paths. "
                   "Valid paths are documented at "
                   "https://developers.google.com/people/api/rest/v1/people/get."}


def test_bad_mask_path_is_invalid_argument(google: Google) -> None:
    p = _create(google)
    with pytest.raises(HttpError) as exc:
        google.people.people().get(resourceName=p["resourceName"], personFields="etag").execute()
    assert _error(exc) == {"code": 400, "status": "INVALID_ARGUMENT",
                           "message": "Invalid personFields mask path: etag"}
    with pytest.raises(HttpError) as exc:
        google.people.people().updateContact(resourceName=p["resourceName"],
                                             updatePersonFields="photos",
                                             body={"etag": p["etag"]}).execute()
    assert _error(exc)["message"] == "Invalid updatePersonFields mask path: photos"


def test_unknown_field_in_person_is_googles_400(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        _create(google, {"names": [{"givenName": "A", "nick": "x"}]})
    message = ('Invalid JSON payload received. Unknown name "nick" at \'person.names[0]\': '
               "Cannot find field.")
    assert _error(exc) == {
        "code": 400, "status": "INVALID_ARGUMENT", "message": message,
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"field": "person.names[0]", "description": message}]}]}
    with pytest.raises(HttpError) as exc:
        _create(google, {"favouriteColour": "blue"})
    assert 'Unknown name "favouriteColour" at \'person\'' in _error(exc)["message"]


@pytest.mark.parametrize("field", ["names", "birthdays", "biographies"])
def test_singleton_field_with_two_values_is_400(google: Google, field: str) -> None:
    item = {"names": {"givenName": "A"}, "birthdays": {"text": "1815-12-10"},
            "biographies": {"value": "x"}}[field]
    with pytest.raises(HttpError) as exc:
        _create(google, {field: [item, item]})
    assert exc.value.status_code == 400
    assert _error(exc)["status"] == "INVALID_ARGUMENT"


def test_delete_answers_empty_and_then_404(google: Google) -> None:
    p = _create(google)
    assert google.people.people().deleteContact(resourceName=p["resourceName"]).execute() == {}
    with pytest.raises(HttpError) as exc:
        google.people.people().get(resourceName=p["resourceName"], personFields="names").execute()
    assert _error(exc) == {"code": 404, "status": "NOT_FOUND",
                           "message": "Requested entity was not found."}
    with pytest.raises(HttpError) as exc:
        google.people.people().deleteContact(resourceName=p["resourceName"]).execute()
    assert exc.value.status_code == 404


def test_get_me_is_the_profile(google: Google) -> None:
    me = google.people.people().get(resourceName="people/me",
                                    personFields="emailAddresses,metadata").execute()
    assert me["emailAddresses"][0]["value"] == "ann@example.com"
    assert me["metadata"]["sources"][0]["type"] == "PROFILE"


def test_accounts_do_not_see_each_others_contacts(google_factory) -> None:  # type: ignore[no-untyped-def]
    ann, bob = google_factory("ann@example.com"), google_factory("bob@example.com")
    p = _create(ann)
    with pytest.raises(HttpError) as exc:
        bob.people.people().get(resourceName=p["resourceName"], personFields="names").execute()
    assert exc.value.status_code == 404


def test_addresses_birthdays_biographies_organizations(google: Google) -> None:
    p = _create(google, {"addresses": [{"streetAddress": "1 Main St", "city": "London",
                                        "postalCode": "N1", "type": "home"}],
                         "birthdays": [{"date": {"year": 1815, "month": 12, "day": 10}}],
                         "biographies": [{"value": "Mathematician"}],
                         "organizations": [{"name": "Engines", "title": "Analyst"}]})
    assert p["addresses"][0]["formattedValue"] == "1 Main St\nN1 London"
    assert p["addresses"][0]["formattedType"] == "Home"
    assert p["birthdays"][0]["date"] == {"year": 1815, "month": 12, "day": 10}
    assert p["biographies"][0]["contentType"] == "TEXT_PLAIN"
    assert p["organizations"][0]["title"] == "Analyst"


def test_wrongly_typed_value_is_400(google: Google) -> None:
    with pytest.raises(HttpError) as exc:
        _create(google, {"names": [{"givenName": 5}]})
    assert exc.value.status_code == 400
    assert _error(exc)["details"][0]["fieldViolations"][0]["field"] == "person.names[0].givenName"
    with pytest.raises(HttpError) as exc:
        _create(google, {"birthdays": [{"date": {"year": "1815"}}]})
    assert exc.value.status_code == 400


def test_output_only_values_are_recomputed_and_writable_ones_kept(google: Google) -> None:
    p = _create(google, {"names": [{"givenName": "Ada", "displayName": "Someone Else"}],
                         "emailAddresses": [{"value": "a@x.com", "displayName": "Ada L.",
                                             "formattedType": "Bogus"}],
                         "addresses": [{"formattedValue": "1 Main St, London"}]})
    assert p["names"][0]["displayName"] == "Ada"
    assert p["emailAddresses"][0]["displayName"] == "Ada L."
    assert "formattedType" not in p["emailAddresses"][0]
    assert p["addresses"][0]["formattedValue"] == "1 Main St, London"
