"""A pytest plugin (tests/conftest.py loads it): the real stores and stand-ins the app tests run
against, each emptied for every test.

- PostgreSQL: one server per test process (xdist worker), started once per session from the Debian
  package's binaries as the `postgres` user when running as root, listening only on a unix socket in
  its own temporary directory; the schema comes from the real migrations. Each test starts from
  empty tables, then the catalog and two customers.
- AWS: moto's `mock_aws`, with the bus, rules, queues and DLQs, tables and SES identity laid out as
  the infrastructure lays them out.
- Payments: tests/support/stripe_standin.py, driven by the real `stripe` client.
- The read path: a Redis server with TLS and the stack's ACL (tests/support/redis.py), started once
  per session on a port chosen at import, and the OpenSearch stand-in (tests/support/opensearch.py).
- What a request left behind: every store's text (`stores`) and every log line written
  (`written_logs`).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from components.config import EVENT_SOURCE
from tests.support.app_env import (
    ALICE,
    BOB,
    BUS,
    CONSUMERS,
    DATABASE_URL,
    FROM_ADDRESS,
    MAX_RECEIVE_COUNTS,
    MOTO_CONFIG,
    PG_DIR,
    REDIS,
    REGION,
    SEARCH,
    TABLES,
)
from tests.support.opensearch import StandIn
from tests.support.postgres import PostgresServer, PostgresUnavailable
from tests.support.redis import RedisServer, RedisUnavailable
from tests.support.stripe_standin import StripeStandIn

if TYPE_CHECKING:
    from shop.runtime import AwsClients, AwsService

# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server for this test process with the shop's migrations applied; its URL."""
    import psycopg

    from shop.migrate import apply_migrations

    server = PostgresServer(PG_DIR)
    try:
        server.start()
    except PostgresUnavailable as error:
        server.stop()
        pytest.fail(str(error))
    try:
        url = server.create_database("shop")
        assert url == DATABASE_URL
        with psycopg.connect(DATABASE_URL, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
            apply_migrations(conn)
        yield DATABASE_URL
    finally:
        _close_handler_runtimes()
        server.stop()


def _close_handler_runtimes() -> None:
    for name, module in list(sys.modules.items()):
        if not name.startswith("shop."):
            continue
        consumer = getattr(module, "consumer", None)
        runtime = getattr(module, "runtime", None) or getattr(consumer, "runtime", None)
        if runtime is not None and hasattr(runtime, "close"):
            runtime.close()


# Children before parents: emptied with DELETE, which beats TRUNCATE on tables this small.
APP_TABLES = ("fulfillment_requests", "analytics_events", "co_purchases", "co_purchase_events", "email_log",
              "daily_sales", "outbox", "order_items", "orders", "payment_attempts", "checkouts", "products",
              "customers", "sign_in_links", "catalog_audit", "catalog_imports", "categories")

CATALOG = [("TEE-BLK-M", "Black tee, M", 2500, "USD"), ("MUG-WHT", "White mug", 1200, "USD"),
           ("CAP-RED", "Red cap", 1800, "USD"), ("EUR-ONLY", "Imported scarf", 3000, "EUR")]


@dataclass
class Db:
    url: str

    def connect(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        return psycopg.connect(self.url, autocommit=True, row_factory=dict_row)

    def rows(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return list(conn.execute(query, params).fetchall())

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"])

    def execute(self, query: str, params: Any = None) -> None:
        with self.connect() as conn:
            conn.execute(query, params)


@pytest.fixture
def db(postgres: str) -> Db:
    """Empty tables, then the catalog and two customers."""
    database = Db(postgres)
    with database.connect() as conn:
        with conn.transaction():
            for table in APP_TABLES:
                conn.execute(f"DELETE FROM {table}")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO products (sku, name, price_cents, currency) "
                               "VALUES (%s, %s, %s, %s)", CATALOG)
            cursor.executemany("INSERT INTO customers (customer_id, email, display_name) VALUES (%s, %s, %s)",
                               [(ALICE, "alice@example.com", "Alice"), (BOB, "bob@example.com", "Bob")])
    return database

# --- AWS (moto) ----------------------------------------------------------------------------------


@functools.cache
def aws_clients() -> AwsClients:
    """boto3 clients for the whole test process: creating one costs far more than a call, and moto
    intercepts a client whichever mock_aws context is active."""
    from shop.runtime import AwsClients

    return AwsClients(REGION)


@dataclass
class Aws:
    queues: dict[str, str] = field(default_factory=dict)
    dlqs: dict[str, str] = field(default_factory=dict)
    stripe_secret_arn: str = ""

    def client(self, service: AwsService) -> Any:
        return aws_clients().client(service)

    def sent_emails(self) -> list[Any]:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def depth(self, url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        values = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(values[name]) for name in names)

    def arn(self, url: str) -> str:
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])


@pytest.fixture
def aws() -> Iterator[Aws]:
    """The event flow and user-state tables as the stack defines them, in moto."""
    from moto import mock_aws  # imported once the environment is set (app_env), as in Lambda

    with mock_aws(config=MOTO_CONFIG):
        env = Aws()
        sqs, events, dynamodb = env.client("sqs"), env.client("events"), env.client("dynamodb")
        events.create_event_bus(Name=BUS)
        for name, detail_types in CONSUMERS.items():
            dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            redrive = {"deadLetterTargetArn": env.arn(dlq),
                       "maxReceiveCount": str(MAX_RECEIVE_COUNTS[name])}
            queue = sqs.create_queue(QueueName=name,
                                     Attributes={"RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
            arn = env.arn(queue)
            pattern = {"source": [EVENT_SOURCE], "detail-type": detail_types}
            events.put_rule(Name=f"{name}-rule", EventBusName=BUS, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=f"{name}-rule", EventBusName=BUS, Targets=[{"Id": name, "Arn": arn}])
            env.queues[name], env.dlqs[name] = queue, dlq
        for table, key in ((TABLES["carts"], "cart_id"), (TABLES["sessions"], "session_id"),
                           (TABLES["idempotency"], "id")):
            dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}])
        env.client("ses").verify_email_identity(EmailAddress=FROM_ADDRESS)
        env.stripe_secret_arn = env.client("secretsmanager").create_secret(
            Name="shop/stripe", SecretString=json.dumps({"api_key": "sk_test_standin"}))["ARN"]
        yield env


# --- payments ------------------------------------------------------------------------------------


@pytest.fixture
def stripe_api() -> Iterator[StripeStandIn]:
    server = StripeStandIn(api_key="sk_test_standin").start()
    yield server
    server.stop()


# --- the read path: Redis, the OpenSearch stand-in ------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        REDIS.start()
    except RedisUnavailable as error:
        REDIS.stop()
        pytest.fail(str(error))
    yield REDIS
    REDIS.stop()


@pytest.fixture
def cache_admin(redis_server: RedisServer) -> Any:
    """An admin connection to the test Redis, emptied first (the app user may not FLUSHALL)."""
    admin = redis_server.admin()
    admin.flushall()
    yield admin
    admin.close()


@pytest.fixture
def search_domain() -> StandIn:
    """The OpenSearch stand-in, emptied (tests/app/conftest.py empties it for every app test)."""
    SEARCH.reset()
    return SEARCH


CATEGORIES = [("apparel", "Apparel"), ("kitchen", "Kitchen"), ("empty-shelf", "Empty shelf")]


@dataclass
class Catalog:
    db: Db

    def put(self, sku: str, name: str, price_cents: int, *, category: str | None = "apparel",
            description: str = "", stock: int = 5, active: bool = True, currency: str = "USD") -> Any:
        """Insert or change a product as the admin would (version + 1); its snapshot."""
        from shop.events import ProductSnapshot

        with self.db.connect() as conn:
            row = conn.execute(
                """INSERT INTO products (sku, name, price_cents, currency, description, category, stock,
                                         active)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents,
                       currency = EXCLUDED.currency, description = EXCLUDED.description,
                       category = EXCLUDED.category, stock = EXCLUDED.stock, active = EXCLUDED.active,
                       version = products.version + 1, updated_at = now()
                   RETURNING version""",
                (sku, name, price_cents, currency, description, category, stock, active)).fetchone()
        return ProductSnapshot(sku=sku, name=name, description=description, category=category,
                               price_cents=price_cents, currency=currency, stock=stock, active=active,
                               version=int(row["version"]))


@pytest.fixture
def catalog(db: Db) -> Catalog:
    """The `db` fixture's catalog plus categories; the catalog's own tables emptied."""
    with db.connect() as conn, conn.transaction():
        conn.execute("DELETE FROM co_purchase_revisions")
        conn.execute("UPDATE products SET category = NULL")
        conn.execute("DELETE FROM categories")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO categories (slug, name) VALUES (%s, %s)", CATEGORIES)
        conn.execute("UPDATE products SET category = 'apparel' WHERE sku IN ('TEE-BLK-M', 'CAP-RED')")
        conn.execute("UPDATE products SET category = 'kitchen' WHERE sku = 'MUG-WHT'")
    return Catalog(db)


# --- what a request left behind -----------------------------------------------------------------


class WrittenLogs:
    """Everything the process's log handlers write while installed: their streams are swapped for
    a buffer (the handlers, their filters and formatters stay the ones the service runs with)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._swapped: list[tuple[logging.StreamHandler[Any], Any]] = []

    def install(self) -> WrittenLogs:
        loggers = [logging.getLogger(), *(logger for logger in logging.root.manager.loggerDict.values()
                                          if isinstance(logger, logging.Logger))]
        handlers = {id(h): h for logger in loggers for h in logger.handlers}
        for handler in handlers.values():
            # (a `_StderrHandler`, which a test dependency puts on its own logger, writes to sys.stderr)
            if type(handler) is logging.StreamHandler:
                self._swapped.append((handler, handler.setStream(self._buffer)))
        assert self._swapped, "no log handler to capture"
        # The last resort (records no handler took) writes to whatever sys.stderr is: stand in for
        # it with a handler that has its level, filters and formatter and writes here.
        self._last_resort = logging.lastResort
        if self._last_resort is not None:
            stand_in = logging.StreamHandler(self._buffer)
            stand_in.setLevel(self._last_resort.level)
            stand_in.filters = list(self._last_resort.filters)
            stand_in.setFormatter(self._last_resort.formatter)
            logging.lastResort = stand_in
        return self

    def uninstall(self) -> None:
        logging.lastResort = self._last_resort
        for handler, stream in reversed(self._swapped):
            handler.setStream(stream)

    def text(self) -> str:
        return self._buffer.getvalue()

    def mark(self) -> int:
        return len(self._buffer.getvalue())

    def since(self, mark: int) -> str:
        return self._buffer.getvalue()[mark:]


@pytest.fixture
def written_logs() -> Iterator[WrittenLogs]:
    logs = WrittenLogs().install()
    yield logs
    logs.uninstall()


@dataclass
class Stores:
    """The text of every place a request can leave data: every row of every PostgreSQL table, every
    DynamoDB item, every Redis key and value, every request the payment provider and the search
    domain received."""
    db: Db
    aws: Aws
    stripe_api: StripeStandIn
    cache: Any
    search: StandIn

    def postgres(self) -> str:
        tables = [row["table_name"] for row in self.db.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        query = " UNION ALL ".join(f"SELECT '{name}: ' || t::text AS line FROM {name} t" for name in tables)
        return "\n".join(row["line"] for row in self.db.rows(query))

    def dynamodb(self) -> str:
        client = self.aws.client("dynamodb")
        return "\n".join(json.dumps(item, default=str) for table in client.list_tables()["TableNames"]
                         for item in client.scan(TableName=table)["Items"])

    def payment_provider(self) -> str:
        return "\n".join(self.stripe_api.received)

    def redis(self) -> str:
        readers = {b"string": self.cache.get, b"hash": self.cache.hgetall, b"set": self.cache.smembers,
                   b"list": lambda key: self.cache.lrange(key, 0, -1),
                   b"zset": lambda key: self.cache.zrange(key, 0, -1)}
        return "\n".join(f"{key!r}: {readers[self.cache.type(key)](key)!r}" for key in self.cache.scan_iter())

    def search_domain(self) -> str:
        return "\n".join(f"{r.method} {r.path} {r.params} {r.body!r}" for r in list(self.search.log))


@pytest.fixture
def stores(db: Db, aws: Aws, stripe_api: StripeStandIn, cache_admin: Any, search_domain: StandIn) -> Stores:
    return Stores(db, aws, stripe_api, cache_admin, search_domain)

