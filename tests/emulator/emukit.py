"""Helpers for the emulator's conformance tests (imported as ``emukit``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from crmtui.emulator import Emulator
from crmtui.emulator.control_client import EmulatorControl, control

__all__ = ["EmulatorControl", "Google", "control", "credentials"]


def credentials(info: dict[str, Any]) -> Credentials:
    """Credentials for an account the control API created (refreshable at the emulator)."""
    return Credentials(token=info["access_token"], refresh_token=info["refresh_token"],
                       client_id=info["client_id"], client_secret=info["client_secret"],
                       token_uri=info["token_uri"], scopes=info["scopes"])


class Google:
    """One emulator account seen through the real client library."""

    def __init__(self, emu: Emulator, email: str) -> None:
        self.emu = emu
        self.email = email
        self.info = EmulatorControl(emu).create_account(email)
        self.creds = credentials(self.info)
        self.people = build("people", "v1", credentials=self.creds, static_discovery=True,
                            client_options={"api_endpoint": emu.base_url})
        self.calendar = build("calendar", "v3", credentials=self.creds, static_discovery=True,
                              client_options={"api_endpoint": emu.base_url + "/calendar/v3/"})

    def people_batch(self, callback: Callable[..., None] | None = None) -> BatchHttpRequest:
        return BatchHttpRequest(callback=callback, batch_uri=self.emu.base_url + "/batch")

    def calendar_batch(self, callback: Callable[..., None] | None = None) -> BatchHttpRequest:
        return BatchHttpRequest(callback=callback,
                                batch_uri=self.emu.base_url + "/batch/calendar/v3")
