"""Anti-pattern: product images served from a world-readable bucket instead of through CloudFront."""

import json

import pulumi_aws as aws

images = aws.s3.Bucket("product-images")
aws.s3.BucketPublicAccessBlock("product-images", bucket=images.id, block_public_acls=False,
                               block_public_policy=False, ignore_public_acls=False,
                               restrict_public_buckets=False)
aws.s3.BucketPolicy("product-images", bucket=images.id, policy=images.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                            "Action": "s3:GetObject", "Resource": f"{arn}/*"}]})))
