"""Sync settings: automatic sync of contacts and activities and their periods, the private tag
whose contacts go to Google, the Google group name, and the date activities sync from.

The model validates (:class:`~crmtui.model.SyncSettings`); every error shows under its field.
The screen also shows the latest sync session of each kind and the linked Google account.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static

from crmtui.model import (
    SYNC_PERIODS,
    AccountState,
    SyncKind,
    SyncSettings,
    ValidationError,
)
from crmtui.screens.context import Command, Services, sync_commands
from crmtui.screens.first_run import FirstRunSteps
from crmtui.screens.forms import error_label, show_error
from crmtui.screens.sync_bar import KIND_LABEL, SyncBar
from crmtui.sync.settings import SyncSettingsService

PERIOD_OPTIONS = [(f"every {n} minute{'s' if n > 1 else ''}", n) for n in SYNC_PERIODS]
NO_TAG = ""
FIELDS = ("contacts_period", "contacts_tag_id", "contacts_group_name", "activities_period",
          "activities_from", "activities_calendar", "activities_send_updates")
SEND_UPDATE_OPTIONS = [("nobody", "none"), ("guests outside my domain", "external"),
                       ("every guest", "all")]
"""The form's fields, each with an error label ``#error-<field>``."""


def _message(exc: ValidationError) -> str:
    """The problem as a sentence: "Synchronize from is not a date (YYYY-MM-DD)"."""
    names = {"contacts_group_name": "The Google group name", "activities_from": "The date",
             "contacts_period": "The period", "activities_period": "The period",
             "contacts_tag_id": "The tag", "activities_calendar": "The calendar",
             "activities_send_updates": "Whom to e-mail"}
    return f"{names.get(exc.field, exc.field.replace('_', ' '))} {exc.problem}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


class SyncSettingsScreen(Screen[None]):
    """The user's sync settings, the latest sync sessions and the linked account."""

    DEFAULT_CSS = """
    SyncSettingsScreen #settings-columns { height: 1fr; }
    SyncSettingsScreen #settings-body { width: 1fr; padding: 0 1 0 2; }
    SyncSettingsScreen #settings-info {
        width: 40; padding: 0 1; border-left: solid $primary-darken-2;
    }
    SyncSettingsScreen .settings-heading { text-style: bold; margin-top: 1; }
    SyncSettingsScreen #settings-info Static { margin-bottom: 1; }
    SyncSettingsScreen .field-label { margin-top: 1; }
    SyncSettingsScreen .hint { color: $text-muted; padding: 0 0 0 2; width: 1fr; height: auto; }
    SyncSettingsScreen .error { color: $error; height: auto; width: 1fr; }
    SyncSettingsScreen Horizontal.row { height: auto; }
    SyncSettingsScreen Checkbox { width: 46; }
    SyncSettingsScreen Select { width: 28; }
    SyncSettingsScreen #contacts-tag { width: 40; }
    SyncSettingsScreen Input { width: 40; }
    SyncSettingsScreen #save { margin-top: 1; }
    SyncSettingsScreen #settings-status { padding: 2 0 0 2; }
    /* Narrow terminals (80 columns): one scrolling page, the sessions and the account under
       the form; each checkbox keeps its period beside it, and hints go under their field. */
    SyncSettingsScreen.-narrow #settings-columns { layout: vertical; overflow-y: auto; }
    SyncSettingsScreen.-narrow #settings-body { height: auto; padding: 0 1; overflow-y: hidden; }
    SyncSettingsScreen.-narrow #settings-info {
        width: 1fr; height: auto; padding: 0 1; margin-top: 1;
        border-left: none; border-top: solid $primary-darken-2;
    }
    SyncSettingsScreen.-narrow #settings-info .settings-heading { margin-top: 0; }
    SyncSettingsScreen.-narrow #settings-info Static { margin-bottom: 0; }
    SyncSettingsScreen.-narrow Checkbox { width: 1fr; min-width: 24; }
    SyncSettingsScreen.-narrow Select { width: 26; }
    SyncSettingsScreen.-narrow #contacts-tag, SyncSettingsScreen.-narrow Input { width: 1fr; }
    SyncSettingsScreen.-narrow Horizontal.row.-hinted { layout: vertical; }
    SyncSettingsScreen.-narrow Horizontal.row.-hinted .hint { padding: 0 0 0 1; }
    """

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "save", "Save", id="settings.save"),
        Binding("escape", "leave_field", "Leave the field", show=False,
                id="settings.leave_field"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        settings = self.services.repo.get_sync_settings(self.services.user_id)
        yield Header()
        with Horizontal(id="settings-columns"):
            with VerticalScroll(id="settings-body"):
                yield Static("Contacts", classes="settings-heading")
                with Horizontal(classes="row"):
                    yield Checkbox("Synchronize contacts automatically", settings.contacts_auto,
                                   id="contacts-auto")
                    yield Select(PERIOD_OPTIONS, value=settings.contacts_period,
                                 allow_blank=False, id="contacts-period")
                yield error_label("contacts_period")
                yield Label("Send all contacts with a tag from crmtui to Google",
                            classes="field-label")
                with Horizontal(classes="row -hinted"):
                    yield Select(self.tag_options(),
                                 value=self.tag_value(settings.contacts_tag_id),
                                 allow_blank=False, id="contacts-tag")
                    yield Label("Only your private tags are offered.", classes="hint")
                yield error_label("contacts_tag_id")
                yield Label("Google group name", classes="field-label")
                yield Input(settings.contacts_group_name, id="group-name",
                            placeholder="the contact group in Google")
                yield error_label("contacts_group_name")
                yield Static("Activities", classes="settings-heading")
                with Horizontal(classes="row"):
                    yield Checkbox("Synchronize activities automatically",
                                   settings.activities_auto, id="activities-auto")
                    yield Select(PERIOD_OPTIONS, value=settings.activities_period,
                                 allow_blank=False, id="activities-period")
                yield error_label("activities_period")
                yield Label("Synchronize from", classes="field-label")
                with Horizontal(classes="row -hinted"):
                    yield Input(settings.activities_from.isoformat()
                                if settings.activities_from else "",
                                id="activities-from", placeholder="YYYY-MM-DD or today")
                    yield Label("YYYY-MM-DD or \"today\".\nEmpty: activities are not "
                                "synchronized.", classes="hint")
                yield error_label("activities_from")
                yield Label("Google calendar (its id)", classes="field-label")
                with Horizontal(classes="row -hinted"):
                    yield Input(settings.activities_calendar, id="activities-calendar",
                                placeholder="primary")
                    yield Label("\"primary\": your own calendar.", classes="hint")
                yield error_label("activities_calendar")
                yield Label("Changes crmtui makes to events e-mail", classes="field-label")
                yield Select(SEND_UPDATE_OPTIONS, value=settings.activities_send_updates,
                             allow_blank=False, id="activities-send-updates")
                yield error_label("activities_send_updates")
                with Horizontal(classes="row"):
                    yield Button("Save (F2)", id="save", variant="primary")
                    yield Label("", id="settings-status")
            with Vertical(id="settings-info"):
                yield FirstRunSteps(self.services, compact=True)
                yield Static("Latest sync sessions", classes="settings-heading")
                yield Static("", id="latest-contacts")
                yield Static("", id="latest-activities")
                yield Static("Google account", classes="settings-heading")
                yield Static("", id="google-account")
        yield SyncBar(self.services)
        yield Footer()

    def on_mount(self) -> None:
        self.show_status()
        self.query_one("#contacts-auto", Checkbox).focus()

    # -- data -------------------------------------------------------------------------------

    def private_tags(self) -> list[tuple[str, str]]:
        """The user's own private tags as ``(name, id)``, by name."""
        tags = SyncSettingsService(self.services.repo).tag_choices(self.services.user_id)
        return [(t.name, t.id) for t in tags]

    def tag_options(self) -> list[tuple[str, str]]:
        return [("No tag: contacts are not sent", NO_TAG), *self.private_tags()]

    def tag_value(self, tag_id: str) -> str:
        return tag_id if tag_id in {tid for _, tid in self.private_tags()} else NO_TAG

    def commands(self) -> list[Command]:
        return [Command("settings", "save", "save", "Save the sync settings", menu="Save"),
                *sync_commands("contacts"), *sync_commands("activities")]

    def refresh_data(self) -> None:
        """Another process or a sync wrote: the sessions and the account change; the form
        keeps what is being typed, only the tag list follows the tags."""
        tags = self.query_one("#contacts-tag", Select)
        current = tags.value
        tags.set_options(self.tag_options())
        tags.value = current if current in {tid for _, tid in self.private_tags()} else NO_TAG
        self.show_status()

    def show_status(self) -> None:
        repo, user_id = self.services.repo, self.services.user_id
        for kind in SyncKind:
            text = Text()
            text.append(f"{KIND_LABEL[kind]}: ", style="bold")
            runs = repo.list_runs(user_id, kind, limit=1)
            last = self.services.status(kind).last_run
            if runs:
                run = runs[0]
                style = {"ok": "green", "failed": "red", "stopped": "yellow"}.get(run.status, "")
                text.append(f"{_stamp(run.started)} ")
                text.append(run.status, style=style)
                if run.errors:
                    text.append(f" ({run.errors[0]})", style="red")
            else:
                text.append("no sync session yet", style="italic")
            if last:
                text.append(f" · last successful sync {_stamp(last)}")
            self.query_one(f"#latest-{kind.value}", Static).update(text)
        accounts = repo.list_accounts(user_id)
        account = self.query_one("#google-account", Static)
        if not accounts:
            account.update(Text("No Google account is linked: press 3 for Profile → Accounts "
                                "in external resources to link one.", style="yellow"))
            return
        lines = Text()
        for i, acc in enumerate(accounts):
            if i:
                lines.append("\n")
            lines.append(acc.email, style="bold")
            if acc.state is AccountState.CONNECTED:
                lines.append(" (connected)", style="green")
            else:
                lines.append(" (needs reconnect: press 3 for Accounts, then r)", style="yellow")
        account.update(lines)

    # -- saving -----------------------------------------------------------------------------

    def today(self) -> date:
        return self.services.now().astimezone().date()

    def form_values(self) -> dict[str, Any]:
        def select(selector: str) -> Any:
            value = self.query_one(selector, Select).value
            return None if value is Select.NULL else value

        since = self.query_one("#activities-from", Input).value.strip()
        if since.casefold() == "today":
            since = self.today().isoformat()
        return {
            "contacts_auto": self.query_one("#contacts-auto", Checkbox).value,
            "contacts_period": select("#contacts-period"),
            "contacts_tag_id": select("#contacts-tag") or "",
            "contacts_group_name": self.query_one("#group-name", Input).value,
            "activities_auto": self.query_one("#activities-auto", Checkbox).value,
            "activities_period": select("#activities-period"),
            "activities_from": since or None,
            "activities_calendar": self.query_one("#activities-calendar", Input).value.strip()
            or "primary",
            "activities_send_updates": select("#activities-send-updates") or "none",
        }

    def validated(self) -> SyncSettings | None:
        """The settings the form describes, or None with each error beside its field."""
        for name in FIELDS:
            show_error(self.query_one(f"#error-{name}", Label), "")
        values = self.form_values()
        errors: dict[str, str] = {}
        base = SyncSettings(user_id=self.services.user_id)
        for name in FIELDS:  # each field alone, so that every error shows at once
            try:
                SyncSettings(**{**base.to_dict(), name: values[name]})
            except ValidationError as exc:
                errors[exc.field] = _message(exc)
        if not errors:
            try:
                return SyncSettings(user_id=self.services.user_id, **values)
            except ValidationError as exc:
                errors[exc.field] = _message(exc)
        for name, message in errors.items():
            target = name if name in FIELDS else "activities_from"
            show_error(self.query_one(f"#error-{target}", Label), message)
        return None

    def action_save(self) -> None:
        status = self.query_one("#settings-status", Label)
        settings = self.validated()
        if settings is None:
            status.update(Text("Not saved: correct the fields marked in red.", style="red"))
            return
        try:
            SyncSettingsService(self.services.repo).save(settings)
        except ValidationError as exc:  # the tag is no longer one that may be the sync tag
            target = exc.field if exc.field in FIELDS else "contacts_tag_id"
            show_error(self.query_one(f"#error-{target}", Label), _message(exc))
            status.update(Text("Not saved: correct the fields marked in red.", style="red"))
            return
        if settings.activities_from is not None:
            self.query_one("#activities-from", Input).value = settings.activities_from.isoformat()
        self.query_one("#group-name", Input).value = settings.contacts_group_name
        status.update(Text("Saved.", style="green"))
        self.notify("Sync settings saved.", title="Settings")
        self.show_status()

    def action_leave_field(self) -> None:
        """Escape leaves a text field: the keys are the app's again (5 opens the sync log)."""
        self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":  # only from a text field (a Select's Escape closes it)
            return isinstance(self.focused, Input)
        return True

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def recheck(self) -> None:
        """After a refused save, an error goes as soon as its field is right."""
        shown = [name for name in FIELDS
                 if self.query_one(f"#error-{name}", Label).display]
        if not shown:
            return
        self.validated()
        for name in FIELDS:
            if name not in shown:
                show_error(self.query_one(f"#error-{name}", Label), "")

    @on(Button.Pressed, "#save")
    def pressed_save(self) -> None:
        self.action_save()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_save()
