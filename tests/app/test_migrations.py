"""Schema migrations against the real PostgreSQL: idempotent, all-or-nothing per file, and the
workload roles they create log in and do only what their code needs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.app_env import PG_DIR
from tests.support.app_stores import Db


def _admin_url(database: str) -> str:
    return f"postgresql://postgres@/{database}?host={PG_DIR}&port=5432"


@pytest.fixture
def empty_database(postgres: str) -> Iterator[str]:
    """A new, empty database on the test server (roles are server-wide and may exist already)."""
    name = f"migrate_{secrets.token_hex(4)}"
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _admin_url(name)
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def connect(url: str) -> Any:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def schema_of(url: str) -> dict[str, list[Any]]:
    """Everything a migration may change: columns, constraints, indexes, grants, login roles."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
                   "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
        "constraints": "SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS d "
                       "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "grants": "SELECT grantee, table_name, privilege_type FROM information_schema.table_privileges "
                  "WHERE table_schema = 'public' ORDER BY 1, 2, 3",
        "roles": "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1",
        "versions": "SELECT version FROM schema_migrations ORDER BY 1",
    }
    with connect(url) as conn:
        return {name: [tuple(row.values()) for row in conn.execute(query)]
                for name, query in queries.items()}


def test_applying_the_migrations_twice_changes_nothing(empty_database: str) -> None:
    from shop.migrate import apply_migrations, migrations

    # GIVEN an empty database, migrated once
    with connect(empty_database) as conn:
        first = apply_migrations(conn)
    assert first == [m.version for m in migrations()]
    before = schema_of(empty_database)

    # WHEN the migrations run again (a redeploy, or a second migrator racing the first)
    with connect(empty_database) as conn:
        second = apply_migrations(conn)

    # THEN nothing is applied and the schema, grants and roles are exactly as they were
    assert second == []
    assert schema_of(empty_database) == before


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql)
    return folder


def test_a_broken_migration_fails_naming_its_file_and_statement_and_leaves_none_of_it(
        empty_database: str, tmp_path: Path) -> None:
    from shop.migrate import MigrationError, apply_migrations

    # GIVEN a good migration and, after it, one whose third statement names a missing table
    folder = write_migrations(tmp_path / "migrations", {
        "0001_widgets.sql": "CREATE TABLE widgets (id int PRIMARY KEY);\n",
        "0002_gadgets.sql": ("-- gadgets belong to widgets\n"
                             "CREATE TABLE gadgets (id int PRIMARY KEY);\n"
                             "INSERT INTO gadgets VALUES (1);\n"
                             "\n"
                             "ALTER TABLE gizmos\n    ADD COLUMN colour text;\n"),
    })

    # WHEN they are applied
    with connect(empty_database) as conn, pytest.raises(MigrationError) as failure:
        apply_migrations(conn, folder)

    # THEN the error names the file, the statement, where it is and PostgreSQL's reason
    message = str(failure.value)
    assert message.startswith("0002_gadgets.sql: statement 3 of 3 (line 5) failed: ")
    assert 'relation "gizmos" does not exist' in message
    assert "ALTER TABLE gizmos ADD COLUMN colour text;" in message
    assert failure.value.sqlstate == "42P01"
    # AND the good file stays applied while nothing of the broken one remains
    with connect(empty_database) as conn:
        versions = [r["version"] for r in conn.execute("SELECT version FROM schema_migrations")]
        assert versions == ["0001_widgets"]
        assert conn.execute("SELECT to_regclass('gadgets') AS t").fetchone()["t"] is None

    # WHEN the file is fixed and the migrations run again
    (folder / "0002_gadgets.sql").write_text("CREATE TABLE gadgets (id int PRIMARY KEY);\n")
    with connect(empty_database) as conn:
        # THEN only the fixed file applies
        assert apply_migrations(conn, folder) == ["0002_gadgets"]


def test_a_statement_with_a_percent_sign_or_a_dollar_quoted_body_applies_whole(
        empty_database: str, tmp_path: Path) -> None:
    from shop.migrate import apply_migrations

    folder = write_migrations(tmp_path / "migrations", {"0001_mixed.sql": (
        "CREATE TABLE notes (body text);\n"
        "INSERT INTO notes VALUES ('100%; done');\n"
        "DO $$ BEGIN INSERT INTO notes VALUES ('from a block; with a semicolon'); END $$;\n")})
    with connect(empty_database) as conn:
        assert apply_migrations(conn, folder) == ["0001_mixed"]
        bodies = {r["body"] for r in conn.execute("SELECT body FROM notes")}
    assert bodies == {"100%; done", "from a block; with a semicolon"}


def test_the_migrator_function_logs_in_as_the_master_user_from_its_secret(
        empty_database: str, aws: Any) -> None:
    """The Lambda handler `pulumi up` invokes: master credentials from Secrets Manager (moto),
    connection settings from its environment, then the pending migrations."""
    from shop.migrate import handler, migrations

    # GIVEN the master secret as RDS stores it and the function's environment
    secret_arn = aws.client("secretsmanager").create_secret(
        Name="rds!cluster-test", SecretString=json.dumps({"username": "postgres",
                                                          "password": "unused-with-trust"}))["ARN"]
    database = urlsplit(empty_database).path.lstrip("/")
    environment = {"MASTER_SECRET_ARN": secret_arn, "PGHOST": str(PG_DIR), "PGPORT": "5432",
                   "PGDATABASE": database, "PGSSLMODE": "disable"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)

        # WHEN `pulumi up` invokes it on a new database, and again with nothing new
        first = handler({}, None)
        second = handler({}, None)

    # THEN the first run applies everything, the second nothing
    versions = [m.version for m in migrations()]
    assert first == {"applied": versions, "current": versions[-1]}
    assert second == {"applied": [], "current": versions[-1]}


def login(role: str) -> Any:
    """A new session logged in as the workload's own role (the test server trusts the socket)."""
    return psycopg.connect(f"postgresql://{role}@/shop?host={PG_DIR}&port=5432", autocommit=True)


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    ("order_api", "SELECT count(*) FROM products", "UPDATE products SET price_cents = 1"),
    ("storefront", "SELECT count(*) FROM products", "SELECT count(*) FROM orders"),
    ("admin", "UPDATE products SET name = name WHERE false", "DELETE FROM orders"),
    ("outbox_relay", "UPDATE outbox SET published_at = now() WHERE false", "SELECT count(*) FROM orders"),
    ("analytics", "SELECT count(*) FROM analytics_events", "INSERT INTO orders DEFAULT VALUES"),
    ("email", "SELECT count(*) FROM email_log", "SELECT count(*) FROM payment_attempts"),
])
def test_a_workload_role_logs_in_and_does_only_what_its_code_needs(
        db: Db, role: str, allowed: str, refused: str) -> None:
    with login(role) as conn:
        assert conn.execute("SELECT current_user AS u").fetchone() == (role,)
        conn.execute(allowed)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(refused)
