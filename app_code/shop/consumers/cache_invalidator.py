"""Cache invalidator: `product.updated` refreshes the product's cache entry and retires the pages.

The entry is replaced by the product the event carries (or by a "not found" marker when it is
inactive), unless the cache holds a newer version: an event redelivered or delivered late changes
nothing. Then the catalog generation is incremented, so no listing or category page cached before
the change is served again. If the cache cannot be reached the message fails and SQS retries it
(and the DLQ keeps it after the queue's receive count); meanwhile the entry's TTL bounds how long
a stale product can be served.
"""

from __future__ import annotations

from shop.cache import Entry
from shop.consumers._runtime import Consumer
from shop.consumers.search_indexer import validated
from shop.events import PRODUCT_UPDATED, Envelope
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()


class CacheUnreachable(RuntimeError):
    """The product cache did not answer: retry the message."""


def refresh_product(envelope: Envelope, runtime: Runtime) -> None:
    update = validated(envelope)
    payload = update.product.model_dump_json().encode() if update.active else None
    cache = runtime.read_cache
    if cache.store_product(update.sku, Entry(payload, update.version)) is None \
            or cache.bump_generation() is None:
        raise CacheUnreachable(f"product cache unreachable while refreshing {update.sku}")


consumer = Consumer("cache-invalidator", {PRODUCT_UPDATED: refresh_product}, settings=SETTINGS)
handler = consumer.handler
