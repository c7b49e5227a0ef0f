"""Secure defaults and small builders shared by the tiers (one place, not copied per tier)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

# TLS: the newest policies each service offers that still serve every current browser.
ALB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CLOUDFRONT_MIN_TLS = "TLSv1.2_2021"
OPENSEARCH_TLS_POLICY = "Policy-Min-TLS-1-2-2019-07"

# Where an identity provider sends the browser back to an ALB that signs users in (fixed by AWS);
# the edge must route it to the ALB with the viewer's Host, uncached.
ALB_OIDC_CALLBACK_PATH = "/oauth2/idpresponse"

# The shoppers' account pages (shop.accounts.pages): served by the order service, which keeps the
# accounts and writes to the database (the storefront only reads the readers); never cached.
ACCOUNT_PAGE_PATHS = ("/account", "/account/*")

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to notice and redrive
LAMBDA_RUNTIME = "python3.12"
LAMBDA_ARCHITECTURE = "arm64"

Statement = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class ApmSettings:
    """Where traces go besides X-Ray when an APM is configured (the APM seam).

    The API key stays in Secrets Manager: compute gets its ARN and read access to it, never the
    value.
    """

    otlp_endpoint: str
    api_key_secret_arn: str

    @classmethod
    def from_config(cls, endpoint: str | None, api_key_secret_arn: str | None) -> ApmSettings | None:
        """None unless both are set (the config already requires the key with the endpoint)."""
        if not endpoint or not api_key_secret_arn:
            return None
        return cls(otlp_endpoint=endpoint, api_key_secret_arn=api_key_secret_arn)


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """An IAM policy document from statements whose values may be Outputs.

    Built locally (no `get_policy_document` invoke), so it is the same in preview and offline.
    """
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service assume a role."""
    import json

    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def log_group(name: str, *, retention_days: int, kms_key_arn: pulumi.Input[str],
              opts: pulumi.ResourceOptions, log_group_name: pulumi.Input[str] | None = None,
              ) -> aws.cloudwatch.LogGroup:
    """A log group that is always encrypted with a customer-managed key and always expires."""
    return aws.cloudwatch.LogGroup(
        name, name=log_group_name, retention_in_days=retention_days, kms_key_id=kms_key_arn,
        opts=opts)


def tls_only_statement(bucket_arn: pulumi.Input[str]) -> Statement:
    """Deny every request to a bucket that does not arrive over TLS."""
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


@dataclass(frozen=True)
class PrivateBucket:
    name: str
    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    opts: pulumi.ResourceOptions
    versioning: aws.s3.BucketVersioning | None = None

    def with_policy(self, statements: Sequence[Statement] = ()) -> aws.s3.BucketPolicy:
        """The bucket's one policy: `statements` (the grants) plus TLS-only.

        A separate step so a grant can name what is created after the bucket (a distribution).
        Depend on the returned policy before pointing a service at the bucket.
        """
        return aws.s3.BucketPolicy(
            self.name, bucket=self.bucket.id,
            policy=policy_document([*statements, tls_only_statement(self.bucket.arn)]),
            opts=pulumi.ResourceOptions.merge(
                self.opts, pulumi.ResourceOptions(depends_on=[self.public_access_block])))


def private_bucket(name: str, *, opts: pulumi.ResourceOptions, versioned: bool,
                   expire_after_days: int | None = None,
                   tags: Mapping[str, str] | None = None) -> PrivateBucket:
    """A bucket nobody reaches but through its policy: all four public-access blocks, ACLs off
    (bucket owner enforced), SSE-S3 (the one encryption ALB access logs accept), and, with
    `with_policy`, TLS-only.
    """
    bucket = aws.s3.Bucket(name, tags=tags, opts=opts)
    public_access = aws.s3.BucketPublicAccessBlock(
        name, bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    aws.s3.BucketOwnershipControls(name, bucket=bucket.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        name, bucket=bucket.id, opts=opts,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    versioning = aws.s3.BucketVersioning(
        name, bucket=bucket.id, versioning_configuration={"status": "Enabled"},
        opts=opts) if versioned else None
    if expire_after_days is not None:
        aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, opts=opts, rules=[{
            "id": "expire", "status": "Enabled", "filter": {},
            "expiration": {"days": expire_after_days},
            "noncurrent_version_expiration": {"noncurrent_days": expire_after_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}])
    return PrivateBucket(name=name, bucket=bucket, public_access_block=public_access, opts=opts,
                         versioning=versioning)
