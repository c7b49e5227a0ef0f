"""Checkout recovery (every 5 minutes): completes orders whose payment succeeded but were not recorded.

It only looks up the stored PaymentIntent, never confirms one, so it cannot charge. A succeeded
intent gets its order, items and `order.placed` outbox row (the relay publishes them); a declined
one closes the checkout as declined; anything else is left for the client's retry or the next run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.logs import function_logger
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()
runtime = Runtime(SETTINGS, db_max_size=1)
logger = function_logger("checkout-recovery")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    counts = runtime.checkout.recover_stranded(older_than_seconds=SETTINGS.stranded_checkout_after_seconds)
    if counts["completed"] or counts["unresolved"]:
        logger.warning("stranded checkouts found", extra=counts)
    return counts
