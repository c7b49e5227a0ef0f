"""Abandoned carts (hourly): an open cart idle for ABANDONED_CART_AFTER_HOURS becomes `cart.abandoned`.

The event goes through the outbox like every other, with an id derived from the cart and its last
change, so a re-run never emits it twice; the cart is then marked reminded.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg.types.json import Jsonb

from shop.events import CART_ABANDONED, SOURCES, CartAbandoned, event_id_for, rfc3339
from shop.logs import function_logger
from shop.runtime import Runtime
from shop.settings import Settings
from shop.userstate import is_guest, quantities

SETTINGS = Settings.from_env()
runtime = Runtime(SETTINGS, db_max_size=1)
logger = function_logger("abandoned-carts")


def queue_reminders(runtime: Runtime, *, idle_seconds: int, now: datetime | None = None) -> int:
    moment = now or datetime.now(UTC)
    queued = 0
    for cart in runtime.carts.stale_open_carts(idle_seconds=idle_seconds):
        if is_guest(cart.customer_id):  # nobody to remind: a guest has no address
            continue
        try:
            lines = quantities(cart)
        except ValueError:
            continue
        event_id = event_id_for(CART_ABANDONED, f"{cart.cart_id}:{cart.updated_at}")
        detail = CartAbandoned(event_id=event_id, cart_id=cart.cart_id,
                               customer_id=uuid.UUID(cart.customer_id),
                               abandoned_at=moment, items=tuple({"sku": s, "quantity": q} for s, q in lines))
        data = {**detail.model_dump(mode="json"), "abandoned_at": rfc3339(moment)}
        with runtime.db.connection() as conn:
            conn.execute("INSERT INTO outbox (event_id, source, detail_type, detail) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT (event_id) DO NOTHING",
                         (event_id, SOURCES[CART_ABANDONED], CART_ABANDONED, Jsonb(data)))
        if runtime.carts.mark_reminded(cart):
            queued += 1
    return queued


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    queued = queue_reminders(runtime, idle_seconds=SETTINGS.abandoned_cart_after_hours * 3600)
    logger.info("abandoned carts queued", queued=queued)
    return {"queued": queued}
