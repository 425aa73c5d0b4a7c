"""The activity form: a modal to create or edit an activity.

Times are typed and shown in the user's local time zone (its name is shown); an all-day activity
has dates only. Organizer and participants are picked by typing (:class:`Picker`). Saving builds
the :class:`Activity` through the model's validation; an error is shown beside its field.
The modal dismisses with the saved activity's id, or None when cancelled.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static, TextArea

from crmtui.model import (
    MAX_TITLE,
    Activity,
    ActivityStatus,
    ActivityType,
    Participant,
    ParticipantKind,
    Priority,
    ValidationError,
    clean_text,
    fold,
    parse_date,
)
from crmtui.screens.contact_form import conflict_notes, merge_theirs
from crmtui.screens.context import Services
from crmtui.screens.forms import EditForm
from crmtui.store.repository import ChangedMeanwhile, ContactQuery, NotFound, StoreError
from crmtui.widgets.picker import Choice, Picker

TYPE_LABELS = {ActivityType.TASK: "Task", ActivityType.CALL: "Call",
               ActivityType.MEETING: "Meeting", ActivityType.EMAIL: "Email"}
STATUS_LABELS = {ActivityStatus.NOT_STARTED: "Not started",
                 ActivityStatus.IN_PROGRESS: "In progress",
                 ActivityStatus.COMPLETED: "Completed", ActivityStatus.CANCELLED: "Cancelled"}
PRIORITY_LABELS = {Priority.LOW: "Low", Priority.MEDIUM: "Medium", Priority.HIGH: "High"}

ERROR_FIELDS = {"title": "title", "start": "start", "start_date": "start", "timezone": "start",
                "end": "end", "end_date": "end", "organizer_id": "organizer",
                "participants": "participants", "participant": "participants",
                "location": "location", "notes": "notes"}
"""The model's field names -> the form field whose error label shows the problem."""
FORM_FIELDS = ("title", "type", "status", "priority",
               ("start", "end", "all_day", "start_date", "end_date", "timezone"),
               "organizer_id", "participants", "location", "notes", "show_in_calendar")
"""The activity's fields the form edits (a start and its end are one)."""

_TIME_RE = re.compile(r"^(\d{1,2})[:.h](\d{2})$")


def local_zone() -> tuple[tzinfo, str]:
    """The local time zone and its name (IANA when it can be found: TZ, /etc/localtime)."""
    names = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.readlink("/etc/localtime")
        names.append(target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "")
    except OSError:
        pass
    try:
        names.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    for name in names:
        if name:
            try:
                return ZoneInfo(name), name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone, zone.tzname(None) or "local time"


class FormErrors(ValidationError):
    """Problems in several fields at once."""

    def __init__(self, errors: list[ValidationError]) -> None:
        super().__init__(errors[0].field, errors[0].problem)
        self.errors = errors


def parse_time(name: str, text: str) -> time:
    match = _TIME_RE.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(name, "is not a time (HH:MM, 24-hour)", text)
    return time(int(match[1]), int(match[2]))


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


def contact_key(contact_id: str) -> str:
    return f"contact:{contact_id}"


class People:
    """Choices for the organizer and participants pickers: users and contacts."""

    def __init__(self, services: Services) -> None:
        self.repo = services.repo
        self.viewer = services.user_id
        self.users = {u.id: u for u in self.repo.list_users()}
        self.user_contacts = {u.contact_id for u in self.users.values() if u.contact_id}

    def user_choice(self, user_id: str) -> Choice:
        user = self.users.get(user_id)
        if user is None:
            return Choice(user_key(user_id), "(unknown user)", "user")
        return Choice(user_key(user_id), user.name, f"user · {user.email}")

    def name_of(self, user_id: str) -> str:
        user = self.users.get(user_id)
        return user.name if user is not None else ""

    def participant_choices(self, participants: list[Participant]) -> list[Choice]:
        contact_ids = [p.ref_id for p in participants if p.kind is ParticipantKind.CONTACT]
        try:
            contacts = {c.id: c for c in self.repo.get_contacts(contact_ids, self.viewer)}
        except NotFound:
            contacts = {}
        out = []
        for p in participants:
            if p.kind is ParticipantKind.USER:
                out.append(self.user_choice(p.ref_id))
            else:
                c = contacts.get(p.ref_id)
                out.append(Choice(contact_key(p.ref_id), c.display_name if c else
                                  "(deleted contact)", f"contact · {c.primary_email}" if c
                                  else "contact"))
        return out

    def find_users(self, text: str) -> list[Choice]:
        words = fold(text).split()
        return [self.user_choice(u.id) for u in sorted(self.users.values(),
                                                       key=lambda u: fold(u.name))
                if all(w in fold(f"{u.name} {u.email}") for w in words)]

    def find_people(self, text: str) -> list[Choice]:
        found = self.find_users(text)
        ids = self.repo.contact_ids(ContactQuery(text=text, limit=Picker.LIMIT * 2), self.viewer)
        for c in self.repo.get_contacts(ids, self.viewer):
            if c.id not in self.user_contacts:
                email = c.primary_email
                found.append(Choice(contact_key(c.id), c.display_name,
                                    f"contact · {email}" if email else "contact"))
        return found


@dataclass(frozen=True, slots=True)
class Times:
    """The texts of the date and time inputs."""

    start_date: str
    start_time: str
    end_date: str
    end_time: str


def times_of(activity: Activity | None, zone: tzinfo) -> Times:
    if activity is None:
        return Times("", "", "", "")
    if activity.all_day:
        start = activity.start_date.isoformat() if activity.start_date else ""
        end = activity.end_date.isoformat() if activity.end_date else ""
        return Times(start, "", "" if end == start else end, "")
    start_at = activity.start.astimezone(zone) if activity.start else None
    end_at = activity.end.astimezone(zone) if activity.end else None
    return Times(start_at.date().isoformat() if start_at else "",
                 start_at.strftime("%H:%M") if start_at else "",
                 end_at.date().isoformat() if end_at else "",
                 end_at.strftime("%H:%M") if end_at else "")


class ActivityForm(EditForm):
    DISCARD_QUESTION = "Discard your changes to this activity?"

    """Create (``activity=None``) or edit an activity; dismisses with its id, None if cancelled."""

    DEFAULT_CSS = """
    ActivityForm { align: center middle; background: $background 60%; }
    ActivityForm > #form {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    ActivityForm #form-title { text-style: bold; margin-bottom: 1; }
    ActivityForm .row { height: auto; margin-bottom: 1; }
    ActivityForm .field-label { width: 14; padding-right: 1; text-align: right; color: $text-muted; }
    ActivityForm .field { width: 1fr; height: auto; }
    ActivityForm .pair { height: auto; }
    ActivityForm .pair > Input { width: 14; margin-right: 2; }
    ActivityForm .pair > Select { width: 18; margin-right: 2; }
    ActivityForm .pair > .hint { color: $text-muted; width: auto; margin-right: 1; }
    ActivityForm .error { color: $error; display: none; width: 1fr; height: auto; }
    ActivityForm .error.-shown { display: block; }
    ActivityForm #notes { height: 3; }
    ActivityForm #recurrence { color: $text-muted; }
    ActivityForm #buttons { height: auto; align-horizontal: right; }
    ActivityForm #buttons > Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "save", "Save", id="activity_form.save"),
        Binding("escape", "cancel", "Cancel", id="activity_form.cancel"),
    ]

    def __init__(self, services: Services, activity: Activity | None = None) -> None:
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.activity = activity
        self.base = activity  # the stored version the form is based on (its ``modified``)
        self.zone, self.zone_name = local_zone()
        self.people = People(services)
        if activity is None:  # a new one: the next full hour, for an hour
            start = (services.now().astimezone(self.zone) + timedelta(hours=1)).replace(
                minute=0, second=0, microsecond=0)
            self.initial_times = Times(start.date().isoformat(), start.strftime("%H:%M"),
                                       start.date().isoformat(),
                                       (start + timedelta(hours=1)).strftime("%H:%M"))
        else:
            self.initial_times = times_of(activity, self.zone)
        self._initial_state: tuple[Any, ...] | None = None
        self.saved_id: str | None = None

    # -- layout -----------------------------------------------------------------------------------

    def _row(self, label: str, *widgets: Any, error: str = "") -> Horizontal:
        field = Vertical(*widgets, *([Label("", id=f"{error}-error", classes="error")]
                                     if error else []), classes="field")
        return Horizontal(Label(label, classes="field-label"), field, classes="row")

    def compose(self) -> ComposeResult:
        a = self.activity
        t = self.initial_times
        organizer = a.organizer_id if a is not None else self.services.user_id
        with VerticalScroll(id="form"):
            yield Static("New activity" if a is None else "Edit activity", id="form-title")
            yield self._row("Title", Input(a.title if a else "", id="title", compact=True,
                                           select_on_focus=False,
                                           placeholder="what is it about"), error="title")
            yield self._row("Type", Horizontal(
                Select([(v, k) for k, v in TYPE_LABELS.items()], allow_blank=False,
                       value=a.type if a else ActivityType.MEETING, id="type", compact=True),
                Label("Status", classes="hint"),
                Select([(v, k) for k, v in STATUS_LABELS.items()], allow_blank=False,
                       value=a.status if a else ActivityStatus.NOT_STARTED, id="status",
                       compact=True),
                Label("Priority", classes="hint"),
                Select([(v, k) for k, v in PRIORITY_LABELS.items()], allow_blank=False,
                       value=a.priority if a else Priority.MEDIUM, id="priority", compact=True),
                classes="pair"))
            yield self._row("", Checkbox("All day", a.all_day if a else False, id="all-day",
                                         compact=True))
            yield self._row("Start", Horizontal(
                Input(t.start_date, placeholder="YYYY-MM-DD", id="start-date", compact=True),
                Input(t.start_time, placeholder="HH:MM", id="start-time", compact=True),
                Label(f"time zone {self.zone_name}", classes="hint", id="zone"),
                classes="pair"), error="start")
            yield self._row("End", Horizontal(
                Input(t.end_date, placeholder="YYYY-MM-DD", id="end-date", compact=True),
                Input(t.end_time, placeholder="HH:MM", id="end-time", compact=True),
                classes="pair"), error="end")
            if a is not None and a.recurrence:
                yield self._row("Repeats", Static("\n".join(a.recurrence), id="recurrence"))
            yield self._row("Organizer", Picker(
                self.people.find_users, multiple=False, id="organizer",
                picked=[self.people.user_choice(organizer)] if organizer else [],
                placeholder="type a user's name or email"), error="organizer")
            yield self._row("Participants", Picker(
                self.people.find_people, id="participants",
                picked=self.people.participant_choices(a.participants) if a else [],
                placeholder="type a user's or a contact's name or email, Enter adds"),
                error="participants")
            yield self._row("Location", Input(a.location if a else "", id="location",
                                              compact=True), error="location")
            yield self._row("Notes", TextArea(a.notes if a else "", id="notes", compact=True),
                            error="notes")
            yield self._row("", Checkbox("Show in calendar", a.show_in_calendar if a else False,
                                         id="show-in-calendar", compact=True))
            yield Label("", id="form-error", classes="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield Footer()  # the modal's keys, not the screen's underneath

    def on_mount(self) -> None:
        self._sync_all_day()
        self._initial_state = self.state()
        self.query_one("#title", Input).focus()

    # -- state ------------------------------------------------------------------------------------

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def current_times(self) -> Times:
        return Times(self._value("#start-date"), self._value("#start-time"),
                     self._value("#end-date"), self._value("#end-time"))

    def state(self) -> tuple[Any, ...]:
        """Everything the user can change (to ask before discarding changes)."""
        return (self._value("#title"), self.query_one("#type", Select).value,
                self.query_one("#status", Select).value,
                self.query_one("#priority", Select).value,
                self.query_one("#all-day", Checkbox).value, self.current_times(),
                tuple(self.query_one("#organizer", Picker).keys),
                tuple(self.query_one("#participants", Picker).keys),
                self._value("#location"), self.query_one("#notes", TextArea).text,
                self.query_one("#show-in-calendar", Checkbox).value)

    @property
    def changed(self) -> bool:
        return self._initial_state is not None and self.state() != self._initial_state

    @on(Checkbox.Changed, "#all-day")
    def _sync_all_day(self) -> None:
        all_day = self.query_one("#all-day", Checkbox).value
        for selector in ("#start-time", "#end-time"):
            self.query_one(selector, Input).disabled = all_day
        planned = self.activity.timezone if self.activity is not None else ""
        elsewhere = f" (planned in {planned})" if planned and planned != self.zone_name else ""
        self.query_one("#zone", Label).update(
            "dates, inclusive" if all_day else f"time zone {self.zone_name}{elsewhere}")

    # -- building ---------------------------------------------------------------------------------

    def _moment(self, name: str, day: str, clock: str, default_day: str = "") -> datetime | None:
        day, clock = day.strip(), clock.strip()
        if not day and not clock:
            return None
        if not day:
            day = default_day
            if not day:
                raise ValidationError(name, "needs a date (YYYY-MM-DD)")
        if not clock:
            raise ValidationError(name, "needs a time (HH:MM)")
        when = datetime.combine(parse_date(f"{name}_date", day), parse_time(name, clock))
        return when.replace(tzinfo=self.zone)

    def build(self) -> Activity:
        """The activity the form describes (raises ValidationError naming the field; several
        fields' problems at once as :class:`FormErrors`)."""
        errors = []
        try:
            clean_text("title", self._value("#title"), MAX_TITLE, required=True)
        except ValidationError as exc:
            errors.append(exc)
        if not self.query_one("#organizer", Picker).keys:
            typed = self.query_one("#organizer", Picker).input.value.strip()
            errors.append(ValidationError("organizer_id", (
                f"no user matches “{typed}”: pick one from the suggestions" if typed else
                "an activity always has an organizer: type a user's name and pick one")))
        try:
            activity = self._build()
        except ValidationError as exc:
            if exc.field != "organizer_id":
                errors.append(exc)
        if len(errors) > 1:
            raise FormErrors(errors)
        if errors:
            raise errors[0]
        return activity

    def _build(self) -> Activity:
        a = self.activity
        t = self.current_times()
        all_day = self.query_one("#all-day", Checkbox).value
        values: dict[str, Any] = {
            "title": self._value("#title"),
            "type": self.query_one("#type", Select).value,
            "status": self.query_one("#status", Select).value,
            "priority": self.query_one("#priority", Select).value,
            "location": self._value("#location"),
            "notes": self.query_one("#notes", TextArea).text,
            "show_in_calendar": self.query_one("#show-in-calendar", Checkbox).value,
            "all_day": all_day,
        }
        unchanged = a is not None and all_day == a.all_day and t == self.initial_times
        if unchanged and a is not None:
            values.update(start=a.start, end=a.end, start_date=a.start_date,
                          end_date=a.end_date)
        elif all_day:
            if not t.start_date.strip():
                raise ValidationError("start_date", "an all-day activity needs a date")
            start_day = parse_date("start_date", t.start_date)
            end_day = parse_date("end_date", t.end_date) if t.end_date.strip() else start_day
            if end_day < start_day:
                raise ValidationError("end_date", "is before the start date")
            values.update(start=None, end=None, start_date=start_day, end_date=end_day)
        else:
            start = self._moment("start", t.start_date, t.start_time)
            end = self._moment("end", t.end_date, t.end_time, default_day=t.start_date.strip())
            if end is not None and start is None:
                raise ValidationError("start", "an activity with an end needs a start")
            if start is not None and end is not None and end < start:
                raise ValidationError("end", "is before the start")
            values.update(start=start, end=end, start_date=None, end_date=None)
            if a is None or not a.timezone:
                values["timezone"] = self.zone_name if _is_iana(self.zone_name) else ""
        organizer = self.query_one("#organizer", Picker).keys
        values["organizer_id"] = organizer[0].split(":", 1)[1] if organizer else ""
        previous = {(p.kind.value, p.ref_id): p for p in a.participants} if a else {}
        participants = []
        for key in self.query_one("#participants", Picker).keys:
            kind, ref = key.split(":", 1)
            participants.append(previous.get((kind, ref)) or Participant(ParticipantKind(kind),
                                                                         ref))
        values["participants"] = participants
        if a is None:
            return Activity(owner_id=self.services.user_id, **values)
        return a.evolve(**values)

    def show_error(self, error: ValidationError | None) -> None:
        """Show the problem(s) beside their fields (None: clear them)."""
        for label in self.query(".error").results(Label):
            label.update("")
            label.remove_class("-shown")
        for one in (error.errors if isinstance(error, FormErrors) else
                    [error] if error is not None else []):
            target = ERROR_FIELDS.get(one.field, "form")
            label = self.query_one(f"#{target}-error", Label)
            if not label.has_class("-shown"):  # the first problem of a field
                label.update(one.problem if target != "form" else str(one))
                label.add_class("-shown")

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Picker.Changed)
    def recheck(self) -> None:
        """After a refused save, an error goes as soon as its field is right (new ones wait
        for the next save)."""
        if getattr(self, "conflict_shown", False):
            return  # someone else's values are shown until the next save
        shown = [label for label in self.query(".error").results(Label)
                 if label.has_class("-shown")]
        if not shown:
            return
        try:
            self.build()
        except ValidationError as exc:
            self.show_error(exc)
        else:
            self.show_error(None)
        for label in self.query(".error").results(Label):
            if label.has_class("-shown") and label not in shown:
                label.update("")
                label.remove_class("-shown")

    # -- actions ----------------------------------------------------------------------------------

    def action_save(self) -> None:
        self.conflict_shown = False
        try:
            activity = self.build()
        except ValidationError as exc:
            self.show_error(exc)
            return
        self.show_error(None)
        try:
            if self.activity is None:
                saved = self.repo.add_activity(activity)
            else:
                assert self.base is not None
                saved = self.repo.update_activity(
                    activity.evolve(modified_by=self.services.user_id or activity.modified_by),
                    expected=self.base.modified)
        except ChangedMeanwhile as exc:
            self.call_later(self.take_theirs, exc, activity)
            return
        except StoreError as exc:
            label = self.query_one("#form-error", Label)
            label.update(f"Cannot save: {exc}")
            label.add_class("-shown")
            return
        self.saved_id = saved.id
        self.dismiss(saved.id)

    async def take_theirs(self, exc: ChangedMeanwhile, mine: Activity) -> None:
        """Someone saved the activity since the form read it: as the contact form does, the
        form takes their values where only they changed something and shows theirs beside
        mine where both did; saving again saves what the form shows over their version."""
        self.conflict_shown = True
        assert self.base is not None and isinstance(exc.current, Activity)
        theirs = exc.current
        values, both = merge_theirs(self.base, mine, theirs, FORM_FIELDS)
        self.base = theirs
        try:
            self.activity = theirs.evolve(**values)
        except ValidationError:  # my times do not fit their other changes: theirs
            self.activity, both = theirs, []
        self.initial_times = times_of(self.activity, self.zone)
        await self.recompose()
        self._sync_all_day()
        notes = conflict_notes(exc, both, lambda name: ERROR_FIELDS.get(name, "form"))
        for target, text in notes.items():
            label = self.query_one(f"#{target}-error", Label)
            label.update(text)
            label.add_class("-shown")

    @on(Input.Submitted, "#title, #location, #start-date, #start-time, #end-date, #end-time")
    def _submitted(self) -> None:
        self.action_save()


def _is_iana(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"

