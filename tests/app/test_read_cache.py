"""The product cache against a real Redis with TLS and the stack's ACL: cache-aside, TTL with jitter,
negative entries, single flight, versioned writes, degrading to the database, the client's TLS and
IAM token."""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.app_env import CACHE_USER
from tests.support.redis import RedisServer, unreachable_cache_client


def _cache(**options: Any) -> Any:
    from shop.cache import ReadCache, connect
    from shop.settings import Settings

    return ReadCache(connect(Settings.from_env()), **options)


def _loader(payload: bytes | None, version: int = 1) -> tuple[Any, list[int]]:
    from shop.cache import Entry

    calls: list[int] = []

    def load() -> Entry:
        calls.append(1)
        return Entry(payload, version)

    return load, calls


def test_a_miss_loads_once_and_later_reads_are_hits(cache_admin: Any) -> None:
    # GIVEN an empty cache
    cache = _cache()
    load, calls = _loader(b'{"sku":"A"}')

    # WHEN the same product is read three times
    entries = [cache.read_product("A", load) for _ in range(3)]

    # THEN the database was asked once, and the counters say 1 miss and 2 hits
    assert calls == [1]
    assert {e.payload for e in entries} == {b'{"sku":"A"}'}
    assert cache.counters.take() == {"hits": 2, "misses": 1, "errors": 0, "loads": 1}
    # AND the entry carries its version
    assert cache_admin.get(cache.product_key("A")) == b'1|{"sku":"A"}'


def test_ttls_are_jittered_within_bounds_and_unknown_skus_get_the_short_negative_ttl(
        cache_admin: Any) -> None:
    from shop.cache import NEGATIVE_TTL_SECONDS, PRODUCT_TTL_SECONDS, TTL_JITTER

    cache = _cache()
    # WHEN 40 products and 10 unknown SKUs are read through the cache
    for index in range(40):
        cache.read_product(f"P{index}", _loader(b"{}")[0])
    for index in range(10):
        cache.read_product(f"NONE{index}", _loader(None, 0)[0])

    # THEN every TTL is within +-10% of its base, and they are not all the same (jitter)
    ttls = [cache_admin.pttl(cache.product_key(f"P{i}")) for i in range(40)]
    low, high = PRODUCT_TTL_SECONDS * 1000 * (1 - TTL_JITTER), PRODUCT_TTL_SECONDS * 1000 * (1 + TTL_JITTER)
    assert all(low - 1000 <= t <= high for t in ttls)
    assert len(set(ttls)) > 10
    negative = [cache_admin.pttl(cache.product_key(f"NONE{i}")) for i in range(10)]
    assert all(t <= NEGATIVE_TTL_SECONDS * 1000 * (1 + TTL_JITTER) for t in negative)
    # AND an unknown SKU read again is answered by the cache as "not found"
    load, calls = _loader(b"{}")
    assert cache.read_product("NONE0", load).payload is None and calls == []


def test_a_hundred_concurrent_misses_on_one_key_make_one_load(cache_admin: Any) -> None:
    # GIVEN a cache whose connections are open (opening 64 TLS connections at once on a busy machine
    # can outlast the pool's wait, and a read that cannot get a connection degrades: not this test)
    from shop.cache import Entry, ReadCache, connect
    from shop.settings import Settings

    client = connect(Settings.from_env())
    assert client is not None
    warm = [threading.Thread(target=client.ping) for _ in range(64)]
    for thread in warm:
        thread.start()
    for thread in warm:
        thread.join(timeout=30)
    cache = ReadCache(client)
    # AND a database load that holds its answer until all 100 readers have asked
    started = threading.Barrier(100)
    asked: list[int] = []
    everyone_asked = threading.Event()
    loads: list[int] = []

    def load() -> Entry:
        loads.append(1)
        everyone_asked.wait(timeout=30)
        return Entry(b'{"sku":"HOT"}', 3)

    results: list[bytes | None] = []

    def reader() -> None:
        started.wait(timeout=30)  # all 100 ask at once
        asked.append(1)
        if len(asked) == 100:
            everyone_asked.set()
        results.append(cache.read_product("HOT", load).payload)

    # WHEN 100 readers miss on the same key together
    threads = [threading.Thread(target=reader) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # THEN exactly one load ran, and every reader got its result
    assert loads == [1]
    assert results == [b'{"sku":"HOT"}'] * 100
    assert cache.counters.take()["loads"] == 1


def test_an_older_version_never_replaces_a_newer_one(cache_admin: Any) -> None:
    from shop.cache import Entry

    cache = _cache()
    # GIVEN version 5 stored (as the cache-invalidator stores product.updated)
    assert cache.store_product("A", Entry(b'{"v":5}', 5)) is True
    # WHEN a read that loaded version 4 from a lagging replica, and a late event for 3, try to store
    assert cache.store_product("A", Entry(b'{"v":4}', 4)) is False
    assert cache.store_product("A", Entry(None, 3)) is False
    # THEN version 5 stays; the same or a newer version replaces it
    assert cache_admin.get(cache.product_key("A")) == b'5|{"v":5}'
    assert cache.store_product("A", Entry(None, 6)) is True
    assert cache.read_product("A", _loader(b"{}")[0]).payload is None


def test_the_generation_retires_cached_pages(cache_admin: Any) -> None:
    cache = _cache()
    first, calls = _loader(b"[1]")
    assert cache.read_page("listing", ("apparel", "", "24"), first).payload == b"[1]"
    assert cache.read_page("listing", ("apparel", "", "24"), first).payload == b"[1]" and calls == [1]
    # WHEN a product changes
    assert cache.bump_generation() == 1
    # THEN the page is loaded again
    second, calls = _loader(b"[2]")
    assert cache.read_page("listing", ("apparel", "", "24"), second).payload == b"[2]" and calls == [1]


def test_an_unreachable_cache_degrades_to_the_database_with_a_warning_and_a_metric(
        caplog: pytest.LogCaptureFixture) -> None:
    from shop.cache import ReadCache

    # GIVEN the app's cache client pointing at a port nothing listens on
    now = [100.0]
    cache = ReadCache(unreachable_cache_client(), retry_after=5.0, warn_every=60.0, clock=lambda: now[0])
    load, calls = _loader(b'{"sku":"A"}')

    # WHEN products are read
    with caplog.at_level(logging.WARNING, logger="shop.cache"):
        entries = [cache.read_product("A", load) for _ in range(3)]

    # THEN every read is answered from the database, with one warning and a count per read
    assert [e.payload for e in entries] == [b'{"sku":"A"}'] * 3 and len(calls) == 3
    warnings = [r for r in caplog.records if r.name == "shop.cache"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert cache.counters.take()["errors"] == 3
    # AND the cache is not tried again until retry_after has passed (no connect timeout per request)
    assert not cache.available
    now[0] += 5.1
    assert cache.available


def test_without_a_configured_cache_reads_go_to_the_database_without_errors() -> None:
    from shop.cache import ReadCache

    cache = ReadCache(None)
    load, calls = _loader(b"{}")
    assert cache.read_product("A", load).payload == b"{}" and calls == [1]
    assert cache.counters.take() == {"hits": 0, "misses": 0, "errors": 0, "loads": 1}


def test_the_client_requires_tls_and_verifies_the_server_certificate(redis_server: RedisServer) -> None:
    # a plaintext client gets no answer from a TLS-only port
    no_retries = Retry(NoBackoff(), 0)  # one attempt each: the answer does not change on a retry
    plain = redis.Redis(host="127.0.0.1", port=redis_server.port, socket_timeout=1, socket_connect_timeout=1,
                        retry=no_retries)
    with pytest.raises(redis.ConnectionError):
        plain.ping()
    # a TLS client that does not trust the server's CA refuses the connection
    untrusting = redis.Redis(host="127.0.0.1", port=redis_server.port, ssl=True, ssl_cert_reqs="required",
                             socket_timeout=1, username=CACHE_USER, password="x", retry=no_retries)
    with pytest.raises(redis.ConnectionError, match="certificate verify failed|CERTIFICATE_VERIFY_FAILED"):
        untrusting.ping()


def test_the_app_connects_as_the_cache_user_with_a_sigv4_token_over_tls(redis_server: RedisServer) -> None:
    from shop.cache import IamAuthToken, connect
    from shop.settings import Settings

    settings = Settings.from_env()
    client = connect(settings)
    assert client is not None
    # THEN the connection is authenticated as the configured user
    assert client.acl_whoami() == CACHE_USER
    # AND the password it sent is an ElastiCache IAM token: a presigned connect request for the
    # replication group and the user, SigV4 for the elasticache service, valid 15 minutes
    token = IamAuthToken(user=CACHE_USER, cache_name="shop-cache", region="us-east-1").token()
    parts = urlsplit(f"https://{token}")
    query = parse_qs(parts.query)
    assert parts.hostname == "shop-cache" and parts.path == "/"
    assert query["Action"] == ["connect"] and query["User"] == [CACHE_USER]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/elasticache/aws4_request")
    assert len(query["X-Amz-Signature"][0]) == 64
    # AND the stack's access string lets the app run every command the read path uses
    assert client.set("probe", "1") and client.incr("probe") == 2
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.flushall()  # -@dangerous
    client.close()
