"""Anti-pattern: payments retried from the logs: a log subscription filter invokes code that can
charge."""

import json

import pulumi
import pulumi_aws as aws

stripe_key = aws.secretsmanager.Secret("stripe-api-key")
role = aws.iam.Role("payments", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicy("payments-key", role=role.id, policy=stripe_key.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                            "Resource": arn}]})))
charge = aws.lambda_.Function("charge", role=role.arn, runtime="python3.12", handler="shop.pay.handler",
                              code=pulumi.AssetArchive({"shop/__init__.py": pulumi.StringAsset("")}))
logs = aws.cloudwatch.LogGroup("checkout-errors", retention_in_days=30)
aws.lambda_.Permission("charge-from-logs", action="lambda:InvokeFunction", function=charge.name,
                       principal="logs.amazonaws.com", source_arn=logs.arn.apply(lambda arn: f"{arn}:*"))
aws.cloudwatch.LogSubscriptionFilter("retry-charges", log_group=logs.name, filter_pattern="CHARGE_TIMEOUT",
                                     destination_arn=charge.arn)
