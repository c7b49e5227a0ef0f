"""Anti-pattern: a second Region from the first deploy, with no residency contract, SLO breach or
Region-outage cost case behind it."""

import json

import pulumi
import pulumi_aws as aws

for region in ("us-east-1", "eu-west-1"):
    provider = aws.Provider(f"aws-{region}", region=region)
    options = pulumi.ResourceOptions(provider=provider)
    dlq = aws.sqs.Queue(f"orders-dlq-{region}", sqs_managed_sse_enabled=True, opts=options)
    aws.sqs.Queue(f"orders-{region}", sqs_managed_sse_enabled=True, opts=options,
                  redrive_policy=dlq.arn.apply(lambda arn: json.dumps(
                      {"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
    aws.cloudwatch.MetricAlarm(f"orders-dlq-{region}", comparison_operator="GreaterThanThreshold",
                               evaluation_periods=1, metric_name="ApproximateNumberOfMessagesVisible",
                               namespace="AWS/SQS", period=60, statistic="Maximum", threshold=0,
                               dimensions={"QueueName": dlq.name}, opts=options)
