"""Image uploads: an S3 bucket whose object-created notifications invoke a resizing Lambda function
(asynchronous work that is not payment work), with an on-failure destination for failed events."""

import json

import pulumi
import pulumi_aws as aws

uploads = aws.s3.BucketV2("uploads")
aws.s3.BucketPublicAccessBlock("uploads", bucket=uploads.id, block_public_acls=True,
                               block_public_policy=True, ignore_public_acls=True,
                               restrict_public_buckets=True)
aws.s3.BucketServerSideEncryptionConfigurationV2("uploads", bucket=uploads.id, rules=[{
    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}])

role = aws.iam.Role("resize", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicy("resize", role=role.id, policy=uploads.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                            "Resource": f"{arn}/*"}]})))
resize = aws.lambda_.Function("resize", role=role.arn, runtime="python3.12", handler="resize.handler",
                              memory_size=1024, timeout=60, code=pulumi.FileArchive("./resize"))
failed = aws.sqs.Queue("resize-failed", message_retention_seconds=1209600)
aws.lambda_.FunctionEventInvokeConfig("resize", function_name=resize.name, maximum_retry_attempts=2,
                                      destination_config={"on_failure": {"destination": failed.arn}})
permission = aws.lambda_.Permission("resize-from-s3", action="lambda:InvokeFunction",
                                    function=resize.name, principal="s3.amazonaws.com",
                                    source_arn=uploads.arn)
aws.s3.BucketNotification("uploads", bucket=uploads.id, lambda_functions=[{
    "lambda_function_arn": resize.arn, "events": ["s3:ObjectCreated:*"], "filter_prefix": "incoming/"}],
    opts=pulumi.ResourceOptions(depends_on=[permission]))
