"""Fulfillment: turns `order.placed` into a fulfillment request for the warehouse (one per order)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from shop.consumers._runtime import Consumer
from shop.events import ORDER_PLACED, Envelope, OrderPlaced
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()


def request_fulfillment(envelope: Envelope, runtime: Runtime) -> None:
    order = OrderPlaced.model_validate(envelope.detail)
    items = [item.model_dump() for item in order.items]
    with runtime.db.connection() as conn:
        conn.execute(
            """INSERT INTO fulfillment_requests (order_id, event_id, items, shipping)
               VALUES (%s, %s, %s, %s) ON CONFLICT (order_id) DO NOTHING""",
            (order.order_id, order.event_id, Jsonb(items), Jsonb(order.shipping.model_dump())))


consumer = Consumer("fulfillment", {ORDER_PLACED: request_fulfillment}, settings=SETTINGS)
handler = consumer.handler
