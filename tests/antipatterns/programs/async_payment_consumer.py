"""Anti-pattern: checkout drops a message on a queue and a worker charges the card later --
"did we charge the customer or not?". The worker can charge: its role reads the payment provider's
API key."""

import json

import pulumi
import pulumi_aws as aws

dlq = aws.sqs.Queue("checkout-events-dlq", sqs_managed_sse_enabled=True,
                    message_retention_seconds=14 * 24 * 3600)
queue = aws.sqs.Queue("checkout-events", sqs_managed_sse_enabled=True, visibility_timeout_seconds=180,
                      redrive_policy=dlq.arn.apply(lambda arn: json.dumps(
                          {"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
aws.cloudwatch.MetricAlarm("checkout-events-dlq", comparison_operator="GreaterThanThreshold",
                           evaluation_periods=1, metric_name="ApproximateNumberOfMessagesVisible",
                           namespace="AWS/SQS", period=60, statistic="Maximum", threshold=0,
                           dimensions={"QueueName": dlq.name})
role = aws.iam.Role("worker", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
stripe_key = aws.secretsmanager.Secret("stripe-api-key", description="Stripe secret API key")
aws.iam.RolePolicy("worker", role=role.id, policy=pulumi.Output.all(queue.arn, stripe_key.arn).apply(
    lambda arns: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Resource": arns[0],
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]},
        {"Effect": "Allow", "Resource": arns[1], "Action": "secretsmanager:GetSecretValue"}]})))
worker = aws.lambda_.Function("worker", role=role.arn, runtime="python3.12", architectures=["arm64"],
                              handler="shop.payments.charge_card.handler", timeout=30,
                              code=pulumi.AssetArchive({"shop/__init__.py": pulumi.StringAsset("")}))
aws.lambda_.EventSourceMapping("worker", event_source_arn=queue.arn, function_name=worker.arn, batch_size=10,
                               function_response_types=["ReportBatchItemFailures"])
