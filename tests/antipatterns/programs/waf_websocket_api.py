"""Anti-pattern: a WebSocket API for order-status updates, reachable on its execute-api endpoint
around the CloudFront distribution (with a WAF) that is meant to front it."""

import pulumi_aws as aws

api = aws.apigatewayv2.Api("order-status", protocol_type="WEBSOCKET",
                           route_selection_expression="$request.body.action")
acl = aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})
aws.cloudfront.Distribution(
    "status-edge", enabled=True, web_acl_id=acl.arn,
    origins=[{"domain_name": api.id.apply(lambda api_id: f"{api_id}.execute-api.us-east-1.amazonaws.com"),
              "origin_id": "ws", "custom_origin_config": {
                  "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                  "origin_ssl_protocols": ["TLSv1.2"]}}],
    default_cache_behavior={"target_origin_id": "ws", "viewer_protocol_policy": "https-only",
                            "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                            "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    restrictions={"geo_restriction": {"restriction_type": "none"}},
    viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/5f0c1f5e",
                        "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"},
    logging_config={"bucket": "shop-cloudfront-logs.s3.amazonaws.com", "prefix": "status/"})
