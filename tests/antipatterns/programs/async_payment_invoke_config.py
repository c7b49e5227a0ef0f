"""Anti-pattern: the charge runs on an asynchronous invocation with retries and a success
destination: Lambda retries a charge whose outcome nobody awaited."""

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
failed = aws.sqs.Queue("charge-failed", message_retention_seconds=1209600)
aws.lambda_.FunctionEventInvokeConfig("charge", function_name=charge.name, maximum_retry_attempts=2,
                                      destination_config={"on_failure": {"destination": failed.arn}})
