"""The crmtui command line: the TUI by default, and scripting commands for every record kind.

``crmtui`` with no command opens the TUI; ``crmtui users|tags|contacts|activities ...``,
``crmtui import`` and ``crmtui export`` script the same database; ``crmtui account`` links Google
accounts, ``crmtui sync`` synchronizes with them; ``crmtui emulator`` runs the built-in Google
emulator (``crmtui --demo`` runs it too, in process). This package is the entry layer, where
every layer is wired together (:mod:`crmtui.cli.wiring`). Textual (through ``crmtui.app``), the
formats, the Google adapters and the emulator are imported lazily, inside the commands that need
them, so a scripting command starts fast and never loads the UI; and the command modules load
when their command is named (:data:`~crmtui.cli.root.COMMAND_MODULES`), so the TUI loads none.

The modules: :mod:`~crmtui.cli.root` (the ``crmtui`` group, its global options, ``main``),
:mod:`~crmtui.cli.session` (data directory, store, current user, ids given on the command line),
:mod:`~crmtui.cli.output` (``--json``, tables, ``Error:`` lines), :mod:`~crmtui.cli.wiring` (the
services), and one module per command group (with :mod:`~crmtui.cli.activity_times`, the activities'
times as the commands take and show them).
"""

from __future__ import annotations

import gc

# No collections while the command line's modules load (see main): they allocate much and free
# almost nothing.
_collecting = gc.isenabled()
gc.disable()
try:
    from crmtui.cli.root import cli, main
    from crmtui.cli.session import stdin_is_tty
    from crmtui.cli.wiring import tui_services
finally:
    if _collecting:
        gc.enable()

__all__ = ["cli", "main", "stdin_is_tty", "tui_services"]
