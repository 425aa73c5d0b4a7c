"""crmtui's log: ``crmtui.log`` in the data directory, set up once at start by the entry layer.

The file rotates at 1 MB, keeping 3 old files (``crmtui.log.1`` ...), and is created readable by
its owner only (0600). ``verbose`` also prints the records on stderr (without tracebacks: those
stay in the file). The modules log through ``logging.getLogger(__name__)`` under the ``crmtui``
logger; nothing else needs to know where the records go.

A redaction filter on every handler scrubs what must never be written: OAuth access and refresh
tokens, ID tokens, client secrets, authorization codes and ``Authorization`` headers, in
``key=value``, ``"key": "value"`` and ``key: value`` forms and as bare Google tokens. Callers never
log whole records (a contact, an activity): ids, counts and statuses only.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

LOG_FILE = "crmtui.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
LOGGER = "crmtui"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
REDACTED = "[redacted]"

_SECRET_KEYS = (r"access_token|refresh_token|id_token|client_secret|code|token|assertion|"
                r"password|authorization|api_key|apikey|secret")
_REDACTIONS = (
    # "refresh_token": "1//abc", 'token': 'x' (JSON, Python reprs)
    (re.compile(rf"""(?i)(["'](?:{_SECRET_KEYS})["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2"""),
     rf"\1\2{REDACTED}\2"),
    # access_token=abc&..., code=4/xyz (query strings, form bodies)
    (re.compile(rf"""(?i)\b((?:{_SECRET_KEYS})=)[^&\s"',;)}}\]]+"""), rf"\1{REDACTED}"),
    # refresh_token: abc, client secret = abc (key: value lines; not the short keys, nor
    # "authorization", which prose uses: "the authorization: mismatching_state")
    (re.compile(r"(?i)\b((?:access|refresh|id)[_ ]token|client[_ ]secret)"
                r"(\s*[:=]\s*)(?!\[redacted\])(?:bearer\s+)?[^\s\"',;)}\]]+"),
     rf"\1\2{REDACTED}"),
    # Authorization: Bearer abc, Authorization: Basic abc
    (re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(authorization\s*:\s*basic\s+)[\w.~+/=-]+"), rf"\1{REDACTED}"),
    # Google's own token shapes, wherever they appear
    (re.compile(r"\bya29\.[\w.-]+"), REDACTED),
    (re.compile(r"\b1//[\w.-]{10,}"), REDACTED),
    (re.compile(r"\bGOCSPX-[\w-]+"), REDACTED),
    (re.compile(r"\b4/0[\w.-]{10,}"), REDACTED),
)


def redact(text: str) -> str:
    """``text`` with every token, secret and authorization code replaced by ``[redacted]``."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Scrubs a record's message, traceback and stack before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what was given, scrubbed
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating file handler whose files (the first and each one after a rollover) are 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.chmod(self.baseFilename, 0o600)  # an older file, or one made under another umask
        except OSError:
            pass
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class _StderrHandler(logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stderr`` is now (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


class _NoTracebackFormatter(logging.Formatter):
    """stderr shows one line a record; the traceback is in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info or record.exc_text:
            text += f" (the traceback is in {log_file() or 'the log'})"
        return f"crmtui: {record.levelname.lower()}: {text}"


_installed: list[logging.Handler] = []
_log_path: Path | None = None


def log_file() -> Path | None:
    """The log file the records go to now (None: logging is not set up, or the file could not be
    opened)."""
    return _log_path


def setup_logging(data_dir: Path, verbose: bool = False) -> Path | None:
    """Send the ``crmtui`` records to ``data_dir/crmtui.log`` (and, ``verbose``, to stderr).

    Called again (tests run many commands in one process), it replaces what it set up before.
    A data directory that cannot be written to leaves the file out; the command still runs.
    Returns the log file's path, or None without one.
    """
    global _log_path
    logger = logging.getLogger(LOGGER)
    for handler in _installed:
        logger.removeHandler(handler)
        handler.close()
    _installed.clear()
    _log_path = None
    redactor = RedactFilter()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOG_FILE
        file_handler: logging.Handler = _PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        pass
    else:
        file_handler.setFormatter(logging.Formatter(FORMAT))
        file_handler.addFilter(redactor)
        _installed.append(file_handler)
        _log_path = path
    if verbose:
        stderr_handler = _StderrHandler()
        stderr_handler.setFormatter(_NoTracebackFormatter())
        stderr_handler.addFilter(redactor)
        _installed.append(stderr_handler)
    for handler in _installed:
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    return _log_path
