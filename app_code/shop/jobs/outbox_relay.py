"""Scheduled outbox relay (every minute), also invocable with {"event_ids": [...]} after a commit."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.logs import function_logger
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()
runtime = Runtime(SETTINGS, db_max_size=1)
logger = function_logger("outbox-relay")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_ids = (event or {}).get("event_ids")
    if event_ids:
        report = runtime.relay.publish([uuid.UUID(str(value)) for value in event_ids])
    else:
        report = runtime.relay.publish_pending()
    logger.info("outbox relayed", published=report.published, failed=report.failed)
    return {"published": report.published, "failed": report.failed}
