"""Clickstream events on a KMS-encrypted Kinesis data stream, processed by a Lambda function whose
failed batches go to an on-failure queue (the Lambda + Kinesis error-handling pattern)."""

import json

import pulumi
import pulumi_aws as aws

stream = aws.kinesis.Stream("clicks", stream_mode_details={"stream_mode": "ON_DEMAND"},
                            encryption_type="KMS", kms_key_id="alias/aws/kinesis", retention_period=24)
failures = aws.sqs.Queue("clicks-failures", message_retention_seconds=1209600)

role = aws.iam.Role("clicks", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicyAttachment("clicks", role=role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole")
processor = aws.lambda_.Function("clicks", role=role.arn, runtime="python3.12", handler="clicks.handler",
                                 code=pulumi.FileArchive("./clicks"))
aws.lambda_.EventSourceMapping("clicks", event_source_arn=stream.arn, function_name=processor.arn,
                               starting_position="LATEST", batch_size=100, maximum_retry_attempts=3,
                               bisect_batch_on_function_error=True,
                               destination_config={"on_failure": {"destination_arn": failures.arn}})
