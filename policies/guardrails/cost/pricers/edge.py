"""Pricers of CloudFront, WAF (and its logs), CloudWatch log deliveries, Route 53."""

from __future__ import annotations

from collections.abc import Mapping

from ...common import Res, as_list, is_true, number
from ..context import DISTRIBUTION, LOG_DELIVERY, WAF_LOGGING, WEB_ACL, Pricer, PricingContext, known, text_or
from ..result import Charge
from ..usage import KB_PER_GB, REQUEST_KB, ROUTE53_QUERIES


def _distribution(resource: Res, ctx: PricingContext) -> list[Charge]:
    usage = ctx.usage
    share = ctx.traffic_share(resource)
    return [Charge("HTTPS requests, millions", usage.edge_requests * share / 1e6,
                   "cloudfront.httpsRequestMillion"),
            Charge("GB to the internet", usage.egress_gb * share, "cloudfront.dataTransferOutGb",
                   basis=usage.egress_gb),
            Charge("GB to the origin", usage.origin_requests * REQUEST_KB / KB_PER_GB * share,
                   "cloudfront.originTransferGb")]


def _cloudfront_function(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("invocations (every viewer request), millions",
                   ctx.usage.edge_requests * ctx.traffic_share(resource) / 1e6,
                   "cloudfront.functionInvocationMillion")]


_PREMIUM_GROUPS = ("AWSManagedRulesBotControlRuleSet", "AWSManagedRulesATPRuleSet",
                   "AWSManagedRulesACFPRuleSet")


def _web_acl(resource: Res, ctx: PricingContext) -> list[Charge]:
    rules = [r for r in as_list(resource.props.get("rules")) if isinstance(r, Mapping)]
    requests = ctx.acl_requests(resource)
    charges = [Charge("web ACL", 1.0, "waf.webAclMonth"),
               Charge(f"rules and rule groups ({len(rules)})", float(len(rules)), "waf.ruleMonth"),
               Charge("requests inspected, millions", requests / 1e6, "waf.requestMillion")]
    for rule in rules:
        statement = rule.get("statement")
        group = statement.get("managedRuleGroupStatement") if isinstance(statement, Mapping) else None
        name = group.get("name") if isinstance(group, Mapping) else None
        if name in _PREMIUM_GROUPS:
            charges.append(Charge(f"{name} subscription", 1.0, "waf.premiumRuleGroupMonth"))
            if name == "AWSManagedRulesBotControlRuleSet":
                charges.append(Charge("Bot Control requests, millions", requests / 1e6,
                                      "waf.premiumRequestMillion"))
    return charges


def _waf_logging(resource: Res, ctx: PricingContext) -> list[Charge]:
    gb = ctx.waf_log_gb(resource)
    destinations = " ".join(d for d in as_list(resource.props.get("logDestinationConfigs"))
                            if isinstance(d, str))
    key = "logs.vendedToLogsGb" if ":logs:" in destinations or not destinations else "logs.vendedToS3Gb"
    return [Charge("GB of WAF log records delivered", gb, key, basis=gb)]


def log_delivery(resource: Res, ctx: PricingContext) -> list[Charge]:
    gb = ctx.delivery_gb(resource)
    destinations = ctx.targets(resource, "deliveryDestinationArn",
                               "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    arn = destinations[0].get("deliveryDestinationConfiguration", "destinationResourceArn") \
        if destinations else None
    to_logs = isinstance(arn, str) and ":logs:" in arn
    return [Charge("GB of access-log records delivered", gb,
                   "logs.vendedToLogsGb" if to_logs else "logs.vendedToS3Gb", basis=gb)]


def _zone(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("hosted zone", 1.0, "route53.hostedZoneMonth"),
            Charge("standard queries, millions", ROUTE53_QUERIES / 1e6, "route53.standardQueryMillion")]


def _record(resource: Res, ctx: PricingContext) -> list[Charge]:
    if known(resource.props.get("aliases")):
        return []  # alias queries to AWS resources are free
    if known(resource.props.get("latencyRoutingPolicies")):
        return [Charge("latency-based queries, millions", ROUTE53_QUERIES / 1e6,
                       "route53.latencyQueryMillion")]
    if known(resource.props.get("geolocationRoutingPolicies")) or \
            known(resource.props.get("geoproximityRoutingPolicy")):
        return [Charge("geo queries, millions", ROUTE53_QUERIES / 1e6, "route53.geoQueryMillion")]
    return []  # simple, weighted and failover records: the zone's standard queries


def _health_check(resource: Res, ctx: PricingContext) -> list[Charge]:
    kind = str(text_or(resource.props.get("type"), "HTTP"))
    if kind in ("CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"):
        return [Charge(f"health check ({kind})", 1.0, "route53.healthCheckAwsMonth")]
    features = {"HTTPS": 1, "HTTP_STR_MATCH": 1, "HTTPS_STR_MATCH": 2}.get(kind, 0)
    features += int(number(resource.props.get("requestInterval")) == 10)
    features += int(is_true(resource.props.get("measureLatency")))
    host = str(text_or(resource.props.get("fqdn"), ""))
    aws_endpoint = host.endswith(".amazonaws.com")
    suffix = "Aws" if aws_endpoint else "Other"
    where = "AWS endpoint" if aws_endpoint else "endpoint by host name (priced as non-AWS)"
    charges = [Charge(f"health check ({where})", 1.0, f"route53.healthCheck{suffix}Month")]
    if features:
        charges.append(Charge(f"optional features ({features}: HTTPS, string match, fast interval, "
                              "latency)", float(features), f"route53.healthCheckFeature{suffix}Month"))
    return charges


PRICERS: Mapping[str, Pricer] = {
    DISTRIBUTION: _distribution,
    "aws:cloudfront/function:Function": _cloudfront_function,
    WEB_ACL: _web_acl,
    WAF_LOGGING: _waf_logging,
    LOG_DELIVERY: log_delivery,
    "aws:route53/zone:Zone": _zone,
    "aws:route53/record:Record": _record,
    "aws:route53/healthCheck:HealthCheck": _health_check,
}
