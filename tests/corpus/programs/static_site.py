"""A static website: a private S3 bucket served by CloudFront through origin access control, with a
WAF web ACL and an ACM certificate (the AWS "secure static website" pattern)."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/3f1c2d4e-aaaa-4bbb-8ccc-0123456789ab"

bucket = aws.s3.BucketV2("site")
aws.s3.BucketOwnershipControls("site", bucket=bucket.id,
                               rule={"object_ownership": "BucketOwnerEnforced"})

waf = aws.wafv2.WebAcl(
    "site", scope="CLOUDFRONT", default_action={"allow": {}},
    visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "site",
                       "sampled_requests_enabled": True},
    rules=[{"name": "common", "priority": 0, "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS",
                                                           "name": "AWSManagedRulesCommonRuleSet"}},
            "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "common",
                                  "sampled_requests_enabled": True}}])

oac = aws.cloudfront.OriginAccessControl("site", origin_access_control_origin_type="s3",
                                         signing_behavior="always", signing_protocol="sigv4")
distribution = aws.cloudfront.Distribution(
    "site", enabled=True, default_root_object="index.html", aliases=["www.example.com"],
    web_acl_id=waf.arn,
    origins=[{"domain_name": bucket.bucket_regional_domain_name, "origin_id": "s3",
              "origin_access_control_id": oac.id}],
    default_cache_behavior={"target_origin_id": "s3", "viewer_protocol_policy": "redirect-to-https",
                            "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                            "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    restrictions={"geo_restriction": {"restriction_type": "none"}},
    viewer_certificate={"acm_certificate_arn": certificate_arn, "ssl_support_method": "sni-only",
                        "minimum_protocol_version": "TLSv1.2_2021"})

aws.s3.BucketPolicy("site", bucket=bucket.id, policy=pulumi.Output.all(bucket.arn, distribution.arn).apply(
    lambda arns: json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "CloudFrontReads", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": f"{arns[0]}/*", "Condition": {"StringEquals": {"AWS:SourceArn": arns[1]}}}]})))

pulumi.export("url", distribution.domain_name)
