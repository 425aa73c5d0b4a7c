"""People API v1 (placeholder: being written)."""

from __future__ import annotations

from typing import Any

from crmtui.emulator.state import Account, EmulatorState


class PeopleApi:
    name = "people"

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Any]:
        return []

    def new_account(self, account: Account) -> None:
        account.data[self.name] = {}

    def dump(self, account: Account) -> Any:
        return {}

    def load(self, account: Account, data: Any) -> None:
        pass
