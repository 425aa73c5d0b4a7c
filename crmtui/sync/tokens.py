"""Where linked accounts' tokens live, and forgetting an account: no Google library needed.

Tokens live in ``<data dir>/tokens/<account id>.json``; :mod:`crmtui.sync.google.auth` writes
and reads them. The UI unlinks an account through :func:`unlink_account` (screens cannot import
the Google package).
"""

from __future__ import annotations

from pathlib import Path

from crmtui.store import Repository

TOKENS_DIR = "tokens"


def token_file(data_dir: Path, account_id: str) -> Path:
    """Where the tokens of account ``account_id`` are kept."""
    return Path(data_dir) / TOKENS_DIR / f"{account_id}.json"


def delete_credentials(data_dir: Path, account_id: str) -> None:
    """Remove the account's token file (nothing when there is none)."""
    token_file(data_dir, account_id).unlink(missing_ok=True)


def unlink_account(repo: Repository, data_dir: Path, account_id: str) -> None:
    """Forget an account: its token file, then its record (NotFound when there is none)."""
    repo.get_account(account_id)
    delete_credentials(data_dir, account_id)
    repo.delete_account(account_id)
