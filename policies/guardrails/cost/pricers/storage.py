"""Pricers of S3 buckets (static assets, access logs) and their replication."""

from __future__ import annotations

from collections.abc import Mapping

from ...common import Res, as_list, is_true, number
from ..context import LIFECYCLES, LOAD_BALANCERS, LOG_DELIVERY, VERSIONINGS, Pricer, PricingContext
from ..result import Charge
from ..usage import (
    ALB_LOG_KB,
    BUCKETS,
    DAYS_PER_MONTH,
    KB_PER_GB,
    LOG_BUCKET_PUTS,
    LOG_COMPRESSION,
    NONCURRENT_SHARE,
    OBJECT_MB,
    STATIC_CHURN_SHARE,
    STATIC_MISS_SHARE,
)
from .edge import log_delivery


def _bucket_expiry_days(bucket: Res, ctx: PricingContext) -> float | None:
    """Cached: every bucket's price looks at all the buckets' lifecycles."""
    if bucket.urn not in ctx._expiry_days:
        ctx._expiry_days[bucket.urn] = _expiry_days(bucket, ctx)
    return ctx._expiry_days[bucket.urn]


def _expiry_days(bucket: Res, ctx: PricingContext) -> float | None:
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


def _s3_log_gb(ctx: PricingContext) -> float:
    """Access logs written to S3 per month: ALB access logs and CloudFront logs delivered to S3."""
    gb = 0.0
    if any(is_true(lb.get("accessLogs", "enabled")) for lb in ctx.of_type(*LOAD_BALANCERS)):
        gb += ctx.usage.origin_requests * ALB_LOG_KB / KB_PER_GB
    for delivery in ctx.of_type(LOG_DELIVERY):
        if log_delivery(delivery, ctx)[0].key == "logs.vendedToS3Gb":
            gb += ctx.delivery_gb(delivery) * LOG_COMPRESSION
    return gb


def _bucket(resource: Res, ctx: PricingContext) -> list[Charge]:
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


def _bucket_replication(resource: Res, ctx: PricingContext) -> list[Charge]:
    churn_gb = ctx.usage.static_assets_gb * STATIC_CHURN_SHARE
    destinations = [b for b in ctx.targets(resource, "rules", *BUCKETS, across_regions=True)
                    if ctx.region(b) != ctx.region(resource)]
    region = ctx.region(destinations[0]) if destinations else ctx.region(resource)
    return [Charge("GB replicated to another Region (changed assets)", churn_gb, "ec2.interRegionTransferGb"),
            Charge(f"replication PUT requests in {region}, millions", churn_gb * 1024 / OBJECT_MB / 1e6,
                   "s3.putRequestMillion", region=region)]


PRICERS: Mapping[str, Pricer] = {
    **dict.fromkeys(BUCKETS, _bucket),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _bucket_replication,
}
