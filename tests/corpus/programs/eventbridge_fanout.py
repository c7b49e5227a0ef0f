"""Order events on a custom EventBridge bus, fanned out by rules to one queue per consumer, each with
its own dead-letter queue (the EventBridge "fan-out to SQS" pattern)."""

import json

import pulumi
import pulumi_aws as aws

bus = aws.cloudwatch.EventBus("orders")
aws.cloudwatch.EventArchive("orders", event_source_arn=bus.arn, retention_days=30)

for consumer in ("fulfillment", "email", "analytics"):
    dlq = aws.sqs.Queue(f"{consumer}-dlq", message_retention_seconds=1209600)
    queue = aws.sqs.Queue(consumer, redrive_policy=dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
    rule = aws.cloudwatch.EventRule(consumer, event_bus_name=bus.name, event_pattern=json.dumps({
        "source": ["shop.orders"], "detail-type": ["order.placed"]}))
    aws.cloudwatch.EventTarget(consumer, rule=rule.name, event_bus_name=bus.name, arn=queue.arn,
                               dead_letter_config={"arn": dlq.arn},
                               retry_policy={"maximum_event_age_in_seconds": 3600,
                                             "maximum_retry_attempts": 10})
    aws.sqs.QueuePolicy(consumer, queue_url=queue.id, policy=pulumi.Output.all(queue.arn, rule.arn).apply(
        lambda arns: json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arns[0],
            "Condition": {"ArnEquals": {"aws:SourceArn": arns[1]}}}]})))
