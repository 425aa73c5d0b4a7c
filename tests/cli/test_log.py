"""The log: crmtui.log in the data directory (0600), errors and tracebacks in it, -v, redaction."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crmtui.cli import cli
from crmtui.log import LOG_FILE, log_file, redact, setup_logging
from crmtui.store import TinyDBRepository

from .conftest import Crm


def log_text(crm: Crm) -> str:
    return (crm.data_dir / LOG_FILE).read_text(encoding="utf-8")


def test_the_log_is_created_in_the_data_directory_readable_by_its_owner_only(
        crm: Crm, ann: dict[str, Any]) -> None:
    crm.ok("users", "list")
    path = crm.data_dir / LOG_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert log_file() == path


def test_a_rotated_log_file_is_private_too(tmp_path: Path) -> None:
    setup_logging(tmp_path)
    logger = logging.getLogger("crmtui.test")
    for _ in range(3):
        logger.info("x" * 600_000)
    assert (tmp_path / f"{LOG_FILE}.1").is_file()
    for path in tmp_path.glob(f"{LOG_FILE}*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_error_is_logged(crm: Crm, ann: dict[str, Any]) -> None:
    err = crm.fails("users", "default", "nobody@example.com")
    assert "no user has the email nobody@example.com" in err
    assert "ERROR crmtui.cli.root" in log_text(crm)
    assert "crmtui users default: EMAIL: no user has the email nobody@example.com" in log_text(crm)


def test_an_unexpected_exception_logs_its_traceback_and_shows_one_error_line(
        crm: Crm, ann: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: TinyDBRepository) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(TinyDBRepository, "list_users", broken)
    err = crm.fails("users", "list")
    path = crm.data_dir / LOG_FILE
    assert err == f"Error: unexpected error (RuntimeError: boom); the details are in {path}\n"
    text = log_text(crm)
    assert "crmtui users list: unexpected error" in text
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text


def test_verbose_prints_the_records_on_stderr(crm: Crm, ann: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(crm.data_dir), "-v", "users", "default",
                                      "nobody@example.com"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "crmtui: debug: crmtui users started" in lines
    assert any(line.startswith("crmtui: error: crmtui users default: EMAIL: no user has the "
                               "email nobody@example.com") for line in lines)
    assert lines[-1].startswith("Error: ")
    quiet = crm.run("users", "default", "nobody@example.com")
    assert "crmtui: " not in quiet.stderr  # without -v, only the Error: line


def test_tokens_secrets_and_codes_are_scrubbed(tmp_path: Path) -> None:
    setup_logging(tmp_path)
    logger = logging.getLogger("crmtui.sync.google.auth")
    logger.info("token response %s", {"access_token": "ya29.a0xyzzy1",
                                      "refresh_token": "1//0gxyzzy2xyzzy2", "expires_in": 3599})
    logger.info("POST /token code=4/0AXxyzzy3&client_secret=GOCSPX-xyzzy4&grant_type=x")
    logger.info('{"client_secret": "xyzzy5", "client_id": "crm.apps"}')
    logger.info("Authorization: Bearer xyzzy6")
    try:
        raise ValueError("refresh_token: xyzzy7")
    except ValueError:
        logger.exception("refresh failed")
    text = (tmp_path / LOG_FILE).read_text(encoding="utf-8")
    assert "xyzzy" not in text
    assert "ya29" not in text and "1//" not in text and "4/0" not in text
    assert '"expires_in": 3599' in text or "'expires_in': 3599" in text
    assert "crm.apps" in text and "refresh failed" in text and "Traceback" in text


def test_redaction_leaves_ordinary_text_alone() -> None:
    text = "sync contacts of user u1: end, status ok, counts {'google_created': 3}; exit code 3"
    assert redact(text) == text
    assert redact("the refresh token was revoked") == "the refresh token was revoked"
    for prose in ("Google refused the authorization: mismatching_state",
                  "the basic plan is fine", "authorization: the sign-in was cancelled"):
        assert redact(prose) == prose
    assert redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic [redacted]"
