"""Operational alarms to an SNS topic with e-mail subscribers; the topic uses SNS's AWS-managed key."""

import pulumi_aws as aws

topic = aws.sns.Topic("ops-alerts", kms_master_key_id="alias/aws/sns")
aws.sns.TopicSubscription("ops-email", topic=topic.arn, protocol="email", endpoint="ops@example.com")
aws.cloudwatch.MetricAlarm("api-5xx", comparison_operator="GreaterThanThreshold", evaluation_periods=3,
                           metric_name="5XXError", namespace="AWS/ApiGateway", period=60, statistic="Sum",
                           threshold=5, dimensions={"ApiName": "orders"}, alarm_actions=[topic.arn])
aws.cloudwatch.LogGroup("audit", retention_in_days=365)
