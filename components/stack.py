"""The whole shop from the stack's typed config: the primary Region's stack, the global edge in
front of it and its monitoring; with multiRegion on, the secondary Region's stack, the Route 53
latency routing between the Regions and the cross-Region copy of the static assets
(docs/multi-region.md). With a Route 53 zone (`hostedZoneId`), the day-one DNS too: the shop's
name to CloudFront, the origin name to the ALB, and the certificates the config leaves to the
stack (docs/day-one.md).

`__main__.py` only loads the config, calls `build_shop` and exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alerting import AlarmTopic, AlarmTopicArgs
from components.config import ADMIN_SERVICE, MultiRegionConfig, StackConfig
from components.data_common import ReplicaRegion
from components.defaults import ACCOUNT_PAGE_PATHS
from components.dns import DomainAlias, DomainAliasArgs, ValidatedCertificate, ValidatedCertificateArgs
from components.edge import Edge, EdgeArgs
from components.keys import EncryptionKeys, EncryptionKeysArgs
from components.multi_region import (
    LatencyRoutedOrigin,
    LatencyRoutedOriginArgs,
    RegionalOrigin,
    SecondaryRegion,
    StaticReplica,
    StaticReplicaArgs,
)
from components.observability import (
    EDGE_REGION,
    CheckoutSlo,
    ConsumerMetrics,
    DataMetrics,
    EdgeMetrics,
    JobMetrics,
    Observability,
    ObservabilityArgs,
    ServiceMetrics,
    WebMetrics,
)
from components.providers import Tier, TierProviders
from components.regional import (
    GlobalData,
    OriginAccess,
    RegionalStack,
    RegionContext,
    RegionRole,
    build_region,
    regional_keys,
)

ADMIN_UPLOAD_PATHS = ("/admin/api/imports", "/admin/import")
"""The admin's catalog import (a CSV over the WAF's 8 KB body check; shop.admin.app)."""

TRIGGER_TAG = "multi-region-trigger"
"""Every resource of the secondary Region names the business trigger (its providers' default
tags), where the policy pack's multi-region-require-trigger looks besides the stack config."""


@dataclass(frozen=True, kw_only=True)
class MultiRegion:
    """What a multi-Region stack adds to the single-Region one."""

    secondary: RegionalStack
    origin_routing: LatencyRoutedOrigin
    static_replica: StaticReplica


@dataclass(frozen=True, kw_only=True)
class Shop:
    primary: RegionalStack
    edge: Edge
    observability: Observability
    multi_region: MultiRegion | None
    """None unless multiRegion is on."""


def _region_tags(multi_region: MultiRegionConfig) -> dict[str, dict[str, str]]:
    if not multi_region.enabled or not multi_region.secondary_region or not multi_region.trigger:
        return {}
    return {multi_region.secondary_region: {TRIGGER_TAG: multi_region.trigger.value}}


def build_shop(cfg: StackConfig) -> Shop:
    secondary_region = cfg.multi_region.secondary_region if cfg.multi_region.enabled else None
    providers = TierProviders(environment=cfg.environment.value, region=cfg.region,
                              region_tags=_region_tags(cfg.multi_region))
    account_id = aws.get_caller_identity(
        opts=pulumi.InvokeOptions(provider=providers.get(Tier.SECURITY))).account_id
    primary_ctx = RegionContext(cfg=cfg, region=cfg.region, providers=providers,
                                account_id=account_id)
    keys = regional_keys(primary_ctx)

    # --- the edge: CloudFront + WAF in front of every Region's ALB ---------------------------------
    if cfg.region == EDGE_REGION:
        edge_keys = keys
    else:  # WAF logs (and the edge alarm's topic) live in us-east-1 and need keys there
        edge_keys = EncryptionKeys("keys-us-east-1", EncryptionKeysArgs(
            account_id=account_id, region=EDGE_REGION),
            opts=providers.opts(Tier.SECURITY, region=EDGE_REGION))
    zone = cfg.edge.hosted_zone_id
    certificate: pulumi.Input[str] | None = cfg.edge.certificate_arn
    if cfg.edge.domain_name and not certificate and zone:  # CloudFront reads it in us-east-1
        certificate = ValidatedCertificate("edge-certificate", ValidatedCertificateArgs(
            domain_name=cfg.edge.domain_name, hosted_zone_id=zone),
            opts=providers.opts(Tier.EDGE, region=EDGE_REGION)).certificate_arn
    admin_paths = [s.path for s in cfg.web.services if s.name == ADMIN_SERVICE]
    edge = Edge("edge", EdgeArgs(
        account_id=account_id, origin_domain_name=cfg.edge.origin_domain_name,
        uncached_paths=[s.path for s in cfg.web.services if s.path != "/*"]
        + (list(ACCOUNT_PAGE_PATHS) if any(s.name == "order-api" for s in cfg.web.services) else []),
        authenticated_paths=admin_paths if cfg.admin_auth else [],
        large_body_paths=ADMIN_UPLOAD_PATHS if admin_paths else (),
        sign_in_rate_limit=cfg.edge.sign_in_rate_limit,
        waf_rate_limit=cfg.edge.waf_rate_limit, log_retention_days=cfg.log_retention_days,
        waf_logs_kms_key_arn=edge_keys.logs_key_arn,
        us_east_1=providers.get(Tier.EDGE, region=EDGE_REGION),
        domain_name=cfg.edge.domain_name, certificate_arn=certificate,
        static_assets_gb=cfg.usage.static_assets_gb),
        opts=providers.opts(Tier.EDGE))
    origin = OriginAccess(header_name=edge.origin_verify_header_name,
                          header_value=edge.origin_verify_header_value,
                          public_base_url=f"https://{cfg.edge.domain_name}" if cfg.edge.domain_name
                          else pulumi.Output.concat("https://", edge.distribution_domain_name),
                          edge_certificate_arn=certificate, edge_certificate_region=EDGE_REGION)
    if zone and cfg.edge.domain_name:
        DomainAlias("shop-domain", DomainAliasArgs(
            hosted_zone_id=zone, domain_name=cfg.edge.domain_name,
            target_dns_name=edge.distribution_domain_name,
            target_zone_id=edge.distribution_hosted_zone_id, ipv6=True),
            opts=providers.opts(Tier.EDGE))

    # The primary's stores make what the secondary's copies need first (their keys, in that Region).
    replicas = [ReplicaRegion(region=secondary_region, provider=providers.get(
        Tier.DATA, secondary_region))] if secondary_region else []
    primary = build_region(primary_ctx, keys, origin, GlobalData(replicas=replicas))
    multi_region = _second_region(primary_ctx, primary, edge, origin, secondary_region) \
        if secondary_region else None
    if zone and multi_region is None:  # with two Regions, latency records hold the origin name
        DomainAlias("origin", DomainAliasArgs(
            hosted_zone_id=zone, domain_name=cfg.edge.origin_domain_name,
            target_dns_name=primary.web.alb_dns_name, target_zone_id=primary.web.alb_zone_id),
            opts=providers.opts(Tier.EDGE))

    # --- observability: the checkout SLO, tier alarms and the dashboard (after every tier) ---------
    # CloudFront's metrics are in us-east-1, and an alarm notifies only a topic of its own Region.
    edge_alarms = primary.alarms if cfg.region == EDGE_REGION else AlarmTopic(
        "alarms-us-east-1", AlarmTopicArgs(email=cfg.observability.alarm_email,
                                           kms_key_arn=edge_keys.messaging_key_arn),
        opts=providers.opts(Tier.OBSERVABILITY, region=EDGE_REGION))
    observability = _observability(primary_ctx, primary, edge, edge_alarms)
    return Shop(primary=primary, edge=edge, observability=observability, multi_region=multi_region)


def _second_region(primary_ctx: RegionContext, primary: RegionalStack, edge: Edge,
                   origin: OriginAccess, region: str) -> MultiRegion:
    """The secondary Region's stack, the latency routing to both ALBs and the assets' copy."""
    cfg, providers = primary_ctx.cfg, primary_ctx.providers
    zone_id = cfg.edge.hosted_zone_id
    if zone_id is None:  # the config requires it with multiRegion
        raise ValueError("multiRegion needs hostedZoneId")
    ctx = RegionContext(cfg=cfg, region=region, providers=providers,
                        account_id=primary_ctx.account_id, role=RegionRole.SECONDARY,
                        parent=SecondaryRegion(region))
    secondary = build_region(ctx, regional_keys(ctx), origin, GlobalData(
        membership=primary.database.memberships[region],
        global_tables=primary.user_state.replicas_in(region), migrations=primary.migrations))
    routing = LatencyRoutedOrigin("origin", LatencyRoutedOriginArgs(
        hosted_zone_id=zone_id, domain_name=cfg.edge.origin_domain_name,
        origins=[_regional_origin(providers, stack) for stack in (primary, secondary)]),
        opts=providers.opts(Tier.EDGE))
    static_replica = StaticReplica("static-replica", StaticReplicaArgs(
        source_bucket_name=edge.static_bucket_name, source_bucket_arn=edge.static_bucket_arn,
        destination=providers.get(Tier.EDGE, region)),
        # the source bucket's versioning is the edge's; replication needs it first
        opts=pulumi.ResourceOptions.merge(providers.opts(Tier.EDGE),
                                          pulumi.ResourceOptions(depends_on=[edge])))
    return MultiRegion(secondary=secondary, origin_routing=routing, static_replica=static_replica)


def _regional_origin(providers: TierProviders, stack: RegionalStack) -> RegionalOrigin:
    web = stack.web
    return RegionalOrigin(
        region=stack.region, provider=providers.get(Tier.EDGE, stack.region),
        alb_dns_name=web.alb_dns_name, alb_zone_id=web.alb_zone_id,
        alb_arn_suffix=web.alb_arn_suffix,
        target_group_arn_suffixes=[*web.target_group_arn_suffixes.values(),
                                   *web.route_target_group_arn_suffixes.values()],
        alarm_topic_arn=stack.alarms.topic_arn)


def _observability(ctx: RegionContext, region: RegionalStack, edge: Edge,
                   edge_alarms: AlarmTopic) -> Observability:
    """The checkout SLO, the tier alarms and the dashboard of `region` (the primary)."""
    cfg = ctx.cfg
    web, database, user_state = region.web, region.database, region.user_state
    jobs = region.jobs
    return Observability("observability", ObservabilityArgs(
        region=cfg.region, alarm_topic_arn=region.alarms.topic_arn,
        slo=CheckoutSlo(availability_target=cfg.observability.checkout_availability_target,
                        latency_p99_ms=cfg.observability.checkout_latency_p99_ms),
        edge=EdgeMetrics(distribution_id=edge.distribution_id, alarm_topic_arn=edge_alarms.topic_arn),
        web=WebMetrics(
            alb_arn_suffix=web.alb_arn_suffix, cluster_name=web.cluster_name,
            services={name: ServiceMetrics(service_name=web.service_names[name],
                                           target_group_arn_suffix=web.target_group_arn_suffixes[name],
                                           max_tasks=web.max_tasks[name],
                                           min_tasks=web.min_tasks[name])
                      for name in web.service_names},
            checkout_target_group_arn_suffix=web.route_target_group_arn_suffixes.get("checkout"),
            payments_log_group_name=web.log_group_names.get("order-api")),
        data=DataMetrics(
            cluster_identifier=database.cluster_identifier,
            writer_instance_identifier=database.writer_instance_identifier,
            table_names={"carts": user_state.carts_table_name,
                         "sessions": user_state.sessions_table_name,
                         "idempotency": user_state.idempotency_table_name},
            cache_node_ids=region.product_cache.node_ids, search_domain_name=region.search.domain_name,
            account_id=ctx.account_id),
        consumers={name: ConsumerMetrics(queue_name=c.queue_name, dlq_name=c.dlq_name,
                                         function_name=c.function_name)
                   for name, c in region.consumers.items()},
        jobs={name: JobMetrics(dlq_name=jobs.dlq_names[name], function_name=jobs.function_names[name])
              for name in jobs.function_names}),
        opts=ctx.opts(Tier.OBSERVABILITY))
