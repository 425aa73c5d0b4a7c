"""The tag editor: a modal to assign and remove tags on one or many contacts, and to create tags.

It lists the tags the user can see (the user's private tags, public and corporate ones; never
another user's private tags), each with its state on the contacts being edited: ✔ all of them,
– some, blank none. Enter or space toggles a tag: assigned to every contact unless all of them
have it, then removed from every one. "New tag" creates a private, public or corporate tag and
assigns it to the contacts. The editor dismisses with True when something changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from crmtui.model import Tag, TagKind, ValidationError
from crmtui.screens.context import Services
from crmtui.store.repository import NotFound, StoreConflict, StoreError

KIND_ORDER = (TagKind.PRIVATE, TagKind.PUBLIC, TagKind.CORPORATE)


def tag_label(tag: Tag) -> str:
    """A tag's name with its kind: "Golf (private)"; public tags show the name alone."""
    return tag.name if tag.kind is TagKind.PUBLIC else f"{tag.name} ({tag.kind.value})"


class TagEditor(ModalScreen[bool]):
    """Assign, remove and create tags for the contacts ``contact_ids``."""

    DEFAULT_CSS = """
    TagEditor { align: center middle; background: $background 60%; }
    TagEditor > Vertical {
        width: 72; max-width: 96%; height: auto; max-height: 90%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    TagEditor #tags-title { text-style: bold; }
    TagEditor #tags-hint { color: $text-muted; }
    TagEditor OptionList { height: auto; max-height: 16; margin: 1 0; }
    TagEditor #new-tag { height: auto; }
    TagEditor #new-tag-name { width: 1fr; }
    TagEditor #new-tag-kind { width: 16; }
    TagEditor .error { color: $error; }
    TagEditor #tags-buttons { height: auto; align-horizontal: right; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Done", id="tags.close"),
        Binding("space", "toggle_tag", "Assign / remove", id="tags.toggle"),
        Binding("n", "new_tag", "New tag", id="tags.new"),
    ]

    def __init__(self, services: Services, contact_ids: Sequence[str]) -> None:
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.contact_ids = list(dict.fromkeys(contact_ids))
        self.changed = False
        self.tags: list[Tag] = []
        self.counts: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text(), id="tags-title")
            yield Static("Enter or space assigns a tag to every contact, or removes it when all "
                         "have it.  ✔ all  – some", id="tags-hint")
            yield OptionList(id="tag-list")
            yield Label("New tag")
            with Horizontal(id="new-tag"):
                yield Input(placeholder="name of the new tag", id="new-tag-name", compact=True)
                yield Select([(k.value, k.value) for k in KIND_ORDER], value="private",
                             allow_blank=False, compact=True, id="new-tag-kind")
                yield Button("Create", id="create-tag", compact=True)
            error = Label("", id="error-new-tag", classes="error")
            error.display = False
            yield error
            with Horizontal(id="tags-buttons"):
                yield Button("Done", id="done", variant="primary")
            yield Footer()

    def title_text(self) -> str:
        if len(self.contact_ids) == 1:
            try:
                name = self.repo.get_contact(self.contact_ids[0]).display_name
            except NotFound:
                name = "1 contact"
            return f"Tags of {name}"
        return f"Tags of {len(self.contact_ids)} contacts"

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    # -- state ------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the visible tags and how many of the contacts carry each."""
        self.tags = sorted(self.repo.list_tags(self.user_id),
                           key=lambda t: (KIND_ORDER.index(t.kind), t.name.casefold()))
        self.counts = dict.fromkeys((t.id for t in self.tags), 0)
        for contact in self.repo.get_contacts(self._existing(), self.user_id):
            for tid in contact.tags:
                if tid in self.counts:
                    self.counts[tid] += 1
        tag_list = self.query_one(OptionList)
        highlighted = tag_list.highlighted_option.id if tag_list.highlighted_option else None
        tag_list.set_options([Option(self.prompt(t), id=t.id) for t in self.tags])
        if highlighted is not None and highlighted in self.counts:
            tag_list.highlighted = tag_list.get_option_index(highlighted)
        elif self.tags:
            tag_list.highlighted = 0

    def _existing(self) -> list[str]:
        ids = []
        for cid in self.contact_ids:
            try:
                self.repo.get_contact(cid)
            except NotFound:
                continue
            ids.append(cid)
        return ids

    def state(self, tag_id: str) -> str:
        """"all", "some" or "none" of the contacts carry the tag."""
        count = self.counts.get(tag_id, 0)
        total = len(self.contact_ids)
        return "all" if count and count >= total else "some" if count else "none"

    def prompt(self, tag: Tag) -> Text:
        mark = {"all": "✔", "some": "–", "none": " "}[self.state(tag.id)]
        text = Text.assemble(("[", "dim"), (mark, "bold"), ("] ", "dim"), tag.name)
        if tag.kind is not TagKind.PUBLIC:
            text.append(f"  {tag.kind.value}", style="italic dim")
        return text

    # -- actions ----------------------------------------------------------------------------------

    def toggle(self, tag_id: str) -> None:
        remove = self.state(tag_id) == "all"
        try:
            self.repo.tag_contacts(self._existing(), tag_id, self.user_id, remove=remove)
        except StoreError as exc:
            self.notify(f"Tags not changed: {exc}", severity="error", title="Tags")
            return
        self.changed = True
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"toggle_tag", "new_tag"}:
            return not isinstance(self.focused, Input)
        return True

    def action_toggle_tag(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        if option is not None and option.id:
            self.toggle(option.id)

    def action_new_tag(self) -> None:
        self.set_focus(self.query_one("#new-tag-name", Input))

    @on(OptionList.OptionSelected, "#tag-list")
    def selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.toggle(event.option.id)

    @on(Input.Submitted, "#new-tag-name")
    @on(Button.Pressed, "#create-tag")
    def create(self) -> None:
        error = self.query_one("#error-new-tag", Label)
        name = self.query_one("#new-tag-name", Input).value.strip()
        kind = TagKind(str(self.query_one("#new-tag-kind", Select).value))
        try:
            tag = Tag(name=name, kind=kind,
                      owner_id=self.user_id if kind is TagKind.PRIVATE else "")
            self.repo.add_tag(tag)
        except ValidationError as exc:
            problem = exc.problem
            error.update(f"The name {problem}" if exc.field == "tag name" else str(exc))
            error.display = True
            return
        except StoreConflict as exc:
            error.update(f"{str(exc)[:1].upper()}{str(exc)[1:]}")
            error.display = True
            return
        except StoreError as exc:
            error.update(f"Not created: {exc}")
            error.display = True
            return
        error.display = False
        self.query_one("#new-tag-name", Input).value = ""
        self.changed = True
        existing = self._existing()
        if existing:
            self.repo.tag_contacts(existing, tag.id, self.user_id)
        self.reload()
        tag_list = self.query_one(OptionList)
        tag_list.highlighted = tag_list.get_option_index(tag.id)
        tag_list.focus()
        self.notify(f"Created the {kind.value} tag {tag.name!r}.", title="Tags")

    @on(Button.Pressed, "#done")
    def action_close(self) -> None:
        self.dismiss(self.changed)
