"""Anti-pattern: a webhook endpoint as a Lambda function URL that anyone may call unsigned
(authorization NONE): no WAF can sit in front of it."""

import json

import pulumi
import pulumi_aws as aws

role = aws.iam.Role("webhook", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
webhook = aws.lambda_.Function("carrier-webhook", role=role.arn, runtime="python3.12",
                               handler="shop.webhooks.carrier.handler",
                               code=pulumi.AssetArchive({"shop/__init__.py": pulumi.StringAsset("")}))
aws.lambda_.FunctionUrl("carrier-webhook", function_name=webhook.name, authorization_type="NONE")
