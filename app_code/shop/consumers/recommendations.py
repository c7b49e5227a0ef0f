"""Recommendations: "bought together" counted in PostgreSQL, served from OpenSearch.

`order.placed`: in one transaction, the event id is recorded (once: a redelivered order changes no
count), every pair of the order's SKUs is counted in `co_purchases`, and the revision of each SKU
whose list changed grows by one (`co_purchase_revisions`, migration 0010). Then each SKU's current
list (its most frequent partners, with the revision read in the same statement) is written to the
`recommendations` index with that revision as the document's external version: a consumer that
publishes late cannot overwrite a newer list, and a redelivery publishes again (so a crash between
the commit and the publish heals on the retry).

`product.updated` with `active: false`: the product leaves every list (and its own is emptied),
and the lists that changed are published the same way. The storefront also filters inactive
products out when it serves a list, so a delisting shows at once even before this runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import permutations

from pydantic import BaseModel, ConfigDict

from shop.consumers._runtime import Consumer
from shop.events import ORDER_PLACED, PRODUCT_UPDATED, Envelope, OrderPlaced
from shop.runtime import Runtime
from shop.search.indexes import RECOMMENDATIONS, RECOMMENDATIONS_KEPT, recommendation_document, upsert
from shop.settings import Settings

SETTINGS = Settings.from_env()

_BUMP_REVISIONS = """INSERT INTO co_purchase_revisions (sku, revision)
                     SELECT sku, 1 FROM unnest(%s::text[]) AS sku
                     ON CONFLICT (sku) DO UPDATE SET revision = co_purchase_revisions.revision + 1"""


class ProductUpdated(BaseModel):
    """The part of `product.updated` this consumer reads (the contract is shop.events.ProductUpdated)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    event_id: str
    sku: str
    active: bool


def count_co_purchases(envelope: Envelope, runtime: Runtime) -> None:
    order = OrderPlaced.model_validate(envelope.detail)
    skus = sorted({item.sku for item in order.items})
    if len(skus) < 2:  # nothing bought together; record the event all the same
        with runtime.db.connection() as conn:
            conn.execute("INSERT INTO co_purchase_events (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
                         (order.event_id,))
        return
    with runtime.db.connection() as conn, conn.transaction():
        first = conn.execute("INSERT INTO co_purchase_events (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
                             (order.event_id,)).rowcount
        if first:
            with conn.cursor() as cursor:
                cursor.executemany(
                    """INSERT INTO co_purchases (sku, other_sku, orders) VALUES (%s, %s, 1)
                       ON CONFLICT (sku, other_sku) DO UPDATE SET orders = co_purchases.orders + 1""",
                    list(permutations(skus, 2)))
            conn.execute(_BUMP_REVISIONS, (skus,))
    publish(runtime, skus)


def forget_delisted(envelope: Envelope, runtime: Runtime) -> None:
    update = ProductUpdated.model_validate(envelope.detail)
    if update.active:
        return
    with runtime.db.connection() as conn, conn.transaction():
        partners = [row["sku"] for row in conn.execute(
            "DELETE FROM co_purchases WHERE sku = %s OR other_sku = %s RETURNING sku",
            (update.sku, update.sku)).fetchall()]
        changed = sorted(set(partners))
        if changed:
            conn.execute(_BUMP_REVISIONS, (changed,))
    publish(runtime, changed)


def publish(runtime: Runtime, skus: Sequence[str]) -> int:
    """Write the current list of each SKU to the index; how many documents changed."""
    if not skus:
        return 0
    with runtime.db.connection() as conn:
        rows = conn.execute(
            """SELECT r.sku, r.revision,
                      COALESCE((SELECT json_agg(json_build_array(c.other_sku, c.orders)
                                                ORDER BY c.orders DESC, c.other_sku)
                                  FROM (SELECT other_sku, orders FROM co_purchases
                                         WHERE sku = r.sku ORDER BY orders DESC, other_sku LIMIT %s) c),
                               '[]'::json) AS partners
                 FROM co_purchase_revisions r WHERE r.sku = ANY(%s)""",
            (RECOMMENDATIONS_KEPT, list(skus))).fetchall()
    now = datetime.now(UTC)
    return sum(upsert(runtime.search, RECOMMENDATIONS, recommendation_document(
        row["sku"], int(row["revision"]), [(other, orders) for other, orders in row["partners"]], now))
        for row in rows)


consumer = Consumer("recommendations", {ORDER_PLACED: count_co_purchases, PRODUCT_UPDATED: forget_delisted},
                    settings=SETTINGS)
handler = consumer.handler
