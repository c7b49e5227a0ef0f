"""What every consumer shares: SQS batch processing with partial batch failures, and idempotency.

A record is one EventBridge envelope delivered by the consumer's own queue. Its effect runs at most
once per (consumer, detail.event_id) thanks to Powertools idempotency on the DynamoDB table; effects
that write to PostgreSQL are also keyed by the event id, so even an expired idempotency record
changes nothing. A record that fails (a malformed message, an unknown event type, a failing effect)
is reported in `batchItemFailures`: SQS redelivers only it, and after the queue's max receive count
moves it to the consumer's DLQ. The other records of the batch are deleted as processed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shop.events import Envelope, GenericEvent
from shop.logs import function_logger
from shop.runtime import Runtime
from shop.settings import Settings

Effect = Callable[[Envelope, Runtime], None]
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
IDEMPOTENCY_TTL_SECONDS = 15 * 24 * 3600  # longer than a DLQ keeps a message (14 days)


class UnroutableEvent(Exception):
    """The consumer does not handle this detail-type: the rule and the code disagree."""


class Consumer:
    def __init__(self, name: str, effects: Mapping[str, Effect], *, settings: Settings,
                 runtime: Runtime | None = None) -> None:
        self.name = name
        self.effects = dict(effects)
        self.runtime = runtime or Runtime(settings, db_max_size=1)
        self.logger = function_logger(name)
        # A batch whose every record failed is reported like any other (each record retries on its own).
        self.processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.handler: Handler = self.logger.inject_lambda_context(self._handle)

    @cached_property
    def _idempotency(self) -> tuple[IdempotencyConfig, Callable[..., dict[str, str]]]:
        persistence = DynamoDBPersistenceLayer(
            table_name=self.runtime.settings.require("idempotency_table"),
            boto3_client=self.runtime._client("dynamodb"))
        config = IdempotencyConfig(event_key_jmespath="[consumer, event_id]",
                                   raise_on_no_idempotency_key=True,
                                   expires_after_seconds=IDEMPOTENCY_TTL_SECONDS)

        def apply_once(payload: dict[str, str]) -> dict[str, str]:
            envelope = Envelope.from_sqs_body(payload["body"])
            self.effects[envelope.detail_type](envelope, self.runtime)
            return {"event_id": payload["event_id"], "consumer": self.name}

        # Powertools' decorator returns Any; applied as a call, the result keeps a type. The function's
        # name stays: Powertools keys the idempotency records by its module and qualified name.
        guarded: Callable[..., dict[str, str]] = idempotent_function(
            apply_once, data_keyword_argument="payload", config=config, persistence_store=persistence)
        return config, guarded

    def _record(self, record: SQSRecord) -> None:
        try:
            envelope = Envelope.from_sqs_body(record.body)
            GenericEvent.model_validate(envelope.detail)
            if envelope.detail_type not in self.effects:
                raise UnroutableEvent(envelope.detail_type)
            _, apply_once = self._idempotency
            apply_once(payload={"consumer": self.name, "event_id": envelope.event_id, "body": record.body})
        except (ValueError, ValidationError, UnroutableEvent) as error:
            self.logger.error("malformed or unroutable message", message_id=record.message_id,
                              error=type(error).__name__)
            raise
        except Exception as error:
            self.logger.warning("effect failed; the message will be retried", message_id=record.message_id,
                                error=type(error).__name__)
            raise

    def _handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        config, _ = self._idempotency
        config.register_lambda_context(context)
        response = process_partial_response(event=event, record_handler=self._record,
                                            processor=self.processor, context=context)
        return dict(response)
