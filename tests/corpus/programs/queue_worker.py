"""An SQS work queue with a dead-letter queue, consumed by a Lambda function that reports partial
batch failures, with an alarm on the dead-letter queue (the AWS "SQS + Lambda" pattern)."""

import json

import pulumi
import pulumi_aws as aws

dlq = aws.sqs.Queue("thumbnails-dlq", message_retention_seconds=1209600)
queue = aws.sqs.Queue("thumbnails", visibility_timeout_seconds=180,
                      redrive_policy=dlq.arn.apply(lambda arn: json.dumps(
                          {"deadLetterTargetArn": arn, "maxReceiveCount": 5})))

role = aws.iam.Role("worker", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicyAttachment("worker-sqs", role=role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")
worker = aws.lambda_.Function("worker", role=role.arn, runtime="python3.12", handler="worker.handler",
                              timeout=30, code=pulumi.FileArchive("./worker"))
aws.lambda_.EventSourceMapping("worker", event_source_arn=queue.arn, function_name=worker.arn,
                               batch_size=10, function_response_types=["ReportBatchItemFailures"])

alerts = aws.sns.Topic("alerts")
aws.sns.TopicSubscription("ops", topic=alerts.arn, protocol="email", endpoint="ops@example.com")
aws.cloudwatch.MetricAlarm("thumbnails-dlq", comparison_operator="GreaterThanThreshold",
                           evaluation_periods=1, metric_name="ApproximateNumberOfMessagesVisible",
                           namespace="AWS/SQS", period=300, statistic="Maximum", threshold=0,
                           dimensions={"QueueName": dlq.name}, alarm_actions=[alerts.arn])
