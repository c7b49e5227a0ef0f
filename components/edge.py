"""The edge tier: CloudFront with a WAF web ACL in front of everything.

- `/static/*` comes from a private S3 bucket through origin access control (keys under `static/`);
  no website endpoint, no public object.
- `/api/*` and every other app path go to the ALB uncached with the viewer's headers (except
  Host), cookies and query strings; the default behaviour (the storefront) caches only what the
  origin marks cacheable with `Cache-Control`.
- CloudFront adds a secret origin header that the ALB's listener rules require, so the ALB answers
  403 to anything that did not come through this distribution (and its WAF).
- Paths where the ALB signs staff in (`/admin/*`) and the ALB's OIDC callback go to the ALB uncached
  with every viewer header INCLUDING Host, cookies and query strings: the ALB builds the identity
  provider's redirect address from Host and sets its session cookie for it. CloudFront then checks
  the ALB's certificate against that Host, so the ALB's listener also carries the shop's certificate.
- WAF: the IP reputation list, a rate limit on the API, a tighter one on sign-in (POSTs to
  `SIGN_IN_PATHS`), then the managed rule groups. The core rule set blocks bodies over 8 KB; where
  uploads are expected (the catalog import) that rule only labels, and a rule of ours blocks
  oversized bodies on every other path.

The origin header value. It must be known to CloudFront (a custom origin header) and to the ALB
(a listener rule condition) at deploy time, stay the same from one `pulumi up` to the next, and
never be a literal in the program or a stack output. `pulumi_random` would need a provider plugin,
so the value is drawn by Secrets Manager itself (`GetRandomPassword`), stored in a secret of this
stack, and read back from the stored secret version: the version ignores later draws, so the value
changes only when someone replaces the version (`pulumi up --replace <urn of the version>`, which
updates CloudFront and the ALB in the same run; expect 403s for the minutes CloudFront takes to
deploy). Pulumi keeps it encrypted in the state as a secret.

WAF and edge logging live in us-east-1 whatever the stack's Region: a CLOUDFRONT-scoped web ACL
and CloudFront's log delivery exist only there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.defaults import (
    ALB_OIDC_CALLBACK_PATH,
    CLOUDFRONT_MIN_TLS,
    PrivateBucket,
    log_group,
    private_bucket,
)
from components.usage import stored_gb_tags

ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
STATIC_PATH = "/static/*"
# AWS managed CloudFront policies (stable ids, the same in every account).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# Every viewer header, cookie and query string except Host: CloudFront then sends the origin's
# host name, which the ALB's certificate covers, and validates the certificate against it.
ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Every viewer header (Host included), cookie and query string: where the ALB signs users in.
ALL_VIEWER_POLICY_ID = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
# AWS managed rule groups, in evaluation order after the IP reputation list and the rate limit.
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                       "AWSManagedRulesSQLiRuleSet")
IP_REPUTATION_RULE_GROUP = "AWSManagedRulesAmazonIpReputationList"
CORE_RULE_SET = "AWSManagedRulesCommonRuleSet"
BODY_SIZE_RULE = "SizeRestrictions_BODY"  # the core rule set's 8 KB body limit, and its label
BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
SIGN_IN_PATHS = ("/account/sign-in", "/api/sign-in-links", "/api/sessions")
"""Where shoppers ask for sign-in links and redeem them (shop.accounts): POSTs here are rate-limited
per client IP by `sign_in_rate_limit` (a test checks the app's routes against this list)."""
STATIC_MAX_TTL = 365 * 24 * 3600
STATIC_DEFAULT_TTL = 24 * 3600


@dataclass(frozen=True, kw_only=True)
class EdgeArgs:
    account_id: pulumi.Input[str]
    origin_domain_name: str
    """Host name that resolves to the ALB and that the ALB's certificate covers."""
    uncached_paths: Sequence[str]
    """Path patterns of the app services other than the default route: never cached."""
    waf_rate_limit: int
    """Requests per 5 minutes per client IP to `rate_limited_path` before WAF blocks."""
    log_retention_days: int
    waf_logs_kms_key_arn: pulumi.Input[str]
    """A customer-managed key in us-east-1 that CloudWatch Logs may use."""
    us_east_1: aws.Provider
    """A provider for us-east-1 (with this tier's default tags): WAF and edge logging."""
    domain_name: str | None = None
    certificate_arn: pulumi.Input[str] | None = None
    """ACM certificate in us-east-1 for `domain_name`: an ARN, or the output of its validation,
    so the distribution waits until it is issued."""
    rate_limited_path: str = "/api/"
    price_class: str = "PriceClass_100"  # North America and Europe: the shop's customers
    sign_in_rate_limit: int = 50
    """Sign-in POSTs per 5 minutes per client IP (the WAF's minimum is 10)."""
    authenticated_paths: Sequence[str] = ()
    """Uncached paths where the ALB signs users in: sent with the viewer's Host (see above)."""
    large_body_paths: Sequence[str] = ()
    """Paths that accept bodies over the core rule set's 8 KB (uploads); the app limits them."""
    static_assets_gb: int | None = None
    """What the static bucket holds: stated on it for the cost estimate (`components.usage`)."""


class Edge(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    distribution_domain_name: pulumi.Output[str]
    """The `*.cloudfront.net` name; point the shop's domain at it (alias record)."""
    distribution_hosted_zone_id: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str]
    static_bucket_name: pulumi.Output[str]
    """Upload static assets under the `static/` prefix; CI syncs them."""
    static_bucket_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    origin_verify_header_name: str
    origin_verify_header_value: pulumi.Output[str]
    """Secret. Pass it to the ALB's listener rules; never export it."""
    origin_verify_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:edge:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.us_east_1)
        origin = _origin_secret(name, parent=self)
        acl = _web_acl(name, args, in_us_east_1)

        # -- buckets ----------------------------------------------------------------------------
        static = private_bucket(f"{name}-static", opts=child, versioned=True,
                                tags=stored_gb_tags(args.static_assets_gb))
        logs = private_bucket(f"{name}-logs", opts=in_us_east_1, versioned=False,
                              expire_after_days=args.log_retention_days)
        oac = aws.cloudfront.OriginAccessControl(
            name, description="CloudFront reads the static bucket (SigV4)",
            origin_access_control_origin_type="s3", signing_behavior="always",
            signing_protocol="sigv4", opts=child)

        distribution = _distribution(name, args, policies=_policies(name, child), acl=acl,
                                     static=static, oac=oac, header_value=origin.header_value,
                                     opts=child)
        # Only this distribution reads the bucket, and only through OAC.
        static.with_policy([{
            "Sid": "CloudFrontReadsThroughOac", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(static.bucket.arn, "/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution.arn}}}])
        _access_logs(name, args, logs, distribution, parent=self)

        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.distribution_domain_name = distribution.domain_name
        self.distribution_hosted_zone_id = distribution.hosted_zone_id
        self.web_acl_arn = acl.arn
        self.static_bucket_name = static.bucket.bucket
        self.static_bucket_arn = static.bucket.arn
        self.log_bucket_name = logs.bucket.bucket
        self.origin_verify_header_name = ORIGIN_VERIFY_HEADER
        self.origin_verify_header_value = origin.header_value
        self.origin_verify_secret_arn = origin.secret.arn
        self.register_outputs({
            "distribution_id": self.distribution_id,
            "distribution_domain_name": self.distribution_domain_name,
            "web_acl_arn": self.web_acl_arn, "static_bucket_name": self.static_bucket_name,
            "log_bucket_name": self.log_bucket_name,
            "origin_verify_secret_arn": self.origin_verify_secret_arn})


# ----------------------------------------------------------------------------------------------
# The steps of Edge, each returning what the next ones need


def _validate(name: str, args: EdgeArgs) -> None:
    if bool(args.domain_name) != bool(args.certificate_arn):
        raise ValueError(f"{name}: domain_name and certificate_arn go together")
    if not 100 <= args.waf_rate_limit <= 2_000_000_000:
        raise ValueError(f"{name}: waf_rate_limit must be from 100 to 2000000000")
    for path in args.uncached_paths:
        if path in ("/*", STATIC_PATH):
            raise ValueError(f"{name}: {path} cannot be an uncached app path")
    if not set(args.authenticated_paths) <= set(args.uncached_paths):
        raise ValueError(f"{name}: authenticated_paths must be uncached paths")
    if args.authenticated_paths and not args.domain_name:
        raise ValueError(f"{name}: signing users in at the ALB needs domain_name (the Host sent)")
    if not 10 <= args.sign_in_rate_limit <= 2_000_000_000:
        raise ValueError(f"{name}: sign_in_rate_limit must be from 10 to 2000000000")


@dataclass(frozen=True)
class _OriginSecret:
    secret: aws.secretsmanager.Secret
    header_value: pulumi.Output[str]
    """Secret: the value CloudFront adds and the ALB requires."""


def _origin_secret(name: str, *, parent: pulumi.Resource) -> _OriginSecret:
    """The origin header's value: drawn once, stored in Secrets Manager, never rotated by an update."""
    child = pulumi.ResourceOptions(parent=parent)
    secret = aws.secretsmanager.Secret(
        f"{name}-origin-verify", recovery_window_in_days=7, opts=child,
        description="Header value CloudFront adds and the ALB requires (origin verification)")
    draw = aws.secretsmanager.get_random_password_output(
        password_length=64, exclude_punctuation=True, include_space=False,
        opts=pulumi.InvokeOutputOptions(parent=parent))
    version = aws.secretsmanager.SecretVersion(
        f"{name}-origin-verify", secret_id=secret.id,
        secret_string=pulumi.Output.secret(draw.random_password),
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["secret_string"]))
    # The stored value, kept secret (SecretVersion marks it; say so anyway).
    header_value: pulumi.Output[str] = pulumi.Output.secret(
        version.secret_string.apply(_required))
    return _OriginSecret(secret=secret, header_value=header_value)


def _web_acl(name: str, args: EdgeArgs, in_us_east_1: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
    """The CLOUDFRONT-scope web ACL (us-east-1) and its logging of what it acted on."""
    acl = aws.wafv2.WebAcl(
        name, scope="CLOUDFRONT", default_action={"allow": {}},
        description="Shop edge: managed rule groups and a rate limit on the API",
        rules=_waf_rules(name, args),
        visibility_config=_visibility(name), opts=in_us_east_1)
    waf_logs = log_group(
        f"{name}-waf", retention_days=args.log_retention_days,
        kms_key_arn=args.waf_logs_kms_key_arn, opts=in_us_east_1,
        log_group_name=f"aws-waf-logs-{pulumi.get_project()}-{pulumi.get_stack()}-{name}")
    aws.wafv2.WebAclLoggingConfiguration(
        name, resource_arn=acl.arn, log_destination_configs=[waf_logs.arn],
        # Session cookies and credentials never reach the logs.
        redacted_fields=[{"single_header": {"name": "authorization"}},
                         {"single_header": {"name": "cookie"}}],
        # What WAF acted on; every request is in CloudFront's access logs.
        logging_filter={"default_behavior": "DROP", "filters": [
            {"behavior": "KEEP", "requirement": "MEETS_ANY", "conditions": [
                {"action_condition": {"action": action}}
                for action in ("BLOCK", "COUNT", "CAPTCHA", "CHALLENGE")]}]},
        opts=in_us_east_1)
    return acl


@dataclass(frozen=True)
class _Policies:
    static_cache: aws.cloudfront.CachePolicy
    storefront_cache: aws.cloudfront.CachePolicy
    security_headers: aws.cloudfront.ResponseHeadersPolicy


def _policies(name: str, child: pulumi.ResourceOptions) -> _Policies:
    static_cache = aws.cloudfront.CachePolicy(
        f"{name}-static", comment="Static assets: long-lived, compressed",
        min_ttl=0, default_ttl=STATIC_DEFAULT_TTL, max_ttl=STATIC_MAX_TTL,
        parameters_in_cache_key_and_forwarded_to_origin={
            "cookies_config": {"cookie_behavior": "none"},
            "headers_config": {"header_behavior": "none"},
            "query_strings_config": {"query_string_behavior": "none"},
            "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True},
        opts=child)
    storefront_cache = aws.cloudfront.CachePolicy(
        f"{name}-storefront",
        comment="Storefront pages: cached only when the origin says so (Cache-Control)",
        min_ttl=0, default_ttl=0, max_ttl=24 * 3600,
        parameters_in_cache_key_and_forwarded_to_origin={
            "cookies_config": {"cookie_behavior": "none"},
            "headers_config": {"header_behavior": "none"},
            "query_strings_config": {"query_string_behavior": "all"},
            "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True},
        opts=child)
    security_headers = aws.cloudfront.ResponseHeadersPolicy(
        f"{name}-security-headers", comment="HSTS, no sniffing, no framing, strict referrer",
        security_headers_config={
            "strict_transport_security": {"access_control_max_age_sec": 2 * 365 * 24 * 3600,
                                          "include_subdomains": True, "preload": True,
                                          "override": True},
            "content_type_options": {"override": True},
            "frame_options": {"frame_option": "DENY", "override": True},
            "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin",
                                "override": True},
            "xss_protection": {"protection": True, "mode_block": True, "override": True},
            "content_security_policy": {
                "content_security_policy": "frame-ancestors 'none'; object-src 'none'; "
                                           "base-uri 'self'; upgrade-insecure-requests",
                "override": True}},
        opts=child)
    return _Policies(static_cache=static_cache, storefront_cache=storefront_cache,
                     security_headers=security_headers)


def _distribution(name: str, args: EdgeArgs, *, policies: _Policies, acl: aws.wafv2.WebAcl,
                  static: PrivateBucket, oac: aws.cloudfront.OriginAccessControl,
                  header_value: pulumi.Output[str],
                  opts: pulumi.ResourceOptions) -> aws.cloudfront.Distribution:
    """Static assets from the bucket, the app's paths uncached, the rest cached as the app says."""
    security_headers, static_cache = policies.security_headers, policies.static_cache
    storefront_cache = policies.storefront_cache
    def app_behaviour(path: str) -> aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict:
        signs_in = path in args.authenticated_paths or path == ALB_OIDC_CALLBACK_PATH
        return {"path_pattern": path, "target_origin_id": "app",
                "viewer_protocol_policy": "redirect-to-https", "allowed_methods": ALL_METHODS,
                "cached_methods": ["GET", "HEAD"], "compress": True,
                "cache_policy_id": CACHING_DISABLED_POLICY_ID,
                "origin_request_policy_id": ALL_VIEWER_POLICY_ID if signs_in
                else ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
                "response_headers_policy_id": security_headers.id}

    app_paths = [*args.uncached_paths,
                 *([ALB_OIDC_CALLBACK_PATH] if args.authenticated_paths else [])]

    if args.certificate_arn:
        certificate: aws.cloudfront.DistributionViewerCertificateArgsDict = {
            "acm_certificate_arn": args.certificate_arn, "ssl_support_method": "sni-only",
            "minimum_protocol_version": CLOUDFRONT_MIN_TLS}
    else:  # *.cloudfront.net: AWS fixes its TLS policy; viewers are still redirected to HTTPS
        certificate = {"cloudfront_default_certificate": True}

    return aws.cloudfront.Distribution(
        name, enabled=True, comment=f"{pulumi.get_project()} {pulumi.get_stack()}",
        aliases=[args.domain_name] if args.domain_name else [],
        http_version="http2and3", is_ipv6_enabled=True, price_class=args.price_class,
        web_acl_id=acl.arn, viewer_certificate=certificate,
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        origins=[
            {"origin_id": "static", "domain_name": static.bucket.bucket_regional_domain_name,
             "origin_access_control_id": oac.id},
            {"origin_id": "app", "domain_name": args.origin_domain_name,
             "custom_origin_config": {
                 "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                 "origin_ssl_protocols": ["TLSv1.2"], "origin_read_timeout": 30,
                 "origin_keepalive_timeout": 5},
             "custom_headers": [{"name": ORIGIN_VERIFY_HEADER, "value": header_value}]},
        ],
        ordered_cache_behaviors=[
            {"path_pattern": STATIC_PATH, "target_origin_id": "static",
             "viewer_protocol_policy": "redirect-to-https",
             "allowed_methods": ["GET", "HEAD", "OPTIONS"],
             "cached_methods": ["GET", "HEAD"], "compress": True,
             "cache_policy_id": static_cache.id,
             "response_headers_policy_id": security_headers.id},
            *(app_behaviour(path) for path in app_paths),
        ],
        default_cache_behavior={
            "target_origin_id": "app", "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ALL_METHODS, "cached_methods": ["GET", "HEAD"],
            "compress": True, "cache_policy_id": storefront_cache.id,
            "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
            "response_headers_policy_id": security_headers.id},
        opts=opts)


def _access_logs(name: str, args: EdgeArgs, logs: PrivateBucket,
                 distribution: aws.cloudfront.Distribution, *, parent: pulumi.Resource) -> None:
    """Standard logging (v2) of the distribution to the log bucket: no bucket ACLs needed."""
    in_us_east_1 = pulumi.ResourceOptions(parent=parent, provider=args.us_east_1)
    logs_policy = logs.with_policy([{
        "Sid": "CloudFrontLogDelivery", "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": pulumi.Output.concat(logs.bucket.arn, "/AWSLogs/", args.account_id, "/*"),
        "Condition": {
            "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                             "aws:SourceAccount": args.account_id},
            "ArnLike": {"aws:SourceArn": pulumi.Output.concat(
                "arn:aws:logs:us-east-1:", args.account_id, ":delivery-source:*")}}}])
    source = aws.cloudwatch.LogDeliverySource(
        f"{name}-access-logs", log_type="ACCESS_LOGS", resource_arn=distribution.arn,
        opts=in_us_east_1)
    destination = aws.cloudwatch.LogDeliveryDestination(
        f"{name}-access-logs", opts=in_us_east_1,
        delivery_destination_configuration={"destination_resource_arn": logs.bucket.arn})
    aws.cloudwatch.LogDelivery(
        f"{name}-access-logs", delivery_source_name=source.name,
        delivery_destination_arn=destination.arn,
        opts=pulumi.ResourceOptions(parent=parent, provider=args.us_east_1,
                                    depends_on=[logs_policy]))


def _required(value: str | None) -> str:
    if not value:
        raise ValueError("the origin verification secret has no value")
    return value


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgsDict:
    return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True,
            "metric_name": metric}


def _managed_rule(name: str, group: str, priority: int,
                  count_only: Sequence[str] = ()) -> aws.wafv2.WebAclRuleArgsDict:
    """An AWS managed rule group; the rules named in `count_only` label and count, not block."""
    statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
    if count_only:
        statement["rule_action_overrides"] = [{"name": rule, "action_to_use": {"count": {}}}
                                              for rule in count_only]
    return {"name": group, "priority": priority, "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": statement},  # type: ignore[typeddict-item]
            "visibility_config": _visibility(f"{name}-{group}")}


# Statements as plain dicts: the provider's typed dicts differ by nesting level for the same shape.
Statement = dict[str, Any]


def _starts_with(path: str) -> Statement:
    return {"byte_match_statement": {
        "search_string": path, "positional_constraint": "STARTS_WITH", "field_to_match": {"uri_path": {}},
        "text_transformations": [{"priority": 0, "type": "LOWERCASE"}]}}


def _any_path(paths: Sequence[str]) -> Statement:
    if len(paths) == 1:
        return _starts_with(paths[0])
    return {"or_statement": {"statements": [_starts_with(path) for path in paths]}}


def _rule(rule: str, priority: int, statement: Statement, metric: str) -> Any:
    return {"name": rule, "priority": priority, "action": {"block": {}}, "statement": statement,
            "visibility_config": _visibility(metric)}


def _per_ip(limit: int, scope: Statement) -> Statement:
    return {"rate_based_statement": {"limit": limit, "aggregate_key_type": "IP",
                                     "evaluation_window_sec": 300, "scope_down_statement": scope}}


def _waf_rules(name: str, args: EdgeArgs) -> list[aws.wafv2.WebAclRuleArgsDict]:
    """IP reputation first (cheapest), then the rate limits, then the managed rule groups."""
    sign_in_posts: Statement = {"and_statement": {"statements": [
        {"byte_match_statement": {"search_string": "POST", "positional_constraint": "EXACTLY",
                                  "field_to_match": {"method": {}},
                                  "text_transformations": [{"priority": 0, "type": "NONE"}]}},
        _any_path(SIGN_IN_PATHS)]}}
    rules: list[aws.wafv2.WebAclRuleArgsDict] = [
        _managed_rule(name, IP_REPUTATION_RULE_GROUP, 0),
        _rule("api-rate-limit", 1, _per_ip(args.waf_rate_limit, _starts_with(args.rate_limited_path)),
              f"{name}-api-rate-limit"),
        _rule("sign-in-rate-limit", 2, _per_ip(args.sign_in_rate_limit, sign_in_posts),
              f"{name}-sign-in-rate-limit")]
    first = len(rules)
    rules += [_managed_rule(name, group, first + index,
                            [BODY_SIZE_RULE] if group == CORE_RULE_SET and args.large_body_paths else [])
              for index, group in enumerate(MANAGED_RULE_GROUPS)]
    if args.large_body_paths:  # the core rule set only labelled oversized bodies: block them elsewhere
        rules.append(_rule("oversized-body", first + len(MANAGED_RULE_GROUPS), {"and_statement": {
            "statements": [{"label_match_statement": {"scope": "LABEL", "key": BODY_SIZE_LABEL}},
                           {"not_statement": {"statement": _any_path(args.large_body_paths)}}]}},
            f"{name}-oversized-body"))
    return rules
