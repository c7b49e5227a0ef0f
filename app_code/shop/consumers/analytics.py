"""Analytics: records every order, fulfillment and abandoned-cart event as one fact row."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from shop.consumers._runtime import Consumer
from shop.events import CART_ABANDONED, ORDER_FULFILLED, ORDER_PLACED, Envelope, GenericEvent, OrderPlaced
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()


def record_fact(envelope: Envelope, runtime: Runtime) -> None:
    total: int | None = None
    currency: str | None = None
    if envelope.detail_type == ORDER_PLACED:
        order = OrderPlaced.model_validate(envelope.detail)
        total, currency = order.total_cents, order.currency
    event = GenericEvent.model_validate(envelope.detail)
    with runtime.db.connection() as conn:
        conn.execute(
            """INSERT INTO analytics_events
                   (event_id, detail_type, occurred_at, total_cents, currency, detail)
               VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING""",
            (event.event_id, envelope.detail_type, envelope.time, total, currency, Jsonb(envelope.detail)))


consumer = Consumer("analytics", {ORDER_PLACED: record_fact, ORDER_FULFILLED: record_fact,
                                  CART_ABANDONED: record_fact}, settings=SETTINGS)
handler = consumer.handler
