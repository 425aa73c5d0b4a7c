"""The contact form: a modal to create or edit a contact.

Names, several emails and phones (each a type and a value; "add another", remove), company, job
title, one address, birthday, notes. The model validates; each error is shown under its field.
``f2`` or the Save button saves through the repository; Escape or Cancel closes (asking first
when something was changed). Enter in a field moves to the next one: it never saves.
The form dismisses with the saved contact's id (None when cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from crmtui.model import (
    ADDRESS_TYPES,
    EMAIL_TYPES,
    PHONE_TYPES,
    Address,
    Contact,
    Email,
    Phone,
    ValidationError,
    parse_date,
)
from crmtui.screens.context import Services
from crmtui.screens.forms import EditForm, error_label, show_error
from crmtui.store.repository import ChangedMeanwhile, StoreError

NAME_FIELDS = (("honorific", "Title (Dr…)"), ("given_name", "Given name"),
               ("middle_name", "Middle name"), ("family_name", "Family name"))
ADDRESS_FIELDS = (("street", "Street"), ("city", "City"), ("region", "Region"),
                  ("postal_code", "Postal code"), ("country", "Country"))
FIELD_ERRORS = {"name": "given_name", "email": "emails", "email type": "emails",
                "phone": "phones", "phone type": "phones"}
"""Model field names whose error shows under another field's label."""
FORM_FIELDS = ("given_name", "middle_name", "family_name", "company", "job_title", "emails",
               "phones", "addresses", "birthday", "notes")
"""The contact's fields the form edits (the rest is kept as stored)."""


def merge_theirs(base: Any, mine: Any, theirs: Any, names: Sequence[str | tuple[str, ...]]
                 ) -> tuple[dict[str, Any], list[str]]:
    """Field by field, what a save refused because someone saved meanwhile should hold: a field
    only they changed (since ``base``, what the form read) takes their value, one only I changed
    keeps mine. A tuple of names is one field (a start and its end). Returns those values and
    the fields both changed differently (mine is kept in the values; the form shows theirs
    beside it)."""
    values: dict[str, Any] = {}
    both: list[str] = []
    for name in names:
        group = name if isinstance(name, tuple) else (name,)
        was, mine_v, theirs_v = (tuple(getattr(r, n) for n in group) for r in (base, mine, theirs))
        if mine_v == was:
            values.update(zip(group, theirs_v, strict=True))
        else:
            values.update(zip(group, mine_v, strict=True))
            if theirs_v not in (was, mine_v):
                both.append(group[0])
    return values, both


def conflict_notes(exc: ChangedMeanwhile, both: Sequence[str],
                   target: Callable[[str], str]) -> dict[str, str]:
    """The notes a form shows after :func:`merge_theirs`: why it was not saved (under the form)
    and, under each field both changed (``target`` names the field's error label), the value
    the other person set."""
    notes = {"form": f"Not saved: {exc}."
             + (" Where both of you changed a field, theirs is shown under yours; F2 "
                "saves what the form shows." if both else
                " Their changes are now in the form; F2 saves it with yours.")}
    for name in both:
        line = f"{exc.by_name} set: {shown(getattr(exc.current, name))}"
        where = target(name)
        notes[where] = f"{notes[where]} {line}" if where in notes else line
    return notes


def shown(value: Any) -> str:
    """A field's value in a line of text ("empty" when it has none)."""
    if isinstance(value, list):
        value = ", ".join(getattr(v, "value", None) or v.one_line() for v in value)
    elif value is not None and not isinstance(value, str):
        value = value.isoformat()
    text = " ".join(str(value or "").split())
    return (text[:60] + "…" if len(text) > 60 else text) or "empty"


class EntryRow(Vertical):
    """One typed value (an email or a phone): a type, the value, a remove button, its error."""

    DEFAULT_CSS = """
    EntryRow { height: auto; }
    EntryRow > .error { width: 1fr; height: auto; }
    EntryRow > Horizontal { height: auto; }
    EntryRow Select { width: 16; }
    EntryRow Input { width: 1fr; }
    EntryRow Button { min-width: 10; }
    """

    def __init__(self, kind: str, types: Sequence[str], value: str = "", type_: str = "work",
                 primary: bool = False) -> None:
        super().__init__(classes=f"entry {kind}-row")
        self.kind = kind
        self.types = tuple(types)
        self.initial_value = value
        self.initial_type = type_ if type_ in types else types[0]
        self.primary = primary
        self.removed = False

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Select([(t, t) for t in self.types], value=self.initial_type,
                         allow_blank=False, compact=True, classes="type")
            yield Input(self.initial_value, placeholder=self.kind, compact=True,
                        classes="value", select_on_focus=False)
            yield Button("Remove", classes="remove", compact=True)
        label = Label("", classes="error")
        label.display = False
        yield label

    @property
    def value(self) -> str:
        try:
            return self.query_one(".value", Input).value.strip()
        except NoMatches:  # not composed yet
            return self.initial_value.strip()

    @property
    def type(self) -> str:
        try:
            return str(self.query_one(".type", Select).value)
        except NoMatches:
            return self.initial_type

    @property
    def error(self) -> Label:
        return self.query_one(".error", Label)

    @on(Button.Pressed, ".remove")
    def remove_row(self, event: Button.Pressed) -> None:
        event.stop()
        self.removed = True
        self.remove()


class ContactForm(EditForm):
    """Create (``contact`` None) or edit a contact; dismisses with its id when saved."""

    DEFAULT_CSS = """
    ContactForm { align: center middle; background: $background 60%; }
    ContactForm > Vertical {
        width: 100; max-width: 96%; height: 90%;
        border: round $accent; background: $panel;
    }
    ContactForm #form-title { text-style: bold; padding: 0 1; }
    ContactForm VerticalScroll { height: 1fr; padding: 0 1; }
    ContactForm .field { height: auto; width: 1fr; margin-right: 1; }
    ContactForm .field.-honorific { width: 12; }
    ContactForm .row { height: auto; }
    ContactForm .section { text-style: bold; margin-top: 1; }
    ContactForm .add { margin-bottom: 0; }
    ContactForm TextArea { height: 5; }
    ContactForm .error { color: $error; width: 1fr; height: auto; }
    ContactForm #form-buttons { height: auto; align-horizontal: right; padding: 0 1; }
    ContactForm #form-buttons Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "save", "Save", id="form.save"),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, services: Services, contact: Contact | None = None) -> None:
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.contact = contact
        self.base = contact  # the stored version the form is based on (its ``modified``)
        self._initial: Any = None

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        c = self.contact
        with Vertical():
            yield Static("Edit contact" if c else "New contact", id="form-title")
            with VerticalScroll(id="form-fields"):
                with Horizontal(classes="row"):
                    for name, label in NAME_FIELDS:
                        yield from self.field(name, label, getattr(c, name) if c else "")
                with Horizontal(classes="row"):
                    yield from self.field("company", "Company", c.company if c else "")
                    yield from self.field("job_title", "Job title", c.job_title if c else "")
                yield Label("Emails", classes="section")
                with Vertical(id="emails", classes="entries"):
                    emails = c.emails if c else []
                    for e in emails:
                        yield EntryRow("email", EMAIL_TYPES, e.value, e.type, e.primary)
                    if not emails:
                        yield EntryRow("email", EMAIL_TYPES)
                yield error_label("emails")
                yield Button("Add another email", id="add-email", classes="add", compact=True)
                yield Label("Phones", classes="section")
                with Vertical(id="phones", classes="entries"):
                    phones = c.phones if c else []
                    for p in phones:
                        yield EntryRow("phone", PHONE_TYPES, p.value, p.type, p.primary)
                    if not phones:
                        yield EntryRow("phone", PHONE_TYPES, type_="mobile")
                yield error_label("phones")
                yield Button("Add another phone", id="add-phone", classes="add", compact=True)
                address = c.addresses[0] if c and c.addresses else None
                yield Label("Address", classes="section")
                with Horizontal(classes="row"):
                    with Vertical(classes="field"):
                        yield Label("Type")
                        yield Select([(t, t) for t in ADDRESS_TYPES],
                                     value=address.type if address else "work",
                                     allow_blank=False, compact=True, id="address-type")
                    yield from self.field("street", "Street",
                                          address.street.replace("\n", ", ") if address else "",
                                          prefix="address-")
                with Horizontal(classes="row"):
                    for name, label in ADDRESS_FIELDS[1:]:
                        yield from self.field(name, label,
                                              getattr(address, name) if address else "",
                                              prefix="address-")
                yield error_label("address")
                with Horizontal(classes="row"):
                    yield from self.field(
                        "birthday", "Birthday (YYYY-MM-DD)",
                        c.birthday.isoformat() if c and c.birthday else "")
                    yield Static(classes="field")
                yield Label("Notes")
                yield TextArea(c.notes if c else "", id="notes")
                yield error_label("notes")
                yield error_label("form")
            with Horizontal(id="form-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save (F2)", id="save", variant="primary")
            yield Footer()

    def field(self, name: str, label: str, value: str, *, prefix: str = ""
              ) -> ComposeResult:
        with Vertical(classes="field -honorific" if name == "honorific" else "field"):
            yield Label(label)
            yield Input(value, id=f"{prefix}{name}", compact=True, select_on_focus=False)
            if not prefix:
                yield error_label(name)

    def on_mount(self) -> None:
        self._initial = self.snapshot()
        self.query_one("#given_name", Input).focus()  # the title is rarely set: Tab back

    # -- reading the form -------------------------------------------------------------------------

    def text(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def rows(self, kind: str) -> list[EntryRow]:
        return [r for r in self.query(f".{kind}-row").results(EntryRow) if not r.removed]

    def snapshot(self) -> Any:
        """What the form holds now (to tell whether it was changed)."""
        inputs = tuple(i.value for i in self.query("Input").results(Input) if i.id)
        entries = tuple((r.kind, r.type, r.value) for kind in ("email", "phone")
                        for r in self.rows(kind) if r.value)
        return (inputs, entries, str(self.query_one("#address-type", Select).value),
                self.query_one("#notes", TextArea).text)

    @property
    def changed(self) -> bool:
        return self.snapshot() != self._initial

    def shown_errors(self) -> list[Label]:
        return [label for label in self.query(".error").results(Label) if label.display]

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def recheck(self) -> None:
        """After a refused save, an error goes as soon as its field is right (no new ones show
        while typing: they wait for the next save)."""
        if getattr(self, "conflict_shown", False):
            return  # someone else's values are shown until the next save
        before = self.shown_errors()
        if not before:
            return
        self.build(scroll=False)
        for label in self.shown_errors():
            if label not in before:
                show_error(label, "")

    def build(self, *, scroll: bool = True) -> Contact | None:
        """The contact the form describes, or None with every error shown beside its field."""
        for label in self.query(".error").results(Label):
            show_error(label, "")
        errors: dict[str, str] = {}
        emails = self._entries("email", Email, errors)
        phones = self._entries("phone", Phone, errors)
        addresses = list(self.contact.addresses[1:]) if self.contact else []
        parts = {name: self.text(f"address-{name}") for name, _ in ADDRESS_FIELDS}
        if any(parts.values()):
            first = self.contact.addresses[0] if self.contact and self.contact.addresses else None
            try:
                addresses.insert(0, Address(type=str(self.query_one("#address-type",
                                                                    Select).value),
                                            primary=first.primary if first else False, **parts))
            except ValidationError as exc:
                errors["address"] = _message(exc)
        birthday = None
        if self.text("birthday"):
            try:
                birthday = parse_date("birthday", self.text("birthday"))
            except ValidationError as exc:
                errors["birthday"] = _message(exc)
        if errors:
            self._show(errors, scroll=scroll)
            return None
        c = self.contact
        now = self.services.now()
        values: dict[str, Any] = {name: self.text(name) for name, _ in NAME_FIELDS}
        values.update(company=self.text("company"), job_title=self.text("job_title"),
                      emails=emails, phones=phones, addresses=addresses, birthday=birthday,
                      notes=self.query_one("#notes", TextArea).text.strip())
        try:
            if c is None:
                return Contact(**values, owner_id=self.user_id, created=now, modified=now)
            return c.evolve(**values)
        except ValidationError as exc:
            self._show({_field_of(exc): _message(exc)}, scroll=scroll)
            return None

    def _entries(self, kind: str, cls: type[Any], errors: dict[str, str]) -> list[Any]:
        items = []
        for row in self.rows(kind):
            if not row.value:
                continue
            try:
                items.append(cls(row.value, row.type, row.primary))
            except ValidationError as exc:
                show_error(row.error, _message(exc))
                errors.setdefault(f"{kind}s", "")
        if items and not any(i.primary for i in items):
            items[0] = cls(items[0].value, items[0].type, True)
        return items

    def _show(self, errors: dict[str, str], *, scroll: bool = True) -> None:
        first = None
        for field, message in errors.items():
            label = self.query_one(f"#error-{field}", Label)
            if message:
                show_error(label, message)
            first = first or label
        if first is not None and scroll:
            first.scroll_visible()

    # -- actions ----------------------------------------------------------------------------------

    def action_save(self) -> None:
        self.conflict_shown = False
        contact = self.build()
        if contact is None:
            return
        try:
            if self.contact is None:
                saved = self.repo.add_contact(contact)
            else:
                assert self.base is not None
                saved = self.repo.update_contact(contact, self.user_id,
                                                 expected=self.base.modified)
        except ChangedMeanwhile as exc:
            self.call_later(self.take_theirs, exc, contact)
            return
        except ValidationError as exc:
            self._show({_field_of(exc): _message(exc)})
            return
        except StoreError as exc:
            self._show({"form": f"Not saved: {exc}"})
            return
        self.notify(f"Saved {saved.display_name}.", title="Contacts")
        self.dismiss(saved.id)

    async def take_theirs(self, exc: ChangedMeanwhile, mine: Contact) -> None:
        """Someone saved the contact since the form read it: the form now holds their values
        where only they changed something, keeps mine where only I did, and shows theirs beside
        mine where both did; saving again saves what the form shows over their version."""
        self.conflict_shown = True
        assert self.base is not None and isinstance(exc.current, Contact)
        theirs = exc.current
        values, both = merge_theirs(self.base, mine, theirs, FORM_FIELDS)
        self.base = theirs
        self.contact = theirs.evolve(**values)
        await self.recompose()
        self._show(conflict_notes(exc, both, lambda name: {"addresses": "address"}.get(name,
                                                                                       name)))

    @on(Button.Pressed, "#add-email")
    async def add_email(self) -> None:
        await self._add(EntryRow("email", EMAIL_TYPES), "#emails")

    @on(Button.Pressed, "#add-phone")
    async def add_phone(self) -> None:
        await self._add(EntryRow("phone", PHONE_TYPES, type_="mobile"), "#phones")

    async def _add(self, row: EntryRow, where: str) -> None:
        await self.query_one(where, Vertical).mount(row)
        row.query_one(".value", Input).focus()

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        """Enter moves on; it never saves."""
        event.stop()
        self.focus_next()


def _field_of(exc: ValidationError) -> str:
    field = exc.field
    if field.startswith("address"):
        return "address"
    field = FIELD_ERRORS.get(field, field)
    if field in {"honorific", "given_name", "middle_name", "family_name", "company", "job_title",
                 "birthday", "notes", "emails", "phones"}:
        return field
    return "form"


def _message(exc: ValidationError) -> str:
    """The problem as a sentence: "Birthday is not a date (YYYY-MM-DD)"."""
    problem = exc.problem
    if problem.split(" ", 1)[0] in {"a", "an", "the", "only"}:
        return problem[:1].upper() + problem[1:]
    shown = exc.field.replace("_", " ")
    return f"{shown[:1].upper()}{shown[1:]} {problem}"
