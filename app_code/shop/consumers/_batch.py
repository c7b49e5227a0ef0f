"""SQS batch processing shared by the consumers: partial batch failures, one record at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

Effect = Callable[[dict[str, Any]], None]


def make_handler(name: str, effect: Effect) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    logger = Logger(service=name)
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        envelope = json.loads(record.body)
        effect(envelope)

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return process_partial_response(event=event, record_handler=record_handler,
                                        processor=processor, context=context)

    return handler
