"""``crmtui activities``: tasks, calls, meetings and emails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from crmtui.cli.activity_times import new_times, parse_moment, recurrence_line, time_zone, when
from crmtui.cli.output import (
    Decorator,
    compose,
    emit_json,
    fail,
    json_option,
    option_errors,
    plural,
    print_fields,
    print_table,
    short,
    shown_time,
)
from crmtui.cli.root import cli
from crmtui.cli.session import (
    Session,
    confirm_delete,
    find_user_option,
    local_zone,
    pass_session,
    resolve_activities,
    resolve_activity,
    resolve_contact,
)
from crmtui.model import (
    Activity,
    ActivityStatus,
    ActivityType,
    Participant,
    ParticipantKind,
    Priority,
    ValidationError,
    check_zone,
    parse_date,
)
from crmtui.store import ActivityQuery, ChangedMeanwhile, NotFound, Repository

ACTIVITY_OPTIONS = {
    "title": "--title", "type": "--type", "start": "--start", "end": "--end",
    "timezone": "--tz", "start_date": "--date", "end_date": "--end-date", "status": "--status",
    "priority": "--priority", "location": "--location", "notes": "--notes",
    "participants": "--participant", "participant": "--participant", "recurrence": "--rrule",
}
def resolve_participant(repo: Repository, option: str, text: str, viewer_id: str
                        ) -> Participant:
    """A user (by email), else a contact (by email, or by id)."""
    text = text.strip()
    if "@" not in text:
        return Participant(ParticipantKind.CONTACT,
                           resolve_contact(repo, text, viewer_id, option))
    user = repo.find_user(text)
    if user is not None:
        return Participant(ParticipantKind.USER, user.id)
    found = repo.contacts_with_email(text)
    if len(found) > 1:
        fail(f"{option}: {len(found)} contacts have the email {text}; give the contact's id "
             f"instead ({', '.join(short(c.id) for c in found)})")
    if not found:
        fail(f"{option}: no user or contact has the email {text}; add the contact first "
             f"(`crmtui contacts add --email {text}`)")
    return Participant(ParticipantKind.CONTACT, found[0].id)


def activity_common_options(edit: bool) -> Decorator:
    """The options ``activities add`` and ``activities edit`` share."""
    start_help = "New start" if edit else "Start"
    zone_default = "the activity's zone, else the local zone" if edit else "the local zone"
    return compose(
        click.option("--type", "type_", type=click.Choice([t.value for t in ActivityType]),
                     help="Type" + ("." if edit else " (default: task).")),
        click.option("--start", metavar="ISO", help=f"{start_help}, e.g. 2026-11-24T10:00 (without an "
                     "offset: in --tz)."),
        click.option("--end", metavar="ISO", help="End, like --start."),
        click.option("--tz", metavar="ZONE", help="IANA time zone of --start/--end, e.g. "
                     f"Europe/Paris (default: {zone_default})."),
        click.option("--date", "date_", metavar="DATE", help="All-day: the (first) date, "
                     "YYYY-MM-DD."),
        click.option("--end-date", metavar="DATE", help="All-day: the last date (inclusive)."),
        click.option("--status", type=click.Choice([s.value for s in ActivityStatus]),
                     help="Status" + ("." if edit else " (default: not_started).")),
        click.option("--priority", type=click.Choice([p.value for p in Priority]),
                     help="Priority" + ("." if edit else " (default: medium).")),
        click.option("--location", help="Location."),
        click.option("--notes", help="Notes (free text)."),
        click.option("--organizer", metavar="EMAIL", help="The organizing user" + (
            "." if edit else " (default: the current user).")),
        click.option("--show-in-calendar/--no-show-in-calendar", default=None,
                     help="Whether the activity goes to the calendar" + (
                         "." if edit else " (default: no).")),
        click.option("--rrule", metavar="RULE", help="Recurrence rule, e.g. "
                     "'FREQ=WEEKLY;BYDAY=MO' (RRULE: is added)."),
    )


@cli.group()
def activities() -> None:
    """Activities: tasks, calls, meetings and emails."""


@activities.command("add")
@click.option("--title", required=True, help="Title.")
@activity_common_options(edit=False)
@click.option("--all-day", is_flag=True, help="An all-day activity (give --date).")
@click.option("--participant", "participants", multiple=True, metavar="EMAIL_OR_CONTACT_ID",
              help="A user or contact email, or a contact id. Repeatable.")
@json_option
@pass_session
def activities_add(session: Session, title: str, type_: str | None, start: str | None,
                   end: str | None, tz: str | None, date_: str | None, end_date: str | None,
                   status: str | None, priority: str | None, location: str | None,
                   notes: str | None, organizer: str | None, show_in_calendar: bool | None,
                   rrule: str | None, all_day: bool, participants: tuple[str, ...],
                   as_json: bool) -> None:
    """Add an activity, owned by the current user.

    Timed: --start [--end] [--tz]. All-day: --date [--end-date].
    """
    repo, user = session.repo, session.user()
    zone = check_zone("--tz", tz or "")
    naive_zone = zone or local_zone()
    start_dt, start_naive = parse_moment("--start", start, naive_zone) if start else (None, False)
    end_dt, end_naive = parse_moment("--end", end, naive_zone) if end else (None, False)
    values: dict[str, Any] = {
        "title": title, "type": type_, "start": start_dt, "end": end_dt,
        "timezone": zone or (naive_zone if start_naive or end_naive else ""),
        "all_day": all_day or date_ is not None, "start_date": date_, "end_date": end_date,
        "status": status, "priority": priority, "location": location, "notes": notes,
        "show_in_calendar": show_in_calendar,
        "organizer_id": (find_user_option(repo, "--organizer", organizer) if organizer
                         else user).id,
        "participants": [resolve_participant(repo, "--participant", p, user.id)
                         for p in participants],
        "recurrence": [recurrence_line(rrule)] if rrule else [],
    }
    with option_errors(ACTIVITY_OPTIONS):
        activity = Activity(owner_id=user.id,
                            **{k: v for k, v in values.items() if v is not None})
    repo.add_activity(activity)
    if as_json:
        emit_json(activity.to_dict())
    else:
        click.echo(f"Added the {activity.type.value} {activity.title!r} "
                   f"({when(activity) or 'no date'}; id {short(activity.id)}).")


@activities.command("list")
@click.option("--from", "from_", metavar="DATE", help="Starting on or after this date.")
@click.option("--to", metavar="DATE", help="Starting on or before this date.")
@click.option("--user", "user_email", metavar="EMAIL",
              help="Organized by this user or with them taking part (default: the current "
                   "user).")
@click.option("--all", "everyone", is_flag=True, help="Every user's activities.")
@click.option("--calendar/--no-calendar", default=None,
              help="Only activities shown (or not shown) in the calendar.")
@click.option("--type", "type_", type=click.Choice([t.value for t in ActivityType]),
              help="Only activities of this type.")
@click.option("--search", default="", metavar="TEXT",
              help="Every word must occur in the title, location or notes.")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many.")
@json_option
@pass_session
def activities_list(session: Session, from_: str | None, to: str | None, user_email: str | None,
                    everyone: bool, calendar: bool | None, type_: str | None, search: str,
                    limit: int | None, as_json: bool) -> None:
    """List activities sorted by start, past and upcoming (default: the current user's)."""
    if everyone and user_email:
        raise click.UsageError("give --user or --all, not both")
    repo = session.repo
    if everyone:
        user_id = None
    elif user_email:
        user_id = find_user_option(repo, "--user", user_email).id
    else:
        user_id = session.user().id
    start_from = parse_date("--from", from_) if from_ else None
    last = parse_date("--to", to) if to else None
    if start_from and last and last < start_from:
        raise ValidationError("--to", "is before --from", to)
    query = ActivityQuery(start_from=start_from,
                          start_to=last + timedelta(days=1) if last else None,
                          user_id=user_id, show_in_calendar=calendar,
                          type=ActivityType(type_) if type_ else None, text=search, limit=limit)
    found = repo.find_activities(query)
    if as_json:
        emit_json([a.to_dict() for a in found])
        return
    if not found:
        click.echo("No activities.")
        return
    names = {u.id: u.name for u in repo.list_users()}
    print_table(["WHEN", "ZONE", "TYPE", "TITLE", "STATUS", "CALENDAR", "ORGANIZER", "ID"],
                [[when(a), time_zone(a), a.type.value, a.title, a.status.value,
                  "yes" if a.show_in_calendar else "", names.get(a.organizer_id, ""), short(a.id)]
                 for a in found])


def participant_label(repo: Repository, participant: Participant, viewer_id: str) -> str:
    try:
        if participant.kind is ParticipantKind.USER:
            user = repo.get_user(participant.ref_id)
            label = f"{user.name} <{user.email}> (user)"
        else:
            contact = repo.get_contact(participant.ref_id, viewer_id)
            email = f" <{contact.primary_email}>" if contact.primary_email else ""
            label = f"{contact.display_name}{email} (contact {short(contact.id)})"
    except NotFound:
        label = f"(deleted {participant.kind.value} {participant.ref_id})"
    return f"{label}: {participant.response.value}"


@activities.command("show")
@click.argument("activity_id", metavar="ID")
@json_option
@pass_session
def activities_show(session: Session, activity_id: str, as_json: bool) -> None:
    """Show every field of an activity."""
    repo, viewer = session.repo, session.user().id
    activity = repo.get_activity(resolve_activity(repo, activity_id))
    if as_json:
        emit_json(activity.to_dict())
        return
    users_by_id = {u.id: u for u in repo.list_users()}
    organizer = users_by_id.get(activity.organizer_id)
    owner = users_by_id.get(activity.owner_id)
    print_fields(activity.title, [
        ("id", activity.id),
        ("type", activity.type.value),
        ("when", when(activity)),
        ("time zone", activity.timezone if not activity.all_day else ""),
        ("status", activity.status.value),
        ("priority", activity.priority.value),
        ("location", activity.location),
        ("organizer", f"{organizer.name} <{organizer.email}>" if organizer else ""),
        ("participants", "\n".join(participant_label(repo, p, viewer)
                                   for p in activity.participants)),
        ("calendar", "shown in calendar" if activity.show_in_calendar else "not in calendar"),
        ("recurrence", "\n".join(activity.recurrence)),
        ("series", activity.series_id),
        ("owner", owner.name if owner else ""),
        ("created", shown_time(activity.created)),
        ("modified", shown_time(activity.modified)),
        ("notes", activity.notes),
    ])


def _set_or_clear(changes: dict[str, Any], name: str, value: Any, clear: bool,
                  empty: Any = "") -> None:
    if value is not None and clear:
        option = ACTIVITY_OPTIONS.get(name, f"--{name}")
        raise click.UsageError(f"give {option} or --clear-{option[2:]}, not both")
    if value is not None:
        changes[name] = value
    elif clear:
        changes[name] = empty


@activities.command("edit")
@click.argument("activity_id", metavar="ID")
@click.option("--title", help="New title.")
@activity_common_options(edit=True)
@click.option("--add-participant", multiple=True, metavar="EMAIL_OR_CONTACT_ID",
              help="A user or contact email, or a contact id. Repeatable.")
@click.option("--remove-participant", multiple=True, metavar="EMAIL_OR_CONTACT_ID",
              help="Repeatable.")
@click.option("--clear-end", is_flag=True, help="Remove the end (all-day: end on the start "
                                                 "date).")
@click.option("--clear-location", is_flag=True, help="Clear the location.")
@click.option("--clear-notes", is_flag=True, help="Clear the notes.")
@click.option("--clear-rrule", is_flag=True, help="Remove the recurrence.")
@json_option
@pass_session
def activities_edit(session: Session, activity_id: str, title: str | None, type_: str | None,
                    start: str | None, end: str | None, tz: str | None, date_: str | None,
                    end_date: str | None, status: str | None, priority: str | None,
                    location: str | None, notes: str | None, organizer: str | None,
                    show_in_calendar: bool | None, rrule: str | None,
                    add_participant: tuple[str, ...], remove_participant: tuple[str, ...],
                    clear_end: bool, clear_location: bool, clear_notes: bool, clear_rrule: bool,
                    as_json: bool) -> None:
    """Change an activity: only the fields given change.

    Giving --date makes it all-day, giving --start makes it timed; moving the start keeps its
    length unless --end (or --end-date) is given.
    """
    repo, viewer = session.repo, session.user().id
    activity = repo.get_activity(resolve_activity(repo, activity_id))
    changes = new_times(activity, start, end, tz, date_, end_date, clear_end)
    for name, value in (("title", title), ("type", type_), ("status", status),
                        ("priority", priority), ("show_in_calendar", show_in_calendar)):
        if value is not None:
            changes[name] = value
    _set_or_clear(changes, "location", location, clear_location)
    _set_or_clear(changes, "notes", notes, clear_notes)
    _set_or_clear(changes, "recurrence", [recurrence_line(rrule)] if rrule else None, clear_rrule,
                  empty=[])
    if organizer is not None:
        changes["organizer_id"] = find_user_option(repo, "--organizer", organizer).id
    if add_participant or remove_participant:
        people = list(activity.participants)
        for text in remove_participant:
            gone = resolve_participant(repo, "--remove-participant", text, viewer)
            kept = [p for p in people if (p.kind, p.ref_id) != (gone.kind, gone.ref_id)]
            if len(kept) == len(people):
                fail(f"--remove-participant: {text} does not take part in the activity")
            people = kept
        people += [resolve_participant(repo, "--add-participant", text, viewer)
                   for text in add_participant]
        changes["participants"] = people
    if not changes:
        raise click.UsageError("nothing to change: give at least one option "
                               "(see `crmtui activities edit --help`)")
    with option_errors({**ACTIVITY_OPTIONS, "participants": "--add-participant"}):
        updated = activity.evolve(**changes)
    try:
        updated = repo.update_activity(updated.evolve(modified_by=viewer),
                                       expected=activity.modified)
    except ChangedMeanwhile as exc:
        fail(f"not saved: the activity was {exc} while this command ran; run it again to "
             "apply your change to their version")
    if as_json:
        emit_json(updated.to_dict())
    else:
        click.echo(f"Updated the {updated.type.value} {updated.title!r} "
                   f"({when(updated) or 'no date'}; id {short(updated.id)}).")


@activities.command("delete")
@click.argument("activity_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_session
def activities_delete(session: Session, activity_ids: tuple[str, ...], yes: bool,
                      as_json: bool) -> None:
    """Delete activities."""
    repo = session.repo
    session.user()  # like every activity command, this needs a valid current user
    ids = resolve_activities(repo, activity_ids)
    labels = [f"{a.title} ({when(a) or 'no date'}, {short(a.id)})"
              for a in (repo.get_activity(i) for i in ids)]
    confirm_delete(plural(len(ids), "activities"), labels, yes)
    with repo.transaction():
        for aid in ids:
            repo.delete_activity(aid)
    if as_json:
        emit_json({"deleted": ids})
    else:
        click.echo(f"Deleted {plural(len(ids), 'activities')}.")
