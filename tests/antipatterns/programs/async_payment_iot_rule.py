"""Anti-pattern: kiosk payments charged from IoT messages: an IoT rule invokes code that can
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
aws.iot.TopicRule("kiosk-charges", enabled=True, sql="SELECT * FROM 'kiosk/+/checkout'",
                  sql_version="2016-03-23",
                  lambdas=[{"function_arn": charge.arn}])
