"""Cache-aside in front of the catalog reads, on ElastiCache (Valkey/Redis) through redis-py.

What a read does (`ReadCache.read`):
1. GET the key. A hit answers; a negative entry (an unknown or delisted SKU) answers "not found".
2. A miss goes through a per-process single flight: of many concurrent misses on one key, one
   thread (the leader) looks once more in the cache, then loads from PostgreSQL and stores the
   result; the others wait for its answer. So a burst of misses on a hot key costs one query per
   storefront task (not one per request).
3. Stored entries expire after their TTL times a random factor in [1 - jitter, 1 + jitter], so keys
   filled together do not expire together. Unknown keys are cached for a shorter negative TTL.
4. If the cache cannot be reached (connect error, timeout, auth), the read goes to the database
   (still single-flight), a warning is logged at most once per `warn_every` seconds, and the
   `CacheErrors` metric counts it. For `retry_after` seconds after a failure the cache is not
   tried at all, so an outage costs no connect timeout per request.

Product entries carry the product's version (`<version>|<json>`) and are written by a script that
never replaces a newer version with an older one: a read that loaded version 4 from a lagging
replica cannot overwrite the version 5 that `product.updated` just stored (`store_product`, used
by the cache-invalidator consumer). Listing and category pages are keyed by a catalog generation
number that every `product.updated` increments, so a changed product leaves no stale page behind.

The client (`connect`) speaks TLS and authenticates as the cache's IAM-enabled user with a fresh
SigV4 token per connection (`IamAuthToken`), as the stack's ElastiCache user group requires.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import redis
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.retry import Retry

from shop.settings import ConfigurationError, Settings

logger = logging.getLogger("shop.cache")

KEY_PREFIX = "catalog:v1:"
GENERATION_KEY = f"{KEY_PREFIX}generation"
PRODUCT_TTL_SECONDS = 15 * 60
PAGE_TTL_SECONDS = 5 * 60
NEGATIVE_TTL_SECONDS = 60
TTL_JITTER = 0.1
IAM_TOKEN_SECONDS = 900  # ElastiCache accepts a token for 15 minutes; it is only used to connect
FLIGHT_TIMEOUT_SECONDS = 30.0
_SEPARATOR = b"|"

# Store `ARGV[2]` unless the key holds a product of a higher version (the prefix before "|").
_SET_IF_NOT_OLDER = """
local current = redis.call('GET', KEYS[1])
if current then
  local held = tonumber(string.match(current, '^(%d+)|'))
  if held and held > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

Loader = Callable[[], "Entry"]
_DOWN: Any = object()  # a command's "reply" when the cache could not answer


@dataclass(frozen=True)
class Entry:
    """What a key holds: a payload (JSON bytes), or None for "not found"; and a version (products)."""

    payload: bytes | None
    version: int = 0

    def encode(self) -> bytes:
        return str(self.version).encode() + _SEPARATOR + (self.payload or b"")

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        version, _, payload = raw.partition(_SEPARATOR)
        return cls(payload or None, int(version or 0))


class CacheCounters:
    """What the cache did since the last flush (thread-safe); read by the storefront's metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = self.misses = self.errors = self.loads = 0

    def add(self, *, hits: int = 0, misses: int = 0, errors: int = 0, loads: int = 0) -> None:
        with self._lock:
            self.hits += hits
            self.misses += misses
            self.errors += errors
            self.loads += loads

    def take(self) -> dict[str, int]:
        """The counts so far, reset to zero."""
        with self._lock:
            counts = {"hits": self.hits, "misses": self.misses, "errors": self.errors, "loads": self.loads}
            self.hits = self.misses = self.errors = self.loads = 0
        return counts


class SingleFlight:
    """At most one call of `fn` per key at a time in this process; concurrent callers share its result."""

    def __init__(self, timeout: float = FLIGHT_TIMEOUT_SECONDS) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[Entry]] = {}
        self._timeout = timeout

    def run(self, key: str, fn: Loader) -> Entry:
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leader:
            return flight.result(timeout=self._timeout)
        try:
            entry = fn()
        except BaseException as error:
            flight.set_exception(error)
            raise
        else:
            flight.set_result(entry)
            return entry
        finally:
            with self._lock:
                del self._flights[key]


def _ttl_ms(seconds: float, jitter: float, rng: Callable[[], float]) -> int:
    return max(1, int(seconds * 1000 * (1 + jitter * (2 * rng() - 1))))


class ReadCache:
    """Cache-aside reads and versioned writes; `client=None` runs without a cache (database only)."""

    def __init__(self, client: redis.Redis | None, *, counters: CacheCounters | None = None,
                 product_ttl: float = PRODUCT_TTL_SECONDS, page_ttl: float = PAGE_TTL_SECONDS,
                 negative_ttl: float = NEGATIVE_TTL_SECONDS, jitter: float = TTL_JITTER,
                 retry_after: float = 5.0, warn_every: float = 60.0,
                 rng: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be from 0 to below 1")
        self._client = client
        self.counters = counters or CacheCounters()
        self._ttl = {"product": product_ttl, "page": page_ttl, "negative": negative_ttl}
        self._jitter, self._rng, self._clock = jitter, rng, clock
        self._retry_after, self._warn_every = retry_after, warn_every
        self._down_until = 0.0
        self._last_warning = -float("inf")
        self._suppressed = 0
        self._state_lock = threading.Lock()
        self._flights = SingleFlight()
        self._set_if_not_older = client.register_script(_SET_IF_NOT_OLDER) if client is not None else None

    # -- keys ----------------------------------------------------------------------------------
    @staticmethod
    def product_key(sku: str) -> str:
        return f"{KEY_PREFIX}product:{sku}"

    @staticmethod
    def page_key(generation: int, kind: str, *parts: str) -> str:
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}page:{generation}:{kind}:{digest}"

    # -- reads ---------------------------------------------------------------------------------
    def read_product(self, sku: str, load: Loader) -> Entry:
        return self._read(self.product_key(sku), load, versioned=True)

    def read_page(self, kind: str, parts: tuple[str, ...], load: Loader) -> Entry:
        """A listing or category page, under the current catalog generation."""
        generation = self.generation()
        return self._read(self.page_key(generation, kind, *parts), load, versioned=False)

    def generation(self) -> int:
        raw = self._call(lambda c: c.get(GENERATION_KEY))
        return int(raw) if isinstance(raw, bytes | int) else 0

    def _read(self, key: str, load: Loader, *, versioned: bool) -> Entry:
        raw = self._call(lambda c: c.get(key))
        if raw is _DOWN:  # degraded: straight to the database, still one load per key at a time
            if self._client is not None:  # a Region without a cache is not degraded
                self.counters.add(errors=1)
            return self._flights.run(key, self._counted(load))
        if raw is not None:
            self.counters.add(hits=1)
            return Entry.decode(raw)
        self.counters.add(misses=1)

        def fill() -> Entry:
            again = self._call(lambda c: c.get(key))  # a flight that just ended may have stored it
            if isinstance(again, bytes):
                return Entry.decode(again)
            entry = self._counted(load)()
            self._store(key, entry, versioned=versioned)
            return entry

        return self._flights.run(key, fill)

    def _counted(self, load: Loader) -> Loader:
        def run() -> Entry:
            entry = load()
            self.counters.add(loads=1)
            return entry
        return run

    # -- writes --------------------------------------------------------------------------------
    def store_product(self, sku: str, entry: Entry) -> bool | None:
        """Store a product unless the cache holds a newer version: True if stored, False if the
        newer one was kept, None if the cache could not be reached."""
        result = self._store(self.product_key(sku), entry, versioned=True)
        return None if result is _DOWN else result == 1

    def bump_generation(self) -> int | None:
        """Retire every cached listing and category page; the new generation (None: unreachable)."""
        result = self._call(lambda c: c.incr(GENERATION_KEY))
        return None if result is _DOWN else int(result)

    def _store(self, key: str, entry: Entry, *, versioned: bool) -> Any:
        kind = "negative" if entry.payload is None else "product" if versioned else "page"
        ttl = _ttl_ms(self._ttl[kind], self._jitter, self._rng)
        script = self._set_if_not_older
        if versioned and script is not None:
            return self._call(lambda c: script(keys=[key], args=[entry.version, entry.encode(), ttl],
                                               client=c))
        return self._call(lambda c: c.set(key, entry.encode(), px=ttl))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- failure handling ----------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self._client is not None and self._clock() >= self._down_until

    def _call(self, command: Callable[[redis.Redis], Any]) -> Any:
        """The command's reply; `_DOWN` if there is no cache, it is marked down, or the command failed."""
        client = self._client
        if client is None or self._clock() < self._down_until:
            return _DOWN
        try:
            return command(client)
        except redis.RedisError as error:
            self._failed(error)
            return _DOWN

    def _failed(self, error: Exception) -> None:
        now = self._clock()
        with self._state_lock:
            self._down_until = now + self._retry_after
            if now - self._last_warning < self._warn_every:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last_warning = self._suppressed, 0, now
        logger.warning("product cache unreachable: reading from the database for the next %.0f s "
                       "(%s: %s; %d earlier failures not logged)", self._retry_after,
                       type(error).__name__, error, suppressed)


# ----------------------------------------------------------------------------------------------
# The client: TLS and the IAM-authenticated ElastiCache user


class IamAuthToken(CredentialProvider):
    """(user, token) for an IAM-enabled ElastiCache user, signed afresh for every new connection.

    The token is a SigV4-presigned `GET https://<replication group id>/?Action=connect&User=<user>`
    for the `elasticache` service, valid 15 minutes, without its scheme (ElastiCache's documented
    form; docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html). The user's id equals
    its name (components/cache.py).
    """

    def __init__(self, *, user: str, cache_name: str, region: str, session: Any = None) -> None:
        import botocore.session
        from botocore.model import ServiceId
        from botocore.signers import RequestSigner

        if not (user and cache_name and region):
            raise ConfigurationError("CACHE_USER, CACHE_NAME and AWS_REGION are needed for IAM auth")
        self.user, self.cache_name, self.region = user, cache_name, region
        # The signer holds the session's event emitter weakly: the session must live as long as it.
        self._session = session or botocore.session.get_session()
        # No credentials yet (None) is botocore's own case: signing then raises NoCredentialsError.
        self._signer = RequestSigner(ServiceId("elasticache"), region, "elasticache", "v4",
                                     self._session.get_credentials(),  # type: ignore[arg-type]
                                     self._session.get_component("event_emitter"))

    def token(self) -> str:
        url = f"https://{self.cache_name}/?{urlencode({'Action': 'connect', 'User': self.user})}"
        signed = self._signer.generate_presigned_url(
            {"method": "GET", "url": url, "body": {}, "headers": {}, "context": {}},
            operation_name="connect", expires_in=IAM_TOKEN_SECONDS, region_name=self.region)
        return str(signed).removeprefix("https://")

    def get_credentials(self) -> tuple[str, str]:
        return self.user, self.token()


def connect(settings: Settings, *, credentials: CredentialProvider | None = None,
            max_connections: int = 64, timeout: float = 0.5, pool_timeout: float = 2.0,
            ) -> redis.Redis | None:
    """The cache client the settings describe, or None when CACHE_HOST is not set (no cache here).

    Nothing connects until the first command. With CACHE_USER set, connections authenticate as that
    user with an IAM token (CACHE_NAME names the replication group); TLS verifies the server's
    certificate and host name against the system's CAs or CACHE_CA_FILE. Commands time out after
    `timeout`; a burst beyond `max_connections` waits up to `pool_timeout` for a free connection
    (opening a TLS connection takes a while) before the read degrades to the database.
    """
    if not settings.cache_host:
        return None
    if credentials is None and settings.cache_user:
        credentials = IamAuthToken(user=settings.cache_user, cache_name=settings.require("cache_name"),
                                   region=settings.require("region"))
    options: dict[str, Any] = {"connection_class": redis.Connection}
    if settings.cache_tls:
        options = {"connection_class": redis.SSLConnection, "ssl_cert_reqs": "required",
                   "ssl_check_hostname": True, "ssl_ca_certs": settings.cache_ca_file or None}
    pool = redis.BlockingConnectionPool(
        host=settings.cache_host, port=settings.cache_port, credential_provider=credentials,
        socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1),
        health_check_interval=30, max_connections=max_connections, timeout=pool_timeout, **options)
    return redis.Redis(connection_pool=pool)
