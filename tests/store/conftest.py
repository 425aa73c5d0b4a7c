"""Fixtures of the store tests: the PostgreSQL server and its per-test databases."""

from .pgserver import new_database, pg_server, pg_url

__all__ = ["new_database", "pg_server", "pg_url"]
