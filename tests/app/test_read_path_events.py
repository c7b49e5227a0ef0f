"""End to end: a catalog change written with its `product.updated` outbox row (as the back office
writes it) is relayed to the bus, reaches the search indexer and the cache invalidator through their
own rules and queues (moto), and the storefront then serves the change from the cache and search;
"bought together" goes from an order to the recommendations index to the product page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.app_env import ALICE, BUS
from tests.support.app_stores import Aws, Catalog


@pytest.fixture
def consumers() -> dict[str, Any]:
    import shop.consumers.cache_invalidator
    import shop.consumers.recommendations
    import shop.consumers.search_indexer

    return {"search-indexer": shop.consumers.search_indexer.handler,
            "cache-invalidator": shop.consumers.cache_invalidator.handler,
            "recommendations": shop.consumers.recommendations.handler}


def _change(catalog: Catalog, storefront_runtime: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Change a product and write its product.updated to the outbox in the same transaction's spirit,
    then relay it to the bus (what the back office and the outbox relay do)."""
    from psycopg.types.json import Jsonb

    from shop.events import PRODUCT_UPDATED, SOURCE, product_updated_detail
    from shop.outbox import OutboxRelay

    product = catalog.put(*args, **kwargs)
    detail = product_updated_detail(product, updated_at=datetime.now(UTC))
    catalog.db.execute("INSERT INTO outbox (event_id, source, detail_type, detail) VALUES (%s, %s, %s, %s)",
                       (detail["event_id"], SOURCE, PRODUCT_UPDATED, Jsonb(detail)))
    relay = OutboxRelay(storefront_runtime.db, storefront_runtime.events, BUS)
    assert relay.publish([uuid.UUID(detail["event_id"])]).published == 1
    return detail


def _replay(aws: Aws, detail: dict[str, Any]) -> None:
    """Deliver an event again (a redelivery, or an old one arriving late)."""
    import json

    aws.client("events").put_events(Entries=[{"Source": "ecommerce.orders", "DetailType": "product.updated",
                                              "EventBusName": BUS, "Detail": json.dumps(detail)}])


def test_a_product_change_reaches_the_index_and_the_cache_and_the_storefront_serves_it(
        storefront: Any, storefront_runtime: Any, catalog: Catalog, aws: Aws, consumers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    # GIVEN a product the storefront has cached and search has indexed
    first = _change(catalog, storefront_runtime, "TEE-RED-M", "Red tee, M", 2500, description="Cotton")
    for name in ("search-indexer", "cache-invalidator"):
        assert drain(name, consumers[name]) == [{"batchItemFailures": []}]
    assert storefront.get("/catalog/products/TEE-RED-M").json()["price_cents"] == 2500
    assert storefront.get("/catalog/categories/apparel/products").status_code == 200  # a cached page

    # WHEN the back office changes its price (version 2)
    _change(catalog, storefront_runtime, "TEE-RED-M", "Red tee, M", 1999, description="Cotton")
    # THEN the event is in both consumers' queues, and each consumer applies it
    assert aws.depth(aws.queues["search-indexer"]) == 1 and aws.depth(aws.queues["cache-invalidator"]) == 1
    for name in ("search-indexer", "cache-invalidator"):
        assert drain(name, consumers[name]) == [{"batchItemFailures": []}]

    # THEN the storefront serves the new price from the cache, without a database read
    counters = storefront_runtime.read_cache.counters
    counters.take()
    assert storefront.get("/catalog/products/TEE-RED-M").json() == {
        "sku": "TEE-RED-M", "name": "Red tee, M", "description": "Cotton", "category": "apparel",
        "price_cents": 1999, "currency": "USD", "stock": 5, "active": True, "version": 2}
    assert counters.take()["loads"] == 0
    # AND the cached listing page was retired, search shows the new price
    listing = storefront.get("/catalog/categories/apparel/products").json()
    assert [i["price_cents"] for i in listing["items"] if i["sku"] == "TEE-RED-M"] == [1999]
    [hit] = storefront.get("/catalog/search?q=red+tee").json()["items"]
    assert hit["price_cents"] == 1999 and hit["version"] == 2

    # WHEN the version-1 event arrives again, late
    _replay(aws, first)
    for name in ("search-indexer", "cache-invalidator"):
        assert drain(name, consumers[name]) == [{"batchItemFailures": []}]
    # THEN nothing goes back to the old price, neither in the cache nor in search
    assert storefront.get("/catalog/products/TEE-RED-M").json()["price_cents"] == 1999
    assert storefront.get("/catalog/search?q=red+tee").json()["items"][0]["price_cents"] == 1999
    assert all(aws.depth(aws.dlqs[name]) == 0 for name in ("search-indexer", "cache-invalidator"))


def test_a_delisted_product_leaves_the_storefront(
        storefront: Any, storefront_runtime: Any, catalog: Catalog, consumers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    _change(catalog, storefront_runtime, "MUG-OLD", "Old mug", 900, category="kitchen")
    for name in ("search-indexer", "cache-invalidator"):
        drain(name, consumers[name])
    assert storefront.get("/catalog/products/MUG-OLD").status_code == 200

    _change(catalog, storefront_runtime, "MUG-OLD", "Old mug", 900, category="kitchen", active=False)
    for name in ("search-indexer", "cache-invalidator"):
        drain(name, consumers[name])

    assert storefront.get("/catalog/products/MUG-OLD").status_code == 404
    assert storefront.get("/catalog/search?q=old+mug").json()["items"] == []
    assert "MUG-OLD" not in storefront.get("/catalog/categories/kitchen/products").text


def test_an_event_whose_product_disagrees_with_it_goes_to_the_dlq(
        storefront_runtime: Any, catalog: Catalog, aws: Aws, consumers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    from shop.events import product_updated_detail

    detail = product_updated_detail(catalog.put("CAP-1", "Cap", 500), updated_at=datetime.now(UTC))
    detail["version"] = 7  # the product it carries is version 1
    _replay(aws, detail)
    drain("search-indexer", consumers["search-indexer"])
    assert aws.depth(aws.dlqs["search-indexer"]) == 1


def test_the_cache_invalidator_retries_while_the_cache_is_unreachable(
        storefront_runtime: Any, catalog: Catalog, aws: Aws, consumers: dict[str, Any],
        drain: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:

    import shop.consumers.cache_invalidator as module
    from shop.cache import ReadCache
    from tests.support.redis import unreachable_cache_client

    # GIVEN the cache cannot be reached
    monkeypatch.setattr(module.consumer.runtime, "read_cache", ReadCache(unreachable_cache_client()))
    _change(catalog, storefront_runtime, "CAP-2", "Cap", 500)
    # WHEN the invalidator runs, THEN the message fails (and after its retries is in the DLQ)
    responses = drain("cache-invalidator", consumers["cache-invalidator"])
    assert all(r["batchItemFailures"] for r in responses)
    assert aws.depth(aws.dlqs["cache-invalidator"]) == 1


def test_bought_together_goes_from_an_order_to_the_product_page(
        storefront: Any, storefront_runtime: Any, catalog: Catalog, aws: Aws, consumers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    import json

    from shop.events import event_id_for, order_placed_detail
    from shop.search.indexes import PRODUCTS, product_document, upsert

    # GIVEN the products are indexed (the storefront shows the partners from the products index)
    for sku in ("TEE-BLK-M", "MUG-WHT", "CAP-RED"):
        product = catalog.put(sku, sku.title(), 1000, category="apparel")
        upsert(storefront_runtime.search, PRODUCTS, product_document(product, datetime.now(UTC)))

    def order(number: int, skus: list[str]) -> None:
        detail = order_placed_detail(
            event_id=event_id_for("order.placed", f"test-{number}"), order_id=uuid.uuid4(),
            customer_id=uuid.UUID(ALICE), placed_at=datetime.now(UTC), currency="USD", total_cents=1000,
            items=[{"sku": s, "quantity": 1, "unit_price_cents": 500} for s in skus], provider="stripe",
            intent_id=f"pi_{number}", shipping={"country": "DE", "postal_code": "10115"})
        aws.client("events").put_events(Entries=[{"Source": "ecommerce.orders", "DetailType": "order.placed",
                                                  "EventBusName": BUS, "Detail": json.dumps(detail)}])

    # WHEN three orders are placed (the tee with the mug twice, with the cap once)
    order(1, ["TEE-BLK-M", "MUG-WHT"])
    order(2, ["TEE-BLK-M", "MUG-WHT", "CAP-RED"])
    order(3, ["MUG-WHT", "TEE-BLK-M"])
    drain("recommendations", consumers["recommendations"])

    # THEN the tee's page shows the mug first, then the cap
    body = storefront.get("/catalog/products/TEE-BLK-M/bought-together").json()
    assert [item["sku"] for item in body["items"]] == ["MUG-WHT", "CAP-RED"]
    page = storefront.get("/products/TEE-BLK-M")
    assert "Bought together" in page.text and 'href="/products/MUG-WHT"' in page.text
    # AND an unknown product has none, and is a 404
    assert storefront.get("/catalog/products/NOPE/bought-together").status_code == 404
