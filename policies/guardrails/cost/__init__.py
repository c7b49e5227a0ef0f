"""A monthly cost estimate of a stack: its resources, a dated price table and stated usage.

`estimate(resources, region=..., usage=...)` prices every resource of a stack snapshot (the
resources the engine hands a stack policy, or `offline.cost`'s conversion of a recorded snapshot)
with the on-demand rates of `prices.json` (dated, its source named) and returns an `Estimate`:
priced lines per resource, totals per tier and per Region, the top cost drivers, what is free and
what could not be priced. Only the standard library and `common` are used: the pack is published
on its own, and reads nothing of a program's config.

    usage.py      what the resources state (`usage:*` tags), the model's defaults, the ratios
    prices.py     the price table (prices.json)
    context.py    the stack being priced: Regions, tiers, traffic shares, shared volumes
    pricers/      resource type -> charges, one module per family of services
    estimate.py   every resource priced; result.py: the Estimate and its sums
    report.py     the estimate as text, Markdown and JSON; the second Region's comparison

How a resource is priced
- Capacity (hours): NAT gateways, public IPv4 addresses, load balancers, Fargate tasks (the
  service's desired count, its autoscaling minimum, or what its traffic needs, whichever is most),
  Aurora and cache nodes, OpenSearch data and master nodes, RDS Proxy vCPUs, interface endpoints.
  These double when a second Region runs the same tiers.
- Storage (GB-months): Aurora volume, DynamoDB tables (each global-table replica holds a copy),
  S3 buckets (assets; log buckets for as long as their lifecycle keeps objects), EBS of OpenSearch,
  CloudWatch Logs for their retention, ECR images, event archives.
- Requests and bytes: derived from the stack's traffic (`Usage`: what its ECS services state, and
  the model's defaults). Traffic is split, not copied, between the Regions that serve it (those
  with a load balancer or an ECS service), and between the resources of one kind in a Region;
  global services (CloudFront, Route 53, a CLOUDFRONT-scope web ACL) see all of it. Replication
  adds its own charges: DynamoDB replicated writes, Aurora replicated write I/Os, S3 replication
  requests, and inter-Region transfer.

A resource type is either priced (`PRICERS`), listed free in `prices.json` (`free`, with the
reason), or reported as unpriced: the estimate says so, and the project's tests fail on it.
"""

from __future__ import annotations

from .context import NO_TIER, expression_fires, schedule_fires, tier_of
from .estimate import estimate, money, short_type
from .pricers import PRICERS
from .prices import GLOBAL, PRICES_FILE, PriceError, PriceTable
from .report import Comparison
from .result import Charge, Estimate, Line, ResourceCost, Unpriced
from .usage import USAGE_TAGS, ServiceTraffic, Usage, UsageDefaults

__all__ = ["GLOBAL", "NO_TIER", "PRICERS", "PRICES_FILE", "USAGE_TAGS", "Charge", "Comparison", "Estimate",
           "Line", "PriceError", "PriceTable", "ResourceCost", "ServiceTraffic", "Unpriced", "Usage",
           "UsageDefaults", "estimate", "expression_fires", "money", "schedule_fires", "short_type",
           "tier_of"]
