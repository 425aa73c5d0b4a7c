"""A loopback emulator of Google People v1, Calendar v3 and OAuth, for tests and the demo."""

from crmtui.emulator.http import Request, Response, Route
from crmtui.emulator.server import Emulator, running_emulator

__all__ = ["Emulator", "Request", "Response", "Route", "running_emulator"]
