"""PostgreSQL connections: one pool per process, IAM auth tokens minted per new connection in AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from shop.settings import ConfigurationError, Settings

Connection = psycopg.Connection[dict[str, Any]]


def _iam_token_factory(settings: Settings) -> Callable[[], str]:
    import boto3

    rds = boto3.client("rds", region_name=settings.require("region"))

    def token() -> str:
        # Valid 15 minutes; only used to open a connection, which then lives on.
        return str(rds.generate_db_auth_token(DBHostname=settings.db_host, Port=settings.db_port,
                                              DBUsername=settings.db_user))

    return token


def connection_params(settings: Settings) -> tuple[str, Callable[[], dict[str, Any]] | None]:
    """(conninfo, kwargs) for the pool; kwargs is evaluated for every new connection (fresh IAM token)."""
    if settings.database_url:
        return settings.database_url, None
    if not settings.db_host:
        raise ConfigurationError("DATABASE_URL or PGHOST is not set: see docs/checkout.md")
    base: dict[str, Any] = {"host": settings.db_host, "port": settings.db_port, "dbname": settings.db_name,
                            "user": settings.db_user, "sslmode": settings.db_sslmode,
                            "connect_timeout": 5, "application_name": "shop"}
    if settings.db_sslrootcert:
        base["sslrootcert"] = settings.db_sslrootcert
    if not settings.db_iam_auth:
        return "", lambda: dict(base)
    token = _iam_token_factory(settings)
    return "", lambda: {**base, "password": token()}


WAIT_SECONDS = 10.0  # how long a request waits for a connection (a busy pool, a database coming back)
# How long the pool keeps retrying one lost connection in the background before it gives up and
# leaves reconnecting to demand. psycopg_pool backs off 1, 2, 4, ... s within this window (300 s by
# default), so after an outage the next attempt could be a minute away while requests time out with
# the database long back. With a short window, a request that finds no connection starts an
# attempt at once, and the first request after the database is reachable gets a connection.
RECONNECT_WINDOW_SECONDS = 0.5


class Database:
    """A small pool of autocommit connections that return rows as dicts.

    Callers open transactions explicitly with `conn.transaction()`, so what commits together is
    visible in the code.

    Recovery after an outage: reconnection is driven by demand (see RECONNECT_WINDOW_SECONDS); while
    requests are waiting the pool keeps trying, and a connection found broken makes the pool check
    all its idle ones at once, so that a request does not meet them one by one (with backoff).
    """

    def __init__(self, settings: Settings, *, max_size: int | None = None,
                 wait_seconds: float = WAIT_SECONDS) -> None:
        conninfo, kwargs = connection_params(settings)
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo, kwargs=kwargs, connection_class=psycopg.Connection,
            min_size=1, max_size=max_size or settings.db_pool_max_size, open=False,
            configure=self._configure, reset=self._reset, check=self._check,
            timeout=wait_seconds, reconnect_timeout=RECONNECT_WINDOW_SECONDS,
            reconnect_failed=self._reconnect_failed, name="shop")

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            # One broken connection means the server went away: test the idle ones now and replace
            # the broken ones, rather than let this request meet them one at a time.
            self._pool.check()
            raise

    @staticmethod
    def _reconnect_failed(pool: ConnectionPool[Any]) -> None:
        # The window is over; if requests are still waiting, start again (check() grows an empty pool).
        if pool.get_stats().get("requests_waiting"):
            pool.check()

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        conn.autocommit = True
        conn.row_factory = dict_row
        conn.execute("SET TIME ZONE 'UTC'")

    @staticmethod
    def _reset(conn: psycopg.Connection[Any]) -> None:
        # A connection goes back to the pool without the checkout locks its user held.
        conn.execute("SELECT pg_advisory_unlock_all()")

    def open(self) -> Database:
        self._pool.open(wait=True, timeout=WAIT_SECONDS)
        return self

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if self._pool.closed:
            self.open()
        with self._pool.connection() as conn:
            yield conn
