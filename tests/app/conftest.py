"""Real dependencies for the app tests: a PostgreSQL server, moto (in-process AWS), a Stripe stand-in.

- PostgreSQL: one server per test process (xdist worker), started once per session from the Debian
  package's binaries as the `postgres` user when running as root, listening only on a unix socket in
  its own temporary directory; the schema comes from the real migrations. Each test starts from
  empty tables.
- AWS: moto's `mock_aws`, with the bus, rules, queues and DLQs, tables and SES identity laid out as
  the infrastructure lays them out.
- Payments: tests/app/stripe_standin.py, driven by the real `stripe` client.
- The read path: a Redis server with TLS and the stack's ACL (tests/support/redis.py), started once
  per session on a port chosen at import, and the OpenSearch stand-in (tests/support/opensearch.py),
  which checks every request's SigV4 signature, running from import; both emptied for each test.
- Staff sign-in: the ALB's key server and token signer (tests/app/alb_standin.py), once per session.
- The services of tests/app/services.py under uvicorn (`service`), each with the parts it needs.

The environment below is set before any `shop` module is imported, because handlers read it once
at import, as they do in Lambda.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import secrets
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from components.config import DEFAULT_CONSUMERS, EVENT_SOURCE

APP_CODE = Path(__file__).resolve().parents[2] / "app_code"
sys.path.insert(0, str(APP_CODE))

REGION = "us-east-1"
PG_DIR = Path(tempfile.gettempdir()) / f"shop-pg-{os.getpid()}-{secrets.token_hex(3)}"
DATABASE_URL = f"postgresql://postgres@/shop?host={PG_DIR}&port=5432"
BUS = "shop-orders"
TABLES = {"carts": "shop-carts", "sessions": "shop-sessions", "idempotency": "shop-idempotency"}
FROM_ADDRESS = "orders@shop.example"
# Consumers and the events they subscribe to: the stack's default consumers (components/config.py).
CONSUMERS = {spec.name: list(spec.events) for spec in DEFAULT_CONSUMERS}
MAX_RECEIVE_COUNTS = {spec.name: spec.max_receive_count for spec in DEFAULT_CONSUMERS}
REDIS_DIR = Path(tempfile.gettempdir()) / f"shop-redis-{os.getpid()}-{secrets.token_hex(3)}"
CACHE_USER = "shop-cache-app"

from tests.support.opensearch import StandIn  # noqa: E402
from tests.support.redis import RedisServer, RedisUnavailable, free_port  # noqa: E402

# SigV4 is checked with the test credentials, and with moto's, which mock_aws puts in the environment.
SEARCH = StandIn(credentials={"testing": "testing", "FOOBARKEY": "FOOBARSECRET"}).start()
REDIS = RedisServer(REDIS_DIR, app_user=CACHE_USER, port=free_port())

os.environ.update({
    "SEARCH_ENDPOINT": SEARCH.url, "SEARCH_SIGV4": "true",
    "CACHE_HOST": "127.0.0.1", "CACHE_PORT": str(REDIS.port), "CACHE_USER": CACHE_USER,
    "CACHE_NAME": "shop-cache", "CACHE_TLS": "true", "CACHE_CA_FILE": str(REDIS.ca_file),
})
os.environ.update({
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "DATABASE_URL": DATABASE_URL, "EVENT_BUS_NAME": BUS, "CARTS_TABLE": TABLES["carts"],
    "SESSIONS_TABLE": TABLES["sessions"], "IDEMPOTENCY_TABLE": TABLES["idempotency"],
    "SES_FROM_ADDRESS": FROM_ADDRESS, "POWERTOOLS_SERVICE_NAME": "shop-tests",
    "DB_POOL_MAX_SIZE": "4", "PUBLIC_BASE_URL": "https://shop.example.com",
})

from moto import mock_aws  # noqa: E402  (after the environment, as in Lambda)

# moto also answers `requests` calls whose URL looks like an AWS endpoint, wherever it points: a
# schema-fuzzing request to http://127.0.0.1:<port>/catalog/categories/es.amazonaws.com/products was
# answered by moto, not by the service. Nothing local is AWS. (A `core` given replaces all of moto's
# `core` defaults, hence the others, unchanged.)
MOTO_CONFIG: Any = {"core": {"mock_credentials": True, "reset_boto3_session": True, "service_whitelist": None,
                             "passthrough": {"urls": [r"https?://127\.0\.0\.1[:/]"], "services": []}}}


def _pin_hypothesis_constants() -> None:
    """Hypothesis mixes literals from whichever project modules are imported at the time into what
    it generates ("local constants"), so even derandomized tests drew different examples depending
    on which test files had run before in the worker. Pinned to none: the examples depend on the
    test alone. (hypothesis is pinned in requirements-dev.txt; a version without this hook fails here.)"""
    from hypothesis.internal.conjecture import providers

    assert callable(providers._get_local_constants), "hypothesis changed: revisit _pin_hypothesis_constants"
    none_local = providers._local_constants
    assert not any(none_local.set_for_type(kind) for kind in ("integer", "float", "bytes", "string"))
    providers._get_local_constants = lambda: none_local


_pin_hypothesis_constants()

from tests.app.alb_standin import AlbStandIn  # noqa: E402
from tests.app.services import SERVICES, Parts, Service  # noqa: E402
from tests.app.stripe_standin import StripeStandIn  # noqa: E402
from tests.support.postgres import PostgresServer, PostgresUnavailable  # noqa: E402

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


ALICE = "0b6e8c0e-2f7e-4f6c-9a0b-3c1f2d4e5a61"
BOB = "7d2f1a9c-5b3e-4c8d-8e6f-1a2b3c4d5e6f"

# --- AWS (moto) ----------------------------------------------------------------------------------


@functools.cache
def _clients() -> Any:
    """boto3 clients for the whole test process: creating one costs far more than a call, and moto
    intercepts a client whichever mock_aws context is active."""
    from shop.runtime import AwsClients

    return AwsClients(REGION)


def _client(service: str) -> Any:
    return _clients().client(service)


@dataclass
class Aws:
    queues: dict[str, str] = field(default_factory=dict)
    dlqs: dict[str, str] = field(default_factory=dict)
    stripe_secret_arn: str = ""

    def client(self, service: str) -> Any:
        return _client(service)

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


# --- the shop's runtime, the API and the handlers ------------------------------------------------


@pytest.fixture
def runtime(db: Db, aws: Aws, stripe_api: StripeStandIn) -> Iterator[Any]:
    """The order service's dependencies against the real server, moto and the stand-in.

    The payment timeout is short (1 s) so that "timeout after charging" resolves quickly, yet long
    enough for a loaded machine to answer ordinary calls to the local stand-in.
    """
    from shop.runtime import Runtime
    from shop.settings import Settings

    settings = replace(Settings.from_env(), stripe_api_base=stripe_api.url, payment_timeout_seconds=1.0,
                       stripe_secret_arn=aws.stripe_secret_arn, db_pool_max_size=40)
    runtime = Runtime(settings, aws=_clients())
    yield runtime
    runtime.close()


@pytest.fixture
def api(runtime: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from shop.order_service.app import create_app

    with TestClient(create_app(lambda: runtime), raise_server_exceptions=False) as client:
        yield client


@dataclass
class FakeLambdaContext:
    function_name: str = "shop-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:shop-test"
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION} for m in messages]}


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def drain(aws: Aws, lambda_context: FakeLambdaContext) -> Callable[..., list[dict[str, Any]]]:
    """Play the Lambda event source mapping for one queue until it is empty.

    Each poll receives up to batch_size messages, invokes the handler, and deletes every message not
    listed in batchItemFailures; failed ones are visible again at once, and SQS moves a message to the
    DLQ once it was received max-receive-count times. Returns the handler's responses.
    """

    def run(consumer: str, handler: Handler, *, batch_size: int = 10,
            max_polls: int = 20) -> list[dict[str, Any]]:
        sqs = aws.client("sqs")
        url = aws.queues[consumer]
        arn = aws.arn(url)
        responses: list[dict[str, Any]] = []
        for _ in range(max_polls):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch_size, VisibilityTimeout=0,
                                           AttributeNames=["All"]).get("Messages", [])
            if not messages:
                return responses
            try:
                response = handler(sqs_event(messages, arn), lambda_context)
            except Exception as error:  # an invocation error returns the whole batch to the queue
                response = {"error": repr(error),
                            "batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            responses.append(response)
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"{consumer} queue did not drain in {max_polls} polls")

    return run


# --- a signed-in customer driving the API ------------------------------------------------------


@dataclass
class Shopper:
    client: Any
    token: str
    customer_id: str
    shipping: dict[str, str] = field(default_factory=lambda: {"country": "DE", "postal_code": "10115"})

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cart(self, items: dict[str, int]) -> str:
        response = self.client.post("/api/carts", headers=self.headers)
        assert response.status_code == 201, response.text
        cart_id = str(response.json()["cart_id"])
        for sku, quantity in items.items():
            put = self.client.put(f"/api/carts/{cart_id}/items/{sku}", json={"quantity": quantity},
                                  headers=self.headers)
            assert put.status_code == 200, put.text
        return cart_id

    def body(self, cart_id: str, *, key: str | None = None,
             payment_method: str = "pm_card_visa") -> dict[str, Any]:
        return {"cart_id": cart_id, "payment_method": payment_method,
                "idempotency_key": key or f"key-{uuid.uuid4()}", "shipping": self.shipping}

    def checkout(self, cart_id: str, *, key: str | None = None, payment_method: str = "pm_card_visa") -> Any:
        body = self.body(cart_id, key=key, payment_method=payment_method)
        return self.client.post("/api/checkout", json=body, headers=self.headers)


@pytest.fixture
def alice(api: Any, runtime: Any) -> Shopper:
    return Shopper(api, runtime.sessions.create(ALICE), ALICE)


@pytest.fixture
def bob(api: Any, runtime: Any) -> Shopper:
    return Shopper(api, runtime.sessions.create(BOB), BOB)


# --- the order service served over HTTP by uvicorn --------------------------------------------


@dataclass
class Served:
    url: str
    runtime: Any
    app: Any = None

    def session(self, customer_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.runtime.sessions.create(customer_id)}"}


@contextlib.contextmanager
def serve(app: Any, runtime: Any) -> Iterator[Served]:
    """The app under uvicorn on an ephemeral port, as an ECS service runs it (access log on).

    The listening socket is bound before the server thread starts, so clients can connect at once
    (their connections wait in the backlog until uvicorn accepts them).
    """
    import socket
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=True,
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", runtime, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def served(runtime: Any) -> Iterator[Served]:
    """The order service under uvicorn."""
    from shop.order_service.app import create_app

    with serve(create_app(lambda: runtime), runtime) as server:
        yield server


@dataclass
class ServiceUnderTest:
    """One service of tests/app/services.py, running under uvicorn with the parts it needs."""
    spec: Service
    served: Served
    parts: Parts

    @property
    def name(self) -> str:
        return self.spec.name

    def signed_in(self, customer_id: str) -> dict[str, str]:
        """The headers of a caller signed in as this customer (or as staff, on the admin)."""
        return self.spec.headers(self.parts, customer_id)


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
def service(request: pytest.FixtureRequest) -> Iterator[ServiceUnderTest]:
    """Each service of tests/app/services.py under uvicorn, started (lifespan run) before the test,
    with the runtime fixture and the further fixtures its entry names."""
    import httpx

    spec: Service = request.param
    parts = Parts(request.getfixturevalue(spec.runtime),
                  {name: request.getfixturevalue(name) for name in spec.needs})
    with serve(spec.create_app(parts), parts.runtime) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            client.get("/")  # the server has run the app's startup once it answers
        yield ServiceUnderTest(spec, server, parts)


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


# --- the read path: Redis, the OpenSearch stand-in, the storefront --------------------------------


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


@pytest.fixture(autouse=True)
def search_domain() -> StandIn:
    """The OpenSearch stand-in, empty at the start of every test."""
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
    """The conftest catalog plus categories; the catalog's own tables emptied."""
    with db.connect() as conn, conn.transaction():
        conn.execute("DELETE FROM co_purchase_revisions")
        conn.execute("UPDATE products SET category = NULL")
        conn.execute("DELETE FROM categories")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO categories (slug, name) VALUES (%s, %s)", CATEGORIES)
        conn.execute("UPDATE products SET category = 'apparel' WHERE sku IN ('TEE-BLK-M', 'CAP-RED')")
        conn.execute("UPDATE products SET category = 'kitchen' WHERE sku = 'MUG-WHT'")
    return Catalog(db)


@pytest.fixture
def storefront_runtime(catalog: Catalog, aws: Aws, cache_admin: Any) -> Iterator[Any]:
    """The storefront's dependencies as the stack configures them: the real cache client (TLS, the
    IAM token as the password), the search client (SigV4), the database, DynamoDB (moto)."""
    from shop.runtime import Runtime
    from shop.settings import Settings

    runtime = Runtime(Settings.from_env(), aws=_clients())
    yield runtime
    runtime.close()


@pytest.fixture
def storefront(storefront_runtime: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from shop.storefront.app import create_app

    with TestClient(create_app(lambda: storefront_runtime), raise_server_exceptions=False) as client:
        yield client


# --- staff sign-in at the load balancer (the admin service) -------------------------------------


@pytest.fixture(scope="session")
def alb_server() -> Iterator[AlbStandIn]:
    stand_in = AlbStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def alb(alb_server: AlbStandIn) -> AlbStandIn:
    """The ALB stand-in's key server, its request log emptied."""
    alb_server.key_requests.clear()
    return alb_server
