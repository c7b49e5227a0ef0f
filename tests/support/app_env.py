"""The app tests' environment, set before any `shop` module is imported (handlers read it once at
import, as they do in Lambda), and the process-wide facts the app fixtures share: names of the bus,
tables and queues as the stack lays them out, the two customers, the PostgreSQL and Redis
directories, and the OpenSearch stand-in, which runs from import and checks every request's SigV4
signature. The fixtures are in tests/support/app_stores.py and app_clients.py; this module has none.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from components.config import DEFAULT_CONSUMERS
from tests.support.opensearch import StandIn
from tests.support.redis import RedisServer, free_port

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

# The two customers of the `db` fixture.
ALICE = "0b6e8c0e-2f7e-4f6c-9a0b-3c1f2d4e5a61"
BOB = "7d2f1a9c-5b3e-4c8d-8e6f-1a2b3c4d5e6f"
