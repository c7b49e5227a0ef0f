"""Pricers of CloudWatch Logs, metrics, alarms and dashboards, KMS, Secrets Manager, SSM."""

from __future__ import annotations

from collections.abc import Mapping

from ...common import Res, as_list, number
from ..context import (
    FLOW_LOG,
    FUNCTION,
    TASK_DEFINITION,
    WAF_LOGGING,
    Pricer,
    PricingContext,
    text_or,
)
from ..result import Charge
from ..usage import (
    DATA_STORE_LOG_GB,
    DAYS_PER_MONTH,
    ECS_SERVICE,
    KB_PER_GB,
    KMS_REQUESTS_PER_KEY,
    LAMBDA_LOG_KB,
    LOG_COMPRESSION,
    OTHER_LOG_GB,
    SECRET_CALLS,
    UNBOUNDED_MONTHS,
)


def _log_group(resource: Res, ctx: PricingContext) -> list[Charge]:
    monthly, vended = _log_group_volume(resource, ctx)
    days = number(resource.props.get("retentionInDays"))
    months = days / DAYS_PER_MONTH if days else float(UNBOUNDED_MONTHS)
    charges = [] if vended else [Charge("GB ingested", monthly, "logs.ingestGb")]
    charges.append(Charge(f"GB stored, compressed ({months:.0f} months kept)",
                          monthly * LOG_COMPRESSION * months, "logs.storageGb"))
    return charges


def _log_group_volume(group: Res, ctx: PricingContext) -> tuple[float, bool]:
    """(GB per month written to a log group, whether a vended source writes it)."""
    flows = ctx.referrers(group, [FLOW_LOG], "logDestination", "logGroupName")
    if flows:
        return sum(ctx.flow_log_gb(f) for f in flows), True
    wafs = ctx.referrers(group, [WAF_LOGGING], "logDestinationConfigs")
    if wafs:
        return sum(ctx.waf_log_gb(w) for w in wafs), True
    functions = ctx.referrers(group, [FUNCTION], "loggingConfig")
    name = group.props.get("name")
    if not functions and isinstance(name, str) and name.startswith("/aws/lambda/"):
        functions = [f for f in ctx.of_type(FUNCTION) if name.endswith("/" + str(f.props.get("name")))]
    if functions:
        return sum(ctx.function_invocations(f)[0] for f in functions) * LAMBDA_LOG_KB / KB_PER_GB, False
    tasks = ctx.referrers(group, [TASK_DEFINITION], "containerDefinitions")
    if tasks:
        services = [s for t in tasks for s in ctx.referrers(t, [ECS_SERVICE], "taskDefinition")]
        requests = sum(ctx.service_requests(s)[0] for s in services)
        return requests * ctx.usage.log_kb_per_request / KB_PER_GB, False
    stores = ("aws:elasticache/replicationGroup:ReplicationGroup", "aws:opensearch/domain:Domain")
    if ctx.referrers(group, stores, "logDeliveryConfigurations", "logPublishingOptions") or \
            (isinstance(name, str) and name.startswith("/aws/rds/")):
        return DATA_STORE_LOG_GB, False
    return OTHER_LOG_GB, False


def _metric_filter(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("custom metric it publishes", 1.0, "cloudwatch.metricMonth")]


def _metric_alarm(resource: Res, ctx: PricingContext) -> list[Charge]:
    queries = [q for q in as_list(resource.props.get("metricQueries")) if isinstance(q, Mapping)]
    metrics = [q for q in queries if q.get("metric") is not None] if queries else [resource.props]
    anomaly = any("ANOMALY_DETECTION_BAND" in str(text_or(q.get("expression"), "")) for q in queries)
    periods = [number(q.get("period")) for q in metrics] + [number(resource.props.get("period"))]
    for query in queries:
        metric = query.get("metric")
        if isinstance(metric, Mapping):
            periods.append(number(metric.get("period")))
    high_resolution = any(p is not None and p < 60 for p in periods)
    count = len(metrics) * (3 if anomaly else 1)
    key = "cloudwatch.highResolutionAlarmMetricMonth" if high_resolution else "cloudwatch.alarmMetricMonth"
    charges = [Charge(f"alarm metrics ({count})", float(count), key)]
    watched = [m.get("metric") if queries else m for m in metrics]
    custom = ctx.new_custom_metrics(resource, [m for m in watched if isinstance(m, Mapping)])
    if custom:
        charges.append(Charge(f"custom metrics the app publishes, that it watches ({custom})", float(custom),
                              "cloudwatch.metricMonth"))
    return charges


def _composite_alarm(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("composite alarm", 1.0, "cloudwatch.compositeAlarmMonth")]


def _dashboard(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("dashboard", 1.0, "cloudwatch.dashboardMonth")]


def _kms_key(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("customer managed key", 1.0, "kms.keyMonth"),
            Charge("API requests, millions", KMS_REQUESTS_PER_KEY / 1e6, "kms.requestMillion")]


def _kms_replica(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("multi-Region replica key", 1.0, "kms.keyMonth")]


def _secret(resource: Res, ctx: PricingContext) -> list[Charge]:
    charges = [Charge("secret", 1.0, "secretsmanager.secretMonth"),
               Charge("API calls, millions", SECRET_CALLS / 1e6, "secretsmanager.apiCallMillion")]
    for replica in as_list(resource.props.get("replicas")):
        region = replica.get("region") if isinstance(replica, Mapping) else None
        if isinstance(region, str):
            charges.append(Charge(f"replica in {region}", 1.0, "secretsmanager.secretMonth", region=region))
    return charges


def _parameter(resource: Res, ctx: PricingContext) -> list[Charge]:
    if resource.props.get("tier") == "Advanced":
        return [Charge("advanced parameter", 1.0, "ssm.advancedParameterMonth")]
    return []


PRICERS: Mapping[str, Pricer] = {
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _metric_filter,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/replicaKey:ReplicaKey": _kms_replica,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:ssm/parameter:Parameter": _parameter,
}
