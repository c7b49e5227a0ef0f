"""Schema migrations: the numbered SQL files in shop/migrations, applied in order, each once.

Run as `python -m shop.migrate` (a one-off ECS task of the order-api image before a deploy that
needs it). Concurrent runs serialize on an advisory lock; each file applies in its own transaction.
"""

from __future__ import annotations

import re
from importlib import resources

import psycopg

from shop.db import Connection, Database
from shop.settings import Settings

_LOCK_ID = 0x5E0B_0001  # advisory lock serializing migrators
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration, in order."""
    folder = resources.files("shop.migrations")
    found = sorted(entry.name for entry in folder.iterdir() if _NAME.match(entry.name))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text(encoding="utf-8")) for name in found]


def apply_migrations(conn: Connection) -> list[str]:
    """Apply the migrations not yet recorded; returns the versions applied now."""
    applied_now: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                            version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {row["version"] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            with conn.transaction():
                conn.execute(sql.encode())
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied_now.append(version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now


def main() -> None:
    database = Database(Settings.from_env(), max_size=1)
    try:
        with database.connection() as conn:
            applied = apply_migrations(conn)
    except psycopg.Error as error:
        raise SystemExit(f"migration failed: {error}") from error
    finally:
        database.close()
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none'}")


if __name__ == "__main__":
    main()
