"""One contact sync in its own process, for the SIGKILL test: ``python crash_worker.py DATA_DIR
USER_ID``. Wired as ``crmtui sync contacts --yes`` wires it (the factory, the saved account);
prints ``ready`` once everything is imported, so the test times its kill from the sync's start.
Exit status 0 when the run completed, 1 otherwise."""

from __future__ import annotations

import sys

from crmtui.model import SyncKind
from crmtui.store import open_store
from crmtui.sync.google.factory import contacts_remote_factory
from crmtui.sync.service import SyncService


def main(data_dir: str, user_id: str) -> int:
    repo = open_store(data_dir)
    service = SyncService(repo, data_dir, contacts_remote_factory(repo, data_dir))
    print("ready", flush=True)
    outcome = service.run(user_id, SyncKind.CONTACTS, confirmed=True)
    repo.close()
    print(outcome.status, outcome.message, flush=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
