"""Where crmtui keeps its files.

The data directory is, in order: ``--data-dir``, the ``CRMTUI_HOME`` environment variable, or the
platform's user data directory (``~/.local/share/crmtui`` on Linux). It holds the database
(``crmtui.json``), its lock, ``config.toml`` and, later, OAuth tokens (0600).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_HOME = "CRMTUI_HOME"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("crmtui", appauthor=False))


def demo_dir(base: Path | None = None) -> Path:
    """The demo's data directory: beside the normal one, never mixed with real data."""
    return (base or data_dir()) / "demo"


def config_file(directory: Path) -> Path:
    return directory / "config.toml"
