"""Anti-pattern: the storefront's CloudFront distribution without a WAF web ACL."""

import pulumi_aws as aws

aws.cloudfront.Distribution(
    "storefront", enabled=True, aliases=["shop.example.com"],
    origins=[{"domain_name": "origin.shop.example.com", "origin_id": "alb",
              "custom_origin_config": {"http_port": 80, "https_port": 443,
                                       "origin_protocol_policy": "https-only",
                                       "origin_ssl_protocols": ["TLSv1.2"]}}],
    default_cache_behavior={"target_origin_id": "alb", "viewer_protocol_policy": "redirect-to-https",
                            "allowed_methods": ["GET", "HEAD", "OPTIONS"], "cached_methods": ["GET", "HEAD"],
                            "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    restrictions={"geo_restriction": {"restriction_type": "none"}},
    viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/5f0c1f5e",
                        "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"},
    logging_config={"bucket": "shop-cloudfront-logs.s3.amazonaws.com", "prefix": "storefront/"})
