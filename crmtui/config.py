"""The per-data-directory configuration file, ``config.toml``.

Flat ``key = "value"`` settings (``default_user``, an email) and a ``[keys]`` table that remaps
the TUI's keys by binding id (the ``?`` list shows them). crmtui keeps the tables as they are when it
writes the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from crmtui.paths import config_file


class ConfigError(ValueError):
    pass


def load(directory: Path) -> dict[str, Any]:
    path = config_file(directory)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def set_value(directory: Path, key: str, value: str) -> None:
    """Set a top-level string ``key``, keeping the rest of the file as it is."""
    path = config_file(directory)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    new_line = f"{key} = {quoted}"
    for i, line in enumerate(lines):
        if line.startswith("["):
            lines.insert(i, new_line)
            break
        if line.split("=", 1)[0].strip() == key:
            lines[i] = new_line
            break
    else:
        lines.append(new_line)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def keymap(directory: Path) -> dict[str, str]:
    """The ``[keys]`` table: binding ids mapped to the keys that replace their defaults, e.g.
    ``"contacts.new" = "insert"`` or ``"app.sync_now" = "f5,y"`` (several keys, comma separated).
    """
    table = load(directory).get("keys", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_file(directory)}: [keys] must be a table of "
                          '"binding.id" = "key" lines')
    out: dict[str, str] = {}
    for binding_id, keys in table.items():
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(f"{config_file(directory)}: [keys] {binding_id!r} must be a "
                              'key name in quotes, e.g. "f5" or "ctrl+r"')
        out[str(binding_id)] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return out
