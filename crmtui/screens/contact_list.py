"""The parts of the contacts list around its screen: the columns, the name as the list shows it,
the tag names of the rows, a query's result, the search box and the tag filter's picker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.model import Contact, Tag
from crmtui.screens.tags import KIND_ORDER, tag_label
from crmtui.store.repository import ContactQuery, Repository
from crmtui.widgets import Column

COLUMNS = (  # on a narrow terminal tags go first, then phone, job title, company
    Column("name", "Name", ratio=4, min_width=16),
    Column("company", "Company", ratio=4, min_width=10, drop=1),
    Column("job_title", "Job title", ratio=3, min_width=8, drop=2),
    Column("email", "Email", ratio=5, min_width=18),
    Column("phone", "Phone", width=19, drop=3),
    Column("tags", "Tags", ratio=3, min_width=8, sortable=False, drop=4),
)
SORTABLE = tuple(c for c in COLUMNS if c.sortable)


def list_name(contact: Contact) -> str:
    """The name as the list shows (and sorts) it: family name first."""
    given = " ".join(p for p in (contact.given_name, contact.middle_name) if p)
    if contact.family_name and given:
        return f"{contact.family_name}, {given}"
    return contact.family_name or given or contact.display_name


class TagNames:
    """Names of the tags a user can see, read again after :meth:`invalidate` (the screen calls
    it when the data changed). Not checked on every paint: that would wait for the store's lock,
    which a running sync holds while it commits."""

    def __init__(self, repo: Repository, viewer_id: str) -> None:
        self.repo = repo
        self.viewer_id = viewer_id
        self._names: dict[str, str] | None = None

    def invalidate(self) -> None:
        self._names = None

    def names(self) -> dict[str, str]:
        if self._names is None:
            self._names = {t.id: t.name for t in self.repo.list_tags(self.viewer_id)}
        return self._names

    def of(self, contact: Contact, names: dict[str, str] | None = None) -> list[str]:
        """The names of the contact's tags; ``names`` (from :meth:`names`) saves asking the
        repository again, once per screenful instead of once per row."""
        if names is None:
            names = self.names()
        return sorted((names[t] for t in contact.tags if t in names), key=str.casefold)


@dataclass(frozen=True, slots=True)
class QueryResult:
    query: ContactQuery
    ids: Sequence[str]
    total: int
    error: str = ""
    generation: int = -1
    partial: bool = False
    """The first contacts only (``ids``), shown while the store is still reading."""


class SearchInput(Input):
    """The search box. Its size is fixed by CSS, so a new value never needs a layout pass
    (Input asks for one at each keystroke, which repaints the whole screen)."""

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        return super().refresh(*regions, repaint=repaint, layout=layout and not self.is_mounted,
                               recompose=recompose)


class TagPicker(ModalScreen[str | None]):
    """Pick the tag that filters the list: "" for every contact, None when cancelled."""

    DEFAULT_CSS = """
    TagPicker { align: center middle; background: $background 60%; }
    TagPicker > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    TagPicker #tag-picker-title { text-style: bold; padding: 0 1; }
    TagPicker OptionList { height: auto; max-height: 20; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="tag_picker.cancel"),
    ]

    ALL = "__all__"

    def __init__(self, tags: Sequence[Tag], current: str = "") -> None:
        super().__init__()
        self.tags = list(tags)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Show the contacts with the tag", id="tag-picker-title")
            options = [Option("All contacts (no tag filter)", id=self.ALL)]
            options += [Option(tag_label(t), id=t.id)
                        for t in sorted(self.tags, key=lambda t: (KIND_ORDER.index(t.kind),
                                                                  t.name.casefold()))]
            yield OptionList(*options, id="tag-picker")
        yield Footer()  # the modal's keys, not the screen's underneath

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        picker.focus()
        if self.current:
            try:
                picker.highlighted = picker.get_option_index(self.current)
            except LookupError:
                pass

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id or self.ALL
        self.dismiss("" if choice == self.ALL else choice)
