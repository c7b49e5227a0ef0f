"""Schema migrations: the numbered SQL files in shop/migrations, applied in order, each once.

Deploys apply them inside `pulumi up`: the stack's migrator Lambda function (`handler`, in the VPC,
logged in as the master user from its Secrets Manager secret) is invoked whenever a file in the
folder changes, before any service or function that uses the database rolls
(components/migrations.py). Locally: `python -m shop.migrate` with DATABASE_URL or the PG* variables.

Each file applies in its own transaction, statement by statement, so a failure names the file,
the statement and PostgreSQL's error, and leaves nothing of that file behind; files applied
before it stay applied. Concurrent runs serialize on an advisory lock; applying twice changes
nothing (`schema_migrations` records what was applied).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import psycopg
import sqlparse
from psycopg.rows import dict_row

from shop.db import Connection, Database
from shop.settings import Settings

_LOCK_ID = 0x5E0B_0001  # advisory lock serializing migrators
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SHOWN_STATEMENT_CHARS = 300


@dataclass(frozen=True)
class Migration:
    version: str
    """The file name without `.sql`: what `schema_migrations` records."""
    file: str
    sql: str

    def statements(self) -> list[tuple[int, str]]:
        """(line, statement) for each statement, comments-only fragments left out.

        sqlparse (the splitter Django's RunSQL uses) keeps dollar-quoted bodies (`DO $$ ... $$`)
        and string literals whole."""
        found: list[tuple[int, str]] = []
        offset = 0
        for statement in sqlparse.split(self.sql):
            start = self.sql.find(statement, offset)
            offset = start + len(statement) if start >= 0 else offset
            if not sqlparse.format(statement, strip_comments=True).strip():
                continue
            line = self.sql.count("\n", 0, start) + 1 if start >= 0 else 0
            code_line = next((i for i, text in enumerate(statement.splitlines())
                              if text.strip() and not text.strip().startswith("--")), 0)
            found.append((line + code_line, statement))
        return found


class MigrationError(RuntimeError):
    """A migration failed; the message names the file, the statement and PostgreSQL's error."""

    def __init__(self, migration: Migration, error: psycopg.Error, *, number: int, count: int,
                 line: int, statement: str) -> None:
        reason = (error.diag.message_primary or str(error)).strip()
        code = [text for text in statement.splitlines() if text.strip()
                and not text.strip().startswith("--")]
        shown = " ".join(" ".join(code).split())
        if len(shown) > _SHOWN_STATEMENT_CHARS:
            shown = shown[:_SHOWN_STATEMENT_CHARS] + "..."
        super().__init__(f"{migration.file}: statement {number} of {count} (line {line}) failed: "
                         f"{reason} [{error.sqlstate or 'no SQLSTATE'}]; nothing of {migration.file} "
                         f"was applied. Statement: {shown}")
        self.file = migration.file
        self.line = line
        self.sqlstate = error.sqlstate


def migrations(folder: Traversable | None = None) -> list[Migration]:
    """Every migration of `folder` (default: the shop.migrations package), in order."""
    folder = folder or resources.files("shop.migrations")
    found = sorted(entry.name for entry in folder.iterdir() if _NAME.match(entry.name))
    return [Migration(version=name.removesuffix(".sql"), file=name,
                      sql=folder.joinpath(name).read_text(encoding="utf-8")) for name in found]


def migration_files(folder: Traversable | None = None) -> list[tuple[str, str]]:
    """(version, sql) for every migration, in order."""
    return [(m.version, m.sql) for m in migrations(folder)]


def apply_migrations(conn: Connection, folder: Traversable | None = None) -> list[str]:
    """Apply the migrations not yet recorded; returns the versions applied now.

    Raises MigrationError at the first failing statement (its file rolled back entirely)."""
    applied_now: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                            version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {row["version"] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in migrations(folder):
            if migration.version in done:
                continue
            statements = migration.statements()
            with conn.transaction():
                for number, (line, statement) in enumerate(statements, start=1):
                    try:
                        conn.execute(statement.encode())  # bytes: no placeholder parsing of `%`
                    except psycopg.Error as error:
                        raise MigrationError(migration, error, number=number,
                                             count=len(statements), line=line,
                                             statement=statement) from error
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)",
                             (migration.version,))
            applied_now.append(migration.version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now


# ----------------------------------------------------------------------------------------------
# The deploy's migrator (a Lambda function invoked by `pulumi up`)


def master_connection(environ: Mapping[str, str], secretsmanager: Any) -> Connection:
    """A connection as the master user: host, port, database and TLS from PG* variables, the user
    and password from the secret MASTER_SECRET_ARN names (RDS's `{"username", "password"}`)."""
    secret = json.loads(secretsmanager.get_secret_value(
        SecretId=environ["MASTER_SECRET_ARN"])["SecretString"])
    params: dict[str, Any] = {
        "host": environ["PGHOST"], "port": int(environ.get("PGPORT", "5432")),
        "dbname": environ.get("PGDATABASE", "shop"), "user": secret["username"],
        "password": secret["password"], "sslmode": environ.get("PGSSLMODE", "verify-full"),
        "connect_timeout": 10, "application_name": "shop-migrator"}
    if environ.get("PGSSLROOTCERT"):
        params["sslrootcert"] = environ["PGSSLROOTCERT"]
    return psycopg.connect(autocommit=True, row_factory=dict_row, **params)


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """Apply what is pending. A failure raises MigrationError, so the invocation (and the
    `pulumi up` that made it) fails with the file, the statement and PostgreSQL's error."""
    import boto3

    with master_connection(os.environ, boto3.client("secretsmanager")) as conn:
        applied = apply_migrations(conn)
        current = conn.execute("SELECT max(version) AS version FROM schema_migrations").fetchone()
    return {"applied": applied, "current": (current or {}).get("version")}


def main() -> None:
    database = Database(Settings.from_env(), max_size=1)
    try:
        with database.connection() as conn:
            applied = apply_migrations(conn)
    except (MigrationError, psycopg.Error) as error:
        raise SystemExit(f"migration failed: {error}") from error
    finally:
        database.close()
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none'}")


if __name__ == "__main__":
    main()
