"""The per-data-directory configuration file, ``config.toml``.

Flat ``key = "value"`` settings (``default_user``, an email; ``database``, the URL of a team's
PostgreSQL database, ``postgresql://USER@HOST:5432/DBNAME``) and a ``[keys]`` table that remaps
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


FIX = "fix it or remove it (crmtui then uses its defaults)"


def _read(path: Path) -> str | None:
    """The file's text, or None when there is no file. A file that cannot be read, or is not
    UTF-8 text, raises ConfigError naming it and saying what to do."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not the configuration file; "
                          "remove it") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}; make it readable "
                          f"by you, or remove it") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not UTF-8 text (line {line} holds the byte "
                          f"0x{raw[exc.start]:02x}); save it as UTF-8, or remove it (crmtui then uses "
                          "its defaults)") from None


def load(directory: Path) -> dict[str, Any]:
    path = config_file(directory)
    text = _read(path)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; {FIX}") from None


def set_value(directory: Path, key: str, value: str) -> None:
    """Set a top-level string ``key``, keeping the rest of the file as it is."""
    path = config_file(directory)
    text = _read(path)
    lines = [] if text is None else text.splitlines()
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


DATABASE_URL_SCHEMES = ("postgresql://", "postgres://")
DATABASE_ENV = "CRMTUI_DATABASE"


def database(directory: Path) -> str | None:
    """The ``database`` setting: a PostgreSQL URL, or None (the data directory's own file).

    A value that is not text or not a ``postgresql://`` URL raises ConfigError."""
    value = load(directory).get("database")
    if value is None or value == "":
        return None
    path = config_file(directory)
    if not isinstance(value, str) or not value.startswith(DATABASE_URL_SCHEMES):
        raise ConfigError(f"{path}: database must be a PostgreSQL URL in quotes, like "
                          'database = "postgresql://USER@HOST:5432/DBNAME"; ' + FIX)
    return value


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
