"""OAuth endpoints (placeholder: being written)."""

from __future__ import annotations

from typing import Any


def routes(emulator: Any) -> list[Any]:
    return []
