"""Import and export from the TUI (the command palette's "data: import…" and "data: export…"):
a dialog asks for the file, runs the same functions as ``crmtui import`` / ``crmtui export``
(:mod:`crmtui.formats`) in a thread, and shows what was done, or why nothing was."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from crmtui.screens.context import Services
from crmtui.store.repository import StoreError

IMPORT, EXPORT = "import", "export"
ON_EXISTING = [("refuse the file", "error"), ("skip the record", "skip"),
               ("update the contact (csv, vCard)", "update")]
FORMATS_HINT = {
    IMPORT: "Formats by extension: .json (a whole crmtui database), .csv and .vcf (contacts, "
            "owned by you). All of the file goes in, or nothing.",
    EXPORT: "Formats by extension: .json (everything), .csv and .vcf (contacts, with the tags "
            "you see), .ics (your activities).",
}


def summary(counts: Mapping[str, int]) -> str:
    """``3 contacts, 1 tag`` (as the command line says it)."""
    parts = []
    for kind, n in counts.items():
        if not n:
            continue
        noun = kind.replace("_", " ")
        if n == 1:
            noun = noun[:-3] + "y" if noun.endswith("ies") else noun.removesuffix("s")
        parts.append(f"{n} {noun}")
    return ", ".join(parts) or "nothing"


class TransferDialog(ModalScreen[None]):
    """Ask for a file, import it or export to it, show the result; Escape closes."""

    DEFAULT_CSS = """
    TransferDialog { align: center middle; background: $background 60%; }
    TransferDialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    TransferDialog #transfer-title { text-style: bold; margin-bottom: 1; }
    TransferDialog .hint { color: $text-muted; margin-bottom: 1; }
    TransferDialog #transfer-path { margin-bottom: 1; }
    TransferDialog #transfer-existing-row { height: auto; margin-bottom: 1; }
    TransferDialog #transfer-existing-row Label { padding-right: 1; }
    TransferDialog #transfer-existing { width: 1fr; }
    TransferDialog #transfer-result { height: auto; max-height: 10; margin-bottom: 1; }
    TransferDialog #transfer-result.-error { color: $error; }
    TransferDialog #transfer-buttons { height: auto; align-horizontal: right; }
    TransferDialog #transfer-buttons Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="transfer.close"),
    ]

    def __init__(self, services: Services, mode: str,
                 on_change: Callable[[], None] | None = None) -> None:
        """``mode``: IMPORT or EXPORT; ``on_change`` runs after an import wrote something."""
        super().__init__()
        self.services = services
        self.mode = mode
        self.on_change = on_change
        self.result = ""
        """The last result shown (what was done, or ``Error: …``)."""
        self._confirm_replace: Path | None = None

    def compose(self) -> ComposeResult:
        importing = self.mode == IMPORT
        default = "" if importing else str(Path.cwd() / "crmtui-export.json")
        with Vertical():
            yield Static("Import a file" if importing else "Export to a file",
                         id="transfer-title")
            yield Static(FORMATS_HINT[self.mode], classes="hint")
            yield Input(default, placeholder="a file path, e.g. ~/contacts.vcf",
                        id="transfer-path", compact=True)
            if importing:
                with Horizontal(id="transfer-existing-row"):
                    yield Label("A record already stored:")
                    yield Select(ON_EXISTING, value="error", allow_blank=False,
                                 id="transfer-existing", compact=True)
            yield Static("", id="transfer-result", markup=False)
            with Horizontal(id="transfer-buttons"):
                yield Button("Close", id="transfer-close")
                yield Button("Import" if importing else "Export", id="transfer-run",
                             variant="primary")

    def on_mount(self) -> None:
        self.query_one("#transfer-path", Input).focus()

    def show_result(self, text: str, error: bool = False) -> None:
        self.result = text
        box = self.query_one("#transfer-result", Static)
        box.update(text)
        box.set_class(error, "-error")

    @on(Button.Pressed, "#transfer-close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#transfer-path")
    @on(Button.Pressed, "#transfer-run")
    def run(self) -> None:
        text = self.query_one("#transfer-path", Input).value.strip()
        if not text:
            self.show_result("Error: type the path of a file.", error=True)
            return
        path = Path(text).expanduser()
        if self.mode == EXPORT and path.exists() and self._confirm_replace != path:
            self._confirm_replace = path
            self.show_result(f"{path} exists: press Enter again to replace it.")
            return
        self._confirm_replace = None
        on_existing = "error"
        if self.mode == IMPORT:
            on_existing = str(self.query_one("#transfer-existing", Select).value)
        self.show_result(("Importing " if self.mode == IMPORT else "Exporting ") + f"{path}…")
        self.transfer(path, on_existing)

    @work(thread=True, exclusive=True, group="transfer")
    def transfer(self, path: Path, on_existing: str) -> None:
        from crmtui.formats import FormatError, detect_format, export_file, import_file

        repo = self.services.repo
        try:
            viewer = "" if detect_format(path) == "json" else self.services.user_id
            if self.mode == IMPORT:
                report = import_file(repo, path, viewer_id=viewer, on_existing=on_existing)
                lines = [f"Imported {summary(report.counts)} from {path.name}."]
                if report.skipped:
                    lines.append(f"Skipped {len(report.skipped)}:")
                    lines += [f"  {line}" for line in report.skipped[:5]]
                    if len(report.skipped) > 5:
                        lines.append(f"  … and {len(report.skipped) - 5} more")
                text, changed = "\n".join(lines), any(report.counts.values())
            else:
                exported = export_file(repo, path, viewer_id=viewer)
                text, changed = f"Exported {summary(exported.counts)} to {path}.", False
        except (FormatError, StoreError, OSError) as exc:
            self.app.call_from_thread(self.show_result, f"Error: {exc}", True)
            return
        self.app.call_from_thread(self.done, text, changed)

    def done(self, text: str, changed: bool) -> None:
        self.show_result(text)
        if changed and self.on_change is not None:
            self.on_change()
