"""The PostgreSQL store's schema: its tables, its version and the steps between versions, and how
a database URL is opened (with every failure said in words).

crmtui creates and migrates the schema itself. The ``crmtui_meta`` table holds the schema version
(``schema``) and the change counter every commit raises (``generation``). A database whose
schema is newer than this crmtui understands is refused before anything is written.

Every record is kept as its JSON form (``doc``) beside the columns the queries need: search text
and sort keys computed by crmtui (case and accents folded as crmtui folds them), tags as an array,
emails case-folded. Each sort column's index carries the search text and the tags, so a filter
that matches many contacts walks one index in order, never the table. With the ``pg_trgm``
extension, text search uses a trigram index; without it (a database user who may not create
extensions) search scans the search column in the database.

Schema history:
- 1: the first layout (this file's ``_V1``).
- 2: each sort column's index carries the tags too, so that a tag filter walks it as a search
  does instead of reading the table and sorting what it found.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from crmtui.store.migrations import SchemaError
from crmtui.store.repository import StoreError

PG_SCHEMA_VERSION = 2
SCHEMA_LOCK = 0x63726D74  # advisory lock id held while the schema is created or migrated
CONNECT_TIMEOUT = 10
NOTIFY_CHANNEL = "crmtui_changes"

logger = logging.getLogger(__name__)

_V1 = """
CREATE TABLE crmtui_meta (key text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE users (
    id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL,
    email_key text NOT NULL UNIQUE, contact_id text COLLATE "C" NOT NULL DEFAULT '');
CREATE TABLE tags (
    id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL, kind text NOT NULL,
    owner_id text COLLATE "C" NOT NULL DEFAULT '', scope text COLLATE "C" NOT NULL,
    name_key text COLLATE "C" NOT NULL, UNIQUE (scope, name_key));
CREATE TABLE contacts (
    id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL,
    tags text[] COLLATE "C" NOT NULL DEFAULT '{}', emails text[] NOT NULL DEFAULT '{}',
    search text NOT NULL DEFAULT '', created timestamptz NOT NULL, modified timestamptz NOT NULL,
    k_name text COLLATE "C" NOT NULL, k_given_name text COLLATE "C" NOT NULL,
    k_family_name text COLLATE "C" NOT NULL, k_company text COLLATE "C" NOT NULL,
    k_job_title text COLLATE "C" NOT NULL, k_email text COLLATE "C" NOT NULL,
    k_phone text COLLATE "C" NOT NULL, k_birthday text COLLATE "C" NOT NULL);
CREATE INDEX contacts_tags ON contacts USING gin (tags);
CREATE INDEX contacts_emails ON contacts USING gin (emails);
CREATE INDEX contacts_created ON contacts (created, id) INCLUDE (search);
CREATE INDEX contacts_modified ON contacts (modified, id) INCLUDE (search);
CREATE INDEX contacts_k_name ON contacts (k_name, id) INCLUDE (search);
CREATE INDEX contacts_k_given_name ON contacts (k_given_name, id) INCLUDE (search);
CREATE INDEX contacts_k_family_name ON contacts (k_family_name, id) INCLUDE (search);
CREATE INDEX contacts_k_company ON contacts (k_company, id) INCLUDE (search);
CREATE INDEX contacts_k_job_title ON contacts (k_job_title, id) INCLUDE (search);
CREATE INDEX contacts_k_email ON contacts (k_email, id) INCLUDE (search);
CREATE INDEX contacts_k_phone ON contacts (k_phone, id) INCLUDE (search);
CREATE INDEX contacts_k_birthday ON contacts (k_birthday, id) INCLUDE (search);
CREATE TABLE activities (
    id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL,
    organizer_id text COLLATE "C" NOT NULL DEFAULT '', all_day boolean NOT NULL,
    start_at timestamptz, local_date date, sort_start timestamptz,
    show_in_calendar boolean NOT NULL, type text NOT NULL, status text NOT NULL,
    priority_rank int NOT NULL, title_key text COLLATE "C" NOT NULL,
    created timestamptz NOT NULL, modified timestamptz NOT NULL,
    ical_uid text NOT NULL DEFAULT '', series_id text COLLATE "C" NOT NULL DEFAULT '',
    search text NOT NULL DEFAULT '');
CREATE INDEX activities_sort_start ON activities (sort_start, id);
CREATE INDEX activities_modified ON activities (modified);
CREATE INDEX activities_organizer ON activities (organizer_id);
CREATE INDEX activities_participants ON activities USING gin ((doc -> 'participants') jsonb_path_ops);
CREATE INDEX activities_ical_uid ON activities (ical_uid) WHERE ical_uid <> '';
CREATE INDEX activities_series ON activities (series_id) WHERE series_id <> '';
CREATE TABLE accounts (
    id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL,
    user_id text COLLATE "C" NOT NULL, provider text NOT NULL);
CREATE TABLE sync_settings (
    user_id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL);
CREATE TABLE sync_state (
    key text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL);
CREATE TABLE sync_links (
    user_id text COLLATE "C" NOT NULL, kind text NOT NULL, local_id text COLLATE "C" NOT NULL,
    seq bigserial, remote_id text COLLATE "C" NOT NULL, etag text NOT NULL DEFAULT '',
    base jsonb NOT NULL DEFAULT '{}', synced timestamptz NOT NULL, remote_updated timestamptz,
    extra jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (user_id, kind, local_id), UNIQUE (user_id, kind, remote_id));
CREATE TABLE journal (
    id text COLLATE "C" PRIMARY KEY, seq bigserial, doc jsonb NOT NULL,
    user_id text COLLATE "C" NOT NULL, kind text NOT NULL, started timestamptz NOT NULL);
CREATE INDEX journal_user ON journal (user_id, started);
INSERT INTO crmtui_meta (key, value) VALUES ('schema', 1), ('generation', 0);
"""

TABLES = ("users", "tags", "contacts", "activities", "accounts", "sync_settings", "sync_state",
          "sync_links", "journal")
SORT_INDEXES = ("created", "modified", "k_name", "k_given_name", "k_family_name", "k_company",
                "k_job_title", "k_email", "k_phone", "k_birthday")
_V2 = "".join(f"DROP INDEX IF EXISTS contacts_{c};\n"
              f"CREATE INDEX contacts_{c} ON contacts ({c}, id) INCLUDE (search, tags);\n"
              for c in SORT_INDEXES)
MIGRATIONS: dict[int, str] = {  # version N -> the SQL that brings N to N + 1
    1: _V2,
}

PERMISSIONS = ("the database user needs CONNECT on the database and, to create the schema on "
               "first use, CREATE on its schema (public), and to bring it to a new crmtui's "
               "schema, to own crmtui's tables; afterwards USAGE on the schema, "
               "SELECT, INSERT, UPDATE and DELETE on crmtui's tables and USAGE on their "
               "sequences (see the README's \"Team\" section)")


def is_database_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "the database URL"
    user = f"{info['user']}@" if info.get("user") else ""
    host = info.get("host") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection to ``url`` (autocommit), or StoreError saying what is wrong and what to do."""
    if not is_database_url(url):
        raise StoreError(f"{url!r} is not a PostgreSQL URL; give one like "
                         "postgresql://USER@HOST:5432/DBNAME")
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"the database URL is not valid ({_first_line(exc)}); give one like "
                         "postgresql://USER@HOST:5432/DBNAME") from None
    where = describe(url)
    if not info.get("dbname"):
        raise StoreError(f"the database URL {where} names no database; add it at the end, "
                         "like postgresql://USER@HOST:5432/DBNAME")
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                               application_name="crmtui")
    except psycopg.OperationalError as exc:
        raise StoreError(connect_problem(where, info, exc)) from None
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to {where}: {_first_line(exc)}") from None
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1].strip() if text else type(exc).__name__


def connect_problem(where: str, info: dict[str, Any], exc: BaseException) -> str:
    """Why connecting to ``where`` failed, in one line that says what to do."""
    text = str(exc)
    db, user = info.get("dbname", ""), info.get("user") or "the database user"
    if "does not exist" in text and "database" in text:
        return (f"the database {db!r} does not exist on the server of {where}; create it "
                f"(createdb {db}) or correct the URL")
    if "role" in text and "does not exist" in text:
        return f"the server of {where} has no user {user!r}; create it or correct the URL"
    if "password authentication failed" in text or "no password supplied" in text \
            or "authentication failed" in text:
        return (f"the server of {where} refused the login of {user!r}; check the user and "
                "password in the URL (or ~/.pgpass)")
    if "permission denied" in text or "not permitted" in text or "pg_hba.conf" in text:
        return (f"the server of {where} does not let {user!r} connect to {db!r}; "
                "ask its administrator to grant CONNECT")
    if "timeout" in text.lower():
        return f"the server of {where} did not answer in {CONNECT_TIMEOUT} s; check it runs " \
               "and the host in the URL"
    return (f"cannot connect to {where} ({_first_line(exc)}); check that the server runs and "
            "the host and port in the URL")


def prepare(conn: psycopg.Connection[Any], where: str) -> bool:
    """Create or migrate the schema (under an advisory lock); returns whether text search has
    its trigram index. A newer schema raises SchemaError; missing rights raise StoreError.

    A database already at this version, with its trigram index, is seen in one query, without
    the lock (versions only go up, and only under it)."""
    try:
        row = conn.execute("SELECT (SELECT value FROM crmtui_meta WHERE key = 'schema'), "
                           "to_regclass('contacts_search_trgm') IS NOT NULL").fetchone()
    except psycopg.Error:  # no crmtui_meta (a new database), or not readable: the long way
        row = None
    if row is not None and row[0] is not None and int(row[0]) == PG_SCHEMA_VERSION and row[1]:
        return True
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            version = _version(conn)
            if version is None:
                if any(_exists(conn, name) for name in TABLES):
                    raise StoreError(
                        f"{where} holds tables named like crmtui's but no crmtui schema "
                        "version; use an empty database for crmtui")
                conn.execute(_V1)
                version = 1
            if version > PG_SCHEMA_VERSION:
                raise SchemaError(
                    f"the database {where} has schema version {version}, newer than this "
                    f"crmtui understands ({PG_SCHEMA_VERSION}); upgrade crmtui to use it")
            while version < PG_SCHEMA_VERSION:
                conn.execute(MIGRATIONS[version])
                version += 1
                conn.execute("UPDATE crmtui_meta SET value = %s WHERE key = 'schema'",
                             (version,))
    except pg_errors.InsufficientPrivilege as exc:
        raise StoreError(f"not allowed to set up crmtui's tables in {where} "
                         f"({_first_line(exc)}): {PERMISSIONS}") from None
    except psycopg.OperationalError as exc:
        raise StoreError(f"lost the connection to {where} while opening it "
                         f"({_first_line(exc)}); try again") from None
    return _trigram_index(conn, where)


def _version(conn: psycopg.Connection[Any]) -> int | None:
    if not _exists(conn, "crmtui_meta"):
        return None
    row = conn.execute("SELECT value FROM crmtui_meta WHERE key = 'schema'").fetchone()
    if row is None:
        raise SchemaError("the database's crmtui_meta table has no schema version; restore it "
                          "from a backup")
    return int(row[0])


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    return row is not None and row[0] is not None


def _trigram_index(conn: psycopg.Connection[Any], where: str) -> bool:
    """Make sure contact search has its trigram index (pg_trgm); False when it cannot."""
    has = conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'contacts_search_trgm'"
                       ).fetchone()
    if has:
        return True
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            conn.execute("CREATE INDEX IF NOT EXISTS contacts_search_trgm ON contacts "
                         "USING gin (search gin_trgm_ops)")
        return True
    except psycopg.Error as exc:
        logger.warning("%s: no trigram index for contact search (%s); searches scan the "
                       "contacts table. A superuser can run CREATE EXTENSION pg_trgm in the "
                       "database once", where, _first_line(exc))
        return False
