"""Fixtures of the command-line tests: a runner bound to a temporary data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crmtui.cli import cli
from crmtui.cli import session as cli_session
from crmtui.store import TinyDBRepository, open_store


@dataclass
class Crm:
    """Runs ``crmtui --data-dir DIR ...`` in process and checks the outcome."""

    data_dir: Path

    def run(self, *args: str, input: str | None = None) -> Result:
        # catch_exceptions=False: a traceback fails the test instead of hiding in the result.
        return CliRunner().invoke(cli, ["--data-dir", str(self.data_dir), *args], input=input,
                                  catch_exceptions=False)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self.run(*args, input=input)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int = 1, input: str | None = None) -> str:
        """Run a command that must fail; return its stderr (which never holds a traceback).

        Nothing is printed on stdout, so a script reading ``--json`` output never parses half
        an answer.
        """
        result = self.run(*args, input=input)
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert result.stdout == "" and "Traceback" not in result.stderr
        if code == 1:
            assert result.stderr.startswith("Error: "), result.stderr
        return result.stderr

    @contextmanager
    def store(self) -> Iterator[TinyDBRepository]:
        repo = open_store(self.data_dir)
        try:
            yield repo
        finally:
            repo.close()

    def add_user(self, name: str, email: str, *extra: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("users", "add", "--name", name, "--email", email,
                                           *extra)
        return result

    def add_contact(self, *args: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("contacts", "add", *args)
        return result


@pytest.fixture
def crm(tmp_path: Path) -> Crm:
    """A fresh data directory with no user."""
    return Crm(tmp_path / "crm")


@pytest.fixture
def ann(crm: Crm) -> dict[str, Any]:
    """The only (so the current) user."""
    return crm.add_user("Ann Lee", "ann@example.com")


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the CLI believe a person sits at the terminal."""
    monkeypatch.setattr(cli_session, "stdin_is_tty", lambda: True)
