"""``crmtui emulator``: run in the foreground as a subprocess, served, stopped by a signal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from emukit import EmulatorControl, Google, credentials
from google.auth.transport.requests import Request as GoogleRequest

from crmtui.demo import google_accounts
from crmtui.emulator import Emulator

EVENT = {"summary": "Kept across restarts",
         "start": {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Paris"},
         "end": {"dateTime": "2026-12-01T11:00:00+01:00", "timeZone": "Europe/Paris"}}


@dataclass
class Served:
    """A running ``crmtui emulator``: its process, its URL and the first lines it printed."""

    process: subprocess.Popen[str]
    base_url: str
    banner: list[str]

    @property
    def emulator(self) -> Emulator:
        """Stands in for an :class:`Emulator` for the test helpers (they need ``base_url``)."""
        return cast(Emulator, self)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=20)
        return self.process.returncode, "\n".join(self.banner) + "\n" + out, err


@contextmanager
def crmtui_emulator(*args: str) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    process = subprocess.Popen([sys.executable, "-m", "crmtui", "emulator", "--port", "0",
                                *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    try:
        banner: list[str] = []
        while not banner or not banner[-1].startswith("Press Ctrl-C"):
            line = process.stdout.readline() if process.stdout else ""
            if not line:
                pytest.fail(f"crmtui emulator exited: {process.communicate()}")
            banner.append(line.rstrip("\n"))
        found = re.search(r"at (http://\S+)$", banner[0])
        assert found, banner
        yield Served(process, found.group(1), banner)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_state_is_saved_on_a_signal_and_loaded_again(tmp_path: Path, signum: int) -> None:
    state = tmp_path / "google.json"
    with crmtui_emulator("--state", str(state)) as served:
        assert served.base_url.startswith("http://127.0.0.1:")
        google = Google(served.emulator, "ann@example.com")
        google.calendar.events().insert(calendarId="primary", body=EVENT).execute()
        code, out, err = served.stop(signum)
    assert code == 0, err
    assert f"the state is saved in {state}" in out and "Traceback" not in err
    assert "ann@example.com" in json.loads(state.read_text())["accounts"]
    with crmtui_emulator("--state", str(state)) as served:
        assert "Accounts: ann@example.com" in served.banner
        found = Google(served.emulator, "ann@example.com").calendar.events().list(
            calendarId="primary").execute()["items"]
        assert [e["summary"] for e in found] == [EVENT["summary"]]
        assert served.stop()[0] == 0


def test_seed_demo_creates_the_demo_accounts() -> None:
    with crmtui_emulator("--seed", "demo") as served:
        banner = "\n".join(served.banner)
        for name, email in google_accounts():
            assert f"{name} <{email}>" in banner
        assert f"POST {served.base_url}/__emulator/accounts" in banner
        demo_user = Google(served.emulator, google_accounts()[0][1])
        assert demo_user.calendar.events().list(calendarId="primary").execute()["items"]
        assert served.stop()[0] == 0


def test_token_lifetime_sets_how_long_access_tokens_live() -> None:
    with crmtui_emulator("--token-lifetime", "120") as served:
        info: dict[str, Any] = EmulatorControl(served.emulator).create_account("ann@example.com")
        creds = credentials(info)
        creds.refresh(GoogleRequest())
        assert creds.expiry is not None
        assert creds.expiry < datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=121)
        assert served.stop()[0] == 0


def test_a_non_loopback_host_is_warned_about() -> None:
    with crmtui_emulator("--host", "0.0.0.0") as served:
        code, _, err = served.stop()
    assert code == 0
    assert "Warning: listening on 0.0.0.0, not on loopback" in err
