"""Resilient asynchronous work (case study: EventBridge fan-out to a per-consumer SQS queue, each
with its own retries and dead-letter queue; a failure in fulfillment never blocks email).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    Report,
    Res,
    StackGraph,
    is_unknown,
    message,
    preview_unknown,
    resource_policy,
    stack_policy,
)

QUEUE = "aws:sqs/queue:Queue"
REDRIVE = "aws:sqs/redrivePolicy:RedrivePolicy"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
# who may name a queue as its dead-letter queue, and in which property
DLQ_REFERRERS: dict[str, tuple[str, ...]] = {
    QUEUE: ("redrivePolicy",),
    REDRIVE: ("redrivePolicy",),
    EVENT_TARGET: ("deadLetterConfig",),
    SCHEDULE: ("target",),
    ESM: ("destinationConfig",),
    "aws:lambda/function:Function": ("deadLetterConfig",),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("destinationConfig",),
    "aws:sns/topicSubscription:TopicSubscription": ("redrivePolicy",),
    "aws:pipes/pipe:Pipe": ("sourceParameters",),
}
TAGS = ["case-study", "resilience"]


def dead_letter_queues(graph: StackGraph) -> dict[str, Res]:
    """Queues that something in the stack uses as its dead-letter queue or failure destination."""
    found: dict[str, Res] = {}
    for queue in graph.of_type(QUEUE):
        if any(referrer.urn != queue.urn for type_, keys in DLQ_REFERRERS.items()
               for referrer in graph.referrers(queue, [type_], *keys)):
            found[queue.urn] = queue
    return found


def has_redrive(graph: StackGraph, queue: Res) -> bool:
    """The queue sends failed messages to a DLQ (its redrive policy may be computed)."""
    return queue.props.get("redrivePolicy") not in (None, "") or bool(
        graph.referrers(queue, [REDRIVE], "queueUrl"))


def _check_queues(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Every work queue has a redrive policy to a dead-letter queue.

    Covers: aws:sqs/queue:Queue, aws:sqs/redrivePolicy:RedrivePolicy, and what uses a queue as a
    dead-letter queue or failure destination: aws:cloudwatch/eventTarget:EventTarget,
    aws:scheduler/schedule:Schedule, aws:lambda/eventSourceMapping:EventSourceMapping,
    aws:lambda/function:Function, aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig,
    aws:sns/topicSubscription:TopicSubscription, aws:pipes/pipe:Pipe.

    Well-built programs: each consumer's queue redrives to its own DLQ (the AWS SQS guides).
    """
    dlqs = dead_letter_queues(graph)
    for queue in graph.of_type(QUEUE):
        if queue.urn in dlqs or has_redrive(graph, queue):
            continue
        report(message(queue, "the queue has no redrive policy and is no other queue's dead-letter "
                              "queue, so a poison message is retried until it expires",
                       "create a DLQ for it and set redrive_policy={deadLetterTargetArn: <dlq arn>, "
                       "maxReceiveCount: 5}"), queue.urn)


sqs_queue_require_dlq = stack_policy(
    name="sqs-queue-require-dlq",
    description="Every SQS queue that is not itself a dead-letter queue must have a redrive policy.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_queues,
    remediation="Give each work queue its own DLQ through redrive_policy.", tags=TAGS,
    antipattern="a consumer without its own retries and dead-letter queue",
    covers=(QUEUE, *(t for t in DLQ_REFERRERS if t != QUEUE)))


def _check_targets(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """Events that cannot be delivered land in a dead-letter queue instead of being dropped.

    Covers: aws:cloudwatch/eventTarget:EventTarget, aws:scheduler/schedule:Schedule.

    Well-built programs: their rule targets and schedules set dead_letter_config.
    """
    if resource.type == SCHEDULE:
        target = resource.first("target")
        dlq = target.get("deadLetterConfig") if isinstance(target, Mapping) else target
    else:
        dlq = resource.first("deadLetterConfig")
    arn = dlq.get("arn") if isinstance(dlq, Mapping) else dlq
    if is_unknown(arn) or (isinstance(arn, str) and arn):
        return
    report(message(resource, "events that cannot be delivered to the target after its retries are "
                             "dropped: there is no dead-letter queue",
                   "set dead_letter_config.arn to an SQS queue (with a queue policy allowing "
                   "events.amazonaws.com) and a retry_policy"))


event_target_require_dlq = resource_policy(
    name="event-target-require-dlq",
    description="Every EventBridge rule target and schedule needs a dead-letter queue.",
    level=MANDATORY, severity=Severity.HIGH, types=[EVENT_TARGET, SCHEDULE], check=_check_targets,
    remediation="Set dead_letter_config on the target.", tags=TAGS,
    antipattern="a consumer without its own retries and dead-letter queue")


def _check_mappings(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """A failing batch does not block its queue or shard forever.

    Covers: aws:lambda/eventSourceMapping:EventSourceMapping with aws:sqs/queue:Queue and
    aws:sqs/redrivePolicy:RedrivePolicy (SQS: the source queue's DLQ); stream sources (Kinesis,
    DynamoDB streams, Kafka): an on-failure destination. Amazon MQ and DocumentDB sources have no
    on-failure destination in Lambda and are not checked.

    Well-built programs: the source queue redrives to a DLQ; stream mappings set
    destination_config.on_failure (the AWS Lambda error-handling guides).
    """
    queues = graph.of_type(QUEUE)
    for mapping in graph.of_type(ESM):
        source = mapping.props.get("eventSourceArn")
        sources = graph.targets(mapping, "eventSourceArn") or [
            q for q in queues if graph.refers(mapping, "eventSourceArn", q)]
        queue = next((s for s in sources if s.type == QUEUE), None)
        if queue is not None:
            if not has_redrive(graph, queue):
                report(message(mapping, f"the source queue {queue.name} has no dead-letter queue, so "
                                        "failed batches are retried until the messages expire",
                               "set a redrive_policy on the source queue (and report partial batch "
                               "failures with function_response_types=['ReportBatchItemFailures'])"),
                       mapping.urn)
            continue
        if not sources and is_unknown(source):
            report(preview_unknown(mapping, "event_source_arn", "pass the source's ARN output"),
                   mapping.urn)
            continue
        if isinstance(source, str) and source.startswith(("arn:aws:mq:", "arn:aws:rds:")):
            continue  # Lambda offers no on-failure destination for these sources
        if isinstance(source, str) and source.startswith("arn:aws:sqs:"):
            report(message(mapping, f"the source queue {source} is not in this stack, so its "
                                    "dead-letter queue cannot be verified",
                           "manage the queue with its redrive policy in this stack"), mapping.urn)
            continue
        destination = mapping.get("destinationConfig", "onFailure", "destinationArn")
        if destination is None or destination == "":
            report(message(mapping, "records that keep failing block the stream shard and are lost "
                                    "when they expire: there is no on-failure destination",
                           "set destination_config.on_failure.destination_arn (an SQS queue or SNS "
                           "topic), maximum_retry_attempts and bisect_batch_on_function_error"),
                   mapping.urn)


event_source_mapping_require_failure_handling = stack_policy(
    name="event-source-mapping-require-failure-handling",
    description="Every event source mapping needs a DLQ (SQS: on the source queue) or an on-failure "
                "destination (streams).",
    level=MANDATORY, severity=Severity.HIGH, check=_check_mappings,
    remediation="Give the source queue a redrive policy, or a stream mapping an on-failure destination.",
    tags=TAGS,
    antipattern="a failure in fulfillment blocking email", covers=(ESM, QUEUE, REDRIVE))

POLICIES = [sqs_queue_require_dlq, event_target_require_dlq, event_source_mapping_require_failure_handling]
