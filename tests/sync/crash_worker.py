"""One sync in its own process, for the SIGKILL tests: ``python crash_worker.py DATA_DIR USER_ID
[contacts|activities]`` (contacts when left out). Wired as ``crmtui sync contacts --yes`` /
``crmtui sync activities --yes`` wire it (the factories, the saved account); prints ``ready`` once
everything is imported, so the test times its kill from the sync's start. Exit status 0 when the
run completed, 1 otherwise.

The tests import :func:`start_worker` and :func:`wait_for_request` from here."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from crmtui.model import SyncKind
from crmtui.store import open_store
from crmtui.sync.google.factory import calendar_remote_factory, contacts_remote_factory
from crmtui.sync.service import SyncService

if TYPE_CHECKING:
    from crmtui.emulator import Emulator


def start_worker(data_dir: Path, user_id: str, kind: str = "contacts"
                 ) -> subprocess.Popen[str]:
    """This script in a subprocess, once it says ``ready``."""
    proc = subprocess.Popen([sys.executable, __file__, str(data_dir), user_id, kind],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def wait_for_request(emu: Emulator, proc: subprocess.Popen[str], path_end: str) -> bool:
    """Wait until the worker has sent a request whose path ends with ``path_end`` (False if it
    ended first)."""
    while proc.poll() is None:
        with emu.state.lock:
            if any(r.path.endswith(path_end) for r in emu.state.requests):
                return True
        time.sleep(0.01)
    return False


def main(data_dir: str, user_id: str, kind: str = "contacts") -> int:
    repo = open_store(data_dir)
    service = SyncService(repo, data_dir, contacts_remote_factory(data_dir),
                          calendar_remote_factory(data_dir))
    print("ready", flush=True)
    outcome = service.run(user_id, SyncKind(kind), confirmed=True)
    repo.close()
    print(outcome.status, outcome.message, flush=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
