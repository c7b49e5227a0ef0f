"""After a database outage, the first request once the database is reachable gets a connection.

A PostgreSQL server of its own is stopped (as a crash would) while requests keep arriving, then
started again. The service's pool may make a request wait at most one second for a connection
here (WAIT), so "answered, not 503" on the first request after the server accepts connections
again means it got its connection within a second of the database being reachable. Nothing here
measures time: connecting over a local socket takes milliseconds even on a loaded machine, while the
pool's old behaviour (reconnect attempts backing off 1, 2, 4, ... s in the background) misses the
second by seconds.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.app_env import ALICE
from tests.support.app_stores import Aws, aws_clients
from tests.support.postgres import PostgresServer
from tests.support.stripe_standin import StripeStandIn

WAIT = 1.0
OUTAGE_REQUESTS = 3  # each waits WAIT: long enough for the old backoff to reach 4 s


@pytest.fixture
def database() -> Iterator[tuple[PostgresServer, str]]:
    from shop.migrate import apply_migrations

    directory = Path(tempfile.gettempdir()) / f"shop-pg-outage-{os.getpid()}-{secrets.token_hex(3)}"
    server = PostgresServer(directory)
    try:
        server.start()
        url = server.create_database("shop")
        with psycopg.connect(url, autocommit=True) as conn:
            apply_migrations(conn)  # type: ignore[arg-type]
        yield server, url
    finally:
        server.stop()


def test_the_first_request_after_an_outage_gets_a_connection_within_a_second(
        database: tuple[PostgresServer, str], aws: Aws, stripe_api: StripeStandIn) -> None:
    from fastapi.testclient import TestClient

    from shop.db import Database
    from shop.order_service.app import create_app
    from shop.runtime import Runtime
    from shop.settings import Settings

    server, url = database
    settings = replace(Settings.from_env(), database_url=url, stripe_api_base=stripe_api.url,
                       stripe_secret_arn=aws.stripe_secret_arn, db_pool_max_size=4)
    runtime = Runtime(settings, aws=aws_clients())
    runtime.db = Database(settings, wait_seconds=WAIT)
    body = {"cart_id": "no-such-cart", "payment_method": "pm_card_visa", "idempotency_key": "outage-key-1",
            "shipping": {"country": "DE", "postal_code": "10115"}}

    with TestClient(create_app(lambda: runtime), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {runtime.sessions.create(ALICE)}"}

        def checkout() -> Any:
            return client.post("/api/checkout", json=body, headers=headers)

        # GIVEN a service whose database answers (checkout reaches it: an unknown cart is a 404)
        assert checkout().status_code == 404
        # WHEN the database goes away while requests keep coming
        server.halt()
        assert [checkout().status_code for _ in range(OUTAGE_REQUESTS)] == [503] * OUTAGE_REQUESTS
        # AND comes back
        server.resume()
        with psycopg.connect(url):
            pass  # reachable from here on

        # THEN the very next request is answered, having waited at most WAIT for its connection
        answer = checkout()
        assert answer.status_code == 404, answer.text
