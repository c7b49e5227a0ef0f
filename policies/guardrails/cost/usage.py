"""Usage: the monthly volumes the request-driven prices apply to, and the ratios that turn traffic
into billable units.

The volumes never come from a program's config format, so the estimate prices any stack:
- the resources say what they know, as `usage:*` tags: an ECS service its average requests per
  second (`usage:requests-per-second`, all its copies in every Region together) and what one task
  serves (`usage:requests-per-task`); a database cluster or a bucket the GB it holds
  (`usage:stored-gb`);
- the rest is the estimator's model, `UsageDefaults`, which the budget policy's config can change:
  the edge cache hit rate, the response size, requests per order, log per request, and the
  traffic and GB of a stack whose resources say nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..common import Res, number

REQUESTS_PER_SECOND_TAG = "usage:requests-per-second"
REQUESTS_PER_TASK_TAG = "usage:requests-per-task"
STORED_GB_TAG = "usage:stored-gb"
USAGE_TAGS = (REQUESTS_PER_SECOND_TAG, REQUESTS_PER_TASK_TAG, STORED_GB_TAG)
"""The tags a stack states its usage with (components/usage.py writes them for this project)."""

ECS_SERVICE = "aws:ecs/service:Service"
DATABASE_CLUSTER = "aws:rds/cluster:Cluster"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")

SECONDS_PER_HOUR = 3600
KB_PER_GB = 1024 * 1024
DAYS_PER_MONTH = 30.42

# ----------------------------------------------------------------------------------------------
# Modelling ratios: how traffic turns into billable units. Stated here and in docs/cost.md; the
# volumes themselves (requests, bytes, GB stored) come from the resources and `UsageDefaults`.

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


@dataclass(frozen=True)
class UsageDefaults:
    """The estimator's model of traffic, and what it assumes when the resources say nothing."""

    requests_per_second: float = 10.0
    """Origin requests per second of a stack none of whose ECS services states its traffic."""
    edge_cache_hit_percent: int = 50
    """CloudFront requests answered from the edge cache (static assets), 0 to 95."""
    response_kb: int = 24
    """Average response to a viewer (CloudFront transfer, ALB capacity units)."""
    requests_per_order: int = 400
    """Origin requests per order placed (orders drive events, messages, mails and writes)."""
    log_kb_per_request: int = 1
    """Application log written per origin request (CloudWatch Logs ingestion and storage)."""
    database_gb: int = 200
    """Data in a database cluster that does not state it (`usage:stored-gb`)."""
    static_assets_gb: int = 50
    """Static assets in a bucket that does not state it (`usage:stored-gb`)."""


@dataclass(frozen=True)
class ServiceTraffic:
    name: str
    """The workload: the ECS service's `workload` tag, else its logical name (its copies in other
    Regions share it, and its traffic)."""
    rps: float
    """Average requests per second at the origin, all copies together."""
    rps_per_task: float | None = None


def workload_of(service: Res) -> str:
    workload = service.tags.get("workload")
    return workload if isinstance(workload, str) and workload else service.name


def tagged_number(resource: Res, tag: str) -> float | None:
    """A `usage:*` tag's value, when it is a known, non-negative number."""
    value = number(resource.tags.get(tag))
    return value if value is not None and value >= 0 else None


def services_of(resources: Iterable[Res]) -> tuple[ServiceTraffic, ...]:
    """The traffic the ECS services state (one entry per workload, in stack order)."""
    found: dict[str, ServiceTraffic] = {}
    for service in resources:
        rps = tagged_number(service, REQUESTS_PER_SECOND_TAG)
        if rps is None or workload_of(service) in found:
            continue
        per_task = tagged_number(service, REQUESTS_PER_TASK_TAG)
        found[workload_of(service)] = ServiceTraffic(name=workload_of(service), rps=rps,
                                                     rps_per_task=per_task or None)
    return tuple(found.values())


def stored_gb(resources: Iterable[Res], default: int) -> int:
    """What the first of `resources` stating it holds (`usage:stored-gb`), else `default`."""
    for resource in resources:
        value = tagged_number(resource, STORED_GB_TAG)
        if value is not None:
            return round(value)
    return default


@dataclass(frozen=True)
class Usage:
    """Monthly volumes the request-driven prices apply to (`of_stack`: what a stack states, the
    rest from UsageDefaults)."""

    services: tuple[ServiceTraffic, ...]
    hours: float
    edge_cache_hit_percent: int
    response_kb: int
    requests_per_order: int
    database_gb: int
    static_assets_gb: int
    log_kb_per_request: int

    @classmethod
    def of_stack(cls, resources: Iterable[Res], defaults: UsageDefaults, *,
                 hours: float = 730.0) -> Usage:
        """What the resources state (`usage:*` tags), the rest from `defaults`."""
        listed = list(resources)
        services = services_of(r for r in listed if r.type == ECS_SERVICE) or \
            (ServiceTraffic(name=STACK_WIDE, rps=defaults.requests_per_second),)
        clusters = [r for r in listed if r.type == DATABASE_CLUSTER]
        buckets = [r for r in listed if r.type in BUCKETS]
        return cls(services=services, hours=hours,
                   edge_cache_hit_percent=min(max(defaults.edge_cache_hit_percent, 0), 95),
                   response_kb=defaults.response_kb,
                   requests_per_order=max(defaults.requests_per_order, 1),
                   database_gb=stored_gb(clusters, defaults.database_gb),
                   static_assets_gb=stored_gb(buckets, defaults.static_assets_gb),
                   log_kb_per_request=defaults.log_kb_per_request)

    @property
    def seconds(self) -> float:
        return self.hours * SECONDS_PER_HOUR

    @property
    def origin_rps(self) -> float:
        return sum(s.rps for s in self.services)

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
        busiest = sorted(self.services, key=lambda s: (-s.rps, s.name))
        services = ", ".join(f"{s.name} {s.rps:g}" for s in busiest)
        return [
            ("origin requests/month", f"{self.origin_requests:,.0f} ({self.origin_rps:g} req/s: "
                                      f"{services})"),
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
            "services": [{"name": s.name, "requestsPerSecond": s.rps} for s in self.services],
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


STACK_WIDE = "(all)"
"""The traffic of a stack whose services state none: shared by its ECS services."""
