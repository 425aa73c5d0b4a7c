"""Where linked accounts' tokens live: no Google library and no store needed.

Tokens live in ``<data dir>/tokens/<account id>.json``; :mod:`crmtui.sync.google.auth` writes
and reads them, :class:`crmtui.sync.accounts.AccountService` deletes them when it unlinks an
account.
"""

from __future__ import annotations

from pathlib import Path

TOKENS_DIR = "tokens"


def token_file(data_dir: Path, account_id: str) -> Path:
    """Where the tokens of account ``account_id`` are kept."""
    return Path(data_dir) / TOKENS_DIR / f"{account_id}.json"


def delete_credentials(data_dir: Path, account_id: str) -> None:
    """Remove the account's token file (nothing when there is none)."""
    token_file(data_dir, account_id).unlink(missing_ok=True)
