"""One event consumer: its own rule, queue, dead-letter queue, function, mapping, role and alarms.

Each consumer is isolated from the others (a failure in fulfillment never blocks email):

    bus --rule(source, detail-types)--> queue --mapping(partial batch failures)--> function
              |  delivery fails after retries              | receive count exhausted
              v                                            v
             DLQ  <-----------------------------------------+   (alarm when it holds anything)

The one DLQ takes both kinds of failure, and both arrive as the same EventBridge envelope, so a
redrive of the DLQ into the queue replays either.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from components.config import EVENT_SOURCE, ConsumerSpec
from components.defaults import DLQ_RETENTION_SECONDS, Statement, policy_document
from components.lambda_code import (
    Access,
    DatabaseAccess,
    FunctionSettings,
    FunctionSpec,
    TableRef,
    database_access,
    database_user,
    python_function,
    table_access,
    validate_function,
)
from components.providers import workload_tags

QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
EVENT_DELIVERY_MAX_AGE_SECONDS = 24 * 3600  # the EventBridge maxima: keep trying for a day
EVENT_DELIVERY_MAX_RETRIES = 185
BATCHING_WINDOW_SECONDS = 5  # only for batches above 10, where SQS requires a window


IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                       "dynamodb:DeleteItem")


@dataclass(frozen=True, kw_only=True)
class QueueConsumerArgs:
    spec: ConsumerSpec
    bus_name: pulumi.Input[str]
    functions: FunctionSettings
    messaging_kms_key_arn: pulumi.Input[str]
    """Encrypts the queue and the DLQ (the function may decrypt with it to read its queue)."""
    alarm_topic_arn: pulumi.Input[str]
    idempotency_table: TableRef | None = None
    """Where the handler records processed event ids (Powertools idempotency)."""
    database: DatabaseAccess | None = None
    """When set (and the consumer runs in the VPC), it connects as its own PostgreSQL user."""
    access: Access = Access()
    """Anything else this consumer needs (e.g. sending mail)."""
    event_source: str = EVENT_SOURCE
    max_message_age_seconds: int | None = None
    """Alarm threshold on the oldest message; default: the retry budget + 5 minutes."""


def visibility_timeout(spec: ConsumerSpec) -> int:
    """6x the function timeout plus the batching window (AWS's guidance for SQS sources)."""
    return 6 * spec.timeout + batching_window(spec)


def batching_window(spec: ConsumerSpec) -> int:
    return BATCHING_WINDOW_SECONDS if spec.batch_size > 10 else 0


class QueueConsumer(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    """The `QueueName` dimension of the queue's metrics."""
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    rule_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: QueueConsumerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        spec = args.spec  # valid by construction: ConsumerSpec checks its own rules
        access = args.access
        if args.idempotency_table is not None:
            access = table_access(args.idempotency_table, env_var="IDEMPOTENCY_TABLE",
                                  actions=IDEMPOTENCY_ACTIONS, sid="Idempotency") + access
        if args.database is not None and spec.vpc:
            access = database_access(args.database, user=database_user(spec.name),
                                     region=args.functions.region,
                                     account_id=args.functions.account_id) + access
        function_spec = FunctionSpec(
            handler=spec.handler, owner=f"consumer {spec.name!r}", workload=spec.name,
            timeout=spec.timeout, memory=spec.memory, vpc=spec.vpc,
            reserved_concurrency=spec.reserved_concurrency, access=access)
        validate_function(function_spec, args.functions)
        super().__init__("ecommerce:events:QueueConsumer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = workload_tags(spec.name)

        dlq = aws.sqs.Queue(
            f"{name}-dlq", message_retention_seconds=DLQ_RETENTION_SECONDS,
            kms_master_key_id=args.messaging_kms_key_arn, kms_data_key_reuse_period_seconds=300,
            tags=tags, opts=child)
        queue = aws.sqs.Queue(
            f"{name}-queue", visibility_timeout_seconds=visibility_timeout(spec),
            message_retention_seconds=QUEUE_RETENTION_SECONDS, receive_wait_time_seconds=20,
            kms_master_key_id=args.messaging_kms_key_arn, kms_data_key_reuse_period_seconds=300,
            redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": dlq.arn,
                                                     "maxReceiveCount": spec.max_receive_count}),
            tags=tags, opts=child)
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq", queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps({"redrivePermission": "byQueue",
                                                           "sourceQueueArns": [queue.arn]}),
            opts=child)

        rule = aws.cloudwatch.EventRule(
            f"{name}-rule", event_bus_name=args.bus_name, state="ENABLED",
            description=f"{', '.join(spec.events)} to the {spec.name} queue",
            event_pattern=json.dumps({"source": [args.event_source],
                                      "detail-type": list(spec.events)}),
            opts=child)
        # Only this rule may send to the queue, and (on delivery failure) to the DLQ.
        for queue_name, target in ((f"{name}-queue", queue), (f"{name}-dlq", dlq)):
            aws.sqs.QueuePolicy(queue_name, queue_url=target.url, policy=policy_document([{
                "Sid": "OnlyItsRule", "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": target.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}}}]), opts=child)
        aws.cloudwatch.EventTarget(
            f"{name}-target", rule=rule.name, event_bus_name=args.bus_name, arn=queue.arn,
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq.arn),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=EVENT_DELIVERY_MAX_AGE_SECONDS,
                maximum_retry_attempts=EVENT_DELIVERY_MAX_RETRIES),
            opts=child)

        read_queue: Statement = {
            "Sid": "OwnQueue", "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes"],
            "Resource": queue.arn}
        decrypt_queue: Statement = {
            "Sid": "OwnQueueKey", "Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": args.messaging_kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{args.functions.region}"
                                                             ".amazonaws.com"}}}
        built = python_function(name, replace(
            function_spec, access=Access(statements=(read_queue, decrypt_queue)) + access),
            args.functions, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-mapping", event_source_arn=queue.arn, function_name=built.function.arn,
            batch_size=spec.batch_size,
            maximum_batching_window_in_seconds=batching_window(spec) or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=spec.max_concurrency),
            tags=tags, opts=pulumi.ResourceOptions(parent=self, depends_on=[built.policy]))

        retry_budget = spec.max_receive_count * visibility_timeout(spec)
        max_age = args.max_message_age_seconds or retry_budget + 300
        alarm_actions = [args.alarm_topic_arn]
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-depth", namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dlq.name}, statistic="Maximum", period=60,
            evaluation_periods=1, threshold=0, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", alarm_actions=alarm_actions, ok_actions=alarm_actions,
            alarm_description=f"{spec.name}: events are in the dead-letter queue. Read one, fix the "
                              "cause, then redrive the DLQ into the queue.",
            tags=tags, opts=child)
        aws.cloudwatch.MetricAlarm(
            f"{name}-oldest-message", namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage", dimensions={"QueueName": queue.name},
            statistic="Maximum", period=60, evaluation_periods=5, datapoints_to_alarm=5,
            threshold=max_age, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", alarm_actions=alarm_actions, ok_actions=alarm_actions,
            alarm_description=f"{spec.name}: the oldest message is over {math.ceil(max_age / 60)} "
                              "minutes old, more than its retries explain: the consumer is "
                              "falling behind or failing.",
            tags=tags, opts=child)

        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.queue_name = queue.name
        self.dlq_url = dlq.url
        self.dlq_arn = dlq.arn
        self.dlq_name = dlq.name
        self.rule_arn = rule.arn
        self.function_name = built.function.name
        self.function_arn = built.function.arn
        self.role_arn = built.role.arn
        self.register_outputs({
            "queue_url": self.queue_url, "queue_arn": self.queue_arn, "dlq_url": self.dlq_url,
            "dlq_arn": self.dlq_arn, "rule_arn": self.rule_arn,
            "function_name": self.function_name, "function_arn": self.function_arn,
            "role_arn": self.role_arn})
