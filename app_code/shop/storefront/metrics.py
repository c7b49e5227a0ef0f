"""The storefront's read-path metrics, as CloudWatch embedded metric format (EMF) log lines.

The task's log driver ships stdout to CloudWatch Logs, which extracts EMF documents into metrics
(namespace `ecommerce`, dimension `service=storefront`); the dashboard charts them
(components/observability.py, "Storefront" section). Counters are summed in memory and written
once per interval (one document, not one per request); search latencies are written as values,
so CloudWatch can take percentiles of them.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shop.cache import CacheCounters

NAMESPACE = "ecommerce"
SERVICE = "storefront"
CACHE_HITS = "CacheHits"
CACHE_MISSES = "CacheMisses"
CACHE_ERRORS = "CacheErrors"
"""Reads served from the database because the cache could not be reached."""
DATABASE_LOADS = "DatabaseLoads"
SEARCH_LATENCY = "SearchLatency"
SEARCH_ERRORS = "SearchErrors"
FLUSH_SECONDS = 60.0


class ReadMetrics:
    def __init__(self, counters: CacheCounters, *, interval: float = FLUSH_SECONDS) -> None:
        self.counters = counters
        self._interval = interval
        self._lock = threading.Lock()
        self._metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        self._pending = False  # anything added since the last flush
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def search_took(self, milliseconds: float) -> None:
        with self._lock:  # Powertools' metric set is not thread-safe
            self._metrics.add_metric(SEARCH_LATENCY, MetricUnit.Milliseconds, round(milliseconds, 3))
            self._pending = True

    def search_failed(self) -> None:
        with self._lock:
            self._metrics.add_metric(SEARCH_ERRORS, MetricUnit.Count, 1)
            self._pending = True

    def flush(self) -> dict[str, Any]:
        """Write what was counted since the last flush (nothing if nothing happened)."""
        counts = self.counters.take()
        with self._lock:
            for name, key in ((CACHE_HITS, "hits"), (CACHE_MISSES, "misses"), (CACHE_ERRORS, "errors"),
                              (DATABASE_LOADS, "loads")):
                if counts[key]:
                    self._metrics.add_metric(name, MetricUnit.Count, counts[key])
                    self._pending = True
            if self._pending:
                self._metrics.flush_metrics(raise_on_empty_metrics=False)
                self._pending = False
        return counts

    def start(self) -> None:
        """Flush every interval on a daemon thread until `stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="storefront-metrics", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()
