"""The crmtui terminal application.

:class:`CrmApp` receives its services (:class:`~crmtui.screens.context.Services`) in its
constructor; nothing is global. It owns what spans the sections:

- the sections (Textual modes, each with its own screen stack) on the keys 1 to 6;
- the actions menu (``a``) and the command palette (``ctrl+p`` or ``:``), filled from the current
  screen's commands and the app's own, with category prefixes ("contact: new", "sync: …");
- "Synchronize now": the sync service runs in a thread worker, one per kind; progress and notes come
  back as messages (progress coalesced, so a flood never swamps the UI); the end posts a
  notification with the summary, asks before a run the mass-unlink guard stopped, and reloads what
  the screens show;
- automatic sync at each kind's configured period while the app runs;
- picking up what another process (a cron ``crmtui sync``) wrote to the database;
- keys remapped by binding id from the config file's ``[keys]`` table;
- the last resort: an exception nothing handled ends the app without Textual's traceback on the
  terminal; :func:`run_app` raises it once the terminal is restored, and the command line reports
  it as one ``Error:`` line (the traceback goes to the log).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.console import RenderableType
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker

from crmtui.model import SyncKind
from crmtui.screens.confirm import Choose, Confirm
from crmtui.screens.contacts import ContactsScreen
from crmtui.screens.context import SECTIONS, Command, HasCommands, Refreshable, Services
from crmtui.screens.sync_bar import SyncBar
from crmtui.screens.undo import UndoLog

# The first screen (the contacts list) is all the screens start-up loads: the others, the sync
# log and what a sync run needs load when first used, after the first rows are on screen.
if TYPE_CHECKING:
    from crmtui.screens.sync_log import SyncLogModel
    from crmtui.sync.service import SyncOutcome
    from crmtui.sync.state import FailureKind

SECTION_TITLES = {
    "contacts": "Contacts",
    "activities": "Activities",
    "accounts": "Profile → Accounts in external resources",
    "settings": "Sync settings",
    "sync": "Synchronize now: log",
    "conflicts": "Conflicts",
}
SECTION_KIND = {"contacts": SyncKind.CONTACTS, "activities": SyncKind.ACTIVITIES}
AUTO_SYNC_CHECK = 20.0
"""Seconds between checks whether an automatic sync is due."""
AUTO_SYNC_FIRST = 2.0
"""Seconds after start-up before the first such check (at most ``auto_sync_check``)."""
log = logging.getLogger(__name__)
STORE_POLL = 1.0
"""Seconds between checks whether another process changed the database."""
FRAME_OUT = 0.02
"""Seconds given to Textual's output thread to write the first frame to the terminal before
what waits for it runs (a thread reading the whole store would otherwise hold it back)."""

APP_COMMANDS = [
    *(Command("go", SECTION_TITLES[name].split(":")[0].lower(), f"app.section('{name}')",
              f"Open {SECTION_TITLES[name].split(':')[0]} (key {i})")
      for i, name in enumerate(SECTIONS, start=1)),
    Command("sync", "synchronize everything now", "app.sync_now('all')",
            "Run the contacts and the activities sync that are set up"),
    Command("app", "show keys", "app.show_keys", "Every key of the current screen"),
    Command("app", "undo", "app.undo", "Undo the last deletion or tag change (ctrl+z)"),
    Command("data", "import a file…", "app.transfer('import')",
            "Import contacts (.csv, .vcf) or a whole database (.json) from a file"),
    Command("data", "export to a file…", "app.transfer('export')",
            "Export everything (.json), contacts (.csv, .vcf) or your activities (.ics)"),
    Command("app", "quit", "app.quit", "Leave crmtui"),
]


class SyncProgressed(Message):
    """A kind's progress changed (the latest state is in the app's model: coalesced)."""

    def __init__(self, kind: SyncKind) -> None:
        super().__init__()
        self.kind = kind


class SyncNote(Message):
    def __init__(self, kind: SyncKind | None, text: str, style: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.text = text
        self.style = style


class SyncFinished(Message):
    def __init__(self, kind: SyncKind, outcome: SyncOutcome | None, error: str = "",
                 confirmed: bool = False) -> None:
        super().__init__()
        self.kind = kind
        self.outcome = outcome
        self.error = error
        self.confirmed = confirmed


@dataclass
class _Pending:
    """The latest progress of a run, written by its thread, read by the UI (coalescing)."""

    message: str = ""
    done: int = 0
    total: int = 0
    posted: bool = False


class CrmCommands(Provider):
    """The command palette: the current screen's commands, then the app's."""

    def commands(self) -> list[tuple[Command, Callable[[], Awaitable[object]]]]:
        """Each command with what runs it (on the screen that offers it, or on the app)."""
        screen = self.screen
        own = screen.commands() if isinstance(screen, HasCommands) else []
        return ([(c, partial(screen.run_action, c.action)) for c in own]
                + [(c, partial(self.app.run_action, c.action)) for c in APP_COMMANDS])

    async def discover(self) -> Hits:
        for command, run in self.commands():
            yield DiscoveryHit(command.palette_text, run, help=command.help)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for command, run in self.commands():
            score = matcher.match(command.palette_text)
            if score > 0:
                yield Hit(score, matcher.highlight(command.palette_text), run, help=command.help)


class CrmApp(App[None]):
    """crmtui's Textual application."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "crmtui"
    COMMANDS = App.COMMANDS | {CrmCommands}
    # The app starts in the contacts section itself: switching to it from Textual's default
    # mode would hold back the first frame (a switch delays updates to mask the transition).
    DEFAULT_MODE = "contacts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "show_keys", "Keys", id="app.keys"),
        Binding("a", "actions_menu", "Actions", id="app.actions"),
        # ctrl+p acts everywhere (priority), ":" only where it is not typed into a field.
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True,
                id="app.palette"),
        Binding("colon", "command_palette", "Commands", show=False, id="app.palette_colon"),
        Binding("y", "sync_now", "Sync now", id="app.sync_now"),
        Binding("ctrl+z,u", "undo", "Undo", id="app.undo"),
        *(Binding(str(i), f"section('{name}')", SECTION_TITLES[name].split(":")[0],
                  show=False, id=f"app.section.{name}")
          for i, name in enumerate(SECTIONS, start=1)),
    ]

    def __init__(self, services: Services, *, keymap: Mapping[str, str] | None = None,
                 auto_sync: bool = True, store_poll: float = STORE_POLL,
                 auto_sync_check: float = AUTO_SYNC_CHECK) -> None:
        """``services.google_endpoint``: the base URL of the built-in Google emulator the demo
        runs (shown in the header), or "" when the app talks to Google itself. ``keymap``: binding
        id → keys (the config file's ``[keys]``). ``auto_sync``: run due syncs automatically,
        checking every ``auto_sync_check`` seconds against ``services.now`` (0: no timer, the
        checks run only when :meth:`run_due_syncs` is called)."""
        super().__init__()
        self.services = services
        self.repo = services.repo
        self.user_id = services.user_id
        self.user = self.repo.get_user(self.user_id)
        self.sub_title = self.user.name + (" (demo)" if services.demo else "")
        if services.google_endpoint:  # short enough for 80 columns: the port must show
            self.sub_title += (" · Google emulator "
                               + services.google_endpoint.removeprefix("http://"))
        self.user_keymap = dict(keymap or {})
        self.auto_sync = auto_sync
        self.store_poll = store_poll
        self.auto_sync_check = auto_sync_check
        self._sync_log: SyncLogModel | None = None
        self.undo_log = UndoLog()
        """The last deletion or tag change, which ctrl+z (u) undoes."""
        self.running: set[SyncKind] = set()
        self._pending = {kind: _Pending() for kind in SyncKind}
        self._pending_lock = threading.Lock()
        self._seen_generation = -1
        self._store_check: Worker[None] | None = None
        self.sync_ended = {kind: threading.Event() for kind in SyncKind}
        """Set while no sync of the kind runs (its thread sets it when it returns)."""
        for ended in self.sync_ended.values():
            ended.set()
        self.sync_results: dict[SyncKind, str] = {}
        """How each kind's last run ended, in a line (for the shell after quitting)."""
        self.quit_when_synced = False
        self._watch_stop = threading.Event()
        self._after_first_frame: list[Callable[[], object]] | None = []
        """What waits for the first frame on the terminal (None: it is there)."""
        for name in SECTIONS:
            self.add_mode(name, partial(self.make_section, name))

    @property
    def sync_log(self) -> SyncLogModel:
        """The sync log's lines and each kind's progress (made when first used)."""
        if self._sync_log is None:
            from crmtui.screens.sync_log import SyncLogModel

            self._sync_log = SyncLogModel()
        return self._sync_log

    # -- sections ---------------------------------------------------------------------------------

    def make_section(self, name: str) -> Screen[None]:
        services = self.services
        if name == "contacts":
            return ContactsScreen(services)
        if name == "activities":
            from crmtui.screens.activities import ActivitiesScreen

            return ActivitiesScreen(services)
        if name == "accounts":
            from crmtui.screens.accounts import AccountsScreen

            return AccountsScreen(services)
        if name == "settings":
            from crmtui.screens.sync_settings import SyncSettingsScreen

            return SyncSettingsScreen(services)
        from crmtui.screens.sync_log import ConflictsScreen, SyncLogScreen

        if name == "sync":
            return SyncLogScreen(services, self.sync_log)
        return ConflictsScreen(services)

    # -- the last resort ----------------------------------------------------------------------------

    crash: Exception | None = None  # the first exception that ended the app

    def _handle_exception(self, error: Exception) -> None:
        """Textual's hook for an exception no handler caught: it ends the app (return code 1)
        and would print a traceback on exit; the error is kept for :func:`run_app` instead."""
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)
        self._exit_renderables.clear()  # what Textual would print on exit: the traceback

    def _fatal_error(self) -> None:
        self._close_messages_no_wait()  # Textual's own renders a traceback, then does this

    # -- the first frame ----------------------------------------------------------------------------

    def call_after_first_frame(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the first frame is on the terminal (soon, if it is already).

        Start-up work that can wait (reading the whole store behind its first rows) waits for
        this rather than for a refresh: the first refreshes happen while Textual holds updates
        back (it starts in a batch), so that the frame is written only later."""
        if self._after_first_frame is None:
            self.call_later(callback)
        else:
            self._after_first_frame.append(callback)

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        """Textual's output of a frame; the first one written releases what waits for it."""
        super()._display(screen, renderable)
        waiting = self._after_first_frame
        if waiting is not None and renderable is not None and not self._batch_count:
            self._after_first_frame = None

            def release() -> None:
                for callback in waiting:
                    callback()

            self.set_timer(FRAME_OUT, release)

    def on_mount(self) -> None:
        self.apply_keymap()
        self.action_section("contacts")
        self.welcome()
        if self.services.sync_notes is not None:
            self.services.sync_notes.target = self.note_from_thread
        self._seen_generation = self.repo.generation
        if self.store_poll > 0:
            self.watch_store()
        if self.auto_sync and self.auto_sync_check > 0 and self.services.sync is not None:
            self.set_timer(min(AUTO_SYNC_FIRST, self.auto_sync_check), self.run_due_syncs)
            self.set_interval(self.auto_sync_check, self.run_due_syncs)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own palette commands, whose "Keys" shows crmtui's keys list (``?``)."""
        for command in super().get_system_commands(screen):
            if command.title == "Keys":
                yield SystemCommand("Keys", "Every key of the current screen, with the id to "
                                    "remap it", self.action_show_keys)
            else:
                yield command

    def welcome(self) -> None:
        """An empty app (nothing but the users, no account) shows the way: the three steps."""
        from crmtui.screens.first_run import WelcomeScreen, is_empty

        if is_empty(self.services):
            self.push_screen(WelcomeScreen(self.services))

    def action_section(self, name: str) -> None:
        if name not in SECTIONS:
            return
        if self.current_mode != name:
            self.switch_mode(name)
        self.title = f"crmtui · {SECTION_TITLES[name]}"

    def action_show_keys(self) -> None:
        from crmtui.screens.keys import KeysScreen

        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.screen.active_bindings))

    def action_actions_menu(self) -> None:
        from crmtui.screens.actions_menu import ActionsMenu

        screen = self.screen
        if isinstance(screen, ActionsMenu):
            return
        own = screen.commands() if isinstance(screen, HasCommands) else []
        if not any(c.menu for c in own):
            self.notify("This screen has no actions menu.", severity="warning")
            return
        title = SECTION_TITLES.get(self.current_mode, "Actions") + " — actions"

        def run(command: Command | None) -> None:
            if command is not None:
                self.call_later(screen.run_action, command.action)

        self.push_screen(ActionsMenu(title, own), run)

    # -- quitting --------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; while a sync runs, ask first: wait for it, or quit and let it finish."""
        if not self.running:
            self.exit()
            return
        if isinstance(self.screen, Choose):
            return
        kinds = " and the ".join(sorted(k.value for k in self.running))
        detail = (f"Wait: crmtui stays open and quits by itself when the {kinds} sync ends.\n"
                  f"Quit now: the screen closes and the {kinds} sync finishes in the "
                  "background; the shell says when it is done (Ctrl+C there stops it, and the "
                  "next sync picks up where it stopped).")

        def answered(answer: str | None) -> None:
            if answer == "wait":
                self.quit_when_synced = True
                self.notify(f"crmtui quits when the {kinds} sync ends (q again to change your "
                            "mind).", title="Quit", timeout=8)
            elif answer == "quit":
                self.exit()

        if self.quit_when_synced:
            self.quit_when_synced = False
            self.notify("crmtui stays open after the sync.", title="Quit")
            return
        self.push_screen(Choose(f"A {kinds} sync is running: wait, or quit and let it finish "
                                "in the background?", detail,
                                [("w", "Wait, then quit", "wait"),
                                 ("q", "Quit now", "quit"),
                                 ("escape", "Keep working", "stay")], cancel="stay"),
                         answered)

    def finish_in_background(self, say: Callable[[str], None]) -> None:
        """After the screen closed: wait for the syncs still running, saying so (``say``
        writes a line to the shell)."""
        left = [kind for kind, ended in self.sync_ended.items() if not ended.is_set()]
        if not left:
            return
        names = " and the ".join(k.value for k in left)
        say(f"crmtui: the {names} sync is finishing in the background; crmtui ends when it "
            "does (Ctrl+C stops it now; the next sync picks up where it stopped).")
        for kind in left:
            self.sync_ended[kind].wait()
            say(f"crmtui: the {kind.value} sync {self.sync_results.get(kind, 'ended')}.")

    def action_undo(self) -> None:
        """Undo the last deletion or tag change (the screens record them in ``undo_log``)."""
        message, done = self.undo_log.undo(self.repo)
        self.notify(message, title="Undo", severity="information" if done else "warning")
        if done:
            self.data_changed()

    def action_transfer(self, mode: str) -> None:
        """Import or export a file (the palette's "data: …"): a dialog asks for the path."""
        from crmtui.screens.transfer import TransferDialog

        self.push_screen(TransferDialog(self.services, mode, on_change=self.data_changed))

    # -- keys -------------------------------------------------------------------------------------

    def apply_keymap(self) -> None:
        """Apply the config's ``[keys]`` (a remapped binding's keys replace its defaults); ids no
        binding has, and a remapped key another binding of the same screen also answers to, are
        reported, not ignored."""
        if not self.user_keymap:
            return
        unknown = sorted(set(self.user_keymap) - known_binding_ids())
        keymap = {k: v for k, v in self.user_keymap.items() if k not in unknown}
        self.set_keymap(keymap)
        if unknown:
            self.notify("No key binding has the id " + ", ".join(unknown)
                        + " (config.toml [keys]); press ? to see the ids.",
                        severity="warning", title="Keys", timeout=10, markup=False)
        clashes = keymap_clashes(keymap)
        if clashes:
            self.notify("\n".join(clashes) + "\nChoose other keys in config.toml [keys].",
                        severity="warning", title="Keys that clash", timeout=20, markup=False)

    # -- data written elsewhere -------------------------------------------------------------------

    def poll_store(self) -> None:
        if self.running:
            # Our own sync is writing: the screens reload when it ends (reloading at each of its
            # commits would make the UI wait for the store's lock again and again).
            return
        if self._store_check is None or self._store_check.is_finished:
            self._store_check = self.check_store()

    def watch_store(self) -> None:
        """Check the store whenever it may have changed: the repository says when (every
        ``store_poll`` seconds, or when told of a commit), in a thread of its own until the app
        ends (not a worker: it never finishes)."""
        stop = self._watch_stop

        def changed() -> None:
            if not stop.is_set():
                try:
                    self.call_from_thread(self.poll_store)
                except RuntimeError:  # the app ended meanwhile
                    stop.set()

        def watch() -> None:
            try:
                self.repo.watch(stop, changed, self.store_poll)
            except Exception:  # the app goes on without live updates
                log.warning("watching the store for changes failed", exc_info=True)

        threading.Thread(target=watch, name="crmtui-store-watch", daemon=True).start()

    def on_unmount(self) -> None:
        self._watch_stop.set()

    @work(thread=True, group="store-poll", exit_on_error=False)
    def check_store(self) -> None:
        generation = self.repo.generation  # reloads when another process committed
        if generation != self._seen_generation:
            self.call_from_thread(self.data_changed, generation)

    def data_changed(self, generation: int | None = None) -> None:
        """Tell every screen of every section to reload what it shows."""
        self._seen_generation = self.repo.generation if generation is None else generation
        for screen in self.all_screens():
            if isinstance(screen, Refreshable) and screen.is_mounted:
                screen.refresh_data()
        self.update_sync_bars()

    def all_screens(self) -> list[Screen[object]]:
        screens: list[Screen[object]] = []
        for stack in self._screen_stacks.values():
            screens.extend(s for s in stack if s not in screens)
        return screens

    def update_sync_bars(self) -> None:
        running = frozenset(self.running)
        for screen in self.all_screens():
            if screen.is_mounted:
                for bar in screen.query(SyncBar):
                    bar.show(running)

    # -- synchronize now --------------------------------------------------------------------------

    def action_sync_now(self, kind: str = "") -> None:
        """Synchronize ``kind`` now ("contacts", "activities"; "all", or "" for the current
        section's kind, else both)."""
        if not kind:
            kind = self.current_mode if self.current_mode in SECTION_KIND else "all"
        kinds = list(SyncKind) if kind == "all" else [SyncKind(kind)]
        if self.services.sync is None:
            self.notify("Synchronization is not available in this session.",
                        severity="error", title="Synchronize now")
            return
        if kind == "all":  # both: those set up, or contacts to say what is missing
            kinds = [k for k in kinds if self.kind_set_up(k)] or [SyncKind.CONTACTS]
        for each in kinds:
            self.start_sync(each)

    def kind_set_up(self, kind: SyncKind) -> bool:
        sync = self.services.sync
        return sync is not None and sync.kind_set_up(self.user_id, kind)

    def start_sync(self, kind: SyncKind, *, confirmed: bool = False, automatic: bool = False
                   ) -> bool:
        """Start a sync of ``kind`` in a worker; False (and a notice) when one is running."""
        label = kind.value
        if kind in self.running:
            if not automatic:
                self.notify(f"A {label} sync is already running; its progress is in the sync log "
                            "(key 5).", severity="warning", title="Synchronize now")
            return False
        self.running.add(kind)
        self.sync_ended[kind].clear()
        self.sync_log.progress[kind].running = True
        self.sync_log.progress[kind].message = "Starting"
        self.sync_log.progress[kind].done = self.sync_log.progress[kind].total = 0
        self.log_line(kind, ("Automatic sync started" if automatic else "Sync started")
                      + (" (the unlinking confirmed)" if confirmed else ""), "bold")
        self.show_progress(kind)
        self.update_sync_bars()
        self.run_worker(partial(self.sync_thread, kind, confirmed), thread=True,
                        group=f"sync-{label}", name=f"sync {label}", exit_on_error=False)
        return True

    def sync_thread(self, kind: SyncKind, confirmed: bool) -> None:
        """The worker: runs the service, reporting through messages only."""
        from crmtui.sync.service import SyncBusy

        service = self.services.sync
        assert service is not None
        pending = self._pending[kind]

        def progress(message: str, done: int, total: int) -> None:
            with self._pending_lock:
                changed = message != pending.message
                pending.message, pending.done, pending.total = message, done, total
                post = not pending.posted
                pending.posted = True
            if changed:
                self.post_message(SyncNote(kind, message))
            if post:
                self.post_message(SyncProgressed(kind))

        try:
            outcome = service.run(self.user_id, kind, confirmed=confirmed, progress=progress)
        except SyncBusy as exc:
            self.sync_results[kind] = f"did not run: {exc}"
            self.post_message(SyncFinished(kind, None, f"{exc} (in another crmtui or a cron "
                                           "`crmtui sync`); try again when it ends."))
        except Exception as exc:  # a bug: shown with its traceback in the log, never swallowed
            self.sync_results[kind] = f"failed: {exc}"
            self.post_message(SyncNote(kind, "".join(traceback.format_exception(exc)), "red"))
            self.post_message(SyncFinished(kind, None, f"internal error: {exc!r}"))
        else:
            self.sync_results[kind] = (
                "finished: " + outcome.report.summary().splitlines()[0]
                if outcome.status == "ok" else f"{outcome.status}: {outcome.message}")
            self.post_message(SyncFinished(kind, outcome, confirmed=confirmed))
        finally:
            self.sync_ended[kind].set()

    def note_from_thread(self, text: str) -> None:
        """The adapters' notes (retries, waits), from a sync thread."""
        self.post_message(SyncNote(None, text, "yellow"))

    @on(SyncProgressed)
    def sync_progressed(self, message: SyncProgressed) -> None:
        pending = self._pending[message.kind]
        with self._pending_lock:
            pending.posted = False
            state = self.sync_log.progress[message.kind]
            state.message, state.done, state.total = pending.message, pending.done, pending.total
        self.show_progress(message.kind)

    @on(SyncNote)
    def sync_note(self, message: SyncNote) -> None:
        self.log_line(message.kind, message.text, message.style)

    @on(SyncFinished)
    def sync_finished(self, message: SyncFinished) -> None:
        kind, outcome = message.kind, message.outcome
        self.running.discard(kind)
        state = self.sync_log.progress[kind]
        state.running = False
        title = f"{kind.value.capitalize()} sync"
        if outcome is None:
            state.message = f"Failed: {message.error}"
            self.log_line(kind, state.message, "bold red")
            self.notify(message.error, severity="error", title=title, timeout=12)
        elif outcome.status == "ok":
            summary = outcome.report.summary()
            state.message = "Done: " + summary.splitlines()[0]
            for line in summary.splitlines():
                self.log_line(kind, line, "green")
            lines = summary.splitlines()
            brief = "\n".join(lines[:3]) + ("\n… the rest is in the sync log (key 5)."
                                            if len(lines) > 3 else "")
            self.notify(brief, title=f"{title} finished", timeout=8)
        elif outcome.status == "stopped":
            state.message = "Stopped: waiting for your confirmation"
            self.log_line(kind, outcome.message, "bold yellow")
            self.ask_to_unlink(kind, outcome.message)
        else:
            state.message = f"Failed: {outcome.message}"
            self.log_line(kind, state.message, "bold red")
            self.notify(f"{outcome.message}\n{what_to_do(outcome.failure)}", severity="error",
                        title=f"{title} failed", timeout=12)
        self.show_progress(kind)
        self.data_changed()
        if self.quit_when_synced and not self.running:
            self.exit()

    def ask_to_unlink(self, kind: SyncKind, reason: str) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.start_sync(kind, confirmed=True)
            else:
                self.log_line(kind, "Not confirmed: nothing was unlinked.", "yellow")
                self.sync_log.progress[kind].message = "Stopped: not confirmed"
                self.show_progress(kind)

        self.push_screen(Confirm(f"The {kind.value} sync stopped before unlinking",
                                 f"{reason}\n\nUnlink them? (Nothing is deleted on either side.)",
                                 yes="Unlink and go on", no="Stop here"), answer)

    def log_line(self, kind: SyncKind | None, text: str, style: str = "") -> None:
        from crmtui.screens.sync_log import LogLine, SyncLogScreen

        line = LogLine(self.services.now(), kind, text, style)
        self.sync_log.lines.append(line)
        for screen in self.all_screens():
            if isinstance(screen, SyncLogScreen) and screen.is_mounted:
                screen.add_line(line)

    def show_progress(self, kind: SyncKind) -> None:
        from crmtui.screens.sync_log import SyncLogScreen

        for screen in self.all_screens():
            if isinstance(screen, SyncLogScreen) and screen.is_mounted:
                screen.show_progress(kind)

    # -- automatic sync ---------------------------------------------------------------------------

    def run_due_syncs(self) -> None:
        """Start each kind's automatic sync that is due (a failed run waits a period: the
        status says so)."""
        now = self.services.now()
        for kind in SyncKind:
            if kind in self.running or not self.kind_set_up(kind):
                continue
            if self.services.status(kind, now).due(now):
                self.start_sync(kind, automatic=True)


def what_to_do(failure: FailureKind | None) -> str:
    """What to do about a failed sync, by why it failed."""
    from crmtui.sync.state import FailureKind

    hints = {
        FailureKind.ACCOUNT: ("Open Profile → Accounts (key 3) to link or reconnect the Google "
                              "account."),
        FailureKind.SETUP_MISSING: "Open the sync settings (key 4) to set it up.",
    }
    return hints.get(failure or FailureKind.INTERNAL,
                     "The sync log (key 5) has the details; the next run picks up where this "
                     "one stopped.")


def crmtui_bindings() -> list[tuple[type, BindingType]]:
    """Every binding crmtui's app, screens and widgets declare, with the class declaring it."""
    import importlib
    import pkgutil

    from textual.widget import Widget

    import crmtui.screens
    import crmtui.widgets

    for package in (crmtui.screens, crmtui.widgets):  # every screen and widget, loaded or not
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: list[tuple[type, BindingType]] = []
    seen: set[type] = set()
    todo: list[type] = [CrmApp, Screen, Widget]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("crmtui."):
            found.extend((cls, binding) for binding in cls.__dict__.get("BINDINGS", []))
    return found


SCREEN_WIDGETS = {"ContactsScreen": ("LazyTable",), "ActivitiesScreen": ("LazyTable",),
                  "ActivityForm": ("PickerInput",)}
"""The widget classes with bindings of their own that a screen holds (their keys count as the
screen's when looking for clashes)."""


def keymap_clashes(keymap: Mapping[str, str]) -> list[str]:
    """A sentence for each remapped key that another binding of the same screen (its widgets'
    and the app's included) also answers to, naming both binding ids."""
    found = crmtui_bindings()
    by_class: dict[str, list[Binding]] = {}
    for cls, binding in found:
        if isinstance(binding, Binding) and binding.id:
            by_class.setdefault(cls.__name__, []).append(binding)

    def keys_of(binding: Binding) -> set[str]:
        text = keymap.get(binding.id or "", binding.key)
        return {key.strip() for key in text.split(",") if key.strip()}

    out: list[str] = []
    for cls, _ in found:
        if not issubclass(cls, Screen):
            continue
        own = [b for klass in cls.__mro__ for b in by_class.get(klass.__name__, [])
               if klass.__module__.startswith("crmtui.")]
        scope = own + [b for name in SCREEN_WIDGETS.get(cls.__name__, ())
                       for b in by_class.get(name, [])]
        scope += by_class.get("CrmApp", [])
        for remapped in scope:
            if remapped.id not in keymap:
                continue
            for other in scope:
                if other.id == remapped.id:
                    continue
                shared = keys_of(remapped) & keys_of(other)
                if not shared:
                    continue
                line = (f"{remapped.id} is now on {', '.join(sorted(shared))} (no longer "
                        f"{remapped.key}), but {other.id} on the same screen answers to "
                        f"{', '.join(sorted(shared))} too.")
                if line not in out:
                    out.append(line)
    return out


def known_binding_ids() -> set[str]:
    """Every binding id of crmtui's screens and widgets (and the app's)."""
    return {binding.id for _, binding in crmtui_bindings()
            if isinstance(binding, Binding) and binding.id}


def run_app(services: Services, keymap: Mapping[str, str] | None = None) -> None:
    """Run the terminal UI as ``services.user_id`` until the user quits; an exception that
    ended the app is raised again here, after the terminal is restored."""
    app = CrmApp(services, keymap=keymap)
    if not gc.isenabled():  # held back while crmtui starts (crmtui.cli.main)
        app.call_after_first_frame(gc.enable)
    app.run()
    try:
        app.finish_in_background(lambda text: print(text, file=sys.stderr, flush=True))
    except KeyboardInterrupt:  # the store's commits are atomic: what was committed stays
        print("crmtui: the sync was stopped; the next sync picks up where it stopped.",
              file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(130)  # without waiting for the sync's thread
    if app.crash is not None:
        raise app.crash

