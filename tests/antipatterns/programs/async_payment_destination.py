"""Anti-pattern: a function that can charge is the success destination of another function's
asynchronous invocation: checkout returns before the charge."""

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
checkout_role = aws.iam.Role("checkout", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
checkout = aws.lambda_.Function("checkout", role=checkout_role.arn, runtime="python3.12",
                                handler="shop.checkout.handler",
                                code=pulumi.AssetArchive({"shop/__init__.py": pulumi.StringAsset("")}))
failed = aws.sqs.Queue("checkout-failed", message_retention_seconds=1209600)
aws.lambda_.FunctionEventInvokeConfig("checkout", function_name=checkout.name, destination_config={
    "on_success": {"destination": charge.arn}, "on_failure": {"destination": failed.arn}})
