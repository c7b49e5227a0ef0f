"""A monthly cost estimate of a stack: its resources, a dated price table and stated usage.

`estimate(resources, config=...)` prices every resource of a stack snapshot (the resources the
engine hands a stack policy, or `offline.cost`'s conversion of a recorded snapshot) with the
on-demand rates of `prices.json` (dated, its source named) and returns an `Estimate`: priced lines
per resource, totals per tier and per Region, the top cost drivers, what is free and what could not
be priced. Only the standard library and `common` are used: the pack is published on its own.

How a resource is priced
- Capacity (hours): NAT gateways, public IPv4 addresses, load balancers, Fargate tasks (the
  service's desired count, its autoscaling minimum, or what its traffic needs, whichever is most),
  Aurora and cache nodes, OpenSearch data and master nodes, RDS Proxy vCPUs, interface endpoints.
  These double when a second Region runs the same tiers.
- Storage (GB-months): Aurora volume, DynamoDB tables (each global-table replica holds a copy),
  S3 buckets (assets; log buckets for as long as their lifecycle keeps objects), EBS of OpenSearch,
  CloudWatch Logs for their retention, ECR images, event archives.
- Requests and bytes: derived from the stack's traffic (`Usage`, from stack config: the services'
  `baselineRps` and the `usage*` keys). Traffic is split, not copied, between the Regions that serve
  it (those with a load balancer or an ECS service), and between the resources of one kind in a
  Region; global services (CloudFront, Route 53, a CLOUDFRONT-scope web ACL) see all of it.
  Replication adds its own charges: DynamoDB replicated writes, Aurora replicated write I/Os,
  S3 replication requests, and inter-Region transfer.

A resource type is either priced here (`PRICERS`), listed free in `prices.json` (`free`, with the
reason), or reported as unpriced: the estimate says so, and the project's tests fail on it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import Res, StackGraph, as_list, config_value, is_true, is_unknown, number, parse_json

PRICES_FILE = Path(__file__).resolve().with_name("prices.json")
GLOBAL = "global"
NO_TIER = "(none)"
SECONDS_PER_HOUR = 3600
KB_PER_GB = 1024 * 1024
DAYS_PER_MONTH = 30.42

# ----------------------------------------------------------------------------------------------
# Modelling ratios: how traffic turns into billable units. Stated here and in docs/cost.md; the
# volumes themselves (requests, bytes, GB stored) come from stack config (`Usage`).

REQUEST_KB = 1.0                 # bytes CloudFront sends to the origin per request (headers, bodies)
NAT_KB_PER_REQUEST = 2.0         # AWS API, payment-provider and tracing traffic per origin request
FLOW_LOG_KB_PER_REQUEST = 0.5    # VPC flow-log records per origin request (ALB, tasks, stores)
WAF_LOG_KB = 1.5                 # one WAF log record
WAF_FILTERED_SHARE = 0.02        # requests a "keep BLOCK/COUNT, drop the rest" filter still logs
CDN_LOG_KB = 0.5                 # one CloudFront access-log record
ALB_LOG_KB = 0.2                 # one ALB access-log record, gzip-compressed in S3
LAMBDA_LOG_KB = 2.0              # log lines per invocation (structured JSON)
DATA_STORE_LOG_GB = 1.0          # per month per log group of a database, cache or search domain
OTHER_LOG_GB = 0.5               # per month per log group nothing above writes to
LOG_COMPRESSION = 0.15           # CloudWatch Logs bills archived storage compressed
UNBOUNDED_MONTHS = 24            # storage horizon for logs and objects that never expire
EVENTS_PER_ORDER = 3             # order.placed, order.fulfilled and about one cart.abandoned
EVENT_KB = 2.0
EMAILS_PER_ORDER = 2             # confirmation and dispatch (abandoned-cart mails included)
SES_FEEDBACK_SHARE = 0.03        # bounces, complaints, rejects per email sent
LAMBDA_EVENT_MS = 200            # average duration of an event-driven invocation
LAMBDA_SCHEDULED_MS = 2000       # average duration of a scheduled job
OTHER_FUNCTION_INVOCATIONS = 100_000
XRAY_RESERVOIR_PER_SECOND = 1.0  # X-Ray default sampling: 1 request/s, then 5%
XRAY_RATE = 0.05
AURORA_IO_PER_REQUEST = 2.0
AURORA_WRITE_IO_PER_ORDER = 40.0
AURORA_KB_PER_WRITE_IO = 4.0
TABLE_GB = 5.0                   # per DynamoDB table (per-user state with TTL stays small)
ITEM_KB = 1.0
STATIC_MISS_SHARE = 0.05         # static requests CloudFront fetches from the bucket
STATIC_CHURN_SHARE = 0.2         # share of the static assets replaced per month (deploys)
OBJECT_MB = 0.2
NONCURRENT_SHARE = 0.2           # noncurrent versions kept by a versioned bucket
LOG_BUCKET_PUTS = 20_000         # log objects written per month per log bucket
SQS_REQUESTS_PER_MESSAGE = 3     # send, receive, delete
SQS_POLLERS = 5                  # Lambda's long-polling connections per event source mapping
SNS_BASE_PUBLISHES = 1_000       # alarms and notices per topic per month
KMS_REQUESTS_PER_KEY = 100_000
SECRET_CALLS = 10_000            # task starts and cold starts read each secret
ROUTE53_QUERIES = 1_000_000      # per hosted zone, and per non-alias latency record
ECR_BASE_GB = 0.3                # the base layers of a service image
ECR_GB_PER_IMAGE = 0.03          # what each retained image adds on top (shared layers)
ECR_DEFAULT_IMAGES = 50
INSIGHTS_CLUSTER_METRICS = 8     # Container Insights metrics per cluster, plus per service:
INSIGHTS_SERVICE_METRICS = 11
INSIGHTS_GB_PER_TASK = 0.2       # performance log events per task-month
_PRICED_ELSEWHERE = ("ECS/ContainerInsights", "ContainerInsights")  # with the ECS cluster


# ----------------------------------------------------------------------------------------------
# The price table


class PriceError(LookupError):
    """A price the table does not have (a key, a Region column or a size)."""


@dataclass(frozen=True)
class PriceTable:
    """`prices.json`: dated on-demand prices per Region (and `global`), free types, sizes."""

    data: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        return cls(json.loads(path.read_text()))

    @property
    def source(self) -> str:
        return str(self.data["source"])

    @property
    def as_of(self) -> str:
        return str(self.data["asOf"])

    @property
    def as_of_text(self) -> str:
        return str(self.data.get("asOfText") or self.as_of)

    @property
    def hours(self) -> float:
        return float(self.data.get("hoursPerMonth", 730))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self.data["regions"])

    @property
    def fallback_region(self) -> str:
        return str(self.data["fallbackRegion"])

    @property
    def free(self) -> Mapping[str, str]:
        return self.data["free"]

    @property
    def free_packages(self) -> Mapping[str, str]:
        return self.data.get("freePackages", {})

    def unit(self, key: str) -> str:
        return str(self._entry(key)["unit"])

    def size(self, table: str, name: str) -> float | None:
        value = self.data.get("sizes", {}).get(table, {}).get(name)
        return float(value) if isinstance(value, int | float) else None

    def _entry(self, key: str) -> Mapping[str, Any]:
        entry = self.data["prices"].get(key)
        if not isinstance(entry, Mapping):
            raise PriceError(f"price {key!r} is not in prices.json")
        return entry

    def column(self, key: str, region: str) -> tuple[Any, str]:
        """The Region's value of `key` and the column used (global, the Region, or the fallback)."""
        entry = self._entry(key)
        for column in (region, GLOBAL, self.fallback_region):
            if column in entry:
                return entry[column], column
        raise PriceError(f"price {key!r} has no column for {region}")

    def unit_price(self, key: str, region: str, variant: str | None = None,
                   basis: float | None = None) -> tuple[float, str]:
        """The price of one unit (the tiers' average over `basis` units) and the column used."""
        value, column = self.column(key, region)
        if isinstance(value, Mapping):
            if variant is None or not isinstance(value.get(variant), int | float):
                raise PriceError(f"{variant or 'no size'} is not priced under {key} in {column}")
            value = value[variant]
        if isinstance(value, list):
            return _tiered_average(value, basis or 0.0), column
        if not isinstance(value, int | float):
            raise PriceError(f"price {key!r} in {column} is not a number")
        return float(value), column


def _tiered_average(tiers: Sequence[Sequence[Any]], quantity: float) -> float:
    """The average unit price of `quantity` units over [[up to, price], ..., [null, price]] tiers."""
    if quantity <= 0:
        return float(tiers[0][1])
    left, lower, total = quantity, 0.0, 0.0
    for upper, price in tiers:
        span = left if upper is None else min(left, float(upper) - lower)
        total += span * float(price)
        left -= span
        lower = float(upper) if upper is not None else lower
        if left <= 0:
            break
    return total / quantity


# ----------------------------------------------------------------------------------------------
# Usage: the stack's traffic, from stack config


@dataclass(frozen=True)
class ServiceTraffic:
    name: str
    rps: float  # average requests per second at the origin
    rps_per_task: float | None = None


# Stack config key -> (Usage field, default). The defaults equal Pulumi.yaml's (a test checks).
USAGE_KEYS: Mapping[str, tuple[str, int]] = {
    "usageTrafficPercent": ("traffic_percent", 100),
    "usageEdgeCacheHitPercent": ("edge_cache_hit_percent", 50),
    "usageResponseKb": ("response_kb", 24),
    "usageRequestsPerOrder": ("requests_per_order", 400),
    "usageDatabaseGb": ("database_gb", 200),
    "usageStaticAssetsGb": ("static_assets_gb", 50),
    "usageLogKbPerRequest": ("log_kb_per_request", 1),
}
_SERVICE_DEFAULT_RPS = 10.0  # ServiceSpec's default baselineRps


@dataclass(frozen=True)
class Usage:
    """Monthly volumes the request-driven prices apply to."""

    services: tuple[ServiceTraffic, ...]  # their configured baselineRps
    hours: float = 730.0
    traffic_percent: int = 100  # of the configured rates the stack really receives
    edge_cache_hit_percent: int = 50
    response_kb: int = 24
    requests_per_order: int = 400
    database_gb: int = 200
    static_assets_gb: int = 50
    log_kb_per_request: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, str], *, fallback_rps: float = 10.0,
                    hours: float = 730.0) -> Usage:
        """From stack config as the CLI passes it (`ecommerce:services` is a JSON list of specs)."""
        values: dict[str, Any] = {}
        for key, (attribute, default) in USAGE_KEYS.items():
            value = number(config_value(config, key))
            values[attribute] = int(value) if value is not None and value >= 0 else default
        values["edge_cache_hit_percent"] = min(values["edge_cache_hit_percent"], 95)
        values["requests_per_order"] = max(values["requests_per_order"], 1)
        services = _services(config_value(config, "services"))
        if not services:
            services = (ServiceTraffic(name="(all)", rps=fallback_rps),)
        return cls(services=services, hours=hours, **values)

    @property
    def seconds(self) -> float:
        return self.hours * SECONDS_PER_HOUR

    def rps(self, service: ServiceTraffic) -> float:
        """The requests per second a configured service really receives."""
        return service.rps * self.traffic_percent / 100

    @property
    def origin_rps(self) -> float:
        return sum(self.rps(s) for s in self.services)

    @property
    def origin_requests(self) -> float:
        return self.origin_rps * self.seconds

    @property
    def edge_requests(self) -> float:
        return self.origin_requests / (1 - self.edge_cache_hit_percent / 100)

    @property
    def static_requests(self) -> float:
        return self.edge_requests - self.origin_requests

    @property
    def egress_gb(self) -> float:
        return self.edge_requests * self.response_kb / KB_PER_GB

    @property
    def origin_gb(self) -> float:
        return self.origin_requests * (self.response_kb + REQUEST_KB) / KB_PER_GB

    @property
    def orders(self) -> float:
        return self.origin_requests / self.requests_per_order

    @property
    def events(self) -> float:
        return self.orders * EVENTS_PER_ORDER

    @property
    def emails(self) -> float:
        return self.orders * EMAILS_PER_ORDER

    @property
    def app_log_gb(self) -> float:
        return self.origin_requests * self.log_kb_per_request / KB_PER_GB

    @property
    def nat_gb(self) -> float:
        return self.origin_requests * NAT_KB_PER_REQUEST / KB_PER_GB + self.app_log_gb

    def assumptions(self) -> list[tuple[str, str]]:
        """What the estimate assumes per month, as (label, value) lines for people."""
        services = ", ".join(f"{s.name} {s.rps:g}" for s in self.services)
        share = "" if self.traffic_percent == 100 else f"{self.traffic_percent}% of "
        return [
            ("origin requests/month", f"{self.origin_requests:,.0f} ({self.origin_rps:g} req/s: "
                                      f"{share}baselineRps {services})"),
            ("edge requests/month", f"{self.edge_requests:,.0f} ({self.edge_cache_hit_percent}% "
                                    "answered from the edge cache)"),
            ("GB to the internet/month", f"{self.egress_gb:,.0f} ({self.response_kb} KB per response)"),
            ("orders/month", f"{self.orders:,.0f} (one per {self.requests_per_order} origin requests)"),
            ("events/month", f"{self.events:,.0f} ({EVENTS_PER_ORDER} per order)"),
            ("emails/month", f"{self.emails:,.0f} ({EMAILS_PER_ORDER} per order)"),
            ("application log GB/month", f"{self.app_log_gb:,.0f} ({self.log_kb_per_request} KB per "
                                         "request)"),
            ("GB stored", f"database {self.database_gb}, static assets {self.static_assets_gb}"),
            ("hours/month", f"{self.hours:g}"),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": [{"name": s.name, "baselineRps": s.rps} for s in self.services],
            "trafficPercent": self.traffic_percent,
            "edgeCacheHitPercent": self.edge_cache_hit_percent, "responseKb": self.response_kb,
            "requestsPerOrder": self.requests_per_order, "databaseGb": self.database_gb,
            "staticAssetsGb": self.static_assets_gb, "logKbPerRequest": self.log_kb_per_request,
            "hoursPerMonth": self.hours,
            "originRequestsPerMonth": round(self.origin_requests),
            "edgeRequestsPerMonth": round(self.edge_requests),
            "egressGbPerMonth": round(self.egress_gb, 1), "ordersPerMonth": round(self.orders),
            "eventsPerMonth": round(self.events), "emailsPerMonth": round(self.emails),
            "applicationLogGbPerMonth": round(self.app_log_gb, 1),
        }


def _services(text: str | None) -> tuple[ServiceTraffic, ...]:
    """`["storefront path=/* baselineRps=60 rpsPerTask=100", ...]` -> traffic per service."""
    lines = parse_json(text) if text else None
    if not isinstance(lines, list):
        return ()
    found: list[ServiceTraffic] = []
    for line in lines:
        words = line.split() if isinstance(line, str) else []
        if not words:
            continue
        settings = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        rps = number(settings.get("baselineRps"))
        per_task = number(settings.get("rpsPerTask"))
        found.append(ServiceTraffic(name=words[0], rps=rps if rps is not None else _SERVICE_DEFAULT_RPS,
                                    rps_per_task=per_task if per_task else 50.0))
    return tuple(found)


# ----------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class Charge:
    """One billable dimension of a resource, before pricing."""

    item: str
    quantity: float
    key: str
    variant: str | None = None     # the size or architecture the price depends on
    region: str | None = None      # billed in another Region (a replica, a transfer's source)
    basis: float | None = None     # tiered prices: the monthly total the tiers apply to
    factor: float = 1.0            # a discount (Valkey) applied to the unit price


@dataclass(frozen=True)
class Line:
    """A priced charge."""

    urn: str
    name: str
    type: str
    tier: str
    region: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    price_column: str  # the price table column used (the Region, global, or the fallback)

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Unpriced:
    urn: str
    name: str
    type: str
    reason: str


@dataclass(frozen=True)
class ResourceCost:
    name: str
    type: str
    tier: str
    region: str
    monthly: float
    urn: str


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]
    unpriced: tuple[Unpriced, ...]
    free: Mapping[str, int]  # type -> resources that cost nothing
    usage: Usage
    prices: PriceTable
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def _grouped(self, key: Callable[[Line], str]) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        for line in self.lines:
            sums[key(line)] += line.monthly
        return dict(sorted(sums.items(), key=lambda item: (-item[1], item[0])))

    def by_tier(self) -> dict[str, float]:
        return self._grouped(lambda line: line.tier)

    def by_region(self) -> dict[str, float]:
        return self._grouped(lambda line: line.region)

    def by_type(self) -> dict[str, float]:
        return self._grouped(lambda line: line.type)

    def by_tier_and_region(self) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = {}
        for line in self.lines:
            row = table.setdefault(line.tier, {})
            row[line.region] = row.get(line.region, 0.0) + line.monthly
        return table

    def by_resource(self) -> list[ResourceCost]:
        sums: dict[str, float] = defaultdict(float)
        first: dict[str, Line] = {}
        for line in self.lines:
            sums[line.urn] += line.monthly
            first.setdefault(line.urn, line)
        costs = [ResourceCost(name=first[u].name, type=first[u].type, tier=first[u].tier,
                              region=first[u].region, monthly=total, urn=u) for u, total in sums.items()]
        return sorted(costs, key=lambda c: (-c.monthly, c.name))

    def top(self, count: int) -> list[ResourceCost]:
        return [c for c in self.by_resource() if c.monthly > 0][:count]

    def to_dict(self, *, lines: bool = True) -> dict[str, Any]:
        document: dict[str, Any] = {
            "currency": str(self.prices.data.get("currency", "USD")),
            "monthlyTotal": round(self.total, 2),
            "byTier": {k: round(v, 2) for k, v in self.by_tier().items()},
            "byRegion": {k: round(v, 2) for k, v in self.by_region().items()},
            "byTierAndRegion": {t: {r: round(v, 2) for r, v in row.items()}
                                for t, row in self.by_tier_and_region().items()},
            "topResources": [{"name": c.name, "type": c.type, "tier": c.tier, "region": c.region,
                              "monthly": round(c.monthly, 2)} for c in self.top(10)],
            "usage": self.usage.to_dict(),
            "prices": {"source": self.prices.source, "asOf": self.prices.as_of,
                       "basis": self.prices.data.get("basis", ""), "file": PRICES_FILE.name},
            "unpriced": [{"name": u.name, "type": u.type, "reason": u.reason} for u in self.unpriced],
            "free": dict(sorted(self.free.items())),
            "notes": list(self.notes),
        }
        if lines:
            document["lines"] = [{
                "name": line.name, "type": line.type, "tier": line.tier, "region": line.region,
                "item": line.item, "quantity": round(line.quantity, 4), "unit": line.unit,
                "unitPrice": line.unit_price, "monthly": round(line.monthly, 2)} for line in self.lines]
        return document


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


class _Unpriceable(Exception):
    """A resource the estimator cannot price; the message says why."""


WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
ECS_SERVICE = "aws:ecs/service:Service"
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
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
LIFECYCLES = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
              "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
VERSIONINGS = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
SES_IDENTITIES = ("aws:sesv2/emailIdentity:EmailIdentity", "aws:ses/domainIdentity:DomainIdentity")


class _Context:
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
        filtered = {(str(_text(t.get("namespace"), "")), str(_text(t.get("name"), "")))
                    for f in self.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
                    for t in as_list(f.props.get("metricTransformation")) if isinstance(t, Mapping)}
        new = 0
        for metric in metrics:
            namespace = str(_text(metric.get("namespace"), "AWS/"))
            name = str(_text(metric.get("metricName"), ""))
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
        """Origin requests per month an ECS service answers, and the traffic spec it matched."""
        spec = _matching_service(service, self.usage.services)
        if spec is None:  # no configured service by that name: it shares a stack-wide rate, if any
            overall = [s for s in self.usage.services if s.name == "(all)"]
            return (self.usage.rps(overall[0]) * self.usage.seconds * self.traffic_share(service), None) \
                if overall else (0.0, None)
        peers = [s for s in self.of_type(ECS_SERVICE) if _matching_service(s, self.usage.services) == spec]
        return self.usage.rps(spec) * self.usage.seconds * self.traffic_share(service, peers), spec

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


def _matching_service(service: Res, specs: Sequence[ServiceTraffic]) -> ServiceTraffic | None:
    """The configured service whose name appears in the ECS service's logical or physical name."""
    names = " ".join(n for n in service.names() if isinstance(n, str))
    best: ServiceTraffic | None = None
    for spec in specs:
        if spec.name != "(all)" and re.search(rf"(^|[^a-z0-9]){re.escape(spec.name)}($|[^a-z0-9])",
                                              names) and (best is None or len(spec.name) > len(best.name)):
            best = spec
    return best


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


# ----------------------------------------------------------------------------------------------
# Pricers: resource -> charges. Raise _Unpriceable when a value the price depends on is unknown.

Pricer = Callable[[Res, _Context], list[Charge]]


def _text(value: Any, default: str | None = None) -> str | None:
    """A known, non-empty string, else `default` (never reads an unknown as a bool)."""
    return value if isinstance(value, str) and value else default


def _known(value: Any) -> Any:
    return None if is_unknown(value) else value


def _nat_gateway(resource: Res, ctx: _Context) -> list[Charge]:
    share = ctx.traffic_share(resource)
    return [Charge("NAT gateway-hours", ctx.hours, "ec2.natGatewayHour"),
            Charge("GB processed (AWS APIs, payment provider, logs, traces)", ctx.usage.nat_gb * share,
                   "ec2.natGatewayGb")]


def _eip(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("public IPv4 address-hours", ctx.hours, "ec2.publicIpv4Hour")]


def _vpc_endpoint(resource: Res, ctx: _Context) -> list[Charge]:
    kind = _text(resource.props.get("vpcEndpointType"), "Gateway")
    if kind == "Gateway":
        return []  # gateway endpoints (S3, DynamoDB) are free
    subnets = resource.props.get("subnetIds")
    zones = len(subnets) if isinstance(subnets, list) and subnets else 2
    return [Charge(f"interface endpoint ENI-hours ({zones} AZs)", ctx.hours * zones,
                   "vpc.interfaceEndpointHour"),
            Charge("GB processed", 10.0, "vpc.interfaceEndpointGb")]


def _flow_log(resource: Res, ctx: _Context) -> list[Charge]:
    gb = ctx.flow_log_gb(resource)
    to_s3 = resource.props.get("logDestinationType") in ("s3", "kinesis-data-firehose")
    key = "logs.vendedToS3Gb" if to_s3 else "logs.vendedToLogsGb"
    return [Charge("GB of flow-log records delivered", gb, key, basis=gb)]


def _load_balancer(resource: Res, ctx: _Context) -> list[Charge]:
    kind = _text(resource.props.get("loadBalancerType"), "application")
    if kind not in ("application", "network"):
        raise _Unpriceable(f"{kind} load balancers are not in the price table")
    share = ctx.traffic_share(resource, ctx.of_type(*LOAD_BALANCERS))
    requests = ctx.usage.origin_requests * share
    gb_per_hour = ctx.usage.origin_gb * share / ctx.hours
    new_connections = requests / ctx.usage.seconds * 0.1 / 25  # CloudFront keeps connections alive
    capacity_units = max(gb_per_hour, new_connections)
    prefix = "alb" if kind == "application" else "nlb"
    charges = [Charge(f"{prefix.upper()}-hours", ctx.hours, f"elb.{prefix}Hour"),
               Charge(f"capacity unit-hours ({capacity_units:.2f} on average: processed bytes)",
                      capacity_units * ctx.hours, f"elb.{prefix}LcuHour")]
    if resource.props.get("internal") is not True:
        subnets = _known(resource.props.get("subnets")) or _known(resource.props.get("subnetMappings"))
        zones = len(subnets) if isinstance(subnets, list) and subnets else 2
        charges.append(Charge(f"public IPv4 address-hours ({zones} AZs)", ctx.hours * zones,
                              "ec2.publicIpv4Hour"))
    return charges


def _ecs_service(resource: Res, ctx: _Context) -> list[Charge]:
    launch = resource.props.get("launchType")
    strategies = resource.props.get("capacityProviderStrategies")
    providers = [s.get("capacityProvider") for s in as_list(strategies) if isinstance(s, Mapping)]
    if launch not in (None, "FARGATE") or any(p not in ("FARGATE", "FARGATE_SPOT") for p in providers):
        raise _Unpriceable("EC2 capacity for ECS is not modelled (its instances would be priced)")
    tasks_defs = ctx.targets(resource, "taskDefinition", TASK_DEFINITION)
    if not tasks_defs:
        raise _Unpriceable("its task definition is not in the stack")
    task = tasks_defs[0]
    cpu, memory = number(task.props.get("cpu")), number(task.props.get("memory"))
    if not cpu or not memory:
        raise _Unpriceable("the task definition's cpu or memory is not known")
    platform = task.props.get("runtimePlatform")
    arch = "arm64" if isinstance(platform, Mapping) and platform.get("cpuArchitecture") == "ARM64" \
        else "x86_64"
    requests, spec = ctx.service_requests(resource)
    tasks = number(resource.props.get("desiredCount")) or 1.0
    for target in ctx.referrers(resource, ["aws:appautoscaling/target:Target"], "resourceId"):
        tasks = max(tasks, number(target.props.get("minCapacity")) or 0.0)
    if spec is not None and spec.rps_per_task:
        tasks = max(tasks, math.ceil(requests / ctx.usage.seconds / spec.rps_per_task))
    charges = [Charge(f"Fargate vCPU-hours ({tasks:g} tasks x {cpu / 1024:g} vCPU, {arch})",
                      tasks * cpu / 1024 * ctx.hours, "fargate.vcpuHour", variant=arch),
               Charge(f"Fargate GB-hours ({tasks:g} tasks x {memory / 1024:g} GB)",
                      tasks * memory / 1024 * ctx.hours, "fargate.gbHour", variant=arch)]
    storage = number(resource.get("ephemeralStorage", "sizeInGib")) or \
        number(task.get("ephemeralStorage", "sizeInGib")) or 20.0
    if storage > 20:
        charges.append(Charge("ephemeral storage GB-hours above 20 GB", tasks * (storage - 20) * ctx.hours,
                              "fargate.ephemeralGbHour"))
    share, sampler = _trace_share(task, ctx)
    if share:
        charges.append(Charge(f"X-Ray traces recorded ({share:.0%} of requests sampled)",
                              requests * share / 1e6, "xray.traceMillion"))
    if share == 1.0 and sampler in (None, SAMPLER_COMPUTED) and requests:
        price, _column = ctx.prices.unit_price("xray.traceMillion", ctx.region(resource))
        traced = ctx.fully_traced if sampler is None else ctx.sampler_computed
        traced[f"{resource.name} ({ctx.region(resource)})"] = requests / 1e6 * price
    return charges


def _trace_share(task: Res, ctx: _Context) -> tuple[float, str | None]:
    """(share of a service's requests traced to X-Ray, the sampler its containers set): when an
    X-Ray exporter runs beside them, their OpenTelemetry sampler decides (the SDK's default,
    parentbased_always_on, samples every request)."""
    containers = parse_json(task.props.get("containerDefinitions"))
    if isinstance(containers, list):
        text = json.dumps(containers)
        if "aws-otel-collector" not in text and "xray" not in text.lower():
            return 0.0, None
        env: dict[str, str] = {}
        for container in containers:
            for pair in as_list(container.get("environment") if isinstance(container, Mapping) else None):
                if isinstance(pair, Mapping) and isinstance(pair.get("name"), str):
                    env[pair["name"]] = str(pair.get("value"))
        sampler = env.get("OTEL_TRACES_SAMPLER")
        return _sampler_share(sampler, env.get("OTEL_TRACES_SAMPLER_ARG")), sampler
    # Computed container definitions (preview): the task role's X-Ray write access tells that it
    # traces; its sampler is not known yet, so every request is priced (an upper bound).
    for role in ctx.targets(task, "taskRoleArn", "aws:iam/role:Role"):
        for attachment in ctx.referrers(role, ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
                                        "role"):
            arn = attachment.props.get("policyArn")
            if isinstance(arn, str) and "XRay" in arn:
                return 1.0, SAMPLER_COMPUTED
    return 0.0, None


SAMPLER_COMPUTED = "(computed)"


def _sampler_share(sampler: str | None, argument: str | None) -> float:
    if sampler in (None, "", "always_on", "parentbased_always_on"):
        return 1.0
    if sampler in ("always_off", "parentbased_always_off"):
        return 0.0
    ratio = number(argument)
    return min(max(ratio, 0.0), 1.0) if ratio is not None else 1.0


def _ecs_cluster(resource: Res, ctx: _Context) -> list[Charge]:
    settings = [s for s in as_list(resource.props.get("settings")) if isinstance(s, Mapping)]
    if not any(s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
               for s in settings):
        return []
    services = ctx.referrers(resource, [ECS_SERVICE], "cluster") or \
        ctx.in_region(ctx.region(resource), ECS_SERVICE)
    tasks = sum(number(s.props.get("desiredCount")) or 1.0 for s in services)
    metrics = INSIGHTS_CLUSTER_METRICS + INSIGHTS_SERVICE_METRICS * len(services)
    return [Charge(f"Container Insights metrics ({len(services)} services)", metrics,
                   "cloudwatch.metricMonth"),
            Charge("Container Insights performance log GB", tasks * INSIGHTS_GB_PER_TASK, "logs.ingestGb")]


def _ecr_repository(resource: Res, ctx: _Context) -> list[Charge]:
    images = ECR_DEFAULT_IMAGES
    for policy in ctx.referrers(resource, ["aws:ecr/lifecyclePolicy:LifecyclePolicy"], "repository"):
        document = parse_json(policy.props.get("policy"))
        for rule in as_list(document.get("rules") if isinstance(document, Mapping) else None):
            selection = rule.get("selection") if isinstance(rule, Mapping) else None
            if isinstance(selection, Mapping) and selection.get("countType") == "imageCountMoreThan":
                images = int(number(selection.get("countNumber")) or images)
    return [Charge(f"image storage GB ({images} images kept)", ECR_BASE_GB + ECR_GB_PER_IMAGE * images,
                   "ecr.storageGb")]


def _aurora_clusters(ctx: _Context) -> list[Res]:
    return [c for c in ctx.of_type(CLUSTER) if str(c.props.get("engine") or "").startswith("aurora")]


def _is_secondary(cluster: Res) -> bool:
    """A Global Database secondary: a member of a global cluster without its own credentials."""
    member = cluster.props.get("globalClusterIdentifier") is not None
    return member and cluster.props.get("masterUsername") is None


def _aurora_cluster(resource: Res, ctx: _Context) -> list[Charge]:
    engine = _text(resource.props.get("engine"), "")
    if not str(engine).startswith("aurora"):
        raise _Unpriceable(f"{engine or 'an unknown engine'} DB clusters are not in the price table")
    if resource.props.get("storageType") == "aurora-iopt1":
        raise _Unpriceable("Aurora I/O-Optimized is not in the price table")
    usage = ctx.usage
    clusters = _aurora_clusters(ctx)
    writers = [c for c in clusters if not _is_secondary(c)]
    read_io = usage.origin_requests * AURORA_IO_PER_REQUEST / max(len(clusters), 1)
    write_io = usage.orders * AURORA_WRITE_IO_PER_ORDER
    charges = [Charge("cluster volume GB", float(usage.database_gb), "rds.auroraStorageGb")]
    if _is_secondary(resource):
        charges += [
            Charge("I/O requests (reads served in this Region), millions", read_io / 1e6,
                   "rds.auroraIoMillion"),
            Charge("replicated write I/Os, millions", write_io / 1e6, "rds.auroraReplicatedWriteIoMillion"),
            Charge("GB replicated from the primary Region", write_io * AURORA_KB_PER_WRITE_IO / KB_PER_GB,
                   "ec2.interRegionTransferGb", region=ctx.region(writers[0]) if writers
                   else ctx.default_region)]
    else:
        charges.append(Charge("I/O requests, millions", (read_io + write_io / max(len(writers), 1)) / 1e6,
                              "rds.auroraIoMillion"))
    if is_true(resource.props.get("manageMasterUserPassword")):
        charges.append(Charge("RDS-managed master secret", 1.0, "secretsmanager.secretMonth"))
    return charges


def _cluster_instance(resource: Res, ctx: _Context) -> list[Charge]:
    size = _text(resource.props.get("instanceClass"))
    if size is None:
        raise _Unpriceable("its instance class is not known")
    if size == "db.serverless":
        minimum = 0.5
        for cluster in ctx.targets(resource, "clusterIdentifier", CLUSTER):
            minimum = number(cluster.get("serverlessv2ScalingConfiguration", "minCapacity")) or minimum
        return [Charge(f"ACU-hours (minimum {minimum:g} ACU)", minimum * ctx.hours,
                       "rds.auroraServerlessAcuHour")]
    engine = str(_text(resource.props.get("engine"), "aurora-postgresql"))
    if not engine.startswith("aurora"):
        raise _Unpriceable(f"{engine} instances are not in the price table")
    return [Charge(f"instance-hours ({size})", ctx.hours, "rds.auroraInstanceHour", variant=size)]


def _rds_proxy(resource: Res, ctx: _Context) -> list[Charge]:
    instances: list[Res] = []
    for target in ctx.referrers(resource, ["aws:rds/proxyTarget:ProxyTarget"], "dbProxyName"):
        for cluster in ctx.targets(target, "dbClusterIdentifier", CLUSTER):
            instances += ctx.referrers(cluster, [CLUSTER_INSTANCE], "clusterIdentifier")
    if not instances:
        instances = ctx.in_region(ctx.region(resource), CLUSTER_INSTANCE)
    vcpus = 0.0
    for instance in instances:
        size = _text(instance.props.get("instanceClass"))
        count = ctx.prices.size("rdsVcpus", size) if size else None
        if count is None:
            raise _Unpriceable(f"the vCPUs of {size or 'an unknown class'} are not in the price table")
        vcpus += count
    vcpus = max(vcpus, 2.0)
    return [Charge(f"vCPU-hours of the proxied instances ({vcpus:g} vCPUs)", vcpus * ctx.hours,
                   "rds.proxyVcpuHour")]


def _proxy_endpoint(resource: Res, ctx: _Context) -> list[Charge]:
    """An additional RDS Proxy endpoint is a PrivateLink interface endpoint in each of its subnets."""
    subnets = resource.props.get("vpcSubnetIds")
    zones = len(subnets) if isinstance(subnets, list) and subnets else 2
    return [Charge(f"endpoint ENI-hours ({zones} subnets, priced as interface endpoints)",
                   ctx.hours * zones, "vpc.interfaceEndpointHour")]


_TABLE_PATTERNS = (  # name keyword -> (reads, writes) per origin request; "messages": per consumer message
    ("session", 1.0, 0.1), ("cart", 0.3, 0.05), ("idempot", "messages", "messages"),
)


def _table_traffic(table: Res, ctx: _Context) -> tuple[str, float, float]:
    """(pattern, reads, writes) per month the table serves across all its Regions (cached: every
    table's price looks at all the tables' traffic)."""
    if table.urn not in ctx._table_traffic:
        ctx._table_traffic[table.urn] = _traffic(table, ctx)
    return ctx._table_traffic[table.urn]


def _traffic(table: Res, ctx: _Context) -> tuple[str, float, float]:
    names = " ".join(table.names(("workload",))).lower()
    for keyword, reads, writes in _TABLE_PATTERNS:
        if keyword in names:
            if reads == "messages":
                messages = sum(ctx.queue_messages(q) for q in ctx.of_type(QUEUE)
                               if ctx.referrers(q, [MAPPING], "eventSourceArn"))
                return keyword, messages, messages
            assert isinstance(reads, float) and isinstance(writes, float)
            return keyword, ctx.usage.origin_requests * reads, ctx.usage.origin_requests * writes
    return "other", ctx.usage.origin_requests * 0.1, ctx.usage.origin_requests * 0.01


def _table(resource: Res, ctx: _Context) -> list[Charge]:
    pattern, reads, writes = _table_traffic(resource, ctx)
    region = ctx.region(resource)
    replicas = [r.get("regionName") for r in as_list(resource.props.get("replicas"))
                if isinstance(r, Mapping)]
    replica_regions = [r for r in replicas if isinstance(r, str)]
    replica_regions += [ctx.region(r) for r in ctx.referrers(resource, [TABLE_REPLICA], "globalTableArn",
                                                             across_regions=True)]
    pitr = is_true(resource.get("pointInTimeRecovery", "enabled"))
    if resource.props.get("billingMode") == "PROVISIONED":
        rcu, wcu = number(resource.props.get("readCapacity")), number(resource.props.get("writeCapacity"))
        if rcu is None or wcu is None:
            raise _Unpriceable("its provisioned capacity is not known")
        charges = [Charge(f"provisioned RCU-hours ({rcu:g})", rcu * ctx.hours, "dynamodb.provisionedRcuHour"),
                   Charge(f"provisioned WCU-hours ({wcu:g})", wcu * ctx.hours, "dynamodb.provisionedWcuHour")]
    elif replica_regions:  # a global table: every write lands in every copy as a replicated write
        copies = 1 + len(replica_regions)
        charges = [Charge(f"reads ({pattern}, 1/{copies} of the table's), million RRU",
                          reads / copies / 1e6, "dynamodb.readRequestMillion"),
                   Charge(f"writes ({pattern}, replicated to every copy), million rWRU", writes / 1e6,
                          "dynamodb.replicatedWriteRequestMillion")]
        charges.append(Charge(f"GB of writes sent to the {len(replica_regions)} other Region(s)",
                              writes * ITEM_KB * len(replica_regions) / KB_PER_GB,
                              "ec2.interRegionTransferGb"))
    else:
        peers = [t for t in ctx.of_type(TABLE) if _table_traffic(t, ctx)[0] == pattern]
        share = ctx.traffic_share(resource, peers)
        charges = [Charge(f"reads ({pattern}), million RRU", reads * share / 1e6,
                          "dynamodb.readRequestMillion"),
                   Charge(f"writes ({pattern}), million WRU", writes * share / 1e6,
                          "dynamodb.writeRequestMillion")]
    charges.append(Charge("table storage GB", TABLE_GB, "dynamodb.storageGb"))
    if pitr:
        charges.append(Charge("point-in-time recovery GB", TABLE_GB, "dynamodb.pitrGb"))
    for replica in replicas:
        if not isinstance(replica, str) or replica == region:
            continue
        copies = 1 + len(replica_regions)
        charges += [Charge(f"replica in {replica}: reads, million RRU", reads / copies / 1e6,
                           "dynamodb.readRequestMillion", region=replica),
                    Charge(f"replica in {replica}: replicated writes, million rWRU", writes / 1e6,
                           "dynamodb.replicatedWriteRequestMillion", region=replica),
                    Charge(f"replica in {replica}: storage GB", TABLE_GB, "dynamodb.storageGb",
                           region=replica)]
        if pitr:
            charges.append(Charge(f"replica in {replica}: point-in-time recovery GB", TABLE_GB,
                                  "dynamodb.pitrGb", region=replica))
    return charges


def _table_replica(resource: Res, ctx: _Context) -> list[Charge]:
    tables = ctx.targets(resource, "globalTableArn", TABLE, across_regions=True)
    if not tables:
        raise _Unpriceable("its global table is not in the stack")
    _pattern, reads, writes = _table_traffic(tables[0], ctx)
    copies = 1 + len(ctx.referrers(tables[0], [TABLE_REPLICA], "globalTableArn", across_regions=True)) + \
        len(as_list(tables[0].props.get("replicas")))
    charges = [Charge("reads, million RRU", reads / copies / 1e6, "dynamodb.readRequestMillion"),
               Charge("replicated writes, million rWRU", writes / 1e6,
                      "dynamodb.replicatedWriteRequestMillion"),
               Charge("storage GB", TABLE_GB, "dynamodb.storageGb")]
    if is_true(resource.props.get("pointInTimeRecovery")):
        charges.append(Charge("point-in-time recovery GB", TABLE_GB, "dynamodb.pitrGb"))
    return charges


def _cache_nodes(resource: Res, count: float | None, ctx: _Context) -> list[Charge]:
    size = _text(resource.props.get("nodeType"))
    if size is None or count is None:
        raise _Unpriceable("its node type or node count is not known")
    engine = str(_text(resource.props.get("engine"), "redis"))
    factor = 1.0
    if engine == "valkey":
        discount, _column = ctx.prices.unit_price("elasticache.valkeyNodeDiscount", ctx.region(resource))
        factor = 1 - discount
    return [Charge(f"node-hours ({count:g} x {size}, {engine})", count * ctx.hours, "elasticache.nodeHour",
                   variant=size, factor=factor)]


def _replication_group(resource: Res, ctx: _Context) -> list[Charge]:
    count = number(resource.props.get("numCacheClusters"))
    if count is None:
        groups = number(resource.props.get("numNodeGroups"))
        replicas = number(resource.props.get("replicasPerNodeGroup"))
        if groups is not None:
            count = groups * ((replicas or 0) + 1)
    return _cache_nodes(resource, count, ctx)


def _cache_cluster(resource: Res, ctx: _Context) -> list[Charge]:
    return _cache_nodes(resource, number(resource.props.get("numCacheNodes")) or 1.0, ctx)


def _opensearch_domain(resource: Res, ctx: _Context) -> list[Charge]:
    config = resource.first("clusterConfig")
    if not isinstance(config, Mapping):
        raise _Unpriceable("its cluster config is not known")
    size = _text(config.get("instanceType")) or "r6g.large.search"
    count = number(config.get("instanceCount")) or 1.0
    charges = [Charge(f"data node-hours ({count:g} x {size})", count * ctx.hours, "opensearch.instanceHour",
                      variant=size)]
    if is_true(config.get("dedicatedMasterEnabled")):
        masters = number(config.get("dedicatedMasterCount")) or 3.0
        master_size = _text(config.get("dedicatedMasterType")) or size
        charges.append(Charge(f"dedicated master node-hours ({masters:g} x {master_size})",
                              masters * ctx.hours, "opensearch.instanceHour", variant=master_size))
    if is_true(config.get("warmEnabled")):
        warm = number(config.get("warmCount")) or 2.0
        warm_size = _text(config.get("warmType")) or "ultrawarm1.medium.search"
        charges.append(Charge(f"UltraWarm node-hours ({warm:g} x {warm_size})", warm * ctx.hours,
                              "opensearch.instanceHour", variant=warm_size))
    ebs = resource.first("ebsOptions")
    if isinstance(ebs, Mapping) and is_true(ebs.get("ebsEnabled")):
        volume = number(ebs.get("volumeSize")) or 10.0
        kind = "gp2" if ebs.get("volumeType") == "gp2" else "gp3"
        charges.append(Charge(f"EBS {kind} GB ({count:g} x {volume:g} GB)", count * volume,
                              f"opensearch.{kind}Gb"))
    return charges


def _distribution(resource: Res, ctx: _Context) -> list[Charge]:
    usage = ctx.usage
    share = ctx.traffic_share(resource)
    return [Charge("HTTPS requests, millions", usage.edge_requests * share / 1e6,
                   "cloudfront.httpsRequestMillion"),
            Charge("GB to the internet", usage.egress_gb * share, "cloudfront.dataTransferOutGb",
                   basis=usage.egress_gb),
            Charge("GB to the origin", usage.origin_requests * REQUEST_KB / KB_PER_GB * share,
                   "cloudfront.originTransferGb")]


def _cloudfront_function(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("invocations (every viewer request), millions",
                   ctx.usage.edge_requests * ctx.traffic_share(resource) / 1e6,
                   "cloudfront.functionInvocationMillion")]


_PREMIUM_GROUPS = ("AWSManagedRulesBotControlRuleSet", "AWSManagedRulesATPRuleSet",
                   "AWSManagedRulesACFPRuleSet")


def _web_acl(resource: Res, ctx: _Context) -> list[Charge]:
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


def _waf_logging(resource: Res, ctx: _Context) -> list[Charge]:
    gb = ctx.waf_log_gb(resource)
    destinations = " ".join(d for d in as_list(resource.props.get("logDestinationConfigs"))
                            if isinstance(d, str))
    key = "logs.vendedToLogsGb" if ":logs:" in destinations or not destinations else "logs.vendedToS3Gb"
    return [Charge("GB of WAF log records delivered", gb, key, basis=gb)]


def _log_delivery(resource: Res, ctx: _Context) -> list[Charge]:
    gb = ctx.delivery_gb(resource)
    destinations = ctx.targets(resource, "deliveryDestinationArn",
                               "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    arn = destinations[0].get("deliveryDestinationConfiguration", "destinationResourceArn") \
        if destinations else None
    to_logs = isinstance(arn, str) and ":logs:" in arn
    return [Charge("GB of access-log records delivered", gb,
                   "logs.vendedToLogsGb" if to_logs else "logs.vendedToS3Gb", basis=gb)]


def _bucket_expiry_days(bucket: Res, ctx: _Context) -> float | None:
    """Cached: every bucket's price looks at all the buckets' lifecycles."""
    if bucket.urn not in ctx._expiry_days:
        ctx._expiry_days[bucket.urn] = _expiry_days(bucket, ctx)
    return ctx._expiry_days[bucket.urn]


def _expiry_days(bucket: Res, ctx: _Context) -> float | None:
    days: list[float] = []
    for lifecycle in ctx.referrers(bucket, LIFECYCLES, "bucket"):
        for rule in as_list(lifecycle.props.get("rules")):
            expiration = rule.get("expiration") if isinstance(rule, Mapping) else None
            if isinstance(expiration, list):
                expiration = expiration[0] if expiration else None
            value = number(expiration.get("days")) if isinstance(expiration, Mapping) else None
            if value and (not isinstance(rule, Mapping) or rule.get("status") != "Disabled"):
                days.append(value)
    return min(days) if days else None


def _s3_log_gb(ctx: _Context) -> float:
    """Access logs written to S3 per month: ALB access logs and CloudFront logs delivered to S3."""
    gb = 0.0
    if any(is_true(lb.get("accessLogs", "enabled")) for lb in ctx.of_type(*LOAD_BALANCERS)):
        gb += ctx.usage.origin_requests * ALB_LOG_KB / KB_PER_GB
    for delivery in ctx.of_type(LOG_DELIVERY):
        if _log_delivery(delivery, ctx)[0].key == "logs.vendedToS3Gb":
            gb += ctx.delivery_gb(delivery) * LOG_COMPRESSION
    return gb


def _bucket(resource: Res, ctx: _Context) -> list[Charge]:
    days = _bucket_expiry_days(resource, ctx)
    if days is not None:  # a log bucket: what it receives, kept until its lifecycle expires it
        log_buckets = [b for b in ctx.of_type(*BUCKETS) if _bucket_expiry_days(b, ctx) is not None]
        months = max(days / DAYS_PER_MONTH, 1.0)
        monthly = _s3_log_gb(ctx) / max(len(log_buckets), 1)
        return [Charge(f"log GB stored ({months:.0f} months kept)", monthly * months, "s3.standardGb"),
                Charge("PUT requests (log objects), millions", LOG_BUCKET_PUTS / 1e6, "s3.putRequestMillion")]
    versioned = any(v.get("versioningConfiguration", "status") == "Enabled"
                    for v in ctx.referrers(resource, VERSIONINGS, "bucket")) or \
        is_true(resource.get("versioning", "enabled"))
    stored = ctx.usage.static_assets_gb * (1 + NONCURRENT_SHARE if versioned else 1)
    assets = [b for b in ctx.of_type(*BUCKETS) if _bucket_expiry_days(b, ctx) is None]
    share = 1 / max(len(assets), 1)
    return [Charge("static asset GB stored" + (" (with noncurrent versions)" if versioned else ""),
                   stored, "s3.standardGb"),
            Charge("GET requests (edge cache misses), millions",
                   ctx.usage.static_requests * STATIC_MISS_SHARE * share / 1e6, "s3.getRequestMillion"),
            Charge("PUT requests (deploys), millions",
                   ctx.usage.static_assets_gb * STATIC_CHURN_SHARE * 1024 / OBJECT_MB / 1e6,
                   "s3.putRequestMillion")]


def _bucket_replication(resource: Res, ctx: _Context) -> list[Charge]:
    churn_gb = ctx.usage.static_assets_gb * STATIC_CHURN_SHARE
    destinations = [b for b in ctx.targets(resource, "rules", *BUCKETS, across_regions=True)
                    if ctx.region(b) != ctx.region(resource)]
    region = ctx.region(destinations[0]) if destinations else ctx.region(resource)
    return [Charge("GB replicated to another Region (changed assets)", churn_gb, "ec2.interRegionTransferGb"),
            Charge(f"replication PUT requests in {region}, millions", churn_gb * 1024 / OBJECT_MB / 1e6,
                   "s3.putRequestMillion", region=region)]


def _queue(resource: Res, ctx: _Context) -> list[Charge]:
    messages = ctx.queue_messages(resource)
    polled = bool(ctx.referrers(resource, [MAPPING], "eventSourceArn"))
    requests = messages * SQS_REQUESTS_PER_MESSAGE
    if polled:
        requests += SQS_POLLERS * ctx.usage.seconds / 20
    if not requests:
        return []
    fifo = is_true(resource.props.get("fifoQueue"))
    key = "sqs.fifoRequestMillion" if fifo else "sqs.standardRequestMillion"
    charges = [Charge("requests (send, receive, delete" + (", empty long polls" if polled else "") +
                      "), millions", requests / 1e6, key)]
    kms_key = resource.props.get("kmsMasterKeyId")
    if kms_key is not None and not (isinstance(kms_key, str) and kms_key.startswith("alias/aws/")):
        reuse = number(resource.props.get("kmsDataKeyReusePeriodSeconds")) or 300.0
        charges.append(Charge("KMS requests for SSE-KMS data keys (producer and consumer), millions",
                              2 * ctx.usage.seconds / reuse / 1e6, "kms.requestMillion"))
    return charges


def _topic(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("publishes, millions", _topic_publishes(resource, ctx) / 1e6, "sns.publishMillion")]


def _topic_publishes(topic: Res, ctx: _Context) -> float:
    publishes = float(SNS_BASE_PUBLISHES)
    for destination in ctx.of_type("aws:sesv2/configurationSetEventDestination:"
                                   "ConfigurationSetEventDestination"):
        if ctx.refers(destination, "eventDestination", topic):
            kinds = destination.get("eventDestination", "matchingEventTypes")
            every_mail = isinstance(kinds, list) and any(k in ("SEND", "DELIVERY") for k in kinds)
            identities = ctx.in_region(ctx.region(destination), *SES_IDENTITIES) or [destination]
            emails = ctx.usage.emails * ctx.traffic_share(identities[0], ctx.of_type(*SES_IDENTITIES))
            publishes += emails * (1.0 if every_mail else SES_FEEDBACK_SHARE)
    return publishes


def _subscription(resource: Res, ctx: _Context) -> list[Charge]:
    protocol = resource.props.get("protocol")
    keys = {"email": "sns.emailDeliveryMillion", "email-json": "sns.emailDeliveryMillion",
            "http": "sns.httpDeliveryMillion", "https": "sns.httpDeliveryMillion"}
    if protocol in ("sqs", "lambda", "firehose", "application"):
        return []  # deliveries to AWS services are free
    if protocol not in keys:
        raise _Unpriceable(f"{protocol} deliveries are not in the price table")
    topics = ctx.targets(resource, "topicArn", "aws:sns/topic:Topic")
    deliveries = _topic_publishes(topics[0], ctx) if topics else float(SNS_BASE_PUBLISHES)
    return [Charge(f"{protocol} notifications, millions", deliveries / 1e6, keys[str(protocol)])]


def _event_bus(resource: Res, ctx: _Context) -> list[Charge]:
    share = ctx.traffic_share(resource)
    return [Charge("custom events published, millions", ctx.usage.events * share / 1e6,
                   "events.customEventMillion")]


def _event_archive(resource: Res, ctx: _Context) -> list[Charge]:
    buses = ctx.targets(resource, "eventSourceArn", EVENT_BUS)
    events = ctx.usage.events * (ctx.traffic_share(buses[0]) if buses else 1.0)
    gb = events * EVENT_KB / KB_PER_GB
    days = number(resource.props.get("retentionDays")) or UNBOUNDED_MONTHS * DAYS_PER_MONTH
    return [Charge("GB of events archived", gb, "events.archiveGb"),
            Charge(f"archive GB stored ({days:g} days)", gb * days / DAYS_PER_MONTH,
                   "events.archiveStorageGb")]


def _schedule(resource: Res, ctx: _Context) -> list[Charge]:
    fires = schedule_fires(resource, ctx.hours)
    expression = resource.props.get("scheduleExpression")
    label = expression if isinstance(expression, str) else "computed expression"
    return [Charge(f"invocations ({label}), millions", fires / 1e6, "scheduler.invocationMillion")]


def _function(resource: Res, ctx: _Context) -> list[Charge]:
    invocations, milliseconds = ctx.function_invocations(resource)
    memory = number(resource.props.get("memorySize")) or 128.0
    architectures = resource.props.get("architectures")
    arch = "arm64" if isinstance(architectures, list) and "arm64" in architectures else "x86_64"
    charges = [Charge("invocations, millions", invocations / 1e6, "lambda.requestMillion"),
               Charge(f"GB-seconds ({memory:g} MB x {milliseconds:g} ms, {arch})",
                      invocations * milliseconds / 1000 * memory / 1024, "lambda.gbSecond", variant=arch)]
    if resource.get("tracingConfig", "mode") == "Active":
        reservoir = XRAY_RESERVOIR_PER_SECOND * ctx.usage.seconds
        traces = min(invocations, reservoir) + XRAY_RATE * max(invocations - reservoir, 0.0)
        charges.append(Charge("X-Ray traces recorded (1/s, then 5%), millions", traces / 1e6,
                              "xray.traceMillion"))
    return charges


def _log_group(resource: Res, ctx: _Context) -> list[Charge]:
    monthly, vended = _log_group_volume(resource, ctx)
    days = number(resource.props.get("retentionInDays"))
    months = days / DAYS_PER_MONTH if days else float(UNBOUNDED_MONTHS)
    charges = [] if vended else [Charge("GB ingested", monthly, "logs.ingestGb")]
    charges.append(Charge(f"GB stored, compressed ({months:.0f} months kept)",
                          monthly * LOG_COMPRESSION * months, "logs.storageGb"))
    return charges


def _log_group_volume(group: Res, ctx: _Context) -> tuple[float, bool]:
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


def _metric_filter(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("custom metric it publishes", 1.0, "cloudwatch.metricMonth")]


def _metric_alarm(resource: Res, ctx: _Context) -> list[Charge]:
    queries = [q for q in as_list(resource.props.get("metricQueries")) if isinstance(q, Mapping)]
    metrics = [q for q in queries if q.get("metric") is not None] if queries else [resource.props]
    anomaly = any("ANOMALY_DETECTION_BAND" in str(_text(q.get("expression"), "")) for q in queries)
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


def _composite_alarm(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("composite alarm", 1.0, "cloudwatch.compositeAlarmMonth")]


def _dashboard(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("dashboard", 1.0, "cloudwatch.dashboardMonth")]


def _kms_key(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("customer managed key", 1.0, "kms.keyMonth"),
            Charge("API requests, millions", KMS_REQUESTS_PER_KEY / 1e6, "kms.requestMillion")]


def _kms_replica(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("multi-Region replica key", 1.0, "kms.keyMonth")]


def _secret(resource: Res, ctx: _Context) -> list[Charge]:
    charges = [Charge("secret", 1.0, "secretsmanager.secretMonth"),
               Charge("API calls, millions", SECRET_CALLS / 1e6, "secretsmanager.apiCallMillion")]
    for replica in as_list(resource.props.get("replicas")):
        region = replica.get("region") if isinstance(replica, Mapping) else None
        if isinstance(region, str):
            charges.append(Charge(f"replica in {region}", 1.0, "secretsmanager.secretMonth", region=region))
    return charges


def _parameter(resource: Res, ctx: _Context) -> list[Charge]:
    if resource.props.get("tier") == "Advanced":
        return [Charge("advanced parameter", 1.0, "ssm.advancedParameterMonth")]
    return []


def _email_identity(resource: Res, ctx: _Context) -> list[Charge]:
    share = ctx.traffic_share(resource, ctx.of_type(*SES_IDENTITIES))
    return [Charge("emails sent, millions", ctx.usage.emails * share / 1e6, "ses.messageMillion")]


def _zone(resource: Res, ctx: _Context) -> list[Charge]:
    return [Charge("hosted zone", 1.0, "route53.hostedZoneMonth"),
            Charge("standard queries, millions", ROUTE53_QUERIES / 1e6, "route53.standardQueryMillion")]


def _record(resource: Res, ctx: _Context) -> list[Charge]:
    if _known(resource.props.get("aliases")):
        return []  # alias queries to AWS resources are free
    if _known(resource.props.get("latencyRoutingPolicies")):
        return [Charge("latency-based queries, millions", ROUTE53_QUERIES / 1e6,
                       "route53.latencyQueryMillion")]
    if _known(resource.props.get("geolocationRoutingPolicies")) or \
            _known(resource.props.get("geoproximityRoutingPolicy")):
        return [Charge("geo queries, millions", ROUTE53_QUERIES / 1e6, "route53.geoQueryMillion")]
    return []  # simple, weighted and failover records: the zone's standard queries


def _health_check(resource: Res, ctx: _Context) -> list[Charge]:
    kind = str(_text(resource.props.get("type"), "HTTP"))
    if kind in ("CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"):
        return [Charge(f"health check ({kind})", 1.0, "route53.healthCheckAwsMonth")]
    features = {"HTTPS": 1, "HTTP_STR_MATCH": 1, "HTTPS_STR_MATCH": 2}.get(kind, 0)
    features += int(number(resource.props.get("requestInterval")) == 10)
    features += int(is_true(resource.props.get("measureLatency")))
    host = str(_text(resource.props.get("fqdn"), ""))
    aws_endpoint = host.endswith(".amazonaws.com")
    suffix = "Aws" if aws_endpoint else "Other"
    where = "AWS endpoint" if aws_endpoint else "endpoint by host name (priced as non-AWS)"
    charges = [Charge(f"health check ({where})", 1.0, f"route53.healthCheck{suffix}Month")]
    if features:
        charges.append(Charge(f"optional features ({features}: HTTPS, string match, fast interval, "
                              "latency)", float(features), f"route53.healthCheckFeature{suffix}Month"))
    return charges


PRICERS: Mapping[str, Pricer] = {
    NAT: _nat_gateway,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    FLOW_LOG: _flow_log,
    **dict.fromkeys(LOAD_BALANCERS, _load_balancer),
    ECS_SERVICE: _ecs_service,
    "aws:ecs/cluster:Cluster": _ecs_cluster,
    "aws:ecr/repository:Repository": _ecr_repository,
    CLUSTER: _aurora_cluster,
    CLUSTER_INSTANCE: _cluster_instance,
    "aws:rds/proxy:Proxy": _rds_proxy,
    "aws:rds/proxyEndpoint:ProxyEndpoint": _proxy_endpoint,
    TABLE: _table,
    TABLE_REPLICA: _table_replica,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/cluster:Cluster": _cache_cluster,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    DISTRIBUTION: _distribution,
    "aws:cloudfront/function:Function": _cloudfront_function,
    WEB_ACL: _web_acl,
    WAF_LOGGING: _waf_logging,
    LOG_DELIVERY: _log_delivery,
    **dict.fromkeys(BUCKETS, _bucket),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _bucket_replication,
    QUEUE: _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    EVENT_BUS: _event_bus,
    "aws:cloudwatch/eventArchive:EventArchive": _event_archive,
    SCHEDULE: _schedule,
    FUNCTION: _function,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _metric_filter,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/replicaKey:ReplicaKey": _kms_replica,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:ssm/parameter:Parameter": _parameter,
    **dict.fromkeys(SES_IDENTITIES, _email_identity),
    "aws:route53/zone:Zone": _zone,
    "aws:route53/record:Record": _record,
    "aws:route53/healthCheck:HealthCheck": _health_check,
}
"""Every priced resource type and how its charges are derived."""


# ----------------------------------------------------------------------------------------------
# Estimating


def estimate(resources: StackGraph | Sequence[Any], *, config: Mapping[str, str],
             project: str = "ecommerce", prices: PriceTable | None = None,
             fallback_rps: float = 10.0) -> Estimate:
    """Price every resource of a stack.

    `resources`: a StackGraph, or the `Res`/PolicyResource items of a stack (components and
    providers included: components name the tiers). `config`: the stack config as the CLI passes
    it (`aws:region`, `<project>:services`, `<project>:usage*`).
    """
    table = prices or PriceTable.load()
    graph = resources if isinstance(resources, StackGraph) else StackGraph(resources)
    usage = Usage.from_config(config, fallback_rps=fallback_rps, hours=table.hours)
    default_region = config.get("aws:region") or table.fallback_region
    ctx = _Context(graph, usage, table, default_region)
    lines: list[Line] = []
    unpriced: list[Unpriced] = []
    free: Counter[str] = Counter()
    notes: set[str] = set()
    for resource in graph.resources:
        package = resource.type.split(":", 1)[0]
        if package == "pulumi":
            continue  # the stack and the providers
        if package != "aws":
            if package in table.free_packages:
                free[resource.type] += 1
            elif _is_provider_type(resource.type):
                unpriced.append(Unpriced(resource.urn, resource.name, resource.type,
                                         f"the {package} provider's resources are not in the price table"))
            continue  # a component: what it contains is priced
        pricer = PRICERS.get(resource.type)
        if pricer is None:
            if resource.type in table.free:
                free[resource.type] += 1
            else:
                unpriced.append(Unpriced(resource.urn, resource.name, resource.type,
                                         "no price for this type: price it in policies/guardrails/cost.py "
                                         "(PRICERS) or list it as free in prices.json"))
            continue
        try:
            charges = pricer(resource, ctx)
            tier = tier_of(graph, resource, project)
            priced = [_line(resource, charge, ctx, tier=tier, notes=notes) for charge in charges]
        except (_Unpriceable, PriceError) as error:
            unpriced.append(Unpriced(resource.urn, resource.name, resource.type, str(error)))
            continue
        if not priced:
            free[resource.type] += 1
        lines += priced
    if ctx.fully_traced:
        notes.add(f"every request of {', '.join(sorted(ctx.fully_traced))} is traced to X-Ray, "
                  f"{money(sum(ctx.fully_traced.values()))}/month: no OTEL_TRACES_SAMPLER is set and the "
                  "OpenTelemetry default samples all; OTEL_TRACES_SAMPLER=parentbased_traceidratio with "
                  "OTEL_TRACES_SAMPLER_ARG=0.05 would record 5%")
    if ctx.sampler_computed:
        notes.add(f"X-Ray for {', '.join(sorted(ctx.sampler_computed))} is priced as if every request "
                  f"were traced ({money(sum(ctx.sampler_computed.values()))}/month): the trace sampler "
                  "is in container definitions, computed during a preview; an update-mode estimate "
                  "reads it")
    return Estimate(lines=tuple(lines), unpriced=tuple(unpriced), free=dict(free), usage=usage,
                    prices=table, notes=tuple(sorted(notes | ctx.notes)))


def _is_provider_type(type_: str) -> bool:
    """`random:index/randomPassword:RandomPassword` is a provider's; `ecommerce:data:Cache` a component."""
    parts = type_.split(":")
    return len(parts) == 3 and "/" in parts[1]


def _line(resource: Res, charge: Charge, ctx: _Context, *, tier: str, notes: set[str]) -> Line:
    region = charge.region or ctx.region(resource)
    basis = charge.basis if charge.basis is not None else charge.quantity
    price, column = ctx.prices.unit_price(charge.key, region, charge.variant, basis)
    if GLOBAL not in (column, region) and column != region:
        notes.add(f"{region} is not in the price table: priced at {column} rates")
    return Line(urn=resource.urn, name=resource.name, type=resource.type,
                tier=tier, region=region, item=charge.item,
                quantity=charge.quantity, unit=ctx.prices.unit(charge.key),
                unit_price=price * charge.factor, price_column=column)


def money(amount: float) -> str:
    return f"${amount:,.0f}" if amount >= 100 else f"${amount:,.2f}"


def short_type(type_: str) -> str:
    """`aws:rds/clusterInstance:ClusterInstance` -> `rds:ClusterInstance`."""
    parts = type_.split(":")
    return f"{parts[1].split('/')[0]}:{parts[2]}" if len(parts) == 3 else type_


__all__ = ["GLOBAL", "NO_TIER", "PRICERS", "PRICES_FILE", "USAGE_KEYS", "Charge", "Estimate", "Line",
           "PriceError", "PriceTable", "ResourceCost", "ServiceTraffic", "Unpriced", "Usage", "estimate",
           "expression_fires", "money", "schedule_fires", "short_type", "tier_of"]
