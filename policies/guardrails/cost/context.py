"""The stack being priced: where each resource is, which tier it belongs to, its share of the
traffic, and the volumes several pricers need (queue messages, invocations, requests per service,
log volumes); how often a schedule fires; the type every pricer has."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..common import Res, StackGraph, as_list, is_unknown, number, parse_json
from .prices import GLOBAL, PriceTable
from .result import Charge
from .usage import (
    CDN_LOG_KB,
    DAYS_PER_MONTH,
    ECS_SERVICE,
    FLOW_LOG_KB_PER_REQUEST,
    KB_PER_GB,
    LAMBDA_EVENT_MS,
    LAMBDA_SCHEDULED_MS,
    OTHER_FUNCTION_INVOCATIONS,
    OTHER_LOG_GB,
    STACK_WIDE,
    WAF_FILTERED_SHARE,
    WAF_LOG_KB,
    ServiceTraffic,
    Usage,
    workload_of,
)

NO_TIER = "(none)"
_PRICED_ELSEWHERE = ("ECS/ContainerInsights", "ContainerInsights")  # with the ECS cluster


# ----------------------------------------------------------------------------------------------
# Where a resource is, and which tier it belongs to


def tier_of(graph: StackGraph, resource: Res, project: str) -> str:
    """The nearest `<project>:<tier>:<Name>` component (the resource included), else its `tier` tag."""
    current: Res | None = resource
    for _ in range(64):
        if current is None:
            break
        parts = current.type.split(":")
        if len(parts) == 3 and parts[0] == project:
            return parts[1]
        current = graph.get(current.parent) if current.parent else None
    tier = resource.tags.get("tier")
    return tier if isinstance(tier, str) and tier else NO_TIER


class Unpriceable(Exception):
    """A resource the estimator cannot price; the message says why."""


WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
NAT = "aws:ec2/natGateway:NatGateway"
QUEUE = "aws:sqs/queue:Queue"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
TABLE = "aws:dynamodb/table:Table"
TABLE_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
LIFECYCLES = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
              "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
VERSIONINGS = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
SES_IDENTITIES = ("aws:sesv2/emailIdentity:EmailIdentity", "aws:ses/domainIdentity:DomainIdentity")


class PricingContext:
    """The stack being priced: its graph, Regions, traffic shares; cached per-resource volumes."""

    def __init__(self, graph: StackGraph, usage: Usage, prices: PriceTable, default_region: str) -> None:
        self.graph = graph
        self.usage = usage
        self.prices = prices
        self.default_region = default_region
        self.hours = usage.hours
        self._regions: dict[str, str] = {}
        self._invocations: dict[str, float] = {}
        self._messages: dict[str, float] = {}
        self.notes: set[str] = set()  # what a reader of the estimate should know
        self.fully_traced: dict[str, float] = {}  # service -> X-Ray $/month at 100% sampling
        self.sampler_computed: dict[str, float] = {}  # the same, where the sampler is not known yet
        self._serving: set[str] | None = None
        self._all_types = tuple(dict.fromkeys(r.type for r in graph.resources))  # for indexed lookups
        self._expiry_days: dict[str, float | None] = {}  # bucket -> its lifecycle's expiry (log buckets)
        self._table_traffic: dict[str, tuple[str, float, float]] = {}
        self._custom_metrics: set[str] = set()  # app-published metrics already priced (by an alarm)
        self._traffic = {s.name: s for s in usage.services}

    # -- places ------------------------------------------------------------------------------
    def region(self, resource: Res) -> str:
        if resource.urn not in self._regions:
            self._regions[resource.urn] = self._region(resource)
        return self._regions[resource.urn]

    def _region(self, resource: Res) -> str:
        if resource.service in ("cloudfront", "route53"):
            return GLOBAL
        if resource.type == WEB_ACL and resource.props.get("scope") == "CLOUDFRONT":
            return GLOBAL
        region = resource.region
        return region if isinstance(region, str) and region else self.default_region

    def of_type(self, *types: str) -> list[Res]:
        return self.graph.of_type(*types)

    def in_region(self, region: str, *types: str) -> list[Res]:
        return [r for r in self.graph.of_type(*types) if self.region(r) == region]

    @property
    def serving_regions(self) -> set[str]:
        """Regions that serve traffic: they run a load balancer or an ECS service."""
        if self._serving is None:
            self._serving = {self.region(r) for r in self.of_type(*LOAD_BALANCERS, ECS_SERVICE)}
        return self._serving

    def traffic_share(self, resource: Res, peers: Iterable[Res] | None = None) -> float:
        """This resource's share of the stack's traffic: its Region's share (Regions split the
        traffic evenly), divided among `peers` (by default: resources of its type) in that Region."""
        region = self.region(resource)
        if region == GLOBAL:
            count = len(list(peers)) if peers is not None else len(self.of_type(resource.type))
            return 1 / max(count, 1)
        candidates = list(peers) if peers is not None else self.of_type(resource.type)
        same = [p for p in candidates if self.region(p) == region]
        regions = max(len(self.serving_regions), 1)
        return 1 / regions / max(len(same), 1)

    # -- the graph ----------------------------------------------------------------------------
    # Literal references (names, ARNs) can name a same-named resource of the other Region, so links
    # stay within a Region unless `across_regions` (replicas, replication destinations).
    def same_place(self, one: Res, other: Res) -> bool:
        first, second = self.region(one), self.region(other)
        return first == second or GLOBAL in (first, second)

    def referrers(self, target: Res, types: Iterable[str], *keys: str,
                  across_regions: bool = False) -> list[Res]:
        return [r for r in self.graph.referrers(target, types, *keys)
                if across_regions or self.same_place(r, target)]

    def targets(self, resource: Res, key: str, *types: str, across_regions: bool = False) -> list[Res]:
        """Resources of `types` that `resource`'s property `key` names (dependency or literal)."""
        found = [r for r in self.graph.targets(resource, key) if not types or r.type in types]
        if not found and types:
            found = [r for r in self.of_type(*types) if self.graph.refers(resource, key, r)]
        return [r for r in found if across_regions or self.same_place(resource, r)]

    def refers(self, resource: Res, key: str, target: Res) -> bool:
        return self.same_place(resource, target) and self.graph.refers(resource, key, target)

    def new_custom_metrics(self, resource: Res, metrics: Sequence[Mapping[str, Any]]) -> int:
        """How many of the metrics an alarm watches are custom (not `AWS/*`, not from a metric filter,
        which is priced itself) and not priced yet: metrics the app publishes (EMF), billed once."""
        filtered = {(str(text_or(t.get("namespace"), "")), str(text_or(t.get("name"), "")))
                    for f in self.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
                    for t in as_list(f.props.get("metricTransformation")) if isinstance(t, Mapping)}
        new = 0
        for metric in metrics:
            namespace = str(text_or(metric.get("namespace"), "AWS/"))
            name = str(text_or(metric.get("metricName"), ""))
            if namespace.startswith("AWS/") or namespace in _PRICED_ELSEWHERE \
                    or (namespace, name) in filtered:
                continue
            key = json.dumps([self.region(resource), namespace, name, metric.get("dimensions")],
                             sort_keys=True, default=str)
            if key not in self._custom_metrics:
                self._custom_metrics.add(key)
                new += 1
        return new

    # -- volumes -----------------------------------------------------------------------------
    def queue_messages(self, queue: Res) -> float:
        """Messages a queue receives per month: a consumer queue gets each event type its rules
        route to it about once per order of its Region; a dead-letter queue gets (almost) none."""
        if queue.urn in self._messages:
            return self._messages[queue.urn]
        if self._is_dead_letter_queue(queue):
            messages = 0.0
        else:
            kinds = 0
            for target in self.referrers(queue, [EVENT_TARGET], "arn"):
                for rule in self.targets(target, "rule", EVENT_RULE):
                    pattern = parse_json(rule.props.get("eventPattern"))
                    detail = pattern.get("detail-type") if isinstance(pattern, Mapping) else None
                    kinds += len(detail) if isinstance(detail, list) else 1
            regions = max(len(self.serving_regions), 1)
            per_order = kinds if kinds else 1
            messages = self.usage.orders * per_order / regions
        self._messages[queue.urn] = messages
        return messages

    def _is_dead_letter_queue(self, queue: Res) -> bool:
        """Does any other resource, of any type, name the queue as its DLQ or failure destination?"""
        keys = ("redrivePolicy", "deadLetterConfig", "target", "destinationConfig")
        return any(other.urn != queue.urn for other in self.referrers(queue, self._all_types, *keys))

    def function_invocations(self, function: Res) -> tuple[float, float]:
        """(invocations per month, average duration in ms) of a Lambda function."""
        if function.urn not in self._invocations:
            self._invocations[function.urn] = self._count_invocations(function)
        invocations = self._invocations[function.urn]
        scheduled = bool(self.referrers(function, [SCHEDULE], "target"))
        milliseconds = float(LAMBDA_SCHEDULED_MS if scheduled else LAMBDA_EVENT_MS)
        timeout = number(function.props.get("timeout"))
        if timeout:
            milliseconds = min(milliseconds, timeout * 1000)
        return invocations, milliseconds

    def _count_invocations(self, function: Res) -> float:
        total, linked = 0.0, False
        for mapping in self.referrers(function, [MAPPING], "functionName"):
            linked = True
            for queue in self.targets(mapping, "eventSourceArn", QUEUE):
                total += self.queue_messages(queue)  # one message per invocation at these rates
        for schedule in self.referrers(function, [SCHEDULE], "target"):
            linked = True
            total += schedule_fires(schedule, self.hours)
        for _target in self.referrers(function, [EVENT_TARGET], "arn"):
            linked = True
            total += self.usage.events / max(len(self.serving_regions), 1)
        return total if linked else float(OTHER_FUNCTION_INVOCATIONS)

    def service_requests(self, service: Res) -> tuple[float, ServiceTraffic | None]:
        """Origin requests per month an ECS service answers, and the traffic its workload states."""
        spec = self._traffic.get(workload_of(service))
        if spec is None:  # it states no traffic: it shares a stack-wide rate, if there is one
            overall = self._traffic.get(STACK_WIDE)
            return (overall.rps * self.usage.seconds * self.traffic_share(service), None) \
                if overall else (0.0, None)
        peers = [s for s in self.of_type(ECS_SERVICE) if workload_of(s) == spec.name]
        return spec.rps * self.usage.seconds * self.traffic_share(service, peers), spec

    def flow_log_gb(self, flow_log: Res) -> float:
        return self.usage.origin_requests * FLOW_LOG_KB_PER_REQUEST / KB_PER_GB \
            * self.traffic_share(flow_log)

    def waf_log_gb(self, logging: Res) -> float:
        acls = self.targets(logging, "resourceArn", WEB_ACL)
        requests = self.acl_requests(acls[0]) if acls else self.usage.edge_requests
        dropped = logging.get("loggingFilter", "defaultBehavior") == "DROP"
        return requests * (WAF_FILTERED_SHARE if dropped else 1.0) * WAF_LOG_KB / KB_PER_GB

    def acl_requests(self, acl: Res) -> float:
        if acl.props.get("scope") == "CLOUDFRONT":
            cloudfront = [a for a in self.of_type(WEB_ACL) if a.props.get("scope") == "CLOUDFRONT"]
            return self.usage.edge_requests / max(len(cloudfront), 1)
        regional = [a for a in self.of_type(WEB_ACL) if a.props.get("scope") != "CLOUDFRONT"]
        return self.usage.origin_requests * self.traffic_share(acl, regional)

    def delivery_gb(self, delivery: Res) -> float:
        """GB per month a CloudWatch log delivery carries (CloudFront access logs)."""
        sources = self.targets(delivery, "deliverySourceName", "aws:cloudwatch/logDeliverySource:"
                                                              "LogDeliverySource")
        arn = sources[0].props.get("resourceArn") if sources else None
        from_cdn = bool(sources and (self.targets(sources[0], "resourceArn", DISTRIBUTION)
                                     or (isinstance(arn, str) and ":cloudfront:" in arn)))
        if not from_cdn:
            return OTHER_LOG_GB
        deliveries = len(self.of_type(LOG_DELIVERY)) or 1
        return self.usage.edge_requests * CDN_LOG_KB / KB_PER_GB / deliveries


# ----------------------------------------------------------------------------------------------
# Schedules


def schedule_fires(schedule: Res, hours: float) -> float:
    """Invocations per month of an EventBridge Scheduler schedule (or rule) expression."""
    if schedule.props.get("state") == "DISABLED":
        return 0.0
    expression = schedule.props.get("scheduleExpression")
    return expression_fires(expression, hours) if isinstance(expression, str) else 0.0


def expression_fires(expression: str, hours: float = 730.0) -> float:
    """`rate(1 minute)` -> 43,800; `cron(0 * * * ? *)` -> 730; `at(...)` -> 0 (once)."""
    text = expression.strip()
    rate = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", text)
    if rate:
        amount = int(rate.group(1))
        unit_hours = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}[rate.group(2).rstrip("s")]
        return hours / (amount * unit_hours) if amount else 0.0
    cron = re.fullmatch(r"cron\((.+)\)", text)
    if not cron:
        return 0.0
    fields = cron.group(1).split()
    if len(fields) < 5:
        return 0.0
    minutes, hours_field, day_of_month, _month, day_of_week = fields[:5]
    per_day = _field_count(minutes, 60, 0) * _field_count(hours_field, 24, 0)
    days = hours / 24
    if day_of_month not in ("*", "?"):
        days = _field_count(day_of_month, 31, 1) * days / DAYS_PER_MONTH
    elif day_of_week not in ("*", "?"):
        days = _field_count(day_of_week, 7, 1) * days / 7
    return per_day * days


def _field_count(field_text: str, size: int, first: int) -> float:
    """How many values a cron field takes: `*` all, `*/15`, `1-5`, `0,30`, `L`, `MON-FRI`, ..."""
    count = 0.0
    for part in field_text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else 1
        if base in ("*", "?"):
            span = size
        elif "-" in base:
            low, _, high = base.partition("-")
            if low.isdigit() and high.isdigit():
                span = int(high) - int(low) + 1
            else:  # MON-FRI
                span = 5
        else:
            span = 1 if not step_text else max(size - (int(base) - first if base.isdigit() else 0), 1)
        count += math.ceil(span / step)
    return count


Pricer = Callable[[Res, PricingContext], list[Charge]]


def text_or(value: Any, default: str | None = None) -> str | None:
    """A known, non-empty string, else `default` (never reads an unknown as a bool)."""
    return value if isinstance(value, str) and value else default


def known(value: Any) -> Any:
    return None if is_unknown(value) else value


