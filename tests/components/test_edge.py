"""The edge tier: CloudFront + WAF in front of everything, a private static bucket reached through
OAC, and a secret origin header that only CloudFront and the ALB know."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format

from components.defaults import ACCOUNT_PAGE_PATHS, ALB_OIDC_CALLBACK_PATH
from components.edge import (
    ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
    ALL_VIEWER_POLICY_ID,
    BODY_SIZE_LABEL,
    CACHING_DISABLED_POLICY_ID,
    ORIGIN_VERIFY_HEADER,
    SIGN_IN_PATHS,
)
from components.stack import ADMIN_UPLOAD_PATHS
from offline.engine import Resource, Snapshot, run_program, stack_config

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
BUCKET = "aws:s3/bucket:Bucket"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def distribution_of(snapshot: Snapshot) -> Resource:
    (distribution,) = snapshot.of_type(DISTRIBUTION)
    return distribution


def edge_of(snapshot: Snapshot) -> Resource:
    (edge,) = snapshot.of_type("ecommerce:edge:Edge")
    return edge


def edge_children(snapshot: Snapshot, type_: str) -> list[Resource]:
    return [r for r in snapshot.descendants(edge_of(snapshot)) if r.type == type_]


def for_bucket(snapshot: Snapshot, type_: str, bucket: Resource) -> Resource:
    (found,) = [r for r in snapshot.of_type(type_) if r.inputs["bucket"] == bucket.outputs["id"]]
    return found


def bucket_named(snapshot: Snapshot, suffix: str) -> Resource:
    (bucket,) = [b for b in edge_children(snapshot, BUCKET) if b.name.endswith(suffix)]
    return bucket


def provider_region(snapshot: Snapshot, resource: Resource) -> str:
    """The Region of the explicit provider that serves `resource`."""
    provider = snapshot.provider_of(resource)
    assert provider is not None, f"{resource.urn} has no explicit provider"
    return str(provider.inputs["region"])


def origin(distribution: Resource, origin_id: str) -> dict[str, Any]:
    origins: list[dict[str, Any]] = distribution.inputs["origins"]
    (found,) = [o for o in origins if o["originId"] == origin_id]
    return found


def behaviour(distribution: Resource, path: str) -> dict[str, Any]:
    behaviours: list[dict[str, Any]] = distribution.inputs["orderedCacheBehaviors"]
    (found,) = [b for b in behaviours if b["pathPattern"] == path]
    return found


def policy_statements(snapshot: Snapshot, bucket: Resource) -> list[dict[str, Any]]:
    policy = for_bucket(snapshot, "aws:s3/bucketPolicy:BucketPolicy", bucket)
    found: list[dict[str, Any]] = json.loads(policy.inputs["policy"])["Statement"]
    return found


def assert_private(snapshot: Snapshot, bucket: Resource) -> None:
    block = for_bucket(snapshot, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                 "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag
    ownership = for_bucket(snapshot, "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                           bucket)
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse = for_bucket(snapshot, "aws:s3/bucketServerSideEncryptionConfiguration:"
                               "BucketServerSideEncryptionConfiguration", bucket)
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in (
        "AES256", "aws:kms")
    statements = policy_statements(snapshot, bucket)
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny)
    for statement in statements:  # nobody at all is allowed in
        if statement["Effect"] == "Allow":
            assert statement["Principal"] != "*" and statement["Principal"].get("AWS") != "*"


# -- the static bucket ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_static_bucket_is_private_encrypted_versioned_and_tls_only(
        stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    static = bucket_named(snapshot, "-static")
    assert_private(snapshot, static)
    versioning = for_bucket(snapshot, "aws:s3/bucketVersioning:BucketVersioning", static)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    assert not snapshot.of_type("aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration")


def test_only_this_distribution_reads_the_static_bucket_through_oac(prod: Snapshot) -> None:
    distribution = distribution_of(prod)
    static = bucket_named(prod, "-static")
    (oac,) = prod.of_type("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert oac.inputs["signingBehavior"] == "always"
    assert oac.inputs["signingProtocol"] == "sigv4"

    s3_origin = origin(distribution, "static")
    assert s3_origin["domainName"] == static.outputs["bucketRegionalDomainName"]
    assert s3_origin["originAccessControlId"] == oac.outputs["id"]
    assert "s3-website" not in s3_origin["domainName"]

    (grant,) = [s for s in policy_statements(prod, static) if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["Action"] == "s3:GetObject"
    assert grant["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}}


# -- the distribution -----------------------------------------------------------------------------


def test_static_assets_are_cached_long_and_compressed(prod: Snapshot) -> None:
    static = behaviour(distribution_of(prod), "/static/*")
    assert static["targetOriginId"] == "static"
    (policy,) = [p for p in prod.of_type("aws:cloudfront/cachePolicy:CachePolicy")
                 if p.outputs["id"] == static["cachePolicyId"]]
    assert policy.inputs["defaultTtl"] >= 24 * 3600
    assert policy.inputs["maxTtl"] >= 365 * 24 * 3600
    assert static["compress"] is True
    assert static["allowedMethods"] == ["GET", "HEAD", "OPTIONS"]


def test_api_goes_to_the_alb_uncached_with_everything_the_viewer_sent(prod: Snapshot) -> None:
    distribution = distribution_of(prod)
    api = behaviour(distribution, "/api/*")
    assert api["targetOriginId"] == "app"
    assert api["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
    # headers (but Host, so the origin certificate matches), cookies and query strings
    assert api["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_POLICY_ID
    assert set(api["allowedMethods"]) >= {"POST", "PUT", "PATCH", "DELETE"}
    app = origin(distribution, "app")
    assert app["domainName"] == prod.config["ecommerce:originDomainName"]
    assert app["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert app["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]


def test_the_storefront_is_the_default_behaviour_and_every_app_path_is_uncached(
        prod: Snapshot) -> None:
    distribution = distribution_of(prod)
    default = distribution.inputs["defaultCacheBehavior"]
    assert default["targetOriginId"] == "app"
    assert default["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_POLICY_ID
    (storefront,) = [p for p in prod.of_type("aws:cloudfront/cachePolicy:CachePolicy")
                     if p.outputs["id"] == default["cachePolicyId"]]
    assert storefront.inputs["defaultTtl"] == 0  # cached only when the origin says so
    assert behaviour(distribution, "/admin/*")["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
    # the account pages (the order service's) carry the session cookie: never cached
    for path in ACCOUNT_PAGE_PATHS:
        assert behaviour(distribution, path)["cachePolicyId"] == CACHING_DISABLED_POLICY_ID


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_viewers_use_https_http2_and_3_and_get_security_headers(stack: str,
                                                                request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    distribution = distribution_of(snapshot)
    behaviours = [distribution.inputs["defaultCacheBehavior"],
                  *distribution.inputs["orderedCacheBehaviors"]]
    (headers,) = snapshot.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    for each in behaviours:
        assert each["viewerProtocolPolicy"] == "redirect-to-https"
        assert each["responseHeadersPolicyId"] == headers.outputs["id"]
    assert distribution.inputs["httpVersion"] == "http2and3"
    security = headers.inputs["securityHeadersConfig"]
    hsts = security["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] >= 365 * 24 * 3600 and hsts["includeSubdomains"]
    assert security["contentTypeOptions"]["override"] is True
    assert security["frameOptions"]["frameOption"] == "DENY"


def test_prod_serves_its_domain_with_its_certificate_and_tls_1_2_2021(prod: Snapshot) -> None:
    distribution = distribution_of(prod)
    assert distribution.inputs["aliases"] == [prod.config["ecommerce:domainName"]]
    certificate = distribution.inputs["viewerCertificate"]
    assert certificate["acmCertificateArn"] == prod.config["ecommerce:certificateArn"]
    assert certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["sslSupportMethod"] == "sni-only"
    assert prod.outputs["shopUrl"] == f"https://{prod.config['ecommerce:domainName']}"


def test_staging_serves_its_own_domain_with_tls_1_2_2021_too(staging: Snapshot) -> None:
    distribution = distribution_of(staging)
    assert distribution.inputs["aliases"] == ["staging.shop.example.com"]
    assert distribution.inputs["viewerCertificate"] == {
        "acmCertificateArn": staging.config["ecommerce:certificateArn"],
        "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"}


@pytest.fixture(scope="module")
def staging_changed() -> Snapshot:
    """Staging after someone removes its domain (and the admin, whose sign-in needs it) and tightens
    the rate limit."""
    services = [line for line in json.loads(stack_config("staging")[0]["ecommerce:services"])
                if not line.startswith("admin ")]
    return run_program("staging", overrides={"ecommerce:domainName": "",
                                             "ecommerce:certificateArn": "",
                                             "ecommerce:services": services,
                                             "ecommerce:wafRateLimit": 500})


def test_without_a_domain_the_distribution_falls_back_to_the_cloudfront_certificate(
        staging_changed: Snapshot) -> None:
    distribution = distribution_of(staging_changed)
    assert not distribution.inputs.get("aliases")
    # AWS fixes the TLS policy of *.cloudfront.net; the policy pack flags this set-up
    assert distribution.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert staging_changed.outputs["shopUrl"] == \
        f"https://{staging_changed.outputs['cdnDomainName']}"


def test_access_logs_are_delivered_to_a_private_log_bucket_in_us_east_1(prod: Snapshot) -> None:
    distribution = distribution_of(prod)
    (source,) = prod.of_type("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    assert source.inputs["resourceArn"] == distribution.outputs["arn"]
    assert source.inputs["logType"] == "ACCESS_LOGS"
    (destination,) = prod.of_type("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    (delivery,) = prod.of_type("aws:cloudwatch/logDelivery:LogDelivery")
    assert delivery.inputs["deliverySourceName"] == source.outputs["name"]
    assert delivery.inputs["deliveryDestinationArn"] == destination.outputs["arn"]
    logs = bucket_named(prod, "-logs")
    assert destination.inputs["deliveryDestinationConfiguration"]["destinationResourceArn"] == \
        logs.outputs["arn"]
    assert_private(prod, logs)
    lifecycle = for_bucket(prod, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                           logs)
    assert lifecycle.inputs["rules"][0]["expiration"]["days"] == \
        int(prod.config["ecommerce:logRetentionDays"])
    for resource in (source, destination, delivery, logs):
        assert provider_region(prod, resource) == "us-east-1"


# -- WAF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_web_acl_guards_the_distribution_from_us_east_1(stack: str,
                                                            request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    (acl,) = snapshot.of_type(WEB_ACL)
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert provider_region(snapshot, acl) == "us-east-1"
    assert distribution_of(snapshot).inputs["webAclId"] == acl.outputs["arn"]
    groups = {r["statement"]["managedRuleGroupStatement"]["name"] for r in acl.inputs["rules"]
              if "managedRuleGroupStatement" in r["statement"]}
    assert groups == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                      "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"}
    priorities = [r["priority"] for r in acl.inputs["rules"]]
    assert len(set(priorities)) == len(priorities)


def rate_rule(snapshot: Snapshot) -> dict[str, Any]:
    (acl,) = snapshot.of_type(WEB_ACL)
    rules: list[dict[str, Any]] = acl.inputs["rules"]
    (rule,) = [r for r in rules if r["name"] == "api-rate-limit"]
    return rule


def test_the_rate_limit_blocks_per_ip_on_the_api_only(prod: Snapshot) -> None:
    rule = rate_rule(prod)
    statement = rule["statement"]["rateBasedStatement"]
    assert rule["action"] == {"block": {}}
    assert statement["limit"] == int(prod.config["ecommerce:wafRateLimit"])
    assert statement["aggregateKeyType"] == "IP"
    match = statement["scopeDownStatement"]["byteMatchStatement"]
    assert match["searchString"] == "/api/"
    assert match["positionalConstraint"] == "STARTS_WITH"
    assert "uriPath" in match["fieldToMatch"]


def test_the_rate_limit_follows_the_config(staging: Snapshot, staging_changed: Snapshot) -> None:
    assert rate_rule(staging)["statement"]["rateBasedStatement"]["limit"] == 2000  # the default
    assert rate_rule(staging_changed)["statement"]["rateBasedStatement"]["limit"] == 500


def waf_rule(snapshot: Snapshot, name: str) -> dict[str, Any]:
    (acl,) = snapshot.of_type(WEB_ACL)
    rules: list[dict[str, Any]] = acl.inputs["rules"]
    (rule,) = [r for r in rules if r["name"] == name]
    return rule


def paths_of(statement: dict[str, Any]) -> set[str]:
    """The URI prefixes a scope-down statement matches (one byte match, or an OR of them)."""
    if "orStatement" in statement:
        return {path for s in statement["orStatement"]["statements"] for path in paths_of(s)}
    match = statement["byteMatchStatement"]
    assert match["positionalConstraint"] == "STARTS_WITH" and "uriPath" in match["fieldToMatch"]
    return {match["searchString"]}


def test_sign_in_posts_are_rate_limited_per_ip_more_tightly_than_the_api(prod: Snapshot) -> None:
    rule = waf_rule(prod, "sign-in-rate-limit")
    statement = rule["statement"]["rateBasedStatement"]
    assert rule["action"] == {"block": {}} and statement["aggregateKeyType"] == "IP"
    assert statement["limit"] == 50 < rate_rule(prod)["statement"]["rateBasedStatement"]["limit"]
    method, paths = statement["scopeDownStatement"]["andStatement"]["statements"]
    assert method["byteMatchStatement"]["searchString"] == "POST"
    assert "method" in method["byteMatchStatement"]["fieldToMatch"]
    assert paths_of(paths) == set(SIGN_IN_PATHS)
    assert rule["priority"] < waf_rule(prod, "AWSManagedRulesCommonRuleSet")["priority"]


def test_only_the_catalog_import_may_send_a_body_over_8_kb(prod: Snapshot) -> None:
    core = waf_rule(prod, "AWSManagedRulesCommonRuleSet")
    overrides = core["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert overrides == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    rule = waf_rule(prod, "oversized-body")
    assert rule["action"] == {"block": {}} and rule["priority"] > core["priority"]
    label, exempt = rule["statement"]["andStatement"]["statements"]
    assert label["labelMatchStatement"] == {"scope": "LABEL", "key": BODY_SIZE_LABEL}
    assert paths_of(exempt["notStatement"]["statement"]) == set(ADMIN_UPLOAD_PATHS)
    priorities = [r["priority"] for r in prod.of_type(WEB_ACL)[0].inputs["rules"]]
    assert len(priorities) == len(set(priorities))


def test_the_admin_and_the_oidc_callback_reach_the_alb_uncached_with_the_viewers_host(
        prod: Snapshot) -> None:
    distribution = distribution_of(prod)
    for path in ("/admin/*", ALB_OIDC_CALLBACK_PATH):
        found = behaviour(distribution, path)
        assert found["targetOriginId"] == "app"
        assert found["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
        assert found["originRequestPolicyId"] == ALL_VIEWER_POLICY_ID  # Host, cookies, query strings
        assert "POST" in found["allowedMethods"]
    assert behaviour(distribution, "/api/*")["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_POLICY_ID


def test_waf_logs_go_to_an_encrypted_aws_waf_logs_group_in_us_east_1(prod: Snapshot) -> None:
    (acl,) = prod.of_type(WEB_ACL)
    (logging,) = prod.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert logging.inputs["resourceArn"] == acl.outputs["arn"]
    (group_arn,) = logging.inputs["logDestinationConfigs"]
    (group,) = [g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")
                if g.outputs["arn"] == group_arn]
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:us-east-1:")
    assert group.inputs["retentionInDays"] == int(prod.config["ecommerce:logRetentionDays"])
    assert provider_region(prod, group) == "us-east-1"
    redacted = {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}
    assert redacted == {"authorization", "cookie"}


# -- the origin header ----------------------------------------------------------------------------


def is_secret_somewhere(resource: Resource, value: str) -> bool:
    """Whether `value` reaches the engine only inside secret-wrapped properties."""
    raw = json_format.MessageToDict(resource.request.object)

    def walk(node: object, inside_secret: bool) -> list[bool]:
        if isinstance(node, dict):
            secret = inside_secret or node.get("4dabf18193072939515e22adb298388d") == SECRET_SIG
            return [hit for v in node.values() for hit in walk(v, secret)]
        if isinstance(node, list):
            return [hit for v in node for hit in walk(v, inside_secret)]
        return [inside_secret] if node == value else []

    hits = walk(raw, False)
    return bool(hits) and all(hits)


def test_cloudfront_and_the_alb_share_the_stored_origin_secret(prod: Snapshot) -> None:
    (version,) = prod.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    value = version.outputs["secretString"]
    assert len(value) >= 32
    # the stored value stays: later random draws are ignored
    assert list(version.request.ignoreChanges) == ["secretString"]
    (header,) = origin(distribution_of(prod), "app")["customHeaders"]
    assert header == {"name": ORIGIN_VERIFY_HEADER, "value": value}
    rules = prod.of_type("aws:lb/listenerRule:ListenerRule")
    assert rules
    for rule in rules:
        (condition,) = [c["httpHeader"] for c in rule.inputs["conditions"] if "httpHeader" in c]
        assert condition == {"httpHeaderName": ORIGIN_VERIFY_HEADER, "values": [value]}


def test_the_origin_secret_is_never_plaintext_in_requests_or_outputs(prod: Snapshot) -> None:
    (version,) = prod.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    value = version.outputs["secretString"]
    carriers = [r for r in prod.custom() if value in json.dumps(r.inputs)]
    assert {r.type for r in carriers} == {"aws:secretsmanager/secretVersion:SecretVersion",
                                          DISTRIBUTION, "aws:lb/listenerRule:ListenerRule"}
    for resource in carriers:
        assert is_secret_somewhere(resource, value), resource.urn
    assert value not in json.dumps(prod.outputs)


def test_in_preview_the_origin_header_is_known_to_come_from_the_stored_secret(
        prod_preview: Snapshot) -> None:
    (version,) = prod_preview.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"]  # drawn by Secrets Manager, stored at create
    distribution = distribution_of(prod_preview)
    # unknown until the version exists, but wired to it
    assert version.urn in distribution.property_dependencies["origins"]
