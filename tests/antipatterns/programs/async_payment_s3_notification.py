"""Anti-pattern: card captures triggered by files landing in a bucket (an S3 event notification
invokes code that holds the payment provider's key, asynchronously)."""

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
batches = aws.s3.BucketV2("capture-batches")
aws.s3.BucketNotification("capture-batches", bucket=batches.id, lambda_functions=[
    {"lambda_function_arn": charge.arn, "events": ["s3:ObjectCreated:*"]}])
