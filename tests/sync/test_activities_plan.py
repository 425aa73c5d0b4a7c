"""Pure units of the activity engine: canonical fields both ways, participants and invitations,
and :func:`plan_activities` deciding who pushes, imports, links, unlinks and deletes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from crmtui.model import (
    Activity,
    Participant,
    ParticipantKind,
    ResponseStatus,
    SyncKind,
    SyncLink,
)
from crmtui.sync.activities import (
    Directory,
    LocalActivity,
    activity_fields,
    apply_fields,
    event_fields,
    invite_list,
    merged_participants,
    plan_activities,
)
from crmtui.sync.engine import SyncReport
from crmtui.sync.remote import Attendee, RemoteEvent

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SINCE = date(2026, 1, 1)
USERS = Directory(by_email={"a@x.org": "ua", "b@x.org": "ub", "bob@home.org": "ub",
                            "c@x.org": "uc"},
                  invite={"ua": "a@x.org", "ub": "b@x.org", "uc": "c@x.org"},
                  set_up={"ua": True, "ub": True, "uc": False})


def user(uid: str, response: ResponseStatus = ResponseStatus.NEEDS_ACTION) -> Participant:
    return Participant(ParticipantKind.USER, uid, response)


def timed(title: str = "Call", **more: Any) -> Activity:
    values: dict[str, Any] = {"participants": [user("ua")], **more}
    return Activity(title=title, start=T0, end=T0 + timedelta(hours=1), timezone="Europe/Berlin",
                    owner_id="ua", organizer_id="ua", show_in_calendar=True, **values)


def event(rid: str, fields: dict[str, Any], *, attendees: tuple[str, ...] = (),
          **more: Any) -> RemoteEvent:
    return RemoteEvent(remote_id=rid, etag="e1", fields=fields,
                       attendees=[Attendee(e) for e in attendees], **more)


# --------------------------------------------------------------------------- canonical fields


def test_activity_fields_of_a_timed_activity_are_utc_instants_with_their_zone() -> None:
    f = activity_fields(timed(notes="n", location="l", recurrence=["RRULE:FREQ=DAILY"]))
    assert f == {"title": "Call", "notes": "n", "location": "l",
                 "time": {"all_day": False, "start": "2026-03-02T10:00:00+00:00",
                          "end": "2026-03-02T11:00:00+00:00", "timezone": "Europe/Berlin",
                          "start_date": None, "end_date": None},
                 "recurrence": ["RRULE:FREQ=DAILY"], "attendees": ["ua"]}


def test_activity_fields_default_an_hour_and_none_without_a_start() -> None:
    f = activity_fields(Activity(title="x", start=T0, show_in_calendar=True))
    assert f is not None and f["time"]["end"] == "2026-03-02T11:00:00+00:00"
    assert f["time"]["timezone"] == "UTC"
    assert activity_fields(Activity(title="no start")) is None


def test_all_day_fields_round_trip_with_inclusive_end() -> None:
    a = Activity(title="Away", all_day=True, start_date=date(2026, 3, 5),
                 end_date=date(2026, 3, 7))
    f = activity_fields(a)
    assert f is not None
    assert f["time"] == {"all_day": True, "start": None, "end": None, "timezone": "",
                         "start_date": "2026-03-05", "end_date": "2026-03-07"}
    back = apply_fields(Activity(title="t", start=T0), f)
    assert back.all_day and back.start is None
    assert (back.start_date, back.end_date) == (date(2026, 3, 5), date(2026, 3, 7))


def test_apply_fields_then_activity_fields_is_the_identity_for_timed() -> None:
    f = activity_fields(timed(notes="n"))
    assert f is not None
    again = apply_fields(Activity(title="other"), f, [user("ua")])
    assert activity_fields(again) == f
    assert again.timezone == "Europe/Berlin" and again.start == T0


def test_event_fields_fill_blanks_and_keep_only_known_attendees() -> None:
    rc = event("r1", {"title": None, "notes": None, "location": None,
                      "time": {"all_day": False}, "recurrence": None},
               attendees=("zed@out.org", "bob@home.org", "a@x.org"))
    f = event_fields(rc, USERS)
    assert (f["title"], f["notes"], f["location"], f["recurrence"]) == ("(no title)", "", "",
                                                                         [])
    assert f["attendees"] == ["ua", "ub"]


# --------------------------------------------------------------------------- participants


def test_merged_participants_keep_contacts_and_take_responses_from_google() -> None:
    contact = Participant(ParticipantKind.CONTACT, "k1")
    a = timed(participants=[user("ua"), contact, user("ub")])
    out = merged_participants(a, ["ua", "uc"], [Attendee("a@x.org", "accepted"),
                                                 Attendee("c@x.org", "declined")], USERS)
    assert out == [user("ua", ResponseStatus.ACCEPTED), contact,
                   user("uc", ResponseStatus.DECLINED)]


def test_merged_participants_keep_a_response_google_does_not_give() -> None:
    a = timed(participants=[user("ua", ResponseStatus.TENTATIVE)])
    assert merged_participants(a, ["ua"], [], USERS) == [user("ua", ResponseStatus.TENTATIVE)]


def test_invite_list_keeps_outsiders_and_the_address_already_invited() -> None:
    rc = event("r1", {}, attendees=("zed@out.org", "bob@home.org", "a@x.org"))
    assert invite_list(["ub", "uc"], rc, USERS) == ["zed@out.org", "bob@home.org", "c@x.org"]
    assert invite_list(["ua"], None, USERS) == ["a@x.org"]


# --------------------------------------------------------------------------- the plan


def plan(local: dict[str, LocalActivity], changes: list[RemoteEvent], *,
         links: dict[str, SyncLink] | None = None, full: bool = False,
         uids: dict[str, str] | None = None, existing: set[str] | None = None) -> Any:
    links = links or {}
    return plan_activities(local, links, {k: v.remote_id for k, v in links.items()}, changes,
                           full=full, existing=existing if existing is not None else set(local),
                           uids=uids or {}, users=USERS, since=SINCE,
                           report=SyncReport(kind="activities"))


def mine(a: Activity, *, drives: bool = True, attends: bool = False) -> LocalActivity:
    return LocalActivity(a, activity_fields(a), drives, attends)


def link(a: Activity, rid: str, *, organizer_self: bool = True, **more: Any) -> SyncLink:
    return SyncLink(user_id="ua", kind=SyncKind.ACTIVITIES, local_id=a.id, remote_id=rid,
                    etag="e0", base=activity_fields(a) or {},
                    remote={"organizer_self": organizer_self,
                            "attendees": [vars(Attendee("a@x.org"))]}, **more)


def test_a_driven_unlinked_activity_is_created_and_one_without_start_skipped() -> None:
    a, nostart = timed(), Activity(title="x", show_in_calendar=True)
    p = plan({a.id: mine(a), nostart.id: LocalActivity(nostart, None, True, False)}, [])
    assert p.creates == [a.id]


def test_an_unknown_event_is_imported_unless_before_the_sync_from_date() -> None:
    f = activity_fields(timed())
    assert f is not None
    old = dict(f, time=dict(f["time"], start="2025-12-31T10:00:00+00:00",
                            end="2025-12-31T11:00:00+00:00", timezone="UTC"))
    p = plan({}, [event("new", f), event("old", old)])
    assert [rc.remote_id for rc in p.imports] == ["new"]


def test_an_event_carrying_a_crm_id_or_a_known_uid_is_linked_not_imported() -> None:
    a, b = timed("A"), timed("B")
    fa, fb = activity_fields(a), activity_fields(b)
    p = plan({a.id: mine(a, drives=False, attends=True), b.id: mine(b, drives=False,
                                                                  attends=True)},
             [event("r1", fa or {}, crm_id=a.id), event("r2", fb or {}, ical_uid="u2")],
             uids={"u2": b.id})
    assert sorted(aid for aid, _ in p.links) == sorted([a.id, b.id])
    assert p.imports == [] and p.creates == []


def test_a_cancelled_event_unlinks_and_clears_show_in_calendar_only_when_driven() -> None:
    a, b = timed("A"), timed("B")
    p = plan({a.id: mine(a), b.id: mine(b, drives=False, attends=True)},
             [event("ra", {}, cancelled=True), event("rb", {}, cancelled=True)],
             links={a.id: link(a, "ra"), b.id: link(b, "rb", organizer_self=False)})
    assert sorted(p.unlink) == sorted([(a.id, "cancelled in Google Calendar", True),
                                       (b.id, "cancelled in Google Calendar", False)])
    assert p.deletes == []


def test_a_deleted_or_hidden_activity_is_deleted_from_the_organizers_calendar_only() -> None:
    gone, hidden, attended = timed("gone"), timed("hidden", ), timed("att")
    hidden = hidden.evolve(show_in_calendar=False)
    p = plan({hidden.id: mine(hidden, drives=False), attended.id: mine(attended, drives=False)},
             [], links={gone.id: link(gone, "rg"), hidden.id: link(hidden, "rh"),
                        attended.id: link(attended, "rx", organizer_self=False)},
             existing={hidden.id, attended.id})
    assert sorted(p.deletes) == sorted([(gone.id, "rg", "deleted in crmtui"),
                                        (hidden.id, "rh", "Show in calendar cleared in crmtui")])
    assert p.drop == [(attended.id, "no longer in your calendar sync")]


def test_a_participants_edit_is_noted_not_pushed() -> None:
    a = timed("Budget")
    lk = link(a, "r1", organizer_self=False,
              synced=datetime(2026, 1, 1, tzinfo=UTC))
    edited = a.evolve(title="Budget 2", modified=datetime(2026, 2, 1, tzinfo=UTC))
    p = plan({a.id: mine(edited, drives=False, attends=True)}, [], links={a.id: lk})
    assert p.merges == [] and p.creates == []
    assert len(p.not_pushed) == 1 and "(title)" in p.not_pushed[0]


def test_a_driven_edit_is_merged_to_google() -> None:
    a = timed("Plan")
    edited = a.evolve(location="Room 2")
    p = plan({a.id: mine(edited)}, [], links={a.id: link(a, "r1")})
    [push] = p.merges
    assert push.to_remote == ["location"] and push.to_local == []
    assert push.merged["location"] == "Room 2"
