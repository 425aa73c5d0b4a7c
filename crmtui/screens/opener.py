"""Opening ``mailto:`` and ``tel:`` addresses with the system's opener (xdg-open on Linux and the
BSDs, ``open`` on macOS, the shell on Windows), without waiting for it and without letting it
write on the terminal the TUI draws on."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from urllib.parse import quote

log = logging.getLogger(__name__)

Opener = Callable[[str], bool]
"""Opens an address; False when there is no opener to hand it to."""


def system_open(url: str) -> bool:
    """Hand ``url`` to the system's opener; False when there is none (a headless machine)."""
    if os.name == "nt":  # pragma: no cover (not the platform the tests run on)
        try:
            os.startfile(url)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    program = shutil.which("open" if sys.platform == "darwin" else "xdg-open")
    if program is None:
        return False
    try:
        subprocess.Popen([program, url], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        log.warning("cannot run %s %s: %s", program, url, exc)
        return False
    return True


def mailto(address: str) -> str:
    return "mailto:" + quote(address, safe="@+.-_")


def tel(number: str) -> str:
    """A ``tel:`` address: the digits, a leading + kept, the rest dropped."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return "tel:" + ("+" if number.strip().startswith("+") else "") + digits
