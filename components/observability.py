"""The observability tier: the checkout SLO and its burn-rate alarms, the tier alarms the tiers do
not raise themselves, a payment-errors metric from the order service's logs, and one dashboard.

Who is told what. Every alarm here notifies the stack's alarm topic (`AlarmTopic`, built first in
`__main__` so every tier shares it), with one deliberate exception: the four SLO *window* alarms
are inputs of the two burn-rate composite alarms and notify nobody themselves (a 5-minute blip
alone must not page; that is the point of multi-window burn-rate alerting). The composites page.

The checkout SLO. Availability of `/api/checkout` is measured on its own ALB target group (the web
tier routes the checkout paths there, so its metrics are checkout's alone):

    error rate (%) = 100 x (target 5xx + refused target connections) / requests

The error budget is `100 - target` percent (99.95% -> 0.05%). A burn rate of B spends the budget B
times faster than the SLO allows; the alarm thresholds are B x budget, so they follow the target:

    fast burn: 14.4x over 1 h AND over 5 min  (2% of a 30-day budget in an hour)
    slow burn:  6x   over 6 h AND over 30 min (5% of a 30-day budget in six hours)

Each window is one metric-math alarm whose metrics all have the window as their period (CloudWatch
takes one period per alarm, a multiple of 60 s, and at most a day of evaluation); a composite alarm
ANDs the long and the short window. Windows with fewer than `SLO_MIN_REQUESTS` requests count as
no errors, so one failed request at 3 a.m. in staging does not page.

The storefront's read path. The storefront writes its own metrics (namespace `ecommerce`, dimension
`service=storefront`, as EMF log lines: app_code/shop/storefront/metrics.py): cache hits, misses,
reads that fell back to the database because the cache could not be reached, database loads, and
each search's latency. The dashboard charts the hit ratio and search latency; alarms fire when the
cache is unreachable, the hit ratio collapses (the database takes the reads), or search is slow or
failing.

What the tiers already alarm on, and so is not repeated here: each consumer's DLQ depth and oldest
message (QueueConsumer), each scheduled job's DLQ (ScheduledJobs), SES bounce and complaint rates
(Email). The runbook for every alarm is docs/operations.md.

The APM seam lives where the compute is (web tier sidecar, Lambda layer); this tier only observes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_aws as aws

from components.lambda_code import METRICS_NAMESPACE

EDGE_REGION = "us-east-1"
"""CloudFront publishes its metrics there, so the edge alarm (and its topic) live there."""
MAX_EVALUATION_SECONDS = 24 * 3600  # CloudWatch: period x evaluation periods <= one day
MAX_ALARM_METRICS = 10  # CloudWatch: metric-math alarms take at most 10 metrics
SLO_MIN_REQUESTS = 10
"""Fewer checkout requests in a window than this count as no errors (low-traffic noise)."""
ALB_5XX_PERCENT = 1.0
EDGE_5XX_PERCENT = 5.0
LAMBDA_ERROR_PERCENT = 5.0
REPLICA_LAG_MS = 2000
PAYMENT_ERRORS_PER_5_MINUTES = 5
PAYMENT_ERRORS_METRIC = "PaymentErrors"
STOREFRONT = "storefront"
"""The service whose read-path metrics are charted and alarmed (their `service` dimension)."""
CACHE_HITS, CACHE_MISSES, CACHE_ERRORS = "CacheHits", "CacheMisses", "CacheErrors"
DATABASE_LOADS, SEARCH_LATENCY, SEARCH_ERRORS = "DatabaseLoads", "SearchLatency", "SearchErrors"
"""The storefront's metric names (app_code/shop/storefront/metrics.py writes them; a test pins both)."""
CACHE_HIT_RATIO_PERCENT = 80.0
"""Below this for 15 minutes (with traffic), the database is taking the cache's reads."""
CACHE_RATIO_MIN_READS = 100
SEARCH_P99_MS = 1000
SEARCH_ERRORS_PER_5_MINUTES = 5
# What the order service logs when a payment goes wrong on our side (app_code/shop/payments.py and
# checkout.py): the provider could not be reached to start or to look up a payment, or a card was
# charged but the order could not be written. Declines are the customer's, not errors.
PAYMENT_ERROR_MESSAGES = (
    "payment intent creation failed",
    "payment intent lookup failed",
    "order not recorded after a confirmed charge",
)


def payment_errors_pattern(messages: Sequence[str] = PAYMENT_ERROR_MESSAGES) -> str:
    """A CloudWatch Logs filter pattern matching a log event that contains any of `messages`
    (term matching works on plain-text and JSON log lines alike)."""
    for message in messages:
        if '"' in message or not message.strip():
            raise ValueError(f"{message!r} cannot be a filter pattern phrase")
    return " ".join(f'?"{message}"' for message in messages)


@dataclass(frozen=True)
class BurnRateAlert:
    """Page when the error rate exceeds `burn_rate` x the budget over both windows."""

    name: str
    long_window_seconds: int
    short_window_seconds: int
    burn_rate: float
    meaning: str


BURN_RATE_ALERTS = (
    BurnRateAlert("fast", 3600, 300, 14.4, "2% of the 30-day error budget gone in an hour"),
    BurnRateAlert("slow", 6 * 3600, 1800, 6.0, "5% of the 30-day error budget gone in six hours"),
)


def window_label(seconds: int) -> str:
    """3600 -> "1h", 300 -> "5m"."""
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


# ----------------------------------------------------------------------------------------------
# What the tiers give this one


@dataclass(frozen=True, kw_only=True)
class CheckoutSlo:
    availability_target: float
    """Percent, e.g. 99.95."""
    latency_p99_ms: int

    @property
    def error_budget_percent(self) -> Decimal:
        """100 - target, exactly (99.95 -> 0.05)."""
        return Decimal(100) - Decimal(str(self.availability_target))

    def threshold_percent(self, burn_rate: float) -> float:
        """The error rate (%) that spends the budget `burn_rate` times too fast."""
        return float(Decimal(str(burn_rate)) * self.error_budget_percent)


@dataclass(frozen=True, kw_only=True)
class EdgeMetrics:
    distribution_id: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    """A topic in us-east-1 (the stack's own topic when the stack is there)."""


@dataclass(frozen=True, kw_only=True)
class ServiceMetrics:
    service_name: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    max_tasks: int
    """Autoscaling's ceiling: desired tasks at it means the spike outgrew the plan."""
    min_tasks: int


@dataclass(frozen=True, kw_only=True)
class WebMetrics:
    alb_arn_suffix: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    services: Mapping[str, ServiceMetrics]
    checkout_target_group_arn_suffix: pulumi.Input[str] | None
    """The target group of `/api/checkout` alone: the SLO's metrics."""
    payments_log_group_name: pulumi.Input[str] | None
    """The order service's log group (where payment errors are logged)."""


@dataclass(frozen=True, kw_only=True)
class DataMetrics:
    cluster_identifier: pulumi.Input[str]
    writer_instance_identifier: pulumi.Input[str]
    table_names: Mapping[str, pulumi.Input[str]]
    cache_node_ids: Sequence[pulumi.Input[str]]
    """The first is the node the cache's primary was created on."""
    search_domain_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    """OpenSearch metrics carry the account as `ClientId`."""


@dataclass(frozen=True, kw_only=True)
class ConsumerMetrics:
    queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    function_name: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class JobMetrics:
    dlq_name: pulumi.Input[str]
    function_name: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class ObservabilityArgs:
    region: str
    alarm_topic_arn: pulumi.Input[str]
    """The stack's alarm topic (in `region`)."""
    slo: CheckoutSlo
    edge: EdgeMetrics
    web: WebMetrics
    data: DataMetrics
    consumers: Mapping[str, ConsumerMetrics]
    jobs: Mapping[str, JobMetrics] = field(default_factory=dict)


def _present(value: pulumi.Input[str] | None, problem: str) -> pulumi.Input[str]:
    if value is None:
        raise ValueError(problem)
    return value


def checkout_dimensions(web: WebMetrics) -> dict[str, pulumi.Input[str]]:
    """The dimensions of the checkout target group's ALB metrics."""
    suffix = _present(web.checkout_target_group_arn_suffix,
                      "the checkout SLO needs the target group of /api/checkout; route it to its "
                      "own target group (WebServicesArgs.dedicated_routes)")
    return {"TargetGroup": suffix, "LoadBalancer": web.alb_arn_suffix}


def _validate(name: str, args: ObservabilityArgs) -> None:
    if not 0 < args.slo.availability_target < 100:
        raise ValueError(f"{name}: the availability target must be a percentage between 0 and 100, "
                         f"got {args.slo.availability_target}")
    if args.slo.latency_p99_ms <= 0:
        raise ValueError(f"{name}: the p99 latency objective must be positive")
    try:
        checkout_dimensions(args.web)
        _present(args.web.payments_log_group_name,
                 "the payment-errors metric needs the order service's log group")
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    if not args.data.cache_node_ids:
        raise ValueError(f"{name}: the cache has no nodes to watch")


# ----------------------------------------------------------------------------------------------
# Alarm pieces


Query = aws.cloudwatch.MetricAlarmMetricQueryArgsDict


def _metric(query_id: str, namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]],
            *, period: int, stat: str = "Sum") -> Query:
    return {"id": query_id, "return_data": False, "metric": {
        "namespace": namespace, "metric_name": metric, "dimensions": dict(dimensions),
        "stat": stat, "period": period}}


def _expression(query_id: str, expression: str, label: str) -> Query:
    return {"id": query_id, "expression": expression, "label": label, "return_data": True}


def _checkout_error_rate(dimensions: Mapping[str, pulumi.Input[str]], period: int) -> list[Query]:
    """Checkout's error rate in percent over `period` (no errors below the minimum traffic)."""
    return [
        _metric("requests", "AWS/ApplicationELB", "RequestCount", dimensions, period=period),
        _metric("errors", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dimensions, period=period),
        _metric("refused", "AWS/ApplicationELB", "TargetConnectionErrorCount", dimensions,
                period=period),
        _expression("error_rate",
                    f"IF(requests >= {SLO_MIN_REQUESTS}, "
                    "100 * (FILL(errors, 0) + FILL(refused, 0)) / requests, 0)",
                    f"checkout error rate over {window_label(period)} (%)"),
    ]


class Observability(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]
    slo_alarm_arns: dict[str, pulumi.Output[str]]
    """The burn-rate composite alarms, by name (`fast`, `slow`)."""
    payment_errors_metric: tuple[str, str]
    """(namespace, metric name) of the order service's payment errors."""

    def __init__(self, name: str, args: ObservabilityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:observability:Observability", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self._topic = args.alarm_topic_arn
        self._paging: list[pulumi.Output[str]] = []
        web, data = args.web, args.data
        checkout = checkout_dimensions(web)

        # -- the checkout SLO -------------------------------------------------------------------
        self.slo_alarm_arns = {}
        for alert in BURN_RATE_ALERTS:
            threshold = args.slo.threshold_percent(alert.burn_rate)
            windows = [self._slo_window(alert, seconds, threshold, checkout)
                       for seconds in (alert.long_window_seconds, alert.short_window_seconds)]
            composite = aws.cloudwatch.CompositeAlarm(
                f"{name}-checkout-{alert.name}-burn",
                alarm_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-checkout-{alert.name}-burn",
                alarm_rule=pulumi.Output.format('ALARM("{0}") AND ALARM("{1}")',
                                                windows[0].name, windows[1].name),
                alarm_description=(
                    f"Checkout SLO {args.slo.availability_target}%: {alert.name} burn. Errors on "
                    f"/api/checkout above {threshold:g}% ({alert.burn_rate:g}x the "
                    f"{args.slo.error_budget_percent}% budget) over both "
                    f"{window_label(alert.long_window_seconds)} and "
                    f"{window_label(alert.short_window_seconds)}: {alert.meaning}. "
                    "Runbook: docs/operations.md#checkout-burn-rate"),
                alarm_actions=[self._topic], ok_actions=[self._topic], opts=self._child)
            self.slo_alarm_arns[alert.name] = composite.arn
            self._paging.append(composite.arn)

        self._alarm(
            "checkout-latency-p99", namespace="AWS/ApplicationELB", metric_name="TargetResponseTime",
            dimensions=checkout, extended_statistic="p99", evaluate_low_sample_count_percentiles="ignore",
            period=300, evaluation_periods=3,
            datapoints_to_alarm=2, threshold=args.slo.latency_p99_ms / 1000,
            comparison_operator="GreaterThanThreshold",
            description=f"Checkout p99 latency above {args.slo.latency_p99_ms} ms in 2 of the last "
                        "3 five-minute windows. Runbook: docs/operations.md#checkout-latency-p99")

        # -- payment errors from the order service's logs -------------------------------------
        namespace = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        self.payment_errors_metric = (namespace, PAYMENT_ERRORS_METRIC)
        payment_filter = aws.cloudwatch.LogMetricFilter(
            f"{name}-payment-errors",
            log_group_name=_present(web.payments_log_group_name, "no order service log group"),
            pattern=payment_errors_pattern(),
            metric_transformation={"name": PAYMENT_ERRORS_METRIC, "namespace": namespace,
                                   "value": "1", "default_value": "0", "unit": "Count"},
            opts=self._child)
        self._alarm(
            "payment-errors", namespace=namespace, metric_name=PAYMENT_ERRORS_METRIC,
            statistic="Sum", period=300, evaluation_periods=1,
            threshold=PAYMENT_ERRORS_PER_5_MINUTES, comparison_operator="GreaterThanOrEqualToThreshold",
            description=f"{PAYMENT_ERRORS_PER_5_MINUTES}+ payment errors in 5 minutes in the order "
                        "service's logs (provider unreachable, or charged without an order). "
                        "Runbook: docs/operations.md#payment-errors",
            depends_on=[payment_filter])

        # -- edge and web -----------------------------------------------------------------------
        self._alarm(
            "edge-5xx", namespace="AWS/CloudFront", metric_name="5xxErrorRate",
            dimensions={"DistributionId": args.edge.distribution_id, "Region": "Global"},
            statistic="Average", period=60, evaluation_periods=5, datapoints_to_alarm=3,
            threshold=EDGE_5XX_PERCENT, comparison_operator="GreaterThanThreshold",
            description=f"More than {EDGE_5XX_PERCENT:g}% of CloudFront responses are 5xx in 3 of "
                        "5 minutes. Runbook: docs/operations.md#edge-5xx",
            topic=args.edge.alarm_topic_arn, region=EDGE_REGION)
        alb = {"LoadBalancer": web.alb_arn_suffix}
        self._alarm(
            "alb-5xx", metric_queries=[
                _metric("requests", "AWS/ApplicationELB", "RequestCount", alb, period=60),
                _metric("alb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, period=60),
                _metric("targets", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, period=60),
                _expression("rate", f"IF(requests >= {SLO_MIN_REQUESTS}, "
                                    "100 * (FILL(alb, 0) + FILL(targets, 0)) / requests, 0)",
                            "ALB and target 5xx (%)")],
            evaluation_periods=5, datapoints_to_alarm=3, threshold=ALB_5XX_PERCENT,
            comparison_operator="GreaterThanThreshold",
            description=f"More than {ALB_5XX_PERCENT:g}% of ALB responses (its own and the "
                        "services') are 5xx in 3 of 5 minutes. Runbook: docs/operations.md#alb-5xx")
        target_groups = {**{svc: s.target_group_arn_suffix for svc, s in web.services.items()},
                         "checkout": checkout["TargetGroup"]}
        for group, suffix in target_groups.items():
            self._alarm(
                f"{group}-unhealthy-targets", namespace="AWS/ApplicationELB",
                metric_name="UnHealthyHostCount",
                dimensions={"TargetGroup": suffix, "LoadBalancer": web.alb_arn_suffix},
                statistic="Maximum", period=60, evaluation_periods=5, datapoints_to_alarm=5,
                threshold=0, comparison_operator="GreaterThanThreshold",
                description=f"{group}: a target has failed its health check for 5 minutes. "
                            "Runbook: docs/operations.md#unhealthy-targets")
        for svc, service in web.services.items():
            if service.max_tasks <= service.min_tasks:
                continue  # a fixed-size service (admin) always runs at its maximum: nothing to page
            self._alarm(
                f"{svc}-at-max-capacity", namespace="ECS/ContainerInsights",
                metric_name="DesiredTaskCount",
                dimensions={"ClusterName": web.cluster_name, "ServiceName": service.service_name},
                statistic="Maximum", period=60, evaluation_periods=5, datapoints_to_alarm=5,
                threshold=service.max_tasks, comparison_operator="GreaterThanOrEqualToThreshold",
                description=f"{svc}: autoscaling wants its maximum of {service.max_tasks} tasks for "
                            "5 minutes: the spike outgrew the plan. "
                            "Runbook: docs/operations.md#at-max-capacity")

        # -- data -------------------------------------------------------------------------------
        self._alarm(
            "database-writer-failover", namespace="AWS/RDS", metric_name="AuroraReplicaLag",
            dimensions={"DBInstanceIdentifier": data.writer_instance_identifier},
            statistic="SampleCount", period=60, evaluation_periods=1, threshold=0,
            comparison_operator="GreaterThanThreshold",
            description="Aurora failed over: the instance created as the writer now reports "
                        "replica lag, so it is a reader. Stays in ALARM until the writer role is "
                        "back on it. Runbook: docs/operations.md#database-writer-failover")
        self._alarm(
            "database-replica-lag", namespace="AWS/RDS", metric_name="AuroraReplicaLag",
            dimensions={"DBClusterIdentifier": data.cluster_identifier, "Role": "READER"},
            statistic="Maximum", period=60, evaluation_periods=5, datapoints_to_alarm=5,
            threshold=REPLICA_LAG_MS, comparison_operator="GreaterThanThreshold",
            description=f"An Aurora reader is more than {REPLICA_LAG_MS} ms behind the writer for "
                        "5 minutes. Runbook: docs/operations.md#database-replica-lag")
        self._alarm(
            "cache-failover", namespace="AWS/ElastiCache", metric_name="IsMaster",
            dimensions={"CacheClusterId": data.cache_node_ids[0]}, statistic="Maximum", period=60,
            evaluation_periods=2, datapoints_to_alarm=2, threshold=1,
            comparison_operator="LessThanThreshold",
            description="The cache failed over: the node created as primary is a replica now. "
                        "Stays in ALARM until the primary role is back on it. "
                        "Runbook: docs/operations.md#cache-failover")
        search = {"DomainName": data.search_domain_name, "ClientId": data.account_id}
        self._alarm(
            "search-red", namespace="AWS/ES", metric_name="ClusterStatus.red", dimensions=search,
            statistic="Maximum", period=60, evaluation_periods=1, threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            description="OpenSearch is red: a primary shard is unassigned, searches and indexing "
                        "fail for it. Runbook: docs/operations.md#search-red")
        self._alarm(
            "search-yellow", namespace="AWS/ES", metric_name="ClusterStatus.yellow",
            dimensions=search, statistic="Maximum", period=300, evaluation_periods=3,
            datapoints_to_alarm=3, threshold=1, comparison_operator="GreaterThanOrEqualToThreshold",
            description="OpenSearch has been yellow for 15 minutes: replica shards are unassigned, "
                        "one more node loss risks data. Runbook: docs/operations.md#search-yellow")

        # -- the storefront's read path (its own metrics) -----------------------------------------
        if STOREFRONT in web.services:
            self._storefront_alarms()

        # -- events: the consumers' functions (their queues alarm in QueueConsumer) -------------
        for consumer, metrics in args.consumers.items():
            function = {"FunctionName": metrics.function_name}
            self._alarm(
                f"{consumer}-function-errors", metric_queries=[
                    _metric("invocations", "AWS/Lambda", "Invocations", function, period=300),
                    _metric("errors", "AWS/Lambda", "Errors", function, period=300),
                    _expression("error_rate", f"IF(invocations >= {SLO_MIN_REQUESTS}, "
                                              "100 * FILL(errors, 0) / invocations, 0)",
                                f"{consumer} function errors (%)")],
                evaluation_periods=2, datapoints_to_alarm=2, threshold=LAMBDA_ERROR_PERCENT,
                comparison_operator="GreaterThanThreshold",
                description=f"{consumer}: more than {LAMBDA_ERROR_PERCENT:g}% of its function's "
                            "invocations failed for 10 minutes (whole batches, not single records). "
                            "Runbook: docs/operations.md#consumer-function-errors")

        # -- the dashboard ----------------------------------------------------------------------
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}",
            dashboard_body=pulumi.Output.json_dumps({"widgets": _layout(
                dashboard_sections(args, self.payment_errors_metric, self._paging))}),
            opts=self._child)

        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name,
                               "slo_alarm_arns": self.slo_alarm_arns})

    def _storefront_alarms(self) -> None:
        own = {"service": STOREFRONT}
        self._alarm(
            "storefront-cache-unreachable", namespace=METRICS_NAMESPACE, metric_name=CACHE_ERRORS,
            dimensions=own, statistic="Sum", period=60, evaluation_periods=5, datapoints_to_alarm=3,
            threshold=0, comparison_operator="GreaterThanThreshold",
            description="The storefront could not reach the product cache in 3 of the last 5 minutes: "
                        "its reads go to the Aurora readers. Runbook: "
                        "docs/operations.md#storefront-cache-unreachable")
        self._alarm(
            "storefront-cache-hit-ratio", metric_queries=[
                _metric("hits", METRICS_NAMESPACE, CACHE_HITS, own, period=300),
                _metric("misses", METRICS_NAMESPACE, CACHE_MISSES, own, period=300),
                _expression("ratio", f"IF(FILL(hits, 0) + FILL(misses, 0) >= {CACHE_RATIO_MIN_READS}, "
                                     "100 * FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0)), 100)",
                            "cache hit ratio (%)")],
            evaluation_periods=3, datapoints_to_alarm=3, threshold=CACHE_HIT_RATIO_PERCENT,
            comparison_operator="LessThanThreshold",
            description=f"The storefront's cache hit ratio has been below {CACHE_HIT_RATIO_PERCENT:g}% "
                        "for 15 minutes: the Aurora readers take most reads. Runbook: "
                        "docs/operations.md#storefront-cache-hit-ratio")
        self._alarm(
            "storefront-search-latency-p99", namespace=METRICS_NAMESPACE, metric_name=SEARCH_LATENCY,
            dimensions=own, extended_statistic="p99", evaluate_low_sample_count_percentiles="ignore",
            period=300, evaluation_periods=3, datapoints_to_alarm=2, threshold=SEARCH_P99_MS,
            comparison_operator="GreaterThanThreshold",
            description=f"Search p99 latency above {SEARCH_P99_MS} ms in 2 of the last 3 five-minute "
                        "windows. Runbook: docs/operations.md#storefront-search")
        self._alarm(
            "storefront-search-errors", namespace=METRICS_NAMESPACE, metric_name=SEARCH_ERRORS,
            dimensions=own, statistic="Sum", period=300, evaluation_periods=1,
            threshold=SEARCH_ERRORS_PER_5_MINUTES, comparison_operator="GreaterThanOrEqualToThreshold",
            description=f"{SEARCH_ERRORS_PER_5_MINUTES}+ failed searches in 5 minutes (the domain did "
                        "not answer, answered an error, or has no products index). Runbook: "
                        "docs/operations.md#storefront-search")

    def _slo_window(self, alert: BurnRateAlert, seconds: int, threshold: float,
                    checkout: Mapping[str, pulumi.Input[str]]) -> aws.cloudwatch.MetricAlarm:
        label = window_label(seconds)
        # An input of the composite alarm only: it notifies nobody by itself.
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-checkout-{alert.name}-burn-{label}",
            metric_queries=_checkout_error_rate(checkout, seconds), evaluation_periods=1,
            threshold=threshold, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", actions_enabled=False,
            alarm_description=f"Input of the checkout {alert.name}-burn composite alarm (does not "
                              f"notify): checkout errors above {threshold:g}% over {label}.",
            opts=self._child)

    def _alarm(self, suffix: str, *, description: str, topic: pulumi.Input[str] | None = None,
               depends_on: Sequence[pulumi.Resource] = (), **settings: Any) -> aws.cloudwatch.MetricAlarm:
        """A paging alarm: notifies the topic on ALARM and on OK; no data is not a breach."""
        metrics: list[dict[str, Any]] = [q["metric"] for q in settings.get("metric_queries") or []
                                         if "metric" in q]
        if len(metrics) > MAX_ALARM_METRICS:
            raise ValueError(f"{self._name}-{suffix}: more than {MAX_ALARM_METRICS} metrics")
        period = int(settings.get("period") or max(m["period"] for m in metrics))
        if period % 60 or period * int(settings["evaluation_periods"]) > MAX_EVALUATION_SECONDS:
            raise ValueError(f"{self._name}-{suffix}: the period must be a multiple of 60 s and the "
                             "evaluation at most a day")
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}", alarm_description=description,
            alarm_actions=[self._topic if topic is None else topic],
            ok_actions=[self._topic if topic is None else topic], treat_missing_data="notBreaching",
            **settings, opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))
        if "region" not in settings:  # the dashboard's alarm widget shows alarms of its Region
            self._paging.append(alarm.arn)
        return alarm


# ----------------------------------------------------------------------------------------------
# The dashboard: one section per tier, each a header and a row of graphs


Widget = dict[str, Any]
GRAPH_WIDTH, GRAPH_HEIGHT, ROW_WIDTH = 8, 6, 24


def _row(namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]],
         **options: Any) -> list[Any]:
    row: list[Any] = [namespace, metric]
    for key, value in dimensions.items():
        row += [key, value]
    if options:
        row.append(options)
    return row


def _graph(title: str, region: str, metrics: Sequence[Sequence[Any]], *, stat: str = "Sum",
           period: int = 60, view: str = "timeSeries", lines: Sequence[tuple[str, float]] = ()
           ) -> Widget:
    properties: dict[str, Any] = {"title": title, "region": region, "metrics": list(metrics),
                                  "stat": stat, "period": period, "view": view}
    if lines:
        properties["annotations"] = {"horizontal": [{"label": label, "value": value}
                                                    for label, value in lines]}
    return {"type": "metric", "properties": properties}


def dashboard_sections(args: ObservabilityArgs, payment_metric: tuple[str, str],
                       alarm_arns: Sequence[pulumi.Input[str]]) -> list[tuple[str, list[Widget]]]:
    """(section title, widgets): the SLO first, then the tiers from the edge inwards."""
    region, web, data, slo = args.region, args.web, args.data, args.slo
    alb = {"LoadBalancer": web.alb_arn_suffix}
    checkout = checkout_dimensions(web)
    fast, slow = BURN_RATE_ALERTS
    services = sorted(web.services.items())
    ecs = {svc: {"ClusterName": web.cluster_name, "ServiceName": s.service_name} for svc, s in services}
    target_groups = [(svc, {"TargetGroup": s.target_group_arn_suffix, **alb}) for svc, s in services]
    target_groups.append(("checkout", checkout))
    cache_nodes = list(data.cache_node_ids)
    search = {"DomainName": data.search_domain_name, "ClientId": data.account_id}
    storefront = {"service": STOREFRONT}
    queues = sorted(args.consumers.items())
    dlqs = [(c, m.dlq_name) for c, m in queues] + [(j, m.dlq_name) for j, m in sorted(args.jobs.items())]
    functions = ([(c, m.function_name) for c, m in queues]
                 + [(j, m.function_name) for j, m in sorted(args.jobs.items())])

    def per(rows: Sequence[tuple[str, Mapping[str, pulumi.Input[str]]]], namespace: str, metric: str,
            **options: Any) -> list[list[Any]]:
        return [_row(namespace, metric, dims, label=f"{label} {metric}", **options)
                for label, dims in rows]

    return [
        (f"Checkout SLO: {slo.availability_target}% of /api/checkout requests succeed "
         f"(error budget {slo.error_budget_percent}%), p99 under {slo.latency_p99_ms} ms", [
            _graph("Checkout SLO · error rate (%) against the burn-rate thresholds", region, [
                _row("AWS/ApplicationELB", "RequestCount", checkout, id="requests", visible=False),
                _row("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", checkout, id="errors",
                     visible=False),
                _row("AWS/ApplicationELB", "TargetConnectionErrorCount", checkout, id="refused",
                     visible=False),
                [{"expression": "100 * (FILL(errors, 0) + FILL(refused, 0)) / requests",
                  "label": "error rate (%)", "id": "error_rate"}]],
                period=300, lines=[(f"{a.name} burn ({a.burn_rate:g}x)", slo.threshold_percent(a.burn_rate))
                                   for a in (fast, slow)]),
            _graph("Checkout SLO · latency (s)", region, [
                _row("AWS/ApplicationELB", "TargetResponseTime", checkout, stat="p50", label="p50"),
                _row("AWS/ApplicationELB", "TargetResponseTime", checkout, stat="p99", label="p99")],
                stat="p99", lines=[("p99 objective", slo.latency_p99_ms / 1000)]),
            _graph("Checkout SLO · payment errors (order service logs)", region, [
                _row(*payment_metric, {})], period=300,
                lines=[("alarm", PAYMENT_ERRORS_PER_5_MINUTES)]),
            {"type": "alarm", "properties": {"title": "Checkout SLO · alarms of this tier",
                                             "alarms": list(alarm_arns)}},
        ]),
        ("Edge: CloudFront (metrics in us-east-1)", [
            _graph("Edge · requests", EDGE_REGION, [
                _row("AWS/CloudFront", "Requests", {"DistributionId": args.edge.distribution_id,
                                                    "Region": "Global"})]),
            _graph("Edge · error rates (%)", EDGE_REGION, [
                _row("AWS/CloudFront", metric, {"DistributionId": args.edge.distribution_id,
                                                "Region": "Global"})
                for metric in ("5xxErrorRate", "4xxErrorRate")],
                stat="Average", lines=[("5xx alarm", EDGE_5XX_PERCENT)]),
        ]),
        ("Web: the ALB and the ECS services", [
            _graph("Web · ALB requests and 5xx", region, [
                _row("AWS/ApplicationELB", metric, alb)
                for metric in ("RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count")]),
            _graph("Web · target 5xx per service", region,
                   per(target_groups, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")),
            _graph("Web · latency p50 per service (s)", region,
                   per(target_groups, "AWS/ApplicationELB", "TargetResponseTime", stat="p50"),
                   stat="p50"),
            _graph("Web · latency p99 per service (s)", region,
                   per(target_groups, "AWS/ApplicationELB", "TargetResponseTime", stat="p99"),
                   stat="p99"),
            _graph("Web · healthy and unhealthy targets", region,
                   per(target_groups, "AWS/ApplicationELB", "HealthyHostCount")
                   + per(target_groups, "AWS/ApplicationELB", "UnHealthyHostCount"), stat="Minimum"),
            _graph("Web · ECS CPU (%)", region,
                   per(list(ecs.items()), "AWS/ECS", "CPUUtilization"), stat="Average"),
            _graph("Web · ECS memory (%)", region,
                   per(list(ecs.items()), "AWS/ECS", "MemoryUtilization"), stat="Average"),
            _graph("Web · running and desired tasks", region,
                   per(list(ecs.items()), "ECS/ContainerInsights", "RunningTaskCount")
                   + per(list(ecs.items()), "ECS/ContainerInsights", "DesiredTaskCount"),
                   stat="Maximum",
                   lines=[(f"{svc} max", s.max_tasks) for svc, s in services]),
        ]),
        ("Data: Aurora, DynamoDB, the cache and search", [
            _graph("Data · Aurora CPU (%)", region, [
                _row("AWS/RDS", "CPUUtilization", {"DBClusterIdentifier": data.cluster_identifier,
                                                   "Role": role}, label=role.lower())
                for role in ("WRITER", "READER")], stat="Average"),
            _graph("Data · Aurora connections", region, [
                _row("AWS/RDS", "DatabaseConnections",
                     {"DBClusterIdentifier": data.cluster_identifier, "Role": role},
                     label=role.lower()) for role in ("WRITER", "READER")], stat="Maximum"),
            _graph("Data · Aurora replica lag (ms)", region, [
                _row("AWS/RDS", "AuroraReplicaLag",
                     {"DBClusterIdentifier": data.cluster_identifier, "Role": "READER"})],
                stat="Maximum", lines=[("alarm", REPLICA_LAG_MS)]),
            _graph("Data · Aurora commit latency (ms)", region, [
                _row("AWS/RDS", "CommitLatency",
                     {"DBClusterIdentifier": data.cluster_identifier, "Role": "WRITER"})],
                stat="Average"),
            _graph("Data · DynamoDB throttled requests", region,
                   per([(t, {"TableName": n}) for t, n in sorted(data.table_names.items())],
                       "AWS/DynamoDB", "ReadThrottleEvents")
                   + per([(t, {"TableName": n}) for t, n in sorted(data.table_names.items())],
                         "AWS/DynamoDB", "WriteThrottleEvents")),
            _graph("Data · cache hit rate (%)", region, [
                _row("AWS/ElastiCache", "CacheHitRate", {"CacheClusterId": node})
                for node in cache_nodes], stat="Average"),
            _graph("Data · cache evictions", region, [
                _row("AWS/ElastiCache", "Evictions", {"CacheClusterId": node})
                for node in cache_nodes]),
            _graph("Data · search cluster status", region, [
                _row("AWS/ES", f"ClusterStatus.{color}", search, label=color)
                for color in ("green", "yellow", "red")], stat="Maximum"),
        ]),
        *([(f"Storefront: the read path (its own metrics, namespace {METRICS_NAMESPACE})", [
            _graph("Storefront · cache hit ratio (%)", region, [
                _row(METRICS_NAMESPACE, CACHE_HITS, storefront, id="hits", visible=False),
                _row(METRICS_NAMESPACE, CACHE_MISSES, storefront, id="misses", visible=False),
                [{"expression": "100 * FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0))",
                  "label": "hit ratio (%)", "id": "ratio"}]],
                period=300, lines=[("alarm", CACHE_HIT_RATIO_PERCENT)]),
            _graph("Storefront · reads: cache hits, misses, database loads, cache unreachable", region, [
                _row(METRICS_NAMESPACE, metric, storefront, label=metric)
                for metric in (CACHE_HITS, CACHE_MISSES, DATABASE_LOADS, CACHE_ERRORS)]),
            _graph("Storefront · search latency (ms)", region, [
                _row(METRICS_NAMESPACE, SEARCH_LATENCY, storefront, stat="p50", label="p50"),
                _row(METRICS_NAMESPACE, SEARCH_LATENCY, storefront, stat="p99", label="p99")],
                stat="p99", period=300, lines=[("p99 alarm", SEARCH_P99_MS)]),
            _graph("Storefront · failed searches", region, [
                _row(METRICS_NAMESPACE, SEARCH_ERRORS, storefront)], period=300,
                lines=[("alarm", SEARCH_ERRORS_PER_5_MINUTES)]),
        ])] if STOREFRONT in web.services else []),
        ("Events: queues, dead letters and functions", [
            _graph("Events · messages waiting per queue", region, [
                _row("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": m.queue_name},
                     label=c) for c, m in queues], stat="Maximum"),
            _graph("Events · oldest message per queue (s)", region, [
                _row("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": m.queue_name},
                     label=c) for c, m in queues], stat="Maximum"),
            _graph("Events · dead-letter queue depths", region, [
                _row("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": dlq},
                     label=f"{owner} DLQ") for owner, dlq in dlqs], stat="Maximum"),
            _graph("Events · function errors and throttles", region,
                   per([(f, {"FunctionName": n}) for f, n in functions], "AWS/Lambda", "Errors")
                   + per([(f, {"FunctionName": n}) for f, n in functions], "AWS/Lambda", "Throttles")),
            _graph("Events · function duration p99 (ms)", region, [
                _row("AWS/Lambda", "Duration", {"FunctionName": n}, label=f) for f, n in functions],
                stat="p99"),
        ]),
    ]


def _layout(sections: Sequence[tuple[str, Sequence[Widget]]]) -> list[Widget]:
    """Place each section's header across the grid, then its graphs three to a row."""
    placed: list[Widget] = []
    y = 0
    for title, widgets in sections:
        placed.append({"type": "text", "x": 0, "y": y, "width": ROW_WIDTH, "height": 1,
                       "properties": {"markdown": f"## {_escape(title)}"}})
        y += 1
        per_row = ROW_WIDTH // GRAPH_WIDTH
        for index, widget in enumerate(widgets):
            placed.append({**widget, "x": (index % per_row) * GRAPH_WIDTH,
                           "y": y + (index // per_row) * GRAPH_HEIGHT,
                           "width": GRAPH_WIDTH, "height": GRAPH_HEIGHT})
        y += -(-len(widgets) // per_row) * GRAPH_HEIGHT
    return placed


def _escape(text: str) -> str:
    return re.sub(r"([\\*_#])", r"\\\1", text)
