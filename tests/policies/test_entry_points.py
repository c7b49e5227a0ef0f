"""Every internet-facing API entry point has a WAF or is reachable only through one (case study:
CloudFront with WAF fronts everything; PCI DSS v4.0 Req 6.4.2). The failing case for each type is
an anti-pattern program (tests/antipatterns); here, the ways a well-built program passes."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICY = "api-entry-point-require-waf"

GOOD = '''
regional = aws.wafv2.WebAcl("regional", scope="REGIONAL", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "regional", "sampled_requests_enabled": True})
edge_acl = aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})

# a public REST API stage with a regional web ACL, and a PRIVATE REST API (VPC endpoints only)
api = aws.apigateway.RestApi("orders")
deployment = aws.apigateway.Deployment("orders", rest_api=api.id)
stage = aws.apigateway.Stage("v1", rest_api=api.id, deployment=deployment.id, stage_name="v1")
aws.wafv2.WebAclAssociation("orders", resource_arn=stage.arn, web_acl_arn=regional.arn)
internal = aws.apigateway.RestApi("internal", endpoint_configuration={"types": "PRIVATE"})
aws.apigateway.Stage("internal", rest_api=internal.id, stage_name="v1",
                     deployment=aws.apigateway.Deployment("internal", rest_api=internal.id).id)

# an HTTP API only reachable through CloudFront with a web ACL: its execute-api endpoint is off and
# CloudFront's origin is its custom domain
http = aws.apigatewayv2.Api("cart", protocol_type="HTTP", disable_execute_api_endpoint=True)
domain = aws.apigatewayv2.DomainName("cart-origin", domain_name="cart-origin.shop.example.com",
                                     domain_name_configuration={
                                         "certificate_arn": "arn:aws:acm:us-east-1:1:certificate/c",
                                         "endpoint_type": "REGIONAL", "security_policy": "TLS_1_2"})
aws.apigatewayv2.ApiMapping("cart", api_id=http.id, domain_name=domain.id, stage="$default")
aws.cloudfront.Distribution(
    "cart-edge", enabled=True, web_acl_id=edge_acl.arn,
    origins=[{"domain_name": domain.domain_name_configuration.target_domain_name, "origin_id": "cart",
              "custom_origin_config": {"http_port": 80, "https_port": 443,
                                       "origin_protocol_policy": "https-only",
                                       "origin_ssl_protocols": ["TLSv1.2"]}}],
    default_cache_behavior={"target_origin_id": "cart", "viewer_protocol_policy": "redirect-to-https",
                            "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                            "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    restrictions={"geo_restriction": {"restriction_type": "none"}},
    viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/e",
                        "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"})

# a function URL that only signed (IAM) callers reach, a GraphQL API with a web ACL, a private one,
# and an App Runner service with a web ACL
role = aws.iam.Role("fn", assume_role_policy="{}")
fn = aws.lambda_.Function("quote", role=role.arn, runtime="python3.12", handler="app.handler",
                          code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}))
aws.lambda_.FunctionUrl("quote", function_name=fn.name, authorization_type="AWS_IAM")
graphql = aws.appsync.GraphQLApi("catalog", authentication_type="AWS_IAM")
aws.wafv2.WebAclAssociation("catalog", resource_arn=graphql.arn, web_acl_arn=regional.arn)
aws.appsync.GraphQLApi("back-office", authentication_type="AWS_IAM", visibility="PRIVATE")
runner = aws.apprunner.Service("recommendations", service_name="recommendations", source_configuration={
    "auto_deployments_enabled": False,
    "image_repository": {"image_identifier": "public.ecr.aws/shop/reco:1",
                         "image_repository_type": "ECR_PUBLIC"}})
aws.wafv2.WebAclAssociation("recommendations", resource_arn=runner.arn, web_acl_arn=regional.arn)
'''

BAD = {
    "an HTTP API behind CloudFront that can still be called directly": ('''
acl = aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})
http = aws.apigatewayv2.Api("cart", protocol_type="HTTP")
aws.cloudfront.Distribution(
    "cart-edge", enabled=True, web_acl_id=acl.arn,
    origins=[{"domain_name": http.id.apply(lambda i: f"{i}.execute-api.us-east-1.amazonaws.com"),
              "origin_id": "cart", "custom_origin_config": {
                  "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                  "origin_ssl_protocols": ["TLSv1.2"]}}],
    default_cache_behavior={"target_origin_id": "cart", "viewer_protocol_policy": "redirect-to-https",
                            "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                            "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    restrictions={"geo_restriction": {"restriction_type": "none"}},
    viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/e",
                        "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"})
''', "cart"),
}


def test_entry_points_behind_a_waf_or_private_pass(program: Program, analyze: Analyze, preview: bool) -> None:
    report = analyze(program(GOOD, preview=preview))
    assert [str(v) for v in violations_of(report, POLICY)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", BAD)
def test_an_entry_point_around_the_waf_fails(case: str, program: Program, analyze: Analyze,
                                             preview: bool) -> None:
    source, resource = BAD[case]
    violation = the_violation(analyze(program(source, preview=preview)), POLICY, resource)
    assert violation.level == "mandatory"
