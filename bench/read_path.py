"""Benchmark 4: the storefront's read path: product-detail reads through the cache, against PostgreSQL.

Everything runs on loopback, each server in its own process: PostgreSQL (tests/support/postgres.py,
the shop's migrations, a seeded catalog), Redis with TLS and the stack's ACL (tests/support/redis.py;
the storefront connects as the IAM-enabled user with a SigV4 token, as in AWS), and two storefronts
under uvicorn as in the storefront task (bench/services.py): one with its cache, one without (every
read straight from PostgreSQL). This process generates the load over keep-alive HTTP connections.

Phases, every loop bounded by a count:
- throughput: `concurrency` clients in a closed loop reading random products, against the cached
  storefront (warm: every product read once before), the uncached one, and raw psycopg running the
  storefront's own query on as many connections (the database's capacity for these reads);
- single flight: 100 clients read one product that is not cached, released together; the database
  statements are counted in PostgreSQL's own log (the cached storefront's role logs its statements);
- hit ratio: an empty cache, `warmup` reads of a Zipf-distributed product mix, then `measured` more;
  the misses are the product queries PostgreSQL logged during the measured reads;
- steady and burst: an open loop at the storefront task's everyday rate (baseline RPS / minimum
  tasks from Pulumi.prod.yaml), then the stack's spike factor times that for a few seconds; latency
  from each request's scheduled send time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.checkout import _Child, _closed_loop, _postgres_cpu, _proc_times
from bench.machine import PROJECT_DIR
from bench.report import Section, Table, Target
from bench.stats import Figure, percentile

APP_CODE = PROJECT_DIR / "app_code"
TARGET_SPEEDUP = 5.0
TARGET_HIT_RATIO = 0.95
TARGET_BURST_P99 = 10.0  # x the steady p50, as for checkout
REQUEST_TIMEOUT = 30.0
PROBE_ROLE = "storefront_probe"  # the cached storefront's database role: its statements are logged
_PRODUCT_QUERY = re.compile(r"LOG:\s+(statement|execute [^:]*): SELECT .* FROM products WHERE sku = ")


@dataclass(frozen=True)
class Settings:
    products: int = 2000
    categories: int = 20
    concurrency: int = 10  # the storefront's database pool size (DB_POOL_MAX_SIZE's default)
    throughput_reads: int = 3000
    flight: int = 100
    zipf_s: float = 1.0
    warmup: int = 5000
    measured: int = 20000
    steady_rps: float | None = None  # None: the storefront task's everyday rate (Pulumi.prod.yaml)
    steady_seconds: float = 20.0
    burst_factor: int | None = None  # None: the stack's spike factor
    burst_seconds: float = 3.0
    runs: int = 3


RECORDED = Settings()
QUICK = Settings(products=200, categories=5, throughput_reads=200, warmup=300, measured=1000, steady_rps=5.0,
                 steady_seconds=2.0, burst_factor=4, burst_seconds=1.0, runs=1)


def storefront_rates(stack: str = "prod") -> tuple[float, int]:
    """The storefront task's everyday rate (baseline RPS / minimum tasks) and the stack's spike factor."""
    from offline.engine import stack_config

    config, _ = stack_config(stack)
    spike = int(config.get("ecommerce:spikeFactor", "20"))
    for spec in json.loads(config["ecommerce:services"]):
        name, *pairs = spec.split()
        if name == "storefront":
            values = dict(pair.split("=", 1) for pair in pairs)
            return float(values["baselineRps"]) / float(values.get("minTasks", "1")), spike
    raise LookupError("Pulumi.prod.yaml: ecommerce:services has no storefront entry")


def sku(index: int) -> str:
    return f"SKU-{index:05d}"


# ----------------------------------------------------------------------------------------------
# The servers


@dataclass
class _ReadPath:
    cached: str
    uncached: str
    db_url: str
    log: Path
    admin: Any  # an admin connection to Redis
    processes: dict[str, int] = field(default_factory=dict)
    postmaster: int = 0

    def cpu(self) -> dict[str, float]:
        used = {name: _proc_times(pid)[1] for name, pid in self.processes.items()}
        used["PostgreSQL"] = _postgres_cpu(self.postmaster)
        used["load generator (this process)"] = time.process_time()
        return used

    def log_size(self) -> int:
        return self.log.stat().st_size

    def product_queries_since(self, offset: int) -> int:
        with self.log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
        return sum(1 for line in text.splitlines() if _PRODUCT_QUERY.search(line))


def _seed(db_url: str, settings: Settings) -> None:
    import psycopg

    rng = random.Random(4)
    with psycopg.connect(db_url, autocommit=True) as conn, conn.transaction(), conn.cursor() as cursor:
        cursor.executemany("INSERT INTO categories (slug, name) VALUES (%s, %s)",
                           [(f"category-{c:02d}", f"Category {c:02d}") for c in range(settings.categories)])
        cursor.executemany(
            """INSERT INTO products (sku, name, description, category, price_cents, stock)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            [(sku(i), f"Product {i:05d}", "A product of the benchmark catalog. " * 4,
              f"category-{i % settings.categories:02d}", rng.randint(500, 20000), rng.randint(0, 50))
             for i in range(settings.products)])
        # the cached storefront logs in as a role with the storefront's grants whose statements
        # PostgreSQL logs: what counts the database queries
        cursor.execute(f"CREATE ROLE {PROBE_ROLE} LOGIN IN ROLE storefront")
        cursor.execute(f"ALTER ROLE {PROBE_ROLE} SET log_statement = 'all'")


@contextlib.contextmanager
def _running(settings: Settings, work_dir: Path) -> Iterator[_ReadPath]:
    import psycopg
    from psycopg.rows import dict_row

    from tests.support.postgres import PostgresServer
    from tests.support.redis import RedisServer

    sys.path.insert(0, str(APP_CODE))
    from shop.migrate import apply_migrations

    children: list[_Child] = []
    # its own folder beside the work dir: the server runs as `postgres` when we are root (see PostgresServer)
    pg_dir = Path(tempfile.gettempdir()) / f"shop-bench-read-pg-{os.getpid()}-{random.randrange(16**6):06x}"
    postgres = PostgresServer(pg_dir, max_connections=100)
    redis_server = RedisServer(work_dir / "redis", app_user="bench-cache-app")
    try:
        postgres.start()
        db_url = postgres.create_database("shop")
        with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
            apply_migrations(conn)
        _seed(db_url, settings)
        redis_server.start()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "SEARCH_", "PG"))}
        common = {**base, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                  "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                  "POWERTOOLS_SERVICE_NAME": "storefront", "POWERTOOLS_LOG_LEVEL": "ERROR",
                  "DB_POOL_MAX_SIZE": str(settings.concurrency)}
        cached_env = {**common, "DATABASE_URL": db_url.replace("postgres@", f"{PROBE_ROLE}@"),
                      "CACHE_HOST": "127.0.0.1", "CACHE_PORT": str(redis_server.port),
                      "CACHE_USER": redis_server.app_user, "CACHE_NAME": "bench-cache", "CACHE_TLS": "true",
                      "CACHE_CA_FILE": str(redis_server.ca_file)}
        uncached_env = {**common, "DATABASE_URL": db_url.replace("postgres@", "storefront@")}
        cached = _Child("storefront-cached", ["storefront"], cached_env, work_dir)
        children.append(cached)
        uncached = _Child("storefront-uncached", ["storefront"], uncached_env, work_dir)
        children.append(uncached)
        urls = cached.wait_ready(), uncached.wait_ready()
        postmaster = int((postgres.directory / "data" / "postmaster.pid").read_text().split()[0])
        assert redis_server._process is not None
        yield _ReadPath(cached=urls[0], uncached=urls[1], db_url=db_url,
                        log=postgres.directory / "server.log",
                        admin=redis_server.admin(), postmaster=postmaster,
                        processes={"storefront (cached)": cached.process.pid,
                                   "storefront (uncached)": uncached.process.pid,
                                   "Redis": redis_server._process.pid})
    finally:
        for child in reversed(children):
            child.stop()
        redis_server.stop()
        postgres.stop()
        with contextlib.suppress(ValueError):
            sys.path.remove(str(APP_CODE))


# ----------------------------------------------------------------------------------------------
# The load


_local = threading.local()


@dataclass(frozen=True)
class Outcome:
    status: int
    latency: float
    body: bytes = b""


def _get(base: str, path: str, scheduled: float) -> Outcome:
    """GET over this thread's keep-alive connection to `base`; latency from `scheduled`."""
    parts = urlsplit(base)
    connections: dict[str, http.client.HTTPConnection] = getattr(_local, "connections", {})
    _local.connections = connections
    connection = connections.get(base)
    if connection is None:
        connection = connections[base] = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                                     timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        connection.close()
        connections.pop(base, None)
        return Outcome(0, time.perf_counter() - scheduled)
    return Outcome(response.status, time.perf_counter() - scheduled, body)


def _reads(base: str, skus: Sequence[str], concurrency: int) -> tuple[list[Outcome], float]:
    def one(s: str) -> Callable[[], Outcome]:
        return lambda: _get(base, f"/catalog/products/{s}", time.perf_counter())

    return _closed_loop([one(s) for s in skus], concurrency)


def _floor(db_url: str, skus: Sequence[str], concurrency: int) -> tuple[list[float], float]:
    """The storefront's product query straight through psycopg on `concurrency` connections."""
    import queue

    import psycopg
    from psycopg.rows import dict_row

    connections: queue.Queue[Any] = queue.Queue()
    for _ in range(concurrency):
        conn = psycopg.connect(db_url.replace("postgres@", "storefront@"), autocommit=True,
                               row_factory=dict_row)
        connections.put(conn)

    def one(s: str) -> Callable[[], float]:
        def run() -> float:
            conn = connections.get()
            try:
                started = time.perf_counter()
                row = conn.execute("""SELECT sku, name, description, category, price_cents, currency, stock,
                                             active, version FROM products WHERE sku = %s""", (s,)).fetchone()
                json.dumps({**row, "price_cents": int(row["price_cents"])})  # the body the API would send
                return time.perf_counter() - started
            finally:
                connections.put(conn)
        return run

    try:
        return _closed_loop([one(s) for s in skus], concurrency)
    finally:
        while not connections.empty():
            connections.get().close()


def zipf(settings: Settings, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    ranks = list(range(settings.products))
    rng.shuffle(ranks)  # which products are popular is random; how popular follows Zipf
    weights = [1 / (k ** settings.zipf_s) for k in range(1, settings.products + 1)]
    return [sku(ranks[k]) for k in rng.choices(range(settings.products), weights=weights, k=count)]


def _single_flight(path: _ReadPath, settings: Settings, product: str) -> tuple[int, int, int]:
    """(database queries, answers 200, distinct bodies) of `flight` simultaneous reads of one cold key."""
    path.admin.delete(f"catalog:v1:product:{product}")
    offset = path.log_size()
    gate = threading.Barrier(settings.flight)

    def read() -> Outcome:
        gate.wait(timeout=REQUEST_TIMEOUT)
        return _get(path.cached, f"/catalog/products/{product}", time.perf_counter())

    with ThreadPoolExecutor(settings.flight) as pool:
        # every client's connection is open before the barrier releases them
        list(pool.map(lambda _: _get(path.cached, "/health", time.perf_counter()),
                      range(settings.flight * 2)))
        outcomes = list(pool.map(lambda _: read(), range(settings.flight)))
    return (path.product_queries_since(offset), sum(o.status == 200 for o in outcomes),
            len({o.body for o in outcomes}))


def _hit_ratio(path: _ReadPath, settings: Settings, seed: int) -> tuple[float, int]:
    path.admin.flushall()
    sequence = zipf(settings, settings.warmup + settings.measured, seed)
    _reads(path.cached, sequence[:settings.warmup], settings.concurrency)
    offset = path.log_size()
    outcomes, _ = _reads(path.cached, sequence[settings.warmup:], settings.concurrency)
    assert all(o.status == 200 for o in outcomes), "a read failed during the hit-ratio phase"
    misses = path.product_queries_since(offset)
    return 1 - misses / settings.measured, misses


def _open_loop(base: str, skus: Sequence[str], rate: float) -> tuple[list[Outcome], float]:
    workers = min(512, max(16, math.ceil(rate * 4)))
    start = time.perf_counter() + 0.05
    with ThreadPoolExecutor(workers) as pool:
        futures = []
        for index, s in enumerate(skus):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(_get, base, f"/catalog/products/{s}", due))
        outcomes = [f.result(timeout=REQUEST_TIMEOUT * 4) for f in futures]
    return outcomes, time.perf_counter() - start


# ----------------------------------------------------------------------------------------------
# The benchmark


@dataclass
class _Run:
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)

    def add(self, count: int, elapsed: float, latencies: Sequence[float]) -> None:
        self.rps.append(count / elapsed)
        self.p50.append(percentile(latencies, 50) * 1000)
        self.p99.append(percentile(latencies, 99) * 1000)

    def figures(self) -> dict[str, Figure]:
        return {"rps": Figure.of(self.rps, "/s"), "p50": Figure.of(self.p50, "ms"),
                "p99": Figure.of(self.p99, "ms")}


def run(settings: Settings = RECORDED, *, runs: int | None = None) -> Section:
    everyday, spike = storefront_rates()
    settings = replace(settings, runs=runs or settings.runs,
                       steady_rps=settings.steady_rps or round(everyday, 2),
                       burst_factor=settings.burst_factor or spike)
    assert settings.steady_rps and settings.burst_factor
    rates = {"steady": settings.steady_rps, "burst": settings.steady_rps * settings.burst_factor}
    counts = {"steady": max(1, round(rates["steady"] * settings.steady_seconds)),
              "burst": max(1, round(rates["burst"] * settings.burst_seconds))}
    phases = {name: _Run() for name in ("cached", "uncached", "floor", "steady", "burst")}
    cpu: dict[str, dict[str, list[float]]] = {"cached": {}, "uncached": {}}
    flights: list[tuple[int, int, int]] = []
    ratios: list[float] = []
    misses: list[int] = []
    rng = random.Random(9)
    everything = [sku(i) for i in range(settings.products)]
    with tempfile.TemporaryDirectory(prefix="shop-bench-read-") as tmp, _running(settings, Path(tmp)) as path:
        # warm-up: every product read once through the cache; pools and connections open everywhere
        _reads(path.cached, everything, settings.concurrency)
        _reads(path.uncached, everything[: settings.concurrency * 10], settings.concurrency)
        _floor(path.db_url, everything[: settings.concurrency * 10], settings.concurrency)
        for run_index in range(settings.runs):  # interleaved: a noisy moment hits every phase alike
            reads = [rng.choice(everything) for _ in range(settings.throughput_reads)]
            for phase, base in (("cached", path.cached), ("uncached", path.uncached)):
                before = path.cpu()
                outcomes, elapsed = _reads(base, reads, settings.concurrency)
                after = path.cpu()
                assert all(o.status == 200 for o in outcomes), f"{phase}: a read failed"
                for name, seconds in after.items():
                    cpu[phase].setdefault(name, []).append((seconds - before[name]) * 1e6 / len(reads))
                phases[phase].add(len(outcomes), elapsed, [o.latency for o in outcomes])
            latencies, elapsed = _floor(path.db_url, reads, settings.concurrency)
            phases["floor"].add(len(latencies), elapsed, latencies)
            flights.append(_single_flight(path, settings, everything[run_index]))
            ratio, missed = _hit_ratio(path, settings, seed=100 + run_index)
            ratios.append(ratio)
            misses.append(missed)
            for phase in ("steady", "burst"):
                mix = zipf(settings, counts[phase], seed=200 + run_index)
                outcomes, elapsed = _open_loop(path.cached, mix, rates[phase])
                phases[phase].add(sum(o.status == 200 for o in outcomes), elapsed,
                                  [o.latency for o in outcomes])
    return _section(settings, rates, counts, f={k: v.figures() for k, v in phases.items()},
                    cpu={phase: {k: Figure.of(v, "µs") for k, v in used.items()}
                         for phase, used in cpu.items()},
                    flights=flights, ratios=Figure.of([r * 100 for r in ratios], "%"), misses=misses)


def _section(settings: Settings, rates: dict[str, float], counts: dict[str, int], *,
             f: dict[str, dict[str, Figure]], cpu: dict[str, dict[str, Figure]],
             flights: list[tuple[int, int, int]], ratios: Figure, misses: list[int]) -> Section:
    c = settings.concurrency
    speedup = f["cached"]["rps"].median / f["uncached"]["rps"].median
    raw = f["cached"]["rps"].median / f["floor"]["rps"].median
    burst_ratio = f["burst"]["p99"].median / f["steady"]["p50"].median
    queries = max(q for q, _, _ in flights)

    def row(label: str, phase: str, extra: str) -> tuple[str, ...]:
        return (label, f[phase]["rps"].text(0), f[phase]["p50"].text(2), f[phase]["p99"].text(2), extra)

    throughput = Table((f"Concurrency {c}, closed loop, random products", "Reads/s", "p50", "p99",
                        "Cached storefront / this"), (
        row("Storefront, warm cache (Redis over TLS, IAM user)", "cached", ""),
        row("Storefront, no cache: every read from PostgreSQL", "uncached", f"{speedup:.2f}x"),
        row("Raw psycopg: the storefront's query on as many connections", "floor", f"{raw:.2f}x"),
    ), caption=f"Product-detail reads, {settings.throughput_reads} per run over {settings.products} "
               "products:")

    def cpu_rows(phase: str) -> list[tuple[str, ...]]:
        return [(phase, name, fig.text(0)) for name, fig in cpu[phase].items()
                if fig.median > 0.5 or name == "PostgreSQL"]

    cpu_table = Table(("Storefront", "Process", "CPU per read"),
                      tuple(cpu_rows("cached") + cpu_rows("uncached")),
                      caption="Where a read's CPU time goes (throughput phase; the machine has "
                              f"{os.cpu_count()} cores for all of it):")
    flight_table = Table(("Run", "Database queries", "Answers 200", "Distinct bodies"), tuple(
        (str(i + 1), str(q), str(ok), str(bodies)) for i, (q, ok, bodies) in enumerate(flights)),
        caption=f"{settings.flight} simultaneous reads of one product that is not cached:")
    open_loop = Table(("Open loop, warm cache, Zipf mix", "Rate", "Reads", "p50", "p99",
                       "p99 / steady p50"), tuple(
        (label, f"{rates[phase]:g}/s", str(counts[phase]), f[phase]["p50"].text(2), f[phase]["p99"].text(2),
         f"{f[phase]['p99'].median / f['steady']['p50'].median:.1f}x")
        for label, phase in (("Steady: the storefront task's everyday share", "steady"),
                             (f"Burst: {settings.burst_factor}x that, one task, before any scale-out",
                              "burst"))),
        caption="Steady rate and burst (latency from each request's scheduled send time):")
    uncached_cpu = cpu["uncached"].get("storefront (uncached)")
    cached_cpu = cpu["cached"].get("storefront (cached)")
    speed_limit = (
        f"on one machine the database is a loopback hop away and answers a primary-key read in well under a "
        "millisecond, so both storefronts spend most of a read in the same place: the HTTP server, FastAPI "
        "and "
        f"Python ({cached_cpu.median if cached_cpu else math.nan:.0f} µs of storefront CPU per cached read, "
        f"{uncached_cpu.median if uncached_cpu else math.nan:.0f} µs per uncached one), on 2 cores shared "
        "with "
        "PostgreSQL, Redis and the load generator. The cache's gain shows in what it takes off the database: "
        "PostgreSQL's CPU per read in the table above. Across a network to Aurora readers, under load, a "
        "read from the database costs more and the ratio grows; raw psycopg here is the database's own "
        "ceiling.")
    burst_limit = (
        f"one storefront process serves about {f['cached']['rps'].median:.0f} cached reads/s here; a burst "
        "of "
        f"{rates['burst']:g}/s against one process queues. The stack answers a spike by scaling out "
        "(target tracking on requests per target, sized for the spike factor, plus scheduled scale-outs).")
    targets = [
        Target(f"Warm-cache reads/s / the same reads from PostgreSQL (storefront without its cache), "
               f"concurrency {c}",
               f">= {TARGET_SPEEDUP:g}x", f"{speedup:.2f}x", speedup >= TARGET_SPEEDUP,
               limit=speed_limit if speedup < TARGET_SPEEDUP else ""),
        Target(f"Database queries for {settings.flight} concurrent misses on one key (worst run)", "1",
               str(queries), queries == 1 and all(ok == settings.flight and b == 1 for _, ok, b in flights)),
        Target(f"Hit ratio after {settings.warmup} warm-up reads, Zipf(s={settings.zipf_s:g}) over "
               f"{settings.products} products", f">= {TARGET_HIT_RATIO:.0%}", f"{ratios.median:.1f}%",
               ratios.median / 100 >= TARGET_HIT_RATIO,
               limit="" if ratios.median / 100 >= TARGET_HIT_RATIO else
               "the misses are first reads of products the warm-up had not reached: the long tail of the "
               "mix"),
        Target(f"p99 in the {settings.burst_factor}x burst / p50 at the steady rate",
               f"<= {TARGET_BURST_P99:g}x",
               f"{burst_ratio:.1f}x", burst_ratio <= TARGET_BURST_P99,
               limit=burst_limit if burst_ratio > TARGET_BURST_P99 else ""),
    ]
    return Section(
        key="read_path", title="4. The read path: product reads through the cache",
        method=f"""
Two storefronts (`shop.storefront.app` under uvicorn, one process each as in a storefront task, a pool of
{c} database connections) against a real PostgreSQL (`tests/support/postgres.py`, the shop's migrations,
{settings.products} products in {settings.categories} categories) and a real Redis with TLS and the stack's
ACL (`tests/support/redis.py`; the storefront authenticates as the IAM-enabled user with a SigV4 token, as in
AWS): one reads through its cache (`shop.cache`), the other has no cache and reads PostgreSQL every time. The
floor runs the storefront's own query through psycopg on {c} connections. Database queries are counted in
PostgreSQL's log (the cached storefront's role logs its statements). The hit ratio is 1 - database queries /
reads, for {settings.measured} reads after {settings.warmup} warm-up reads of a Zipf(s={settings.zipf_s:g})
mix (the cache's TTLs are longer than the run: nothing expires). The everyday rate is one task's share of the
storefront's baseline (baseline RPS / minimum tasks in Pulumi.prod.yaml); the burst is the spike factor times
that for {settings.burst_seconds:g} s. {settings.runs} run(s) of each phase, interleaved; median (min-max).
""",
        tables=[throughput, cpu_table, flight_table, open_loop], targets=targets,
        notes=[f"Hit ratio per run: {', '.join(f'{r:.1f}%' for r in ratios.runs)} "
               f"({', '.join(str(m) for m in misses)} database queries for {settings.measured} reads)."],
        data={"settings": {"products": settings.products, "concurrency": c, "throughputReads":
                           settings.throughput_reads, "zipfS": settings.zipf_s, "warmup": settings.warmup,
                           "measured": settings.measured, "rates": dict(rates), "counts": dict(counts),
                           "runs": settings.runs},
              "phases": {phase: {k: fig.as_json() for k, fig in figs.items()} for phase, figs in f.items()},
              "cpuMicrosecondsPerRead": {phase: {k: fig.as_json() for k, fig in used.items()}
                                         for phase, used in cpu.items()},
              "speedupOverUncached": round(speedup, 3), "speedupOverRawPostgres": round(raw, 3),
              "singleFlight": [{"queries": q, "ok": ok, "distinctBodies": b} for q, ok, b in flights],
              "hitRatio": ratios.as_json(), "burstP99OverSteadyP50": round(burst_ratio, 2)})
