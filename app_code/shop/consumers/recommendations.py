"""Recommendations: "bought together" counts from `order.placed`; delisted products drop out."""

from __future__ import annotations

from itertools import permutations

from pydantic import BaseModel, ConfigDict

from shop.consumers._runtime import Consumer
from shop.db import Connection
from shop.events import ORDER_PLACED, PRODUCT_UPDATED, Envelope, OrderPlaced
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()


class ProductUpdated(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    event_id: str
    sku: str
    active: bool


def count_co_purchases(envelope: Envelope, runtime: Runtime) -> None:
    order = OrderPlaced.model_validate(envelope.detail)
    skus = sorted({item.sku for item in order.items})
    with runtime.db.connection() as conn, conn.transaction():
        first = conn.execute("INSERT INTO co_purchase_events (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
                             (order.event_id,)).rowcount
        if first and len(skus) > 1:
            with conn.cursor() as cursor:
                cursor.executemany(
                    """INSERT INTO co_purchases (sku, other_sku, orders) VALUES (%s, %s, 1)
                       ON CONFLICT (sku, other_sku) DO UPDATE SET orders = co_purchases.orders + 1""",
                    list(permutations(skus, 2)))


def forget_delisted(envelope: Envelope, runtime: Runtime) -> None:
    update = ProductUpdated.model_validate(envelope.detail)
    if update.active:
        return
    with runtime.db.connection() as conn:
        conn.execute("DELETE FROM co_purchases WHERE sku = %s OR other_sku = %s", (update.sku, update.sku))


def bought_together(conn: Connection, sku: str, *, limit: int = 5) -> list[str]:
    """The SKUs most often bought with `sku`, best first (what the storefront shows)."""
    rows = conn.execute("""SELECT other_sku FROM co_purchases WHERE sku = %s
                           ORDER BY orders DESC, other_sku LIMIT %s""", (sku, limit)).fetchall()
    return [row["other_sku"] for row in rows]


consumer = Consumer("recommendations", {ORDER_PLACED: count_co_purchases, PRODUCT_UPDATED: forget_delisted},
                    settings=SETTINGS)
handler = consumer.handler
