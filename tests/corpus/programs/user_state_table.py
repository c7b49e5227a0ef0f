"""Per-user carts in a DynamoDB table (on-demand, TTL, point-in-time recovery; DynamoDB encrypts
every table at rest), read by a function behind a Lambda function URL that only signed requests
(IAM) may call."""

import json

import pulumi
import pulumi_aws as aws

carts = aws.dynamodb.Table("carts", billing_mode="PAY_PER_REQUEST", hash_key="user_id",
                           attributes=[{"name": "user_id", "type": "S"}],
                           ttl={"attribute_name": "expires_at", "enabled": True},
                           point_in_time_recovery={"enabled": True}, deletion_protection_enabled=True)
role = aws.iam.Role("carts", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicy("carts", role=role.id, policy=carts.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": arn,
                                            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"]}]})))
api = aws.lambda_.Function("carts", role=role.arn, runtime="python3.12", handler="carts.handler",
                           code=pulumi.FileArchive("./carts"),
                           environment={"variables": {"CARTS_TABLE": carts.name}})
url = aws.lambda_.FunctionUrl("carts", function_name=api.name, authorization_type="AWS_IAM")
pulumi.export("url", url.function_url)
